"""A sandbox worker process: ``python -I -m latchwork.sandbox.python.worker SETTINGS_JSON``.

Started by :class:`~latchwork.sandbox.python.pool.SandboxPool` as a fresh interpreter (never a
fork of the supervisor: it holds none of its state), in its own session, with a minimal
environment. Before it reads any request it

1. moves its protocol channel off fds 0/1 (they become /dev/null) and imports and warms up
   everything callbacks may use (time zones, ``strptime``, ...), so nothing needs a file later;
2. locks itself into the kernel cage (:func:`lock_down`, :mod:`.cage`): a private network
   namespace, the fleet cgroup, a uid of its own from the pool's range (``nobody`` with the
   cage off), then the rlimits below, then the seccomp allow-list;
3. the rlimits: no core files, no file writes (``RLIMIT_FSIZE`` 0), no new processes
   (``RLIMIT_NPROC`` 0), no new file descriptors at all (``RLIMIT_NOFILE`` = the fds it holds),
   an address-space cap (``RLIMIT_AS``); and before every run it arms a CPU budget
   (``ITIMER_PROF``, backed by ``RLIMIT_CPU``: SIGPROF's or SIGXCPU's default action ends the
   process in the kernel, even inside C code such as a regex; user code cannot catch it);
4. says ``{"ready": ...}``.

Then it serves one request at a time: compile (cached by source hash), run with fresh globals,
collect the garbage the run left (inside the run's CPU budget: a generator's ``finally`` cannot
run later, in someone else's run), reply. The parent kills it on a wall-clock timeout and
replaces it after a limit, after N runs, or when it asks to be recycled (MemoryError, a large
peak RSS).
"""

from __future__ import annotations

import datetime
import gc
import hashlib
import json
import math
import os
import re
import resource
import signal
import sys
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType, TracebackType
from typing import Any

from .api import Qb, callback_names, recorded_actions
from .cage import cgroups, network, seccomp_filter, uids
from .policy import (
    SOURCE_NAME,
    OutputLimitExceeded,
    PrintCollector,
    clip,
    compile_callback,
    run_globals,
)
from .protocol import (
    HEADER,
    MAX_ERROR_LENGTH,
    MAX_REQUEST_BYTES,
    ProtocolError,
    action_to_wire,
    decode,
    encode,
)

NOBODY = 65534
COMPILE_CACHE_SIZE = 256


@dataclass(frozen=True)
class Settings:
    cpu_seconds: float
    memory_bytes: int
    max_output_bytes: int
    runs_per_worker: int
    layers: frozenset[str] = frozenset()  # the cage's layers to apply (cage.LAYERS)
    uid: int | None = None  # this worker's own uid ("uids" layer)
    cgroup_procs: tuple[str, ...] = ()  # the fleet cgroup's cgroup.procs files

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        cage = data.get("cage", {})
        uid = cage.get("uid")
        return cls(
            cpu_seconds=float(data["cpu_seconds"]),
            memory_bytes=int(data["memory_bytes"]),
            max_output_bytes=int(data["max_output_bytes"]),
            runs_per_worker=int(data["runs_per_worker"]),
            layers=frozenset(str(layer) for layer in cage.get("layers", [])),
            uid=None if uid is None else int(uid),
            cgroup_procs=tuple(str(path) for path in cage.get("cgroup_procs", [])),
        )


class Channel:
    """The protocol channel: the original stdin/stdout, moved to private fds."""

    def __init__(self) -> None:
        self.read_fd = os.dup(0)
        self.write_fd = os.dup(1)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)

    def _read_exactly(self, size: int) -> bytes | None:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> dict[str, Any] | None:
        """The next request, or None at end of input (the parent closed the pipe)."""
        header = self._read_exactly(HEADER.size)
        if header is None:
            return None
        (size,) = HEADER.unpack(header)
        if size > MAX_REQUEST_BYTES:
            raise ProtocolError(f"a request of {size} bytes")
        body = self._read_exactly(size)
        if body is None:
            return None
        return decode(body)

    def send(self, message: dict[str, Any]) -> None:
        data = memoryview(encode(message))
        while data:
            written = os.write(self.write_fd, data)
            data = data[written:]


