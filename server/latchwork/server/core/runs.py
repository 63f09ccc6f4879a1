"""Callback runs: the durable record of a firing, written before the callback runs.

A run is stored as pending in the same transaction as the event that fired it (an outbox), so
a crash between the firing and the run loses nothing: pending runs are run at the next start.
``depth`` is the run's place in a cascade (0: fired by an event no callback caused; ``d + 1``:
fired by an event the actions of a run of depth ``d`` caused), what the firing budget bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CallbackRunOutcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    LIMIT = "limit"


@dataclass(slots=True)
class CallbackRun:
    id: int
    callback_id: int
    job_id: int
    triggers: str
    binding: str
    event_seq: int
    due_time: float
    done: bool = False
    outcome: str = ""
    start_time: float = 0.0
    duration_ms: float = 0.0
    output: str = ""
    error: str = ""
    error_line: int = 0
    delay_seconds: float = 0.0
    depth: int = 0


def failure_message(what: str, error: BaseException) -> str:
    """A plain sentence for a run that ended on an unexpected error (no class names)."""
    detail = str(error).strip()
    if isinstance(error, KeyError) and error.args:
        detail = f"nothing is known about {error.args[0]}"
    return f"{what}: {detail}" if detail else f"{what} (an internal error; see the log)"
