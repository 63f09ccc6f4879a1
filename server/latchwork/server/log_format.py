"""How the supervisor's log lines look: text for people, or JSON lines for a log collector.

``log_format = "json"`` (docs/configuration.md) writes one JSON object a line, with ``time``
(UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus the ids a log call names through
``extra=`` (:data:`ID_FIELDS`: ``job_id``, ``work``, ``host``, ``run_id``, ...) so that a
collector can find every line about one job or host without parsing sentences; a traceback
goes in ``exception``. The text format is unchanged by this (the ids stay in the sentence).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from .core.runs import CallbackRun

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ID_FIELDS = ("job_id", "work", "host", "run_id", "callback_id", "worker_id", "lease_id")
"""The ``extra=`` keys a JSON line carries when a log call passes them."""


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ids given, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        for key in ID_FIELDS:
            if key in fields:
                entry[key] = fields[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", stream: TextIO | None = None) -> None:
    """Send the process's log records to ``stream`` (stderr) at INFO, in ``log_format``."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log_format = {log_format!r}: use 'text' or 'json'")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def run_ids(run: CallbackRun) -> dict[str, int]:
    """The ``extra=`` of a log line about a callback run: its run, job and callback ids."""
    return {"run_id": run.id, "job_id": run.job_id, "callback_id": run.callback_id}
