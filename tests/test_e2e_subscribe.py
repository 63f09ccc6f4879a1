"""Acceptance tests of the Subscribe contract (DESIGN.md section 6, docs/subscribe.md).

Events are produced without sleeping: a supervisor with no worker slots holds many blocked
jobs, and each ControlJobs block/unblock of all of them appends one event per job.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import grpc
import psutil
import pytest

from latchwork.client import Client, LatchworkError
from latchwork.client.aio import AsyncClient, resume_sync
from latchwork.v1 import event_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .waiting import SubscribeFilters, wait_job

FAST_ENV = {"LATCHWORK_SHUTDOWN_GRACE_SECONDS": "1"}


def _blocked_jobs(count: int, prefix: str, **extra: object) -> list[dict[str, object]]:
    return [
        {
            "name": f"{prefix}{i}",
            "label": f"{prefix}{i}",  # labels are unique within a process group
            "package": {"cmdline": "true"},
            "status": "blocked",
            **extra,
        }
        for i in range(count)
    ]


def _toggle(client: Client, job_ids: list[int], rounds: int) -> int:
    """Unblock then block every job ``rounds`` times; the seq of the last event appended."""
    seq = 0
    for i in range(rounds):
        seq = _control(client, "unblock" if i % 2 == 0 else "block", job_ids)
    return seq


def _control(client: Client, action: str, job_ids: list[int]) -> int:
    # Right after a restart the channel may still be backing off from "connection refused"
    # (gRPC shares subchannels between channels to one address): retry what never arrived.
    deadline = time.monotonic() + 20
    while True:
        try:
            return client.control(action, job_ids=job_ids).seq
        except LatchworkError as error:
            if error.code != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _restart_same_port(first: ServerProcess, sig: int = signal.SIGKILL) -> ServerProcess:
    port = first.address.rsplit(":", 1)[1]
    first.stop(sig)
    # ServerProcess passes --listen 127.0.0.1:0 itself; the later --listen wins.
    return ServerProcess(
        first.data_dir,
        slots=first.slots,
        extra=["--listen", f"127.0.0.1:{port}"],
        env=first.env,
    ).start()


def _full_log(server: ServerProcess, head: int) -> list[event_pb2.Event]:
    """The whole log up to ``head`` (callback runs too), from a fresh, unfiltered stream."""
    with server.client() as client:
        call = client._stub.Subscribe(  # noqa: SLF001 - the raw reference stream
            supervisor_pb2.SubscribeRequest(
                after_seq=0, heartbeat_seconds=1, include_callback_runs=True
            ),
            timeout=60,
        )
        seen: list[event_pb2.Event] = []
        for item in call:
            if item.HasField("event"):
                seen.append(item.event)
                if item.event.seq >= head:
                    break
            elif item.HasField("heartbeat") and item.heartbeat.head_seq <= (
                seen[-1].seq if seen else 0
            ):
                break
        call.cancel()
        return seen


def _matcher(filters: Mapping[str, object]) -> Callable[[event_pb2.Event], bool]:
    """The test's own reading of a SubscribeRequest filter."""

    def matches(event: event_pb2.Event) -> bool:
        if event.event_type == event_pb2.EVENT_TYPE_CALLBACK and not filters.get(
            "include_callback_runs"
        ):
            return False
        for key, value in (
            ("job_ids", event.job_id),
            ("pgrps", event.pgrp),
            ("labels", event.label),
            ("users", event.user),
            ("names", event.name),
            ("types", event.event_type),
        ):
            wanted = filters.get(key)
            if wanted and value not in wanted:  # type: ignore[operator]
                return False
        return True

    return matches


def _assert_exactly_once(
    got: Iterable[int], reference: list[event_pb2.Event], f: SubscribeFilters
) -> None:
    got = list(got)
    expected = [e.seq for e in reference if _matcher(f)(e)]
    assert expected, f"the filter {f} matches nothing: a useless check"
    assert len(got) == len(set(got)), f"duplicates for {f}"
    assert got == sorted(got), f"out of order for {f}"
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, (
        f"{f}: {len(missing)} missing (first {missing[:5]}), {len(extra)} unexpected "
        f"(first {extra[:5]})"
    )


# --- 1. exactly once, in order, across client kills and server kill -9 ---------------------


