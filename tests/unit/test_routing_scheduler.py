"""The scheduler's host-aware choice (docs/routing.md): the most urgent work that suits the
host asking, the other jobs left queued for other hosts, licences never oversubscribed."""

from __future__ import annotations

from latchwork.server.core import transitions as t
from latchwork.server.core.changes import Changes
from latchwork.server.core.model import Job
from latchwork.server.core.routing.hosts import Host, HostState, Resources, Usage
from latchwork.server.core.routing.licences import GlobalResources
from latchwork.server.core.routing.restrictions import parse_restrictions
from latchwork.server.core.scheduler import Scheduler

from .factories import frames_spec, new_job

SMALL = Host("small", Resources(cores=4, memory_mb=8_000), slots_total=4, groups=frozenset({"a"}))
BIG = Host("big", Resources(cores=32, memory_mb=64_000, gpus=1), slots_total=8)


def offer_all(scheduler: Scheduler, *jobs: Job) -> None:
    for job in jobs:
        for work in job.work:
            scheduler.offer(job, work)


def take(scheduler: Scheduler, host: Host, licences: GlobalResources | None = None) -> str:
    """One decision for ``host``: "job:work" started there, or "" for nothing."""
    picked = scheduler.next(host, licences)
    if picked is None:
        return ""
    job, work, subjob = picked
    t.start_work(Changes(now=0.0), job, work, subjob, f"L{job.id}.{work.name}", host.name)
    return f"{job.id}:{work.name}"


def test_work_goes_only_to_hosts_that_suit_it_and_waits_for_them() -> None:
    scheduler = Scheduler()
    big_only = new_job(frames_spec("1-2", cpus=2, reservations="host.memory=32000"), job_id=1)
    plain = new_job(frames_spec("1", priority=20_000), job_id=2)
    offer_all(scheduler, big_only, plain)
    # The small host skips the more urgent job it cannot run, which stays queued.
    assert take(scheduler, SMALL) == "2:1"
    assert take(scheduler, SMALL) == ""
    assert take(scheduler, BIG) == "1:1"
    assert take(scheduler, BIG) == "1:2"


def test_hosts_groups_and_requirements_route_work() -> None:
    scheduler = Scheduler()
    offer_all(
        scheduler,
        new_job(frames_spec("1", hosts="big"), job_id=1),
        new_job(frames_spec("1", groups="a"), job_id=2),
        new_job(frames_spec("1", requirements="host.gpus >= 1"), job_id=3),
        new_job(frames_spec("1", omithosts="big"), job_id=4),
    )
    assert [take(scheduler, SMALL) for _ in range(3)] == ["2:1", "4:1", ""]
    assert [take(scheduler, BIG) for _ in range(3)] == ["1:1", "3:1", ""]


def test_a_full_or_unavailable_host_gets_nothing() -> None:
    scheduler = Scheduler()
    offer_all(scheduler, new_job(frames_spec("1-4", cpus=4), job_id=1))
    assert take(scheduler, SMALL.with_usage(Usage(slots=4))) == ""
    assert take(scheduler, SMALL.with_state(HostState.LOCKED)) == ""
    four_slots = new_job(frames_spec("1", priority=1, reservations="host.processors=4"), job_id=2)
    offer_all(scheduler, four_slots)
    assert take(scheduler, SMALL.with_usage(Usage(slots=1))) == "1:1"  # 4 slots do not fit
    assert take(scheduler, SMALL) == "2:1"


def test_licences_limit_how_many_frames_run() -> None:
    scheduler = Scheduler()
    licences = GlobalResources({"nuke": 2})
    job = new_job(frames_spec("1-5", cpus=5, reservations="global.nuke=1"), job_id=1)
    offer_all(scheduler, job)
    started = []
    for _ in range(5):
        picked = scheduler.next(BIG, licences)
        if picked is None:
            break
        _, work, subjob = picked
        lease = f"L{work.name}"
        assert licences.take(lease, {"nuke": 1}) is None
        t.start_work(Changes(now=0.0), job, work, subjob, lease, "big")
        started.append(lease)
    assert started == ["L1", "L2"]
    licences.give_back("L1")
    assert take(scheduler, BIG, licences) == "1:3"


