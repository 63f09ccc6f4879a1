"""The SupervisorService servicer: requests in, core calls, responses out.

Every read of job data takes the caller's :class:`~..core.visibility.ReadScope` from
:mod:`.visibility` (``visibility = "own"``: a non-admin user reads only their own jobs); the
RPCs that change jobs treat a job the caller may not see as missing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from latchwork.v1 import job_pb2, supervisor_pb2, supervisor_pb2_grpc, trigger_pb2

from ..auth import caller_of
from ..core.actions import OperatorAction
from ..core.errors import InvalidRequest, NotFound
from ..core.limits import Limits
from ..core.model import JobSpec
from ..core.states import WorkStatus
from ..core.submission import FieldError, container_problems
from ..core.triggers.parser import parse_trigger
from ..core.triggers.resolve import resolve
from ..core.triggers.syntax import TriggerSyntaxError
from ..core.visibility import ReadPolicy
from ..supervisor import JobQuery, Supervisor
from . import checks, convert, host_rpcs, modify_request, page_tokens
from .encoded_events import EncodedEvents
from .errors import Context
from .explain import explain_job_rpc
from .farm_summary import FarmSummaries
from .ownership import caller_name, require_owner, require_tree_owner
from .page_tokens import BadPageToken, Listing
from .subscribe import subscription
from .visibility import (
    caller_scope,
    control_targets,
    hidden_as_missing,
    job_targets,
    submit_targets,
    visible_children,
    visible_job,
    visible_runs,
    visible_users,
)

DEFAULT_HEARTBEAT_SECONDS = 5
MAX_PAGE_SIZE = 1000

# proto Action -> OperatorAction, by name (tests/unit/test_parity.py pairs the two enums).
_ACTIONS = {
    supervisor_pb2.Action.Value(f"ACTION_{action.name}"): action for action in OperatorAction
}


READ_OFF_LOOP_BYTES = 256 * 2**10
READ_OFF_LOOP_JOBS = 250
"""A Submit request larger than this is checked and converted in a thread (below, inline:
a thread's hand-over costs more than the work)."""
RESPONSE_CHUNK_JOBS = 250
RESPONSE_PAUSE_SECONDS = 0.001
"""Between two chunks of a large Submit's response. Not ``sleep(0)``: a health check needs
several hand-overs between gRPC's poller thread and the loop, and with ``sleep(0)`` the loop
hardly lets go of the GIL, so checks waited for the whole response (as for staged writes)."""


@dataclass(frozen=True, slots=True)
class _ReadSubmit:
    """A SubmitRequest read: its problems (counts first, then fields), or its job specs and
    the digest that recognizes a retry of it (with a request id)."""

    problems: list[FieldError]
    specs: list[JobSpec]
    digest: str


def _read_submit(request: supervisor_pb2.SubmitRequest, size: int, limits: Limits) -> _ReadSubmit:
    """Check and convert a Submit request; pure, so a large one may be read in a thread."""
    problems = container_problems(request.jobs, size, limits) or checks.check_submit(request)
    if problems:
        return _ReadSubmit(problems, [], "")
    digest = ""
    if request.request_id:
        unkeyed = supervisor_pb2.SubmitRequest()
        unkeyed.CopyFrom(request)
        unkeyed.request_id = ""
        digest = hashlib.sha256(unkeyed.SerializeToString(deterministic=True)).hexdigest()
    return _ReadSubmit([], [convert.spec_from_pb(spec) for spec in request.jobs], digest)


def _check(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidRequest(errors)


def _page_size(requested: int) -> int:
    return min(requested, MAX_PAGE_SIZE) if requested > 0 else 100


def _before_id(listing: Listing, token: str, call: str) -> int:
    """The id a page token resumes below (0: no token, the first page)."""
    if not token:
        return 0
    try:
        return page_tokens.decode(listing, token)
    except BadPageToken:
        raise InvalidRequest([FieldError("page_token", f"not a token from {call}")]) from None


class SupervisorService(supervisor_pb2_grpc.SupervisorServiceServicer):
    def __init__(
        self,
        supervisor: Supervisor,
        *,
        heartbeat_seconds: int = 5,
        read_policy: ReadPolicy | None = None,
    ) -> None:
        self.supervisor = supervisor
        self.heartbeat_seconds = heartbeat_seconds
        self.read_policy = read_policy or ReadPolicy()
        self.farm_summaries = FarmSummaries(supervisor)
        # Events go out pre-encoded (registration.add_supervisor_service lets bytes through).
        self.encoded = EncodedEvents()

    async def Submit(
        self, request: supervisor_pb2.SubmitRequest, context: Context
    ) -> supervisor_pb2.SubmitResponse:
        # Counted before anything walks the request: work grows with its entries (limits.py).
        size = request.ByteSize()
        if size > READ_OFF_LOOP_BYTES or len(request.jobs) > READ_OFF_LOOP_JOBS:
            # A large request is read (checked, converted, digested) in a thread: for the
            # largest legal Submit that is ~50 ms no other RPC would be answered in.
            read = await asyncio.to_thread(_read_submit, request, size, self.supervisor.limits)
        else:
            read = _read_submit(request, size, self.supervisor.limits)
        _check(read.problems)
        caller = caller_of(context)
        if caller.authenticated and not caller.admin:
            others = [
                FieldError(
                    f"jobs[{i}].user", f"only admins submit for other users than {caller.user!r}"
                )
                for i, spec in enumerate(request.jobs)
                if spec.user and spec.user != caller.user
            ]
            _check(others)
        hidden_as_missing(
            caller_scope(self.read_policy, context), submit_targets(request, self.supervisor)
        )
        require_tree_owner(context, self.supervisor, request)
        result = await self.supervisor.submit_async(
            read.specs,
            pgrp=request.pgrp,
            user=caller_name(context),
            request_id=request.request_id,
            digest=read.digest,
            request_bytes=size,
        )
        jobs: list[job_pb2.Job] = []
        for start in range(0, len(result.jobs), RESPONSE_CHUNK_JOBS):
            if start:  # other requests in between: 2,000 jobs take ~30 ms to convert
                await asyncio.sleep(RESPONSE_PAUSE_SECONDS)
            chunk = result.jobs[start : start + RESPONSE_CHUNK_JOBS]
            jobs.extend(convert.job_to_pb(job) for job in chunk)
        return supervisor_pb2.SubmitResponse(jobs=jobs, pgrp=result.pgrp, seq=result.seq)

    async def GetJob(
        self, request: supervisor_pb2.GetJobRequest, context: Context
    ) -> supervisor_pb2.GetJobResponse:
        _check(checks.check_get_job(request))
        scope = caller_scope(self.read_policy, context)
        job = visible_job(scope, request.job_id, self.supervisor.get_job(request.job_id))
        return supervisor_pb2.GetJobResponse(
            job=convert.job_to_pb(
                job,
                detail=True,
                child_ids=visible_children(scope, job, self.supervisor),
                callbacks=self.supervisor.callbacks_of(job.id),
                waiting_reason=self.supervisor.waiting_reasons([job]).get(job.id, ""),
            )
        )

    async def ListJobs(
        self, request: supervisor_pb2.ListJobsRequest, context: Context
    ) -> supervisor_pb2.ListJobsResponse:
        _check(checks.check_list_jobs(request))
        before_id = _before_id(Listing.LIST_JOBS, request.page_token, "ListJobs")
        limit = _page_size(request.page_size)
        users = visible_users(caller_scope(self.read_policy, context), request.users)
        if users is None:  # only other users' jobs asked for: none exists for this caller
            return supervisor_pb2.ListJobsResponse()
        jobs = await self.supervisor.list_jobs_aside(
            JobQuery(
                # UNSPECIFIED means "any" in a filter; check_list_jobs refused unknown numbers.
                statuses=frozenset(
                    convert.JOB_STATUS_FROM_PB[s]
                    for s in request.statuses
                    if s in convert.JOB_STATUS_FROM_PB
                ),
                users=users,
                pgrps=frozenset(request.pgrps),
                name_glob=request.name_glob,
                parent_id=request.parent_id,
                before_id=before_id,
                limit=limit,
            )
        )
        page, rest = jobs[:limit], jobs[limit:]
        reasons = self.supervisor.waiting_reasons(page)
        return supervisor_pb2.ListJobsResponse(
            jobs=[convert.job_to_pb(job, waiting_reason=reasons.get(job.id, "")) for job in page],
            next_page_token=page_tokens.encode(Listing.LIST_JOBS, page[-1].id) if rest else "",
        )

    async def ControlJobs(
        self, request: supervisor_pb2.ControlJobsRequest, context: Context
    ) -> supervisor_pb2.ControlJobsResponse:
        _check(checks.check_control(request))
        hidden_as_missing(
            caller_scope(self.read_policy, context), control_targets(request, self.supervisor)
        )
        require_owner(
            context,
            [
                self.supervisor.get_job(i)
                for i in (*request.job_ids, *(w.job_id for w in request.work))
            ],
        )
        action = _ACTIONS.get(request.action)
        if action is None:
            raise InvalidRequest([FieldError("action", "required: which action to apply")])
        results, seq = self.supervisor.control(
            action,
            list(request.job_ids),
            [(w.job_id, w.work_name) for w in request.work],
            request.reason or f"{action.value} by {caller_name(context)}",
        )
        return supervisor_pb2.ControlJobsResponse(
            results=[
                supervisor_pb2.ControlResult(
                    job_id=r.job_id,
                    work_name=r.work_name,
                    changed=r.changed,
                    job_status=convert.JOB_STATUS_TO_PB[r.job_status],
                )
                for r in results
            ],
            seq=seq,
        )

    async def ModifyJobs(
        self, request: supervisor_pb2.ModifyJobsRequest, context: Context
    ) -> supervisor_pb2.ModifyJobsResponse:
        _check(modify_request.check_modify(request))
        hidden_as_missing(
            caller_scope(self.read_policy, context),
            job_targets("job_ids", request.job_ids, self.supervisor),
        )
        caller = caller_of(context)
        result = self.supervisor.modify_jobs(
            list(request.job_ids),
            modify_request.changes_from_pb(request.changes),
            request.reason or f"by {caller.user}",
            acting_user=caller.user if caller.authenticated and not caller.admin else None,
        )
        return supervisor_pb2.ModifyJobsResponse(
            changed_job_ids=result.changed_job_ids, seq=result.seq
        )

    async def GetWorkOutput(
        self, request: supervisor_pb2.GetWorkOutputRequest, context: Context
    ) -> supervisor_pb2.GetWorkOutputResponse:
        _check(checks.check_work_output(request))
        scope = caller_scope(self.read_policy, context)
        visible_job(scope, request.job_id, self.supervisor.get_job(request.job_id))
        job, item = self.supervisor.work_of(request.job_id, request.work_name)
        attempt = request.attempt or item.attempts
        if attempt > item.attempts:
            raise InvalidRequest(
                [FieldError("attempt", f"work {request.work_name!r} has {item.attempts} attempts")]
            )
        if attempt == 0:
            return supervisor_pb2.GetWorkOutputResponse(eof=True)
        chunk = self.supervisor.read_output(
            job.id,
            item.index,
            attempt,
            request.stream == job_pb2.OUTPUT_STREAM_STDERR,
            request.offset,
            request.limit,
        )
        still_writing = item.status is WorkStatus.RUNNING and attempt == item.attempts
        return supervisor_pb2.GetWorkOutputResponse(
            data=chunk.data,
            next_offset=chunk.next_offset,
            size=chunk.size,
            eof=not still_writing and chunk.next_offset >= chunk.size,
            attempt=attempt,
        )

    # Events are yielded pre-encoded (bytes), which the generated base class does not know of;
    # app.py registers this servicer with api.registration, whose serializer lets them through.
    async def Subscribe(  # type: ignore[override]
        self, request: supervisor_pb2.SubscribeRequest, context: Context
    ) -> AsyncIterator[supervisor_pb2.SubscribeResponse | bytes]:
        _check(checks.check_subscribe(request))
        stream = subscription(
            self.supervisor,
            request,
            heartbeat_seconds=self.heartbeat_seconds,
            encode=self.encoded,
            scope=caller_scope(self.read_policy, context),
        )
        async for message in stream:
            yield message

    async def AddCallbacks(
        self, request: supervisor_pb2.AddCallbacksRequest, context: Context
    ) -> supervisor_pb2.AddCallbacksResponse:
        if len(request.callbacks) > (limit := self.supervisor.limits.callbacks_per_job):
            many = f"{len(request.callbacks)} callbacks; a job has at most {limit}"
            _check([FieldError("callbacks", many)])
        _check(checks.check_add_callbacks(request))
        job = self.supervisor.get_job(request.job_id)
        if job is not None:
            visible_job(caller_scope(self.read_policy, context), request.job_id, job)
        require_owner(context, [job])
        callbacks = await self.supervisor.add_callbacks_async(
            request.job_id, [convert.callback_spec_from_pb(c) for c in request.callbacks]
        )
        return supervisor_pb2.AddCallbacksResponse(
            callbacks=[convert.callback_to_pb(c) for c in callbacks]
        )

    async def ListCallbackRuns(
        self, request: supervisor_pb2.ListCallbackRunsRequest, context: Context
    ) -> supervisor_pb2.ListCallbackRunsResponse:
        _check(checks.check_list_runs(request))
        before_id = _before_id(Listing.LIST_CALLBACK_RUNS, request.page_token, "ListCallbackRuns")
        limit = _page_size(request.page_size)
        runs = await visible_runs(
            self.supervisor,
            caller_scope(self.read_policy, context),
            request.job_id,
            request.callback_id,
            before_id,
            limit + 1,
        )
        page, rest = runs[:limit], runs[limit:]
        return supervisor_pb2.ListCallbackRunsResponse(
            runs=[convert.run_to_pb(run) for run in page],
            next_page_token=(
                page_tokens.encode(Listing.LIST_CALLBACK_RUNS, page[-1].id) if rest else ""
            ),
        )

    async def ListHosts(
        self, request: supervisor_pb2.ListHostsRequest, context: Context
    ) -> supervisor_pb2.ListHostsResponse:
        hosts = self.supervisor.list_hosts(frozenset(request.names))
        return supervisor_pb2.ListHostsResponse(
            hosts=[host_rpcs.host_to_pb(h) for h in hosts],
            resources=host_rpcs.global_resources_to_pb(self.supervisor.global_resources()),
        )

    async def GetHost(
        self, request: supervisor_pb2.GetHostRequest, context: Context
    ) -> supervisor_pb2.GetHostResponse:
        host_rpcs.check_get_host(request)
        host = self.supervisor.get_host(request.name)
        if host is None:
            raise NotFound(f"name: host {request.name!r} is not on the farm")
        # Hosts are the farm's, visible to all; what runs there is named only to those who may
        # see its job (another user's frames count in slots_in_use, unnamed).
        scope = caller_scope(self.read_policy, context)
        running = []
        for worker_id in self.supervisor.host_workers(host.name):
            for lease_id in sorted(self.supervisor.worker_leases(worker_id)):
                entry = self.supervisor.lease_entry(lease_id)
                if entry is not None and scope.sees(entry[0]):
                    running.append(f"{entry[0].id}:{entry[1].name}")
        return supervisor_pb2.GetHostResponse(host=host_rpcs.host_to_pb(host), running=running)

    async def ControlHosts(
        self, request: supervisor_pb2.ControlHostsRequest, context: Context
    ) -> supervisor_pb2.ControlHostsResponse:
        action = host_rpcs.read_control_hosts(request, context, self.supervisor.triggering.admins)
        results, seq = self.supervisor.control_hosts(
            action, list(request.names), host_rpcs.lock_reason(request, context)
        )
        return supervisor_pb2.ControlHostsResponse(
            results=[
                supervisor_pb2.HostControlResult(name=name, changed=changed)
                for name, changed in results
            ],
            seq=seq,
        )

    async def ExplainJob(
        self, request: supervisor_pb2.ExplainJobRequest, context: Context
    ) -> supervisor_pb2.ExplainJobResponse:
        scope = caller_scope(self.read_policy, context)
        return explain_job_rpc(self.supervisor, scope, request)

    async def SummarizeFarm(
        self, request: supervisor_pb2.SummarizeFarmRequest, context: Context
    ) -> supervisor_pb2.SummarizeFarmResponse:
        return await self.farm_summaries.summary(caller_scope(self.read_policy, context))

    async def ValidateTrigger(
        self, request: supervisor_pb2.ValidateTriggerRequest, context: Context
    ) -> supervisor_pb2.ValidateTriggerResponse:
        _check(checks.check_validate_trigger(request))
        owner = None
        if request.job_id:
            scope = caller_scope(self.read_policy, context)
            owner = visible_job(scope, request.job_id, self.supervisor.get_job(request.job_id))
        try:
            expr = parse_trigger(request.triggers)
            if owner is not None:
                resolve(expr, self.supervisor.resolve_context(owner))
        except TriggerSyntaxError as error:
            message = f"{error.message}; {error.hint}" if error.hint else error.message
            return supervisor_pb2.ValidateTriggerResponse(
                error=trigger_pb2.TriggerError(offset=error.offset, message=message)
            )
        return supervisor_pb2.ValidateTriggerResponse(
            expr=convert.trigger_to_pb(expr), canonical=expr.format()
        )
