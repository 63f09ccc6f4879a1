"""The API callback code sees: qb (Qube-compatible), event, job, tree."""

from __future__ import annotations

from typing import Any

import pytest

from latchwork.sandbox.actions import CallbackAction, Scope, Verb
from latchwork.sandbox.python.api import Qb, Record, recorded_actions
from latchwork.sandbox.python.pool import check_python
from latchwork.sandbox.python.protocol import (
    MAX_ACTIONS,
    ProtocolError,
    action_from_wire,
    action_to_wire,
)

from .calls import OWNER, PGRP, make_call, owner_job, run_inline


def actions_of(code: str, **changes: Any) -> list[CallbackAction]:
    reply = run_inline(code, **changes)
    assert reply["error"] == "", reply
    return [action_from_wire(item) for item in reply["actions"]]


def error_of(code: str) -> str:
    reply = run_inline(code)
    assert reply["actions"] == []
    return str(reply["error"])


def test_jobid_and_the_job_and_event_records() -> None:
    reply = run_inline(
        "print(qb.jobid(), job.id, job['label'], job.data.shot, job.data['odd key'])\n"
        "print(event.name, event.binding, event['work_name'], event.get('nope', '-'))\n"
        "print([w.name for w in job.work], job.work[1]['status'], len(job.data),"
        " 'shot' in job.data)\n"
        "print(sorted(job.data), job.data.keys(), dict(job.env), tree)\n"
    )
    assert reply["error"] == ""
    assert reply["output"].splitlines() == [
        f"{OWNER} {OWNER} render sh010 1",
        "complete 2 2 -",
        "['1', '2', '3'] running 3 True",
        "['frames', 'odd key', 'shot'] ['shot', 'frames', 'odd key'] {'RENDERER': 'arnold'} None",
    ]


def test_records_are_read_only() -> None:
    for code in (
        "job.status = 'x'",
        "job.data['shot'] = 'x'",
        "del job.data['shot']",
        "event.name = 'x'",
        "job.work[0].name = 'x'",
        "qb.jobid = None",
        "del qb.unblock",
    ):
        assert error_of(code).startswith("TypeError: cannot change"), code
    record = Record({"a": {"b": [1, {"c": 2}]}}, "job")
    with pytest.raises(TypeError, match="read-only"):
        record.a = 1
    assert record.a.b[1].c == 2
    assert isinstance(record.a.b, tuple)
    assert record == {"a": {"b": [1, {"c": 2}]}}


def test_tree_is_a_tuple_of_records() -> None:
    tree = [{"id": OWNER, "data": {"qc": "ok"}}, {"id": 13, "data": {"qc": "bad"}}]
    reply = run_inline("print([(t.id, t.data.qc) for t in tree])", tree=tree)
    assert reply["output"] == "[(12, 'ok'), (13, 'bad')]\n"


def test_jobinfo_forms() -> None:
    reply = run_inline(
        "print([j['id'] for j in qb.jobinfo('-id', 11)])\n"
        f"print([j['id'] for j in qb.jobinfo('-pgrp', {PGRP}, '-agenda')])\n"
        "print([j['id'] for j in qb.jobinfo(id=[11, '99'])])\n"
        f"print([j['id'] for j in qb.jobinfo(pgrp={PGRP}, status='blocked')])\n"
        "print(len(qb.jobinfo()), qb.jobinfo(id=404))\n"
        "me = qb.jobinfo(id=qb.jobid())[0]\n"
        "me['status'] = 'changed'\n"
        "print(me['agenda'][0]['name'], job.status, qb.jobinfo(id=qb.jobid())[0]['status'])\n"
    )
    assert reply["error"] == "", reply
    assert reply["output"].splitlines() == [
        "[11]",
        f"[{PGRP}, 11, {OWNER}]",
        "[11, 99]",
        "[11]",
        "4 []",
        "1 running running",
    ]
    assert "unknown argument" in error_of("qb.jobinfo('-bogus')")
    assert "needs a value" in error_of("qb.jobinfo('-id')")
    assert "unknown keyword" in error_of("qb.jobinfo(evil=1)")


def test_job_commands() -> None:
    actions = actions_of(
        "qb.unblock(11)\nqb.block([11, '99'])\nqb.kill('11.3')\nqb.retry(qb.jobinfo(id=11))\n"
        "qb.suspend(job)\nqb.resume(11)\nqb.remove(99)\nqb.fail(11)\nqb.interrupt('11.0')\n"
        "qb.unblock([])"
    )
    assert actions == [
        CallbackAction(Verb.UNBLOCK, Scope.JOB, 11),
        CallbackAction(Verb.BLOCK, Scope.JOB, 11),
        CallbackAction(Verb.BLOCK, Scope.JOB, 99),
        CallbackAction(Verb.KILL, Scope.SUBJOB, 11, subjob_id=3),
        CallbackAction(Verb.RETRY, Scope.JOB, 11),
        CallbackAction(Verb.SUSPEND, Scope.JOB, OWNER),
        CallbackAction(Verb.RESUME, Scope.JOB, 11),
        CallbackAction(Verb.REMOVE, Scope.JOB, 99),
        CallbackAction(Verb.FAIL, Scope.JOB, 11),
        CallbackAction(Verb.REQUEUE, Scope.SUBJOB, 11, subjob_id=0),
    ]


