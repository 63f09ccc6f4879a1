"""A typed, synchronous client for the SupervisorService.

The generated stubs stay behind this class: callers pass Python values (Qube-style job dicts,
ids, names) and get messages back; failures arrive as ``LatchworkError`` with the gRPC code
and, for invalid input, every field violation the server named.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Unpack

import grpc

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, supervisor_pb2_grpc

from . import requests
from ._base import DEFAULT_ADDRESS as DEFAULT_ADDRESS  # where it was before ``_base``
from ._base import (
    RECONNECT_OPTIONS,
    BaseClient,
    call_metadata,
    channel_credentials,
    plain_item,
    resume_sync,
)
from ._failover import CallAttempts
from .errors import FieldViolation, LatchworkError, call_failed
from .requests import JobChanges, JobInput

__all__ = ["Client", "FieldViolation", "LatchworkError", "call_metadata", "open_channel"]


def open_channel(address: str, tls_ca: str | None = None) -> grpc.Channel:
    """A blocking channel to ``address``: TLS with ``tls_ca`` (or ``LATCHWORK_TLS_CA``)."""
    return _channel_to(address, channel_credentials(tls_ca))


def _channel_to(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.Channel:
    if credentials is not None:
        return grpc.secure_channel(address, credentials, options=RECONNECT_OPTIONS)
    return grpc.insecure_channel(address, options=RECONNECT_OPTIONS)


class Client(BaseClient[grpc.Channel, supervisor_pb2_grpc.SupervisorServiceStub]):
    """The blocking client; use ``with Client(...) as client`` or call ``close``."""

    def __init__(
        self,
        address: str | None = None,
        *,
        user: str | None = None,
        token: str | None = None,
        tls_ca: str | None = None,
    ) -> None:
        """``address`` (or ``LATCHWORK_ADDRESS``): ``host:port``, or several comma-separated,
        tried in turn when one is unavailable (standby supervisors). ``token`` (or
        ``LATCHWORK_TOKEN``) is sent as a bearer token; ``tls_ca`` (or ``LATCHWORK_TLS_CA``),
        a PEM file of the CA to trust, switches the channel to TLS."""
        super().__init__(address, user=user, token=token, tls_ca=tls_ca)

    def _connect(
        self, address: str
    ) -> tuple[grpc.Channel, supervisor_pb2_grpc.SupervisorServiceStub]:
        channel = _channel_to(address, self._credentials)
        return channel, supervisor_pb2_grpc.SupervisorServiceStub(channel)

    def close(self) -> None:
        if (channel := self._release()) is not None:
            channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, request: Any, timeout: float | None = 30.0) -> Any:
        """``method`` (its name in the service) with ``request``; on an unavailable supervisor,
        a repeatable call is made again at the next address (``_failover``)."""
        attempts = CallAttempts(method, len(self._ring.addresses), timeout)
        while True:
            try:
                generation, _, stub = self._connection()
            except ValueError as refused:  # the client is closed
                raise call_failed(refused) from None
            try:
                return getattr(stub, method)(
                    request, metadata=self._metadata, timeout=attempts.remaining()
                )
            except (grpc.RpcError, ValueError) as failure:  # ValueError: a closed channel
                error = call_failed(failure)
            moved_under, stale = self._after_failure(generation, error)
            if stale is not None:
                stale.close()
            time.sleep(attempts.retry_delay(error, moved_under))

    def submit(
        self, jobs: Iterable[JobInput], *, pgrp: int = 0, request_id: str | None = None
    ) -> supervisor_pb2.SubmitResponse:
        """Submit jobs as one process group. Safe to retry: a request id is always sent."""
        request = requests.submit(jobs, pgrp, request_id)
        return self._call("Submit", request)  # type: ignore[no-any-return]

    def get_job(self, job_id: int) -> job_pb2.Job:
        response = self._call("GetJob", requests.get_job(job_id))
        return response.job  # type: ignore[no-any-return]

    def explain_job(self, job_id: int) -> supervisor_pb2.ExplainJobResponse:
        """Why the job is where it is: each callback's trigger with every atom latched (and
        by which event's seq) or awaited, per ``*`` binding, and routing's reasons."""
        request = requests.explain_job(job_id)
        return self._call("ExplainJob", request)  # type: ignore[no-any-return]

    def summarize_farm(self) -> supervisor_pb2.SummarizeFarmResponse:
        """The farm at a glance, as this caller reads it: jobs and frames by status (keyed by
        the enums' names) and the newest failures."""
        request = supervisor_pb2.SummarizeFarmRequest()
        return self._call("SummarizeFarm", request)  # type: ignore[no-any-return]

    def list_jobs(self, **filters: Any) -> Iterator[job_pb2.Job]:
        """Every job matching ``filters`` (ListJobsRequest fields), page after page."""
        token = ""
        while True:
            page = self._call("ListJobs", requests.list_jobs(token, filters))
            yield from page.jobs
            token = page.next_page_token
            if not token:
                return

    def control(
        self,
        action: str,
        job_ids: Iterable[int] = (),
        work: Iterable[tuple[int, str]] = (),
        reason: str = "",
    ) -> supervisor_pb2.ControlJobsResponse:
        request = requests.control(action, job_ids, work, reason)
        return self._call("ControlJobs", request)  # type: ignore[no-any-return]

    def add_callbacks(
        self, job_id: int, callbacks: Iterable[Mapping[str, Any]]
    ) -> list[job_pb2.Callback]:
        """Register more callbacks (dicts as in a job's ``callbacks``) on an existing job."""
        request = requests.add_callbacks(job_id, callbacks)
        return list(self._call("AddCallbacks", request).callbacks)

    def callback_runs(
        self, *, job_id: int = 0, callback_id: int = 0
    ) -> Iterator[supervisor_pb2.CallbackRun]:
        """Recorded callback runs, newest first, page after page."""
        token = ""
        while True:
            page = self._call(
                "ListCallbackRuns", requests.callback_runs(job_id, callback_id, token)
            )
            yield from page.runs
            token = page.next_page_token
            if not token:
                return

    def validate_trigger(
        self, triggers: str, *, job_id: int = 0
    ) -> supervisor_pb2.ValidateTriggerResponse:
        """The parsed trigger, or its error (offset and message); resolved against ``job_id``."""
        request = requests.validate_trigger(triggers, job_id)
        return self._call("ValidateTrigger", request)  # type: ignore[no-any-return]

    def work_output(
        self,
        job_id: int,
        work_name: str,
        *,
        stderr: bool = False,
        attempt: int = 0,
        offset: int = 0,
    ) -> supervisor_pb2.GetWorkOutputResponse:
        request = requests.work_output(job_id, work_name, stderr, attempt, offset)
        return self._call("GetWorkOutput", request)  # type: ignore[no-any-return]

    def list_hosts(self, names: str | Iterable[str] = ()) -> supervisor_pb2.ListHostsResponse:
        """The farm's hosts by name (only ``names`` when given) and its global resources."""
        request = requests.list_hosts(names)
        return self._call("ListHosts", request)  # type: ignore[no-any-return]

    def get_host(self, name: str) -> supervisor_pb2.GetHostResponse:
        """One host (``.host``) and the work it runs now (``.running``, "job_id:work_name")."""
        request = requests.get_host(name)
        return self._call("GetHost", request)  # type: ignore[no-any-return]

    def control_hosts(
        self, action: str, names: str | Iterable[str], reason: str = ""
    ) -> supervisor_pb2.ControlHostsResponse:
        """``lock`` or ``unlock`` hosts (admins only), all or none; one result per host."""
        request = requests.control_hosts(action, names, reason)
        return self._call("ControlHosts", request)  # type: ignore[no-any-return]

    def lock_hosts(
        self, names: str | Iterable[str], reason: str = ""
    ) -> supervisor_pb2.ControlHostsResponse:
        """No new work on these hosts; what runs there finishes (a drain)."""
        return self.control_hosts("lock", names, reason)

    def unlock_hosts(
        self, names: str | Iterable[str], reason: str = ""
    ) -> supervisor_pb2.ControlHostsResponse:
        """Let locked hosts take work again."""
        return self.control_hosts("unlock", names, reason)

    def modify_jobs(
        self, job_ids: int | Iterable[int], *, reason: str = "", **changes: Unpack[JobChanges]
    ) -> supervisor_pb2.ModifyJobsResponse:
        """Change jobs after submit (Qube's qbmodify): all of them or none.

        ``changes``: ``priority``, ``cpus``, ``retry``, the routing strings (``reservations``,
        ``requirements``, ``hosts``, ``omithosts``, ``groups``, ``omitgroups``, ``cluster``,
        ``restrictions``; "" clears one), ``data`` (keys to set) and ``remove_data`` (keys to
        drop). What is not named is left as it is. The response lists the jobs that changed.
        """
        request = requests.modify_jobs(job_ids, changes, reason)
        return self._call("ModifyJobs", request)  # type: ignore[no-any-return]

    def subscribe(
        self,
        *,
        after_seq: int = 0,
        heartbeats: bool = False,
        resume: bool = False,
        give_up_after: float | None = None,
        **filters: Any,
    ) -> Iterator[supervisor_pb2.SubscribeResponse | event_pb2.Event]:
        """Events after ``after_seq`` matching ``filters`` (SubscribeRequest fields).

        Yields Event messages, and with ``heartbeats=True`` the other stream items too. With
        ``resume=True`` a dropped stream (supervisor restart, network) is reopened after the
        last event delivered, with backoff, for up to ``give_up_after`` seconds of failures:
        every event once, in order; a gap raises ``StreamGapError``. Without it, the first
        error ends the stream (what a script that wants to notice a restart asks for).
        """
        if resume:
            yield from resume_sync(
                self,
                after_seq=after_seq,
                heartbeats=heartbeats,
                give_up_after=give_up_after,
                **filters,
            )
            return
        request = requests.subscribe(after_seq, filters)
        try:
            generation, _, stub = self._connection()
        except ValueError as refused:  # the client is closed
            raise call_failed(refused) from None
        try:
            for item in stub.Subscribe(request, metadata=self._metadata):
                out = plain_item(item, heartbeats)
                if out is not None:
                    yield out
            return
        except (grpc.RpcError, ValueError) as failure:
            error = call_failed(failure)
        _, stale = self._after_failure(generation, error)  # the next call: the next address
        if stale is not None:
            stale.close()
        raise error
