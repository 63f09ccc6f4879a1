"""The job-event stream ``bench/farm_throughput.py`` measures with.

One Subscribe stream of job events only (a handful per job, so reading it costs the
supervisor little next to the frames' two calls each), read in a thread: when each job
completed, first ran and was unblocked, by the supervisor's clock (the event times), and the
supervisor's CPU read as the 10 % and 90 % marks of completed jobs go by, for the steady-state
figures. The feeder waits on it for room in the backlog.
"""

from __future__ import annotations

import functools
import threading

import grpc

from bench.harness import process_cpu_seconds
from latchwork.v1 import event_pb2, supervisor_pb2, supervisor_pb2_grpc

FAILED = {event_pb2.EVENT_NAME_FAILED, event_pb2.EVENT_NAME_KILLED, event_pb2.EVENT_NAME_REMOVED}
STALL_SECONDS = 120.0  # no job ends for this long: the run is stuck, give up


class Follower:
    """One Subscribe stream of job events (a handful per job), read in a thread: when each
    job completed, first ran and was unblocked (the supervisor's clock), and CPU samples of
    the supervisor taken as jobs complete."""

    def __init__(
        self, channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], pid: int, jobs: int
    ) -> None:
        self.complete: dict[int, float] = {}
        self.running: dict[int, float] = {}
        self.unblocked: dict[int, float] = {}
        self.failed: list[int] = []
        self.cpu_at: dict[int, float] = {}  # completed jobs -> supervisor CPU seconds then
        self.error: grpc.RpcError | None = None
        self._pid = pid
        self._marks = {max(1, round(jobs * share)) for share in (0.1, 0.9)}
        self._changed = threading.Condition()
        stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
        request = supervisor_pb2.SubscribeRequest(after_seq=0, types=[event_pb2.EVENT_TYPE_JOB])
        self._stream = stub.Subscribe(request, metadata=metadata)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self._stream:
                if item.HasField("event"):
                    self._seen(item.event)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.error = error
        with self._changed:
            self._changed.notify_all()

    def _seen(self, event: event_pb2.Event) -> None:
        at = event.time.ToNanoseconds() / 1e9
        job_id = event.job_id
        with self._changed:
            if event.name == event_pb2.EVENT_NAME_COMPLETE:
                self.complete[job_id] = at
                if len(self.complete) in self._marks:
                    self.cpu_at[len(self.complete)] = process_cpu_seconds(self._pid)
                self._changed.notify_all()
            elif event.name == event_pb2.EVENT_NAME_RUNNING:
                self.running.setdefault(job_id, at)
            elif event.name == event_pb2.EVENT_NAME_UNBLOCKED:
                self.unblocked.setdefault(job_id, at)
            elif event.name in FAILED:
                self.failed.append(job_id)
                self._changed.notify_all()

    def wait_until_done(self, done: int) -> None:
        """Wait until at least ``done`` jobs completed; exits on a failure or a stall."""
        with self._changed:
            while len(self.complete) < done:
                before = len(self.complete)
                self._changed.wait_for(functools.partial(self._moved, before), STALL_SECONDS)
                if self.failed or self.error is not None:
                    raise SystemExit(f"jobs failed {self.failed[:5]} / stream: {self.error}")
                if len(self.complete) == before:
                    raise SystemExit(f"no job ended for {STALL_SECONDS:.0f} s; stuck")

    def _moved(self, completed: int) -> bool:
        return len(self.complete) != completed or bool(self.failed) or self.error is not None

    def close(self) -> None:
        self._stream.cancel()
        self._thread.join(5)
