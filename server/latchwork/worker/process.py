"""The ``latchwork worker`` process: one per identity, its frames guarded, then the worker.

Before the worker registers: the identity lock (host name and supervisor address) refuses a
second worker of the same identity on this machine; what a previous run of this identity left
running is killed; the frame guardian starts, so that this run's frames die with it however it
dies (issue 12, item 7). Then :class:`~.remote_worker.RemoteWorker` runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket

from latchwork.server.frame_user import FramePolicy
from latchwork.server.host_registry import HostInfo
from latchwork.server.instance_lock import InstanceLock, InstanceLocked, worker_lock_path
from latchwork.server.startup import StartupError

from .frame_guardian import FrameGuard, clear_leftovers, record_path_for
from .remote_worker import RemoteWorker

log = logging.getLogger(__name__)


def run(
    address: str,
    slots: int,
    host: str = "",
    info: HostInfo | None = None,
    policy: FramePolicy | None = None,
) -> None:
    """``latchwork worker``: refuses to start (StartupError) while a worker with the same
    identity (host name and supervisor address) runs on this machine. ``info``: what to
    declare about the host (default: the detected resources)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    identity = host or socket.gethostname()
    lock_path = worker_lock_path(identity, address)
    try:
        lock = InstanceLock.acquire(lock_path)
    except InstanceLocked as held:
        raise StartupError(
            f"a worker for {address} as host {identity} already runs on this machine: "
            f"{held.holder()}"
        ) from None
    except OSError as error:
        raise StartupError(f"cannot take the worker's lock: {error}") from None

    async def main(frames: FrameGuard) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await RemoteWorker(
            address, slots=slots, host=identity, frames=frames, info=info, policy=policy
        ).run(stop)

    with lock:
        # Before registering: what a previous run of this identity left must not run on
        # beside the work the supervisor gives this one (issue 12, item 7).
        record = record_path_for(lock_path)
        if killed := clear_leftovers(record):
            log.warning("killed frames a previous run left running (pids %s)", killed)
        try:
            frames = FrameGuard(record)
        except OSError as error:
            raise StartupError(f"cannot start the frame guardian: {error}") from None
        log.info("frame guardian pid %d", frames.guardian_pid)
        try:
            asyncio.run(main(frames))
        finally:
            frames.close()
