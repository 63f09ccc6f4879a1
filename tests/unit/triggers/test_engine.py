"""The trigger engine: latches, wildcard bindings, max, catch-up, criteria, dispatch, timers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.triggers.engine import Callback, Firing, TriggerEngine
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import resolve

from ..factories import frames_spec, new_job
from .world import World, standard_world


class Rig:
    """An engine over the standard world (1 A, 2 B, 3 C, 4 comp), owner of callbacks: comp."""

    def __init__(self) -> None:
        self.world = standard_world()
        self.data: dict[int, dict[str, str]] = {}
        self.engine = TriggerEngine(self.data.get)
        self.next_id = 0

    def compile(self, text: str, owner: int = 4, **spec: Any) -> Callback:
        self.next_id += 1
        expr = parse_trigger(text)
        watches = resolve(expr, self.world.context(self.world.jobs[owner], allow_global=True))
        return Callback(
            self.next_id, owner, CallbackSpec(text, "qube", "unblock-self", **spec), expr, watches
        )

    def add(self, text: str, owner: int = 4, **spec: Any) -> Callback:
        callback = self.compile(text, owner, **spec)
        self.engine.add(callback)
        return callback


def job(name: EventName, job_id: int) -> Event:
    return Event(name, EventType.JOB, job_id=job_id)


def work(name: EventName, job_id: int, frame: str, subjob: int = 0) -> Event:
    return Event(name, EventType.WORK, job_id=job_id, work_name=frame, subjob_id=subjob)


def done(job_id: int) -> Event:
    return job(EventName.COMPLETE, job_id)


def frame_done(job_id: int, frame: str) -> Event:
    return work(EventName.COMPLETE, job_id, frame)


def fired(firings: list[Firing]) -> list[tuple[int, str]]:
    return [(f.callback.id, f.binding) for f in firings]


@pytest.fixture
def rig() -> Rig:
    return Rig()


# --- latching ----------------------------------------------------------------------------


def test_an_atom_stays_latched_until_the_callback_fires(rig: Rig) -> None:
    cb = rig.add("complete-job-A && complete-job-B")
    assert rig.engine.observe(done(1)) == []
    assert cb.shared == {0}
    assert rig.engine.observe(job(EventName.RUNNING, 2)) == []  # not the watched event
    assert rig.engine.observe(done(1)) == []  # latched already
    [firing] = rig.engine.observe(done(2))
    assert (firing.callback, firing.binding, firing.event.job_id) == (cb, "", 2)
    assert cb.fired == 1
    assert cb.shared == set()  # firing resets the latches
    assert rig.engine.observe(done(2)) == []  # B alone is not enough again
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]
    assert cb.fired == 2


def test_fires_again_after_a_retry(rig: Rig) -> None:
    cb = rig.add("complete-job-A")
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]
    assert rig.engine.observe(job(EventName.RETRIED, 1)) == []
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]
    assert cb.fired == 2


def test_or(rig: Rig) -> None:
    cb = rig.add("complete-job-A || failed-job-B")
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]
    assert rig.engine.observe(done(2)) == []
    assert fired(rig.engine.observe(job(EventName.FAILED, 2))) == [(cb.id, "")]
    assert cb.shared == set()


def test_and_of_ors(rig: Rig) -> None:
    cb = rig.add("(complete-job-A || complete-job-B) && done-job-C")
    assert rig.engine.observe(done(2)) == []
    assert fired(rig.engine.observe(job(EventName.KILLED, 3))) == [(cb.id, "")]
    assert rig.engine.observe(job(EventName.FAILED, 3)) == []
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]


def test_done_latches_on_complete_failed_and_killed(rig: Rig) -> None:
    cb = rig.add("done-job-A")
    for name in (EventName.COMPLETE, EventName.FAILED, EventName.KILLED):
        assert fired(rig.engine.observe(job(name, 1))) == [(cb.id, "")]
    assert rig.engine.observe(job(EventName.RUNNING, 1)) == []


def test_max_limits_the_firings_and_stops_dispatch(rig: Rig) -> None:
    cb = rig.add("complete-job-A", max=2)
    other = rig.add("complete-job-A")
    assert rig.engine.watch_count(("complete", "job", 1)) == 2
    assert fired(rig.engine.observe(done(1))) == [(cb.id, ""), (other.id, "")]
    assert fired(rig.engine.observe(done(1))) == [(cb.id, ""), (other.id, "")]
    assert cb.exhausted and cb.fired == 2
    assert rig.engine.watch_count(("complete", "job", 1)) == 1
    assert fired(rig.engine.observe(done(1))) == [(other.id, "")]
    assert cb.id in rig.engine.callbacks  # still listed


def test_max_within_one_event(rig: Rig) -> None:
    cb = rig.add("complete-job-A && complete-work-B-*", max=1)
    rig.engine.observe(frame_done(2, "1"))
    rig.engine.observe(frame_done(2, "2"))
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "1")]
    assert rig.engine.observe(frame_done(2, "3")) == []


def test_an_exhausted_callback_is_not_indexed(rig: Rig) -> None:
    cb = rig.compile("complete-job-A", max=1)
    cb.fired = 1  # as restored from the store
    rig.engine.add(cb)
    assert rig.engine.watch_count(("complete", "job", 1)) == 0
    assert rig.engine.observe(done(1)) == []


# --- wildcard bindings ---------------------------------------------------------------------


def test_all_stars_are_one_variable(rig: Rig) -> None:
    cb = rig.add("complete-work-A-* && complete-work-B-*")
    assert rig.engine.observe(frame_done(1, "1")) == []
    assert rig.engine.observe(frame_done(1, "2")) == []
    assert rig.engine.observe(frame_done(2, "3")) == []  # 3 of B without 3 of A
    assert fired(rig.engine.observe(frame_done(2, "2"))) == [(cb.id, "2")]
    assert fired(rig.engine.observe(frame_done(2, "1"))) == [(cb.id, "1")]
    assert fired(rig.engine.observe(frame_done(1, "3"))) == [(cb.id, "3")]
    assert cb.fired == 3
    assert cb.bound == {}  # each binding reset after it fired
    # frame 2 of A again (a retry): waits for frame 2 of B again
    assert rig.engine.observe(frame_done(1, "2")) == []
    assert cb.bound == {"2": {0}}
    assert fired(rig.engine.observe(frame_done(2, "2"))) == [(cb.id, "2")]


def test_shared_atoms_serve_every_binding(rig: Rig) -> None:
    cb = rig.add("complete-job-A && complete-work-B-*")
    assert rig.engine.observe(frame_done(2, "1")) == []
    assert rig.engine.observe(frame_done(2, "2")) == []
    # A completes: every frame done so far fires at once
    assert sorted(fired(rig.engine.observe(done(1)))) == [(cb.id, "1"), (cb.id, "2")]
    # later frames fire one by one: the shared atom stays latched for them
    assert fired(rig.engine.observe(frame_done(2, "3"))) == [(cb.id, "3")]
    assert fired(rig.engine.observe(frame_done(2, "1"))) == [(cb.id, "1")]
    assert cb.shared == {0}
    assert cb.fired == 4


def test_a_binding_fires_once_until_it_latches_again(rig: Rig) -> None:
    cb = rig.add("failed-work-A-*")
    assert fired(rig.engine.observe(work(EventName.FAILED, 1, "2"))) == [(cb.id, "2")]
    assert fired(rig.engine.observe(work(EventName.FAILED, 1, "2"))) == [(cb.id, "2")]
    assert rig.engine.observe(work(EventName.COMPLETE, 1, "2")) == []


def test_named_work_atoms_watch_only_their_item(rig: Rig) -> None:
    cb = rig.add("complete-work-A-2")
    assert rig.engine.observe(frame_done(1, "1")) == []
    assert fired(rig.engine.observe(frame_done(1, "2"))) == [(cb.id, "")]


def test_work_atoms_without_extra_watch_any_item(rig: Rig) -> None:
    cb = rig.add("complete-work-A")
    assert fired(rig.engine.observe(frame_done(1, "3"))) == [(cb.id, "")]


def test_subjob_stars_bind_the_instance(rig: Rig) -> None:
    cb = rig.add("done-subjob-self-*")
    event = Event(EventName.FAILED, EventType.SUBJOB, job_id=4, subjob_id=1)
    assert fired(rig.engine.observe(event)) == [(cb.id, "1")]


def test_or_with_a_star(rig: Rig) -> None:
    cb = rig.add("complete-job-A || complete-work-B-*")
    assert fired(rig.engine.observe(frame_done(2, "1"))) == [(cb.id, "1")]
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]


# --- catch-up ---------------------------------------------------------------------------


def test_catch_up_latches_what_already_happened(rig: Rig) -> None:
    cb = rig.add("complete-job-A && complete-job-B")
    history = [job(EventName.SUBMIT, 1), done(1), job(EventName.RUNNING, 2)]
    assert rig.engine.catch_up(cb, history) == []
    assert cb.shared == {0}
    assert fired(rig.engine.observe(done(2))) == [(cb.id, "")]


def test_catch_up_fires_when_the_trigger_already_holds(rig: Rig) -> None:
    cb = rig.add("complete-work-A-* && complete-work-B-*")
    history = [frame_done(1, "1"), frame_done(2, "1"), frame_done(1, "2"), done(1)]
    [firing] = rig.engine.catch_up(cb, history)
    assert (firing.binding, firing.event) == ("1", history[1])
    assert cb.bound == {"2": {0}}
    assert fired(rig.engine.observe(frame_done(2, "2"))) == [(cb.id, "2")]


def test_catch_up_ignores_other_jobs_and_names(rig: Rig) -> None:
    cb = rig.add("complete-job-A")
    assert rig.engine.catch_up(cb, [done(2), job(EventName.FAILED, 1)]) == []
    assert cb.shared == set()


def test_catch_up_does_not_latch_time_atoms(rig: Rig) -> None:
    # job 4 had an earlier timer fire (another callback's 'dummy-time-self-100')
    history = [Event(EventName.DUMMY, EventType.TIME, job_id=4)]
    cb = rig.add("dummy-time-self-900000000")  # far in the future
    assert rig.engine.catch_up(cb, history) == []
    assert cb.shared == set()


# --- criteria ------------------------------------------------------------------------------


def test_criteria_match_the_event_jobs_data(rig: Rig) -> None:
    rig.data[1] = {"shot": "sq01_010", "dept": "comp"}
    rig.data[2] = {"shot": "sq02_010", "dept": "comp"}
    cb = rig.add("complete-job-A || complete-job-B", criteria={"shot": "sq01_*", "dept": "comp"})
    assert rig.engine.observe(done(2)) == []  # B's shot does not match
    assert cb.shared == set()
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]


def test_criteria_need_every_key(rig: Rig) -> None:
    rig.data[1] = {"shot": "sq01_010"}
    rig.add("complete-job-A", criteria={"shot": "*", "dept": "*"})
    assert rig.engine.observe(done(1)) == []
    rig.data[1]["dept"] = "lighting"
    assert len(rig.engine.observe(done(1))) == 1


def test_criteria_are_case_sensitive_globs(rig: Rig) -> None:
    rig.data[1] = {"shot": "SQ01_010"}
    star = rig.add("complete-job-A", criteria={"shot": "sq01_*"})
    literal = rig.add("complete-job-A", criteria={"shot": "sq01_0[?]0"})
    assert rig.engine.observe(done(1)) == []
    rig.data[1] = {"shot": "sq01_0?0"}
    assert fired(rig.engine.observe(done(1))) == [(star.id, ""), (literal.id, "")]
    rig.data[1] = {"shot": "sq01_010"}
    assert fired(rig.engine.observe(done(1))) == [(star.id, "")]


def test_criteria_with_a_job_without_data(rig: Rig) -> None:
    rig.add("complete-job-A", criteria={"shot": "*"})
    assert rig.engine.observe(done(1)) == []


def test_criteria_apply_to_catch_up(rig: Rig) -> None:
    rig.data[1] = {"shot": "sq02"}
    cb = rig.add("complete-job-A", criteria={"shot": "sq01"})
    assert rig.engine.catch_up(cb, [done(1)]) == []


# --- indexed dispatch ------------------------------------------------------------------------


class CountingCallbacks(dict[int, Callback]):
    """The engine's registry, counting the callbacks an event visits."""

    visits = 0

    def get(self, key: int, default: Any = None) -> Any:
        self.visits += 1
        return super().get(key, default)

    def __getitem__(self, key: int) -> Callback:
        self.visits += 1
        return super().__getitem__(key)


