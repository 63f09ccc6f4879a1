"""docs/operations.md, "Standby supervisors": the two-supervisor trial runs as written against
a real PostgreSQL server (tests/pg_server.py). The page's database becomes a fresh database of
that server, its data directories temporary ones and its ports free ones; nothing else of a
command is changed. The standby's line and its ``/healthz`` answer must read as the page says.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .pg_server import free_port
from .standby_proc import Serve

DOC = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
SECTION = DOC[DOC.index("\n## Standby supervisors\n") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", SECTION, re.S)
DOC_URL = "postgresql://latchwork@db.example/latchwork"
DOC_PORTS = ("50051", "50052", "50061", "50062")


def _here(text: str, ports: dict[str, str], url: str, root: Path) -> str:
    for documented, free in ports.items():
        text = text.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{free}")
    return text.replace(DOC_URL, url).replace("/srv/", f"{root}/")


def test_two_supervisors_on_one_database_one_leads_one_stands_by(
    tmp_path: Path, postgres_url: str
) -> None:
    assert [kind for kind, _ in BLOCKS] == ["sh", "sh", "json"]
    ports = {documented: str(free_port()) for documented in DOC_PORTS}
    serves, curl, answer = (_here(text, ports, postgres_url, tmp_path) for _, text in BLOCKS)
    first, second = serves.strip().splitlines()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    leader = Serve.from_command(first, tmp_path / "a.log", env)
    standby: Serve | None = None
    try:
        leader.wait_for("serving on")  # "the first to start leads": started after it
        standby = Serve.from_command(second, tmp_path / "b.log", env)
        said = standby.wait_for("standby;").strip()
        documented = re.search(r"`(latchwork serve: standby;[^`]*)`", SECTION)
        assert documented is not None
        assert said == _here(documented.group(1), ports, postgres_url, tmp_path)
        health = subprocess.run(
            ["bash", "-c", curl], capture_output=True, text=True, timeout=30, env=env
        )
        assert health.returncode == 0, health.stderr
        assert json.loads(health.stdout) == json.loads(answer)
    finally:
        leader.stop()
        if standby is not None:
            standby.stop()
