"""Every example of docs/routing.md holds as written: the example farm, the routes, the
waiting reasons and the refusals at submit (the same checks the supervisor runs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from latchwork.server.config import load_settings
from latchwork.server.core.model import JobSpec
from latchwork.server.core.routing.hosts import Host, Resources
from latchwork.server.core.routing.licences import GlobalResources
from latchwork.server.core.routing.restrictions import ROOT_CLUSTER, parse_restrictions
from latchwork.server.core.routing.routing import ROUTING_ATTRIBUTES, explain_wait, suits
from latchwork.server.core.scheduler import parse_key, routing_key
from latchwork.server.core.spec_checks import routing_problems

DOC = (Path(__file__).resolve().parent.parent / "docs" / "routing.md").read_text()
_RESOURCES = {"slots", "memory", "gpus", "cores", "os", "groups", "cluster", "restrictions"}


def _block(kind: str) -> str:
    """The first block of that kind."""
    return str(re.findall(rf"```{kind}\n(.*?)```", DOC, re.S)[0])


def _lines(kind: str) -> list[str]:
    return [line for line in _block(kind).strip().splitlines() if line.strip()]


def _host(line: str) -> Host:
    name, *items = line.split()
    fields = dict(item.split("=", 1) for item in items)
    restrictions = fields.get("restrictions")
    return Host(
        name,
        Resources(
            cores=int(fields.get("cores", fields["slots"])),
            memory_mb=int(fields["memory"]),
            gpus=int(fields["gpus"]),
            os=fields.get("os", ""),
        ),
        slots_total=int(fields["slots"]),
        properties={k: v for k, v in fields.items() if k not in _RESOURCES},
        groups=frozenset(fields.get("groups", "").split(",")) - {""},
        cluster=fields.get("cluster", ROOT_CLUSTER),
        restrictions=parse_restrictions(restrictions) if restrictions else None,
    )


FARM = [_host(line) for line in _lines("hosts")]


def _limits(tmp_path: Path) -> dict[str, int]:
    config = tmp_path / "latchwork.toml"
    config.write_text(_block("toml"))
    return load_settings(config_file=config, env={}).global_resource_limits


def _spec(attributes: str) -> JobSpec:
    """``a=x; b=y`` (or ``(none)``) as a job spec."""
    spec = JobSpec(cmdline="true")
    if attributes.strip() != "(none)":
        for item in attributes.split(";"):
            name, _, text = item.strip().partition("=")
            assert name in ROUTING_ATTRIBUTES, name
            setattr(spec, name, text)
    return spec


def test_the_page_has_its_examples() -> None:
    assert len(FARM) == 4 and len(_lines("routes")) >= 10
    assert _lines("invalid-routing") and _lines("waiting") and _lines("waiting-busy")


def test_the_licences_block_is_a_valid_config(tmp_path: Path) -> None:
    assert _limits(tmp_path) == {"nuke": 2, "maya": 10}


@pytest.mark.parametrize("line", _lines("routes"))
def test_routes(line: str) -> None:
    attributes, _, expected = (part.strip() for part in line.partition("=>"))
    routing = parse_key(routing_key(_spec(attributes)))
    assert " ".join(host.name for host in FARM if suits(routing, host)) == expected


@pytest.mark.parametrize("line", _lines("waiting") + _lines("waiting-busy"))
def test_waiting_reasons(line: str, tmp_path: Path) -> None:
    attributes, _, expected = (part.strip() for part in line.partition("=>"))
    licences = GlobalResources(_limits(tmp_path))
    if line in _lines("waiting-busy"):
        assert licences.take("running-1", {"nuke": 1}) is None
        assert licences.take("running-2", {"nuke": 1}) is None
    wait = explain_wait(parse_key(routing_key(_spec(attributes))), FARM, licences)
    assert ("(none)" if wait.runnable else str(wait)) == expected


@pytest.mark.parametrize("line", _lines("invalid-routing"))
def test_refusals(line: str, tmp_path: Path) -> None:
    head, _, expected = (part.strip() for part in line.partition(" => "))
    name, _, text = head.partition(": ")
    problems = routing_problems(_spec(f"{name}={text}"), "jobs[0]", _limits(tmp_path))
    assert [p.path for p in problems] == [f"jobs[0].{name}"]
    assert problems[0].message.startswith(expected), problems[0].message