def test_dispatch_visits_only_matching_callbacks() -> None:
    world = World()
    for job_id in range(1, 1001):
        world.add(new_job(frames_spec("1-2"), job_id=job_id, label=f"j{job_id}", pgrp=1))
    engine = TriggerEngine(lambda _job_id: None)
    for job_id in range(1, 1001):
        text = f"complete-job-{job_id} && done-work-{job_id}-*"
        expr = parse_trigger(text)
        watches = resolve(expr, world.context(world.jobs[job_id]))
        spec = CallbackSpec(text, "qube", "unblock-self")
        engine.add(Callback(job_id, job_id, spec, expr, watches))
    assert engine.watch_count(("complete", "job", 7)) == 1
    assert engine.watch_count(("failed", "job", 7)) == 0
    for name in ("complete", "failed", "killed"):  # done: three keys
        assert engine.watch_count((name, "work", 7)) == 1
    registry = CountingCallbacks(engine.callbacks)
    engine.callbacks = registry

    assert engine.observe(done(5000)) == []  # a job nobody watches
    assert engine.observe(job(EventName.RUNNING, 7)) == []  # a name nobody watches
    assert engine.observe(Event(EventName.COMPLETE, EventType.SUBJOB, job_id=7)) == []
    assert registry.visits == 0

    assert engine.observe(done(7)) == []
    assert registry.visits == 1
    assert fired(engine.observe(work(EventName.KILLED, 7, "2"))) == [(7, "2")]
    assert registry.visits == 2

    for job_id in range(2000, 22_000):
        engine.observe(done(job_id))
    assert registry.visits == 2  # 20 000 misses, and not one callback looked at