def test_skipped_jobs_are_not_lost_and_order_is_kept() -> None:
    scheduler = Scheduler()
    jobs = [
        new_job(frames_spec("1", priority=p, hosts=h), job_id=i)
        for i, (p, h) in enumerate([(1, "big"), (2, ""), (3, "big"), (4, "")], start=1)
    ]
    offer_all(scheduler, *jobs)
    assert take(scheduler, SMALL) == "2:1"
    assert take(scheduler, BIG) == "1:1"
    assert take(scheduler, BIG) == "3:1"
    assert take(scheduler, BIG) == "4:1"
    assert take(scheduler, BIG) == ""


def test_the_work_per_decision_is_bounded() -> None:
    """Beyond ``max_refused`` routings that do not suit the host, it gets nothing this time;
    the refused ones stay queued for the hosts they suit."""
    scheduler = Scheduler(max_refused=3)
    offer_all(
        scheduler,
        *[new_job(frames_spec("1", priority=1, hosts=f"h{i}"), job_id=i) for i in range(1, 5)],
        new_job(frames_spec("1", priority=2), job_id=9),
    )
    assert take(scheduler, SMALL) == ""  # h1, h2, h3 refused: the bound
    assert take(scheduler, Host("h1")) == "1:1"
    assert take(scheduler, SMALL) == ""  # h2, h3, h4
    assert take(scheduler, Host("h2")) == "2:1"
    assert take(scheduler, SMALL) == "9:1"  # h3, h4, then the plain job
    assert [take(scheduler, Host(f"h{i}")) for i in (3, 4)] == ["3:1", "4:1"]


def test_routing_changed_after_submit_moves_the_job() -> None:
    scheduler = Scheduler()
    job = new_job(frames_spec("1-2", cpus=2, hosts="big"), job_id=1)
    offer_all(scheduler, job)
    assert take(scheduler, BIG) == "1:1"
    job.spec.hosts = "small"
    scheduler.offer(job)
    assert take(scheduler, BIG) == ""
    assert take(scheduler, SMALL) == "1:2"
    assert scheduler.routing_of(job).hosts == frozenset({"small"})


def test_without_a_host_anything_goes_as_before() -> None:
    scheduler = Scheduler()
    offer_all(scheduler, new_job(frames_spec("1", hosts="big", priority=1), job_id=1))
    offer_all(scheduler, new_job(frames_spec("1", priority=2), job_id=2))
    picked = [scheduler.next(), scheduler.next(), scheduler.next()]
    assert [(p[0].id if p else None) for p in picked] == [1, 2, None]


def test_a_queue_is_listed_once_so_the_skip_bound_counts_routings() -> None:
    # Found by bench/scheduling_cost.py: job X leads a routing's queue; a more urgent job Y of
    # the same routing is offered (X's entry goes stale), Y's only instance becomes busy, the
    # queue is listed again under X, and X's old entry was current again next to the new one.
    # Duplicates used up the bound of queues set aside per decision, and hosts got nothing
    # while work they could run waited.
    scheduler = Scheduler(max_refused=2)
    x = new_job(frames_spec("1-3", cpus=3, priority=50, hosts="big"), job_id=1)
    plain = new_job(frames_spec("1", priority=100), job_id=3)
    offer_all(scheduler, x, plain)
    y = new_job(frames_spec("1-2", cpus=1, priority=10, hosts="big"), job_id=2)
    offer_all(scheduler, y)
    assert take(scheduler, BIG) == "2:1"  # Y's one instance is busy now
    assert take(scheduler, SMALL) == "3:1"  # the big-only queue is set aside once, not twice
    assert take(scheduler, BIG) == "1:1"


def test_a_host_restricted_to_clusters_takes_no_job_of_the_root_cluster() -> None:
    # A job with no routing attributes is in the root cluster "/"; a host whose restrictions
    # do not admit "/" must not take it (docs/routing.md), however cheap the no-routing check.
    restricted = Host(
        "restricted",
        Resources(cores=4, memory_mb=8_000),
        slots_total=4,
        restrictions=parse_restrictions("/show/+"),
    )
    scheduler = Scheduler()
    offer_all(
        scheduler,
        new_job(frames_spec("1", priority=1), job_id=1),
        new_job(frames_spec("1", priority=2, cluster="/show/a"), job_id=2),
    )
    assert take(scheduler, restricted) == "2:1"
    assert take(scheduler, restricted) == ""
    assert take(scheduler, SMALL) == "1:1"
