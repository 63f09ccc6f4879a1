"""``make serve`` needs Python only: no npm, no network for buf (a lint tool, for ``make lint``).

``make -n -B`` prints every command a fresh clone would run for a target, without running them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def planned_commands(target: str) -> str:
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_serve_runs_no_node_tool() -> None:
    serve = planned_commands("serve")
    assert "latchwork serve" in serve
    assert "npm" not in serve and "buf" not in serve
    # buf still comes with the targets that lint the protos.
    assert "npm install" in planned_commands("lint")
