"""What routing needs at lease time that lives outside the core: the licences and the hosts.

The core decides (:mod:`.core.routing`, :mod:`.core.scheduler`); this module holds the state
those decisions read and change, owned by the supervisor:

- the global resources (licence counters, :class:`~.core.routing.licences.GlobalResources`),
  configured by the admin (``[global_resources]`` in the config file, docs/routing.md);
- the hosts as routing sees them, from the host registry (:class:`HostUsage`: a snapshot of a
  worker's host with its current usage, and the usage it is told about).

Every lease that starts takes its job's reservation here (:meth:`RoutingState.started`) and
every lease that ends gives it back (:meth:`RoutingState.ended`), whatever the end: the lease
registry calls both, and every end of a lease goes through its ``release`` (a report, a kill,
a requeue, a lost worker, a timeout). Licences are keyed by lease id, so a second give-back is
a no-op. Nothing here is stored: after a restart, or a reload of the model after a failed
commit, the licences are taken again for the leases found running (:meth:`adopt`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from .core.model import Job
from .core.routing.hosts import Host, HostState
from .core.routing.licences import GlobalResources
from .core.routing.reservations import Reservation
from .core.routing.restrictions import ROOT_CLUSTER, parse_restrictions
from .core.routing.routing import JobRouting, WaitExplanation, explain_wait
from .core.scheduler import NO_ROUTING, RoutingKey, parse_key, routing_key
from .core.states import WorkStatus
from .host_registry import HostRegistry


class HostUsage(Protocol):
    """The host registry, as routing uses it (the HOSTS side of issue 12)."""

    def routing_host(self, worker_id: str) -> Host | None: ...

    def note_started(self, worker_id: str, lease_id: str, reservation: Reservation) -> None: ...

    def note_ended(self, lease_id: str) -> None: ...


class HostList(Protocol):
    """Every host the farm has now (to explain why a job waits)."""

    def routing_hosts(self) -> list[Host]: ...


class RegistryHosts:
    """Every host of the registry as routing sees it: those up (or locked) with their worker's
    usage, those down as they last declared themselves (they may come back)."""

    def __init__(self, registry: HostRegistry) -> None:
        self._registry = registry

    def routing_hosts(self) -> list[Host]:
        hosts: list[Host] = []
        for view in self._registry.hosts():
            workers = self._registry.workers_of(view.name)
            host = self._registry.routing_host(workers[0]) if workers else None
            if host is None:
                info = view.info
                restrictions = info.restrictions
                host = Host(
                    name=info.name,
                    resources=info.resources,
                    slots_total=info.slots,
                    properties=dict(info.properties),
                    groups=frozenset(info.groups),
                    cluster=info.cluster or ROOT_CLUSTER,
                    restrictions=parse_restrictions(restrictions) if restrictions else None,
                    state=HostState.DOWN,
                )
            hosts.append(host)
        return hosts


class RoutingState:
    """The licences and the hosts, for the lease decision and the waiting reasons."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        on_licence_freed: Callable[[], None] | None = None,
    ) -> None:
        """``on_licence_freed``: called when an ending lease gave licences back, so that the
        workers waiting for work ask again (a frame waiting for a licence may now run on any
        host, not only on the one whose frame ended)."""
        self.licences = GlobalResources(limits)
        self._on_licence_freed = on_licence_freed
        self._hosts: HostUsage | None = None
        self._host_list: HostList | None = None

    def attach_hosts(self, hosts: HostUsage, host_list: HostList | None = None) -> None:
        """Use the host registry from now on (``host_list``: how to list every host)."""
        self._hosts = hosts
        self._host_list = host_list

    @property
    def known_globals(self) -> frozenset[str]:
        return frozenset(self.licences.limits)

    # --- the lease decision ----------------------------------------------------------------

    def host_of(self, worker_id: str) -> Host | None:
        """The worker's host with its usage now; None for a worker no registry knows (one
        registered without declaring its host: the lease registry then routes it as a bare
        host of that name, which runs only jobs that reserve no memory or GPUs)."""
        return self._hosts.routing_host(worker_id) if self._hosts is not None else None

    def started(self, worker_id: str, lease_id: str, routing: JobRouting) -> bool:
        """A lease starts: take its licences (False, nothing taken, when they have no room:
        the scheduler checked just before, so only a bug gets here) and note its host share."""
        reservation = routing.reservation
        if reservation.globals and self.licences.take(lease_id, reservation.global_amounts):
            return False
        if self._hosts is not None:
            self._hosts.note_started(worker_id, lease_id, reservation)
        return True

    def ended(self, lease_id: str) -> None:
        """A lease ended, whatever the end: give back what it holds (idempotent)."""
        if self.licences.give_back(lease_id) and self._on_licence_freed is not None:
            self._on_licence_freed()
        if self._hosts is not None:
            self._hosts.note_ended(lease_id)

    def adopt(self, lease_id: str, routing: JobRouting, worker_id: str | None = None) -> None:
        """A lease found running at load (a restart, or the reload after a failed commit):
        it holds its licences whatever the count says, and its host share on its worker's
        host when that worker is known."""
        if routing.reservation.globals:
            self.licences.adopt(lease_id, routing.reservation.global_amounts)
        if worker_id is not None and self._hosts is not None:
            self._hosts.note_ended(lease_id)
            self._hosts.note_started(worker_id, lease_id, routing.reservation)

    # --- why a job waits -------------------------------------------------------------------

    def wait_explanation(self, job: Job) -> WaitExplanation | None:
        """Why routing keeps ``job``'s pending work from running, with every reason (the
        latch inspector, core.explain); None when it has no pending work it may run, no
        routing attributes, or no host list is attached."""
        if not job.tally[WorkStatus.PENDING] or not job.dispatchable:
            return None
        key = routing_key(job.spec)
        if key == NO_ROUTING or self._host_list is None:
            return None
        return explain_wait(parse_key(key), self._host_list.routing_hosts(), self.licences)

    def waiting_reasons(self, jobs: Iterable[Job]) -> dict[int, str]:
        """Job id -> why its pending work is not running (Job.waiting_reason), for the jobs
        that have pending work, may run (not held, not final) and routing attributes, when
        routing is why: "no host can ever run this job: ...", "licence nuke 10/10 in use".
        Others are left out (no reason). Each distinct routing is explained once."""
        reasons: dict[int, str] = {}
        explained: dict[RoutingKey, str] = {}
        hosts: list[Host] | None = None
        for job in jobs:
            if not job.tally[WorkStatus.PENDING] or not job.dispatchable:
                continue
            key = routing_key(job.spec)
            if key == NO_ROUTING:
                continue
            if key not in explained:
                if hosts is None:
                    if self._host_list is None:
                        return {}
                    hosts = self._host_list.routing_hosts()
                wait = explain_wait(parse_key(key), hosts, self.licences)
                explained[key] = "" if wait.runnable else str(wait)
            if explained[key]:
                reasons[job.id] = explained[key]
        return reasons
