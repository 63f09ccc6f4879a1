"""The worker pool: runs, limits, recycling, replacement, concurrency, an untrusted wire."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from latchwork.sandbox.actions import CallbackAction, Scope, Verb
from latchwork.sandbox.python import pool as pool_module
from latchwork.sandbox.python.pool import (
    Limits,
    PythonResult,
    SandboxError,
    SandboxPool,
)
from latchwork.sandbox.python.protocol import ProtocolError
from latchwork.sandbox.python.worker import Runner, Settings

from .calls import OWNER, USEFUL_CODE, USEFUL_OUTPUT, make_call

FAST = Limits(cpu_seconds=1.0, wall_seconds=4.0)
BURN = "n = 0\nwhile True:\n    n += 1\n"


@pytest.fixture
async def pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(2, FAST) as started:
        yield started


def proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def full(pool: SandboxPool) -> None:
    await wait_for(lambda: len(pool.pids) == pool.size)


async def test_a_run_returns_actions_and_output(pool: SandboxPool) -> None:
    result = await pool.run(
        make_call("print('frame', event.binding)\nqb.workunblock('%d:3' % qb.jobid())")
    )
    assert result.error == "" and result.limit == ""
    assert result.output == "frame 2\n"
    assert result.actions == [CallbackAction(Verb.UNBLOCK, Scope.WORK, OWNER, work_name="3")]
    assert 0 < result.duration_ms < 4000


async def test_everyday_python_works_in_a_locked_down_worker(pool: SandboxPool) -> None:
    result = await pool.run(make_call(USEFUL_CODE))
    assert result.error == "", result
    assert result.output == USEFUL_OUTPUT


async def test_errors_carry_the_users_line_and_apply_nothing(pool: SandboxPool) -> None:
    code = "qb.unblock(11)\nprint('before')\n\nx = {}\nx['missing']\n"
    result = await pool.run(make_call(code))
    assert result.error == "KeyError: 'missing'" and result.error_line == 5
    assert result.actions == [] and result.output == "before\n" and result.limit == ""
    compiled = await pool.run(make_call("a = 1\nimport os\n"))
    assert compiled.error.startswith("import of 'os' is not allowed") and compiled.error_line == 2


async def test_source_over_the_limit_never_reaches_a_worker() -> None:
    async with SandboxPool(1, Limits(max_source_bytes=100)) as small:
        pid = small.pids
        result = await small.run(make_call("x = 1\n" * 50))
        assert result.limit == "source" and "300 bytes" in result.error
        assert small.pids == pid


async def test_wall_clock_timeout_kills_and_replaces_the_worker() -> None:
    async with SandboxPool(1, Limits(cpu_seconds=30, wall_seconds=0.5)) as slow:
        before = slow.pids
        started = time.monotonic()
        result = await slow.run(make_call(BURN))
        assert time.monotonic() - started < 2.0
        assert result.limit == "time" and result.error.startswith("TimeoutError")
        assert result.actions == []
        await wait_for(lambda: proc_state(before[0]) in ("", "Z"))
        after = await slow.run(make_call("qb.unblock(11)"))
        assert after.actions == [CallbackAction(Verb.UNBLOCK, Scope.JOB, 11)]
        assert slow.pids != before and slow.replaced == 1


async def test_cpu_limit_is_enforced_by_the_kernel(pool: SandboxPool) -> None:
    result = await pool.run(
        make_call("try:\n    " + BURN.replace("\n", "\n    ") + "\nexcept BaseException:\n    pass")
    )
    assert result.limit == "cpu" and "CPU time limit" in result.error
    assert 900 < result.duration_ms < 3500
    assert (await pool.run(make_call("print(1)"))).output == "1\n"


async def test_memory_error_recycles_the_worker(pool: SandboxPool) -> None:
    await full(pool)
    before = set(pool.pids)
    result = await pool.run(make_call("x = []\nwhile True:\n    x.append('y' * 2**20)\n"))
    assert result.limit == "memory" and result.error.startswith("MemoryError")
    await full(pool)
    assert set(pool.pids) != before


async def test_output_limit() -> None:
    async with SandboxPool(1, Limits(max_output_bytes=100)) as small:
        result = await small.run(make_call("while True:\n    print('é' * 7)\nqb.unblock(1)"))
        assert result.limit == "output" and result.actions == []
        assert 90 <= len(result.output.encode()) <= 100
        caught = await small.run(
            make_call("try:\n    print('x' * 500)\nexcept BaseException:\n    pass\nqb.unblock(1)")
        )
        assert caught.limit == "output" and caught.actions == []


async def test_workers_are_recycled_after_runs_per_worker() -> None:
    async with SandboxPool(1, Limits(runs_per_worker=3)) as small:
        first = small.pids
        for _ in range(3):
            assert (await small.run(make_call("print(1)"))).output == "1\n"
        await wait_for(lambda: small.pids and small.pids != first)
        assert small.replaced == 1
        assert (await small.run(make_call("print(2)"))).output == "2\n"


async def test_a_killed_idle_worker_is_replaced(pool: SandboxPool) -> None:
    victim = pool.pids[0]
    os.kill(victim, signal.SIGKILL)
    await wait_for(lambda: proc_state(victim) in ("", "Z"))
    for _ in range(4):
        result = await pool.run(make_call("qb.unblock(11)"))
        assert result.error == "" and len(result.actions) == 1
    await full(pool)
    assert victim not in pool.pids


async def test_a_worker_killed_during_a_run_is_an_error_not_a_crash() -> None:
    async with SandboxPool(1, Limits(cpu_seconds=30, wall_seconds=20)) as one:
        victim = one.pids[0]
        task = asyncio.create_task(one.run(make_call(BURN)))
        await asyncio.sleep(0.3)
        os.kill(victim, signal.SIGKILL)
        result = await asyncio.wait_for(task, 5)
        assert "died" in result.error and "SIGKILL" in result.error and result.actions == []
        assert (await one.run(make_call("print('next')"))).output == "next\n"


async def test_two_workers_run_concurrently(pool: SandboxPool) -> None:
    long = asyncio.create_task(
        pool.run(make_call("n = 0\nwhile n < 1000000:\n    n += 1\nprint(n)"))
    )
    await asyncio.sleep(0.05)
    short = await pool.run(make_call("print('short')"))
    assert short.output == "short\n"
    assert not long.done()
    assert (await long).output == "1000000\n"
    results = await asyncio.gather(*(pool.run(make_call(f"print({i})")) for i in range(8)))
    assert [r.output for r in results] == [f"{i}\n" for i in range(8)]


async def test_worker_process_is_locked_down(pool: SandboxPool) -> None:
    pid = pool.pids[0]
    limits = Path(f"/proc/{pid}/limits").read_text()

    def soft(name: str) -> str:
        line = next(line for line in limits.splitlines() if line.startswith(name))
        return line[len(name) :].split()[0]

    assert soft("Max open files") == "5"
    assert soft("Max processes") == "0"
    assert soft("Max file size") == "0"
    assert soft("Max core file size") == "0"
    assert soft("Max address space") == str(FAST.memory_bytes)
    assert soft("Max cpu time") != "unlimited"
    status = Path(f"/proc/{pid}/status").read_text()
    uid = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1]
    assert uid != "0"
    assert os.getsid(pid) == pid  # its own session and process group
    assert sorted(os.listdir(f"/proc/{pid}/fd"), key=int) == ["0", "1", "2", "3", "4"]
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert {item.split(b"=")[0] for item in environ if item} <= {b"PATH", b"LANG", b"LC_ALL", b"TZ"}


async def test_a_reply_over_the_cap_is_a_protocol_violation(pool: SandboxPool) -> None:
    pool._reply_cap = 50  # noqa: SLF001 - stands in for a compromised worker
    before = set(pool.pids)
    result = await pool.run(make_call("print('x' * 100)"))
    assert result.error.startswith("the sandbox worker broke the protocol")
    assert result.actions == []
    await full(pool)
    assert set(pool.pids) != before


def test_replies_are_validated_field_by_field() -> None:
    good: dict[str, object] = {
        "actions": [
            {
                "verb": "unblock",
                "scope": "job",
                "job_id": 3,
                "work_name": "",
                "subjob_id": -1,
                "text": "",
            }
        ],
        "output": "ok",
        "error": "",
        "error_line": 0,
        "limit": "",
        "recycle": False,
    }
    result, recycle = pool_module._result(good, FAST, time.perf_counter())  # noqa: SLF001
    assert isinstance(result, PythonResult) and not recycle
    assert result.actions == [CallbackAction(Verb.UNBLOCK, Scope.JOB, 3)]
    for bad in (
        {**good, "extra": 1},
        {**good, "actions": "x"},
        {**good, "actions": [{}]},
        {**good, "actions": [good["actions"][0]] * 1001},  # type: ignore[index]
        {**good, "output": "x" * (FAST.max_output_bytes + 1)},
        {**good, "output": 1},
        {**good, "error": "e" * 5000},
        {**good, "error_line": -1},
        {**good, "error_line": True},
        {**good, "limit": "time"},
        {**good, "recycle": 1},
    ):
        with pytest.raises(ProtocolError):
            pool_module._result(bad, FAST, time.perf_counter())  # noqa: SLF001
    errored, _ = pool_module._result(  # noqa: SLF001
        {**good, "error": "ValueError: x", "output": "\ud800"}, FAST, time.perf_counter()
    )
    assert errored.actions == [] and errored.output == "?"


async def test_leftover_generators_finish_inside_their_own_run(pool: SandboxPool) -> None:
    code = (
        "def g():\n    try:\n        yield 1\n    finally:\n        print('cleanup')\n"
        "x = g()\nnext(x)"
    )
    assert (await pool.run(make_call(code))).output == "cleanup\n"
    looping = code.replace("print('cleanup')", "while True:\n            pass")
    spoiled = await pool.run(make_call(looping))
    assert spoiled.limit == "cpu"
    assert (await pool.run(make_call("print('fine')"))).output == "fine\n"


async def test_close_stops_everything_and_later_runs_fail_cleanly() -> None:
    one = SandboxPool(1, Limits(cpu_seconds=30, wall_seconds=20))
    await one.start()
    pids = one.pids
    running = asyncio.create_task(one.run(make_call(BURN)))
    await asyncio.sleep(0.2)
    await one.close()
    assert (await asyncio.wait_for(running, 5)).error
    assert all(proc_state(pid) in ("", "Z") for pid in pids)
    after = await one.run(make_call("print(1)"))
    assert after.error == "the Python sandbox is not available: the pool is closed"


async def test_a_pool_starts_on_first_use() -> None:
    lazy = SandboxPool(1)
    try:
        assert (await lazy.run(make_call("print(qb.jobid())"))).output == f"{OWNER}\n"
    finally:
        await lazy.close()


async def test_a_worker_that_cannot_start_is_a_sandbox_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "WORKER_MODULE", "latchwork.sandbox.python.no_such_worker")
    broken = SandboxPool(1)
    with pytest.raises(SandboxError, match="no_such_worker"):
        await broken.start()
    result = await broken.run(make_call("print(1)"))
    assert result.error.startswith("the Python sandbox is not available")
    await broken.close()


async def test_input_that_is_not_json_is_an_error_result(pool: SandboxPool) -> None:
    result = await pool.run(make_call("print(1)", event={"bad": {1, 2}}))
    assert result.error.startswith("the callback's input is not JSON data")


def test_the_compile_cache_returns_the_same_code() -> None:
    runner = Runner(Settings(1.0, 2**28, 1024, 10), cpu_hard=100)
    first = runner.compile("print(1)")
    assert runner.compile("print(1)") is first
    assert runner.compile("print(2)") is not first
