"""The asyncio twin of ``Client``, and event streams that resume by themselves.

``AsyncClient`` has the same methods as ``Client`` (as coroutines; the paging ones and
``subscribe`` as async iterators) and raises the same ``LatchworkError``.

``AsyncClient.subscribe`` and ``resume_sync`` (for a sync ``Client``) survive a dropped stream:
when the connection goes (UNAVAILABLE, a server restart) they reconnect with backoff and ask for
the events after the last one they delivered, so the consumer sees every event once, in order.
If the server no longer has those events (OUT_OF_RANGE) they raise ``StreamGapError``.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import random
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import grpc
import grpc.aio

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, supervisor_pb2_grpc

from . import requests
from .client import DEFAULT_ADDRESS, RECONNECT_OPTIONS, Client, call_metadata
from .errors import LatchworkError, OutOfRangeError, not_sent
from .requests import JobInput

# Codes after which a stream is worth opening again: the connection went, or the server ended
# the call while shutting down. Everything else is the caller's problem and is raised.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})

CHANNEL_OPTIONS = RECONNECT_OPTIONS

StreamItem = supervisor_pb2.SubscribeResponse | event_pb2.Event


class StreamGapError(OutOfRangeError):
    """The stream cannot resume without a gap: the events after ``after_seq`` are gone."""

    def __init__(self, after_seq: int, cause: LatchworkError) -> None:
        super().__init__(
            grpc.StatusCode.OUT_OF_RANGE,
            f"cannot resume the event stream after seq {after_seq}: {cause.message}",
            cause.violations,
        )
        self.after_seq = after_seq


class Backoff:
    """Exponential backoff with jitter; ``reset`` after a call made progress."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0, factor: float = 2.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def delay(self) -> float:
        delay = self._next * random.uniform(0.5, 1.0)
        self._next = min(self._next * self.factor, self.maximum)
        return delay


class _Resumer:
    """Where a resuming stream is: the request to (re)open it and which items to pass on."""

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


def resume_sync(
    client: Client,
    *,
    after_seq: int = 0,
    snapshot: bool = False,
    heartbeats: bool = False,
    timeout: float | None = None,
    give_up_after: float | None = None,
    **filters: Any,
) -> Iterator[StreamItem]:
    """``Client.subscribe`` that reconnects and resumes after a dropped stream.

    Yields Events; with ``heartbeats=True`` or ``snapshot=True`` the SubscribeResponse items.
    ``timeout`` bounds the whole stream (DEADLINE_EXCEEDED); ``give_up_after`` the seconds it
    keeps trying to reconnect. A gap (OUT_OF_RANGE) raises ``StreamGapError``.
    """
    state = _Resumer(
        after_seq=after_seq,
        snapshot=snapshot,
        heartbeats=heartbeats,
        timeout=timeout,
        give_up_after=give_up_after,
        filters=filters,
    )
    stub = client._stub  # noqa: SLF001 - the resuming stream is part of the client package
    metadata = client._metadata  # noqa: SLF001
    while True:
        try:
            call = stub.Subscribe(state.request(), metadata=metadata, timeout=state.remaining())
        except ValueError as refused:  # grpc's own refusal, e.g. the client was closed
            raise not_sent(refused) from None
        try:
            for item in call:
                out = state.accept(item)
                if out is not None:
                    yield out
            error = LatchworkError(grpc.StatusCode.UNAVAILABLE, "the server ended the stream")
        except grpc.RpcError as rpc_error:
            error = LatchworkError.from_rpc_error(rpc_error)
        finally:
            call.cancel()
        time.sleep(state.retry_delay(error))


