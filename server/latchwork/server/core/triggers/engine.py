"""The trigger engine: latches atoms as events arrive and decides when callbacks fire.

Semantics (docs/triggers.md):

- An atom latches when its event happens and stays latched until its callback fires; firing
  resets the latches, so the callback can fire again, up to ``max`` times.
- ``*`` binds the work (or subjob, or host) name. Latches of ``*`` atoms are kept per binding; atoms
  without ``*`` are shared by every binding. A binding that fires resets only its own latches.
- Dispatch is indexed by (event name, type, job id): an event visits only the callbacks that
  watch exactly that, never the whole registry.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events import Event, EventType
from ..model import CallbackSpec
from .resolve import Watch
from .syntax import Atom, Expr, atoms, evaluate

IndexKey = tuple[str, str, int]
TIMED_TYPES = frozenset(
    {EventType.TIME, EventType.REPEAT, EventType.GLOBALTIME, EventType.GLOBALREPEAT}
)


@dataclass(slots=True)
class Callback:
    id: int
    job_id: int
    spec: CallbackSpec
    expr: Expr
    watches: list[Watch]
    fired: int = 0
    from_dependency: bool = False
    shared: set[int] = field(default_factory=set)
    bound: dict[str, set[int]] = field(default_factory=dict)
    timer_marks: dict[int, int] = field(default_factory=dict)
    registered_seq: int = 0
    suspended: str = ""  # why the firing budget stopped it (docs/callbacks.md); "" if not
    # Bindings of '*' it ignores: a dependency's frames that wait under callbacks of their own
    # (core.triggers.dependency). Derived from the job's callbacks, not stored.
    skip_work: frozenset[str] = frozenset()
    # The callbacks.conf file a universal callback came from; "" for the job's own
    # (docs/callbacks.md#universal-callbacks). Kept with the latch state: no column needed.
    universal: str = ""
    # The seq of the event that latched each latched position (shared, and per binding), for
    # the latch inspector (core.explain). Kept with the latch state; absent for latches made
    # by an event without a seq (0) or before the supervisor kept them.
    shared_seqs: dict[int, int] = field(default_factory=dict)
    bound_seqs: dict[str, dict[int, int]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether events still latch and fire it: neither at its ``max`` nor suspended."""
        return not (self.exhausted or self.suspended)

    @property
    def has_wildcard(self) -> bool:
        return any(w.wildcard for w in self.watches)

    @property
    def exhausted(self) -> bool:
        return self.spec.max > 0 and self.fired >= self.spec.max

    @property
    def watched_jobs(self) -> list[int] | None:
        """The jobs whose events can latch it, or None when a clock or the whole farm can
        (time, repeat and global atoms; host events). Stored with it (``callback_watches``),
        so that a retired job's callback can stay in the store until one of these jobs has
        an event (:mod:`latchwork.server.dormant_callbacks`)."""
        jobs: set[int] = set()
        for watch in self.watches:
            if watch.type in TIMED_TYPES or not watch.job_id:
                return None
            jobs.add(watch.job_id)
        return sorted(jobs)

    def state(self) -> dict[str, Any]:
        """The latch state, any suspension and the universal origin, as stored: restored
        exactly after a restart."""
        state: dict[str, Any] = {
            "shared": sorted(self.shared),
            "bound": {k: sorted(v) for k, v in self.bound.items()},
            "timers": {str(k): v for k, v in self.timer_marks.items()},
        }
        if self.suspended:
            state["suspended"] = self.suspended
        if self.universal:
            state["universal"] = self.universal
        if self.shared_seqs or self.bound_seqs:
            state["seqs"] = {
                "shared": {str(k): v for k, v in sorted(self.shared_seqs.items())},
                "bound": {
                    b: {str(k): v for k, v in sorted(seqs.items())}
                    for b, seqs in self.bound_seqs.items()
                },
            }
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        self.shared = set(state.get("shared", ()))
        self.bound = {k: set(v) for k, v in state.get("bound", {}).items()}
        self.timer_marks = {int(k): int(v) for k, v in state.get("timers", {}).items()}
        self.suspended = str(state.get("suspended", ""))
        self.universal = str(state.get("universal", ""))
        seqs = state.get("seqs", {})
        self.shared_seqs = {int(k): int(v) for k, v in seqs.get("shared", {}).items()}
        self.bound_seqs = {
            b: {int(k): int(v) for k, v in positions.items()}
            for b, positions in seqs.get("bound", {}).items()
        }

    def note_latch(self, binding: str | None, position: int, seq: int) -> None:
        """Remember which event latched ``position`` (``binding`` None: a shared latch); the
        first one counts, as the latch itself does. A seq of 0 (unknown) is not kept."""
        if seq <= 0:
            return
        seqs = self.shared_seqs if binding is None else self.bound_seqs.setdefault(binding, {})
        seqs.setdefault(position, seq)

    def latched_seq(self, binding: str | None, position: int) -> int:
        """The seq of the event that latched ``position`` (0: not latched, or unknown)."""
        if binding is None:
            return self.shared_seqs.get(position, 0)
        return self.bound_seqs.get(binding, {}).get(position, 0)


