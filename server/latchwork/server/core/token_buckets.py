"""Token buckets by key: the one rate limiter of the firing budget and of callbacks' submits.

Each key has ``burst`` tokens, refilled continuously at ``burst`` per ``window_seconds``. A key
never seen holds a full bucket, so buckets that are full again are dropped now and then: the
memory follows the keys that spent recently, not every key ever seen. Pure: the clock is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
PRUNE_EVERY = 4096
"""Spends between two sweeps of full buckets."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets(Generic[K]):
    def __init__(
        self, burst: float, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.window_seconds = window_seconds
        self._rate = burst / window_seconds
        self._clock = clock
        self._buckets: dict[K, _Bucket] = {}
        self._spends = 0

    def available(self, key: K) -> float:
        """The tokens ``key`` holds now."""
        return self._refilled(key, self._clock()).tokens

    def spend(self, key: K, count: float = 1.0) -> None:
        """Take ``count`` tokens (the caller checked :meth:`available`)."""
        now = self._clock()
        self._refilled(key, now).tokens -= count
        self._spent(now)

    def take(self, key: K) -> bool:
        """Take one token if there is one (one refill, for a hot path); False when empty."""
        now = self._clock()
        bucket = self._refilled(key, now)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        self._spent(now)
        return True

    def _spent(self, now: float) -> None:
        self._spends += 1
        if self._spends % PRUNE_EVERY == 0:
            self._prune(now)

    def forget(self, key: K) -> None:
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: K, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            return bucket
        elapsed = max(now - bucket.stamp, 0.0)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self._rate)
        bucket.stamp = now
        return bucket

    def _prune(self, now: float) -> None:
        """Drop buckets that are full again: they hold nothing a new bucket would not."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.stamp) * self._rate >= self.burst:
                del self._buckets[key]
