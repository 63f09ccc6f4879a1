"""Whether a host suits a job's next frame, and if not, why.

Two questions, asked at very different rates:

- ``suits(job, host, licences)``: may a frame of this job start on this host *now*? The
  scheduler asks it for every (job, host) pair it considers, so it is a chain of cheap
  short-circuit tests (state and free capacity first, the compiled requirements last) that
  builds no message.
- ``why_not`` / ``why_never`` / ``explain_wait``: the same rules, answering with reasons, for
  the supervisor to show why a job waits (GetJob, CLI): "no host can ever run this job: all 4
  hosts: requirements not met: host.memory >= 64000", or "licence nuke 10/10 in use".
  ``why_never`` ignores what is in use and the host's state (a down host may come back, a
  locked one be unlocked), so it separates "wait" from "will never run as submitted".
  ``suits`` and ``why_not`` agree by construction (a property test holds them to it).

The rules, after Qube (PipelineFX, "Job Routing": hosts, host groups, restrictions; see
requirements.py, reservations.py and restrictions.py for their own sources):

- the host is up (not down, not locked);
- the reservation fits the host's free slots, memory and GPUs;
- ``hosts``: the host is one of them (when given); ``omithosts``: it is none of them;
- ``groups``: the host is in at least one of them (when given); ``omitgroups``: in none;
- ``restrictions``: the host's cluster is within the job's restrictions (when given); and the
  host's own restrictions, when set, admit the job's cluster (a job's ``cluster`` alone never
  excludes a host: in Qube it only gives the job preference there, an ordering the scheduler
  may apply);
- ``requirements`` hold on the host;
- every global resource the reservation names has room.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from .errors import RoutingSyntaxError
from .hosts import GROUP_NAME, HOST_NAME, Host, HostState
from .licences import GlobalResources
from .requirements import Requirements, parse_requirements
from .reservations import DEFAULT_RESERVATION, Reservation, parse_reservations
from .restrictions import ROOT_CLUSTER, Restrictions, parse_cluster, parse_restrictions

ROUTING_ATTRIBUTES = (
    "reservations", "requirements", "hosts", "omithosts", "groups", "omitgroups", "cluster",
    "restrictions",
)  # fmt: skip
"""The Qube job attributes this module reads (as Qube spells them)."""

MAX_NAME_LIST_LENGTH = 16_384

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JobRouting:
    """A job's routing attributes, parsed. The default routes anywhere, one slot per frame."""

    reservation: Reservation = DEFAULT_RESERVATION
    requirements: Requirements | None = None
    hosts: frozenset[str] = frozenset()
    omit_hosts: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    omit_groups: frozenset[str] = frozenset()
    cluster: str = ROOT_CLUSTER
    restrictions: Restrictions | None = None


ANYWHERE = JobRouting()


