"""The supervisor's side of the Python sandbox: a pool of pre-started worker processes.

Each worker is a fresh interpreter (``python -I -m latchwork.sandbox.python.worker``), never a
fork of the supervisor, in its own session, with a minimal environment, no inherited file
descriptors and ``/`` as its directory; it locks itself down before it reads a request (see
:mod:`.worker`). The pool talks to it over its stdin/stdout in length-prefixed JSON.

The pool trusts nothing a worker says: every reply is size-capped before it is read and
re-validated field by field (:func:`_result`); a worker that breaks the protocol is killed.
A worker is killed (SIGKILL to its process group) when a run exceeds the wall-clock limit, and
replaced after that, after it dies, after ``runs_per_worker`` runs, and when it asks to be
recycled (MemoryError, a large peak RSS). Replacements start in the background.

:meth:`SandboxPool.run` never raises because of anything callback code does: every outcome is
a :class:`PythonResult`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from latchwork.sandbox.actions import CallbackAction

from .cage import CageSettings
from .cage.fleet import FleetCage
from .policy import compile_callback
from .protocol import (
    HEADER,
    MAX_ACTIONS,
    MAX_ERROR_LENGTH,
    MAX_REQUEST_BYTES,
    MAX_TEXT_TOTAL,
    ProtocolError,
    action_from_wire,
    decode,
    encode,
)

log = logging.getLogger(__name__)

WORKER_MODULE = "latchwork.sandbox.python.worker"
START_TIMEOUT = 30.0
"""Seconds a new worker has to say it is ready."""
SPAWN_FAILURES_BEFORE_GIVING_UP = 3
"""With no worker alive and this many failed starts in a row, runs fail instead of waiting."""
_REPLY_KEYS = frozenset({"actions", "output", "error", "error_line", "limit", "recycle"})
_STDERR_TAIL = 4096


@dataclass(frozen=True)
class Limits:
    """What one run may use; the pool applies them to every worker."""

    cpu_seconds: float = 2.0
    wall_seconds: float = 5.0
    memory_bytes: int = 256 * 2**20
    max_source_bytes: int = 64 * 1024
    max_output_bytes: int = 64 * 1024
    runs_per_worker: int = 500

    def __post_init__(self) -> None:
        if not (self.cpu_seconds > 0 and self.wall_seconds > 0):
            raise ValueError("cpu_seconds and wall_seconds must be positive")
        if self.memory_bytes < 32 * 2**20:
            raise ValueError("memory_bytes: a worker needs at least 32 MiB")
        if min(self.max_source_bytes, self.max_output_bytes, self.runs_per_worker) < 1:
            raise ValueError("max_source_bytes, max_output_bytes and runs_per_worker must be >= 1")


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class PythonCall:
    """One run of a Python callback: its code and the snapshots it may read (JSON data)."""

    code: str
    owner_id: int  # the job that owns the callback
    binding: str  # the '*' binding ('' if none)
    event: dict[str, object]  # the triggering event
    job: dict[str, object]  # snapshot of the owner job
    jobs: dict[str, dict[str, object]]  # snapshots qb.jobinfo may return, keyed by str(job id)
    tree: list[dict[str, object]] | None  # for tree triggers: the subtree, with included data


@dataclass(frozen=True)
class PythonResult:
    """How a run ended. ``actions`` is empty whenever ``error`` or ``limit`` is set."""

    actions: list[CallbackAction]
    output: str  # captured print output, capped
    error: str  # '' if ok; else e.g. "NameError: name 'x' is not defined"
    error_line: int  # line in the user's code (0 if none)
    limit: str  # '' or the limit hit: "time", "cpu", "memory", "output", "source"
    duration_ms: float


class SandboxError(Exception):
    """The sandbox cannot run code (a worker does not start); never about user code."""


def _source_problem(code: str, limits: Limits) -> str:
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > limits.max_source_bytes:
        return f"the code is {size} bytes; callbacks have at most {limits.max_source_bytes}"
    return ""


def check_python(code: str, limits: Limits = DEFAULT_LIMITS) -> tuple[str, int] | None:
    """Compile-time check at submit: ``(message, line)``, or None when the code may run.

    Catches what RestrictedPython and the callback policy refuse (syntax, names and
    attributes starting with ``_``, imports outside the allow-list, classes, ...) and code
    over the size limit; it runs nothing. Results are cached by the source's hash (see
    :func:`cached_verdict`), so the same code is compiled once per process.
    """
    problem = _source_problem(code, limits)
    if problem:
        return problem, 0
    known, verdict = cached_verdict(code)
    if known:
        return verdict
    result = compile_problem(code)
    remember_python(code, result)
    return result


def compile_problem(code: str) -> tuple[str, int] | None:
    """RestrictedPython's verdict on ``code``, uncached: what a checker process runs."""
    compiled, message, line = compile_callback(code)
    return None if compiled is not None else (message, line)


