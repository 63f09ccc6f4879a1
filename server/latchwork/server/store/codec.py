"""JSON encoding of job specs for the store (a spec is stored whole, as submitted)."""

from __future__ import annotations

import json
from operator import attrgetter
from typing import Any

from ..core.model import PLAIN_SPEC_FIELDS, CallbackSpec, JobSpec, Prototype, WorkSpec
from ..core.states import JobStatus, WorkStatus

# The plain fields are stored as they are, under their own names (attrgetter: one C call, as
# fast as writing them out; dataclasses.asdict deep-copies every field and was a quarter of
# the cost of a large Submit). decode_spec needs nothing per field: JobSpec(**data).
_plain_values = attrgetter(*PLAIN_SPEC_FIELDS)


def encode_spec(spec: JobSpec) -> str:
    if all(w.status is WorkStatus.PENDING for w in spec.agenda):
        agenda: list[Any] = [w.name for w in spec.agenda]
    else:
        agenda = [{"name": w.name, "status": w.status.value} for w in spec.agenda]
    data = dict(zip(PLAIN_SPEC_FIELDS, _plain_values(spec), strict=False))  # same length
    data["status"] = spec.status.value
    data["prototype"] = spec.prototype.value
    data["cmdline"] = spec.cmdline
    data["frame_range"] = spec.frame_range
    data["padding"] = spec.padding
    data["agenda"] = agenda
    data["callbacks"] = [_callback_dict(c) for c in spec.callbacks]
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
        "work": spec.work,
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
