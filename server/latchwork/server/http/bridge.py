"""The private gRPC channel the HTTP handlers call the supervisor through.

The supervisor's own grpc.aio server also listens on a Unix socket in the data directory
(mode 0600, in the 0700 directory); the HTTP side connects to it and passes the caller's
credentials as metadata, so it gets exactly what a gRPC client with those credentials gets. The
socket grants nothing the TCP port does not: the same interceptors check every call.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from latchwork.v1 import supervisor_pb2_grpc

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceAsyncStub

from ..auth import USER_METADATA_KEY

BRIDGE_SOCKET_NAME = "http-bridge.sock"
# sun_path holds 108 bytes; a longer data directory path gets a private temporary directory.
UNIX_PATH_MAX = 100
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a gRPC client would send: a bearer token, or (open mode) a user name; neither is
    an anonymous reader."""

    token: str = ""
    user: str = ""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        if self.token:
            return (("authorization", f"Bearer {self.token}"),)
        if self.user:
            return ((USER_METADATA_KEY, self.user),)
        return ()


ANONYMOUS = Credentials()


class BridgeSocket:
    """The Unix socket's path, chosen and cleaned up (with its temporary directory, if any)."""

    def __init__(self, data_dir: Path) -> None:
        self._temp_dir: str | None = None
        path = data_dir / BRIDGE_SOCKET_NAME
        if len(str(path)) > UNIX_PATH_MAX:
            self._temp_dir = tempfile.mkdtemp(prefix="latchwork-http-")
            path = Path(self._temp_dir) / BRIDGE_SOCKET_NAME
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a supervisor that was killed; the data dir lock is ours

    @property
    def address(self) -> str:
        return f"unix:{self.path}"

    def add_to(self, server: grpc.aio.Server) -> None:
        """Serve ``server`` on the socket too (before ``server.start()``)."""
        if server.add_insecure_port(self.address) == 0:
            raise OSError(f"cannot listen on {self.path}")

    def restrict(self) -> None:
        """Make the socket its owner's only (after the server started)."""
        with contextlib.suppress(FileNotFoundError):
            os.chmod(self.path, 0o600)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)


class Bridge:
    """A channel to the supervisor's own gRPC server and a stub on it."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(
            address,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        self.stub: SupervisorServiceAsyncStub = supervisor_pb2_grpc.SupervisorServiceStub(
            self.channel
        )

    async def close(self) -> None:
        await self.channel.close()
