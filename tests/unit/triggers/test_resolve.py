"""Resolving triggers against their owner: contexts, fail-fast errors, and Watch matching."""

from __future__ import annotations

import pytest

from latchwork.server.core.events import EventName, EventType
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import DONE_NAMES, VALID_NAMES, Watch, resolve
from latchwork.server.core.triggers.syntax import QUBE_EPOCH, Atom, TriggerSyntaxError

from ..factories import frames_spec, new_job
from .world import World, standard_world


@pytest.fixture
def world() -> World:
    return standard_world()


def watches(world: World, text: str, owner: int = 4, *, allow_global: bool = False) -> list[Watch]:
    return resolve(parse_trigger(text), world.context(world.jobs[owner], allow_global=allow_global))


def refused(world: World, text: str, owner: int = 4, **kwargs: bool) -> TriggerSyntaxError:
    with pytest.raises(TriggerSyntaxError) as caught:
        watches(world, text, owner, **kwargs)
    return caught.value


# --- contexts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "job_id"), [("self", 4), ("parent", 1), ("A", 1), ("B", 2), ("C", 3), ("2", 2)]
)
def test_contexts(world: World, context: str, job_id: int) -> None:
    [watch] = watches(world, f"complete-job-{context}")
    assert watch.job_id == job_id
    assert (watch.names, watch.type, watch.extra) == (
        frozenset({EventName.COMPLETE}),
        EventType.JOB,
        "",
    )
    assert watch.atom == Atom("complete", "job", context)


def test_one_watch_per_atom_in_order(world: World) -> None:
    found = watches(
        world, "(complete-job-A && failed-work-B-2) || done-subjob-self-* || complete-job-A"
    )
    assert [(w.job_id, w.type, w.extra) for w in found] == [
        (1, EventType.JOB, ""),
        (2, EventType.WORK, "2"),
        (4, EventType.SUBJOB, "*"),
        (1, EventType.JOB, ""),
    ]
    assert [w.wildcard for w in found] == [False, False, True, False]


def test_done_means_complete_failed_or_killed(world: World) -> None:
    assert frozenset({EventName.COMPLETE, EventName.FAILED, EventName.KILLED}) == DONE_NAMES
    for text in ("done-job-A", "done-work-A-*", "done-subjob-self-1", "done-tree-self"):
        [watch] = watches(world, text)
        assert watch.names == DONE_NAMES


def test_work_names_may_contain_dashes(world: World) -> None:
    [watch] = watches(world, "complete-work-C-1-200")
    assert (watch.job_id, watch.extra) == (3, "1-200")


def test_work_and_subjob_atoms_without_extra_watch_any(world: World) -> None:
    [work, subjob] = watches(world, "complete-work-A && running-subjob-self")
    assert (work.extra, subjob.extra) == ("", "")


def test_time_atoms_resolve_to_their_job(world: World) -> None:
    [time, repeat] = watches(world, "dummy-time-A-100 || dummy-repeat-self-100-60")
    assert (time.type, time.job_id, time.names) == (EventType.TIME, 1, frozenset({EventName.DUMMY}))
    assert (repeat.type, repeat.job_id) == (EventType.REPEAT, 4)
    assert repeat.atom.time == QUBE_EPOCH + 100
    assert repeat.atom.seconds == 60


def test_global_atoms_need_admin_rights(world: World) -> None:
    error = refused(world, "complete-job-self || globaltime-100")
    assert error.offset == 21
    assert "need admin rights" in error.message
    assert refused(world, "globalrepeat-100-60").offset == 0
    [time, repeat] = watches(world, "globaltime-100 && globalrepeat-5-60", allow_global=True)
    assert (time.type, time.job_id, time.names) == (
        EventType.GLOBALTIME,
        0,
        frozenset({EventName.DUMMY}),
    )
    assert (repeat.type, repeat.job_id) == (EventType.GLOBALREPEAT, 0)


# --- fail fast ----------------------------------------------------------------------------


def test_unknown_label(world: World) -> None:
    error = refused(world, "complete-job-self && complete-job-nope")
    assert error.offset == 34
    assert error.message == "no job labelled 'nope' in process group 1"


def test_label_lookup_is_case_sensitive(world: World) -> None:
    assert refused(world, "complete-job-a").offset == 13


def test_unknown_job_id(world: World) -> None:
    error = refused(world, "complete-work-99-1")
    assert (error.offset, error.message) == (14, "job 99 does not exist")


def test_parent_of_a_job_without_pid(world: World) -> None:
    error = refused(world, "complete-job-parent", owner=1)
    assert error.offset == 13
    assert "no parent" in error.message


def test_parent_that_does_not_exist() -> None:
    world = World()
    orphan = world.add(new_job(frames_spec(pid=77), job_id=5, label="orphan"))
    error = refused(world, "done-tree-parent", owner=orphan.id)
    assert (error.offset, error.message) == (10, "parent job 77 does not exist")


