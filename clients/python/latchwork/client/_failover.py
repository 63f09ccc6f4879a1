"""Several supervisor addresses, one in use at a time: which one, and when a call tries the next.

A farm with standby supervisors (docs/operations.md) has one leader serving its gRPC address;
a standby does not listen at all. So for a client a takeover reads as "the server at this
address went away, another one answers": ``UNAVAILABLE`` moves the client to the next address
of its list (cycling), and a call that is safe to repeat is made again there, each address at
most once per round, with backoff between rounds, within the call's time. One address behaves
as it always did: no second try.

Pure bookkeeping, no I/O, as ``Resumer`` is: the blocking and the asyncio client open the
channels, make the calls and sleep; what to do after a failure is decided here, once.
"""

from __future__ import annotations

import random
import time

import grpc

from latchwork.common.addresses import AddressRing as AddressRing
from latchwork.common.addresses import parse_addresses as parse_addresses

from .errors import LatchworkError

# Calls whose effect is the same made twice: reads, Submit (it always carries a request id),
# and the controls and changes that set a state rather than add to one. AddCallbacks is not
# here: made again it would add the callbacks twice.
REPEATABLE = frozenset(
    {
        "GetJob",
        "ListJobs",
        "ExplainJob",
        "SummarizeFarm",
        "ValidateTrigger",
        "GetWorkOutput",
        "ListHosts",
        "GetHost",
        "ListCallbackRuns",
        "Submit",
        "ControlJobs",
        "ControlHosts",
        "ModifyJobs",
    }
)

# How long a repeatable call keeps trying the addresses when it was given no timeout.
FAILOVER_SECONDS = 30.0


class Backoff:
    """Exponential backoff with jitter; ``reset`` after a call made progress."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0, factor: float = 2.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def delay(self) -> float:
        delay = self._next * random.uniform(0.5, 1.0)
        self._next = min(self._next * self.factor, self.maximum)
        return delay


def moves_on(error: LatchworkError, moved_under: bool) -> bool:
    """Whether ``error`` means the address in use is gone: UNAVAILABLE, or the call's channel
    was closed under it because another call moved the client on meanwhile."""
    return error.code == grpc.StatusCode.UNAVAILABLE or moved_under


class CallAttempts:
    """One unary call's tries across the addresses: each at most once per round, a backoff
    delay between rounds, all within the call's time."""

    def __init__(self, method: str, addresses: int, timeout: float | None) -> None:
        self.repeatable = method in REPEATABLE and addresses > 1
        self.addresses = addresses
        self.deadline = time.monotonic() + (FAILOVER_SECONDS if timeout is None else timeout)
        self.timeout = timeout
        self.tries = 0
        self.backoff = Backoff()

    def remaining(self) -> float | None:
        """The timeout of the next try: what is left of the call's (None: none was given)."""
        if self.timeout is None:
            return None
        return max(self.deadline - time.monotonic(), 0.001)

    def retry_delay(self, error: LatchworkError, moved_under: bool) -> float:
        """How long to wait before trying the next address; raises ``error`` when it is final:
        the call is not repeatable, the failure says nothing about the address, or the call's
        time is up."""
        if not (self.repeatable and moves_on(error, moved_under)):
            raise error
        self.tries += 1
        delay = self.backoff.delay() if self.tries % self.addresses == 0 else 0.0
        if time.monotonic() + delay >= self.deadline:
            raise error
        return delay