def test_remove_and_remove_job(rig: Rig) -> None:
    first = rig.add("complete-job-A")
    second = rig.add("done-job-A", owner=2)
    assert rig.engine.watch_count(("complete", "job", 1)) == 2
    rig.engine.remove(first.id)
    assert rig.engine.watch_count(("complete", "job", 1)) == 1
    rig.engine.remove_job(2)
    assert rig.engine.watch_count(("complete", "job", 1)) == 0
    assert rig.engine.watch_count(("killed", "job", 1)) == 0
    assert rig.engine.callbacks == {}
    assert rig.engine.observe(done(1)) == []
    rig.engine.remove(second.id)  # removing twice is harmless


def test_touched_callbacks_are_tracked(rig: Rig) -> None:
    cb = rig.add("complete-job-A && complete-job-B")
    rig.add("complete-job-C")
    rig.engine.observe(done(1))
    assert rig.engine.touched == {cb.id}


# --- timers ----------------------------------------------------------------------------------


def timer_event(job_id: int = 4) -> Event:
    return Event(EventName.DUMMY, EventType.TIME, job_id=job_id)


def test_time_atoms_are_latched_by_the_timer_not_by_events(rig: Rig) -> None:
    cb = rig.add("dummy-time-self-100")
    assert rig.engine.watch_count(("dummy", "time", 4)) == 0
    assert rig.engine.observe(timer_event()) == []
    [(callback, position, watch)] = rig.engine.timers()
    assert (callback, position, watch.type) == (cb, 0, EventType.TIME)
    assert fired(rig.engine.latch_timer(cb, 0, timer_event(), mark=555)) == [(cb.id, "")]
    assert cb.timer_marks == {0: 555}
    assert cb.shared == set()


