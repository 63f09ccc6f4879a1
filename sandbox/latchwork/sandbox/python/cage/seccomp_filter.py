"""The seccomp allow-list of a sandbox worker: the system calls the interpreter makes on the
file descriptors, memory and timers it already holds, and nothing else.

Everything not listed fails with ``EPERM`` (Python raises ``PermissionError``, the run reports
it) instead of killing the process: a worker stays usable, and a missing entry shows up as an
ordinary error, not a dead worker. Not listed, among others: ``open``/``openat`` (no new
files), ``socket``/``connect`` (no network), ``execve``, ``fork``/``vfork``/``clone``/``clone3``
(no new processes or threads), ``ptrace``, ``setuid`` and friends, ``mount``, ``unshare``,
``bpf``. ``kill``/``tgkill`` are allowed only towards the worker itself and
``prlimit64`` only on itself (the per-run CPU budget). The list was found by running the
worker's test suite and the escape corpus under it (``strace -f`` on the workers).

Built with libseccomp through ``pyseccomp`` (a ctypes binding with libseccomp's own Python
API); the library is loaded before the filter closes ``open``.
"""

from __future__ import annotations

import errno
import os
from typing import Protocol

ALLOWED = (
    # I/O on descriptors the worker already holds (the protocol pipes, /dev/null)
    "read",
    "write",
    "readv",
    "writev",
    "close",
    "fstat",
    "lseek",
    # memory
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    # time, signals, timers (the CPU budget is an ITIMER_PROF and RLIMIT_CPU)
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "setitimer",
    "getitimer",
    "getrusage",
    "getrlimit",
    # identity and bookkeeping that reveal nothing beyond the process itself
    "getpid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getrandom",
    "futex",
    "sched_yield",
    "sched_getaffinity",
    "uname",
    "exit",
    "exit_group",
    "restart_syscall",
)
"""Allowed without condition (x86-64 and aarch64 names; libseccomp skips those an
architecture lacks)."""


class Filter(Protocol):
    def load(self) -> None: ...


def build_filter() -> tuple[Filter | None, str]:
    """The filter, built but not loaded, or ``(None, why not)`` (pyseccomp or libseccomp
    missing). Built while files can still be opened: importing the binding loads libseccomp."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as error:
        return None, f"no seccomp filter (pyseccomp/libseccomp unavailable: {error})"
    me = os.getpid()
    try:
        rules = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
        for name in ALLOWED:
            try:
                rules.add_rule(seccomp.ALLOW, name)
            except (ValueError, RuntimeError, OSError):
                continue  # not a system call of this architecture
        # signals and limits only towards itself
        rules.add_rule(seccomp.ALLOW, "kill", seccomp.Arg(0, seccomp.EQ, me))
        rules.add_rule(seccomp.ALLOW, "tgkill", seccomp.Arg(0, seccomp.EQ, me))
        rules.add_rule(seccomp.ALLOW, "prlimit64", seccomp.Arg(0, seccomp.EQ, 0))
    except (ValueError, RuntimeError, OSError) as error:
        return None, f"no seccomp filter (libseccomp refused a rule: {error})"
    return rules, ""


def load_filter(rules: Filter) -> str:
    """Load the filter into this process (irreversible; no-new-privs comes with it)."""
    try:
        rules.load()
    except (ValueError, RuntimeError, OSError) as error:
        return f"no seccomp filter (the kernel refused it: {error})"
    return ""
