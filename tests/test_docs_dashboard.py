"""Every example of docs/dashboard.md runs as written, in order and in one namespace, against a
real supervisor with tokens, over its HTTP side."""

from __future__ import annotations

import re
from pathlib import Path

from .serverproc import ServerProcess

DOC = (Path(__file__).resolve().parent.parent / "docs" / "dashboard.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC, re.S)
TOKEN = "alice-token-docs-dashboard-0123"


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 3


def test_the_examples_run_against_a_live_supervisor(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'[[token]]\ntoken = "{TOKEN}"\nuser = "alice"\n')
    tokens.chmod(0o600)
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_TOKENS_FILE": str(tokens)}
    ).start()
    try:
        namespace = {
            "base": f"http://{server.http_address}",
            "token": TOKEN,
            "address": server.address,
        }
        for index, example in enumerate(EXAMPLES):
            exec(compile(example, f"docs/dashboard.md example {index}", "exec"), namespace)
    finally:
        server.stop()
