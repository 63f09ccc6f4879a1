"""The qube callback language: parsing code strings and turning them into actions."""

from __future__ import annotations

import pytest

from latchwork.sandbox.actions import CallbackAction, Scope, Verb
from latchwork.sandbox.qube import COMMANDS, QubeCodeError, QubeCommand, parse_qube, qube_actions

DESIGN_COMMANDS = [
    "unblock-self", "block-self", "fail-self", "kill-self", "suspend-self", "resume-self",
    "interrupt-self", "migrate-self", "preempt-self", "unblock-work-self", "block-work-self",
    "kill-work-self", "retry-work-self", "requeue-work-self", "complete-work-self",
    "fail-work-self", "mail-status", "kill-subjob-self", "retry-subjob-self",
    "requeue-subjob-self",
]  # fmt: skip


def test_every_command_of_the_design_exists() -> None:
    assert set(DESIGN_COMMANDS) <= set(COMMANDS)
    for text in COMMANDS:
        [command] = parse_qube(text)
        assert (command.text, command.offset) == (text, 0)
        assert (command.verb, command.scope) == COMMANDS[text]


@pytest.mark.parametrize(
    ("text", "verb", "scope"),
    [
        ("unblock-self", Verb.UNBLOCK, Scope.JOB),
        ("interrupt-self", Verb.REQUEUE, Scope.JOB),
        ("migrate-self", Verb.REQUEUE, Scope.JOB),
        ("preempt-self", Verb.REQUEUE, Scope.JOB),
        ("unblock-work-self", Verb.UNBLOCK, Scope.WORK),
        ("complete-work-self", Verb.COMPLETE, Scope.WORK),
        ("retry-subjob-self", Verb.RETRY, Scope.SUBJOB),
        ("mail-status", Verb.MAIL, Scope.JOB),
    ],
)
def test_command_meanings(text: str, verb: Verb, scope: Scope) -> None:
    assert parse_qube(text) == [QubeCommand(text, verb, scope, 0)]


def test_newline_and_semicolon_separated_with_offsets() -> None:
    code = "unblock-self\n  retry-work-self;kill-subjob-self ;  suspend-self\n"
    commands = parse_qube(code)
    assert [(c.text, c.offset) for c in commands] == [
        ("unblock-self", 0),
        ("retry-work-self", 15),
        ("kill-subjob-self", 31),
        ("suspend-self", 51),
    ]
    for command in commands:
        assert code[command.offset :].startswith(command.text)


def test_comments_and_blank_lines_are_skipped() -> None:
    code = "# release the job\n\nunblock-self ; # and nothing else\r\n"
    assert [(c.text, c.offset) for c in parse_qube(code)] == [("unblock-self", 19)]


def test_windows_line_endings() -> None:
    assert [c.text for c in parse_qube("unblock-self\r\nresume-self\r\n")] == [
        "unblock-self",
        "resume-self",
    ]


def test_unknown_command_with_suggestion_and_offset() -> None:
    with pytest.raises(QubeCodeError) as caught:
        parse_qube("unblock-self\n  unblok-self")
    error = caught.value
    assert error.offset == 15
    assert error.message == "unknown qube command 'unblok-self'; did you mean 'unblock-self'?"
    assert str(error) == f"{error.message} at 15"


def test_unknown_command_without_a_close_match() -> None:
    with pytest.raises(QubeCodeError) as caught:
        parse_qube("unblock-self; frobnicate")
    assert caught.value.offset == 14
    assert caught.value.message == "unknown qube command 'frobnicate'"


def test_commands_are_case_sensitive() -> None:
    with pytest.raises(QubeCodeError) as caught:
        parse_qube("Unblock-Self")
    assert "did you mean" in caught.value.message


@pytest.mark.parametrize("code", ["", "   ", "\n;\n", "# only a comment", ";;  # x\n"])
def test_code_without_a_command(code: str) -> None:
    with pytest.raises(QubeCodeError) as caught:
        parse_qube(code)
    assert caught.value.offset == 0
    assert "no command" in caught.value.message


def test_qube_code_error_is_a_value_error() -> None:
    assert issubclass(QubeCodeError, ValueError)


# --- actions -------------------------------------------------------------------------------


def test_actions_aim_at_the_owner_and_the_bound_work_or_subjob() -> None:
    commands = parse_qube(
        "unblock-work-self; unblock-self; kill-subjob-self; mail-status; fail-work-self"
    )
    assert qube_actions(commands, 7, "0042", 1) == [
        CallbackAction(Verb.UNBLOCK, Scope.WORK, 7, work_name="0042"),
        CallbackAction(Verb.UNBLOCK, Scope.JOB, 7),
        CallbackAction(Verb.KILL, Scope.SUBJOB, 7, subjob_id=1),
        CallbackAction(Verb.MAIL, Scope.JOB, 7),
        CallbackAction(Verb.FAIL, Scope.WORK, 7, work_name="0042"),
    ]


def test_job_actions_carry_no_work_or_subjob() -> None:
    [action] = qube_actions(parse_qube("block-self"), 3, "5", 2)
    assert (action.work_name, action.subjob_id) == ("", -1)


def test_action_descriptions() -> None:
    assert CallbackAction(Verb.UNBLOCK, Scope.JOB, 7).describe() == "unblock job 7"
    assert (
        CallbackAction(Verb.RETRY, Scope.WORK, 7, work_name="1-2").describe() == "retry work 7:1-2"
    )
    assert CallbackAction(Verb.KILL, Scope.SUBJOB, 7, subjob_id=0).describe() == "kill subjob 7/0"
