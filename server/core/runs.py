"""Callback runs: the durable record of a firing, written before the callback runs.

A run is stored as pending in the same transaction as the event that fired it (an outbox), so
a crash between the firing and the run loses nothing: pending runs are run at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RunOutcome(StrEnum):
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
