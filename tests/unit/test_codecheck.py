"""The checker process that compiles submitted Python code: hostile code cannot take the
machine's memory, and its verdicts are those of RestrictedPython."""

from __future__ import annotations

import psutil

from latchwork.sandbox.python.pool import cached_verdict, forget_verdicts
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
