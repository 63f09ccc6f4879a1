"""The farm's hosts: every registered worker, and the supervisor's own pool, is a host.

A host is named by its worker (``RegisterWorkerRequest.host``) and holds what the worker
declared (slots, resources, properties, groups, cluster, restrictions), its state (up or down),
an admin's lock (no new work; running work finishes: a drain), what its running frames reserve,
and when it registered and last sent a heartbeat. Hosts are kept by name, in memory and in the
store (one row each, :mod:`.store.hosts`), so a restarted supervisor lists its farm.

Decisions:

- **Names are unique.** A worker registering under the name of a host that is down (or new)
  makes it up. Under the name of a host that is *up* it takes the host over, with no event:
  that is most often the same machine's worker started again after a crash, before the old
  registration was found lost (the worker's instance lock allows one worker per name and
  supervisor on a machine). The earlier worker keeps its leases until it leaves or is lost;
  its loss no longer marks the host down, since the host is its successor's.
- **After a restart every host is down**, with no event, until its worker registers again
  (then ``up``). Its lock is kept. What was up before the restart is not stored.
- **The supervisor's own pool** (``local``) is up exactly while the supervisor runs, so its
  coming up at each start is no event (subscribers see the supervisor start anyway, and the log
  does not begin each start with it); it is locked and unlocked like any host, with events.
- **Heartbeats are kept in memory**, and stored with the host's next change (a registration, a
  loss, a lock): a store write per heartbeat per host would cost more than it tells.
- **State changes are events** of type ``host`` (``up``, ``down``, ``locked``, ``unlocked``, the
  host's name in ``host``, job 0), committed through the commit pipeline like every event:
  numbered, stored, published, seen by triggers. The host's row is written just before its
  event's commit; a change is applied in memory only once both are stored.
- A worker registered without a declaration (``register(worker_id, None)``, unit tests that call
  the supervisor directly) is no host: it leases as workers did before hosts existed, and
  :meth:`HostRegistry.routing_host` answers None for it.

The API other services use (exact signatures):

- ``register(worker_id: str, info: HostInfo | None) -> None``, ``heartbeat(worker_id) -> None``,
  ``worker_gone(worker_id: str, reason: str) -> None`` (work_leasing's register / heartbeat /
  drop paths);
- ``accepts_work(worker_id: str) -> bool``: False while the worker's host is down or locked
  (the lease path asks it before handing out work; True for a worker with no host);
- ``routing_host(worker_id: str) -> core.routing.hosts.Host | None``: a snapshot of the worker's
  host with its current usage, for the scheduler (None: unknown worker, or no host);
- ``note_started(worker_id: str, lease_id: str, reservation: Reservation) -> None`` and
  ``note_ended(lease_id: str) -> None``: a frame took / gave back its host share (idempotent);
- ``control(action: HostAction, names: Sequence[str], reason: str) -> tuple[list[tuple[str,
  bool]], int]``: lock or unlock hosts, all or none (NotFound names the first unknown one);
  returns (name, changed) per host and the seq of the last event (0: none);
- ``hosts(names: Collection[str] = ()) -> list[HostView]``, ``get(name: str) -> HostView | None``
  and ``workers_of(name: str) -> list[str]`` for the reads.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from .core.changes import Changes
from .core.errors import NotFound
from .core.events import Event, EventName, EventType
from .core.routing.hosts import Host, HostState, Resources, Usage
from .core.routing.reservations import Reservation, host_share
from .core.routing.restrictions import ROOT_CLUSTER, Restrictions, parse_restrictions
from .store.hosts import StoredHost

log = logging.getLogger(__name__)


class HostCommit(Protocol):
    """The commit pipeline's ``commit``, as the registry calls it: its host rows are written in
    the transaction of the events that announce their change."""

    def __call__(self, changes: Changes, *, hosts: Sequence[StoredHost]) -> None: ...


class HostAction(StrEnum):
    LOCK = "lock"
    UNLOCK = "unlock"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What a worker declares about its host when it registers (already checked)."""

    name: str
    slots: int = 1
    resources: Resources = field(default_factory=Resources)
    properties: Mapping[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    cluster: str = ""
    restrictions: str = ""
    local: bool = False


@dataclass(frozen=True, slots=True)
class HostView:
    """A host as the reads show it, at one moment."""

    info: HostInfo
    up: bool
    locked: bool
    lock_reason: str
    in_use: Usage
    registered: float
    last_heartbeat: float

    @property
    def name(self) -> str:
        return self.info.name


@dataclass(slots=True)
class _Host:
    info: HostInfo
    up: bool = False
    locked: bool = False
    lock_reason: str = ""
    registered: float = 0.0
    last_heartbeat: float = 0.0
    worker_id: str = ""  # the worker that holds the host now ("" when down)
    in_use: Usage = field(default_factory=Usage)

    def stored(self) -> StoredHost:
        info = self.info
        return StoredHost(
            name=info.name,
            slots=info.slots,
            resources=info.resources,
            properties=dict(info.properties),
            groups=info.groups,
            cluster=info.cluster,
            restrictions=info.restrictions,
            local=info.local,
            locked=self.locked,
            lock_reason=self.lock_reason,
            registered=self.registered,
            last_heartbeat=self.last_heartbeat,
        )

    def view(self) -> HostView:
        return HostView(
            self.info,
            self.up,
            self.locked,
            self.lock_reason,
            self.in_use,
            self.registered,
            self.last_heartbeat,
        )


@dataclass(frozen=True, slots=True)
class _Running:
    host: str
    worker_id: str
    share: tuple[int, int, int]


class HostRegistry:
    """The hosts by name, the worker that holds each, and what runs there."""

    def __init__(
        self,
        save: Callable[[list[StoredHost]], None],
        commit: HostCommit,
        clock: Callable[[], float],
    ) -> None:
        """``save`` writes host rows (the store's ``save_hosts``); ``commit`` is the commit
        pipeline's."""
        self._save = save
        self._commit = commit
        self._clock = clock
        self._hosts: dict[str, _Host] = {}
        self._workers: dict[str, str] = {}  # worker id -> host name
        self._running: dict[str, _Running] = {}  # lease id -> where it runs and what it holds

    def load(self, stored: Sequence[StoredHost]) -> None:
        """The hosts a previous supervisor knew: all down until their workers register."""
        for row in stored:
            info = HostInfo(
                name=row.name,
                slots=row.slots,
                resources=row.resources,
                properties=dict(row.properties),
                groups=tuple(row.groups),
                cluster=row.cluster,
                restrictions=row.restrictions,
                local=row.local,
            )
            self._hosts[row.name] = _Host(
                info,
                locked=row.locked,
                lock_reason=row.lock_reason,
                registered=row.registered,
                last_heartbeat=row.last_heartbeat,
            )

    # --- workers come and go ---------------------------------------------------------------

    def register(self, worker_id: str, info: HostInfo | None) -> None:
        """A worker registered; with a declaration, its host is up (an ``up`` event unless
        it was up already and the worker takes it over, or it is the supervisor's own pool)."""
        if info is None:
            return
        now = self._clock()
        known = self._hosts.get(info.name)
        host = _Host(
            info,
            up=True,
            locked=known.locked if known else False,
            lock_reason=known.lock_reason if known else "",
            registered=now,
            last_heartbeat=0.0 if info.local else now,
            worker_id=worker_id,
            in_use=known.in_use if known and known.up else Usage(),
        )
        changes = Changes(now=now)
        if known is not None and known.up:
            log.info(
                "host %s: worker %s takes over from %s",
                info.name,
                worker_id,
                known.worker_id,
                extra={"host": info.name, "worker_id": worker_id},
            )
        elif not info.local:
            changes.emit(_host_event(EventName.UP, info.name, _describe(info)))
        self._store(changes, [host])
        self._hosts[info.name] = host
        self._workers[worker_id] = info.name

    def heartbeat(self, worker_id: str) -> None:
        host = self._host_of(worker_id)
        if host is not None and host.worker_id == worker_id:
            host.last_heartbeat = self._clock()

    def worker_gone(self, worker_id: str, reason: str) -> None:
        """A worker left or was lost: its host is down (a ``down`` event), unless another
        worker holds the host now. Its frames' reservations are given back."""
        name = self._workers.get(worker_id)
        if name is None:
            return
        host = self._hosts[name]
        if host.up and host.worker_id == worker_id:
            changes = Changes(now=self._clock())
            changes.emit(_host_event(EventName.DOWN, name, reason))
            gone = replace(host, up=False, worker_id="", in_use=Usage())
            self._store(changes, [gone])
            self._hosts[name] = gone
        del self._workers[worker_id]
        for lease_id in [k for k, run in self._running.items() if run.worker_id == worker_id]:
            self.note_ended(lease_id)

    # --- what the lease path asks ----------------------------------------------------------

    def accepts_work(self, worker_id: str) -> bool:
        """False while the worker's host is down or locked (True for a worker with no host)."""
        host = self._host_of(worker_id)
        return host is None or (host.up and not host.locked)

    def routing_host(self, worker_id: str) -> Host | None:
        """The worker's host as routing sees it, with what is in use there now."""
        host = self._host_of(worker_id)
        if host is None:
            return None
        info = host.info
        if not host.up:
            state = HostState.DOWN
        elif host.locked:
            state = HostState.LOCKED
        else:
            state = HostState.UP
        return Host(
            name=info.name,
            resources=info.resources,
            slots_total=info.slots,
            properties=info.properties,  # HostInfo is frozen and never changed in place
            groups=frozenset(info.groups),
            cluster=info.cluster or ROOT_CLUSTER,
            restrictions=_restrictions(info.restrictions) if info.restrictions else None,
            state=state,
            in_use=host.in_use,
        )

    def note_started(self, worker_id: str, lease_id: str, reservation: Reservation) -> None:
        """A frame started on the worker's host and holds its reservation's host share."""
        host = self._host_of(worker_id)
        if host is None or lease_id in self._running:
            return
        share = host_share(reservation)
        self._running[lease_id] = _Running(host.info.name, worker_id, share)
        host.in_use = host.in_use.plus(*share)

    def note_ended(self, lease_id: str) -> None:
        """The frame of ``lease_id`` ended, however: its share goes back (idempotent)."""
        run = self._running.pop(lease_id, None)
        if run is None:
            return
        host = self._hosts.get(run.host)
        if host is not None:
            host.in_use = host.in_use.minus(*run.share)

    # --- admins ----------------------------------------------------------------------------

    def control(
        self, action: HostAction, names: Sequence[str], reason: str
    ) -> tuple[list[tuple[str, bool]], int]:
        """Lock or unlock hosts, all or none: returns (name, changed) per host, in the order
        asked, and the seq of the last event (0 when nothing changed)."""
        for index, name in enumerate(names):
            if name not in self._hosts:
                raise NotFound(f"names[{index}]: host {name!r} is not on the farm")
        lock = action is HostAction.LOCK
        changes = Changes(now=self._clock())
        changed: dict[str, _Host] = {}
        results: list[tuple[str, bool]] = []
        for name in names:
            host = changed.get(name) or self._hosts[name]
            if host.locked == lock:
                results.append((name, False))
                continue
            changed[name] = replace(host, locked=lock, lock_reason=reason if lock else "")
            event = EventName.LOCKED if lock else EventName.UNLOCKED
            changes.emit(_host_event(event, name, reason))
            results.append((name, True))
        if not changed:
            return results, 0
        self._store(changes, list(changed.values()))
        self._hosts.update(changed)
        return results, changes.events[-1].seq

    # --- reads -----------------------------------------------------------------------------

    def hosts(self, names: Collection[str] = ()) -> list[HostView]:
        """The hosts, by name (only those named, when names are given)."""
        return [
            self._hosts[name].view() for name in sorted(self._hosts) if not names or name in names
        ]

    def get(self, name: str) -> HostView | None:
        host = self._hosts.get(name)
        return host.view() if host is not None else None

    def running_leases(self) -> int:
        """How many frames hold a share of a known host now (the metrics' ``leases``)."""
        return len(self._running)

    def workers_of(self, name: str) -> list[str]:
        """The registered workers that run under this host name (the holder first)."""
        host = self._hosts.get(name)
        holder = [host.worker_id] if host is not None and host.worker_id else []
        others = [w for w, n in self._workers.items() if n == name and w not in holder]
        return holder + others

    # --- inside ----------------------------------------------------------------------------

    def _host_of(self, worker_id: str) -> _Host | None:
        name = self._workers.get(worker_id)
        return self._hosts.get(name) if name is not None else None

    def _store(self, changes: Changes, hosts: list[_Host]) -> None:
        """Write the hosts' rows with their events, in one transaction (raises StorageError:
        then nothing changes in memory or in the store)."""
        rows = [host.stored() for host in hosts]
        if changes.events:
            self._commit(changes, hosts=rows)
        else:
            self._save(rows)


@functools.lru_cache(maxsize=1024)
def _restrictions(text: str) -> Restrictions:
    """Parsed once per text: the scheduler asks for a host's snapshot at every decision."""
    return parse_restrictions(text)


def _host_event(name: EventName, host: str, message: str) -> Event:
    return Event(name=name, type=EventType.HOST, host=host, message=message)


def _describe(info: HostInfo) -> str:
    resources = info.resources
    return (
        f"{info.slots} slots, {resources.cores} cores, {resources.memory_mb} MB, "
        f"{resources.gpus} GPUs"
    )