def warm_up() -> None:
    """Load what callbacks may use lazily while files can still be opened."""
    time.localtime()
    time.strftime("%c")
    datetime.datetime.now().astimezone()
    datetime.datetime.strptime("2024-01-02 03:04", "%Y-%m-%d %H:%M")  # imports _strptime
    re.compile(r"(\w+):(\d+)").match("a:1")
    json.loads(json.dumps({"a": [1.5, "b", None]}))
    math.sqrt(2.0)
    # The parser imports unicodedata to normalize non-ASCII identifiers, re for \N{...}.
    compile_callback("größe = 1\nprint(f'{größe:>3}')")
    re.compile(r"\N{BULLET}\w+", re.IGNORECASE)


def _drop_to_nobody() -> str:
    """With the cage off: what workers did before it, all as ``nobody``."""
    if os.geteuid() != 0:
        return ""
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    except OSError as error:  # no CAP_SETUID: stay, the rlimits still apply
        return f"could not drop root: {error}"
    return ""


def lock_down(settings: Settings, channel: Channel) -> tuple[int, list[str]]:
    """Everything a worker does to itself before it reads a request, in this order: private
    network (needs root), fleet cgroup (needs root), its own uid (needs root), rlimits, seccomp
    (last: it forbids what the others use). Returns the hard CPU limit and what could not be
    applied (one note per missing layer). Test probes call this same function."""
    notes: list[str] = []
    layers = settings.layers
    if "netns" in layers:
        notes.append(network.enter_private_network())
    if "cgroup" in layers:
        notes.append(cgroups.join(list(settings.cgroup_procs)) if settings.cgroup_procs else "")
    rules, note = seccomp_filter.build_filter() if "seccomp" in layers else (None, "")
    notes.append(note)
    notes.append(uids.become(settings.uid) if "uids" in layers else _drop_to_nobody())
    gc.collect()
    gc.freeze()  # the interpreter's own objects: never scanned again, collections stay cheap
    cpu_hard = _apply_limits(settings, channel)
    if rules is not None:
        notes.append(seccomp_filter.load_filter(rules))
    return cpu_hard, [note for note in notes if note]


def _fill_fd_holes(highest: int) -> None:
    """Make every fd up to ``highest`` open, so RLIMIT_NOFILE leaves no free number."""
    for fd in range(highest + 1):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _apply_limits(settings: Settings, channel: Channel) -> int:
    """The rlimits of a worker; returns the hard CPU limit (seconds)."""
    highest = max(channel.read_fd, channel.write_fd, 2)
    _fill_fd_holes(highest)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, highest + 1))
    resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
    used = _cpu_used()
    hard = math.ceil(used + settings.runs_per_worker * (settings.cpu_seconds + 1) + 60)
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + 60), hard))
    return hard


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _user_line(traceback: TracebackType | None) -> int:
    """The innermost line of the user's code in a traceback (0 if none)."""
    line = 0
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == SOURCE_NAME:
            line = traceback.tb_lineno or 0
        traceback = traceback.tb_next
    return line


def _describe(error: BaseException) -> str:
    name = type(error).__name__
    try:
        text = str(error)
    except BaseException:
        text = ""
    return clip(f"{name}: {text}" if text else name, MAX_ERROR_LENGTH)


