"""The job-tree rule (core/tree_events.py), on its own: no store, no supervisor."""

from __future__ import annotations

from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import Job
from latchwork.server.core.states import JobStatus
from latchwork.server.core.tree_events import tree_events

from .factories import frames_spec, new_job


def _tree(*links: tuple[int, int]) -> dict[int, Job]:
    """Jobs by id; ``links`` are (child, parent) pairs; job 1 is the root."""
    parents = {1: 0, **dict(links)}
    return {
        job_id: new_job(frames_spec(pid=parent), job_id=job_id, label=f"j{job_id}", pgrp=1)
        for job_id, parent in parents.items()
    }


def _run(jobs: dict[int, Job], *finals: tuple[int, EventName]) -> list[tuple[int, str, str]]:
    for job_id, name in finals:
        jobs[job_id].status = JobStatus(name.value)
    events = [Event(name=name, type=EventType.JOB, job_id=job_id) for job_id, name in finals]

    def children(job_id: int) -> list[int]:
        return [job.id for job in jobs.values() if job.pid == job_id]

    found = tree_events(events, jobs.get, children)
    assert all(event.type is EventType.TREE for event in found)
    return [(event.job_id, event.name.value, event.message) for event in found]


def test_a_tree_is_announced_only_when_its_last_job_is_final() -> None:
    jobs = _tree((2, 1), (3, 1))
    # a leaf is a tree of one; the root's tree waits for the root itself
    assert _run(jobs, (2, EventName.COMPLETE)) == [(2, "complete", "1 jobs in the tree")]
    assert _run(jobs, (3, EventName.COMPLETE)) == [(3, "complete", "1 jobs in the tree")]
    assert _run(jobs, (1, EventName.COMPLETE)) == [(1, "complete", "3 jobs in the tree")]


def test_one_final_event_can_close_nested_trees_bottom_up() -> None:
    jobs = _tree((2, 1), (3, 2))
    jobs[1].status = JobStatus.COMPLETE
    jobs[2].status = JobStatus.COMPLETE
    assert _run(jobs, (3, EventName.FAILED)) == [
        (3, "failed", "1 jobs in the tree"),
        (2, "failed", "2 jobs in the tree"),
        (1, "failed", "3 jobs in the tree"),
    ]


def test_failed_wins_over_killed_and_removed_jobs_do_not_count() -> None:
    jobs = _tree((2, 1), (3, 1), (4, 1))
    jobs[4].removed = True  # pending, but removed: not part of the tree any more
    jobs[1].status = JobStatus.COMPLETE
    assert _run(jobs, (2, EventName.KILLED), (3, EventName.FAILED)) == [
        (2, "killed", "1 jobs in the tree"),
        (1, "failed", "3 jobs in the tree"),
        (3, "failed", "1 jobs in the tree"),
    ]


def test_only_final_job_events_can_close_a_tree() -> None:
    jobs = _tree()
    jobs[1].status = JobStatus.COMPLETE
    running = [Event(name=EventName.RUNNING, type=EventType.JOB, job_id=1)]
    work_done = [Event(name=EventName.COMPLETE, type=EventType.WORK, job_id=1)]
    assert tree_events(running + work_done, jobs.get, lambda _job_id: []) == []
