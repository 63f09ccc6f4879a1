"""The reports of one ReportWork call: its own (``lease_id``) and its batch (``reports``).

A remote worker reports the runs that ended together in one call and asks for its next leases
in the same call (``max_leases``), so that a frame costs the supervisor a fraction of one call
and of one transaction instead of two of each. Here the request is checked as a whole before
anything of it is applied (every problem by field path, e.g. ``reports[3].lease_id``) and
turned into the reports to apply, each with the field path that names it in errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from latchwork.v1 import worker_pb2

from ..core.submission import FieldError
from ..core.transitions import WorkOutcome
from ..work_leasing import EndedRun
from .checks import unknown_enums

MAX_REPORTS = 256  # of the batch, `lease_id`'s own report not counted
MAX_LEASES = 256

_OUTCOMES = {
    worker_pb2.WORK_OUTCOME_EXITED: WorkOutcome.EXITED,
    worker_pb2.WORK_OUTCOME_TIMED_OUT: WorkOutcome.TIMED_OUT,
    worker_pb2.WORK_OUTCOME_KILLED: WorkOutcome.KILLED,
    worker_pb2.WORK_OUTCOME_START_FAILED: WorkOutcome.START_FAILED,
}


@dataclass(frozen=True, slots=True)
class Report:
    """One report of the call, with the path of its lease id (``lease_id`` or
    ``reports[i].lease_id``) for errors."""

    where: str
    lease_id: str
    outcome: worker_pb2.WorkOutcome.ValueType
    exit_code: int
    message: str

    @property
    def started(self) -> bool:
        """A report that the process started: accepted, nothing to store."""
        return self.outcome == worker_pb2.WORK_OUTCOME_STARTED

    def ended(self) -> EndedRun:
        return EndedRun(self.lease_id, _OUTCOMES[self.outcome], self.exit_code, self.message)


def reports_of(request: worker_pb2.ReportWorkRequest) -> list[Report]:
    """The call's reports in order: its own first (when it has a ``lease_id``, or no batch:
    an old-style call), then the batch's."""
    reports: list[Report] = []
    if request.lease_id or not request.reports:
        reports.append(
            Report(
                "lease_id",
                request.lease_id,
                request.outcome,
                request.exit_code,
                request.message,
            )
        )
    for index, item in enumerate(request.reports):
        reports.append(
            Report(
                f"reports[{index}].lease_id",
                item.lease_id,
                item.outcome,
                item.exit_code,
                item.message,
            )
        )
    return reports


def check_report_work(request: worker_pb2.ReportWorkRequest) -> list[FieldError]:
    """Every problem of the call, by field path; nothing is applied when there is one."""
    errors = list(unknown_enums(request))
    if len(request.reports) > MAX_REPORTS:
        errors.append(
            FieldError(
                "reports", f"at most {MAX_REPORTS} reports in one call (got {len(request.reports)})"
            )
        )
    if not 0 <= request.max_leases <= MAX_LEASES:
        errors.append(
            FieldError("max_leases", f"must be 0 to {MAX_LEASES} (got {request.max_leases})")
        )
    if errors:
        return errors
    seen: dict[str, str] = {}
    for report in reports_of(request):
        prefix = report.where.removesuffix("lease_id")
        if report.outcome == worker_pb2.WORK_OUTCOME_UNSPECIFIED:
            errors.append(FieldError(f"{prefix}outcome", "required: how the work item ended"))
        if report.where != "lease_id" and not report.lease_id:
            errors.append(FieldError(report.where, "required: the lease reported"))
        elif report.lease_id in seen:
            errors.append(
                FieldError(
                    report.where,
                    f"lease {report.lease_id!r} is already reported in {seen[report.lease_id]}",
                )
            )
        else:
            seen[report.lease_id] = report.where
    return errors