class Runner:
    """Runs requests, one at a time."""

    def __init__(self, settings: Settings, cpu_hard: int) -> None:
        # A worker started by vfork + exec inherits its parent's peak RSS in ru_maxrss, so a
        # supervisor that once grew large would make every new worker ask to be recycled after
        # each run. Only growth beyond what was inherited counts.
        self.recycle_above = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, settings.memory_bytes // 2
        )
        self.settings = settings
        self.cpu_hard = cpu_hard
        self.cache: OrderedDict[str, tuple[CodeType | None, str, int]] = OrderedDict()

    def compile(self, source: str) -> tuple[CodeType | None, str, int]:
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        found = self.cache.get(key)
        if found is not None:
            self.cache.move_to_end(key)
            return found
        compiled = compile_callback(source)
        self.cache[key] = compiled
        if len(self.cache) > COMPILE_CACHE_SIZE:
            self.cache.popitem(last=False)
        return compiled

    def arm_cpu(self) -> None:
        """This run's CPU budget: a profiling timer (precise; SIGPROF's default action ends the
        process) and RLIMIT_CPU (whole seconds, one more; SIGXCPU) behind it."""
        soft = min(self.cpu_hard, math.ceil(_cpu_used() + self.settings.cpu_seconds) + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, self.cpu_hard))
        signal.setitimer(signal.ITIMER_PROF, self.settings.cpu_seconds)

    def disarm_cpu(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)

    def serve(self, request: dict[str, Any]) -> dict[str, Any]:
        self.arm_cpu()
        code, error, line = self.compile(str(request["code"]))
        if code is None:
            reply: dict[str, Any] = {
                "actions": [],
                "output": "",
                "error": error,
                "error_line": line,
                "limit": "",
            }
        else:
            reply = execute(code, request, self.settings.max_output_bytes)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        reply["recycle"] = reply["limit"] == "memory" or peak > self.recycle_above
        self.disarm_cpu()
        return reply


def execute(code: CodeType, request: Mapping[str, Any], max_output_bytes: int) -> dict[str, Any]:
    """Run compiled callback code for one request: the reply, without ``recycle``.

    Sets no limit itself (:meth:`Runner.serve` arms the CPU budget first); the benchmark runs
    it in-process to tell the cost of the process boundary from the cost of a run.
    """
    collector = PrintCollector(max_output_bytes)
    error, line, limit = "", 0, ""
    actions: list[dict[str, Any]] = []
    qb = Qb(int(request["owner_id"]), request["job"], request["jobs"])
    names = callback_names(
        qb, request["event"], request["job"], request["tree"], str(request["binding"])
    )
    glb = run_globals(collector, names)
    try:
        exec(code, glb)
    except OutputLimitExceeded as exc:
        error, line, limit = _describe(exc), _user_line(exc.__traceback__), "output"
    except MemoryError as exc:
        error, line, limit = _describe(exc), _user_line(exc.__traceback__), "memory"
        if error == "MemoryError":
            error = "MemoryError: the callback ran out of memory"
    except BaseException as exc:  # anything user code raises, SystemExit included
        error, line = _describe(exc), _user_line(exc.__traceback__)
    else:
        actions = [action_to_wire(action) for action in recorded_actions(qb)]
    finally:
        # Free what the run made now, inside its CPU budget: finalizers (a generator's
        # finally) run here, not during the next run.
        for key in [key for key in glb if key != "__builtins__"]:
            del glb[key]
        del glb, names, qb
        gc.collect()
    if collector.exceeded and not limit:
        limit = "output"
        error = error or f"OutputLimitExceeded: print output is capped at {max_output_bytes} bytes"
    return {
        "actions": [] if error or limit else actions,
        "output": collector.text(),
        "error": error,
        "error_line": line,
        "limit": limit,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    settings = Settings.from_json(args[0])
    channel = Channel()
    # The CPU budget relies on the default actions of SIGPROF and SIGXCPU: a disposition or
    # mask inherited from the supervisor must not turn them off.
    for signum in (signal.SIGPROF, signal.SIGXCPU):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPROF, signal.SIGXCPU})
    sys.unraisablehook = lambda unraisable: None  # finalizer errors of user code: not ours
    warm_up()
    warnings.simplefilter("ignore")  # no stderr noise from user code's warnings
    cpu_hard, notes = lock_down(settings, channel)
    runner = Runner(settings, cpu_hard)
    channel.send({"ready": True, "pid": os.getpid(), "uid": os.getuid(), "notes": notes})
    while True:
        request = channel.receive()
        if request is None:
            return 0
        try:
            reply = runner.serve(request)
        except Exception as error:  # ours, not the callback's: say so, and be replaced
            runner.disarm_cpu()
            reply = {
                "actions": [],
                "output": "",
                "error": clip(f"sandbox worker error: {_describe(error)}", MAX_ERROR_LENGTH),
                "error_line": 0,
                "limit": "",
                "recycle": True,
            }
        channel.send(reply)


if __name__ == "__main__":
    sys.exit(main())
