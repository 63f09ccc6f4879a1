"""The embedded worker pool: runs work on the supervisor's own machine.

It is a worker like any remote one (it leases work from the supervisor and reports back), but
it talks to the supervisor by function call instead of gRPC. With slots it is a host of the
farm (``local``), named after this machine (or ``--host``), its resources detected; without
slots (a head node) it is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from .core.transitions import WorkOutcome
from .frame_user import FramePolicy
from .host_registry import HostInfo
from .leases import LeaseGrant
from .machine import detect_resources
from .output import OutputStore
from .runner import ManagedProcess, RunResult, start_failure_reason
from .store.errors import StorageError
from .supervisor import Supervisor
from .throttled_log import ThrottledLog
from .work_leasing import EndedRun

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0


class LocalPool:
    def __init__(
        self,
        supervisor: Supervisor,
        outputs: OutputStore,
        *,
        slots: int,
        host: str = "",
        kill_grace: float = 0.5,
        policy: FramePolicy | None = None,
    ) -> None:
        """``policy``: who frames run as and what they inherit (default: as the supervisor,
        in a clean environment)."""
        self.supervisor = supervisor
        self.outputs = outputs
        self.slots = slots
        self.host = host or socket.gethostname()
        self.kill_grace = kill_grace
        self.policy = policy or FramePolicy()
        self._processes: dict[str, ManagedProcess] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._storage_log = ThrottledLog(log)
        info = HostInfo(self.host, slots, detect_resources(), local=True) if slots > 0 else None
        self.worker_id = supervisor.register_worker(self.host, self, info)

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
        delay = RETRY_FIRST_SECONDS
        while self._accepting:
            free = self.slots - len(self._tasks)
            try:
                grants = self.supervisor.lease(self.worker_id, free) if free > 0 else []
            except StorageError as error:
                # A full disk pauses leasing; it resumes by itself once space is freed.
                self._storage_log.warning("could not lease work (%s); retrying", error)
                await self._pause(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            delay = RETRY_FIRST_SECONDS
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
        """Run one lease to its end. Whatever goes wrong, the run is reported: an item is
        never left running with nothing behind it."""
        try:
            stdout, stderr = self.outputs.prepare(grant.job_id, grant.work_index, grant.attempt)
            process = ManagedProcess.start(
                grant.process, stdout, stderr, kill_grace=self.kill_grace, policy=self.policy
            )
        except Exception as error:
            await self._report(
                grant.lease_id, WorkOutcome.START_FAILED, -1, start_failure_reason(error)
            )
            return
        self._processes[grant.lease_id] = process
        try:
            if self.supervisor.lease_entry(grant.lease_id) is None:
                process.kill()  # taken back while the process was starting
            result = await process.wait(grant.timeout_seconds)
        except Exception as error:
            log.exception("lost track of the process of lease %s", grant.lease_id)
            with contextlib.suppress(Exception):
                process.kill()
            result = RunResult(
                WorkOutcome.EXITED, -1, f"the worker lost track of the process: {error}"
            )
        finally:
            del self._processes[grant.lease_id]
        await self._report(grant.lease_id, result.outcome, result.exit_code, result.message)

    async def _report(
        self, lease_id: str, outcome: WorkOutcome, exit_code: int, message: str
    ) -> None:
        """Report a run's end and, in the same transaction, refill the slot it frees; the
        runs that end in one turn of the event loop share that transaction
        (server/commit_queue.py), and the next frames start once it is stored.

        A report the store cannot take (a full disk) is retried until it is stored. Only a
        shutdown ends the retries: the item is still running in the store then, and the next
        start requeues it.
        """
        delay = RETRY_FIRST_SECONDS
        while True:
            free = self.slots - len(self._tasks) + 1 if self._accepting else 0
            try:
                _, grants = await self.supervisor.report_many_and_lease_aside(
                    [EndedRun(lease_id, outcome, exit_code, message)],
                    worker_id=self.worker_id,
                    max_leases=free,
                )
            except StorageError as error:
                if self._stopping.is_set():
                    log.warning(
                        "could not store the end of lease %s (%s); the next start requeues it",
                        lease_id,
                        error,
                    )
                    return
                self._storage_log.warning(
                    "could not store the end of lease %s (%s); retrying until it is stored",
                    lease_id,
                    error,
                )
                await self._pause(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            for grant in grants:
                self._launch(grant)
            return

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the pool stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def stop(self) -> None:
        """Stop leasing and wait for the processes (the supervisor has asked them to end)."""
        self._accepting = False
        self._stopping.set()
        for process in list(self._processes.values()):
            process.kill()
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(list(self._tasks), timeout=self.kill_grace + 5)
