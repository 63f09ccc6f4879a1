"""What a host declares: detected resources, and the overrides of ``latchwork worker``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from latchwork.server.machine import detect_memory_mb, detect_resources
from latchwork.worker.commands import Worker
from latchwork.worker.remote_worker import register_request


def test_memory_is_read_from_meminfo_in_mb(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree:  1 kB\n")
    assert detect_memory_mb(str(meminfo)) == 16000
    assert detect_memory_mb(str(tmp_path / "absent")) == 0


def test_detected_resources_and_overrides() -> None:
    found = detect_resources()
    assert found.cores >= 1 and found.os and found.arch and found.gpus >= 0
    given = detect_resources(cores=3, memory_mb=1234, gpus=2)
    assert (given.cores, given.memory_mb, given.gpus) == (3, 1234, 2)


def test_worker_flags_become_its_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run(address: str, slots: int, host: str, info: object, policy: object = None) -> None:
        seen.update(address=address, slots=slots, host=host, info=info, policy=policy)

    monkeypatch.setattr("latchwork.worker.process.run", fake_run)
    parser = argparse.ArgumentParser()
    Worker().configure(parser)
    args = parser.parse_args(
        [
            *("--supervisor", "head:50051", "--host", "node7", "--cores", "6"),
            *("--memory", "2048", "--gpus", "1", "--property", "renderer=arnold"),
            *("--group", "gpu", "--group", "fast", "--cluster", "/farm/a"),
            *("--restrictions", "/show/+"),
        ]
    )
    assert Worker().run(args) == 0
    assert seen["slots"] == 6, "slots default to the cores"
    request = register_request(seen["info"])  # type: ignore[arg-type]
    request.host = "node7"
    assert (request.resources.cores, request.resources.memory_mb, request.resources.gpus) == (
        6,
        2048,
        1,
    )
    assert dict(request.properties) == {"renderer": "arnold"}
    assert list(request.groups) == ["gpu", "fast"]
    assert (request.cluster, request.restrictions, request.slots) == ("/farm/a", "/show/+", 6)


def test_a_property_must_be_key_value() -> None:
    parser = argparse.ArgumentParser()
    Worker().configure(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--supervisor", "h:1", "--property", "novalue"])
