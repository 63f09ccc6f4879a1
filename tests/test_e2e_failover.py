"""Clients given several addresses move to the one that answers (issue 16, item 3).

A standby supervisor does not listen on its gRPC address, so for a client a takeover reads as
"the supervisor at this address went away, another address answers". Simulated here with real
supervisors on one SQLite data directory: one is stopped on address A and another started on
address B (two at once on one directory are refused), while the Python client, its asyncio
twin, ``qb`` and the ``latchwork`` command were given "A,B" (and "B,A"): unary calls go on at
B, the resuming Subscribe carries on after its last seq with no gap and no duplicate, a Submit
repeated with its request id is not taken twice, and AddCallbacks is never made twice.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from latchwork.client import AsyncClient, Client, UnavailableError
from latchwork.client.aio import resume_sync
from latchwork.v1 import event_pb2, job_pb2

from .serverproc import ServerProcess
from .takeover import MovingSupervisor, free_addresses
from .waiting import events_until, job_final, wait_job


def frames(name: str, count: int = 3) -> dict[str, object]:
    return {
        "name": name,
        "prototype": "cmdrange",
        "package": {"cmdline": "echo frame QB_FRAME_NUMBER", "range": f"1-{count}"},
    }


def cli(address: str, *args: str, python: bool = False) -> subprocess.CompletedProcess[str]:
    """``latchwork ARGS`` (or with ``python``, ``python ARGS``) given ``address``."""
    command = [] if python else ["-m", "latchwork.client.cli"]
    return subprocess.run(
        [sys.executable, *command, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LATCHWORK_ADDRESS": address, "LATCHWORK_USER": "tester"},
    )


def test_every_client_skips_an_address_where_nothing_listens(tmp_path: Path) -> None:
    [nowhere] = free_addresses(1)
    server = ServerProcess(tmp_path / "data").start()
    try:
        for addresses in (f"{nowhere},{server.address}", f"{server.address}, {nowhere}"):
            with Client(addresses, user="tester") as client:
                job_id = client.submit([frames("skip")]).jobs[0].id
                assert wait_job(client, job_id).status == job_pb2.JOB_STATUS_COMPLETE
                assert job_id in [job.id for job in client.list_jobs()]

            async def asynchronously(addresses: str = addresses, job_id: int = job_id) -> None:
                async with AsyncClient(addresses, user="tester") as aclient:
                    assert (await aclient.get_job(job_id)).id == job_id
                    stream = aclient.subscribe(job_ids=[job_id], timeout=30)
                    assert isinstance(stream, AsyncGenerator)
                    first = await anext(stream)
                    await stream.aclose()
                    assert isinstance(first, event_pb2.Event) and first.job_id == job_id

            asyncio.run(asynchronously())
            shown = cli(addresses, "job", str(job_id))
            assert shown.returncode == 0 and "skip" in shown.stdout, shown.stderr
            flagged = cli("", "--address", addresses, "jobs")
            assert flagged.returncode == 0 and "skip" in flagged.stdout, flagged.stderr
            qb_script = (
                f"from latchwork.client import qb; print(qb.jobinfo(id={job_id})[0]['name'])"
            )
            by_qb = cli(addresses, "-c", qb_script, python=True)
            assert by_qb.returncode == 0 and by_qb.stdout.strip() == "skip", by_qb.stderr
    finally:
        server.stop()


def test_add_callbacks_is_not_made_again_elsewhere(tmp_path: Path) -> None:
    """AddCallbacks would add twice if repeated: it raises, and the next call goes to the next
    address, where it is made once."""
    [nowhere] = free_addresses(1)
    server = ServerProcess(tmp_path / "data", slots=0).start()
    unblock = {"triggers": "done-job-self", "code": "unblock-self"}
    try:
        with server.client() as direct:
            job_id = direct.submit([frames("held")]).jobs[0].id
        with Client(f"{nowhere},{server.address}", user="tester") as client:
            with pytest.raises(UnavailableError):
                client.add_callbacks(job_id, [unblock])
            client.add_callbacks(job_id, [unblock])
            assert len(client.get_job(job_id).callbacks) == 1
    finally:
        server.stop()


@pytest.mark.parametrize("first", [0, 1], ids=["from-first-listed", "from-second-listed"])
def test_a_takeover_mid_stream_loses_and_repeats_nothing(tmp_path: Path, first: int) -> None:
    farm = MovingSupervisor(tmp_path, first)
    addresses = ",".join(farm.addresses)
    seen: list[event_pb2.Event] = []
    job_ids: dict[str, int] = {}
    arrived = {name: threading.Event() for name in ("before", "after")}

    failures: list[BaseException] = []

    def follow(client: Client) -> None:
        try:
            for event in resume_sync(client, timeout=120, give_up_after=60):
                assert isinstance(event, event_pb2.Event)
                seen.append(event)
                for name, job_id in list(job_ids.items()):
                    if job_final(job_id)(event):
                        arrived[name].set()
                if arrived["after"].is_set():
                    return
        except BaseException as failure:  # handed to the test's thread
            failures.append(failure)

    try:
        with Client(addresses, user="tester") as client:
            follower = threading.Thread(target=follow, args=(client,), daemon=True)
            follower.start()
            submitted = client.submit([frames("before")], request_id="takeover-1")
            job_ids["before"] = submitted.jobs[0].id
            assert arrived["before"].wait(60), "the stream did not follow the first job"
            farm.move()
            again = client.submit([frames("before")], request_id="takeover-1")
            assert [job.id for job in again.jobs] == [job_ids["before"]]
            job_ids["after"] = client.submit([frames("after")]).jobs[0].id
            assert client.get_job(job_ids["before"]).status == job_pb2.JOB_STATUS_COMPLETE
            follower.join(90)
            assert not follower.is_alive(), "the stream did not follow past the takeover"
            assert failures == []
            assert sorted(job.spec.name for job in client.list_jobs()) == ["after", "before"]
        with farm.server.client() as direct:
            reference = events_until(direct, job_final(job_ids["after"]))
        assert [e.seq for e in seen] == [e.seq for e in reference]
        assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
        assert [(e.job_id, e.name) for e in seen] == [(e.job_id, e.name) for e in reference]
    finally:
        farm.close()


def test_the_asyncio_client_follows_a_takeover(tmp_path: Path) -> None:
    farm = MovingSupervisor(tmp_path, 0)

    async def scenario() -> tuple[list[int], int]:
        seqs: list[int] = []
        async with AsyncClient(",".join(farm.addresses), user="tester") as client:
            before = (await client.submit([frames("before")])).jobs[0].id
            stream = client.subscribe(timeout=120, give_up_after=60)
            assert isinstance(stream, AsyncGenerator)
            async for event in stream:
                assert isinstance(event, event_pb2.Event)
                seqs.append(event.seq)
                if job_final(before)(event):
                    break
            await asyncio.to_thread(farm.move)
            after = (await client.submit([frames("after")])).jobs[0].id
            async for event in stream:
                assert isinstance(event, event_pb2.Event)
                seqs.append(event.seq)
                if job_final(after)(event):
                    break
            await stream.aclose()
            return seqs, after

    try:
        seqs, after = asyncio.run(scenario())
        with farm.server.client() as direct:
            reference = events_until(direct, job_final(after))
        assert seqs == [e.seq for e in reference] == list(range(1, len(seqs) + 1))
    finally:
        farm.close()


def test_the_cli_watches_a_job_across_a_takeover(tmp_path: Path) -> None:
    """``latchwork watch --until-done`` given "A,B" follows the job from A to B; ``unblock``
    given the same list reaches B."""
    farm = MovingSupervisor(tmp_path, 0)
    addresses = ",".join(farm.addresses)
    try:
        with farm.server.client() as client:
            held = {**frames("watched", 1), "status": "blocked"}
            job_id = client.submit([held]).jobs[0].id
        watch = subprocess.Popen(
            [
                *(sys.executable, "-m", "latchwork.client.cli", "watch", "--job", str(job_id)),
                *("--until-done", "--type", "job"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "LATCHWORK_ADDRESS": addresses, "LATCHWORK_USER": "tester"},
        )
        try:
            assert watch.stdout is not None
            while "submit-job" not in (line := watch.stdout.readline()):
                assert line, "watch ended before the job's first event"
            farm.move()
            unblocked = cli(addresses, "unblock", str(job_id))
            assert unblocked.returncode == 0, unblocked.stderr
            rest, _ = watch.communicate(timeout=60)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()
        assert watch.returncode == 0, rest
        assert [line.split()[2] for line in rest.splitlines()] == [
            "unblocked-job",
            "running-job",
            "complete-job",
        ]
    finally:
        farm.close()
