"""AsyncClient against a real supervisor, and event streams that survive a restart."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import grpc
import pytest

from latchwork.client import LatchworkError
from latchwork.client.aio import AsyncClient, StreamGapError, resume_sync
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from ..serverproc import ServerProcess

FINAL = {event_pb2.EVENT_NAME_COMPLETE, event_pb2.EVENT_NAME_FAILED, event_pb2.EVENT_NAME_KILLED}


def _is_final(event: event_pb2.Event, job_id: int) -> bool:
    return (
        event.job_id == job_id
        and event.event_type == event_pb2.EVENT_TYPE_JOB
        and event.name in FINAL
    )


async def test_async_client_basics(server: ServerProcess) -> None:
    async with AsyncClient(server.address, user="tester") as client:
        response = await client.submit(
            [
                {
                    "name": "A",
                    "label": "A",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "echo frame QB_FRAME_NUMBER", "range": "1-2"},
                },
                {
                    "name": "B",
                    "label": "B",
                    "package": {"cmdline": "true"},
                    "status": "blocked",
                    "callbacks": [{"triggers": "complete-job-A", "code": "unblock-self"}],
                },
            ]
        )
        a_id, b_id = (j.id for j in response.jobs)
        async for event in client.subscribe(job_ids=[b_id], timeout=60):
            if _is_final(event, b_id):  # type: ignore[arg-type]
                break
        assert (await client.get_job(b_id)).status == job_pb2.JOB_STATUS_COMPLETE
        assert (await client.get_job(a_id)).status == job_pb2.JOB_STATUS_COMPLETE
        listed = [job.id async for job in client.list_jobs(pgrps=[response.pgrp])]
        assert sorted(listed) == [a_id, b_id]
        output = await client.work_output(a_id, "1")
        assert output.data == b"frame 1\n"
        runs = [run async for run in client.callback_runs(job_id=b_id)]
        assert len(runs) == 1 and runs[0].output == f"unblock job {b_id}: done"
        (added,) = await client.add_callbacks(
            a_id, [{"triggers": "complete-job-B", "code": "block-self"}]
        )
        assert added.job_id == a_id
        valid = await client.validate_trigger("complete-job-A", job_id=b_id)
        assert valid.canonical and not valid.error.message
        control = await client.control("block", job_ids=[a_id])
        assert control.results[0].job_id == a_id

        with pytest.raises(LatchworkError) as invalid:
            await client.submit([{"name": "x", "package": {"cmdline": "true"}, "cpus": -1}])
        assert invalid.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in invalid.value.violations] == ["jobs[0].cpus"]
        with pytest.raises(LatchworkError) as missing:
            await client.get_job(999_999)
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(ValueError):
            await client.control("explode", job_ids=[a_id])


async def test_subscribe_out_of_range_is_a_clear_error(server: ServerProcess) -> None:
    async with AsyncClient(server.address, user="tester") as client:
        with pytest.raises(StreamGapError) as gap:
            async for _ in client.subscribe(after_seq=10_000, timeout=10):
                pass
        assert gap.value.code == grpc.StatusCode.OUT_OF_RANGE
        assert "cannot resume the event stream after seq 10000" in str(gap.value)


async def test_subscribe_gives_up_when_the_server_stays_away(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    async with AsyncClient(server.address, user="tester") as client:
        server.kill9()
        with pytest.raises(LatchworkError) as lost:
            async for _ in client.subscribe(give_up_after=1.0):
                pass
        assert lost.value.code == grpc.StatusCode.UNAVAILABLE
        assert "giving up" in lost.value.message


def _restart_same_port(first: ServerProcess) -> ServerProcess:
    port = first.address.rsplit(":", 1)[1]
    first.kill9()
    # ServerProcess passes --listen 127.0.0.1:0 itself; the later --listen wins.
    return ServerProcess(first.data_dir, extra=["--listen", f"127.0.0.1:{port}"]).start()


def _all_events(server: ServerProcess) -> list[event_pb2.Event]:
    with server.client() as client:
        call = client._stub.Subscribe(  # noqa: SLF001 - a plain, non-resuming reference stream
            supervisor_pb2.SubscribeRequest(after_seq=0, heartbeat_seconds=1), timeout=30
        )
        seen: list[event_pb2.Event] = []
        for item in call:
            if item.HasField("heartbeat"):
                break  # caught up with the head
            seen.append(item.event)
        call.cancel()
        return seen


FRAMES = {
    "name": "frames",
    "prototype": "cmdrange",
    "package": {"cmdline": "sleep 0.3", "range": "1-8"},
    "cpus": 2,
}


async def test_async_subscribe_survives_a_server_restart(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data").start()
    second: ServerProcess | None = None
    try:
        async with AsyncClient(first.address, user="tester") as client:
            job_id = (await client.submit([FRAMES])).jobs[0].id
            seen: list[event_pb2.Event] = []
            started = asyncio.Event()

            async def follow() -> None:
                async for event in client.subscribe(heartbeat_seconds=1, timeout=90):
                    seen.append(event)  # type: ignore[arg-type]
                    if event.name == event_pb2.EVENT_NAME_RUNNING:  # type: ignore[union-attr]
                        started.set()
                    if _is_final(event, job_id):  # type: ignore[arg-type]
                        return

            task = asyncio.create_task(follow())
            await asyncio.wait_for(started.wait(), 30)
            before = len(seen)
            second = await asyncio.to_thread(_restart_same_port, first)
            await asyncio.wait_for(task, 90)
            assert len(seen) > before

        reference = _all_events(second)
        seqs = [e.seq for e in seen]
        assert seqs == sorted(set(seqs)), "duplicates or disorder"
        assert seen == reference[: len(seen)]
        assert seqs == list(range(1, len(seen) + 1)), "a gap"
    finally:
        if second is not None:
            second.stop()
        elif first.process is not None and first.process.poll() is None:
            first.stop()


def test_resume_sync_survives_a_server_restart(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data").start()
    second: ServerProcess | None = None
    try:
        with first.client() as client:
            job_id = client.submit([FRAMES]).jobs[0].id
            seen: list[event_pb2.Event] = []
            started = threading.Event()
            failure: list[BaseException] = []

            def follow() -> None:
                try:
                    for event in resume_sync(client, heartbeat_seconds=1, timeout=90):
                        seen.append(event)  # type: ignore[arg-type]
                        if event.name == event_pb2.EVENT_NAME_RUNNING:  # type: ignore[union-attr]
                            started.set()
                        if _is_final(event, job_id):  # type: ignore[arg-type]
                            return
                except BaseException as error:
                    failure.append(error)

            thread = threading.Thread(target=follow)
            thread.start()
            assert started.wait(30)
            second = _restart_same_port(first)
            thread.join(90)
            assert not thread.is_alive() and not failure, failure

        reference = _all_events(second)
        seqs = [e.seq for e in seen]
        assert seqs == list(range(1, len(seen) + 1))
        assert seen == reference[: len(seen)]
    finally:
        if second is not None:
            second.stop()
        elif first.process is not None and first.process.poll() is None:
            first.stop()


def test_client_subscribe_resume_flag_uses_the_resuming_stream(tmp_path: Path) -> None:
    from latchwork.client import StreamGapError

    from ..serverproc import ServerProcess

    server = ServerProcess(tmp_path / "data").start()
    try:
        with server.client() as client:
            job = client.submit([{"name": "r", "package": {"cmdline": "true"}}]).jobs[0]
            first = next(iter(client.subscribe(resume=True, job_ids=[job.id])))
            assert isinstance(first, event_pb2.Event)
            assert first.job_id == job.id
            with pytest.raises(StreamGapError):
                next(iter(client.subscribe(after_seq=10**6, resume=True)))
    finally:
        server.stop()
