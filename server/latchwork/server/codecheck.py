"""Checking Python callback code at submit, off the event loop, in a separate process.

RestrictedPython's check of one 64 KiB callback takes from 20 ms to half a second, most of it
inside single C calls (the parser, the compiler) that hold the GIL: in a thread it would still
stop the event loop, and with it every RPC, for that long. So the check runs in a small pool
of spawned processes (fresh interpreters, never forks of the gRPC server, killed with it), and
its verdicts go into :func:`check_python`'s cache, where the submit path that follows finds
them without compiling anything on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from latchwork.sandbox.python.pool import (
    DEFAULT_LIMITS,
    cached_verdict,
    compile_problem,
    remember_python,
)

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


CHECK_SECONDS = 10.0
"""How long a check may take (a compile takes milliseconds, starting a checker process under
load a second or two): a checker that does not answer in time is killed and replaced once, so
a Submit never hangs on it."""

CHECKER_MEMORY_BYTES = 1 << 30
"""Address space of a checker process: compiling hostile source must not take the machine's
memory (a 64 KiB source needs a few MiB; the interpreter itself about 30)."""


def _child_setup(parent: int) -> None:
    """In the checker process: die with the supervisor, leave Ctrl-C to it, bounded memory.

    The source it compiles is hostile until proven otherwise: it is parsed and compiled here,
    never run, but a parser fed on purpose can still ask for memory; over the bound it fails
    with MemoryError, which the check reports as a refusal to check.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_AS, (CHECKER_MEMORY_BYTES, CHECKER_MEMORY_BYTES))
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(0)


class CodeChecker:
    """A lazily started pool of checker processes; :meth:`check` fills the verdict cache."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or max(1, min(2, (os.cpu_count() or 2) - 1))
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_setup,
                initargs=(os.getpid(),),
            )
        return self._executor

    def close(self, *, kill: bool = False) -> None:
        """Stop the pool; ``kill``: its processes too, at once (one that hangs never ends)."""
        if self._executor is not None:
            # ProcessPoolExecutor has no public way to kill its workers before Python 3.14.
            processes = list(getattr(self._executor, "_processes", {}).values()) if kill else []
            self._executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(OSError, ValueError):
                    process.kill()
            self._executor = None

    async def check(self, sources: Iterable[str]) -> list[str]:
        """Check every source not checked yet; returns those that could not be checked.

        Sources over the size limit are left to :func:`check_python` (refused without a
        compile). A checker process that dies (a crash in the parser on hostile code, the
        OOM killer) is replaced once; if it dies again the sources are reported, never
        compiled in this process.
        """
        todo = [
            source
            for source in dict.fromkeys(sources)
            if len(source.encode("utf-8", "surrogatepass")) <= DEFAULT_LIMITS.max_source_bytes
            and not cached_verdict(source)[0]
        ]
        if not todo:
            return []
        loop = asyncio.get_running_loop()
        for _attempt in range(2):
            try:
                pool = self._pool()
                verdicts = await asyncio.wait_for(
                    asyncio.gather(
                        *(loop.run_in_executor(pool, compile_problem, source) for source in todo)
                    ),
                    CHECK_SECONDS,
                )
            except TimeoutError:  # (before OSError, of which it is a subclass)
                log.warning(
                    "the code checker process did not answer in %g s; starting a new one",
                    CHECK_SECONDS,
                )
                self.close(kill=True)
                continue
            except (BrokenProcessPool, OSError) as error:
                log.warning("the code checker process failed (%s); starting a new one", error)
                self.close()
                continue
            for source, verdict in zip(todo, verdicts, strict=True):
                remember_python(source, verdict)
            return []
        return todo