def test_timer_and_event_together(rig: Rig) -> None:
    cb = rig.add("dummy-time-self-100 && complete-job-A")
    assert rig.engine.latch_timer(cb, 0, timer_event(), mark=1) == []
    assert cb.shared == {0}
    assert fired(rig.engine.observe(done(1))) == [(cb.id, "")]


def test_timer_with_a_star_fires_the_waiting_bindings(rig: Rig) -> None:
    cb = rig.add("complete-work-A-* && dummy-repeat-self-0-60")
    rig.engine.observe(frame_done(1, "2"))
    assert fired(rig.engine.latch_timer(cb, 1, timer_event(), mark=7)) == [(cb.id, "2")]


def test_timers_list_every_timed_atom_of_active_callbacks(rig: Rig) -> None:
    first = rig.add("dummy-time-self-100 || globaltime-5 || complete-job-A")
    second = rig.add("globalrepeat-0-60", max=1)
    listed = [(c.id, p, w.type) for c, p, w in rig.engine.timers()]
    assert listed == [
        (first.id, 0, EventType.TIME),
        (first.id, 1, EventType.GLOBALTIME),
        (second.id, 0, EventType.GLOBALREPEAT),
    ]
    rig.engine.latch_timer(second, 0, Event(EventName.DUMMY, EventType.GLOBALREPEAT), mark=60)
    assert second.exhausted
    assert [c.id for c, _, _ in rig.engine.timers()] == [first.id, first.id]


