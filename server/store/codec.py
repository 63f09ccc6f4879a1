"""JSON encoding of job specs for the store (a spec is stored whole, as submitted)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ..core.model import CallbackSpec, JobSpec, Prototype, WorkSpec
from ..core.states import JobStatus, WorkStatus


def encode_spec(spec: JobSpec) -> str:
    data = asdict(spec)
    # Agendas can be large; names alone suffice when every item was submitted pending.
    if all(w.status is WorkStatus.PENDING for w in spec.agenda):
        data["agenda"] = [w.name for w in spec.agenda]
    return json.dumps(data, separators=(",", ":"))


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
