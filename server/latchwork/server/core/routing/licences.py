"""Global resources (licence counters): how many of each the farm may use at once.

The admin configures limits (``nuke = 10``; Qube's ``supervisor_global_resources``,
"System-Wide Resource Tracking" on docs.pipelinefx.com); a frame whose job reserves
``global.nuke=1`` takes one when it starts and gives it back when it ends, whatever the end.
The invariant this module keeps is the one issue 12 demands under concurrent leasing by many
workers: in use never exceeds the limit, and never goes below zero.

How it keeps it:

- ``take(holder, amounts)`` is all or none: either every resource had room and the holder now
  holds all of them, or nothing changed and the answer says which resource is exhausted.
- What a holder took is remembered per holder (the scheduler uses the lease id), so
  ``give_back(holder)`` returns exactly that, and a second give-back (a lease reported lost and
  then completed) is a no-op instead of a count gone negative.
- A lock makes each call atomic if the caller's threads ever share one instance (the
  supervisor's event loop is single-threaded today; the lock costs little and removes the
  question).

Pure bookkeeping: nothing here is persisted. After a restart the supervisor rebuilds the counts
from the leases it re-attaches (``adopt``), which may exceed a limit lowered meanwhile: running
work is never killed to honour a new limit, new takes wait until usage is back under it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from .errors import RoutingSyntaxError
from .reservations import GLOBAL_NAME, MAX_QUANTITY

_ITEM = re.compile(r"\s*(?:global\.)?([^\s=]*)\s*=\s*([^\s]*)\s*")


@dataclass(frozen=True, slots=True)
class Exhausted:
    """Why a take was refused: the first resource without room (or not configured at all)."""

    resource: str
    wanted: int
    in_use: int
    limit: int | None  # None: no such global resource is configured

    def __str__(self) -> str:
        if self.limit is None:
            return f"global resource {self.resource!r} is not configured"
        text = f"licence {self.resource} {self.in_use}/{self.limit} in use"
        return text if self.wanted == 1 else f"{text}, {self.wanted} wanted"


class GlobalResources:
    """Limits and what each holder holds; every method is atomic."""

    def __init__(self, limits: Mapping[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, int] = {}
        self._in_use: dict[str, int] = {}
        self._held: dict[Hashable, dict[str, int]] = {}
        for name, limit in (limits or {}).items():
            self.set_limit(name, limit)

    # --- reading -------------------------------------------------------------------------

    @property
    def limits(self) -> dict[str, int]:
        with self._lock:
            return dict(self._limits)

    def in_use(self, name: str) -> int:
        with self._lock:
            return self._in_use.get(name, 0)

    def held_by(self, holder: Hashable) -> dict[str, int]:
        with self._lock:
            return dict(self._held.get(holder, {}))

    def usage(self) -> dict[str, tuple[int, int]]:
        """Resource -> (in use, limit), for the API and the dashboard."""
        with self._lock:
            return {name: (self._in_use.get(name, 0), lim) for name, lim in self._limits.items()}

    def shortfall(self, amounts: Mapping[str, int]) -> Exhausted | None:
        """What ``take`` would refuse for, without taking: None when everything has room."""
        with self._lock:
            return self._shortfall(amounts)

    def could_ever(self, amounts: Mapping[str, int]) -> Exhausted | None:
        """The first resource whose *limit* is below the amount (or not configured): such a
        job waits forever whatever ends, and should say so."""
        with self._lock:
            for name, wanted in sorted(amounts.items()):
                limit = self._limits.get(name)
                if wanted > 0 and (limit is None or wanted > limit):
                    return Exhausted(name, wanted, self._in_use.get(name, 0), limit)
            return None

    # --- changing ------------------------------------------------------------------------

    def take(self, holder: Hashable, amounts: Mapping[str, int]) -> Exhausted | None:
        """Take ``amounts`` for ``holder``, all or none; None when taken, else the refusal.

        A holder takes once (a frame's whole reservation at start): taking again before giving
        back is a bug in the caller and raises ValueError.
        """
        wanted = {name: amount for name, amount in amounts.items() if amount > 0}
        if any(amount < 0 for amount in amounts.values()):
            raise ValueError(f"negative amounts: {dict(amounts)}")
        with self._lock:
            if holder in self._held:
                raise ValueError(f"{holder!r} already holds {self._held[holder]}")
            refusal = self._shortfall(wanted)
            if refusal is not None:
                return refusal
            for name, amount in wanted.items():
                self._in_use[name] = self._in_use.get(name, 0) + amount
            if wanted:
                self._held[holder] = wanted
            return None

    def give_back(self, holder: Hashable) -> dict[str, int]:
        """Give back all that ``holder`` holds and return it; nothing (and {}) if it holds none."""
        with self._lock:
            held = self._held.pop(holder, {})
            for name, amount in held.items():
                remaining = self._in_use.get(name, 0) - amount
                if remaining > 0:
                    self._in_use[name] = remaining
                else:
                    self._in_use.pop(name, None)
            return held

    def adopt(self, holder: Hashable, amounts: Mapping[str, int]) -> None:
        """Record what a frame that is already running holds (a lease re-attached after a
        restart), without checking limits: the frame runs whatever the count says."""
        wanted = {name: amount for name, amount in amounts.items() if amount > 0}
        with self._lock:
            previous = self._held.pop(holder, {})
            for name, amount in previous.items():
                self._in_use[name] = max(0, self._in_use.get(name, 0) - amount)
            for name, amount in wanted.items():
                self._in_use[name] = self._in_use.get(name, 0) + amount
            if wanted:
                self._held[holder] = wanted

    def set_limit(self, name: str, limit: int) -> None:
        """Add or change a resource's limit. Lowering it below what is in use refuses new takes
        until enough is given back; running frames keep theirs."""
        if GLOBAL_NAME.fullmatch(name) is None:
            raise ValueError(f"{name!r} is not a global resource name")
        if not 0 <= limit <= MAX_QUANTITY:
            raise ValueError(f"limit of {name} must be between 0 and {MAX_QUANTITY}: {limit}")
        with self._lock:
            self._limits[name] = limit

    def remove_limit(self, name: str) -> None:
        """Stop offering ``name``: new takes of it are refused, holders keep theirs."""
        with self._lock:
            self._limits.pop(name, None)

    def _shortfall(self, amounts: Mapping[str, int]) -> Exhausted | None:
        for name, wanted in sorted(amounts.items()):
            if wanted <= 0:
                continue
            limit = self._limits.get(name)
            in_use = self._in_use.get(name, 0)
            if limit is None or in_use + wanted > limit:
                return Exhausted(name, wanted, in_use, limit)
        return None


def parse_limits(text: str) -> dict[str, int]:
    """The admin's limits: ``name = N`` items, one per line or comma-separated (a ``global.``
    prefix, as Qube writes them, is allowed; ``#`` starts a comment). Raises
    RoutingSyntaxError with the offset of a bad item."""
    limits: dict[str, int] = {}
    offset = 0
    for line in text.splitlines(keepends=True):
        content = line.split("#", 1)[0]
        position = offset
        for item in content.rstrip("\r\n").split(","):
            if item.strip():
                name, limit = _limit_item(item, position)
                if name in limits:
                    raise RoutingSyntaxError(f"{name} is limited twice", position)
                limits[name] = limit
            position += len(item) + 1
        offset += len(line)
    return limits


def _limit_item(item: str, offset: int) -> tuple[str, int]:
    start = offset + len(item) - len(item.lstrip())
    match = _ITEM.fullmatch(item)
    if match is None:
        raise RoutingSyntaxError(f"{item.strip()!r} is not name = limit", start, "e.g. nuke = 10")
    name, limit = match.group(1), match.group(2)
    if GLOBAL_NAME.fullmatch(name) is None:
        raise RoutingSyntaxError(f"{name!r} is not a resource name", start)
    if re.fullmatch(r"[0-9]{1,10}", limit) is None or int(limit) > MAX_QUANTITY:
        raise RoutingSyntaxError(
            f"limit of {name} must be a whole number up to {MAX_QUANTITY}", start
        )
    return name, int(limit)