@dataclass(frozen=True, slots=True)
class Firing:
    """A callback whose trigger held: run its code with this binding for this event."""

    callback: Callback
    binding: str
    event: Event


JobData = Callable[[int], Mapping[str, str] | None]


class TriggerEngine:
    def __init__(self, job_data: JobData) -> None:
        self._job_data = job_data
        self.callbacks: dict[int, Callback] = {}
        # (name, type, job) -> {"": watches of any work item or subjob (no extra, or *),
        #                       name: watches of that named work item or subjob}
        self._index: dict[IndexKey, dict[str, list[tuple[int, int]]]] = {}
        self._timed: dict[int, list[int]] = {}
        self._by_job: dict[int, list[int]] = {}
        self.touched: set[int] = set()

    # --- registry ----------------------------------------------------------------------

    def add(self, callback: Callback) -> None:
        """Index a callback (its latches as they are: new, or restored from the store)."""
        self.callbacks[callback.id] = callback
        self._by_job.setdefault(callback.job_id, []).append(callback.id)
        if not callback.active:
            return
        for position, watch in enumerate(callback.watches):
            if watch.type in TIMED_TYPES:
                self._timed.setdefault(callback.id, []).append(position)
                continue  # latched by the timer (latch_timer), not by events
            for name in watch.names:
                key = (name.value, watch.type.value, watch.job_id)
                self._index.setdefault(key, {}).setdefault(_named(watch), []).append(
                    (callback.id, position)
                )

    def remove(self, callback_id: int) -> None:
        callback = self.callbacks.pop(callback_id, None)
        if callback is not None:
            self.remove_from_index(callback)
            of_job = self._by_job[callback.job_id]
            of_job.remove(callback_id)
            if not of_job:
                del self._by_job[callback.job_id]

    def remove_job(self, job_id: int) -> None:
        for callback_id in list(self._by_job.get(job_id, ())):
            self.remove(callback_id)

    def watch_count(self, key: IndexKey) -> int:
        return sum(len(entries) for entries in self._index.get(key, {}).values())

    def catch_up(self, callback: Callback, history: Iterable[Event]) -> list[Firing]:
        """Latch every atom whose event already happened, then fire once if the trigger holds.

        Latching, not replaying: a job that completed three times latches
        ``complete-job-A`` once, and the callback fires once (per binding), not three times.
        """
        latest: dict[str, Event] = {}
        for event in history:
            for position, watch in enumerate(callback.watches):
                if (
                    watch.type in TIMED_TYPES
                    or event.name not in watch.names
                    or event.type is not watch.type
                    or event.job_id != watch.job_id
                ):
                    continue
                binding = watch.matches_extra(event.work_name, event.subjob_id, event.host)
                if binding is None or not self._criteria_hold(callback, event.job_id):
                    continue
                if watch.wildcard and binding in callback.skip_work:
                    continue
                if watch.wildcard:
                    callback.bound.setdefault(binding, set()).add(position)
                    callback.note_latch(binding, position, event.seq)
                else:
                    callback.shared.add(position)
                    callback.note_latch(None, position, event.seq)
                latest[binding] = event
                self.touched.add(callback.id)
        firings: list[Firing] = []
        shared_event = latest.get("")
        for binding in sorted(callback.bound) if callback.has_wildcard else []:
            seen = [e for e in (latest.get(binding), shared_event) if e is not None]
            if seen:
                latest_seen = max(seen, key=lambda e: e.seq)
                firings.extend(self._fire_ready(callback, [binding], latest_seen))
        if shared_event is not None:
            firings.extend(self._fire_ready(callback, [""], shared_event))
        return firings

    # --- events --------------------------------------------------------------------------

    def observe(self, event: Event) -> list[Firing]:
        slot = self._index.get((event.name.value, event.type.value, event.job_id))
        if not slot:
            return []
        entries = slot.get("", [])
        if len(slot) > 1 or not entries:
            extra = _extra_of(event)
            if named := slot.get(extra):
                entries = [*entries, *named]
        if not entries:
            return []
        firings: list[Firing] = []
        for callback_id, position in list(entries):
            callback = self.callbacks.get(callback_id)
            if callback is not None and callback.active:
                firings.extend(self._latch(callback, position, event))
        return firings

    def _criteria_hold(self, callback: Callback, job_id: int) -> bool:
        if not callback.spec.criteria:
            return True
        data = self._job_data(job_id) or {}
        return all(
            key in data and fnmatch.fnmatchcase(data[key], pattern)
            for key, pattern in callback.spec.criteria.items()
        )

    def _latch(self, callback: Callback, position: int, event: Event) -> list[Firing]:
        watch = callback.watches[position]
        binding = watch.matches_extra(event.work_name, event.subjob_id, event.host)
        if binding is None or not self._criteria_hold(callback, event.job_id):
            return []
        if watch.wildcard and binding in callback.skip_work:
            return []
        if watch.wildcard:
            latched = callback.bound.setdefault(binding, set())
            if position in latched:
                return []
            latched.add(position)
            callback.note_latch(binding, position, event.seq)
            candidates = [binding]
        else:
            if position in callback.shared:
                return []
            callback.shared.add(position)
            callback.note_latch(None, position, event.seq)
            candidates = list(callback.bound) if callback.has_wildcard else []
            candidates.append("")
        self.touched.add(callback.id)
        return self._fire_ready(callback, candidates, event)

    def latch_timer(
        self, callback: Callback, position: int, event: Event, mark: int
    ) -> list[Firing]:
        """A time or repeat atom's moment came; ``mark`` records which occurrence it was."""
        callback.timer_marks[position] = mark
        callback.shared.add(position)
        callback.note_latch(None, position, event.seq)
        self.touched.add(callback.id)
        candidates = [*callback.bound, ""] if callback.has_wildcard else [""]
        return self._fire_ready(callback, candidates, event)

    def _fire_ready(self, callback: Callback, candidates: list[str], event: Event) -> list[Firing]:
        firings: list[Firing] = []
        all_atoms = atoms(callback.expr)
        for binding in candidates:
            if callback.exhausted:
                break
            latched = callback.shared | callback.bound.get(binding, set())
            holds: set[Atom] = {all_atoms[i] for i in latched}
            if not evaluate(callback.expr, holds):
                continue
            callback.fired += 1
            if binding:
                callback.bound.pop(binding, None)
                callback.bound_seqs.pop(binding, None)
            else:
                callback.shared.clear()
                callback.shared_seqs.clear()
            firings.append(Firing(callback, binding, event))
        if callback.exhausted:
            self.remove_from_index(callback)
        return firings

    def suspend(self, callback: Callback, reason: str) -> None:
        """Stop a callback for good (it stays listed, with the reason): the firing budget's
        answer to a runaway. Its latches are dropped; nothing brings it back but a new one."""
        callback.suspended = reason
        callback.shared.clear()
        callback.bound.clear()
        callback.shared_seqs.clear()
        callback.bound_seqs.clear()
        self.remove_from_index(callback)
        self.touched.add(callback.id)

    def remove_from_index(self, callback: Callback) -> None:
        """Stop dispatching to a callback that reached its ``max`` or was suspended (it stays
        listed)."""
        self._timed.pop(callback.id, None)
        for watch in callback.watches:
            for name in watch.names:
                key = (name.value, watch.type.value, watch.job_id)
                slot = self._index.get(key, {})
                entries = slot.get(_named(watch), [])
                entries[:] = [e for e in entries if e[0] != callback.id]
                if not entries:
                    slot.pop(_named(watch), None)
                if not slot:
                    self._index.pop(key, None)

    def timers(self) -> list[tuple[Callback, int, Watch]]:
        """Every time, repeat and global time atom of an active callback."""
        result = []
        for callback_id, positions in self._timed.items():
            callback = self.callbacks[callback_id]
            if not callback.active:
                continue
            for position in positions:
                result.append((callback, position, callback.watches[position]))
        return result

    def of_job(self, job_id: int) -> list[Callback]:
        return [self.callbacks[i] for i in self._by_job.get(job_id, ())]


_NAMED_TYPES = (EventType.WORK, EventType.SUBJOB, EventType.HOST)


def _named(watch: Watch) -> str:
    """The work item, subjob or host a watch names; "" when it has none or ``*`` (any)."""
    if watch.type in _NAMED_TYPES and watch.extra != "*":
        return watch.extra
    return ""


def _extra_of(event: Event) -> str:
    """What an event names, for the watches of one work item, subjob or host."""
    if event.type is EventType.WORK:
        return event.work_name
    if event.type is EventType.HOST:
        return event.host
    return str(event.subjob_id)