class RoutingRejected(ValueError):
    """Routing attributes that cannot be read: every problem, each naming its attribute."""

    def __init__(self, errors: Iterable[RoutingSyntaxError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


def parse_routing(
    attributes: Mapping[str, str], known_globals: Collection[str] | None = None
) -> JobRouting:
    """The routing attributes of a job (Qube's names, string values; missing or empty ones
    take their defaults). Raises RoutingRejected naming every bad attribute and offset."""
    errors: list[RoutingSyntaxError] = []
    routing = JobRouting(
        reservation=_read(
            attributes, "reservations", lambda t: parse_reservations(t, known_globals),
            DEFAULT_RESERVATION, errors,
        ),
        requirements=_read(attributes, "requirements", parse_requirements, None, errors),
        hosts=_read(attributes, "hosts", _host_names, frozenset(), errors),
        omit_hosts=_read(attributes, "omithosts", _host_names, frozenset(), errors),
        groups=_read(attributes, "groups", _group_names, frozenset(), errors),
        omit_groups=_read(attributes, "omitgroups", _group_names, frozenset(), errors),
        cluster=_read(attributes, "cluster", parse_cluster, ROOT_CLUSTER, errors),
        restrictions=_read(attributes, "restrictions", parse_restrictions, None, errors),
    )  # fmt: skip
    if errors:
        raise RoutingRejected(errors)
    return routing


def _read(
    attributes: Mapping[str, str],
    name: str,
    parse: Callable[[str], T],
    default: T,
    errors: list[RoutingSyntaxError],
) -> T:
    text = attributes.get(name, "")
    if not text.strip():
        return default
    try:
        return parse(text)
    except RoutingSyntaxError as error:
        errors.append(error.in_field(name))
        return default


def _host_names(text: str) -> frozenset[str]:
    return parse_name_list(text, "host")


def _group_names(text: str) -> frozenset[str]:
    return parse_name_list(text, "group")


def parse_name_list(text: str, kind: str = "host") -> frozenset[str]:
    """A comma-delimited list of host (or group) names, as Qube's ``hosts``/``groups``."""
    if len(text) > MAX_NAME_LIST_LENGTH:
        raise RoutingSyntaxError(
            f"longer than {MAX_NAME_LIST_LENGTH} characters", MAX_NAME_LIST_LENGTH
        )
    pattern = HOST_NAME if kind == "host" else GROUP_NAME
    names: set[str] = set()
    offset = 0
    for item in text.split(","):
        name = item.strip()
        start = offset + len(item) - len(item.lstrip())
        if not name:
            raise RoutingSyntaxError(f"empty {kind} name between commas", start)
        if pattern.fullmatch(name) is None:
            raise RoutingSyntaxError(f"{name!r} is not a {kind} name", start)
        names.add(name)
        offset += len(item) + 1
    return frozenset(names)


# --- the fast question -----------------------------------------------------------------------


def suits(job: JobRouting, host: Host, licences: GlobalResources | None = None) -> bool:
    """May a frame of ``job`` start on ``host`` now? (``why_not`` is None, without messages.)"""
    reservation = job.reservation
    return (
        host.state is HostState.UP
        and host.free_slots >= reservation.processors
        and host.free_memory_mb >= reservation.memory_mb
        and host.free_gpus >= reservation.gpus
        and _admitted(job, host)
        and (job.requirements is None or job.requirements.matches(host))
        and (
            licences is None
            or not reservation.globals
            or licences.shortfall(reservation.global_amounts) is None
        )
    )


def _admitted(job: JobRouting, host: Host) -> bool:
    """hosts/omithosts, groups/omitgroups and both kinds of restrictions."""
    return (
        (not job.hosts or host.name in job.hosts)
        and host.name not in job.omit_hosts
        and (not job.groups or not job.groups.isdisjoint(host.groups))
        and job.omit_groups.isdisjoint(host.groups)
        and (job.restrictions is None or job.restrictions.allows(host.cluster))
        and (host.restrictions is None or host.restrictions.allows(job.cluster))
    )


# --- the reasons -----------------------------------------------------------------------------


class Check(StrEnum):
    """The rule a host failed, in the order they are checked."""

    STATE = "state"
    HOSTS = "hosts"
    GROUPS = "groups"
    RESTRICTIONS = "restrictions"
    REQUIREMENTS = "requirements"
    SIZE = "size"  # the host is too small even when idle
    BUSY = "busy"  # the host is big enough, not free enough now
    LICENCE = "licence"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one host does not suit one job: the rule and a job-centred sentence (the same for
    every host refused for the same reason, so reasons can be counted across the farm)."""

    check: Check
    message: str

    def __str__(self) -> str:
        return self.message


def why_never(job: JobRouting, host: Host) -> Refusal | None:
    """Why ``host`` could never run a frame of ``job``, even idle and up; None if it could."""
    refusal = _admission(job, host)
    if refusal is not None:
        return refusal
    if job.requirements is not None:
        failing = job.requirements.failing(host.idle())
        if failing:
            return Refusal(Check.REQUIREMENTS, f"requirements not met: {failing}")
    r = job.reservation
    return _capacity(
        Check.SIZE, r, host.slots_total, host.resources.memory_mb, host.resources.gpus, ""
    )


def why_not(job: JobRouting, host: Host, licences: GlobalResources | None = None) -> Refusal | None:
    """Why a frame of ``job`` cannot start on ``host`` now; None if it can (``suits``)."""
    if host.state is not HostState.UP:
        return Refusal(Check.STATE, f"host {host.state.value}")
    refusal = _admission(job, host)
    if refusal is not None:
        return refusal
    r = job.reservation
    refusal = _capacity(
        Check.SIZE, r, host.slots_total, host.resources.memory_mb, host.resources.gpus, ""
    ) or _capacity(Check.BUSY, r, host.free_slots, host.free_memory_mb, host.free_gpus, "free ")
    if refusal is not None:
        return refusal
    if job.requirements is not None:
        failing = job.requirements.failing(host)
        if failing:
            return Refusal(Check.REQUIREMENTS, f"requirements not met: {failing}")
    if licences is not None and r.globals:
        exhausted = licences.shortfall(r.global_amounts)
        if exhausted is not None:
            return Refusal(Check.LICENCE, str(exhausted))
    return None


def _admission(job: JobRouting, host: Host) -> Refusal | None:
    if job.hosts and host.name not in job.hosts:
        return Refusal(Check.HOSTS, f"not one of hosts {_listed(job.hosts)}")
    if host.name in job.omit_hosts:
        return Refusal(Check.HOSTS, "in omithosts")
    if job.groups and job.groups.isdisjoint(host.groups):
        return Refusal(Check.GROUPS, f"in none of groups {_listed(job.groups)}")
    omitted = job.omit_groups & host.groups
    if omitted:
        return Refusal(Check.GROUPS, f"in omitgroups {_listed(omitted)}")
    if job.restrictions is not None and not job.restrictions.allows(host.cluster):
        return Refusal(Check.RESTRICTIONS, f"cluster outside restrictions {job.restrictions.text}")
    if host.restrictions is not None and not host.restrictions.allows(job.cluster):
        return Refusal(Check.RESTRICTIONS, f"host restrictions exclude cluster {job.cluster}")
    return None


def _capacity(
    check: Check, r: Reservation, slots: int, memory_mb: int, gpus: int, free: str
) -> Refusal | None:
    if slots < r.processors:
        return Refusal(check, f"fewer than {r.processors} {free}slot{_s(r.processors)}")
    if memory_mb < r.memory_mb:
        return Refusal(check, f"less than {r.memory_mb} MB {free}memory")
    if gpus < r.gpus:
        return Refusal(check, f"fewer than {r.gpus} {free}GPU{_s(r.gpus)}")
    return None


def _listed(names: Iterable[str]) -> str:
    return ",".join(sorted(names))


def _s(count: int) -> str:
    return "" if count == 1 else "s"


# --- across the farm -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitExplanation:
    """Why a job's next frame is not running, across every host."""

    runnable: bool  # some host suits it now
    could_ever: bool  # some host (idle, up) and the licence limits could run it
    reasons: tuple[str, ...]  # empty when runnable

    def __str__(self) -> str:
        if self.runnable:
            return "runnable"
        head = "waiting" if self.could_ever else "no host can ever run this job"
        return f"{head}: {'; '.join(self.reasons)}" if self.reasons else head


def could_ever_run(
    job: JobRouting, hosts: Iterable[Host], licences: GlobalResources | None = None
) -> bool:
    """Cheap: is there a host that could run ``job`` if everything else ended?"""
    r = job.reservation
    if licences is not None and r.globals and licences.could_ever(r.global_amounts) is not None:
        return False
    return any(why_never(job, host) is None for host in hosts)


def explain_wait(
    job: JobRouting, hosts: Collection[Host], licences: GlobalResources | None = None
) -> WaitExplanation:
    """Why ``job`` waits: the reasons hosts refuse it, counted (``all 4 hosts: ...``).

    When no host could ever run it, the reasons are the permanent ones; otherwise those of
    now (busy, down, locked, licences in use)."""
    if not hosts:
        return WaitExplanation(False, False, ("no hosts are registered",))
    r = job.reservation
    never_licence = (
        licences.could_ever(r.global_amounts) if licences is not None and r.globals else None
    )
    never = [why_never(job, host) for host in hosts]
    if never_licence is not None or all(refusal is not None for refusal in never):
        reasons = _counted([n for n in never if n is not None], len(hosts))
        if never_licence is not None:
            limit = never_licence.limit
            reasons = (
                str(never_licence)
                if limit is None
                else f"licence {never_licence.resource}: {never_licence.wanted} wanted, "
                f"limit {limit}",
                *reasons,
            )
        return WaitExplanation(False, False, reasons)
    now = [why_not(job, host) for host in hosts]
    exhausted = licences.shortfall(r.global_amounts) if licences is not None and r.globals else None
    if exhausted is None:
        if any(refusal is None for refusal in now):
            return WaitExplanation(True, True, ())
        return WaitExplanation(False, True, _counted([n for n in now if n is not None], len(hosts)))
    if any(refusal is None for refusal in now):
        return WaitExplanation(False, True, (str(exhausted),))
    busy = _counted([n for n in now if n is not None], len(hosts))
    return WaitExplanation(False, True, (str(exhausted), *busy))


def _counted(refusals: list[Refusal], total: int) -> tuple[str, ...]:
    counts = Counter(refusal.message for refusal in refusals)
    lines = []
    for message, count in counts.most_common():
        if count == total:
            who = "the only host" if total == 1 else f"all {total} hosts"
        else:
            who = f"{count} of {total} hosts"
        lines.append(f"{who}: {message}")
    return tuple(lines)
