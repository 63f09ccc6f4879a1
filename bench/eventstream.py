"""A Subscribe stream read in a background thread, for the trigger benchmarks.

Each event is kept with the client's arrival time (``time.perf_counter()``); the event's own
``time`` is the supervisor's clock when it made the change (``Changes.now``), which is what
the benchmarks measure latencies with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc

from latchwork.v1 import event_pb2, supervisor_pb2, supervisor_pb2_grpc

METADATA = (("latchwork-user", "bench"),)


def event_seconds(event: event_pb2.Event) -> float:
    """The supervisor's time of an event, Unix seconds."""
    return event.time.ToNanoseconds() / 1e9


class Collector:
    """Collects the events of one Subscribe call in a thread.

    ``done``, if given, is called with each event as it arrives, under the lock that
    ``wait_for`` checks its condition with (so it may keep counts for that condition), and
    ends the stream by returning True.
    """

    def __init__(
        self,
        stub: supervisor_pb2_grpc.SupervisorServiceStub,
        request: supervisor_pb2.SubscribeRequest,
        done: Callable[[event_pb2.Event], bool] | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.events: list[event_pb2.Event] = []
        self.arrivals: list[float] = []
        self.complete = False
        self._done = done
        self._changed = threading.Condition()
        self._finished = False
        self.error: BaseException | None = None
        self._stream = stub.Subscribe(request, metadata=METADATA, timeout=timeout)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self._stream:
                if not item.HasField("event"):
                    continue
                with self._changed:
                    self.arrivals.append(time.perf_counter())
                    self.events.append(item.event)
                    if self._done is not None and self._done(item.event):
                        self.complete = True
                    self._changed.notify_all()
                if self.complete:
                    break
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.error = error
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` (checked after each event) holds; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: condition() or self._finished, timeout) and (
                condition()
            )

    def wait(self, timeout: float) -> bool:
        """True when ``done`` ended the stream before ``timeout``; the stream is closed after."""
        self.wait_for(lambda: self.complete, timeout)
        return self.close() and self.complete

    def close(self) -> bool:
        self._stream.cancel()
        self._thread.join(5)
        if self.error is not None:
            raise SystemExit(f"the event stream failed: {self.error}")
        return True