class _Follower(threading.Thread):
    """A subscriber that drops its client at random points and resumes from its last seq.

    ``raw`` followers use the bare stub and reconnect themselves (so a duplicate or a gap from
    the server cannot be hidden by the client library); the others use ``resume_sync``.
    """

    def __init__(self, address: str, filters: SubscribeFilters, raw: bool, seed: int) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.filters = filters
        self.raw = raw
        self.rng = random.Random(seed)
        self.seqs: list[int] = []
        self.position = 0  # every event up to this seq has been seen
        self.target = 1 << 62  # stop once position reaches it (set by the test)
        self.reopens = 0
        self.until = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.position < self.target:
                self._one_client(self.rng.randint(300, 4000), self.rng.uniform(0.05, 0.8))
        except BaseException as error:
            self.error = error

    def _take(self, item: supervisor_pb2.SubscribeResponse) -> None:
        if item.HasField("event"):
            self.seqs.append(item.event.seq)
            self.position = item.event.seq
        elif item.HasField("heartbeat"):
            self.position = max(self.position, item.heartbeat.head_seq)

    def _one_client(self, budget: int, seconds: float) -> None:
        """Read ``budget`` items or for ``seconds`` with a new client, then drop the client."""
        self.until = time.monotonic() + seconds
        client = Client(self.address, user="tester")
        self.reopens += 1
        try:
            if self.raw:
                self._raw(client, budget)
            else:
                stream = resume_sync(
                    client,
                    after_seq=self.position,
                    heartbeats=True,
                    heartbeat_seconds=1,
                    timeout=120,
                    **self.filters,
                )
                for n, item in enumerate(stream):
                    self._take(item)  # type: ignore[arg-type]
                    if self._enough(n, budget):
                        break
                stream.close()  # type: ignore[attr-defined]
        finally:
            client.close()

    def _enough(self, n: int, budget: int) -> bool:
        return n >= budget or time.monotonic() > self.until or self.position >= self.target

    def _raw(self, client: Client, budget: int) -> None:
        n = 0
        while not self._enough(n, budget):
            call = client._stub.Subscribe(  # noqa: SLF001 - the bare stream, on purpose
                supervisor_pb2.SubscribeRequest(
                    after_seq=self.position, heartbeat_seconds=1, **self.filters
                ),
                timeout=120,
            )
            try:
                for item in call:
                    self._take(item)
                    n += 1
                    if self._enough(n, budget):
                        break
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    raise
                time.sleep(0.1)
            finally:
                call.cancel()


def test_20000_events_exactly_once_in_order_across_disconnects_and_kill9(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0, env=FAST_ENV).start()
    try:
        with server.client() as tester, Client(server.address, user="alice") as alice:
            first = tester.submit(_blocked_jobs(300, "a"))
            second = alice.submit(_blocked_jobs(200, "b"))
            a_ids = [j.id for j in first.jobs]
            b_ids = [j.id for j in second.jobs]
            filter_sets: list[SubscribeFilters] = [
                {},
                {"pgrps": [second.pgrp]},
                {"job_ids": a_ids[:7] + b_ids[-3:]},
                {"names": [event_pb2.EVENT_NAME_UNBLOCKED], "labels": ["a1", "a2", "b3"]},
                {"users": ["alice"], "types": [event_pb2.EVENT_TYPE_JOB]},
                {"names": [event_pb2.EVENT_NAME_BLOCKED, event_pb2.EVENT_NAME_SUBMIT]},
            ]
            followers = [
                _Follower(server.address, f, raw=i % 2 == 0, seed=i)
                for i, f in enumerate(filter_sets)
            ]
            for follower in followers:
                follower.start()

            # Three bursts of ~7,000 events, the supervisor killed -9 between them while the
            # followers are anywhere in their streams.
            _toggle(tester, a_ids + b_ids, 14)
            server = _restart_same_port(server)
            with server.client() as tester2:
                _toggle(tester2, a_ids + b_ids, 14)
            server = _restart_same_port(server)
            with server.client() as tester3:
                head = _toggle(tester3, a_ids + b_ids, 14)
                head = _control(tester3, "unblock", a_ids[:1])
        assert head >= 20_000

        for follower in followers:
            follower.target = head
        for follower in followers:
            follower.join(90)
            assert not follower.is_alive(), f"{follower.filters} stuck at {follower.position}"
            assert follower.error is None, follower.error

        reference = _full_log(server, head)
        assert [e.seq for e in reference] == list(range(1, head + 1)), "the log has gaps"
        print(f"\nhead {head}; client kills per follower {[f.reopens - 1 for f in followers]}")
        for follower in followers:
            assert follower.reopens >= 2  # every follower's client was dropped at least once
            _assert_exactly_once(follower.seqs, reference, follower.filters)
    finally:
        server.stop()


