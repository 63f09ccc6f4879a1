"""The asyncio twin of ``Client``, and event streams that resume by themselves.

``AsyncClient`` has the same methods as ``Client`` (as coroutines; the paging ones and
``subscribe`` as async iterators) and raises the same ``LatchworkError``.

``AsyncClient.subscribe`` and ``resume_sync`` (for a sync ``Client``) survive a dropped stream:
when the connection goes (UNAVAILABLE, a server restart) they reconnect with backoff and ask for
the events after the last one they delivered, so the consumer sees every event once, in order.
If the server no longer has those events (OUT_OF_RANGE) they raise ``StreamGapError``.

What this module shares with ``client`` (settings, the resuming-stream bookkeeping,
``resume_sync`` itself) lives in ``_base``; the two client modules never import each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

import grpc
import grpc.aio

from latchwork.v1 import job_pb2, supervisor_pb2, supervisor_pb2_grpc

from . import requests
from ._base import (
    RECONNECT_OPTIONS,
    BaseClient,
    Resumer,
    StreamItem,
    channel_credentials,
    stream_ended,
)
from ._base import resume_sync as resume_sync  # documented here (docs/subscribe.md)
from ._failover import CallAttempts
from .errors import LatchworkError, call_failed
from .errors import StreamGapError as StreamGapError  # raised by ``subscribe``, long imported here
from .requests import JobChanges, JobInput

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceAsyncStub

# What a call on a closed or unusable asyncio channel raises instead of an RpcError.
REFUSED = (ValueError, grpc.aio.UsageError)


def open_channel(address: str, tls_ca: str | None = None) -> grpc.aio.Channel:
    """An asyncio channel to ``address``: TLS with ``tls_ca`` (or ``LATCHWORK_TLS_CA``)."""
    return _channel_to(address, channel_credentials(tls_ca))


def _channel_to(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    if credentials is not None:
        return grpc.aio.secure_channel(address, credentials, options=RECONNECT_OPTIONS)
    return grpc.aio.insecure_channel(address, options=RECONNECT_OPTIONS)


def _closed_under() -> LatchworkError | None:
    """What a call that raised ``CancelledError`` failed with: None when its task is being
    cancelled (the caller re-raises), else its channel was closed under it (grpc.aio raises
    ``CancelledError`` there too), a CANCELLED error, which a moved client makes again."""
    task = asyncio.current_task()
    if task is None or task.cancelling():
        return None
    return LatchworkError(grpc.StatusCode.CANCELLED, "the call's channel was closed")


class AsyncClient(BaseClient[grpc.aio.Channel, "SupervisorServiceAsyncStub"]):
    """``Client`` over ``grpc.aio``; use ``async with AsyncClient(...) as client``."""

    def __init__(
        self,
        address: str | None = None,
        *,
        user: str | None = None,
        token: str | None = None,
        tls_ca: str | None = None,
    ) -> None:
        super().__init__(address, user=user, token=token, tls_ca=tls_ca)

    def _connect(self, address: str) -> tuple[grpc.aio.Channel, SupervisorServiceAsyncStub]:
        channel = _channel_to(address, self._credentials)
        return channel, supervisor_pb2_grpc.SupervisorServiceStub(channel)

    async def close(self) -> None:
        if (channel := self._release()) is not None:
            await channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _call(self, method: str, request: Any, timeout: float | None = 30.0) -> Any:
        """``method`` (its name in the service) with ``request``; on an unavailable supervisor,
        a repeatable call is made again at the next address (``_failover``)."""
        attempts = CallAttempts(method, len(self._ring.addresses), timeout)
        while True:
            try:
                generation, _, stub = self._connection()
            except ValueError as refused:  # the client is closed
                raise call_failed(refused) from None
            try:
                return await getattr(stub, method)(
                    request, metadata=self._metadata, timeout=attempts.remaining()
                )
            except (grpc.RpcError, *REFUSED) as failure:  # REFUSED: a closed channel
                error = call_failed(failure)
            except asyncio.CancelledError:
                if (closed := _closed_under()) is None:
                    raise
                error = closed
            moved_under, stale = self._after_failure(generation, error)
            if stale is not None:
                await stale.close()
            await asyncio.sleep(attempts.retry_delay(error, moved_under))

    async def submit(
        self, jobs: Iterable[JobInput], *, pgrp: int = 0, request_id: str | None = None
    ) -> supervisor_pb2.SubmitResponse:
        """Submit jobs as one process group. Safe to retry: a request id is always sent."""
        request = requests.submit(jobs, pgrp, request_id)
        return await self._call("Submit", request)  # type: ignore[no-any-return]

    async def get_job(self, job_id: int) -> job_pb2.Job:
        response = await self._call("GetJob", requests.get_job(job_id))
        return response.job  # type: ignore[no-any-return]

    async def explain_job(self, job_id: int) -> supervisor_pb2.ExplainJobResponse:
        """Why the job is where it is: each callback's trigger with every atom latched (and
        by which event's seq) or awaited, per ``*`` binding, and routing's reasons."""
        request = requests.explain_job(job_id)
        return await self._call("ExplainJob", request)  # type: ignore[no-any-return]

    async def summarize_farm(self) -> supervisor_pb2.SummarizeFarmResponse:
        """The farm at a glance, as this caller reads it: jobs and frames by status (keyed by
        the enums' names) and the newest failures."""
        request = supervisor_pb2.SummarizeFarmRequest()
        return await self._call("SummarizeFarm", request)  # type: ignore[no-any-return]

    async def list_jobs(self, **filters: Any) -> AsyncIterator[job_pb2.Job]:
        """Every job matching ``filters`` (ListJobsRequest fields), page after page."""
        token = ""
        while True:
            page = await self._call("ListJobs", requests.list_jobs(token, filters))
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
        return await self._call("ControlJobs", request)  # type: ignore[no-any-return]

    async def add_callbacks(
        self, job_id: int, callbacks: Iterable[Mapping[str, Any]]
    ) -> list[job_pb2.Callback]:
        """Register more callbacks (dicts as in a job's ``callbacks``) on an existing job."""
        request = requests.add_callbacks(job_id, callbacks)
        return list((await self._call("AddCallbacks", request)).callbacks)

    async def callback_runs(
        self, *, job_id: int = 0, callback_id: int = 0
    ) -> AsyncIterator[supervisor_pb2.CallbackRun]:
        """Recorded callback runs, newest first, page after page."""
        token = ""
        while True:
            page = await self._call(
                "ListCallbackRuns", requests.callback_runs(job_id, callback_id, token)
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
        return await self._call("ValidateTrigger", request)  # type: ignore[no-any-return]

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
        return await self._call("GetWorkOutput", request)  # type: ignore[no-any-return]

    async def list_hosts(self, names: str | Iterable[str] = ()) -> supervisor_pb2.ListHostsResponse:
        """The farm's hosts by name (only ``names`` when given) and its global resources."""
        request = requests.list_hosts(names)
        return await self._call("ListHosts", request)  # type: ignore[no-any-return]

    async def get_host(self, name: str) -> supervisor_pb2.GetHostResponse:
        """One host (``.host``) and the work it runs now (``.running``, "job_id:work_name")."""
        request = requests.get_host(name)
        return await self._call("GetHost", request)  # type: ignore[no-any-return]

    async def control_hosts(
        self, action: str, names: str | Iterable[str], reason: str = ""
    ) -> supervisor_pb2.ControlHostsResponse:
        """``lock`` or ``unlock`` hosts (admins only), all or none; one result per host."""
        request = requests.control_hosts(action, names, reason)
        return await self._call("ControlHosts", request)  # type: ignore[no-any-return]

    async def lock_hosts(
        self, names: str | Iterable[str], reason: str = ""
    ) -> supervisor_pb2.ControlHostsResponse:
        """No new work on these hosts; what runs there finishes (a drain)."""
        return await self.control_hosts("lock", names, reason)

    async def unlock_hosts(
        self, names: str | Iterable[str], reason: str = ""
    ) -> supervisor_pb2.ControlHostsResponse:
        """Let locked hosts take work again."""
        return await self.control_hosts("unlock", names, reason)

    async def modify_jobs(
        self, job_ids: int | Iterable[int], *, reason: str = "", **changes: Unpack[JobChanges]
    ) -> supervisor_pb2.ModifyJobsResponse:
        """Change jobs after submit (Qube's qbmodify): all of them or none.

        ``changes``: ``priority``, ``cpus``, ``retry``, the routing strings (``reservations``,
        ``requirements``, ``hosts``, ``omithosts``, ``groups``, ``omitgroups``, ``cluster``,
        ``restrictions``; "" clears one), ``data`` (keys to set) and ``remove_data`` (keys to
        drop). What is not named is left as it is. The response lists the jobs that changed.
        """
        request = requests.modify_jobs(job_ids, changes, reason)
        return await self._call("ModifyJobs", request)  # type: ignore[no-any-return]

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
        state = Resumer(
            after_seq=after_seq,
            snapshot=snapshot,
            heartbeats=heartbeats,
            timeout=timeout,
            give_up_after=give_up_after,
            filters=filters,
        )
        while True:
            try:
                generation, _, stub = self._connection()
                call = stub.Subscribe(
                    state.request(), metadata=self._metadata, timeout=state.remaining()
                )
            except REFUSED as refused:
                raise call_failed(refused) from None
            try:
                async for item in call:
                    out = state.accept(item)
                    if out is not None:
                        yield out
                error = stream_ended()
            except grpc.RpcError as rpc_error:
                error = LatchworkError.from_rpc_error(rpc_error)
            except asyncio.CancelledError:
                if (closed := _closed_under()) is None:
                    raise
                error = closed
            finally:
                call.cancel()
            _, stale = self._after_failure(generation, error)  # on to the next address
            if stale is not None:
                await stale.close()
            if not resume:
                raise error
            await asyncio.sleep(state.retry_delay(error))
