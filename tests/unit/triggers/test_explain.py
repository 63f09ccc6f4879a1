"""The latch inspector (core.explain): trees of latched and awaited atoms, with the seqs of the
events that latched them, per ``*`` binding, and the status and routing reasons."""

from __future__ import annotations

from typing import Any

import pytest

from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.explain import MAX_BINDINGS, Node, explain_callback, explain_job
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.routing.hosts import Host, Resources
from latchwork.server.core.routing.licences import GlobalResources
from latchwork.server.core.routing.routing import explain_wait, parse_routing
from latchwork.server.core.states import JobStatus
from latchwork.server.core.triggers.dependency import desugar_dependency
from latchwork.server.core.triggers.engine import Callback, TriggerEngine
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import resolve

from ..factories import frames_spec, new_job
from .world import standard_world


class Rig:
    """An engine over the standard world (1 A, 2 B, 3 C, 4 comp); callbacks belong to comp."""

    def __init__(self) -> None:
        self.world = standard_world()
        self.engine = TriggerEngine(lambda _job: {})
        self.next_id = 0

    def add(self, text: str, code: str = "unblock-self", **spec: Any) -> Callback:
        self.next_id += 1
        expr = parse_trigger(text)
        watches = resolve(expr, self.world.context(self.world.jobs[4], allow_global=True))
        callback = Callback(
            self.next_id, 4, CallbackSpec(text, "qube", code, **spec), expr, watches
        )
        self.engine.add(callback)
        return callback


def job_event(name: EventName, job_id: int, seq: int) -> Event:
    return Event(name, EventType.JOB, job_id=job_id, seq=seq)


def frame_event(job_id: int, frame: str, seq: int) -> Event:
    return Event(EventName.COMPLETE, EventType.WORK, job_id=job_id, work_name=frame, seq=seq)


def leaves(node: Node) -> list[tuple[str, bool, int]]:
    if node.kind == "atom":
        return [(node.text, node.latched, node.latched_seq)]
    return [leaf for child in node.children for leaf in leaves(child)]


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_an_and_of_two_atoms_shows_the_latched_one_with_its_seq(rig: Rig) -> None:
    callback = rig.add("complete-job-A && complete-job-B")
    view = explain_callback(callback)
    assert view.root.kind == "and" and not view.root.latched
    assert leaves(view.root) == [("complete-job-A", False, 0), ("complete-job-B", False, 0)]

    rig.engine.observe(job_event(EventName.COMPLETE, 1, seq=41))
    view = explain_callback(callback)
    assert leaves(view.root) == [("complete-job-A", True, 41), ("complete-job-B", False, 0)]
    assert [node.text for node in view.awaited] == ["complete-job-B"]
    assert view.root.children[1].watches_job_id == 2
    assert (view.fired, view.satisfied) == (0, False)


def test_an_or_holds_as_soon_as_one_side_latches(rig: Rig) -> None:
    callback = rig.add("(complete-job-A && complete-job-B) || failed-job-C", max=0)
    rig.engine.observe(job_event(EventName.COMPLETE, 2, seq=7))
    view = explain_callback(callback)
    assert view.root.kind == "or" and not view.root.latched
    inner = view.root.children[0]
    assert inner.kind == "and" and inner.text == "complete-job-A && complete-job-B"
    assert [c.latched for c in inner.children] == [False, True]
    assert inner.children[1].latched_seq == 7
    assert view.root.offset == 1  # where the first atom starts, inside the parenthesis


def test_firing_resets_the_latches_and_their_seqs_and_max_makes_it_satisfied(rig: Rig) -> None:
    callback = rig.add("complete-job-A && complete-job-B", max=1)
    rig.engine.observe(job_event(EventName.COMPLETE, 1, seq=3))
    assert rig.engine.observe(job_event(EventName.COMPLETE, 2, seq=4))
    view = explain_callback(callback)
    assert (view.fired, view.satisfied) == (1, True)
    assert leaves(view.root) == [("complete-job-A", False, 0), ("complete-job-B", False, 0)]


def test_each_star_binding_is_explained_apart(rig: Rig) -> None:
    callback = rig.add("complete-job-A && complete-work-B-*")
    rig.engine.observe(frame_event(2, "3", seq=10))
    rig.engine.observe(frame_event(2, "1", seq=11))
    view = explain_callback(callback)
    # the whole-callback tree: the '*' atom is latched by some binding, the earliest shown
    assert leaves(view.root) == [("complete-job-A", False, 0), ("complete-work-B-*", True, 10)]
    assert [(b.binding, b.satisfied) for b in view.bindings] == [("1", False), ("3", False)]
    assert [(a.text, a.latched, a.latched_seq) for a in view.bindings[0].atoms] == [
        ("complete-job-A", False, 0),
        ("complete-work-B-*", True, 11),
    ]
    assert view.more_bindings == 0

    rig.engine.observe(frame_event(2, "2", seq=12))
    rig.engine.observe(job_event(EventName.COMPLETE, 1, seq=13))  # fires "1", "2" and "3"
    assert explain_callback(callback).bindings == ()


