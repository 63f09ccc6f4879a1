"""The checker process that compiles submitted Python code: hostile code cannot take the
machine's memory, and its verdicts are those of RestrictedPython."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import psutil
import pytest

from latchwork.sandbox.python.pool import cached_verdict, forget_verdicts
from latchwork.server import codecheck
from latchwork.server.codecheck import CHECKER_MEMORY_BYTES, CodeChecker


def _checker_processes() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if "spawn_main" in " ".join(child.cmdline())
    ]


async def test_checker_processes_have_bounded_memory_and_give_verdicts() -> None:
    forget_verdicts()
    checker = CodeChecker(workers=1)
    try:
        good, bad = "x = 1\n", "import os\n"
        assert await checker.check([good, bad]) == []
        assert cached_verdict(good) == (True, None)
        known, verdict = cached_verdict(bad)
        assert known and verdict is not None
        [process] = _checker_processes()
        soft, hard = process.rlimit(psutil.RLIMIT_AS)
        assert soft == hard == CHECKER_MEMORY_BYTES
    finally:
        checker.close()
        forget_verdicts()


class HangingFirst(CodeChecker):
    """A checker whose first pool's process never starts work (its initializer sleeps), as a
    checker process stuck at its start would."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.pools = 0

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self.pools += 1
            if self.pools == 1:
                self._executor = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=time.sleep,
                    initargs=(3600,),
                )
                return self._executor
        return super()._pool()


async def test_a_checker_that_hangs_is_killed_and_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forget_verdicts()
    monkeypatch.setattr(codecheck, "CHECK_SECONDS", 3.0)
    checker = HangingFirst()
    try:
        assert await checker.check(["y = 2\n"]) == []  # on the second pool
        assert checker.pools == 2
        assert cached_verdict("y = 2\n") == (True, None)
        for _ in range(100):  # the hung process was killed
            if len(_checker_processes()) == 1:
                break
            time.sleep(0.05)
        assert len(_checker_processes()) == 1
    finally:
        checker.close()
        forget_verdicts()
