"""Qube's ``reservations``: what one running frame takes from its host and from the farm.

What Latchwork takes and refuses, after Qube's syntax (PipelineFX, "Job Reservations",
docs.pipelinefx.com/display/QUBE/Job+Reservations, and "System-Wide Resource Tracking"):
docs/routing.md, "reservations". In short: ``host.processors=N`` (job slots, default 1),
``host.memory=MB``, ``host.gpus=N`` and ``global.<name>=N`` (a configured global resource when
the caller passes the known names); Qube's slot ranges and its ``global_host.*``,
``license.*`` and ``license_host.*`` kinds are refused, naming the item and its offset.

A frame takes its reservation when it starts on a host and gives all of it back when it ends,
whatever the end: the host's share through :class:`~.hosts.Usage`, the global share through
:class:`~.licences.GlobalResources` (keyed by the frame's lease, so giving back is idempotent).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from .errors import RoutingSyntaxError

MAX_RESERVATIONS_LENGTH = 4_096
MAX_QUANTITY = 10**9
"""Larger than any host or licence pool; bounds the integer a user can make us hold."""

GLOBAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_QUANTITY = re.compile(r"[0-9]{1,10}")
_HOST_RESOURCES = {"processors": 1, "memory": 0, "gpus": 0}
"""Host resource -> its smallest allowed quantity."""
_REFUSED_TYPES = {
    "global_host": "per-host global resources",
    "license": "externally updated licence resources",
    "license_host": "per-host licence resources",
}


@dataclass(frozen=True, slots=True)
class Reservation:
    """What each running frame of a job holds."""

    processors: int = 1
    memory_mb: int = 0
    gpus: int = 0
    globals: tuple[tuple[str, int], ...] = ()
    """(global resource, quantity), sorted by name; quantities of 0 are dropped."""

    @property
    def global_amounts(self) -> dict[str, int]:
        return dict(self.globals)

    def format(self) -> str:
        """The canonical text: every host resource that differs from the default, then globals."""
        parts = [f"host.processors={self.processors}"]
        if self.memory_mb:
            parts.append(f"host.memory={self.memory_mb}")
        if self.gpus:
            parts.append(f"host.gpus={self.gpus}")
        parts += [f"global.{name}={amount}" for name, amount in self.globals]
        return ",".join(parts)


DEFAULT_RESERVATION = Reservation()


def parse_reservations(text: str, known_globals: Collection[str] | None = None) -> Reservation:
    """``text`` as a Reservation; raises RoutingSyntaxError naming the item and its offset.

    With ``known_globals`` (the configured global resources), a ``global.<name>`` outside it
    is refused too, so a typo is caught at submit instead of a job that waits forever.
    """
    if len(text) > MAX_RESERVATIONS_LENGTH:
        raise RoutingSyntaxError(
            f"longer than {MAX_RESERVATIONS_LENGTH} characters", MAX_RESERVATIONS_LENGTH
        )
    if not text.strip():
        return DEFAULT_RESERVATION
    host: dict[str, int] = {}
    globals_: dict[str, int] = {}
    offset = 0
    for item in text.split(","):
        _parse_item(item, offset, host, globals_, known_globals)
        offset += len(item) + 1
    return Reservation(
        processors=host.get("processors", 1),
        memory_mb=host.get("memory", 0),
        gpus=host.get("gpus", 0),
        globals=tuple(sorted((k, v) for k, v in globals_.items() if v)),
    )


def _parse_item(
    item: str,
    offset: int,
    host: dict[str, int],
    globals_: dict[str, int],
    known_globals: Collection[str] | None,
) -> None:
    start = offset + len(item) - len(item.lstrip())
    entry = item.strip()
    if not entry:
        raise RoutingSyntaxError("empty reservation between commas", start)
    key, equals, raw_quantity = entry.partition("=")
    key = key.rstrip()
    if not equals:
        raise RoutingSyntaxError(
            f"{entry!r} is not type.name=quantity", start, "e.g. host.memory=4000"
        )
    quantity_offset = start + len(entry.partition("=")[0]) + 1
    quantity_offset += len(raw_quantity) - len(raw_quantity.lstrip())
    kind, dot, name = key.partition(".")
    if not dot or not name:
        raise RoutingSyntaxError(
            f"{key!r} is not type.name",
            start,
            "use host.processors, host.memory, host.gpus or global.<resource>",
        )
    if kind in _REFUSED_TYPES:
        raise RoutingSyntaxError(f"{kind}.* ({_REFUSED_TYPES[kind]}) is not supported", start)
    if kind == "host":
        if name not in _HOST_RESOURCES:
            raise RoutingSyntaxError(
                f"unknown host resource {key!r}", start,
                "use host.processors, host.memory or host.gpus",
            )  # fmt: skip
        target, smallest = host, _HOST_RESOURCES[name]
    elif kind == "global":
        if GLOBAL_NAME.fullmatch(name) is None:
            raise RoutingSyntaxError(f"{name!r} is not a resource name", start + len(kind) + 1)
        if known_globals is not None and name not in known_globals:
            known = ", ".join(sorted(known_globals)) or "none is configured"
            raise RoutingSyntaxError(
                f"unknown global resource {name!r}", start + len(kind) + 1, f"known: {known}"
            )
        target, smallest = globals_, 0
    else:
        raise RoutingSyntaxError(f"unknown resource type {kind!r}", start, "use host or global")
    if name in target:
        raise RoutingSyntaxError(f"{key} is reserved twice", start)
    target[name] = _quantity(key, raw_quantity.strip(), quantity_offset, smallest)


def _quantity(key: str, text: str, offset: int, smallest: int) -> int:
    if key == "host.processors" and (text == "all" or text.endswith(("+", "*")) or "-" in text):
        raise RoutingSyntaxError(
            f"{key}={text}: slot ranges are not supported",
            offset,
            "reserve a fixed number of slots, e.g. host.processors=4",
        )
    if _QUANTITY.fullmatch(text) is None:
        raise RoutingSyntaxError(
            f"{key}: {text!r} is not a whole number" if text else f"{key}: missing quantity",
            offset,
        )
    value = int(text)
    if value < smallest:
        raise RoutingSyntaxError(f"{key} must be at least {smallest}", offset)
    if value > MAX_QUANTITY:
        raise RoutingSyntaxError(f"{key}={value} is more than {MAX_QUANTITY}", offset)
    return value


def host_share(reservation: Reservation) -> tuple[int, int, int]:
    """(slots, memory MB, GPUs) one frame takes from its host: what :meth:`Usage.plus` adds."""
    return reservation.processors, reservation.memory_mb, reservation.gpus