def test_bindings_are_bounded_and_in_natural_order(rig: Rig) -> None:
    callback = rig.add("complete-job-A && complete-work-C-*")
    names = [str(n) for n in range(1, 151)]
    for seq, name in enumerate(names, start=1):
        rig.engine.observe(frame_event(3, name, seq))
    view = explain_callback(callback)
    assert len(view.bindings) == MAX_BINDINGS
    assert view.more_bindings == 150 - MAX_BINDINGS
    assert [b.binding for b in view.bindings[:3]] == ["1", "2", "3"]
    assert view.bindings[9].binding == "10"


def test_catch_up_latches_show_the_seq_of_the_past_event(rig: Rig) -> None:
    callback = rig.add("complete-job-A && complete-job-B")
    history = [
        job_event(EventName.RUNNING, 1, seq=5),
        job_event(EventName.COMPLETE, 1, seq=9),
        job_event(EventName.COMPLETE, 1, seq=15),  # completed again after a retry
    ]
    assert rig.engine.catch_up(callback, history) == []
    assert leaves(explain_callback(callback).root)[0] == ("complete-job-A", True, 9)


def test_latch_seqs_survive_a_restart_through_the_stored_state(rig: Rig) -> None:
    callback = rig.add("complete-job-A && complete-work-B-*")
    rig.engine.observe(job_event(EventName.COMPLETE, 1, seq=20))
    rig.engine.observe(frame_event(2, "2", seq=21))  # fires binding "2"
    rig.engine.observe(frame_event(2, "3", seq=22))  # fires binding "3"
    state = callback.state()
    assert state["seqs"] == {"shared": {"0": 20}, "bound": {}}

    again = Rig()
    restored = again.add("complete-job-A && complete-work-B-*")
    restored.restore(state)
    assert leaves(explain_callback(restored).root)[0] == ("complete-job-A", True, 20)


def test_a_dependency_callback_is_marked_and_the_blocked_job_says_what_it_waits_for() -> None:
    world = standard_world()
    owner = world.jobs[4]
    owner.blocked = True
    owner.status = JobStatus.BLOCKED
    (dep,) = desugar_dependency("complete-job-A, complete-job-B").callbacks
    expr = parse_trigger(dep.callback.triggers)
    callback = Callback(
        7, 4, dep.callback, expr, resolve(expr, world.context(owner)), from_dependency=True
    )
    engine = TriggerEngine(lambda _job: {})
    engine.add(callback)
    engine.observe(job_event(EventName.COMPLETE, 2, seq=30))

    explanation = explain_job(owner, [callback])
    (view,) = explanation.callbacks
    assert view.from_dependency and view.code == "unblock-self"
    assert leaves(view.root) == [("complete-job-A", False, 0), ("complete-job-B", True, 30)]
    assert explanation.status_reason == (
        "blocked: waits for 1 of 2 trigger atoms of callback 7: complete-job-A"
    )
    assert explanation.routing_reasons == ()


def test_routing_reasons_when_no_host_matches_or_a_licence_is_used_up() -> None:
    job = new_job(frames_spec("1-2"), job_id=9)
    hosts = [Host("small", Resources(memory_mb=8000)), Host("tiny", Resources(memory_mb=4000))]
    needs_memory = parse_routing({"requirements": "host.memory>=64000"})
    explanation = explain_job(job, [], explain_wait(needs_memory, hosts))
    assert explanation.routing_reasons == (
        "all 2 hosts: requirements not met: host.memory >= 64000",
    )
    assert explanation.status_reason.startswith("pending: no host can ever run this job: ")

    licences = GlobalResources({"nuke": 1})
    assert licences.take("other-lease", {"nuke": 1}) is None
    needs_nuke = parse_routing({"reservations": "global.nuke=1"}, licences.limits)
    explanation = explain_job(job, [], explain_wait(needs_nuke, hosts, licences))
    assert explanation.routing_reasons == ("licence nuke 1/1 in use",)
    assert explanation.status_reason == "pending: waiting: licence nuke 1/1 in use"


def test_status_reasons_of_the_other_states() -> None:
    job = new_job(frames_spec("1-3"), job_id=5)
    assert explain_job(job, []).status_reason == "pending: 3 work items wait for a worker"
    job.suspended, job.status = True, JobStatus.SUSPENDED
    assert explain_job(job, []).status_reason.startswith("suspended: ")
    job.status = JobStatus.COMPLETE
    assert explain_job(job, []).status_reason == (
        "complete: the job is finished; nothing is awaited"
    )
