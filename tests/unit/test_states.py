"""How a job's state follows from its work and its holds."""

from __future__ import annotations

from collections import Counter

import pytest

from latchwork.server.core.events import EventName, job_event_name
from latchwork.server.core.states import JobStatus, WorkStatus, derive_job_status

P, B, R = WorkStatus.PENDING, WorkStatus.BLOCKED, WorkStatus.RUNNING
C, F, K = WorkStatus.COMPLETE, WorkStatus.FAILED, WorkStatus.KILLED


def derive(
    counts: dict[WorkStatus, int],
    *,
    blocked: bool = False,
    suspended: bool = False,
    removed: bool = False,
    active: bool = False,
) -> JobStatus:
    return derive_job_status(
        Counter(counts),
        blocked=blocked,
        suspended=suspended,
        removed=removed,
        active_instances=active,
    )


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({C: 3}, JobStatus.COMPLETE),
        ({C: 2, F: 1}, JobStatus.FAILED),
        ({F: 1, K: 1, C: 1}, JobStatus.FAILED),
        ({K: 1, C: 2}, JobStatus.KILLED),
        ({K: 3}, JobStatus.KILLED),
        ({P: 3}, JobStatus.PENDING),
        ({P: 1, C: 2}, JobStatus.PENDING),
        ({P: 1, F: 1}, JobStatus.PENDING),
        ({R: 1, P: 2}, JobStatus.RUNNING),
        ({R: 1, C: 1, F: 1}, JobStatus.RUNNING),
        ({B: 2}, JobStatus.BLOCKED),
        ({B: 1, C: 2}, JobStatus.BLOCKED),
        ({B: 1, P: 1}, JobStatus.PENDING),
        ({B: 1, R: 1}, JobStatus.RUNNING),
    ],
)
def test_status_from_work_alone(counts: dict[WorkStatus, int], expected: JobStatus) -> None:
    assert derive(counts) is expected


def test_no_work_at_all_is_pending() -> None:
    assert derive({}) is JobStatus.PENDING


@pytest.mark.parametrize("done", [{C: 2}, {C: 1, F: 1}, {K: 2}])
@pytest.mark.parametrize("hold", ["blocked", "suspended"])
def test_done_work_is_final_even_when_held(done: dict[WorkStatus, int], hold: str) -> None:
    unheld = derive(done)
    assert unheld.is_final
    assert derive(done, **{hold: True}) is unheld


def test_suspended_shows_even_while_work_runs() -> None:
    assert derive({R: 1, P: 1}, suspended=True) is JobStatus.SUSPENDED
    assert derive({P: 2}, suspended=True) is JobStatus.SUSPENDED
    assert derive({P: 2}, suspended=True, blocked=True) is JobStatus.SUSPENDED


def test_blocked_job_hold() -> None:
    assert derive({P: 2}, blocked=True) is JobStatus.BLOCKED
    assert derive({P: 1, C: 1}, blocked=True) is JobStatus.BLOCKED


def test_active_instances_between_frames_keep_the_job_running() -> None:
    assert derive({P: 2, C: 1}, active=True) is JobStatus.RUNNING
    # without pending work an idle instance does not make the job run
    assert derive({B: 1, C: 1}, active=True) is JobStatus.BLOCKED
    assert derive({C: 2}, active=True) is JobStatus.COMPLETE


def test_removed_wins_over_everything() -> None:
    for counts in ({C: 1}, {F: 1}, {R: 1}, {P: 1}, {B: 1}, {}):
        assert derive(counts, removed=True, blocked=True, suspended=True) is JobStatus.REMOVED


def test_final_statuses() -> None:
    final = {s for s in JobStatus if s.is_final}
    assert final == {JobStatus.COMPLETE, JobStatus.FAILED, JobStatus.KILLED, JobStatus.REMOVED}
    assert {s for s in WorkStatus if s.is_done} == {C, F, K}


@pytest.mark.parametrize(
    ("previous", "current", "name"),
    [
        (JobStatus.PENDING, JobStatus.RUNNING, EventName.RUNNING),
        (JobStatus.RUNNING, JobStatus.COMPLETE, EventName.COMPLETE),
        (JobStatus.RUNNING, JobStatus.FAILED, EventName.FAILED),
        (JobStatus.PENDING, JobStatus.BLOCKED, EventName.BLOCKED),
        (JobStatus.BLOCKED, JobStatus.PENDING, EventName.UNBLOCKED),
        (JobStatus.WAITING, JobStatus.PENDING, EventName.UNBLOCKED),
        (JobStatus.RUNNING, JobStatus.SUSPENDED, EventName.SUSPENDED),
        (JobStatus.SUSPENDED, JobStatus.RUNNING, EventName.RESUMED),
        (JobStatus.SUSPENDED, JobStatus.PENDING, EventName.RESUMED),
        (JobStatus.SUSPENDED, JobStatus.KILLED, EventName.KILLED),
        (JobStatus.SUSPENDED, JobStatus.REMOVED, EventName.REMOVED),
        (JobStatus.FAILED, JobStatus.PENDING, EventName.RETRIED),
        (JobStatus.KILLED, JobStatus.PENDING, EventName.RETRIED),
    ],
)
def test_job_event_names(previous: JobStatus, current: JobStatus, name: EventName) -> None:
    assert job_event_name(previous, current) is name
