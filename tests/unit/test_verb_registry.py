"""One table of verbs, everything else derived (issue 11, item 3).

``latchwork.sandbox.actions.VERBS`` says which verb applies to a job, a work item or a subjob
and how qube and ``qb`` spell it; ``latchwork.server.core.actions.TRANSITIONS`` says which
transition carries each verb out. These tests pin that every surface (the wire check, the qube
commands, the ``qb`` functions, the server's dispatch, the operator's actions) accepts exactly
what the table says: a verb added to the table without a transition or a spelling fails here,
and nothing outside the table is accepted anywhere.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from latchwork.sandbox.actions import VERBS, CallbackAction, Scope, Verb, verbs_for
from latchwork.sandbox.python.api import QB_FUNCTIONS, QB_METHODS, Qb, recorded_actions
from latchwork.sandbox.python.policy import NOT_FOUND
from latchwork.sandbox.python.protocol import (
    ProtocolError,
    action_from_wire,
    action_to_wire,
    check_action,
)
from latchwork.sandbox.qube import COMMANDS, QubeCodeError, parse_qube
from latchwork.server import callbacks
from latchwork.server.core import actions as core_actions
from latchwork.server.core.actions import NO_TRANSITION, TRANSITIONS
from latchwork.server.core.changes import Changes
from latchwork.server.core.model import Job

from .factories import new_job, start

PAIRS = list(itertools.product(Verb, Scope))
TABLE = {(verb, scope) for verb, spec in VERBS.items() for scope in spec.scopes}


QB_ONLY = frozenset({Verb.SUBMIT})
"""Verbs with no qube spelling: a qube command cannot carry the job dicts qb.submit takes."""
SUBMISSION = '{"jobs":[{"name":"x","package":{"cmdline":"true"}}],"pgrp":0}'


def _action(verb: Verb, scope: Scope, job_id: int = 1) -> CallbackAction:
    """A well-formed action of ``verb`` on ``scope``, whether or not the verb applies there."""
    if verb is Verb.SUBMIT and scope is Scope.JOB:
        return CallbackAction(verb, scope, job_id, text=SUBMISSION)
    if scope is Scope.WORK:
        return CallbackAction(verb, scope, job_id, work_name="1")
    if scope is Scope.SUBJOB:
        return CallbackAction(verb, scope, job_id, subjob_id=0)
    return CallbackAction(verb, scope, job_id)


# --- the table itself -------------------------------------------------------------------------


def test_every_verb_is_in_the_table_and_applies_somewhere() -> None:
    assert set(VERBS) == set(Verb)
    assert all(spec.scopes for spec in VERBS.values())
    for scope in Scope:
        assert verbs_for(scope) == {verb for verb, s in TABLE if s is scope}


def test_every_verb_and_scope_has_a_qube_spelling_and_a_qb_function_where_it_should() -> None:
    for verb, spec in VERBS.items():
        for scope, spelling in spec.spellings().items():
            assert bool(spelling.qube) != (verb in QB_ONLY), (verb, scope)
            if scope is Scope.SUBJOB:
                # qb has no subjob functions: the job functions take "12.3".
                assert not spelling.qb, verb
                assert spec.job is not None and spec.job.qb, verb
            else:
                assert spelling.qb, (verb, scope)


def test_no_spelling_means_two_things() -> None:
    qube = Counter(c for s in VERBS.values() for sp in s.spellings().values() for c in sp.qube)
    qb = Counter(n for s in VERBS.values() for sp in s.spellings().values() for n in sp.qb)
    assert [c for c, n in qube.items() if n > 1] == []
    assert [c for c, n in qb.items() if n > 1] == []


# --- the server: a transition for each verb and scope, none for anything else -----------------


def test_every_verb_has_a_transition_for_each_of_its_scopes() -> None:
    assert set(TRANSITIONS) | NO_TRANSITION == {verb.value for verb in Verb}
    assert not set(TRANSITIONS) & NO_TRANSITION
    for verb, spec in VERBS.items():
        if verb.value in NO_TRANSITION:
            continue
        carriers = TRANSITIONS[verb.value]
        # A job action needs a job transition; a work or subjob action a work transition.
        assert (carriers.job is not None) == (Scope.JOB in spec.scopes), verb
        wants_work = bool(spec.scopes & {Scope.WORK, Scope.SUBJOB})
        assert (carriers.work is not None) == wants_work, verb


def test_the_callback_dispatch_is_derived_from_both_tables() -> None:
    job_verbs = {v for v in verbs_for(Scope.JOB) if v.value not in NO_TRANSITION}
    assert set(callbacks._JOB_VERBS) == job_verbs  # noqa: SLF001
    assert set(callbacks._WORK_VERBS) == verbs_for(Scope.WORK) | verbs_for(Scope.SUBJOB)  # noqa: SLF001
    for verb, transition in callbacks._JOB_VERBS.items():  # noqa: SLF001
        assert transition is TRANSITIONS[verb.value].job
    for verb, work_transition in callbacks._WORK_VERBS.items():  # noqa: SLF001
        assert work_transition is TRANSITIONS[verb.value].work


def test_the_operator_actions_use_the_same_transitions() -> None:
    assert {action.value for action in core_actions.OperatorAction} <= {verb.value for verb in Verb}
    for action, transition in core_actions.JOB_ACTIONS.items():
        assert transition is TRANSITIONS[action.value].job
    assert set(core_actions.WORK_ACTIONS) == {
        a for a in core_actions.OperatorAction if TRANSITIONS[a.value].work is not None
    }
    for action, work_transition in core_actions.WORK_ACTIONS.items():
        assert work_transition is TRANSITIONS[action.value].work


def _running_job() -> tuple[Job, int]:
    job = new_job()
    work = start(Changes(now=1.0), job, "1", "lease-1")
    return job, work.subjob_id


@pytest.mark.parametrize(("verb", "scope"), sorted(TABLE))
def test_the_server_applies_every_action_of_the_table(verb: Verb, scope: Scope) -> None:
    job, subjob_id = _running_job()
    action = _action(verb, scope)
    if scope is Scope.SUBJOB:
        action = CallbackAction(verb, scope, 1, subjob_id=subjob_id)
    callbacks.check_actions([action], job, lambda _: job)
    report = callbacks.apply_actions(Changes(now=2.0), [action], lambda _: job, "test")
    # Mail is sent before the actions apply, jobs submitted after (test_callback_submit.py).
    assert len(report) == (0 if verb in (Verb.MAIL, Verb.SUBMIT) else 1)


@pytest.mark.parametrize(
    ("verb", "scope"),
    sorted(p for p in PAIRS if p not in TABLE and p[1] is not Scope.JOB),
)
def test_the_server_refuses_work_and_subjob_actions_outside_the_table(
    verb: Verb, scope: Scope
) -> None:
    job = new_job()
    with pytest.raises(callbacks.ActionRefused, match=f"{verb.value} does not apply to a"):
        callbacks.check_actions([_action(verb, scope)], job, lambda _: job)


# --- the wire: the worker may send exactly the table's actions --------------------------------


@pytest.mark.parametrize(("verb", "scope"), PAIRS)
def test_the_wire_accepts_exactly_the_table(verb: Verb, scope: Scope) -> None:
    action = _action(verb, scope)
    if (verb, scope) in TABLE:
        assert check_action(action) is None
        assert action_from_wire(action_to_wire(action)) == action
    else:
        assert check_action(action) == f"{verb.value} does not apply to a {_noun(scope)}"
        with pytest.raises(ProtocolError, match="does not apply to"):
            action_from_wire(action_to_wire(action))


def _noun(scope: Scope) -> str:
    return "work item" if scope is Scope.WORK else scope.value


@pytest.mark.parametrize(("verb", "scope"), [("frobnicate", "job"), ("kill", "host")])
def test_the_wire_refuses_a_verb_or_scope_outside_the_table(verb: str, scope: str) -> None:
    wire = {"verb": verb, "scope": scope, "job_id": 1, "work_name": "", "subjob_id": -1}
    with pytest.raises(ProtocolError, match="unknown verb or scope"):
        action_from_wire({**wire, "text": ""})


# --- qube: exactly the table's commands ---------------------------------------------------------


def test_the_qube_commands_are_the_table_spellings() -> None:
    expected = {
        command: (verb, scope)
        for verb, spec in VERBS.items()
        for scope, spelling in spec.spellings().items()
        for command in spelling.qube
    }
    assert dict(COMMANDS) == expected
    for command, meaning in expected.items():
        [parsed] = parse_qube(command)
        assert (parsed.verb, parsed.scope) == meaning


@pytest.mark.parametrize(
    "command",
    ["requeue-self", "complete-self", "suspend-work-self", "mail-work-self", "block-subjob-self"],
)
def test_a_qube_command_outside_the_table_is_refused(command: str) -> None:
    with pytest.raises(QubeCodeError, match=f"unknown qube command {command!r}"):
        parse_qube(command)


# --- qb: exactly the table's functions ----------------------------------------------------------


def _qb() -> Qb:
    return Qb(1, {"id": 1}, {})


def test_the_qb_functions_are_the_table_spellings() -> None:
    names = {n for s in VERBS.values() for sp in s.spellings().values() for n in sp.qb}
    assert names == QB_FUNCTIONS
    assert {"jobid", "jobinfo"} | names == QB_METHODS
    qb = _qb()
    for name in QB_METHODS:
        assert callable(qb._sandbox_lookup_(name)), name


@pytest.mark.parametrize("name", ["complete", "worksuspend", "workmail", "workinterrupt", "_add"])
def test_a_qb_function_outside_the_table_is_not_found(name: str) -> None:
    assert _qb()._sandbox_lookup_(name) is NOT_FOUND


@pytest.mark.parametrize(
    ("name", "verb", "scope"),
    sorted(
        (name, verb, scope)
        for verb, spec in VERBS.items()
        for scope, spelling in spec.spellings().items()
        for name in spelling.qb
    ),
)
def test_each_qb_function_records_its_verb(name: str, verb: Verb, scope: Scope) -> None:
    qb = _qb()
    function = qb._sandbox_lookup_(name)
    if verb is Verb.MAIL:
        function("")
        assert recorded_actions(qb) == [CallbackAction(Verb.MAIL, Scope.JOB, 1)]
        return
    if verb is Verb.SUBMIT:
        assert function({"name": "x", "package": {"cmdline": "true"}}) is None
        assert recorded_actions(qb) == [_action(Verb.SUBMIT, Scope.JOB)]
        return
    if scope is Scope.WORK:
        function("1:frame")
        assert recorded_actions(qb) == [CallbackAction(verb, Scope.WORK, 1, work_name="frame")]
        return
    function(1)
    assert recorded_actions(qb) == [CallbackAction(verb, Scope.JOB, 1)]
    if Scope.SUBJOB in VERBS[verb].scopes:
        function("1.2")
        assert recorded_actions(qb)[-1] == CallbackAction(verb, Scope.SUBJOB, 1, subjob_id=2)
    else:
        with pytest.raises(ValueError, match=f"qb.{name}\\(\\) acts on jobs, not on subjob"):
            function("1.2")
