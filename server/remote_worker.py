"""``latchwork worker``: a machine that runs work for a supervisor over gRPC.

It registers, leases work, runs each item with the same runner as the local pool, streams the
output back while the process runs, and reports how it ended. Heartbeats carry the requests to
kill, suspend or resume its processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import tempfile
from pathlib import Path

import grpc

from latchwork.v1 import job_pb2, worker_pb2, worker_pb2_grpc

from .core.command import ProcessSpec
from .core.transitions import RunOutcome
from .runner import ManagedProcess

log = logging.getLogger(__name__)

_OUTCOMES = {
    RunOutcome.EXITED: worker_pb2.WORK_OUTCOME_EXITED,
    RunOutcome.TIMED_OUT: worker_pb2.WORK_OUTCOME_TIMED_OUT,
    RunOutcome.KILLED: worker_pb2.WORK_OUTCOME_KILLED,
    RunOutcome.START_FAILED: worker_pb2.WORK_OUTCOME_START_FAILED,
}
UPLOAD_INTERVAL = 1.0
UPLOAD_CHUNK = 1 << 20


class RemoteWorker:
    def __init__(
        self, address: str, *, slots: int, host: str = "", kill_grace: float = 0.5
    ) -> None:
        self.address = address
        self.slots = slots
        self.host = host or socket.gethostname()
        self.kill_grace = kill_grace
        self._processes: dict[str, ManagedProcess] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._scratch = Path(tempfile.mkdtemp(prefix="latchwork-worker-"))
        self.worker_id = ""
        self.heartbeat_seconds = 5
        token = os.environ.get("LATCHWORK_TOKEN")
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async def run(self, stop: asyncio.Event) -> None:
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = worker_pb2_grpc.WorkerServiceStub(channel)
            await self._register(stub)
            beat = asyncio.create_task(self._heartbeats(stub, stop))
            try:
                while not stop.is_set():
                    free = self.slots - len(self._tasks)
                    if free <= 0:
                        await asyncio.sleep(0.05)
                        continue
                    try:
                        response = await stub.LeaseWork(
                            worker_pb2.LeaseWorkRequest(
                                worker_id=self.worker_id, max_leases=free, wait_seconds=5
                            ),
                            metadata=self._metadata,
                        )
                    except grpc.aio.AioRpcError as error:
                        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                            await self._register(stub)
                            continue
                        log.warning("lease failed: %s; retrying", error.details())
                        await asyncio.sleep(1.0)
                        continue
                    for lease in response.leases:
                        task = asyncio.create_task(self._run_lease(stub, lease))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
            finally:
                beat.cancel()
                for process in self._processes.values():
                    process.kill()
                if self._tasks:
                    await asyncio.wait(list(self._tasks), timeout=self.kill_grace + 5)

    async def _register(self, stub: worker_pb2_grpc.WorkerServiceAsyncStub) -> None:
        while True:
            try:
                response = await stub.RegisterWorker(
                    worker_pb2.RegisterWorkerRequest(host=self.host, slots=self.slots),
                    metadata=self._metadata,
                )
                break
            except grpc.aio.AioRpcError as error:
                log.warning("cannot register with %s: %s", self.address, error.details())
                await asyncio.sleep(1.0)
        self.worker_id = response.worker_id
        self.heartbeat_seconds = max(response.heartbeat_seconds, 1)
        log.info("registered with %s as %s", self.address, self.worker_id)

    async def _heartbeats(
        self, stub: worker_pb2_grpc.WorkerServiceAsyncStub, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.heartbeat_seconds / 2)
            try:
                response = await stub.Heartbeat(
                    worker_pb2.HeartbeatRequest(
                        worker_id=self.worker_id, lease_ids=list(self._processes)
                    ),
                    metadata=self._metadata,
                )
            except grpc.aio.AioRpcError as error:
                log.warning("heartbeat failed: %s", error.details())
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

    async def _run_lease(
        self, stub: worker_pb2_grpc.WorkerServiceAsyncStub, lease: worker_pb2.Lease
    ) -> None:
        stdout = self._scratch / f"{lease.lease_id}.out"
        stderr = self._scratch / f"{lease.lease_id}.err"
        spec = ProcessSpec(cmdline=lease.cmdline, env=dict(lease.env), cwd=lease.cwd)
        try:
            process = ManagedProcess.start(spec, stdout, stderr, kill_grace=self.kill_grace)
        except OSError as error:
            await self._report(stub, lease.lease_id, RunOutcome.START_FAILED, -1, str(error))
            return
        self._processes[lease.lease_id] = process
        offsets = {False: 0, True: 0}
        uploader = asyncio.create_task(
            self._upload_while_running(stub, lease.lease_id, stdout, stderr, offsets)
        )
        try:
            result = await process.wait(float(lease.timeout_seconds))
        finally:
            del self._processes[lease.lease_id]
            uploader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await uploader
        await self._upload(stub, lease.lease_id, stdout, stderr, offsets)
        await self._report(stub, lease.lease_id, result.outcome, result.exit_code, result.message)
        for path in (stdout, stderr):
            path.unlink(missing_ok=True)

    async def _upload_while_running(
        self,
        stub: worker_pb2_grpc.WorkerServiceAsyncStub,
        lease_id: str,
        stdout: Path,
        stderr: Path,
        offsets: dict[bool, int],
    ) -> None:
        while True:
            await asyncio.sleep(UPLOAD_INTERVAL)
            await self._upload(stub, lease_id, stdout, stderr, offsets)

    async def _upload(
        self,
        stub: worker_pb2_grpc.WorkerServiceAsyncStub,
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
        stub: worker_pb2_grpc.WorkerServiceAsyncStub,
        lease_id: str,
        outcome: RunOutcome,
        exit_code: int,
        message: str,
    ) -> None:
        for attempt in range(10):
            try:
                await stub.ReportWork(
                    worker_pb2.ReportWorkRequest(
                        worker_id=self.worker_id,
                        lease_id=lease_id,
                        outcome=_OUTCOMES[outcome],
                        exit_code=exit_code,
                        message=message,
                    ),
                    metadata=self._metadata,
                )
                return
            except grpc.aio.AioRpcError as error:
                log.warning("report failed (%s); retrying", error.details())
                await asyncio.sleep(min(2**attempt * 0.1, 5))


def run(address: str, slots: int, host: str = "") -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await RemoteWorker(address, slots=slots, host=host).run(stop)

    asyncio.run(main())
