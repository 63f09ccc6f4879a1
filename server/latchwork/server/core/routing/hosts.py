"""The host as routing sees it: what it has, what it is, and what is in use on it now.

A snapshot, immutable: the host registry (issue 12, item 1) owns the live record, persists it and
hands the scheduler a fresh ``Host`` when something changes (``with_usage``). Keeping the view
frozen means a routing decision can never change a host behind the registry's back, and the same
snapshot can be checked against thousands of pending jobs without copying.

Vocabulary follows Qube: a host's *processors* are its job slots (``slots_total``; Qube's
``worker_cpus``, by default the number of cores), which ``host.processors=N`` reserves; the
detected CPU count is ``resources.cores``. Memory is in MB, as Qube's ``host.memory``.
Properties are free ``key=value`` strings (Qube's ``worker_properties``), read in requirements
as ``host.<key>``; groups have no hierarchy and a host may be in many (Qube's
``worker_groups``); the cluster is one path such as ``/show/comp`` (Qube's ``worker_cluster``);
``restrictions`` are the host's own cluster restrictions (Qube's ``worker_restrictions``): when
set, the host runs only jobs whose cluster matches them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .errors import RoutingSyntaxError
from .restrictions import ROOT_CLUSTER, Restrictions

HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
"""A host name as workers register it: DNS-like, dots, dashes and underscores allowed."""

PROPERTY_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""A property key: one identifier, so ``host.<key>`` reads unambiguously in requirements."""

GROUP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


class HostState(StrEnum):
    """``up``: takes new work. ``down``: lost (no heartbeat). ``locked``: an admin drains it,
    running work finishes, no new work starts."""

    UP = "up"
    DOWN = "down"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class Resources:
    """What a host has (detected, or overridden on the command line or in config)."""

    cores: int = 1
    memory_mb: int = 0
    gpus: int = 0
    os: str = ""
    arch: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """What running frames hold on a host: the sum of their host reservations."""

    slots: int = 0
    memory_mb: int = 0
    gpus: int = 0

    def plus(self, slots: int, memory_mb: int, gpus: int) -> Usage:
        return Usage(self.slots + slots, self.memory_mb + memory_mb, self.gpus + gpus)

    def minus(self, slots: int, memory_mb: int, gpus: int) -> Usage:
        """Never below zero: giving back more than is held is a bookkeeping slip the registry
        should log, not a negative count that would let the host be oversubscribed."""
        return Usage(
            max(0, self.slots - slots),
            max(0, self.memory_mb - memory_mb),
            max(0, self.gpus - gpus),
        )


IDLE = Usage()


@dataclass(frozen=True, slots=True)
class Host:
    """One member of the farm, at one moment."""

    name: str
    resources: Resources = field(default_factory=Resources)
    slots_total: int = 1
    properties: Mapping[str, str] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    cluster: str = ROOT_CLUSTER
    restrictions: Restrictions | None = None
    state: HostState = HostState.UP
    in_use: Usage = IDLE

    @property
    def free_slots(self) -> int:
        return max(0, self.slots_total - self.in_use.slots)

    @property
    def free_memory_mb(self) -> int:
        return max(0, self.resources.memory_mb - self.in_use.memory_mb)

    @property
    def free_gpus(self) -> int:
        return max(0, self.resources.gpus - self.in_use.gpus)

    @property
    def accepts_work(self) -> bool:
        """Up and not locked: new frames may start here."""
        return self.state is HostState.UP

    def with_usage(self, in_use: Usage) -> Host:
        return replace(self, in_use=in_use)

    def with_state(self, state: HostState) -> Host:
        return replace(self, state=state)

    def idle(self) -> Host:
        """The same host with nothing running and up: what it could ever offer."""
        if self.in_use == IDLE and self.state is HostState.UP:
            return self
        return replace(self, in_use=IDLE, state=HostState.UP)


def parse_properties(text: str) -> dict[str, str]:
    """``key=value[,key=value...]`` (Qube's ``worker_properties``, ``host.`` prefix optional)
    into a dict; values are taken verbatim up to the next comma (quotes are stripped)."""
    properties: dict[str, str] = {}
    offset = 0
    for item in text.split(","):
        start = offset + len(item) - len(item.lstrip())
        offset += len(item) + 1
        entry = item.strip()
        if not entry:
            if text.strip():
                raise RoutingSyntaxError("empty property between commas", start)
            continue
        key, equals, value = entry.partition("=")
        key = key.strip()
        key = key.removeprefix("host.")
        if not equals:
            raise RoutingSyntaxError(f"{entry!r} is not key=value", start)
        if PROPERTY_KEY.fullmatch(key) is None:
            raise RoutingSyntaxError(
                f"property key {key!r} is not a name", start, "use letters, digits and '_'"
            )
        if key in properties:
            raise RoutingSyntaxError(f"property {key!r} given twice", start)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        properties[key] = value
    return properties
