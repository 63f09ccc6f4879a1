"""A ModifyJobsRequest read: its request-level checks and its ``JobChanges`` in core terms.

The proto marks each value ``optional``, so "not given" and "set to zero or empty" differ on
the wire; the core's :class:`~..core.modify.JobChanges` says the same with ``None``.
"""

from __future__ import annotations

from typing import Any

from latchwork.v1 import supervisor_pb2

from ..core.errors import FieldError
from ..core.modify import VALUE_FIELDS, JobChanges
from .checks import MAX_REASON_CHARS


def check_modify(request: supervisor_pb2.ModifyJobsRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(request.reason) > MAX_REASON_CHARS:
        errors.append(FieldError("reason", f"at most {MAX_REASON_CHARS} characters"))
    return errors


def changes_from_pb(pb: supervisor_pb2.JobChanges) -> JobChanges:
    message: Any = pb  # HasField is typed for literal names; these come from VALUE_FIELDS
    given: dict[str, Any] = {
        name: getattr(pb, name) for name in VALUE_FIELDS if message.HasField(name)
    }
    return JobChanges(
        **given,
        data=dict(pb.data),
        remove_data=list(pb.remove_data),
    )
