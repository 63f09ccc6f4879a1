"""JSON encoding of job specs for the store (a spec is stored whole, as submitted)."""

from __future__ import annotations

import json
from typing import Any

from ..core.model import CallbackSpec, JobSpec, Prototype, WorkSpec
from ..core.states import JobStatus, WorkStatus


def encode_spec(spec: JobSpec) -> str:
    # Written out by hand: dataclasses.asdict deep-copies every field and was a quarter of the
    # cost of a large Submit.
    if all(w.status is WorkStatus.PENDING for w in spec.agenda):
        agenda: list[Any] = [w.name for w in spec.agenda]
    else:
        agenda = [{"name": w.name, "status": w.status.value} for w in spec.agenda]
    data = {
        "name": spec.name,
        "label": spec.label,
        "pid": spec.pid,
        "status": spec.status.value,
        "prototype": spec.prototype.value,
        "cmdline": spec.cmdline,
        "frame_range": spec.frame_range,
        "padding": spec.padding,
        "agenda": agenda,
        "cpus": spec.cpus,
        "priority": spec.priority,
        "callbacks": [_callback_dict(c) for c in spec.callbacks],
        "dependency": spec.dependency,
        "mailaddress": spec.mailaddress,
        "timeout": spec.timeout,
        "agenda_timeout": spec.agenda_timeout,
        "retry": spec.retry,
        "data": spec.data,
        "env": spec.env,
        "cwd": spec.cwd,
        "user": spec.user,
    }
    return json.dumps(data, separators=(",", ":"))


def _callback_dict(spec: CallbackSpec) -> dict[str, Any]:
    return {
        "triggers": spec.triggers,
        "language": spec.language,
        "code": spec.code,
        "max": spec.max,
        "catch_up": spec.catch_up,
        "criteria": spec.criteria,
        "include_data": spec.include_data,
    }


def decode_spec(text: str) -> JobSpec:
    data: dict[str, Any] = json.loads(text)
    data["status"] = JobStatus(data["status"])
    data["prototype"] = Prototype(data["prototype"])
    data["agenda"] = [
        WorkSpec(item)
        if isinstance(item, str)
        else WorkSpec(item["name"], WorkStatus(item["status"]))
        for item in data["agenda"]
    ]
    data["callbacks"] = [CallbackSpec(**cb) for cb in data["callbacks"]]
    return JobSpec(**data)


def encode_callback(spec: CallbackSpec) -> str:
    return json.dumps(_callback_dict(spec), separators=(",", ":"))


def decode_callback(text: str) -> CallbackSpec:
    return CallbackSpec(**json.loads(text))
