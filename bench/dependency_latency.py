"""Dependency latency: job A's last frame ends -> job B's first frame starts.

One ``latchwork serve --slots 2`` runs ``--pairs`` A/B pairs of each kind below, one pair at a
time (``--concurrent`` pairs at a time if asked), kinds interleaved. A and B are cmdrange jobs
of one frame of ``true``, submitted together (their own process group, labels A and B):

* ``callback``: B is submitted blocked with the qube callback ``complete-job-A`` ->
  ``unblock-self``;
* ``dependency``: B has ``dependency: link-complete-job-A`` (the supervisor desugars it into a
  hold plus that callback);
* ``frame``: B has ``dependency: link-complete-work-A`` (frame-to-frame: B's frame is held and
  released by ``complete-work-A-*`` -> ``unblock-work-self`` when A's frame of the same name
  completes);
* ``python``: the same frame-to-frame release written as a Python callback: B's frame is
  submitted blocked, with ``complete-work-A-*`` -> ``qb.workunblock('%d:%s' % (qb.jobid(),
  event.binding))``; it runs in the RestrictedPython sandbox pool, and the supervisor applies
  the action it returns.

The latency is read from the supervisor's own event log (a Subscribe stream): the time of A's
work ``complete`` event to the time of B's work ``running`` event; both are the supervisor's
clock when it made the change. In between: the transaction that records A's frame (and the
firing it causes), the callback run and its transaction, waking the local pool, and the
transaction that leases B's frame. Also printed: from A's work ``complete`` to B's first
``unblocked`` event (of the job or of its frame): event -> callback run -> action applied,
without the lease.

Reference in the same run, same supervisor: ``independent``, a lone one-frame job, from its
``submit`` event to its work ``running`` event (the same wake-and-lease path, no trigger).
Also printed, at the client: from the Submit call to the arrival of the last job's end on
the stream, per batch of pairs (what a script submitting A and B and waiting for B sees).

``--held-callbacks N`` first registers N callbacks that never fire (blocked jobs watching
other blocked jobs), to see the same latencies in a supervisor that holds many callbacks.

Run: ``.venv/bin/python bench/dependency_latency.py [--pairs 200 --concurrent 1 --slots 2]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eventstream import METADATA, Collector, event_seconds
from bench.harness import OtherLoad, add_workdir_flag, listing, machine, median, supervisor
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import event_pb2, supervisor_pb2, supervisor_pb2_grpc

KINDS = ("callback", "dependency", "frame", "python", "independent")
HELD = ("callback", "dependency", "frame", "python")  # the kinds with a hold to release
PYTHON_CODE = "qb.workunblock('%d:%s' % (qb.jobid(), event.binding))"
FINAL = {
    event_pb2.EVENT_NAME_COMPLETE,
    event_pb2.EVENT_NAME_FAILED,
    event_pb2.EVENT_NAME_KILLED,
}
POLL_CYCLE_S = 15.0  # the reference point for peers that poll for dependencies


def one_frame(label: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": label,
        "label": label,
        "prototype": "cmdrange",
        "package": {"cmdline": "true", "range": "1-1"},
        **fields,
    }


def jobs_of(kind: str) -> list[dict[str, Any]]:
    if kind == "independent":
        return [one_frame("C")]
    if kind == "python":
        callback = {"triggers": "complete-work-A-*", "language": "python", "code": PYTHON_CODE}
        held = {
            "name": "B",
            "label": "B",
            "prototype": "cmdrange",
            "package": {"cmdline": "true"},
            "agenda": [{"name": "1", "status": "blocked"}],  # A's frame is named 1 too
            "callbacks": [callback],
        }
        return [one_frame("A"), held]
    if kind == "callback":
        hold: dict[str, Any] = {
            "status": "blocked",
            "callbacks": [{"triggers": "complete-job-A", "code": "unblock-self"}],
        }
    elif kind == "dependency":
        hold = {"dependency": "link-complete-job-A"}
    else:
        hold = {"dependency": "link-complete-work-A"}
    return [one_frame("A"), one_frame("B", **hold)]


class Follower:
    """One Subscribe stream over the whole run: job and work events, kept per job."""

    def __init__(self, stub: supervisor_pb2_grpc.SupervisorServiceStub, after_seq: int) -> None:
        self.by_job: dict[int, list[event_pb2.Event]] = {}
        self.ended: set[int] = set()
        self.ended_at: dict[int, float] = {}
        request = supervisor_pb2.SubscribeRequest(
            after_seq=after_seq,
            types=[event_pb2.EVENT_TYPE_JOB, event_pb2.EVENT_TYPE_WORK],
        )
        self.collector = Collector(stub, request, self._seen, timeout=3600)

    def _seen(self, event: event_pb2.Event) -> bool:
        self.by_job.setdefault(event.job_id, []).append(event)
        if event.event_type == event_pb2.EVENT_TYPE_JOB and event.name in FINAL:
            self.ended.add(event.job_id)
            self.ended_at[event.job_id] = time.perf_counter()
        return False

    def wait_ended(self, job_ids: list[int], timeout: float) -> None:
        if not self.collector.wait_for(lambda: self.ended.issuperset(job_ids), timeout):
            raise SystemExit(f"jobs {job_ids} did not end within {timeout:.0f} s")

    def time_of(self, job_id: int, kind: int, name: int) -> float:
        for event in self.by_job.get(job_id, ()):
            if event.event_type == kind and event.name == name:
                return event_seconds(event)
        raise SystemExit(f"job {job_id}: no event {name} of type {kind} in the log")

    def latency(
        self, kind: str, response: supervisor_pb2.SubmitResponse
    ) -> tuple[float, float, float]:
        """(A's work complete -> B's work running, A's work complete -> B's first unblocked,
        the time of A's work complete); for the reference, (submit -> running, 0, 0)."""
        work, job = event_pb2.EVENT_TYPE_WORK, event_pb2.EVENT_TYPE_JOB
        complete, running = event_pb2.EVENT_NAME_COMPLETE, event_pb2.EVENT_NAME_RUNNING
        if kind == "independent":
            job_id = response.jobs[0].id
            submitted = self.time_of(job_id, job, event_pb2.EVENT_NAME_SUBMIT)
            return self.time_of(job_id, work, running) - submitted, 0.0, 0.0
        a, b = response.jobs[0].id, response.jobs[1].id
        for job_id in (a, b):
            final = [e.name for e in self.by_job[job_id] if e.event_type == job and e.name in FINAL]
            if final != [complete]:
                raise SystemExit(f"job {job_id} ({kind}) did not complete: {final}")
        origin = self.time_of(a, work, complete)
        unblocks = [
            event_seconds(e) for e in self.by_job[b] if e.name == event_pb2.EVENT_NAME_UNBLOCKED
        ]
        if not unblocks:
            raise SystemExit(f"job {b} ({kind}): no unblocked event in the log")
        unblocked = min(unblocks)
        return self.time_of(b, work, running) - origin, unblocked - origin, origin


def hold_callbacks(stub: supervisor_pb2_grpc.SupervisorServiceStub, count: int) -> int:
    """Register ``count`` callbacks that never fire; returns how many were registered."""
    registered = 0
    while registered < count:
        per_owner = min(100, math.ceil((count - registered) / 100))
        jobs = [one_frame(f"T{i}", status="blocked") for i in range(100)]
        for owner in range(100):
            callbacks = [
                {"triggers": f"complete-job-T{(owner + k) % 100}", "code": "unblock-self"}
                for k in range(min(per_owner, count - registered))
            ]
            registered += len(callbacks)
            jobs.append(one_frame(f"O{owner}", status="blocked", callbacks=callbacks))
        request = supervisor_pb2.SubmitRequest(jobs=[job_spec_from_dict(j) for j in jobs])
        stub.Submit(request, metadata=METADATA, timeout=300)
    return registered


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="pairs of each kind (200)")
    parser.add_argument("--concurrent", type=int, default=1, help="pairs in flight at once (1)")
    parser.add_argument("--slots", type=int, default=2, help="local slots of the supervisor (2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per batch of pairs (s)")
    parser.add_argument(
        "--held-callbacks",
        type=int,
        default=0,
        help="callbacks registered first, that never fire (0)",
    )
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    print(
        f"== dependency latency: A's last frame complete -> B's first frame running, "
        f"{args.pairs} pairs of each kind, {args.concurrent} at a time"
    )
    print(f"   machine: {machine()}")
    load = OtherLoad()
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    applied: dict[str, list[float]] = {kind: [] for kind in HELD}
    waited: dict[str, list[float]] = {kind: [] for kind in HELD}  # A's end -> the run starts
    client: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with (
        tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp,
        supervisor(Path(tmp) / "latency", slots=args.slots) as served,
        grpc.insecure_channel(served.address) as channel,
    ):
        stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)

        def submit(kind: str) -> supervisor_pb2.SubmitResponse:
            request = supervisor_pb2.SubmitRequest(
                jobs=[job_spec_from_dict(j) for j in jobs_of(kind)]
            )
            return stub.Submit(request, metadata=METADATA, timeout=30)

        def run_start(job_id: int) -> float:
            """When the run of B's callback started (its record), once B has ended."""
            runs = stub.ListCallbackRuns(
                supervisor_pb2.ListCallbackRunsRequest(job_id=job_id),
                metadata=METADATA,
                timeout=30,
            ).runs
            if len(runs) != 1:
                raise SystemExit(f"job {job_id}: {len(runs)} callback runs, expected 1")
            return runs[0].start_time.ToNanoseconds() / 1e9

        held = hold_callbacks(stub, args.held_callbacks) if args.held_callbacks else 0
        warm = submit("independent")
        follower = Follower(stub, warm.seq - 1)
        follower.wait_ended([warm.jobs[0].id], args.timeout)
        for kind in KINDS:  # warm-up: one of each kind, not counted
            response = submit(kind)
            follower.wait_ended([j.id for j in response.jobs], args.timeout)
        start = time.perf_counter()
        batches = math.ceil(args.pairs / args.concurrent)
        for batch in range(batches):
            size = min(args.concurrent, args.pairs - batch * args.concurrent)
            order = KINDS[batch % len(KINDS) :] + KINDS[: batch % len(KINDS)]
            for kind in order:
                submitted = time.perf_counter()
                responses = [submit(kind) for _ in range(size)]
                job_ids = [j.id for r in responses for j in r.jobs]
                follower.wait_ended(job_ids, args.timeout)
                for r in responses:
                    to_running, to_unblocked, origin = follower.latency(kind, r)
                    samples[kind].append(to_running)
                    if kind in HELD:
                        applied[kind].append(to_unblocked)
                        waited[kind].append(run_start(r.jobs[1].id) - origin)
                client[kind].append(max(follower.ended_at[j] for j in job_ids) - submitted)
        elapsed = time.perf_counter() - start
        follower.collector.close()
        workdir = Path(tmp).parent
    load_note = load.report()

    print(f"   workdir: {workdir}; latchwork serve --slots {args.slots}; run took {elapsed:.1f} s")
    if held:
        print(f"   the supervisor held {held:,} callbacks that never fire")
    print(f"   {load_note}")
    print("   from the supervisor's event log; milliseconds")
    print()
    labels = {
        "callback": "callback complete-job-A -> unblock-self",
        "dependency": "dependency link-complete-job-A",
        "frame": "dependency link-complete-work-A (frames)",
        "python": "python complete-work-A-* -> qb.workunblock",
        "independent": "reference: lone job, submit -> running",
    }
    print("   A's frame complete -> B's frame running (the reference: submit -> running)")
    print(f"   {'':<44} {'p50':>7} {'p99':>7} {'max':>7} {'mean':>7}   client p50")
    for kind in KINDS:
        values = samples[kind]
        print(
            f"   {labels[kind]:<44} {median(values) * 1e3:7.2f} "
            f"{percentile(values, 0.99) * 1e3:7.2f} {max(values) * 1e3:7.2f} "
            f"{sum(values) / len(values) * 1e3:7.2f}   {median(client[kind]) * 1e3:7.2f}"
        )
    print(
        "   (client: from the Submit call(s) of a batch to the arrival of its last job's end "
        "on the stream, ms)"
    )
    print()
    print(
        "   A's frame complete -> B unblocked (event -> callback run -> action applied; no lease)"
    )
    print(f"   {'':<44} {'p50':>7} {'p99':>7} {'max':>7} {'mean':>7}   waiting p50")
    for kind in HELD:
        values = applied[kind]
        print(
            f"   {labels[kind]:<44} {median(values) * 1e3:7.2f} "
            f"{percentile(values, 0.99) * 1e3:7.2f} {max(values) * 1e3:7.2f} "
            f"{sum(values) / len(values) * 1e3:7.2f}   {median(waited[kind]) * 1e3:7.2f}"
        )
    print(
        "   (waiting: from A's frame complete to the start of the callback run, the start_time "
        "of its record; the rest is the run, up to the change it applies)"
    )
    print()
    print(
        f"   context, not measured here: peers that poll for dependencies on a "
        f"{POLL_CYCLE_S:.0f} s cycle start B {POLL_CYCLE_S / 2:.1f} s after A on average, up to "
        f"{POLL_CYCLE_S:.0f} s"
    )
    print()
    print("   every sample, in the order run (ms):")
    for kind in KINDS:
        print(f"   {kind}: {listing(samples[kind], 1e3, 2)}")
    for kind in HELD:
        print(f"   {kind}, to unblocked: {listing(applied[kind], 1e3, 2)}")
    for kind in HELD:
        print(f"   {kind}, waiting for the run: {listing(waited[kind], 1e3, 2)}")
    for kind in KINDS:
        print(f"   {kind}, client: {listing(client[kind], 1e3, 1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
