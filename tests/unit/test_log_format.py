"""Structured logs (server/log_format.py): ``log_format`` is checked at start, JSON lines carry
the ids a log call names and nothing it does not, and the text format is the one it was."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from latchwork.server.config import ConfigError, load_settings
from latchwork.server.log_format import TEXT_FORMAT, JsonLines


def test_an_unknown_log_format_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"log_format = 'xml': use 'text' or 'json'"):
        load_settings(env={"LATCHWORK_LOG_FORMAT": "xml", "LATCHWORK_DATA_DIR": str(tmp_path)})
    assert load_settings(env={"LATCHWORK_LOG_FORMAT": "json"}).log_format == "json"
    assert load_settings(env={}).log_format == "text"


def _line(formatter: logging.Formatter, **extra: object) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    logger = logging.getLogger("latchwork.test.log_format")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("host %s: worker %s takes over", "node7", "w-2", extra=extra)
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def test_a_json_line_carries_the_ids_given_and_no_others() -> None:
    entry = json.loads(_line(JsonLines(), host="node7", worker_id="w-2", colour="red"))
    assert entry["message"] == "host node7: worker w-2 takes over"
    assert (entry["level"], entry["logger"]) == ("WARNING", "latchwork.test.log_format")
    assert (entry["host"], entry["worker_id"]) == ("node7", "w-2")
    assert "colour" not in entry and "job_id" not in entry and "exception" not in entry
    bare = json.loads(_line(JsonLines()))
    assert set(bare) == {"time", "level", "logger", "message"}


def test_the_text_format_is_unchanged() -> None:
    line = _line(logging.Formatter(TEXT_FORMAT), host="node7")
    assert line.endswith(" WARNING latchwork.test.log_format: host node7: worker w-2 takes over\n")
