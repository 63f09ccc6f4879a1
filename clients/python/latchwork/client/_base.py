"""What ``Client`` and ``AsyncClient`` share, so that the two never import each other.

The two clients differ only in how they wait: blocking calls or ``await``. Everything else is
here, once: where to connect and as whom (address, user, token, TLS), the one channel open
and the move to the next of several addresses (``_failover`` decides), what each call carries,
which stream items a subscriber sees, and the state of a stream that resumes after a drop
(``Resumer``: pure bookkeeping, no I/O). Requests are built in ``requests`` and failures become
``LatchworkError`` in ``errors``; ``client`` and ``aio`` keep only the calls and their loops.

``resume_sync``, the blocking resuming stream, lives here rather than in ``client`` because it
has two addresses: ``Client.subscribe(resume=True)`` and, since before this module existed,
``latchwork.client.aio.resume_sync``.
"""

from __future__ import annotations

import getpass
import os
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import grpc

from latchwork.common import keepalive
from latchwork.v1 import event_pb2, supervisor_pb2

from . import requests
from ._failover import AddressRing, Backoff, parse_addresses
from .errors import LatchworkError, StreamGapError, not_sent

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceStub

DEFAULT_ADDRESS = "localhost:50051"

# Reconnect quickly after a supervisor restart: gRPC's own backoff grows to two minutes. And
# notice a supervisor that hangs with the connection open (latchwork.common.keepalive).
RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    *keepalive.CLIENT_OPTIONS,
]

# Codes after which a stream is worth opening again (docs/subscribe.md, "Resuming, from any
# language"): the connection went, the server ended the call while shutting down, or the
# transport reported a broken HTTP/2 stream as UNKNOWN (the supervisor never sends UNKNOWN).
# Everything else is the caller's problem and is raised.
RETRYABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN}
)

# What a subscriber is handed: Events, or with heartbeats/snapshot the raw stream items.
StreamItem = supervisor_pb2.SubscribeResponse | event_pb2.Event

ChannelT = TypeVar("ChannelT")
StubT = TypeVar("StubT")


def call_metadata(user: str, token: str | None = None) -> tuple[tuple[str, str], ...]:
    """What every call carries: the user, and the bearer token when there is one."""
    token = token or os.environ.get("LATCHWORK_TOKEN")
    metadata: tuple[tuple[str, str], ...] = (("latchwork-user", user),)
    if token:
        metadata += (("authorization", f"Bearer {token}"),)
    return metadata


def channel_credentials(tls_ca: str | None) -> grpc.ChannelCredentials | None:
    """TLS trusting the PEM CA in ``tls_ca`` (or ``LATCHWORK_TLS_CA``); None: plaintext."""
    tls_ca = tls_ca or os.environ.get("LATCHWORK_TLS_CA")
    if not tls_ca:
        return None
    with open(tls_ca, "rb") as handle:
        return grpc.ssl_channel_credentials(root_certificates=handle.read())