def test_work_commands_and_mail() -> None:
    actions = actions_of(
        "qb.workunblock('%d:%s' % (qb.jobid(), event.binding))\n"
        "qb.workblock(['11:1', '11:2'])\nqb.workkill((11, 'a-b:c'))\nqb.workretry('11:x')\n"
        "qb.workcomplete('11:3')\nqb.workfail('11:4')\nqb.workrequeue('11:5')\nqb.mail('done')"
    )
    assert actions == [
        CallbackAction(Verb.UNBLOCK, Scope.WORK, OWNER, work_name="2"),
        CallbackAction(Verb.BLOCK, Scope.WORK, 11, work_name="1"),
        CallbackAction(Verb.BLOCK, Scope.WORK, 11, work_name="2"),
        CallbackAction(Verb.KILL, Scope.WORK, 11, work_name="a-b:c"),
        CallbackAction(Verb.RETRY, Scope.WORK, 11, work_name="x"),
        CallbackAction(Verb.COMPLETE, Scope.WORK, 11, work_name="3"),
        CallbackAction(Verb.FAIL, Scope.WORK, 11, work_name="4"),
        CallbackAction(Verb.REQUEUE, Scope.WORK, 11, work_name="5"),
        CallbackAction(Verb.MAIL, Scope.JOB, OWNER, text="done"),
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("qb.unblock(True)", "TypeError"),
        ("qb.unblock(0)", "out of range"),
        ("qb.unblock(-3)", "out of range"),
        ("qb.unblock(2**64)", "out of range"),
        ("qb.unblock('12; rm -rf /')", "TypeError"),
        ("qb.unblock(1.0)", "TypeError"),
        ("qb.unblock(event)", "TypeError"),
        ("qb.unblock([[1]])", "TypeError"),
        ("qb.block('11.2')", "acts on jobs, not on subjob"),
        ("qb.workunblock('11')", "TypeError"),
        ("qb.workunblock('11:a b')", "invalid work name"),
        ("qb.workunblock('11:' + 'x' * 300)", "invalid work name"),
        ("qb.workunblock(('11', 'x'))", "TypeError"),
        ("qb.workunblock(11)", "TypeError"),
        ("qb.mail(1)", "TypeError"),
        ("qb.mail('x' * 20000)", "at most"),
        (f"for i in range({MAX_ACTIONS + 1}): qb.unblock(1)", "at most 1000 actions"),
        ("qb.unblock(1)\nraise ValueError('after an action')", "after an action"),
    ],
)
def test_bad_arguments_raise_and_nothing_is_applied(code: str, expected: str) -> None:
    assert expected in error_of(code)


def test_qb_exposes_only_its_commands() -> None:
    assert check_python("qb._actions") is not None
    for code, expected in (
        ("getattr(qb, '_actions')", "AttributeError: qb has no attribute '_actions'"),
        ("getattr(qb, 'recorded')", "AttributeError: qb has no attribute 'recorded'"),
        ("getattr(qb.unblock, '__func__')", "AttributeError: 'method' object has no attribute"),
        ("list(qb)", "TypeError: 'Qb' object is not iterable"),
        ("for x in qb: pass", "TypeError: qb is not iterable"),
        ("qb['x']", "TypeError: qb is not subscriptable"),
    ):
        assert error_of(code).startswith(expected), code


def test_wire_format_round_trips_and_is_strict() -> None:
    action = CallbackAction(Verb.UNBLOCK, Scope.WORK, 5, work_name="f1")
    assert action_from_wire(action_to_wire(action)) == action
    good = action_to_wire(action)
    for bad in (
        {**good, "job_id": True},
        {**good, "job_id": "5"},
        {**good, "job_id": 0},
        {**good, "verb": "explode"},
        {**good, "verb": ["unblock"]},
        {**good, "scope": "host"},
        {**good, "work_name": ""},
        {**good, "work_name": "a b"},
        {**good, "subjob_id": 3},
        {**good, "text": "only mail has text"},
        {**good, "extra": 1},
        {key: value for key, value in good.items() if key != "text"},
        {**good, "scope": "job"},  # a job action naming a work item
        {**good, "scope": "subjob", "work_name": "", "verb": "block", "subjob_id": 1},
        {**good, "verb": "complete", "scope": "job", "work_name": ""},
        "unblock",
    ):
        with pytest.raises(ProtocolError):
            action_from_wire(bad)


def test_recorded_actions_in_process() -> None:
    qb = Qb(OWNER, owner_job(), make_call("").jobs)
    commands: Any = qb  # unblock and workunblock are set on Qb from the verb table at import
    commands.unblock(11)
    commands.workunblock(f"{OWNER}:1")
    assert [a.describe() for a in recorded_actions(qb)] == [
        "unblock job 11",
        f"unblock work {OWNER}:1",
    ]