# --- state and restore -----------------------------------------------------------------------


def test_state_round_trip(rig: Rig) -> None:
    text = "complete-job-A && complete-work-B-* && dummy-time-self-100"
    cb = rig.add(text)
    rig.engine.observe(done(1))
    rig.engine.observe(frame_done(2, "1"))
    rig.engine.observe(frame_done(2, "3"))
    # the timer releases the frames waiting for it; the shared latches stay for later frames
    fired_by_timer = rig.engine.latch_timer(cb, 2, timer_event(), mark=946_702_900)
    assert fired(fired_by_timer) == [(cb.id, "1"), (cb.id, "3")]
    assert fired(rig.engine.observe(frame_done(2, "2"))) == [(cb.id, "2")]
    state = json.loads(json.dumps(cb.state()))
    assert state == {"shared": [0, 2], "bound": {}, "timers": {"2": 946_702_900}}

    partial = rig.add("complete-job-A && complete-work-B-*")
    rig.engine.observe(frame_done(2, "3"))
    stored = json.loads(json.dumps(partial.state()))
    assert stored == {"shared": [], "bound": {"3": [1]}, "timers": {}}

    fresh = Rig()
    restored = fresh.compile("complete-job-A && complete-work-B-*")
    restored.restore(stored)
    fresh.engine.add(restored)
    assert restored.state() == stored
    assert (restored.shared, restored.bound) == (set(), {"3": {1}})
    assert fired(fresh.engine.observe(done(1))) == [(restored.id, "3")]

    again = fresh.compile(text)
    again.restore(state)
    assert again.timer_marks == {2: 946_702_900}
    assert again.state() == state


def test_restore_of_an_empty_state(rig: Rig) -> None:
    cb = rig.compile("complete-job-A")
    cb.restore({})
    assert cb.state() == {"shared": [], "bound": {}, "timers": {}}