COMPILE_CACHE_SIZE = 4096
"""Verdicts kept (a hash and a short message each): the distinct callback sources in use."""
_verdicts: OrderedDict[bytes, tuple[str, int] | None] = OrderedDict()


def _source_key(code: str) -> bytes:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).digest()


def cached_verdict(code: str) -> tuple[bool, tuple[str, int] | None]:
    """``(True, verdict)`` when ``code`` was checked in this process (verdict None: it
    compiles), else ``(False, None)``."""
    key = _source_key(code)
    if key not in _verdicts:
        return False, None
    _verdicts.move_to_end(key)
    return True, _verdicts[key]


def forget_verdicts() -> None:
    """Empty the cache (tests; a restart starts with an empty one)."""
    _verdicts.clear()


def remember_python(code: str, verdict: tuple[str, int] | None) -> None:
    """Cache a verdict (e.g. one a checker process computed)."""
    _verdicts[_source_key(code)] = verdict
    while len(_verdicts) > COMPILE_CACHE_SIZE:
        _verdicts.popitem(last=False)


def _clean(text: str) -> str:
    """Text that encodes as UTF-8 (a worker may send lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _failure(error: str, started: float, *, limit: str = "", output: str = "") -> PythonResult:
    return PythonResult(
        actions=[],
        output=output,
        error=error,
        error_line=0,
        limit=limit,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _result(reply: dict[str, Any], limits: Limits, started: float) -> tuple[PythonResult, bool]:
    """A worker's reply, checked; ``(result, recycle)``. ProtocolError for anything off."""
    if set(reply) != _REPLY_KEYS:
        raise ProtocolError("a reply has exactly the keys " + ", ".join(sorted(_REPLY_KEYS)))
    wire_actions, output, error = reply["actions"], reply["output"], reply["error"]
    line, limit, recycle = reply["error_line"], reply["limit"], reply["recycle"]
    if type(wire_actions) is not list or len(wire_actions) > MAX_ACTIONS:
        raise ProtocolError(f"actions: a list of at most {MAX_ACTIONS}")
    if type(output) is not str or type(error) is not str or type(limit) is not str:
        raise ProtocolError("output, error and limit are strings")
    if len(output.encode("utf-8", "surrogatepass")) > limits.max_output_bytes:
        raise ProtocolError("output over the limit")
    if len(error) > MAX_ERROR_LENGTH:
        raise ProtocolError("error too long")
    if type(line) is not int or not 0 <= line <= 10**7:
        raise ProtocolError("error_line: a line number")
    if limit not in ("", "memory", "output"):
        raise ProtocolError(f"limit {limit[:20]!r}")
    if type(recycle) is not bool:
        raise ProtocolError("recycle: a boolean")
    actions = [action_from_wire(item) for item in wire_actions]
    if sum(len(a.text) + len(a.work_name) for a in actions) > MAX_TEXT_TOTAL:
        raise ProtocolError("the actions' texts are too long")
    if error or limit:
        actions = []
    actions = [dataclasses.replace(a, text=_clean(a.text)) if a.text else a for a in actions]
    result = PythonResult(
        actions=actions,
        output=_clean(output),
        error=_clean(error),
        error_line=line,
        limit=limit,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    return result, recycle


def _worker_env() -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    if os.environ.get("TZ"):
        env["TZ"] = os.environ["TZ"]
    return env


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process, cage: dict[str, Any]) -> None:
        self.process = process
        self.cage = cage  # its cage settings (its uid goes back to the pool once reaped)
        self.pid = process.pid
        self.runs = 0
        self.killed = False
        self.hello: dict[str, Any] = {}
        self.stderr_tail = bytearray()
        self._drain = asyncio.create_task(self._drain_stderr())

    @classmethod
    async def spawn(cls, limits: Limits, fleet: FleetCage, argv: tuple[str, ...]) -> _Worker:
        cage = fleet.worker_settings()
        settings = {
            "cpu_seconds": limits.cpu_seconds,
            "memory_bytes": limits.memory_bytes,
            "max_output_bytes": limits.max_output_bytes,
            "runs_per_worker": limits.runs_per_worker,
            "cage": cage,
        }
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                json.dumps(settings),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_worker_env(),
                cwd="/",
                start_new_session=True,
                close_fds=True,
                limit=2**20,
            )
        except OSError as error:
            fleet.release(cage)
            raise SandboxError(f"cannot start a sandbox worker: {error}") from error
        worker = cls(process, cage)
        try:
            hello = await asyncio.wait_for(worker.receive(4096), START_TIMEOUT)
            if hello.get("ready") is not True:
                raise ProtocolError("no ready message")
        except BaseException as error:
            worker.kill()
            await worker.reap()
            fleet.release(cage)
            if not isinstance(error, Exception):
                raise  # cancelled: the process is gone, pass it on
            tail = worker.stderr_text()
            raise SandboxError(
                f"a sandbox worker did not start ({type(error).__name__}: {error}; "
                f"{_signal_name(process.returncode)})" + (f": {tail}" if tail else "")
            ) from error
        worker.hello = hello
        notes = hello.get("notes")
        for note in notes[:10] if isinstance(notes, list) else []:
            fleet.say(str(note))  # a layer it could not apply: said once per pool
        return worker

    async def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        with contextlib.suppress(Exception):
            while chunk := await stream.read(4096):
                self.stderr_tail += chunk
                del self.stderr_tail[:-_STDERR_TAIL]

    def stderr_text(self) -> str:
        return self.stderr_tail.decode("utf-8", "replace").strip()[-1000:]

    async def receive(self, cap: int) -> dict[str, Any]:
        stream = self.process.stdout
        assert stream is not None
        (size,) = HEADER.unpack(await stream.readexactly(HEADER.size))
        if size > cap:
            raise ProtocolError(f"a message of {size} bytes (at most {cap})")
        return decode(await stream.readexactly(size))

    async def exchange(self, payload: bytes, cap: int) -> dict[str, Any]:
        stream = self.process.stdin
        assert stream is not None
        stream.write(payload)
        await stream.drain()
        return await self.receive(cap)

    def alive(self) -> bool:
        if self.killed or self.process.returncode is not None:
            return False
        try:  # dead but not reaped yet? (WNOWAIT: asyncio's child watcher still reaps it)
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return info is None

    def kill(self) -> None:
        """SIGKILL the worker's process group (its session: it cannot have children)."""
        if self.process.returncode is not None:
            return
        self.killed = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def reap(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain, 1)