# --- 2. a subscriber that stops reading -----------------------------------------------------

SLOW_EVENTS = 100_000
JOBS_FOR_SLOW = 1_000
RATE = 5_000  # events per second
RSS_BOUND_MB = 50  # over the baseline, which already holds the full 50,000-event window


def test_slow_subscriber_costs_no_memory_and_misses_nothing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0, env=FAST_ENV).start()
    proc = psutil.Process(server.process.pid)  # type: ignore[union-attr]
    try:
        with server.client() as client:
            ids = [j.id for j in client.submit(_blocked_jobs(JOBS_FOR_SLOW, "s")).jobs]
            # Fill the 50,000-event memory window first, so the baseline includes it.
            start = _toggle(client, ids, 50)
            baseline = proc.memory_info().rss

            slow_client = Client(server.address, user="tester")
            slow = slow_client._stub.Subscribe(  # noqa: SLF001
                supervisor_pb2.SubscribeRequest(after_seq=start, heartbeat_seconds=1)
            )

            fast_seqs: list[int] = []
            fast_done = threading.Event()
            target = [1 << 62]

            def fast() -> None:
                with Client(server.address, user="tester") as reader:
                    call = reader._stub.Subscribe(  # noqa: SLF001
                        supervisor_pb2.SubscribeRequest(after_seq=start, heartbeat_seconds=1)
                    )
                    for item in call:
                        if item.HasField("event"):
                            fast_seqs.append(item.event.seq)
                            if item.event.seq >= target[0]:
                                break
                    call.cancel()
                fast_done.set()

            reader = threading.Thread(target=fast, daemon=True)
            reader.start()
            peak = baseline
            produced_at = time.monotonic()
            head = start
            lags: list[int] = []
            rounds = 0
            while head - start < SLOW_EVENTS:
                # Paced at RATE events/s, a pace one Python reader can follow on this machine.
                rounds += 1
                delay = produced_at + rounds * JOBS_FOR_SLOW / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                head = _control(client, "unblock" if rounds % 2 else "block", ids)
                peak = max(peak, proc.memory_info().rss)
                lags.append(head - (fast_seqs[-1] if fast_seqs else start))
            production_s = time.monotonic() - produced_at
            fast_during = len(fast_seqs)
            target[0] = head
            assert fast_done.wait(60), "the fast subscriber did not keep up"
            fast_catchup_s = time.monotonic() - produced_at - production_s
            peak = max(peak, proc.memory_info().rss)

            # The slow one now reads all of it, from the store.
            slow_seqs: list[int] = []
            unblocked: list[int] = []
            read_at = time.monotonic()
            for item in slow:
                if item.HasField("event"):
                    slow_seqs.append(item.event.seq)
                    if item.event.name == event_pb2.EVENT_NAME_UNBLOCKED:
                        unblocked.append(item.event.seq)
                    if item.event.seq >= head:
                        break
                peak = max(peak, proc.memory_info().rss) if len(slow_seqs) % 5000 == 0 else peak
            slow.cancel()
            slow_read_s = time.monotonic() - read_at
            # A filtered one as far behind reads from the store only what its filter keeps
            # (eventlog.EventLog.read_matching), and misses none of it.
            filtered = slow_client._stub.Subscribe(  # noqa: SLF001
                supervisor_pb2.SubscribeRequest(
                    after_seq=start, heartbeat_seconds=1, names=[event_pb2.EVENT_NAME_UNBLOCKED]
                )
            )
            filtered_seqs: list[int] = []
            for item in filtered:
                if item.HasField("heartbeat"):
                    break
                filtered_seqs.append(item.event.seq)
            filtered.cancel()
            slow_client.close()
            after = proc.memory_info().rss

        mb = 1 << 20
        print(
            f"\n{head - start} events in {production_s:.1f} s; "
            f"RSS baseline {baseline / mb:.0f} MB, "
            f"peak {peak / mb:.0f} MB, after {after / mb:.0f} MB; fast subscriber max lag "
            f"{max(lags)} events ({fast_during} read during production), caught up "
            f"{fast_catchup_s:.2f} s after the last; slow one "
            f"read {len(slow_seqs)} in {slow_read_s:.1f} s"
        )
        # The fast one read live while the slow one read nothing, and got every event before
        # the slow one read its first: one that stops reading holds back no other. How far
        # behind the fast one fell is printed, not asserted: on a loaded machine its reader
        # thread shares the cores and the GIL with the producer above.
        assert fast_during > 0
        assert fast_seqs == list(range(start + 1, head + 1))
        assert slow_seqs == list(range(start + 1, head + 1))
        assert len(unblocked) > SLOW_EVENTS // 3 and filtered_seqs == unblocked
        assert peak - baseline < RSS_BOUND_MB * mb
    finally:
        server.stop()