class BaseClient(Generic[ChannelT, StubT]):
    """Where a client connects and as whom, and the one channel it has open.

    ``address`` may list several supervisors (``host:port,host:port``, ``_failover``): the
    client uses one at a time, from the first; a call that finds it UNAVAILABLE moves the
    client to the next, whose channel opens on first use, and the old one is closed. The
    subclass opens a channel and its stub (``_connect``: ``ChannelT`` blocking or asyncio,
    ``StubT`` the generated stub over it) and closes the channels handed back to it.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        user: str | None = None,
        token: str | None = None,
        tls_ca: str | None = None,
    ) -> None:
        self.address = address or os.environ.get("LATCHWORK_ADDRESS") or DEFAULT_ADDRESS
        self.user = user or os.environ.get("LATCHWORK_USER") or getpass.getuser()
        self._metadata = call_metadata(self.user, token)
        self._credentials = channel_credentials(tls_ca)  # read now: a bad file fails here
        self._ring = AddressRing(parse_addresses(self.address))
        self._lock = threading.Lock()  # calls from several threads share the channel
        self._open: tuple[int, ChannelT, StubT] | None = None  # (generation, channel, stub)
        self._closed = False

    def _connect(self, address: str) -> tuple[ChannelT, StubT]:
        raise NotImplementedError

    def _connection(self) -> tuple[int, ChannelT, StubT]:
        """The channel to the address in use (opened now if need be) and its generation;
        ValueError once the client is closed."""
        with self._lock:
            if self._closed:
                raise ValueError("the client is closed")
            if self._open is None:
                self._open = (self._ring.generation, *self._connect(self._ring.current))
            return self._open

    @property
    def _stub(self) -> StubT:
        return self._connection()[2]

    @property
    def _channel(self) -> ChannelT:
        return self._connection()[1]

    def _after_failure(
        self, generation: int, error: LatchworkError
    ) -> tuple[bool, ChannelT | None]:
        """After a call on ``generation``'s channel failed with ``error``: whether another call
        moved the client on meanwhile (closing that channel under this one), and the channel
        the caller must close because this failure moved the client to the next address."""
        with self._lock:
            if self._closed:
                return False, None
            moved_under = self._ring.generation != generation
            if error.code != grpc.StatusCode.UNAVAILABLE or not self._ring.move_from(generation):
                return moved_under, None
            stale, self._open = self._open, None
        return moved_under, None if stale is None else stale[1]

    def _release(self) -> ChannelT | None:
        """Mark the client closed; the channel the caller must close, if one is open."""
        with self._lock:
            self._closed = True
            stale, self._open = self._open, None
        return None if stale is None else stale[1]


def plain_item(item: supervisor_pb2.SubscribeResponse, heartbeats: bool) -> StreamItem | None:
    """What a non-resuming subscriber sees of ``item``: Events, or everything with heartbeats."""
    if heartbeats:
        return item
    return item.event if item.HasField("event") else None


class Resumer:
    """Where a resuming stream is: the request to (re)open it and which items to pass on.

    The sync and asyncio loops only open the call, feed each item to ``accept`` and sleep for
    ``retry_delay``; every decision (what was delivered, what to skip, when to give up) is here.
    """

    def __init__(
        self,
        *,
        after_seq: int,
        snapshot: bool,
        heartbeats: bool,
        timeout: float | None,
        give_up_after: float | None,
        filters: Mapping[str, Any],
    ) -> None:
        self.position = after_seq  # the seq every event up to which was delivered (-1: unknown)
        self.snapshot = snapshot  # a snapshot is still owed to the consumer
        self.raw = heartbeats or snapshot
        self.filters = dict(filters)
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.give_up_after = give_up_after
        self.failing_since: float | None = None
        self.backoff = Backoff()

    def request(self) -> supervisor_pb2.SubscribeRequest:
        return requests.subscribe(self.position, {**self.filters, "snapshot": self.snapshot})

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LatchworkError(grpc.StatusCode.DEADLINE_EXCEEDED, "event stream timed out")
        return left

    def accept(self, item: supervisor_pb2.SubscribeResponse) -> StreamItem | None:
        """What to hand the consumer for ``item`` (None: nothing), updating the position."""
        self.failing_since = None
        self.backoff.reset()
        kind = item.WhichOneof("item")
        if kind == "event":
            if self.position >= 0 and item.event.seq <= self.position:
                return None  # already delivered before the reconnect
            self.position = item.event.seq
            return item if self.raw else item.event
        if kind == "snapshot_end":
            self.snapshot = False
            self.position = item.snapshot_end.seq
        elif kind == "heartbeat" and not self.snapshot:
            # Sent only when the server caught up: nothing up to head_seq is left to send.
            self.position = max(self.position, item.heartbeat.head_seq)
        return item if self.raw else None

    def retry_delay(self, error: LatchworkError) -> float:
        """How long to wait before reopening after ``error``; raises when it is final."""
        if error.code == grpc.StatusCode.OUT_OF_RANGE:
            raise StreamGapError(self.position, error) from None
        if error.code not in RETRYABLE:
            raise error
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        elif self.give_up_after is not None and now - self.failing_since > self.give_up_after:
            raise LatchworkError(
                error.code,
                f"event stream lost for {now - self.failing_since:.1f} s, giving up "
                f"after seq {self.position}: {error.message}",
            ) from None
        delay = self.backoff.delay()
        left = self.remaining()
        if left is not None and delay >= left:
            raise LatchworkError(grpc.StatusCode.DEADLINE_EXCEEDED, "event stream timed out")
        return delay


def stream_ended() -> LatchworkError:
    """The error a stream that ended without one is resumed after (the server closed it)."""
    return LatchworkError(grpc.StatusCode.UNAVAILABLE, "the server ended the stream")


def resume_sync(
    client: BaseClient[grpc.Channel, SupervisorServiceStub],
    *,
    after_seq: int = 0,
    snapshot: bool = False,
    heartbeats: bool = False,
    timeout: float | None = None,
    give_up_after: float | None = None,
    **filters: Any,
) -> Iterator[StreamItem]:
    """``Client.subscribe`` that reconnects and resumes after a dropped stream (at the next of
    the client's addresses when the one in use is unavailable).

    Yields Events; with ``heartbeats=True`` or ``snapshot=True`` the SubscribeResponse items.
    ``timeout`` bounds the whole stream (DEADLINE_EXCEEDED); ``give_up_after`` the seconds it
    keeps trying to reconnect. A gap (OUT_OF_RANGE) raises ``StreamGapError``.
    """
    state = Resumer(
        after_seq=after_seq,
        snapshot=snapshot,
        heartbeats=heartbeats,
        timeout=timeout,
        give_up_after=give_up_after,
        filters=filters,
    )
    # The resuming stream is part of the client package: it reaches into the client.
    metadata = client._metadata  # noqa: SLF001
    while True:
        try:
            generation, _, stub = client._connection()  # noqa: SLF001
            call = stub.Subscribe(state.request(), metadata=metadata, timeout=state.remaining())
        except ValueError as refused:  # grpc's own refusal, e.g. the client was closed
            raise not_sent(refused) from None
        try:
            for item in call:
                out = state.accept(item)
                if out is not None:
                    yield out
            error = stream_ended()
        except grpc.RpcError as rpc_error:
            error = LatchworkError.from_rpc_error(rpc_error)
        finally:
            call.cancel()
        _, stale = client._after_failure(generation, error)  # noqa: SLF001 - to the next address
        if stale is not None:
            stale.close()
        time.sleep(state.retry_delay(error))