class AsyncClient:
    """``Client`` over ``grpc.aio``; use ``async with AsyncClient(...) as client``."""

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
        tls_ca = tls_ca or os.environ.get("LATCHWORK_TLS_CA")
        if tls_ca:
            with open(tls_ca, "rb") as handle:
                credentials = grpc.ssl_channel_credentials(root_certificates=handle.read())
            self._channel = grpc.aio.secure_channel(
                self.address, credentials, options=CHANNEL_OPTIONS
            )
        else:
            self._channel = grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS)
        self._stub = supervisor_pb2_grpc.SupervisorServiceStub(self._channel)
        self._metadata = call_metadata(self.user, token)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _call(self, method: Any, request: Any, timeout: float | None = 30.0) -> Any:
        try:
            return await method(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise LatchworkError.from_rpc_error(error) from None
        except (ValueError, grpc.aio.UsageError) as error:  # e.g. a call on a closed client
            raise not_sent(error) from None

    async def submit(
        self, jobs: Iterable[JobInput], *, pgrp: int = 0, request_id: str | None = None
    ) -> supervisor_pb2.SubmitResponse:
        """Submit jobs as one process group. Safe to retry: a request id is always sent."""
        request = requests.submit(jobs, pgrp, request_id)
        return await self._call(self._stub.Submit, request)  # type: ignore[no-any-return]

    async def get_job(self, job_id: int) -> job_pb2.Job:
        response = await self._call(self._stub.GetJob, requests.get_job(job_id))
        return response.job  # type: ignore[no-any-return]

    async def list_jobs(self, **filters: Any) -> AsyncIterator[job_pb2.Job]:
        """Every job matching ``filters`` (ListJobsRequest fields), page after page."""
        token = ""
        while True:
            page = await self._call(self._stub.ListJobs, requests.list_jobs(token, filters))
            for job in page.jobs:
                yield job
            token = page.next_page_token
            if not token:
                return

    async def control(
        self,
        action: str,
        job_ids: Iterable[int] = (),
        work: Iterable[tuple[int, str]] = (),
        reason: str = "",
    ) -> supervisor_pb2.ControlJobsResponse:
        request = requests.control(action, job_ids, work, reason)
        return await self._call(self._stub.ControlJobs, request)  # type: ignore[no-any-return]

    async def add_callbacks(
        self, job_id: int, callbacks: Iterable[Mapping[str, Any]]
    ) -> list[job_pb2.Callback]:
        """Register more callbacks (dicts as in a job's ``callbacks``) on an existing job."""
        request = requests.add_callbacks(job_id, callbacks)
        return list((await self._call(self._stub.AddCallbacks, request)).callbacks)

    async def callback_runs(
        self, *, job_id: int = 0, callback_id: int = 0
    ) -> AsyncIterator[supervisor_pb2.CallbackRun]:
        """Recorded callback runs, newest first, page after page."""
        token = ""
        while True:
            page = await self._call(
                self._stub.ListCallbackRuns, requests.callback_runs(job_id, callback_id, token)
            )
            for run in page.runs:
                yield run
            token = page.next_page_token
            if not token:
                return

    async def validate_trigger(
        self, triggers: str, *, job_id: int = 0
    ) -> supervisor_pb2.ValidateTriggerResponse:
        """The parsed trigger, or its error (offset and message); resolved against ``job_id``."""
        request = requests.validate_trigger(triggers, job_id)
        return await self._call(self._stub.ValidateTrigger, request)  # type: ignore[no-any-return]

    async def work_output(
        self,
        job_id: int,
        work_name: str,
        *,
        stderr: bool = False,
        attempt: int = 0,
        offset: int = 0,
    ) -> supervisor_pb2.GetWorkOutputResponse:
        request = requests.work_output(job_id, work_name, stderr, attempt, offset)
        return await self._call(self._stub.GetWorkOutput, request)  # type: ignore[no-any-return]

    async def subscribe(
        self,
        *,
        after_seq: int = 0,
        snapshot: bool = False,
        heartbeats: bool = False,
        resume: bool = True,
        timeout: float | None = None,
        give_up_after: float | None = None,
        **filters: Any,
    ) -> AsyncIterator[StreamItem]:
        """Events after ``after_seq`` matching ``filters`` (SubscribeRequest fields).

        Yields Events; with ``heartbeats=True`` or ``snapshot=True`` the SubscribeResponse items.
        With ``resume`` (the default) a dropped stream is reopened after the last event seen,
        with backoff, for up to ``give_up_after`` seconds of failures (None: for ever); a gap
        raises ``StreamGapError``. ``timeout`` bounds the whole stream.
        """
        state = _Resumer(
            after_seq=after_seq,
            snapshot=snapshot,
            heartbeats=heartbeats,
            timeout=timeout,
            give_up_after=give_up_after,
            filters=filters,
        )
        while True:
            try:
                call = self._stub.Subscribe(
                    state.request(), metadata=self._metadata, timeout=state.remaining()
                )
            except (ValueError, grpc.aio.UsageError) as refused:
                raise not_sent(refused) from None
            try:
                async for item in call:
                    out = state.accept(item)
                    if out is not None:
                        yield out
                error = LatchworkError(grpc.StatusCode.UNAVAILABLE, "the server ended the stream")
            except grpc.RpcError as rpc_error:
                error = LatchworkError.from_rpc_error(rpc_error)
            finally:
                call.cancel()
            if not resume:
                raise error
            await asyncio.sleep(state.retry_delay(error))
