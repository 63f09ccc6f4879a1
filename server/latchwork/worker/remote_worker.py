"""``latchwork worker``: a machine that runs work for a supervisor over gRPC.

It registers (started by :mod:`.process`), leases work, runs each item with the same runner as
the local pool, streams the output back while the process runs, and reports how it ended: the
runs that ended together in one call that also takes the next leases (``report_batch``), so
``LeaseWork`` serves only when there is nothing to report.
Heartbeats carry the requests to kill, suspend or resume its processes. Its frames die with it,
however it dies, and a run that starts again removes what a previous one left before it
registers (``frame_guardian``).

The supervisor may go away (kill -9, SIGTERM, an upgrade, a standby taking over at another of
the addresses given, ``supervisor_link``) while frames run: they run on, their
output stays on disk and their reports wait, retried. When the supervisor no longer knows the
worker (a heartbeat answers ``known = false``, a call is refused with FAILED_PRECONDITION), the
worker registers again naming every lease it still holds, running or ended and not yet
reported; it keeps those the supervisor re-attaches and kills the frames of the others (their
work was taken back meanwhile), then uploads and reports as usual (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import grpc

from latchwork.common import keepalive
from latchwork.server.core.command import ProcessSpec
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.frame_user import FramePolicy, default_run_as
from latchwork.server.host_registry import HostInfo
from latchwork.server.machine import detect_resources
from latchwork.server.runner import ManagedProcess, RunResult, start_failure_reason
from latchwork.server.throttled_log import ThrottledLog
from latchwork.v1 import job_pb2, worker_pb2

from .frame_guardian import FrameGuard
from .registration import Registration
from .registration import register_request as register_request  # re-exported (tests)
from .report_batch import FINAL_REFUSALS as _FINAL_REFUSALS
from .report_batch import REREGISTRATIONS as _REREGISTRATIONS
from .report_batch import RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS, ReportBatcher
from .supervisor_link import SupervisorLink

log = logging.getLogger(__name__)
T = TypeVar("T")

_OUTCOMES = {
    WorkOutcome.EXITED: worker_pb2.WORK_OUTCOME_EXITED,
    WorkOutcome.TIMED_OUT: worker_pb2.WORK_OUTCOME_TIMED_OUT,
    WorkOutcome.KILLED: worker_pb2.WORK_OUTCOME_KILLED,
    WorkOutcome.START_FAILED: worker_pb2.WORK_OUTCOME_START_FAILED,
}
UPLOAD_INTERVAL = 1.0
UPLOAD_CHUNK = 1 << 20
# How long the output of a finished run may keep failing to upload before the report goes
# without it: the report (how the item ended) matters more than its last lines of output.
UPLOAD_PATIENCE_SECONDS = 60.0
# A supervisor that restarts is found again within about a second, not after gRPC's default
# reconnection backoff (up to two minutes), which would outlast its grace for re-attaching.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
    *keepalive.CLIENT_OPTIONS,  # a hung leader's calls fail, and the worker moves on
)


class RemoteWorker:
    def __init__(
        self,
        address: str,
        *,
        slots: int,
        host: str = "",
        kill_grace: float = 0.5,
        frames: FrameGuard | None = None,
        info: HostInfo | None = None,
        policy: FramePolicy | None = None,
    ) -> None:
        """``info``: what to declare about this host (resources, properties, groups, cluster,
        restrictions); its name and slots are this worker's. Default: the detected resources.
        ``policy``: who frames run as and what they inherit (default: as their owner when this
        worker has a token and runs as root, else as the worker)."""
        self.address = address  # host:port, or several comma-separated (standby supervisors)
        self._frames = frames or FrameGuard.unguarded()
        self.slots = slots
        self.host = host or socket.gethostname()
        self.info = replace(
            info or HostInfo(self.host, resources=detect_resources()), name=self.host, slots=slots
        )
        self.kill_grace = kill_grace
        self._processes: dict[str, ManagedProcess] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._scratch = Path()
        self._stop = asyncio.Event()
        self._report_log = ThrottledLog(log)
        self._upload_log = ThrottledLog(log)
        token = os.environ.get("LATCHWORK_TOKEN")
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.policy = policy or FramePolicy(run_as=default_run_as(bool(token)))
        self._registration = Registration(address, self.info, self._metadata, self._drop)
        self._held = self._registration.held  # leases from grant to stored report
        # Reports of ended runs go together, answered with the next leases (report_batch).
        self._reports = ReportBatcher(
            self._registration, self._metadata, self._free_after, self._start_lease
        )
        self._lease_asking = 0  # the slots the LeaseWork in flight asks for

    @property
    def worker_id(self) -> str:
        return self._registration.worker_id

    def _drop(self, lease_id: str) -> None:
        """The supervisor took the lease back: its frame must not run on."""
        if (process := self._processes.get(lease_id)) is not None:
            process.kill()

    async def _register(self, stub: SupervisorLink) -> None:
        await self._registration.register(stub)

    async def _register_again(self, stub: SupervisorLink, seen: int) -> None:
        await self._registration.register_again(stub, seen)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; the scratch directory goes with the worker."""
        self._stop = stop
        self._scratch = Path(tempfile.mkdtemp(prefix="latchwork-worker-"))
        try:
            await self._serve(stop)
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    async def _serve(self, stop: asyncio.Event) -> None:
        async with SupervisorLink(self.address, _CHANNEL_OPTIONS) as stub:
            await self._until_stopped(self._register(stub))
            if stop.is_set():
                return
            beat = asyncio.create_task(self._heartbeats(stub, stop))
            try:
                while not stop.is_set():
                    free = self.slots - len(self._tasks) - self._reports.asking
                    if free <= 0:
                        await asyncio.sleep(0.05)
                        continue
                    registration = self._registration.count
                    self._lease_asking = free
                    try:
                        response = await self._until_stopped(
                            stub.LeaseWork(
                                worker_pb2.LeaseWorkRequest(
                                    worker_id=self.worker_id, max_leases=free, wait_seconds=5
                                ),
                                metadata=self._metadata,
                            )
                        )
                    except grpc.aio.AioRpcError as error:
                        self._lease_asking = 0
                        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                            await self._until_stopped(self._register_again(stub, registration))
                            continue
                        log.warning("lease failed: %s; retrying", error.details())
                        await self._until_stopped(asyncio.sleep(1.0))
                        continue
                    self._lease_asking = 0
                    for lease in response.leases if response is not None else ():
                        self._start_lease(stub, lease)
            finally:
                beat.cancel()
                for process in self._processes.values():
                    process.kill()
                if self._tasks:  # their reports go out meanwhile
                    await asyncio.wait(list(self._tasks), timeout=self.kill_grace + 5)

    def _start_lease(self, stub: SupervisorLink, lease: worker_pb2.Lease) -> None:
        """Run a lease granted by LeaseWork or in the answer to a report."""
        self._held.add(lease.lease_id)
        task = asyncio.create_task(self._run_lease(stub, lease))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _free_after(self, reported: int) -> int:
        """The leases the worker can take once ``reported`` ended runs are reported (their
        slots are free then), besides those the lease loop asks for; none once stopping."""
        if self._stop.is_set():
            return 0
        free = self.slots - len(self._tasks) + reported - self._lease_asking
        return max(0, min(free, self.slots))

    async def _until_stopped(self, work: Awaitable[T]) -> T | None:
        """``work``'s result, or None (``work`` cancelled) if the worker is told to stop first:
        a stop never waits for a long poll or a supervisor that does not answer."""
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await task
        return None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("work runner failed", exc_info=task.exception())

    async def _heartbeats(self, stub: SupervisorLink, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self._registration.heartbeat_seconds / 2)
            registration = self._registration.count
            try:
                response = await stub.Heartbeat(
                    # Every lease it holds, running or with its report on the way: one
                    # it does not name twice in a row is requeued as never received.
                    worker_pb2.HeartbeatRequest(
                        worker_id=self.worker_id, lease_ids=sorted(self._held)
                    ),
                    metadata=self._metadata,
                )
            except grpc.aio.AioRpcError as error:
                log.warning("heartbeat failed: %s", error.details())
                continue
            if not response.known:
                # Restarted, or it found this worker lost: the registration says which
                # leases are still this worker's (not the kill list, which names them all).
                await self._register_again(stub, registration)
                continue
            for lease_id in response.kill_lease_ids:
                if (process := self._processes.get(lease_id)) is not None:
                    process.kill()
            for lease_id in response.suspend_lease_ids:
                if (process := self._processes.get(lease_id)) is not None:
                    process.suspend()
            for lease_id in response.resume_lease_ids:
                if (process := self._processes.get(lease_id)) is not None:
                    process.resume()

    async def _run_lease(self, stub: SupervisorLink, lease: worker_pb2.Lease) -> None:
        """Run one lease to its end. Whatever goes wrong, the run is reported: an item is
        never left running with nothing behind it."""
        stdout = self._scratch / f"{lease.lease_id}.out"
        stderr = self._scratch / f"{lease.lease_id}.err"
        self._held.add(lease.lease_id)
        try:
            self._frames.starting(lease.lease_id)
            spec = ProcessSpec(
                cmdline=lease.cmdline, env=dict(lease.env), cwd=lease.cwd, user=lease.user
            )
            process = ManagedProcess.start(
                spec, stdout, stderr, kill_grace=self.kill_grace, policy=self.policy
            )
            self._frames.started(lease.lease_id, process.pid)
        except Exception as error:
            self._frames.ended(lease.lease_id)
            await self._report(
                stub, lease.lease_id, WorkOutcome.START_FAILED, -1, start_failure_reason(error)
            )
            return
        self._processes[lease.lease_id] = process
        offsets = {False: 0, True: 0}
        uploader = asyncio.create_task(
            self._upload_while_running(stub, lease.lease_id, stdout, stderr, offsets)
        )
        try:
            result = await process.wait(float(lease.timeout_seconds))
        except Exception as error:
            log.exception("lost track of the process of lease %s", lease.lease_id)
            with contextlib.suppress(Exception):
                process.kill()
            result = RunResult(
                WorkOutcome.EXITED, -1, f"the worker lost track of the process: {error}"
            )
        finally:
            del self._processes[lease.lease_id]
            self._frames.ended(lease.lease_id)
            uploader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await uploader
        if lease.lease_id in self._held:  # else taken back by the supervisor: runs elsewhere
            await self._upload_rest(stub, lease.lease_id, stdout, stderr, offsets)
            await self._report(
                stub, lease.lease_id, result.outcome, result.exit_code, result.message
            )
        for path in (stdout, stderr):
            path.unlink(missing_ok=True)

    async def _upload_rest(
        self,
        stub: SupervisorLink,
        lease_id: str,
        stdout: Path,
        stderr: Path,
        offsets: dict[bool, int],
    ) -> None:
        """Upload what is left of a finished run's output, trying for a while; then give up
        on the output rather than on the report."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + UPLOAD_PATIENCE_SECONDS
        delay = RETRY_FIRST_SECONDS
        registrations = 0
        while lease_id in self._held:
            registration = self._registration.count
            try:
                await self._upload(stub, lease_id, stdout, stderr, offsets)
                return
            except grpc.aio.AioRpcError as error:
                if self._unknown(error) and registrations < _REREGISTRATIONS:
                    registrations += 1
                    await self._register_again(stub, registration)
                    continue
                if error.code() in _FINAL_REFUSALS or loop.time() >= deadline:
                    log.warning(
                        "output of lease %s not uploaded (%s); reporting without it",
                        lease_id,
                        error.details(),
                    )
                    return
                self._upload_log.warning("output upload failed (%s); retrying", error.details())
            except OSError as error:
                log.warning("output of lease %s cannot be read (%s)", lease_id, error)
                return
            woken = await self._until_stopped(self._registration.backoff(delay, registration))
            if woken is None:  # told to stop
                return
            delay = RETRY_FIRST_SECONDS if woken else min(delay * 2, RETRY_MAX_SECONDS)

    async def _upload_while_running(
        self,
        stub: SupervisorLink,
        lease_id: str,
        stdout: Path,
        stderr: Path,
        offsets: dict[bool, int],
    ) -> None:
        while True:
            await asyncio.sleep(UPLOAD_INTERVAL)
            try:
                await self._upload(stub, lease_id, stdout, stderr, offsets)
            except grpc.aio.AioRpcError as error:
                # The rest goes with the final upload, from the offsets that were accepted.
                self._upload_log.warning("output upload failed (%s); retrying", error.details())
            except OSError as error:
                self._upload_log.warning("output cannot be read (%s)", error)

    async def _upload(
        self,
        stub: SupervisorLink,
        lease_id: str,
        stdout: Path,
        stderr: Path,
        offsets: dict[bool, int],
    ) -> None:
        for is_err, path in ((False, stdout), (True, stderr)):
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as handle:
                handle.seek(offsets[is_err])
                while chunk := handle.read(UPLOAD_CHUNK):
                    await stub.AppendOutput(
                        worker_pb2.AppendOutputRequest(
                            worker_id=self.worker_id,
                            lease_id=lease_id,
                            stream=job_pb2.OUTPUT_STREAM_STDERR
                            if is_err
                            else job_pb2.OUTPUT_STREAM_STDOUT,
                            data=chunk,
                        ),
                        metadata=self._metadata,
                    )
                    offsets[is_err] += len(chunk)

    async def _report(
        self,
        stub: SupervisorLink,
        lease_id: str,
        outcome: WorkOutcome,
        exit_code: int,
        message: str,
    ) -> None:
        """Report how a run ended, with the other reports ready then, trying again for as long
        as the lease can still be accepted (:class:`.report_batch.ReportBatcher`): a supervisor
        that is briefly full or away must not lose the end of a run."""
        await self._reports.report(
            stub,
            worker_pb2.WorkReport(
                lease_id=lease_id,
                outcome=_OUTCOMES[outcome],
                exit_code=exit_code,
                message=message,
            ),
        )

    @staticmethod
    def _unknown(error: grpc.aio.AioRpcError) -> bool:
        """The supervisor does not know this worker (it restarted, or found it lost)."""
        return error.code() == grpc.StatusCode.FAILED_PRECONDITION
