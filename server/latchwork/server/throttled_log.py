"""Logging a failure that repeats (a full disk, every retry of every report) without flooding.

The first occurrence is logged at once; later ones at most once per interval, with how many
were left out, so a long outage costs a line a minute rather than one per retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last = -interval
        self._skipped = 0
        self._started = False

    def warning(self, message: str, *args: object) -> None:
        now = self.clock()
        if self._started and now - self._last < self.interval:
            self._skipped += 1
            return
        if self._skipped:
            message += f" ({self._skipped} more like it since the last report)"
        self.logger.warning(message, *args)
        self._started = True
        self._last = now
        self._skipped = 0