@pytest.mark.parametrize(
    ("text", "offset", "never"),
    [
        ("blocked-subjob-self", 0, "'blocked' never happens to a subjob"),
        ("complete-job-A && submit-work-A-1", 18, "'submit' never happens to a work"),
        ("dummy-job-self", 0, "'dummy' never happens to a job"),
        ("running-tree-self", 0, "'running' never happens to a tree"),
        ("complete-time-self-100", 0, "'complete' never happens to a time"),
        ("assigned-job-self", 0, "'assigned' never happens to a job"),
    ],
)
def test_names_that_never_happen_to_the_type(
    world: World, text: str, offset: int, never: str
) -> None:
    error = refused(world, text)
    assert (error.offset, error.message) == (offset, never)
    type_ = never.rsplit(" ", 1)[1]
    assert error.hint == f"{type_} events are: {', '.join(sorted(VALID_NAMES[type_]))}"


def test_host_atoms_watch_a_host_or_any_with_no_job(world: World) -> None:
    found = watches(world, "down-host-* || up-host-node-7.farm || locked-host-self-n1")
    assert [(w.names, w.type, w.job_id, w.extra) for w in found] == [
        (frozenset({EventName.DOWN}), EventType.HOST, 0, "*"),
        (frozenset({EventName.UP}), EventType.HOST, 0, "node-7.farm"),
        (frozenset({EventName.LOCKED}), EventType.HOST, 0, "n1"),
    ]
    assert found[0].matches_extra("", -1, "n9") == "n9"
    assert found[1].matches_extra("", -1, "n9") is None
    assert found[1].matches_extra("", -1, "node-7.farm") == ""


def test_host_atoms_take_host_names_only(world: World) -> None:
    error = refused(world, "complete-job-A || complete-host-self-node1")
    assert (error.offset, error.message) == (18, "'complete' never happens to a host")
    assert error.hint == "host events are: down, locked, unlocked, up"
    bad = refused(world, "down-host-no/de")
    assert (bad.offset, bad.message) == (10, "'no/de' is not a host name")


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("complete-job-self-5", 17),
        ("complete-tree-A-x", 15),
        ("complete-job-A && done-tree-parent-*", 34),
    ],
)
def test_job_and_tree_atoms_take_no_extra(world: World, text: str, offset: int) -> None:
    error = refused(world, text)
    assert error.offset == offset
    assert "takes no extra part" in error.message


def test_unknown_work_name(world: World) -> None:
    error = refused(world, "complete-work-A-4")
    assert (error.offset, error.message) == (16, "job 1 (A) has no work item '4'")
    assert refused(world, "complete-work-C-1-20").offset == 16
    assert refused(world, "complete-work-self-x").offset == 19  # 'x' is C's, not comp's


@pytest.mark.parametrize(("extra", "ok"), [("0", True), ("1", True), ("2", False), ("x", False)])
def test_subjob_ids_are_checked(world: World, extra: str, ok: bool) -> None:
    text = f"done-subjob-self-{extra}"  # comp has 2 instances: 0 and 1
    if ok:
        assert watches(world, text)[0].extra == extra
    else:
        error = refused(world, text)
        assert (error.offset, error.message) == (17, f"job 4 has subjobs 0 to 1, not '{extra}'")


def test_the_first_problem_is_reported(world: World) -> None:
    assert refused(world, "complete-job-nope || blocked-subjob-self").offset == 13


@pytest.mark.parametrize("text", ["complete-job-\u00b2", "done-subjob-self-\u00b2"])
def test_non_ascii_digits_are_refused_as_syntax_errors(world: World, text: str) -> None:
    refused(world, text)


# --- Watch.matches_extra ------------------------------------------------------------------


def test_matches_extra_for_work(world: World) -> None:
    [star, named, any_] = watches(world, "complete-work-A-* && complete-work-A-2 && done-work-A")
    assert star.matches_extra("3", -1) == "3"
    assert named.matches_extra("2", 0) == ""
    assert named.matches_extra("3", 0) is None
    assert named.matches_extra("22", 0) is None
    assert any_.matches_extra("3", 0) == ""


def test_matches_extra_for_subjobs(world: World) -> None:
    [star, named, any_] = watches(
        world, "done-subjob-self-* && done-subjob-self-1 && done-subjob-self"
    )
    assert star.matches_extra("", 1) == "1"
    assert named.matches_extra("", 1) == ""
    assert named.matches_extra("1", 0) is None  # the work name is not the subjob
    assert any_.matches_extra("", 0) == ""


def test_matches_extra_for_jobs(world: World) -> None:
    [job] = watches(world, "complete-job-A")
    assert job.matches_extra("3", 2) == ""
