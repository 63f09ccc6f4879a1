"""The embedded worker pool: runs work on the supervisor's own machine.

It is a worker like any remote one (it leases work from the supervisor and reports back), but
it talks to the supervisor by function call instead of gRPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from .core.transitions import RunOutcome
from .output import OutputStore
from .runner import ManagedProcess
from .supervisor import LeaseGrant, Supervisor

log = logging.getLogger(__name__)


class LocalPool:
    def __init__(
        self,
        supervisor: Supervisor,
        outputs: OutputStore,
        *,
        slots: int,
        host: str = "",
        kill_grace: float = 0.5,
    ) -> None:
        self.supervisor = supervisor
        self.outputs = outputs
        self.slots = slots
        self.host = host or socket.gethostname()
        self.kill_grace = kill_grace
        self._processes: dict[str, ManagedProcess] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self.worker_id = supervisor.register_worker(self.host, self)

    # LeaseSink: called by the supervisor after it stored a change.
    def kill(self, lease_id: str) -> None:
        if (process := self._processes.get(lease_id)) is not None:
            process.kill()

    def suspend(self, lease_id: str) -> None:
        if (process := self._processes.get(lease_id)) is not None:
            process.suspend()

    def resume(self, lease_id: str) -> None:
        if (process := self._processes.get(lease_id)) is not None:
            process.resume()

    async def run(self) -> None:
        while self._accepting:
            free = self.slots - len(self._tasks)
            grants = self.supervisor.lease(self.worker_id, free) if free > 0 else []
            for grant in grants:
                self._launch(grant)
            if grants:
                continue
            wakeup = self._slot_freed if free <= 0 else self.supervisor.work_signal()
            waiters = [
                asyncio.ensure_future(wakeup.wait()),
                asyncio.ensure_future(self._stopping.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters, timeout=5.0, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
            self._slot_freed.clear()

    def _launch(self, grant: LeaseGrant) -> None:
        task = asyncio.get_running_loop().create_task(self._run_one(grant))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("work runner failed", exc_info=task.exception())

    async def _run_one(self, grant: LeaseGrant) -> None:
        stdout, stderr = self.outputs.prepare(grant.job_id, grant.work_index, grant.attempt)
        try:
            process = ManagedProcess.start(
                grant.process, stdout, stderr, kill_grace=self.kill_grace
            )
        except OSError as error:
            self._report(grant.lease_id, RunOutcome.START_FAILED, -1, str(error))
            return
        self._processes[grant.lease_id] = process
        if self.supervisor.lease_entry(grant.lease_id) is None:
            process.kill()  # taken back while the process was starting
        try:
            result = await process.wait(grant.timeout_seconds)
        finally:
            del self._processes[grant.lease_id]
        self._report(grant.lease_id, result.outcome, result.exit_code, result.message)

    def _report(self, lease_id: str, outcome: RunOutcome, exit_code: int, message: str) -> None:
        """Report a run's end and, in the same transaction, refill the slot it frees."""
        free = self.slots - len(self._tasks) + 1 if self._accepting else 0
        _, grants = self.supervisor.report_and_lease(
            lease_id, outcome, exit_code, message, worker_id=self.worker_id, max_leases=free
        )
        for grant in grants:
            self._launch(grant)

    async def stop(self) -> None:
        """Stop leasing and wait for the processes (the supervisor has asked them to end)."""
        self._accepting = False
        self._stopping.set()
        for process in list(self._processes.values()):
            process.kill()
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(list(self._tasks), timeout=self.kill_grace + 5)
