"""The local pool reports every run, whatever goes wrong: nothing stays running with nothing
behind it. Over a real store and real processes; the bad specs are built past validation
(as an older supervisor's database or a bug could hand them over)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypedDict, Unpack

import pytest

from latchwork.server.core.model import JobSpec
from latchwork.server.core.states import WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.leases import LeaseGrant
from latchwork.server.localpool import LocalPool
from latchwork.server.output import OutputStore
from latchwork.server.runner import ManagedProcess, RunResult
from latchwork.server.store import SqliteStore
from latchwork.server.store.protocol import Answered
from latchwork.server.store.sql_store import RenderedWrite
from latchwork.server.supervisor import Supervisor


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[tuple[Supervisor, LocalPool]]:
    store = SqliteStore(tmp_path / "latchwork.db")
    supervisor = Supervisor(store, OutputStore(tmp_path / "output"))
    pool = LocalPool(supervisor, supervisor.outputs, slots=1, host="here")
    yield supervisor, pool
    store.close()


class _ProcessChanges(TypedDict, total=False):
    """The fields of the granted ProcessSpec a test replaces."""

    cmdline: str
    cwd: str


def _lease(
    supervisor: Supervisor, pool: LocalPool, **process: Unpack[_ProcessChanges]
) -> LeaseGrant:
    supervisor.submit([JobSpec(cmdline="true")])
    (grant,) = supervisor.lease(pool.worker_id, 1)
    return dataclasses.replace(grant, process=dataclasses.replace(grant.process, **process))


@pytest.mark.parametrize(
    "process",
    [{"cmdline": "echo a\x00b"}, {"cwd": "/tmp\x00x"}],
    ids=["nul-in-cmdline", "nul-in-cwd"],
)
async def test_a_process_that_cannot_start_fails_the_item_with_the_reason(
    farm: tuple[Supervisor, LocalPool], process: _ProcessChanges
) -> None:
    supervisor, pool = farm
    grant = _lease(supervisor, pool, **process)
    await pool._run_one(grant)  # noqa: SLF001 - the runner path itself is under test
    item = supervisor.index.jobs[grant.job_id].work[0]
    assert item.status is WorkStatus.FAILED
    assert "could not start" in item.message and "NUL byte" in item.message
    assert supervisor.lease_entry(grant.lease_id) is None


async def test_an_output_directory_that_cannot_be_made_fails_the_item(
    farm: tuple[Supervisor, LocalPool], tmp_path: Path
) -> None:
    supervisor, pool = farm
    (tmp_path / "output").write_text("a file where the output directory should be")
    grant = _lease(supervisor, pool)
    await pool._run_one(grant)  # noqa: SLF001
    item = supervisor.index.jobs[grant.job_id].work[0]
    assert item.status is WorkStatus.FAILED
    assert "could not start" in item.message


async def test_a_failure_while_the_process_runs_still_reports(
    farm: tuple[Supervisor, LocalPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisor, pool = farm

    async def broken_wait(self: ManagedProcess, timeout: float = 0.0) -> RunResult:
        raise RuntimeError("pidfd went away")

    monkeypatch.setattr(ManagedProcess, "wait", broken_wait)
    grant = _lease(supervisor, pool, cmdline="sleep 30")
    await pool._run_one(grant)  # noqa: SLF001
    item = supervisor.index.jobs[grant.job_id].work[0]
    assert (item.status, item.exit_code) == (WorkStatus.FAILED, -1)
    assert supervisor.lease_entry(grant.lease_id) is None


async def test_runs_that_end_in_one_turn_of_the_loop_are_stored_in_one_transaction(
    tmp_path: Path,
) -> None:
    """The pool's reports go through the commit queue (server/commit_queue.py), which
    gathers those of one turn into one SQLite transaction, each answered once it is stored."""
    store = SqliteStore(tmp_path / "latchwork.db")
    supervisor = Supervisor(store, OutputStore(tmp_path / "output"))
    pool = LocalPool(supervisor, supervisor.outputs, slots=2, host="here")
    try:
        supervisor.submit([JobSpec(cmdline="true"), JobSpec(cmdline="true")])
        grants = supervisor.lease(pool.worker_id, 2)
        sizes: list[int] = []
        send = store.send_writes

        def counted(writes: Sequence[RenderedWrite]) -> Answered:
            sizes.append(len(writes))
            return send(writes)

        store.send_writes = counted  # type: ignore[method-assign]
        await asyncio.gather(
            *(pool._report(g.lease_id, WorkOutcome.EXITED, 0, "") for g in grants)  # noqa: SLF001
        )
        assert sizes == [2]
        for grant in grants:
            assert supervisor.index.jobs[grant.job_id].work[0].status is WorkStatus.COMPLETE
            assert supervisor.lease_entry(grant.lease_id) is None
    finally:
        store.close()
