"""Running a generated client's example and checking what it printed.

Every language's example (clients/<lang>/run-example.sh) follows one script, the one
clients/README.md shows: submit A and B (B depends on A), print ``{"submitted": {...}}``, subscribe
to their process group after the submission's seq and print that seq as ``{"live": seq}``, then
one JSON line per event until B's job completes. No deadline on the stream. The checks
here are the issue's acceptance: B's ``complete`` after A's, and no gap or duplicate in seq.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ("go", "typescript", "java")


@dataclass
class ExampleRun:
    live: int = -1
    submitted: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    stderr: str = ""


def run_example(
    language: str,
    address: str,
    *,
    on_event: Callable[[dict[str, Any]], object] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> ExampleRun:
    """Runs the example to its end, calling ``on_event`` with every event as it is printed
    (the tests break the connection or the supervisor from there, mid-stream).

    ``env`` adds to (or overrides) the environment: LATCHWORK_TOKEN, LATCHWORK_TLS_CA.
    """
    script = REPO / "clients" / language / "run-example.sh"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LATCHWORK_")}
    env = {**inherited, "LATCHWORK_ADDRESS": address, "LATCHWORK_USER": "example", **(env or {})}
    result = ExampleRun()
    with subprocess.Popen(
        [str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            for line in process.stdout:
                item = json.loads(line)
                if "live" in item:
                    result.live = item["live"]
                elif "submitted" in item:
                    result.submitted = item["submitted"]
                else:
                    result.events.append(item)
                    if on_event is not None:
                        on_event(item)
            result.stderr = process.stderr.read()
            result.returncode = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
    return result


def check_example(run: ExampleRun) -> None:
    """The example's stream: gapless from the live point, A's completion before B's."""
    assert run.returncode == 0, run.stderr
    assert run.live >= 0, "the example never said its stream was live"
    assert set(run.submitted) == {"pgrp", "A", "B"}, run.submitted
    seqs = [event["seq"] for event in run.events]
    assert seqs == list(range(run.live + 1, run.live + 1 + len(seqs))), (
        f"seqs are not consecutive from {run.live + 1}: {seqs}"
    )
    job_events = [e for e in run.events if e["type"] == "job"]
    completed = [e["job"] for e in job_events if e["name"] == "complete"]
    assert completed == ["A", "B"], job_events
    assert not [e for e in job_events if e["name"] == "failed"]
    last = run.events[-1]
    assert (last["job"], last["type"], last["name"]) == ("B", "job", "complete")
    assert last["job_id"] == run.submitted["B"]
    b_ran = [e["seq"] for e in run.events if e["job"] == "B" and e["name"] == "running"]
    a_done = next(e["seq"] for e in job_events if e["job"] == "A" and e["name"] == "complete")
    assert b_ran and min(b_ran) > a_done, "B ran before A completed"
