"""Qube's ``info-<state>-{...}`` dependency desugared into holds and callbacks (no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latchwork.server.core.states import WorkStatus
from latchwork.server.core.triggers.dependency import (
    Desugared,
    desugar_dependency,
    hold,
    read_dependency,
)
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import resolve
from latchwork.server.core.triggers.syntax import TriggerSyntaxError

from ..factories import frames_spec, new_job
from .world import standard_world

QUBE_EXAMPLE = 'info-complete-{"1":["540:3"], "*":["600:*"], "":["700"]}'


def summary(desugared: Desugared) -> list[tuple[str, str, str, frozenset[str]]]:
    return [
        (p.callback.triggers, p.callback.code, p.callback.work, p.skip_work)
        for p in desugared.callbacks
    ]


def test_qubes_example_one_callback_per_named_frame_and_one_for_the_rest() -> None:
    desugared = desugar_dependency(QUBE_EXAMPLE)
    assert (desugared.hold_job, desugared.hold_work, desugared.hold_frames) == (False, True, ())
    assert summary(desugared) == [
        # every frame but 1: its namesake in 600, and job 700
        ("complete-work-600-* && complete-job-700", "unblock-work-self", "", frozenset({"1"})),
        # frame 1: frame 3 of 540, and what every frame waits for, '*' read as 1
        (
            "complete-work-540-3 && complete-work-600-1 && complete-job-700",
            "unblock-work-self",
            "1",
            frozenset(),
        ),
    ]


def test_the_second_qube_example() -> None:
    text = 'info-complete-{"":["123","456"], "*":["345:*"], "10":["346:2","346:4"]}'
    assert summary(desugar_dependency(text)) == [
        (
            "complete-work-345-* && complete-job-123 && complete-job-456",
            "unblock-work-self",
            "",
            frozenset({"10"}),
        ),
        (
            "complete-work-346-2 && complete-work-346-4 && complete-work-345-10 && "
            "complete-job-123 && complete-job-456",
            "unblock-work-self",
            "10",
            frozenset(),
        ),
    ]


def test_without_star_entries_the_job_is_held_and_named_frames_held_again() -> None:
    desugared = desugar_dependency('info-done-{"":["A"], "2":["B:3", "C"]}')
    assert (desugared.hold_job, desugared.hold_work, desugared.hold_frames) == (True, False, ())
    assert summary(desugared) == [
        # releases the job; frame 2 is blocked again in the same step (skip_work)
        ("done-job-A", "unblock-self", "", frozenset({"2"})),
        ("done-work-B-3 && done-job-C && done-job-A", "unblock-work-self", "2", frozenset()),
    ]


def test_named_frames_alone_hold_only_themselves() -> None:
    desugared = desugar_dependency('info-complete-{"2": ["A:*"]}')
    assert (desugared.hold_job, desugared.hold_work, desugared.hold_frames) == (
        False,
        False,
        ("2",),
    )
    # "A:*" under a frame's key is the corresponding frame: frame 2 of A
    assert summary(desugared) == [("complete-work-A-2", "unblock-work-self", "2", frozenset())]
    job = new_job(frames_spec("1-3"), job_id=9, label="me", pgrp=1)
    hold(job, desugared)
    assert [w.status for w in job.work] == [
        WorkStatus.PENDING,
        WorkStatus.BLOCKED,
        WorkStatus.PENDING,
    ]


def test_star_entries_alone_are_a_frame_to_frame_link() -> None:
    assert summary(desugar_dependency('info-complete-{"*": ["A:*", "B"]}')) == [
        ("complete-work-A-* && complete-job-B", "unblock-work-self", "", frozenset())
    ]
    # only whole-job needs under '*' or "": the job waits
    desugared = desugar_dependency('info-killed-{"*": ["B", "C:4"], "": ["D"]}')
    assert (desugared.hold_job, desugared.hold_work) == (True, False)
    assert summary(desugared) == [
        ("killed-job-B && killed-work-C-4 && killed-job-D", "unblock-self", "", frozenset())
    ]


def test_info_mixes_with_the_other_forms_and_commas_inside_it_do_not_split() -> None:
    text = '12 , info-complete-{"*": ["A:*"], "3": ["B:1", "B:2"]}, link-done-job-C'
    assert summary(desugar_dependency(text)) == [
        (
            "complete-work-A-* && complete-job-12 && done-job-C",
            "unblock-work-self",
            "",
            frozenset({"3"}),
        ),
        (
            "complete-work-B-1 && complete-work-B-2 && complete-work-A-3 && complete-job-12 && "
            "done-job-C",
            "unblock-work-self",
            "3",
            frozenset(),
        ),
    ]


def test_origins_point_at_each_value_in_the_dependency() -> None:
    text = 'info-complete-{"1": ["A:3"], "*": ["nope:*"]}'
    desugared = desugar_dependency(text)
    star, frame_one = desugared.callbacks
    assert frame_one.work_origin == text.index('"1"')
    trigger = frame_one.callback.triggers
    assert frame_one.origin_of(trigger.index("nope")) == text.index('"nope:*"')
    assert frame_one.origin_of(0) == text.index('"A:3"')
    world = standard_world()
    with pytest.raises(TriggerSyntaxError) as caught:
        resolve(parse_trigger(star.callback.triggers), world.context(world.jobs[4]))
    assert star.origin_of(caught.value.offset) == text.index('"nope:*"')


@pytest.mark.parametrize(
    ("text", "at", "fragment"),
    [
        ("info-complete-{", "<end>", "expected a key"),
        ('info-complete-{"1": ["A"]', "<end>", "expected '}'"),
        ("info-complete-{}", "}", "empty dictionary"),
        ('info-complete-{"1": []}', "]", "an empty list"),
        ("info-complete-{'1': ['A']}", "'1'", "in double quotes"),
        ('info-complete-{"1" ["A"]}', '["A"]', "expected ':'"),
        ('info-complete-{"1": "A"}', '"A"', "expected '['"),
        ('info-complete-{"1": ["A"] "2": ["B"]}', '"2"', "expected '}' or ','"),
        ('info-complete-{"1": ["A:"]}', '"A:"', "is not JOB, JOB:* or JOB:FRAME"),
        ('info-complete-{"1": [":3"]}', '":3"', "is not JOB, JOB:* or JOB:FRAME"),
        ('info-complete-{"1": ["A B"]}', '"A B"', "is not JOB"),
        ('info-complete-{"1 2": ["A"]}', '"1 2"', "no blanks"),
        ('info-complete-{"1": ["A"], "1": ["B"]}', '"1": ["B"]', "appears twice"),
        ('info-complete-{"": ["A:*"]}', '"A:*"', "has no frame to correspond to"),
        ('info-complete-{"1": ["A"]} x', "x", "after the closing"),
        ('info-complete-{"1": ["A\\"]}', '"A\\', "backslashes"),
        ('info-started-{"1": ["A"]}', "info", "cannot read dependency"),
        ('1, info-complete-{"1": ["A"]}, info-done-{"1": ["B"]}', '"1": ["B"]', "two info"),
    ],
)
def test_malformed_info_dicts_say_where(text: str, at: str, fragment: str) -> None:
    with pytest.raises(TriggerSyntaxError) as caught:
        desugar_dependency(text)
    assert fragment in caught.value.message
    expected = len(text) if at == "<end>" else text.rindex(at)
    assert caught.value.offset == expected


def test_read_dependency_names_the_field_and_the_offset() -> None:
    desugared, errors = read_dependency('info-complete-{"1": ["A:"]}', "jobs[2]")
    assert desugared is None
    [error] = errors
    assert error.path == "jobs[2].dependency"
    assert "(offset 21)" in error.message and "the form is" in error.message


def test_frame_specific_entries_are_bounded() -> None:
    many = ", ".join(f'"{n}": ["A"]' for n in range(101))
    with pytest.raises(TriggerSyntaxError) as caught:
        desugar_dependency("info-complete-{" + many + "}")
    assert "at most 100 frame-specific entries" in caught.value.message


def test_desugared_info_triggers_resolve() -> None:
    world = standard_world()  # A (1, frames 1-3), B (2), C (3), comp (4, frames 1-3)
    desugared = desugar_dependency('info-complete-{"2": ["A:*", "C:x"], "*": ["B:*"], "": ["3"]}')
    owner = world.jobs[4]
    for part in desugared.callbacks:
        resolve(parse_trigger(part.callback.triggers), world.context(owner))


_PIECES = st.sampled_from(
    ["info-complete-", "{", "}", "[", "]", '"', ":", ",", " ", "*", "1", "A", "A:*", "\\", "x"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_any_text_desugars_or_says_where_inside_it(text: str) -> None:
    try:
        desugared = desugar_dependency(text)
    except TriggerSyntaxError as error:
        assert 0 <= error.offset <= len(text)
    else:
        assert desugared.callbacks
        assert all(part.callback.triggers for part in desugared.callbacks)
