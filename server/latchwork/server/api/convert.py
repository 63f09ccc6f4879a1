"""Translation between protobuf messages and the core model, in both directions."""

from __future__ import annotations

from operator import attrgetter

from google.protobuf.timestamp_pb2 import Timestamp

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, trigger_pb2

from ..core.events import Event, EventName, EventType
from ..core.model import (
    PLAIN_SPEC_FIELDS,
    CallbackLanguage,
    CallbackSpec,
    Job,
    JobSpec,
    Prototype,
    WorkSpec,
)
from ..core.runs import CallbackRun, CallbackRunOutcome
from ..core.states import JobStatus, WorkStatus
from ..core.triggers.engine import Callback
from ..core.triggers.syntax import AllOf, Atom, Expr

JOB_STATUS_TO_PB = {
    status: job_pb2.JobStatus.Value(f"JOB_STATUS_{status.name}") for status in JobStatus
}
JOB_STATUS_FROM_PB = {value: status for status, value in JOB_STATUS_TO_PB.items()}
WORK_STATUS_TO_PB = {
    status: job_pb2.WorkStatus.Value(f"WORK_STATUS_{status.name}") for status in WorkStatus
}
WORK_STATUS_FROM_PB = {value: status for status, value in WORK_STATUS_TO_PB.items()}
EVENT_NAME_TO_PB = {
    name: event_pb2.EventName.Value(f"EVENT_NAME_{name.name}") for name in EventName
}
EVENT_NAME_FROM_PB = {value: name for name, value in EVENT_NAME_TO_PB.items()}
EVENT_TYPE_TO_PB = {
    type_: event_pb2.EventType.Value(f"EVENT_TYPE_{type_.name}") for type_ in EventType
}
EVENT_TYPE_FROM_PB = {value: type_ for type_, value in EVENT_TYPE_TO_PB.items()}


_MAP_FIELDS = {
    f.name
    for f in job_pb2.JobSpec.DESCRIPTOR.fields
    if f.message_type is not None and f.message_type.GetOptions().map_entry
}
_PLAIN_MAPS = tuple(name for name in PLAIN_SPEC_FIELDS if name in _MAP_FIELDS)
_PLAIN_SCALARS = tuple(name for name in PLAIN_SPEC_FIELDS if name not in _MAP_FIELDS)
# One C call each instead of a getattr per field: a Submit converts every job.
_scalars_of = attrgetter(*_PLAIN_SCALARS)
_plain_of = attrgetter(*PLAIN_SPEC_FIELDS)


def timestamp(seconds: float) -> Timestamp | None:
    if not seconds:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def spec_from_pb(pb: job_pb2.JobSpec) -> JobSpec:
    # Plain fields share their name and form in the proto and the core (PLAIN_SPEC_FIELDS);
    # maps become dicts. The shaped ones are spelled out.
    plain = dict(zip(_PLAIN_SCALARS, _scalars_of(pb), strict=False))  # same length
    plain.update((name, dict(getattr(pb, name))) for name in _PLAIN_MAPS)
    return JobSpec(
        **plain,
        status=JOB_STATUS_FROM_PB.get(pb.status, JobStatus.PENDING)
        if pb.status
        else JobStatus.PENDING,
        prototype=Prototype.CMDRANGE
        if pb.prototype == job_pb2.PROTOTYPE_CMDRANGE
        else Prototype.CMDLINE,
        cmdline=pb.command.cmdline,
        frame_range=pb.command.frame_range,
        padding=pb.command.padding,
        agenda=[
            WorkSpec(w.name, WORK_STATUS_FROM_PB.get(w.status, WorkStatus.PENDING))
            if w.status
            else WorkSpec(w.name)
            for w in pb.agenda
        ],
        callbacks=[callback_spec_from_pb(c) for c in pb.callbacks],
    )


def callback_spec_to_pb(c: CallbackSpec) -> job_pb2.CallbackSpec:
    return job_pb2.CallbackSpec(
        triggers=c.triggers,
        language=c.language,
        code=c.code,
        max=c.max,
        catch_up=c.catch_up,
        criteria=c.criteria,
        include_data=c.include_data,
        work=c.work,
    )


def callback_spec_from_pb(c: job_pb2.CallbackSpec) -> CallbackSpec:
    return CallbackSpec(
        triggers=c.triggers,
        language=c.language or CallbackLanguage.QUBE,
        code=c.code,
        max=c.max,
        catch_up=c.catch_up if c.HasField("catch_up") else True,
        criteria=dict(c.criteria),
        include_data=list(c.include_data),
        work=c.work,
    )


def callback_to_pb(callback: Callback) -> job_pb2.Callback:
    return job_pb2.Callback(
        id=callback.id,
        job_id=callback.job_id,
        spec=callback_spec_to_pb(callback.spec),
        fired=callback.fired,
        from_dependency=callback.from_dependency,
        suspended=callback.suspended,
        universal=callback.universal,
    )


