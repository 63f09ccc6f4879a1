"""Distinct unprivileged uids for sandbox workers, one per live worker.

Workers that share a uid (all ``nobody``, as before) may signal and ptrace each other; a uid of
its own per worker, from a range no account uses, leaves each alone with itself. The pool
hands a uid out when it starts a worker and takes it back once the process is reaped; the
worker switches to it (gid the same number, no supplementary groups) while it is still root.
"""

from __future__ import annotations

import os
import pwd


class UidRange:
    """The uids ``base .. base + count - 1``, minus any that an account uses."""

    def __init__(self, base: int, count: int) -> None:
        self.base, self.count = base, count
        used = {entry.pw_uid for entry in pwd.getpwall()}
        self.taken_by_accounts = sorted(uid for uid in used if base <= uid < base + count)
        self._free = sorted(set(range(base, base + count)) - used, reverse=True)

    def take(self) -> int | None:
        """The lowest free uid, or None when the range is exhausted."""
        return self._free.pop() if self._free else None

    def give_back(self, uid: int) -> None:
        if self.base <= uid < self.base + self.count and uid not in self._free:
            self._free.append(uid)
            self._free.sort(reverse=True)


def become(uid: int | None) -> str:
    """Switch this (root) process to ``uid``/``uid`` with no groups; "" or why not."""
    if os.geteuid() != 0:
        return "no uid of its own (not root: the worker keeps the supervisor's uid)"
    if uid is None:
        return "no uid of its own (the sandbox uid range is exhausted)"
    try:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    except OSError as error:
        return f"no uid of its own (setuid {uid}: {error})"
    return ""