class SandboxPool:
    """``size`` worker processes running Python callbacks under ``limits``."""

    def __init__(
        self,
        size: int = 2,
        limits: Limits = DEFAULT_LIMITS,
        cage: CageSettings | None = None,
        *,
        worker_argv: tuple[str, ...] = (),
    ) -> None:
        """``cage``: the kernel cage (default: every layer); ``worker_argv`` exists for tests,
        which start probe processes that lock down exactly like a worker (default: ``python -I -B
        -m`` :data:`WORKER_MODULE`; the worker's settings as JSON follow)."""
        if size < 1:
            raise ValueError("a sandbox pool needs at least one worker")
        self.size = size
        self.limits = limits
        self.fleet = FleetCage(cage or CageSettings(), size, limits.memory_bytes)
        self._worker_argv = worker_argv or (sys.executable, "-I", "-B", "-m", WORKER_MODULE)
        self.replaced = 0  # workers started to replace one (diagnostics, tests)
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._spawns: set[asyncio.Task[None]] = set()
        self._reaps: set[asyncio.Task[None]] = set()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._closed = False
        self._spawn_failures = 0
        self._last_error = ""
        # Worst case of an honest reply: every character escaped in ASCII JSON.
        self._reply_cap = (
            6 * limits.max_output_bytes
            + 12 * (MAX_TEXT_TOTAL + MAX_ERROR_LENGTH)
            + 300 * MAX_ACTIONS
            + 4096
        )

    async def __aenter__(self) -> SandboxPool:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def idle_workers(self) -> int:
        """Workers waiting for a run now (read-only; the supervisor's metrics)."""
        return self._idle.qsize()

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        return sorted(worker.pid for worker in self._workers)

    async def start(self) -> None:
        """Start the workers; SandboxError if they cannot start (a configuration problem)."""
        async with self._start_lock:
            if self._started or self._closed:
                return
            if self.fleet.cgroup is None:
                self.fleet.start()
            started = await asyncio.gather(
                *(self._spawn() for _ in range(self.size)), return_exceptions=True
            )
            workers = [w for w in started if isinstance(w, _Worker)]
            failures = [w for w in started if not isinstance(w, _Worker)]
            if failures:
                for worker in workers:
                    worker.kill()
                await asyncio.gather(*(self._reap(worker) for worker in workers))
                self.fleet.close()
                failure = failures[0]
                if isinstance(failure, SandboxError):
                    raise failure
                raise SandboxError(f"cannot start the sandbox: {failure!r}") from failure
            for worker in workers:
                self._workers.add(worker)
                self._idle.put_nowait(worker)
            self._started = True

    async def run(self, call: PythonCall) -> PythonResult:
        """Run one callback. Never raises for anything the code does."""
        started = time.perf_counter()
        limits = self.limits
        problem = _source_problem(call.code, limits)
        if problem:
            return _failure(problem, started, limit="source")
        try:
            payload = encode(
                {
                    "code": call.code,
                    "owner_id": call.owner_id,
                    "binding": call.binding,
                    "event": call.event,
                    "job": call.job,
                    # the owner travels once, as "job" (qb.jobinfo uses it for the owner)
                    "jobs": {k: v for k, v in call.jobs.items() if k != str(call.owner_id)},
                    "tree": call.tree,
                }
            )
        except (TypeError, ValueError, RecursionError) as error:
            return _failure(f"the callback's input is not JSON data: {error}", started)
        if len(payload) > MAX_REQUEST_BYTES:
            return _failure(f"the callback's input is over {MAX_REQUEST_BYTES} bytes", started)
        if not self._started:
            try:
                await self.start()
            except SandboxError as error:
                return _failure(f"the Python sandbox is not available: {error}", started)
        worker = await self._acquire()
        if worker is None:
            reason = "the pool is closed" if self._closed else self._last_error
            return _failure(f"the Python sandbox is not available: {reason}", started)
        started = time.perf_counter()
        keep = False
        try:
            async with asyncio.timeout(limits.wall_seconds):
                reply = await worker.exchange(payload, self._reply_cap)
            result, recycle = _result(reply, limits, started)
            worker.runs += 1
            keep = not recycle and worker.runs < limits.runs_per_worker
            return result
        except TimeoutError:
            worker.kill()
            return _failure(
                f"TimeoutError: the callback ran for more than {limits.wall_seconds:g} s",
                started,
                limit="time",
            )
        except ProtocolError as error:
            worker.kill()
            return _failure(f"the sandbox worker broke the protocol ({error})", started)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return await self._died(worker, started)
        finally:
            if keep and not self._closed:
                self._idle.put_nowait(worker)
            else:
                self._retire(worker)

    async def _died(self, worker: _Worker, started: float) -> PythonResult:
        """The worker died during a run: say why, as far as it can be known."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(worker.process.wait()), 2.0)
        code = worker.process.returncode
        tail = worker.stderr_text()
        if code in (-signal.SIGPROF, -signal.SIGXCPU):
            return _failure(
                f"CPU time limit: the callback used more than {self.limits.cpu_seconds:g} s of CPU",
                started,
                limit="cpu",
            )
        if "MemoryError" in tail or "Cannot allocate memory" in tail:
            return _failure("MemoryError: the callback ran out of memory", started, limit="memory")
        how = "it was stopped" if worker.killed else _signal_name(code)
        return _failure(f"the sandbox worker died during the run ({how})", started)

    async def _acquire(self) -> _Worker | None:
        while not self._closed:
            while not self._idle.empty():
                worker = self._idle.get_nowait()
                if worker.alive():
                    return worker
                self._retire(worker)
            if not self._workers and self._spawn_failures >= SPAWN_FAILURES_BEFORE_GIVING_UP:
                return None
            try:
                worker = await asyncio.wait_for(self._idle.get(), 0.25)
            except TimeoutError:
                continue
            if worker.alive():
                return worker
            self._retire(worker)
        return None

    def _background(
        self, coroutine: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]
    ) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker (if it still runs), reap it, and start its replacement."""
        worker.kill()
        if worker not in self._workers:
            return  # retired before, or the pool is closing
        self._workers.discard(worker)
        self._background(self._reap(worker), self._reaps)
        if not self._closed:
            self._background(self._replace(), self._spawns)

    def _spawn(self) -> Coroutine[Any, Any, _Worker]:
        return _Worker.spawn(self.limits, self.fleet, self._worker_argv)

    async def _reap(self, worker: _Worker) -> None:
        await worker.reap()
        self.fleet.release(worker.cage)

    async def _replace(self) -> None:
        delay = 0.1
        while not self._closed:
            try:
                worker = await self._spawn()
            except SandboxError as error:
                self._spawn_failures += 1
                self._last_error = str(error)
                log.warning("%s (attempt %d)", error, self._spawn_failures)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if self.closed:  # closed while it started
                worker.kill()
                await self._reap(worker)
                return
            self._spawn_failures = 0
            self.replaced += 1
            self._workers.add(worker)
            self._idle.put_nowait(worker)
            return

    async def close(self) -> None:
        """Stop every worker; runs still going end with an error result."""
        self._closed = True
        spawns = list(self._spawns)
        for task in spawns:
            task.cancel()
        await asyncio.gather(*spawns, return_exceptions=True)
        workers = list(self._workers)
        self._workers.clear()
        while not self._idle.empty():
            self._idle.get_nowait()
        for worker in workers:
            worker.kill()
        await asyncio.gather(
            *(self._reap(worker) for worker in workers), *list(self._reaps), return_exceptions=True
        )
        self.fleet.close()
