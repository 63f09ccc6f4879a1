"""Callbacks through the supervisor, over a real SQLite store and without gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import CallbackSpec, JobSpec, Prototype, WorkSpec
from latchwork.server.core.runs import CallbackRun
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.core.triggers.syntax import QUBE_EPOCH
from latchwork.server.output import OutputStore
from latchwork.server.store.opening import open_store
from latchwork.server.store.protocol import Store
from latchwork.server.supervisor import Supervisor

from ..factories import Sink, frames_spec, status_of

NOW = 1_800_000_000.0


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Worker:
    """Leases whatever is runnable and finishes the work items a test names."""

    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup
        self.id = sup.register_worker("node1", Sink())
        self.running: dict[tuple[int, str], str] = {}

    def lease(self) -> list[tuple[int, str]]:
        grants = self.sup.lease(self.id, 100)
        for grant in grants:
            self.running[(grant.job_id, grant.work_name)] = grant.lease_id
        return [(g.job_id, g.work_name) for g in grants]

    def finish(self, job_id: int, *names: str, exit_code: int = 0) -> None:
        for name in names:
            self.lease()
            lease_id = self.running.pop((job_id, name))
            assert self.sup.report(lease_id, WorkOutcome.EXITED, exit_code)


class Farm:
    """Opens (and reopens) a supervisor on one data directory."""

    def __init__(self, root: Path, location: str | Path) -> None:
        self.root = root
        self.location = location
        self.clock = Clock()
        self.stores: list[Store] = []

    def open(self) -> Supervisor:
        store = open_store(self.location)
        self.stores.append(store)
        return Supervisor(store, OutputStore(self.root / "output"), clock=self.clock)

    def close(self) -> None:
        for store in self.stores:
            store.close()
        self.stores.clear()


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    farm = Farm(tmp_path, store_location)
    yield farm
    farm.close()


def callback(triggers: str, code: str = "unblock-self", **fields: object) -> CallbackSpec:
    return CallbackSpec(triggers, "qube", code, **fields)  # type: ignore[arg-type]


def blocked(frames: str = "1", **fields: object) -> JobSpec:
    return frames_spec(frames, status=JobStatus.BLOCKED, **fields)


def blocked_frames(names: list[str], **fields: object) -> JobSpec:
    return JobSpec(
        cmdline="render",
        prototype=Prototype.CMDRANGE,
        agenda=[WorkSpec(name, WorkStatus.BLOCKED) for name in names],
        **fields,  # type: ignore[arg-type]
    )


def events(sup: Supervisor) -> list[Event]:
    return sup.event_log.read(0, 100_000)


def callback_events(sup: Supervisor) -> list[Event]:
    return [e for e in events(sup) if e.type is EventType.CALLBACK]


def work_status(sup: Supervisor, job_id: int) -> dict[str, WorkStatus]:
    return {w.name: w.status for w in sup.index.jobs[job_id].work}


# --- B waits for A -----------------------------------------------------------------------


async def test_b_waits_for_a(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [
            frames_spec("1-2", label="A", cpus=2),
            blocked(label="B", callbacks=[callback("complete-job-A")]),
        ],
        user="alice",
    ).jobs
    assert b.status is JobStatus.BLOCKED
    [registered] = sup.callbacks_of(b.id)
    assert (registered.spec.triggers, registered.fired, registered.from_dependency) == (
        "complete-job-A",
        0,
        False,
    )
    worker = Worker(sup)
    assert worker.lease() == [(a.id, "1"), (a.id, "2")]  # B is held
    worker.finish(a.id, "1")
    assert b.status is JobStatus.BLOCKED
    assert sup.list_runs(job_id=b.id) == []
    worker.finish(a.id, "2")
    assert a.status is JobStatus.COMPLETE
    assert status_of(b) is JobStatus.PENDING
    assert registered.fired == 1

    [run] = sup.list_runs(job_id=b.id)
    complete_a = next(
        e for e in events(sup) if (e.type, e.name, e.job_id) == ("job", "complete", a.id)
    )
    assert (run.callback_id, run.job_id, run.triggers, run.binding) == (
        registered.id,
        b.id,
        "complete-job-A",
        "",
    )
    assert (run.done, run.outcome, run.error) == (True, "ok", "")
    assert run.event_seq == complete_a.seq
    assert run.output == f"unblock job {b.id}: done"
    [announced] = callback_events(sup)
    assert (announced.name, announced.job_id, announced.callback_run_id) == (
        EventName.COMPLETE,
        b.id,
        run.id,
    )
    assert announced.seq > complete_a.seq
    assert f"callback {registered.id}" in announced.message
    unblocked = [e for e in events(sup) if (e.type, e.job_id) == ("job", b.id)]
    assert [e.name for e in unblocked] == ["submit", "unblocked"]
    assert worker.lease() == [(b.id, "1")]


async def test_a_callback_fires_again_when_its_trigger_holds_again(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [
            frames_spec("1", label="A"),
            frames_spec("1", label="B", callbacks=[callback("complete-job-A", "retry-self")]),
        ]
    ).jobs
    worker = Worker(sup)
    worker.finish(a.id, "1")
    [run] = sup.list_runs(job_id=b.id)
    assert run.output == f"retry job {b.id}: already so"  # nothing failed: idempotent
    sup.control(OperatorAction.RETRY, [], [(a.id, "1")])
    worker.finish(a.id, "1")
    assert [r.outcome for r in sup.list_runs(job_id=b.id)] == ["ok", "ok"]
    assert sup.callbacks_of(b.id)[0].fired == 2


async def test_max_stops_firing(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [
            frames_spec("1-3", label="A", cpus=3),
            frames_spec("1", label="B", callbacks=[callback("complete-work-A-*", max=2)]),
        ]
    ).jobs
    Worker(sup).finish(a.id, "3", "1", "2")
    assert [r.binding for r in sup.list_runs(job_id=b.id)] == ["1", "3"]  # newest first
    assert sup.callbacks_of(b.id)[0].fired == 2


# --- frame to frame ---------------------------------------------------------------------------


async def test_frame_to_frame_with_one_callback(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [
            frames_spec("1-3", label="A", cpus=3),
            blocked_frames(
                ["1", "2", "3"],
                label="B",
                callbacks=[callback("complete-work-A-*", "unblock-work-self")],
            ),
        ]
    ).jobs
    assert b.status is JobStatus.BLOCKED and not b.blocked
    worker = Worker(sup)
    assert sorted(worker.lease()) == [(a.id, "1"), (a.id, "2"), (a.id, "3")]
    worker.finish(a.id, "2")
    assert work_status(sup, b.id) == {
        "1": WorkStatus.BLOCKED,
        "2": WorkStatus.PENDING,
        "3": WorkStatus.BLOCKED,
    }
    [run] = sup.list_runs(job_id=b.id)
    assert (run.binding, run.outcome, run.output) == ("2", "ok", f"unblock work {b.id}:2: done")
    assert worker.lease() == [(b.id, "2")]
    worker.finish(a.id, "3", "1")
    assert all(s is not WorkStatus.BLOCKED for s in work_status(sup, b.id).values())
    assert sorted(r.binding for r in sup.list_runs(job_id=b.id)) == ["1", "2", "3"]
    [registered] = sup.callbacks_of(b.id)
    assert registered.fired == 3
    assert [e.message.split(":")[0] for e in callback_events(sup)] == [
        f"callback {registered.id} [2]",
        f"callback {registered.id} [3]",
        f"callback {registered.id} [1]",
    ]


async def test_frames_of_two_jobs(farm: Farm) -> None:
    sup = farm.open()
    a, b, c = sup.submit(
        [
            frames_spec("1-2", label="A", cpus=2),
            frames_spec("1-2", label="B", cpus=2),
            blocked_frames(
                ["1", "2"],
                label="C",
                callbacks=[callback("complete-work-A-* && complete-work-B-*", "unblock-work-self")],
            ),
        ]
    ).jobs
    worker = Worker(sup)
    worker.finish(a.id, "1", "2")
    worker.finish(b.id, "2")
    assert work_status(sup, c.id) == {"1": WorkStatus.BLOCKED, "2": WorkStatus.PENDING}
    worker.finish(b.id, "1")
    assert work_status(sup, c.id)["1"] is WorkStatus.PENDING


# --- catch-up ------------------------------------------------------------------------------


async def test_catch_up_on_a_job_that_already_completed(farm: Farm) -> None:
    sup = farm.open()
    first = sup.submit([frames_spec("1", label="A")])
    a = first.jobs[0]
    worker = Worker(sup)
    worker.finish(a.id, "1")
    assert a.status is JobStatus.COMPLETE
    b, e = sup.submit(
        [
            blocked(label="B", callbacks=[callback("complete-job-A")]),
            blocked(label="E", callbacks=[callback("complete-job-A", catch_up=False)]),
        ],
        pgrp=first.pgrp,
    ).jobs
    assert b.status is JobStatus.PENDING  # caught up at submit
    assert e.status is JobStatus.BLOCKED  # strict edge semantics
    [run] = sup.list_runs(job_id=b.id)
    assert run.outcome == "ok"
    assert sup.list_runs(job_id=e.id) == []

    # A completes again: now E has its edge
    sup.control(OperatorAction.RETRY, [], [(a.id, "1")])
    worker.finish(a.id, "1")
    assert status_of(e) is JobStatus.PENDING


async def test_catch_up_through_a_job_id_in_another_group(farm: Farm) -> None:
    sup = farm.open()
    a = sup.submit([frames_spec("1-2", cpus=2)]).jobs[0]
    Worker(sup).finish(a.id, "1", "2")
    b = sup.submit(
        [
            blocked_frames(
                ["1", "2", "3"],
                callbacks=[callback(f"complete-work-{a.id}-*", "unblock-work-self")],
            )
        ]
    ).jobs[0]
    assert b.pgrp != a.pgrp
    assert work_status(sup, b.id) == {
        "1": WorkStatus.PENDING,
        "2": WorkStatus.PENDING,
        "3": WorkStatus.BLOCKED,
    }
    assert sorted(r.binding for r in sup.list_runs(job_id=b.id)) == ["1", "2"]


async def test_add_callbacks_catches_up(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit([frames_spec("1", label="A"), blocked(label="B")]).jobs
    Worker(sup).finish(a.id, "1")
    [added] = sup.add_callbacks(b.id, [callback("done-job-A")])
    assert added.fired == 1
    assert b.status is JobStatus.PENDING


# --- fail fast -------------------------------------------------------------------------------


async def test_a_bad_trigger_rejects_the_whole_submission(farm: Farm) -> None:
    sup = farm.open()
    with pytest.raises(SubmissionRejected) as caught:
        sup.submit(
            [
                frames_spec("1", label="A", callbacks=[callback("complete-job-B")]),
                blocked(label="B", callbacks=[callback("complete-job-A && compelte-job-A")]),
                blocked(label="C", callbacks=[callback("complete-job-A", "unblok-self")]),
                blocked(label="D", callbacks=[CallbackSpec("complete-job-A", "cobol", "x")]),
                blocked(label="E", callbacks=[callback("complete-job-nope")]),
            ]
        )
    errors = {e.path: e.message for e in caught.value.errors}
    assert set(errors) == {
        "jobs[1].callbacks[0].triggers",
        "jobs[2].callbacks[0].code",
        "jobs[3].callbacks[0].language",
        "jobs[4].callbacks[0].triggers",
    }
    assert "unknown event name 'compelte' (offset 18)" in errors["jobs[1].callbacks[0].triggers"]
    assert "did you mean 'complete'?" in errors["jobs[1].callbacks[0].triggers"]
    assert "did you mean 'unblock-self'?" in errors["jobs[2].callbacks[0].code"]
    assert "cobol" in errors["jobs[3].callbacks[0].language"]
    assert "(offset 13)" in errors["jobs[4].callbacks[0].triggers"]

    # nothing of it exists, in memory or in the store
    assert sup.index.jobs == {}
    assert sup.event_log.head_seq == 0
    assert sup.triggering.engine.callbacks == {}
    farm.close()
    sup = farm.open()
    assert sup.index.jobs == {}
    assert sup.store.load_callbacks() == []
    # job and callback ids are used as if the rejected submission never happened
    a, b = sup.submit(
        [frames_spec("1", label="A"), blocked(label="B", callbacks=[callback("complete-job-A")])]
    ).jobs
    assert (a.id, b.id) == (1, 2)
    assert [c.id for c in sup.callbacks_of(b.id)] == [1]


async def test_rejection_after_valid_callbacks_gives_their_ids_back(farm: Farm) -> None:
    sup = farm.open()
    sup.submit([frames_spec("1", label="A", callbacks=[callback("complete-job-self")])])
    with pytest.raises(SubmissionRejected):
        sup.submit(
            [
                frames_spec("1", label="B", callbacks=[callback("complete-job-A")] * 2),
                frames_spec("1", label="C", callbacks=[callback("complete-job-A", "nope")]),
            ],
            pgrp=1,
        )
    d = sup.submit([frames_spec("1", label="D", callbacks=[callback("complete-job-A")])], pgrp=1)
    assert d.jobs[0].id == 2
    assert [c.id for c in sup.callbacks_of(2)] == [2]


@pytest.mark.parametrize(
    ("trigger", "code", "path"),
    [
        ("complete-job-A", "unblock-work-self", "code"),  # no work to act on
        ("complete-work-A", "retry-work-self", "code"),  # any work: still none bound
        ("complete-job-A", "kill-subjob-self", "code"),
        ("blocked-subjob-A-0", "unblock-self", "triggers"),
        ("complete-work-A-9", "unblock-self", "triggers"),
        ("complete-job-A", "", "code"),
    ],
)
async def test_callbacks_that_could_never_work_are_refused(
    farm: Farm, trigger: str, code: str, path: str
) -> None:
    sup = farm.open()
    with pytest.raises(SubmissionRejected) as caught:
        sup.submit(
            [frames_spec("1", label="A"), blocked(label="B", callbacks=[callback(trigger, code)])]
        )
    assert [e.path for e in caught.value.errors] == [f"jobs[1].callbacks[0].{path}"]
    assert sup.index.jobs == {}


async def test_a_named_work_item_is_the_target_without_a_star(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [
            frames_spec("1-2", label="A", cpus=2),
            blocked_frames(
                ["1", "2"],
                label="B",
                callbacks=[callback("complete-work-A-2", "unblock-work-self")],
            ),
        ]
    ).jobs
    Worker(sup).finish(a.id, "2")
    assert work_status(sup, b.id) == {"1": WorkStatus.BLOCKED, "2": WorkStatus.PENDING}


# --- the outbox ------------------------------------------------------------------------------


async def test_a_pending_run_is_run_after_a_restart(farm: Farm) -> None:
    sup = farm.open()
    _, b = sup.submit(
        [frames_spec("1", label="A"), blocked(label="B", callbacks=[callback("complete-job-A")])]
    ).jobs
    [registered] = sup.callbacks_of(b.id)
    # the supervisor recorded a firing, then died before running it
    changes = Changes(now=NOW)
    changes.new_runs.append(
        CallbackRun(
            id=1,
            callback_id=registered.id,
            job_id=b.id,
            triggers=registered.spec.triggers,
            binding="",
            event_seq=sup.event_log.head_seq,
            due_time=NOW,
        )
    )
    sup.store.write(changes)
    farm.close()

    restarted = farm.open()
    assert restarted.index.jobs[b.id].status is JobStatus.BLOCKED
    assert [r.id for r in restarted.store.pending_runs()] == [1]
    farm.clock.now += 5
    restarted.resume_pending_runs()
    assert restarted.index.jobs[b.id].status is JobStatus.PENDING
    [run] = restarted.list_runs(job_id=b.id)
    assert (run.id, run.done, run.outcome, run.start_time) == (1, True, "ok", NOW + 5)
    assert restarted.store.pending_runs() == []
    restarted.resume_pending_runs()  # nothing left: runs once
    assert len(callback_events(restarted)) == 1
    farm.close()

    again = farm.open()
    assert again.store.pending_runs() == []
    assert again.index.jobs[b.id].status is JobStatus.PENDING
    # the next run gets a fresh id
    again.add_callbacks(b.id, [callback("submit-job-self", "block-self")])
    assert [r.id for r in again.list_runs(job_id=b.id)] == [2, 1]


async def test_latches_survive_a_restart(farm: Farm) -> None:
    sup = farm.open()
    a, b, c = sup.submit(
        [
            frames_spec("1", label="A"),
            frames_spec("1", label="B"),
            blocked(label="C", callbacks=[callback("complete-job-A && complete-job-B")]),
        ]
    ).jobs
    worker = Worker(sup)
    worker.lease()
    worker.finish(a.id, "1")
    farm.close()

    restarted = farm.open()
    assert restarted.callbacks_of(c.id)[0].shared == {0}
    restarted.recover()
    Worker(restarted).finish(b.id, "1")
    assert restarted.index.jobs[c.id].status is JobStatus.PENDING


# --- time triggers ---------------------------------------------------------------------------


async def test_a_time_in_the_past_fires_once_with_its_delay(farm: Farm) -> None:
    sup = farm.open()
    due = int(NOW) - 100
    b = sup.submit([blocked(callbacks=[callback(f"dummy-time-self-{due - QUBE_EPOCH}")])]).jobs[0]
    assert b.status is JobStatus.BLOCKED  # timers are not part of catch-up
    assert sup.next_timer() == due
    assert sup.fire_due_timers() == 1
    assert status_of(b) is JobStatus.PENDING
    [run] = sup.list_runs(job_id=b.id)
    assert (run.due_time, run.delay_seconds, run.outcome) == (due, 100.0, "ok")
    timer = next(e for e in events(sup) if e.type is EventType.TIME)
    assert (timer.name, timer.job_id, run.event_seq) == (EventName.DUMMY, b.id, timer.seq)

    farm.clock.now += 1000
    assert sup.fire_due_timers() == 0
    assert sup.next_timer() is None
    assert len(sup.list_runs(job_id=b.id)) == 1
    farm.close()
    restarted = farm.open()  # the mark is stored: no second firing after a restart
    assert restarted.fire_due_timers() == 0
    assert restarted.next_timer() is None


async def test_a_future_time_waits_for_the_clock(farm: Farm) -> None:
    sup = farm.open()
    due = int(NOW) + 60
    b = sup.submit([blocked(callbacks=[callback(f"dummy-time-self-{due - QUBE_EPOCH}")])]).jobs[0]
    assert sup.fire_due_timers() == 0
    farm.clock.now = due - 1
    assert sup.fire_due_timers() == 0
    assert b.status is JobStatus.BLOCKED
    farm.close()
    sup = farm.open()
    farm.clock.now = due + 3600  # passed while the supervisor was down
    assert sup.fire_due_timers() == 1
    [run] = sup.list_runs(job_id=b.id)
    assert run.delay_seconds == 3600.0
    assert sup.index.jobs[b.id].status is JobStatus.PENDING


async def test_a_repeat_fires_once_per_period_and_once_for_missed_periods(farm: Farm) -> None:
    sup = farm.open()
    start = int(NOW) - 10
    job = sup.submit(
        [
            frames_spec(
                "1",
                callbacks=[callback(f"dummy-repeat-self-{start - QUBE_EPOCH}-60", "retry-self")],
            )
        ]
    ).jobs[0]
    assert sup.fire_due_timers() == 1
    assert sup.fire_due_timers() == 0
    assert sup.next_timer() == start + 60
    farm.clock.now = start + 60 * 5 + 1  # four periods missed
    assert sup.fire_due_timers() == 1
    assert sup.next_timer() == start + 60 * 6
    assert [r.due_time for r in sup.list_runs(job_id=job.id)] == [start + 60, start]


async def test_a_second_time_callback_waits_for_its_own_time(farm: Farm) -> None:
    sup = farm.open()
    past, future = int(NOW) - 10 - QUBE_EPOCH, int(NOW) + 3600 - QUBE_EPOCH
    b = sup.submit([blocked(callbacks=[callback(f"dummy-time-self-{past}")])]).jobs[0]
    assert sup.fire_due_timers() == 1
    sup.add_callbacks(b.id, [callback(f"dummy-time-self-{future}", "block-self")])
    assert b.status is JobStatus.PENDING  # not blocked an hour early
    assert len(sup.list_runs(job_id=b.id)) == 1


# --- the dependency attribute ----------------------------------------------------------------


async def test_dependency_on_a_job_holds_the_job(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [
            frames_spec("1", label="A"),
            frames_spec(
                "1-2",
                label="B",
                dependency="link-complete-job-A",
                callbacks=[callback("done-job-self", "retry-self")],
            ),
        ]
    ).jobs
    assert b.blocked and b.status is JobStatus.BLOCKED
    own, desugared = sup.callbacks_of(b.id)
    assert (own.from_dependency, desugared.from_dependency) == (False, True)
    assert (desugared.spec.triggers, desugared.spec.code) == ("complete-job-A", "unblock-self")
    worker = Worker(sup)
    assert worker.lease() == [(a.id, "1")]
    worker.finish(a.id, "1")
    assert status_of(b) is JobStatus.PENDING
    assert [r.callback_id for r in sup.list_runs(job_id=b.id)] == [desugared.id]


async def test_dependency_on_work_holds_the_work(farm: Farm) -> None:
    sup = farm.open()
    a, c = sup.submit(
        [
            frames_spec("1-2", label="A", cpus=2),
            frames_spec("1-2", label="C", dependency="link-done-work-A"),
        ]
    ).jobs
    assert not c.blocked
    assert c.status is JobStatus.BLOCKED
    assert work_status(sup, c.id) == {"1": WorkStatus.BLOCKED, "2": WorkStatus.BLOCKED}
    [desugared] = sup.callbacks_of(c.id)
    assert desugared.from_dependency
    assert (desugared.spec.triggers, desugared.spec.code) == ("done-work-A-*", "unblock-work-self")
    Worker(sup).finish(a.id, "2", exit_code=3)  # failed is done too
    assert work_status(sup, c.id) == {"1": WorkStatus.BLOCKED, "2": WorkStatus.PENDING}


async def test_a_mixed_dependency_is_frame_to_frame_after_the_job(farm: Farm) -> None:
    sup = farm.open()
    a, b, c = sup.submit(
        [
            frames_spec("1-2", label="A", cpus=2),
            frames_spec("1", label="B"),
            frames_spec("1-2", label="C", dependency="link-complete-work-A, complete-job-B"),
        ]
    ).jobs
    [desugared] = sup.callbacks_of(c.id)
    assert desugared.spec.triggers == "complete-work-A-* && complete-job-B"
    worker = Worker(sup)
    worker.finish(a.id, "1")
    assert work_status(sup, c.id)["1"] is WorkStatus.BLOCKED
    worker.finish(b.id, "1")
    assert work_status(sup, c.id) == {"1": WorkStatus.PENDING, "2": WorkStatus.BLOCKED}
    worker.finish(a.id, "2")
    assert work_status(sup, c.id)["2"] is WorkStatus.PENDING


async def test_dependency_errors_point_into_the_dependency(farm: Farm) -> None:
    sup = farm.open()
    with pytest.raises(SubmissionRejected) as caught:
        sup.submit(
            [
                frames_spec("1", label="A"),
                frames_spec("1", label="B", dependency="1, link-complete-job-nope"),
                frames_spec("1", label="C", dependency="1, link-done-subjob-A"),
            ]
        )
    errors = [(e.path, e.message) for e in caught.value.errors]
    assert [path for path, _ in errors] == ["jobs[1].dependency", "jobs[2].dependency"]
    assert "no job labelled 'nope'" in errors[0][1] and "(offset 3)" in errors[0][1]
    assert "subjob links are not supported" in errors[1][1] and "(offset 3)" in errors[1][1]
    assert sup.index.jobs == {}


# --- trees, removal, bad input -----------------------------------------------------------------


async def test_tree_events_wait_for_the_whole_tree(farm: Farm) -> None:
    sup = farm.open()
    shot = sup.submit([frames_spec("1", label="shot")]).jobs[0]
    layers = sup.submit([frames_spec("1", pid=shot.id), frames_spec("1", pid=shot.id)]).jobs
    report, alarm = sup.submit(
        [
            blocked(callbacks=[callback(f"complete-tree-{shot.id}")]),
            blocked(callbacks=[callback(f"failed-tree-{shot.id}")]),
        ]
    ).jobs
    worker = Worker(sup)
    worker.finish(shot.id, "1")
    worker.finish(layers[0].id, "1")
    assert report.status is JobStatus.BLOCKED
    worker.finish(layers[1].id, "1")
    assert status_of(report) is JobStatus.PENDING
    assert alarm.status is JobStatus.BLOCKED
    tree = [e for e in events(sup) if e.type is EventType.TREE]
    # a leaf is a tree of its own; the shot's tree is done with its last layer
    assert [(e.name, e.job_id) for e in tree] == [
        (EventName.COMPLETE, layers[0].id),
        (EventName.COMPLETE, layers[1].id),
        (EventName.COMPLETE, shot.id),
    ]


async def test_a_failed_child_fails_the_tree(farm: Farm) -> None:
    sup = farm.open()
    shot = sup.submit([frames_spec("1")]).jobs[0]
    layer = sup.submit([frames_spec("1", pid=shot.id)]).jobs[0]
    alarm = sup.submit([blocked(callbacks=[callback(f"failed-tree-{shot.id}")])]).jobs[0]
    worker = Worker(sup)
    worker.finish(layer.id, "1", exit_code=1)
    assert alarm.status is JobStatus.BLOCKED  # the parent still runs
    worker.finish(shot.id, "1")
    assert status_of(alarm) is JobStatus.PENDING


async def test_callbacks_of_a_removed_job_stop(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit(
        [frames_spec("1", label="A"), blocked(label="B", callbacks=[callback("complete-job-A")])]
    ).jobs
    sup.control(OperatorAction.REMOVE, [b.id], [])
    Worker(sup).finish(a.id, "1")
    assert sup.list_runs(job_id=b.id) == []


@pytest.mark.parametrize(
    "spec",
    [
        frames_spec("1", callbacks=[callback("complete-job-\u00b2")]),
        frames_spec("1", cpus=2, callbacks=[callback("done-subjob-self-\u00b2")]),
        frames_spec("1", dependency="\u00b2"),
    ],
)
async def test_non_ascii_digits_are_rejected_like_any_bad_trigger(
    farm: Farm, spec: JobSpec
) -> None:
    sup = farm.open()
    with pytest.raises(SubmissionRejected):
        sup.submit([spec])
