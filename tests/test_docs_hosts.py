"""The host examples of docs/triggers.md and docs/subscribe.md (``python-farm`` blocks) run as
written: a real supervisor with an SMTP server, real ``latchwork worker`` processes."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from .hostfarm import FAST_HOSTS_ENV, Hosts, start_worker, up
from .serverproc import ServerProcess
from .smtp_inbox import Inbox, running_inbox

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = [
    (page, block)
    for page in ("triggers.md", "subscribe.md")
    for block in re.findall(r"```python-farm\n(.*?)```", (DOCS / page).read_text(), re.S)
]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with running_inbox() as running:
        yield running


def test_each_page_has_its_host_example() -> None:
    assert sorted(page for page, _ in EXAMPLES) == ["subscribe.md", "triggers.md"]


@pytest.mark.parametrize(("page", "code"), EXAMPLES, ids=[page for page, _ in EXAMPLES])
def test_host_example(tmp_path: Path, inbox: tuple[Inbox, int], page: str, code: str) -> None:
    handler, port = inbox
    env = {
        **FAST_HOSTS_ENV,
        "LATCHWORK_SMTP_HOST": "127.0.0.1",
        "LATCHWORK_SMTP_PORT": str(port),
    }
    server = ServerProcess(tmp_path / "data", slots=0, env=env).start()
    workers: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        worker = start_worker(server, name, tmp_path / f"{name}.log")
        workers.append(worker)
        with Hosts(server) as hosts:
            hosts.wait(name, up)
        return worker

    def next_mail(timeout: float = 30.0) -> Message:
        deadline = time.monotonic() + timeout
        while not handler.messages:
            assert time.monotonic() < deadline, "no mail came"
            time.sleep(0.05)
        return handler.messages.pop(0)

    try:
        with server.client() as lw:
            namespace = {"lw": lw, "start_worker": start, "next_mail": next_mail}
            exec(compile(code, f"docs/{page} host example", "exec"), namespace)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait(10)
        server.stop()
