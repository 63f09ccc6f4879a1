"""Qube's ``dependency`` attribute desugared into holds and a callback."""

from __future__ import annotations

import pytest

from latchwork.server.core.triggers.dependency import desugar_dependency
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import resolve
from latchwork.server.core.triggers.syntax import TriggerSyntaxError

from .world import standard_world


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("12", "complete-job-12"),
        ("complete-job-7", "complete-job-7"),
        ("complete-job-A", "complete-job-A"),
        ("link-complete-job-A", "complete-job-A"),
        ("link-done-job-3", "done-job-3"),
        ("link-failed-job-A", "failed-job-A"),
        ("link-killed-job-A", "killed-job-A"),
        ("12, complete-job-7,link-complete-job-A", "complete-job-12 && complete-job-7 && "
         "complete-job-A"),
    ],
)  # fmt: skip
def test_job_links_hold_the_job(text: str, trigger: str) -> None:
    desugared = desugar_dependency(text)
    assert (desugared.hold_job, desugared.hold_work) == (True, False)
    [part] = desugared.callbacks
    spec = part.callback
    assert (spec.triggers, spec.language, spec.code) == (trigger, "qube", "unblock-self")
    assert (spec.max, spec.catch_up) == (0, True)


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("link-complete-work-A", "complete-work-A-*"),
        ("link-done-work-B", "done-work-B-*"),
        ("link-failed-work-2", "failed-work-2-*"),
        ("link-complete-work-A, link-done-work-B", "complete-work-A-* && done-work-B-*"),
    ],
)
def test_work_links_hold_the_work(text: str, trigger: str) -> None:
    desugared = desugar_dependency(text)
    assert (desugared.hold_job, desugared.hold_work) == (False, True)
    [part] = desugared.callbacks
    assert part.callback.triggers == trigger
    assert part.callback.code == "unblock-work-self"


def test_a_mix_folds_the_job_links_into_the_frame_to_frame_trigger() -> None:
    desugared = desugar_dependency("12, link-complete-work-A , link-done-job-B")
    assert (desugared.hold_job, desugared.hold_work) == (False, True)
    [part] = desugared.callbacks
    assert part.callback.triggers == "complete-work-A-* && complete-job-12 && done-job-B"
    assert part.callback.code == "unblock-work-self"
    # generated atom offsets -> where each entry starts in the dependency text
    assert part.origins == ((0, 4), (21, 0), (40, 27))


def test_desugared_triggers_parse_and_resolve() -> None:
    world = standard_world()
    [part] = desugar_dependency("1, link-done-work-B, link-complete-job-C").callbacks
    expr = parse_trigger(part.callback.triggers)
    watches = resolve(expr, world.context(world.jobs[4]))
    assert [(w.job_id, w.type.value, w.extra) for w in watches] == [
        (2, "work", "*"),
        (1, "job", ""),
        (3, "job", ""),
    ]


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("", 0, "empty entry"),
        ("12,  ", 5, "empty entry"),  # a blank entry: offset after its blanks
        ("12,", 3, "empty entry"),
        ("12,,7", 3, "empty entry"),
        ("12, link-done-subjob-A", 4, "subjob links are not supported"),
        ("12,   foo", 6, "cannot read dependency 'foo'"),
        ("link-finished-job-A", 0, "cannot read dependency"),
        ("link-complete-host-A", 0, "cannot read dependency"),
        ("link-complete-job-", 0, "cannot read dependency"),
        ("12 13", 0, "cannot read dependency '12 13'"),
    ],
)
def test_bad_entries(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(TriggerSyntaxError) as caught:
        desugar_dependency(text)
    assert caught.value.offset == offset
    assert fragment in caught.value.message


def test_origin_of_maps_trigger_offsets_back_to_entries() -> None:
    [desugared] = desugar_dependency("12, link-complete-job-nope").callbacks
    trigger = desugared.callback.triggers
    assert trigger == "complete-job-12 && complete-job-nope"
    nope = trigger.index("nope")
    assert desugared.origin_of(nope) == 4  # the resolve error points into the second entry
    assert desugared.origin_of(0) == 0
    assert desugared.origin_of(13) == 0
    assert desugared.origin_of(18) == 0  # the ' && ' between belongs to the first entry
    assert desugared.origin_of(19) == 4
    assert desugared.origin_of(len(trigger) + 10) == 4


def test_origin_of_an_error_found_by_resolve() -> None:
    world = standard_world()
    text = "link-complete-work-A, 2 ,  link-done-job-missing"
    [desugared] = desugar_dependency(text).callbacks
    with pytest.raises(TriggerSyntaxError) as caught:
        resolve(parse_trigger(desugared.callback.triggers), world.context(world.jobs[4]))
    assert desugared.origin_of(caught.value.offset) == text.index("link-done-job-missing")


def test_non_ascii_digits_are_not_a_job_id() -> None:
    with pytest.raises(TriggerSyntaxError):
        desugar_dependency("\u00b2")
