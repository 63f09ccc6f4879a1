"""The firing budget: what stops callbacks that feed each other (docs/callbacks.md).

A callback's actions make events, and those events may fire callbacks, whose actions make
events... Two bounds keep such a cascade finite without touching real pipelines:

- **Depth.** A firing caused by an event no callback caused (a worker's report, an operator's
  request, a timer, a submission) has depth 0; a firing caused by the actions of a run of depth
  ``d`` has depth ``d + 1``. A firing deeper than ``max_depth`` is refused. A frame-to-frame
  callback fires once per frame *reported by a worker*: depth 0, however many frames.
- **Rate.** Each callback has a token bucket for its cascade firings (depth >= 1): ``burst``
  tokens, refilled at ``burst`` per ``window_seconds``. It bounds a wide cascade, where every
  chain is short but one run reaches many bindings again and again. Firings at depth 0 are
  paced by the farm (processes, operators, timers) and never spend tokens. The bucket is per
  callback, not per binding: a per-binding bucket would let a loop over 10,000 frames run
  10,000 times longer.

A callback refused by either bound is suspended by the caller; this object only counts. It
is pure: the clock is injected, nothing here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .token_buckets import TokenBuckets

DEFAULT_MAX_DEPTH = 100
DEFAULT_BURST = 20_000
DEFAULT_WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """The budget's numbers; 0 turns a bound off."""

    max_depth: int = DEFAULT_MAX_DEPTH
    burst: int = DEFAULT_BURST
    window_seconds: float = DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.max_depth < 0 or self.burst < 0:
            raise ValueError("max_depth and burst must be 0 (off) or more")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")


@dataclass(frozen=True, slots=True)
class OverBudget:
    """Why a firing was refused: which bound, and the numbers, for the owner to read."""

    bound: str  # "depth" or "rate"
    message: str


class FiringBudget:
    """Counts firings per callback and refuses those over the limits."""

    def __init__(
        self, limits: BudgetLimits | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        self.limits = limits or BudgetLimits()
        self._buckets: TokenBuckets[int] = TokenBuckets(
            self.limits.burst, self.limits.window_seconds, clock or time.monotonic
        )

    def admit(self, callback_id: int, depth: int) -> OverBudget | None:
        """Spend what a firing of ``callback_id`` at ``depth`` costs; None when it may fire."""
        limits = self.limits
        if limits.max_depth and depth > limits.max_depth:
            return OverBudget(
                "depth",
                f"a cascade of callbacks (a firing caused by a run caused by a firing ...) "
                f"reached depth {depth}; the budget is {limits.max_depth}",
            )
        if depth == 0 or not limits.burst:
            return None
        if not self._buckets.take(callback_id):
            return OverBudget(
                "rate",
                f"it fired in cascades faster than its budget of {limits.burst} firings "
                f"per {limits.window_seconds:g} s (all {limits.burst} spent)",
            )
        return None

    def tokens(self, callback_id: int) -> float:
        """Firings the callback may still make in a cascade right now (for tests, diagnostics)."""
        return self._buckets.available(callback_id)

    def forget(self, callback_id: int) -> None:
        self._buckets.forget(callback_id)

    def __len__(self) -> int:
        return len(self._buckets)
