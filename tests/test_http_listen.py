"""Where the HTTP side listens: a taken default port is a warning, a taken configured one a
refusal, a network address without tokens a refusal, "" none at all."""

from __future__ import annotations

import contextlib
import errno
import socket
from pathlib import Path

from .serverproc import ServerProcess, run_refused

DEFAULT = ("127.0.0.1", 50052)


def _serve_args(tmp_path: Path, http_listen: str) -> list[str]:
    return [
        *("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"),
        *("--slots", "0", "--http-listen", http_listen),
    ]


def test_a_configured_address_that_is_taken_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        stderr = run_refused(_serve_args(tmp_path, f"127.0.0.1:{port}"))
    assert f"cannot listen on 127.0.0.1:{port} (http_listen)" in stderr
    assert "in use" in stderr


def test_open_mode_refuses_a_network_address(tmp_path: Path) -> None:
    stderr = run_refused(_serve_args(tmp_path, "0.0.0.0:0"))
    assert "refusing to serve the dashboard on 0.0.0.0:0 without a tokens file" in stderr
    assert "malformed" not in stderr
    assert "use host:port" in run_refused(_serve_args(tmp_path, "localhost"))


def test_the_default_port_taken_leaves_grpc_serving_with_a_warning(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        holder = stack.enter_context(socket.socket())
        try:
            holder.bind(DEFAULT)
            holder.listen(1)
        except OSError as error:  # someone else holds it: taken all the same
            assert error.errno == errno.EADDRINUSE
        server = ServerProcess(tmp_path / "data", slots=0, http_listen=None).start()
        try:
            assert server.http_address == ""
            with server.client() as client:
                assert list(client.list_jobs()) == []
        finally:
            server.stop()
    log = server.log_path.read_text()
    assert "the dashboard's default address 127.0.0.1:50052 cannot be used" in log
    assert "serving gRPC without it" in log


def test_an_empty_address_turns_the_http_side_off(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0, http_listen="").start()
    try:
        assert server.http_address == ""
        assert not (tmp_path / "data" / "http-bridge.sock").exists()
    finally:
        server.stop()