# --- 3. snapshot, heartbeats, filters -------------------------------------------------------


def test_snapshot_then_events_strictly_after(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        with server.client() as client, Client(server.address, user="bob") as bob:
            groups = [client.submit(_blocked_jobs(2, "snap")) for _ in range(3)]
            mine = [job for group in groups for job in group.jobs]
            bobs = bob.submit(_blocked_jobs(2, "snap"))
            client.control("unblock", job_ids=[mine[0].id])
            call = client._stub.Subscribe(  # noqa: SLF001
                supervisor_pb2.SubscribeRequest(
                    snapshot=True, labels=["snap0"], heartbeat_seconds=1
                ),
                timeout=30,
            )
            items = iter(call)
            snapshot = []
            for item in items:
                if item.HasField("snapshot_end"):
                    end = item.snapshot_end.seq
                    break
                assert item.HasField("snapshot_job"), item
                snapshot.append(item.snapshot_job)
            expected = sorted(j.id for j in mine + list(bobs.jobs) if j.label == "snap0")
            assert [j.id for j in snapshot] == expected
            by_id = {j.id: j for j in snapshot}
            assert by_id[mine[0].id].status != by_id[mine[2].id].status
            head = client.control("block", job_ids=[mine[0].id]).seq  # not in the snapshot
            assert end == head - 1
            after = client.control("unblock", job_ids=[j.id for j in mine]).seq
            got = []
            for item in items:
                if item.HasField("heartbeat"):
                    assert item.heartbeat.head_seq == after
                    break
                got.append(item.event)
            call.cancel()
            assert got and all(e.seq > end and e.label == "snap0" for e in got)
            assert got[0].seq == head and got[0].name == event_pb2.EVENT_NAME_BLOCKED
            assert [e.job_id for e in got[1:]] == [j.id for j in mine if j.label == "snap0"]
    finally:
        server.stop()


def test_after_seq_zero_minus_one_and_heartbeat_head(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        with server.client() as client:
            ids = [j.id for j in client.submit(_blocked_jobs(5, "h")).jobs]
            head = client.control("unblock", job_ids=ids).seq
            # after_seq=-1: only new events; the first item, idle, is a heartbeat at the head.
            call = client._stub.Subscribe(  # noqa: SLF001
                supervisor_pb2.SubscribeRequest(after_seq=-1, heartbeat_seconds=1), timeout=30
            )
            items = iter(call)
            took = time.monotonic()
            first = next(items)
            assert first.HasField("heartbeat") and first.heartbeat.head_seq == head
            assert time.monotonic() - took < 3
            new = client.control("block", job_ids=ids[:2]).seq
            nxt = [next(items), next(items)]
            assert [i.event.seq for i in nxt] == [new - 1, new]
            beat = next(items)
            assert beat.HasField("heartbeat") and beat.heartbeat.head_seq == new
            call.cancel()
            # after_seq=0: from the oldest retained event.
            everything = _full_log(server, new)
            assert [e.seq for e in everything] == list(range(1, new + 1))
            # after_seq beyond the head: OUT_OF_RANGE.
            with pytest.raises(grpc.RpcError) as beyond:
                list(
                    client._stub.Subscribe(  # noqa: SLF001
                        supervisor_pb2.SubscribeRequest(after_seq=new + 10), timeout=10
                    )
                )
            assert beyond.value.code() == grpc.StatusCode.OUT_OF_RANGE
    finally:
        server.stop()


def test_filters_labels_users_names_types_and_callback_runs(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=1).start()
    try:
        with server.client() as client, Client(server.address, user="carol") as carol:
            blocked = client.submit(_blocked_jobs(4, "f"))
            carols = carol.submit(_blocked_jobs(2, "c"))
            runner = client.submit(
                [
                    {
                        "name": "runs",
                        "label": "runs",
                        "package": {"cmdline": "true"},
                        "callbacks": [{"triggers": "complete-job-self", "code": "block-self"}],
                    }
                ]
            )
            run_id = runner.jobs[0].id
            wait_job(client, run_id)
            # The callback run is recorded after the job completes; wait for its event.
            deadline = time.monotonic() + 30
            while not list(client.callback_runs(job_id=run_id)):
                assert time.monotonic() < deadline, "the callback never ran"
                time.sleep(0.05)
            client.control("unblock", job_ids=[j.id for j in blocked.jobs])
            carol.control("unblock", job_ids=[j.id for j in carols.jobs])
            for job in list(blocked.jobs) + list(carols.jobs):
                wait_job(client, job.id)  # they run: the log is quiet afterwards
            reference = _full_log(server, 1 << 62)
            head = reference[-1].seq
            assert any(e.event_type == event_pb2.EVENT_TYPE_CALLBACK for e in reference)
            cases: list[SubscribeFilters] = [
                {"labels": ["f1"]},
                {"labels": ["f0", "c1"]},
                {"users": ["carol"]},
                {"names": [event_pb2.EVENT_NAME_UNBLOCKED]},
                {"types": [event_pb2.EVENT_TYPE_WORK]},
                {"types": [event_pb2.EVENT_TYPE_JOB], "users": ["tester"]},
                {"job_ids": [run_id]},
                {"job_ids": [run_id], "include_callback_runs": True},
                {"include_callback_runs": True},
                {"types": [event_pb2.EVENT_TYPE_CALLBACK], "include_callback_runs": True},
                {"pgrps": [carols.pgrp], "names": [event_pb2.EVENT_NAME_SUBMIT]},
            ]
            for case in cases:
                call = client._stub.Subscribe(  # noqa: SLF001
                    supervisor_pb2.SubscribeRequest(after_seq=0, heartbeat_seconds=1, **case),
                    timeout=30,
                )
                got = []
                for item in call:
                    if item.HasField("heartbeat"):
                        assert item.heartbeat.head_seq == head
                        break
                    got.append(item.event.seq)
                call.cancel()
                _assert_exactly_once(got, reference, case)
    finally:
        server.stop()


# --- 4. SIGTERM ends streams; the resuming client continues ---------------------------------


async def test_sigterm_ends_streams_and_the_resuming_client_continues(tmp_path: Path) -> None:
    import asyncio

    server = ServerProcess(tmp_path / "data", slots=0, env=FAST_ENV).start()
    try:
        with server.client() as client:
            ids = [j.id for j in client.submit(_blocked_jobs(200, "t")).jobs]
            before = _toggle(client, ids, 5)
        seen: list[int] = []
        async with AsyncClient(server.address, user="tester") as aclient:
            reached = asyncio.Event()
            target = [1 << 62]

            async def follow() -> None:
                async for event in aclient.subscribe(heartbeat_seconds=1, timeout=90):
                    seen.append(event.seq)  # type: ignore[union-attr]
                    if event.seq >= before:  # type: ignore[union-attr]
                        reached.set()
                    if event.seq >= target[0]:  # type: ignore[union-attr]
                        return

            task = asyncio.create_task(follow())
            await asyncio.wait_for(reached.wait(), 30)
            stopping = time.monotonic()
            old = server
            server = await asyncio.to_thread(_restart_same_port, old, signal.SIGTERM)
            assert old.process is not None and old.process.returncode == 0
            assert time.monotonic() - stopping < 15, "SIGTERM did not end the open stream"
            with server.client() as client:
                target[0] = _toggle(client, ids, 4)
            await asyncio.wait_for(task, 60)
        reference = _full_log(server, target[0])
        assert seen == [e.seq for e in reference] == list(range(1, target[0] + 1))
    finally:
        server.stop()
