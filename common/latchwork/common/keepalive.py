"""gRPC keepalive: how a client notices a supervisor that hangs with its connections open.

A leader that stops answering but keeps its sockets (``SIGSTOP``, a frozen virtual machine, a
host whose TCP connections are left half-open) holds every call made to it: no error ever
comes, so a client given several addresses never moves to the standby that took over
(docs/operations.md, "Standby supervisors"). With keepalive, a client that has a call in
flight pings the server's connection after :data:`KEEPALIVE_SECONDS` without a frame from it;
a ping not answered within :data:`KEEPALIVE_TIMEOUT_SECONDS` closes the connection, the call
fails ``UNAVAILABLE``, and the client moves to its next address.

Both ends are configured here, because they must agree: by default a gRPC server takes a ping
more often than every five minutes for misbehaviour and, after two, closes the connection
(``too_many_pings``), failing every call on it.
"""

from __future__ import annotations

KEEPALIVE_SECONDS = 10
KEEPALIVE_TIMEOUT_SECONDS = 5

CLIENT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", KEEPALIVE_SECONDS * 1000),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_SECONDS * 1000),
    # The C core of grpcio 1.85 closes the connection on an unanswered ping only after this
    # (keepalive_timeout_ms alone left a call waiting on a stopped server for its whole
    # deadline: measured with GRPC_TRACE=http_keepalive).
    ("grpc.http2.ping_timeout_ms", KEEPALIVE_TIMEOUT_SECONDS * 1000),
    # Only while calls are in flight: an idle client costs the supervisor nothing.
    ("grpc.keepalive_permit_without_calls", 0),
    # Ping even though the call sends nothing (a unary call waiting for its answer).
    ("grpc.http2.max_pings_without_data", 0),
)
"""A client's channel options (the Python client, the CLI, the remote worker)."""

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    # Pings as often as every KEEPALIVE_SECONDS / 2 are welcome, from any client...
    ("grpc.http2.min_ping_interval_without_data_ms", KEEPALIVE_SECONDS * 1000 // 2),
    # ...and more frequent ones are not worth closing a connection (and its calls) over.
    ("grpc.http2.max_ping_strikes", 0),
)
"""The supervisor's server options."""
