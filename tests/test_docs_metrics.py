"""docs/operations.md, "Metrics" and "Structured logs": the table lists exactly the families the
supervisor exposes, the scrape configuration and the alert rules parse, every alert names only
families that exist, and the JSON log line shown is what the formatter writes."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from latchwork.server.core.runs import CallbackRun
from latchwork.server.log_format import JsonLines, run_ids
from latchwork.server.metrics import Metrics
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor

from .serverproc import ServerProcess

DOC = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
METRICS = DOC[DOC.index("## Metrics") : DOC.index("## Structured logs")]
LOGS = DOC[DOC.index("## Structured logs") :]
FAMILY_ROW = re.compile(r"^\| `(latchwork_[a-z_]+)` \| (\w*) \|", re.M)
NAME = re.compile(r"\b(latchwork_[a-z_]+|up)\b")
PROMETHEUS_OWN = {"up"}  # written by Prometheus itself for every scrape target
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The families an in-process supervisor exposes: name -> type."""
    root = tmp_path_factory.mktemp("metrics-docs")
    store = SqliteStore(root / "latchwork.db")
    try:
        metrics = Metrics(Supervisor(store, OutputStore(root / "output")))
        text = metrics.exposition().decode()
        yield {family.name: family.type for family in text_string_to_metric_families(text)}
    finally:
        store.close()


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _yaml_blocks(text: str) -> list[object]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_the_table_lists_every_family_with_its_type(exposed: dict[str, str]) -> None:
    documented = {_family(name): kind for name, kind in FAMILY_ROW.findall(METRICS)}
    ours = {
        name: kind
        for name, kind in exposed.items()
        # _created: the creation time prometheus-client adds to counters and histograms
        if not name.startswith("latchwork_process") and not name.endswith("_created")
    }
    assert documented == ours
    assert any(name.startswith("latchwork_process_") for name in exposed)


def test_the_scrape_config_names_the_http_side() -> None:
    scrape, _ = _yaml_blocks(METRICS)
    assert isinstance(scrape, dict)
    [job] = scrape["scrape_configs"]
    assert job["job_name"] == "latchwork"
    [target] = job["static_configs"][0]["targets"]
    assert target.endswith(":50052")  # the default http_listen port


def test_every_alert_names_only_families_that_exist(exposed: dict[str, str]) -> None:
    _, rules = _yaml_blocks(METRICS)
    assert isinstance(rules, dict)
    [group] = rules["groups"]
    alerts = group["rules"]
    assert len(alerts) >= 5
    for alert in alerts:
        assert set(alert) >= {"alert", "expr", "for", "annotations"}, alert
        names = set(NAME.findall(alert["expr"]))
        assert names, alert["alert"]
        unknown = {n for n in names if _family(n) not in exposed and n not in PROMETHEUS_OWN}
        assert not unknown, f"{alert['alert']}: {unknown}"
        # a histogram is read through its buckets, a counter through its _total
        for name in names - PROMETHEUS_OWN:
            kind = exposed[_family(name)]
            assert kind != "histogram" or name.endswith("_bucket"), name
            assert kind != "counter" or name.endswith("_total"), name


def test_the_json_log_line_shown_is_what_the_formatter_writes() -> None:
    [shown_text] = re.findall(r"```json\n(.*?)\n```", LOGS, re.S)
    shown = json.loads(shown_text)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger(shown["logger"])
    logger.addHandler(handler)
    run = CallbackRun(42, 3, 7, "complete-job-self", "", 1, 0.0)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("callback run %d failed", run.id, extra=run_ids(run))
    finally:
        logger.removeHandler(handler)
    written = json.loads(out.getvalue())
    assert set(written) == set(shown)
    for key in ("level", "logger", "message", "run_id", "job_id", "callback_id"):
        assert written[key] == shown[key], key
    assert written["exception"].startswith("Traceback (most recent call last):")
    assert written["time"].endswith("+00:00")


def test_a_supervisor_with_log_format_json_writes_json_lines(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_LOG_FORMAT": "json"}, http_listen=None
    )
    server.start()
    assert server.stop() == 0
    lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    assert lines  # "shutting down", at least
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), line
    assert any(json.loads(line)["message"] == "shutting down" for line in lines)
