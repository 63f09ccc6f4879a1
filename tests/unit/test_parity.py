"""Parity between the places that each spell out the same rule (issue 11, item 3).

Event names and types, job and work states live in the core enums and again in the proto enums;
the trigger grammar derives its words from the core. A JobSpec field is spelt in five places:
the proto, the core dataclass, the proto<->core conversion, the store's JSON codec and the
Qube-dict reader of the Python client. These tests fail when one of them is left behind.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message

import latchwork.server as server_package
from latchwork.client.jobspec import UNSUPPORTED_QUBE_KEYS, job_spec_from_dict
from latchwork.client.qb_objects import job_dict
from latchwork.server.api import convert
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.events import EventName, EventType
from latchwork.server.core.model import (
    PLAIN_SPEC_FIELDS,
    CallbackSpec,
    JobSpec,
    Prototype,
    WorkSpec,
)
from latchwork.server.core.runs import CallbackRunOutcome
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.triggers.parser import parse_atom
from latchwork.server.core.triggers.resolve import DONE_NAMES, PRODUCED, VALID_NAMES
from latchwork.server.core.triggers.syntax import (
    DONE,
    EVENT_NAMES,
    EVENT_TYPES,
    GLOBAL_TYPES,
    UNWATCHABLE_TYPES,
    TriggerSyntaxError,
)
from latchwork.server.store.codec import (
    decode_callback,
    decode_spec,
    encode_callback,
    encode_spec,
)
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

# --- enums: proto <-> core -------------------------------------------------------------------

# Each proto enum is the core enum with a prefix: EVENT_NAME_COMPLETE <-> EventName.COMPLETE,
# whose value ("complete") is the lower-cased member name, as the CLI derives it from the proto.
ENUM_PAIRS: list[tuple[EnumDescriptor, type[Enum], str]] = [
    (event_pb2.EventName.DESCRIPTOR, EventName, "EVENT_NAME_"),
    (event_pb2.EventType.DESCRIPTOR, EventType, "EVENT_TYPE_"),
    (job_pb2.JobStatus.DESCRIPTOR, JobStatus, "JOB_STATUS_"),
    (job_pb2.WorkStatus.DESCRIPTOR, WorkStatus, "WORK_STATUS_"),
    (job_pb2.Prototype.DESCRIPTOR, Prototype, "PROTOTYPE_"),
    (supervisor_pb2.Action.DESCRIPTOR, OperatorAction, "ACTION_"),
    (supervisor_pb2.CallbackOutcome.DESCRIPTOR, CallbackRunOutcome, "CALLBACK_OUTCOME_"),
]


@pytest.mark.parametrize(
    ("proto", "core", "prefix"), ENUM_PAIRS, ids=[core.__name__ for _, core, _ in ENUM_PAIRS]
)
def test_proto_and_core_enums_match_one_to_one(
    proto: EnumDescriptor, core: type[Enum], prefix: str
) -> None:
    proto_names = {v.name.removeprefix(prefix) for v in proto.values} - {"UNSPECIFIED"}
    core_names = {member.name for member in core}
    assert proto_names - core_names == set(), f"in the proto only: {proto_names - core_names}"
    assert core_names - proto_names == set(), f"in the core only: {core_names - proto_names}"
    assert all(v.name.startswith(prefix) for v in proto.values)
    assert proto.values_by_number[0].name == f"{prefix}UNSPECIFIED"
    assert all(member.value == member.name.lower() for member in core)


# --- enums: core <-> trigger grammar ---------------------------------------------------------

STORED_NAMES = {name.value for name in EventName}


def test_the_grammar_knows_exactly_the_core_event_names_and_done() -> None:
    assert DONE not in STORED_NAMES  # a trigger word only, never the name of a stored event
    assert set(EVENT_NAMES) == STORED_NAMES | {DONE}
    assert len(EVENT_NAMES) == len(set(EVENT_NAMES))
    assert {EventName.COMPLETE, EventName.FAILED, EventName.KILLED} == DONE_NAMES


def test_the_grammar_knows_exactly_the_watchable_core_event_types() -> None:
    # Stored types that no trigger may name: callback events announce callback runs.
    assert {EventType.CALLBACK} == UNWATCHABLE_TYPES
    watchable = {t.value for t in EventType} - {t.value for t in UNWATCHABLE_TYPES}
    assert set(EVENT_TYPES) | set(GLOBAL_TYPES) == watchable
    assert set(EVENT_TYPES).isdisjoint(GLOBAL_TYPES)


@pytest.mark.parametrize("name", sorted(EVENT_NAMES))
def test_the_parser_accepts_every_core_event_name(name: str) -> None:
    assert parse_atom(f"{name}-job-self", 0).name == name


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_the_parser_accepts_every_core_event_type(type_: str) -> None:
    extra = {"time": "-100", "repeat": "-100-60"}.get(type_, "")
    assert parse_atom(f"dummy-{type_}-self{extra}", 0).type == type_


@pytest.mark.parametrize("type_", GLOBAL_TYPES)
def test_the_parser_accepts_every_global_type(type_: str) -> None:
    body = {"globaltime": "100", "globalrepeat": "100-60"}[type_]
    assert parse_atom(f"{type_}-{body}", 0).type == type_


@pytest.mark.parametrize(
    "word", ["callback", "done", "completed", "jobs", "Complete", "UNSPECIFIED", "unspecified"]
)
def test_the_parser_refuses_words_outside_the_core_enums(word: str) -> None:
    as_name, as_type = f"{word}-job-self", f"complete-{word}-self"
    if word not in EVENT_NAMES:
        with pytest.raises(TriggerSyntaxError, match="unknown event name"):
            parse_atom(as_name, 0)
    with pytest.raises(TriggerSyntaxError, match="unknown event type"):
        parse_atom(as_type, 0)


def test_each_watchable_type_lists_the_names_it_can_fire_on() -> None:
    assert set(VALID_NAMES) == set(EVENT_TYPES) | set(GLOBAL_TYPES)
    assert set(VALID_NAMES) == {t.value for t in PRODUCED}
    for type_, names in PRODUCED.items():
        assert names, type_
        assert VALID_NAMES[type_.value] - {DONE} == {n.value for n in names}
        assert (DONE in VALID_NAMES[type_.value]) == (names >= DONE_NAMES), type_
        assert VALID_NAMES[type_.value] <= set(EVENT_NAMES)


SERVER = Path(server_package.__file__).resolve().parent
# Names no trigger can watch, with the reason.
NEVER_PRODUCED = {
    EventName.ASSIGNED: "a Qube name kept for the API; Latchwork goes straight to running",
}
# Names a trigger may watch that nothing emits yet, with where they will come from.
NOT_YET_EMITTED: dict[EventName, str] = {}


def test_every_event_name_is_produced_for_some_type_or_said_why_not() -> None:
    produced = set().union(*PRODUCED.values())
    assert set(EventName) - produced == set(NEVER_PRODUCED)


def test_every_produced_name_is_emitted_somewhere_in_the_server() -> None:
    # A name some type "produces" that no code emits makes a trigger that is accepted at
    # submit and never fires. Emitters spell it EventName.X (resolve.py's table uses _E.X).
    emitted: set[str] = set()
    for source in SERVER.rglob("*.py"):
        emitted |= set(re.findall(r"\bEventName\.([A-Z]+)\b", source.read_text()))
    produced = {name.name for name in set().union(*PRODUCED.values())}
    assert produced - emitted == {name.name for name in NOT_YET_EMITTED}


# --- JobSpec fields --------------------------------------------------------------------------


class Field(NamedTuple):
    """One JobSpec field in each spelling, with a non-default sample value in each form."""

    proto: str  # path in job_pb2.JobSpec ("command.cmdline")
    core: str  # attribute of core JobSpec
    qube: str  # path in a Qube job dict ("package.cmdline")
    proto_value: Any
    core_value: Any
    qube_value: Any


_CALLBACK: dict[str, Any] = {
    "triggers": "complete-job-self",
    "language": "python",
    "code": "print(1)",
    "max": 2,
    "catch_up": False,
    "criteria": {"shot": "sh0*"},
    "include_data": ["shot"],
    "work": "12",
}

# THE table: the name mapping between the proto, the core and a Qube job dict. Sample values
# differ from the defaults and from each other, so a field read into the wrong attribute shows.
FIELDS: list[Field] = [
    Field("name", "name", "name", "n-1", "n-1", "n-1"),
    Field("label", "label", "label", "lbl_1", "lbl_1", "lbl_1"),
    Field("pid", "pid", "pid", 7, 7, 7),
    Field("status", "status", "status", job_pb2.JOB_STATUS_BLOCKED, JobStatus.BLOCKED, "blocked"),
    Field(
        "prototype",
        "prototype",
        "prototype",
        job_pb2.PROTOTYPE_CMDRANGE,
        Prototype.CMDRANGE,
        "cmdrange",
    ),
    Field("command.cmdline", "cmdline", "package.cmdline", "echo 1", "echo 1", "echo 1"),
    Field("command.frame_range", "frame_range", "package.range", "1-9x2", "1-9x2", "1-9x2"),
    Field("command.padding", "padding", "package.padding", 4, 4, 4),
    Field(
        "agenda",
        "agenda",
        "agenda",
        [
            job_pb2.WorkSpec(name="1", status=job_pb2.WORK_STATUS_PENDING),
            job_pb2.WorkSpec(name="2", status=job_pb2.WORK_STATUS_BLOCKED),
        ],
        [WorkSpec("1"), WorkSpec("2", WorkStatus.BLOCKED)],
        ["1", {"name": "2", "status": "blocked"}],
    ),
    Field("cpus", "cpus", "cpus", 3, 3, 3),
    Field("priority", "priority", "priority", 50, 50, 50),
    Field(
        "callbacks",
        "callbacks",
        "callbacks",
        [job_pb2.CallbackSpec(**_CALLBACK)],
        [CallbackSpec(**_CALLBACK)],
        [dict(_CALLBACK)],
    ),
    Field("dependency", "dependency", "dependency", "12,13", "12,13", "12,13"),
    Field("mailaddress", "mailaddress", "mailaddress", "a@b.c", "a@b.c", "a@b.c"),
    Field("timeout", "timeout", "timeout", 60, 60, 60),
    Field("agenda_timeout", "agenda_timeout", "agenda_timeout", 30, 30, 30),
    Field("retry", "retry", "retry", 2, 2, 2),
    Field("data", "data", "data", {"k": "v"}, {"k": "v"}, {"k": "v"}),
    Field("env", "env", "env", {"E": "1"}, {"E": "1"}, {"E": "1"}),
    Field("cwd", "cwd", "cwd", "/tmp/x", "/tmp/x", "/tmp/x"),
    Field("user", "user", "user", "ann", "ann", "ann"),
    Field(
        "reservations",
        "reservations",
        "reservations",
        "host.memory=16000",
        "host.memory=16000",
        "host.memory=16000",
    ),
    Field(
        "requirements",
        "requirements",
        "requirements",
        "host.os == linux",
        "host.os == linux",
        "host.os == linux",
    ),
    Field("hosts", "hosts", "hosts", "n1,n2", "n1,n2", "n1,n2"),
    Field("omithosts", "omithosts", "omithosts", "n3", "n3", "n3"),
    Field("groups", "groups", "groups", "gpu", "gpu", "gpu"),
    Field("omitgroups", "omitgroups", "omitgroups", "slow", "slow", "slow"),
    Field("cluster", "cluster", "cluster", "/show/a", "/show/a", "/show/a"),
    Field("restrictions", "restrictions", "restrictions", "/show/*", "/show/*", "/show/*"),
]
_IDS = [f.core for f in FIELDS]

# Other Qube spellings jobspec.py accepts for the same field.
QUBE_ALIASES = {"package.frame_range": "frame_range", "retrywork": "retry"}


def _proto_leaf_fields(descriptor: Any, prefix: str = "") -> set[str]:
    """Field paths of a message; singular sub-messages (``command``) are opened."""
    paths: set[str] = set()
    for f in descriptor.fields:
        singular_message = f.message_type is not None and not f.is_repeated
        if singular_message:
            paths |= _proto_leaf_fields(f.message_type, f"{prefix}{f.name}.")
        else:
            paths.add(prefix + f.name)
    return paths


def _set_proto(pb: Message, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        pb = getattr(pb, part)
    if isinstance(value, Mapping):
        getattr(pb, leaf).update(value)
    elif isinstance(value, list):
        getattr(pb, leaf).extend(value)
    else:
        setattr(pb, leaf, value)


def _get_proto(pb: Message, path: str) -> Any:
    for part in path.split("."):
        pb = getattr(pb, part)
    return pb


def _qube_dict(path: str, value: Any) -> dict[str, Any]:
    *parents, leaf = path.split(".")
    job: dict[str, Any] = {leaf: value}
    for part in reversed(parents):
        job = {part: job}
    return job


def _differs(spec: JobSpec, default: JobSpec) -> set[str]:
    names = [f.name for f in dataclasses.fields(JobSpec)]
    return {name for name in names if getattr(spec, name) != getattr(default, name)}


def _full_core() -> JobSpec:
    return JobSpec(**{f.core: f.core_value for f in FIELDS})


def test_the_table_names_every_field_of_all_five() -> None:
    core_fields = [f.name for f in dataclasses.fields(JobSpec)]
    assert sorted(f.core for f in FIELDS) == sorted(core_fields)
    assert {f.proto for f in FIELDS} == _proto_leaf_fields(job_pb2.JobSpec.DESCRIPTOR)
    assert len({f.qube for f in FIELDS}) == len(FIELDS)
    tops = {f.qube.split(".")[0] for f in FIELDS} | set(QUBE_ALIASES)
    assert tops.isdisjoint(UNSUPPORTED_QUBE_KEYS)  # a field the client would refuse


def test_nested_messages_match_the_core_dataclasses() -> None:
    for message, core in ((job_pb2.CallbackSpec, CallbackSpec), (job_pb2.WorkSpec, WorkSpec)):
        proto_names = {f.name for f in message.DESCRIPTOR.fields}
        assert proto_names == {f.name for f in dataclasses.fields(core)}, core.__name__
    assert set(_CALLBACK) == {f.name for f in dataclasses.fields(CallbackSpec)}


def test_empty_forms_give_the_default_core_spec() -> None:
    assert convert.spec_from_pb(job_pb2.JobSpec()) == JobSpec()
    assert convert.spec_from_pb(job_spec_from_dict({})) == JobSpec()


def test_the_samples_differ_from_the_defaults_in_every_field() -> None:
    assert _differs(_full_core(), JobSpec()) == {f.name for f in dataclasses.fields(JobSpec)}
    default_callback = convert.callback_spec_from_pb(job_pb2.CallbackSpec())
    callback = CallbackSpec(**_CALLBACK)
    for f in dataclasses.fields(CallbackSpec):
        assert getattr(callback, f.name) != getattr(default_callback, f.name), f.name


@pytest.mark.parametrize("field", FIELDS, ids=_IDS)
def test_each_proto_field_is_read_into_its_core_attribute(field: Field) -> None:
    pb = job_pb2.JobSpec()
    _set_proto(pb, field.proto, field.proto_value)
    spec = convert.spec_from_pb(pb)
    assert _differs(spec, JobSpec()) == {field.core}
    assert getattr(spec, field.core) == field.core_value


@pytest.mark.parametrize("field", FIELDS, ids=_IDS)
def test_each_core_attribute_is_written_to_its_proto_field(field: Field) -> None:
    spec = JobSpec(**{field.core: field.core_value})
    pb, default = convert.spec_to_pb(spec), convert.spec_to_pb(JobSpec())
    assert _get_proto(pb, field.proto) != _get_proto(default, field.proto)
    changed = {
        p for p in _proto_leaf_fields(pb.DESCRIPTOR) if _get_proto(pb, p) != _get_proto(default, p)
    }
    assert changed == {field.proto}
    assert convert.spec_from_pb(pb) == spec


def test_a_full_spec_survives_proto_both_ways() -> None:
    pb = job_pb2.JobSpec()
    for field in FIELDS:
        _set_proto(pb, field.proto, field.proto_value)
    assert convert.spec_from_pb(pb) == _full_core()
    assert convert.spec_to_pb(_full_core()) == pb


@pytest.mark.parametrize("field", FIELDS, ids=_IDS)
def test_each_core_attribute_survives_the_store_codec(field: Field) -> None:
    spec = JobSpec(**{field.core: field.core_value})
    assert decode_spec(encode_spec(spec)) == spec


def test_a_full_spec_and_its_callback_survive_the_store_codec() -> None:
    spec = _full_core()
    assert decode_spec(encode_spec(spec)) == spec
    pending_only = JobSpec(agenda=[WorkSpec("1"), WorkSpec("2")])  # the compact agenda form
    assert decode_spec(encode_spec(pending_only)) == pending_only
    callback = CallbackSpec(**_CALLBACK)
    assert decode_callback(encode_callback(callback)) == callback


@pytest.mark.parametrize("field", FIELDS, ids=_IDS)
def test_each_core_attribute_is_reachable_from_a_qube_dict(field: Field) -> None:
    spec = convert.spec_from_pb(job_spec_from_dict(_qube_dict(field.qube, field.qube_value)))
    assert _differs(spec, JobSpec()) == {field.core}
    assert getattr(spec, field.core) == field.core_value


@pytest.mark.parametrize(("alias", "core"), sorted(QUBE_ALIASES.items()))
def test_qube_aliases_reach_the_same_attribute(alias: str, core: str) -> None:
    field = next(f for f in FIELDS if f.core == core)
    spec = convert.spec_from_pb(job_spec_from_dict(_qube_dict(alias, field.qube_value)))
    assert getattr(spec, core) == field.core_value


def test_a_full_qube_dict_gives_the_full_core_spec() -> None:
    job: dict[str, Any] = {}
    for field in FIELDS:
        part = _qube_dict(field.qube, field.qube_value)
        for key, value in part.items():
            if isinstance(value, dict) and key == "package":
                job.setdefault(key, {}).update(value)
            else:
                job[key] = value
    assert convert.spec_from_pb(job_spec_from_dict(job)) == _full_core()


def test_qb_jobinfo_shows_every_plain_field() -> None:
    # qb.jobinfo names the fields it knows one by one; any other plain field (one added
    # later) must still show, under its own name.
    spec = job_pb2.JobSpec()
    for field in FIELDS:
        _set_proto(spec, field.proto, field.proto_value)
    job = job_pb2.Job(id=1, pgrp=1, label="lbl_1", user="ann", spec=spec)
    shown = job_dict(job)  # what qb.jobinfo returns for each job, without a server
    renamed = {"retry": "retrywork"}
    for name in PLAIN_SPEC_FIELDS:
        field = next(f for f in FIELDS if f.core == name)
        value = shown[renamed.get(name, name)]
        assert value == field.qube_value, name