_OUTCOMES = {
    CallbackRunOutcome.OK: supervisor_pb2.CALLBACK_OUTCOME_OK,
    CallbackRunOutcome.ERROR: supervisor_pb2.CALLBACK_OUTCOME_ERROR,
    CallbackRunOutcome.LIMIT: supervisor_pb2.CALLBACK_OUTCOME_LIMIT,
}


def run_to_pb(run: CallbackRun) -> supervisor_pb2.CallbackRun:
    return supervisor_pb2.CallbackRun(
        id=run.id,
        callback_id=run.callback_id,
        job_id=run.job_id,
        triggers=run.triggers,
        binding=run.binding,
        event_seq=run.event_seq,
        outcome=_OUTCOMES[CallbackRunOutcome(run.outcome)]
        if run.outcome
        else supervisor_pb2.CALLBACK_OUTCOME_UNSPECIFIED,
        start_time=timestamp(run.start_time),
        duration_ms=run.duration_ms,
        output=run.output,
        error=run.error,
        error_line=run.error_line,
        delay_seconds=run.delay_seconds,
    )


def trigger_to_pb(expr: Expr) -> trigger_pb2.TriggerExpr:
    if isinstance(expr, Atom):
        return trigger_pb2.TriggerExpr(
            atom=trigger_pb2.TriggerAtom(
                name=expr.name,
                event_type=expr.type,
                context=expr.context,
                extra=expr.extra,
                time_unix=expr.time,
                repeat_seconds=expr.seconds,
                offset=expr.offset,
            )
        )
    operands = [trigger_to_pb(op) for op in expr.operands]
    if isinstance(expr, AllOf):
        return trigger_pb2.TriggerExpr(all_of=trigger_pb2.TriggerAllOf(operands=operands))
    return trigger_pb2.TriggerExpr(any_of=trigger_pb2.TriggerAnyOf(operands=operands))


def spec_to_pb(spec: JobSpec) -> job_pb2.JobSpec:
    pb = job_pb2.JobSpec(
        **dict(zip(PLAIN_SPEC_FIELDS, _plain_of(spec), strict=False)),  # same length
        status=JOB_STATUS_TO_PB[spec.status],
        prototype=job_pb2.PROTOTYPE_CMDRANGE
        if spec.prototype is Prototype.CMDRANGE
        else job_pb2.PROTOTYPE_CMDLINE,
        command=job_pb2.Command(
            cmdline=spec.cmdline, frame_range=spec.frame_range, padding=spec.padding
        ),
    )
    pb.agenda.extend(
        job_pb2.WorkSpec(name=w.name, status=WORK_STATUS_TO_PB[w.status]) for w in spec.agenda
    )
    pb.callbacks.extend(callback_spec_to_pb(c) for c in spec.callbacks)
    return pb


def job_to_pb(
    job: Job,
    *,
    detail: bool = False,
    child_ids: list[int] | None = None,
    callbacks: list[Callback] | None = None,
    waiting_reason: str = "",
) -> job_pb2.Job:
    counts = job.tally
    pb = job_pb2.Job(
        id=job.id,
        pgrp=job.pgrp,
        label=job.label,
        spec=spec_to_pb(job.spec),
        status=JOB_STATUS_TO_PB[job.status],
        user=job.user,
        submit_time=timestamp(job.submit_time),
        start_time=timestamp(job.start_time),
        end_time=timestamp(job.end_time),
        counts=job_pb2.WorkCounts(
            pending=counts[WorkStatus.PENDING],
            blocked=counts[WorkStatus.BLOCKED],
            running=counts[WorkStatus.RUNNING],
            complete=counts[WorkStatus.COMPLETE],
            failed=counts[WorkStatus.FAILED],
            killed=counts[WorkStatus.KILLED],
        ),
        waiting_reason=waiting_reason,
    )
    if detail:
        pb.work.extend(
            job_pb2.Work(
                index=w.index,
                name=w.name,
                status=WORK_STATUS_TO_PB[w.status],
                retries=w.retries,
                attempts=w.attempts,
                subjob_id=w.subjob_id,
                host=w.host,
                exit_code=w.exit_code,
                start_time=timestamp(w.start_time),
                end_time=timestamp(w.end_time),
                message=w.message,
            )
            for w in job.work
        )
        pb.subjobs.extend(
            job_pb2.Subjob(
                id=s.id,
                status=WORK_STATUS_TO_PB[s.status],
                host=s.host,
                work_name=job.work[s.work_index].name if s.busy else "",
            )
            for s in job.subjobs
        )
        pb.child_ids.extend(child_ids or [])
        pb.callbacks.extend(callback_to_pb(c) for c in callbacks or ())
    return pb


def event_to_pb(event: Event) -> event_pb2.Event:
    return event_pb2.Event(
        seq=event.seq,
        time=timestamp(event.time),
        name=EVENT_NAME_TO_PB[event.name],
        event_type=EVENT_TYPE_TO_PB[event.type],
        job_id=event.job_id,
        pgrp=event.pgrp,
        label=event.label,
        user=event.user,
        subjob_id=event.subjob_id,
        work_name=event.work_name,
        host=event.host,
        status=event.status,
        previous_status=event.previous_status,
        message=event.message,
        callback_run_id=event.callback_run_id,
    )
