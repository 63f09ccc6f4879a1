"""A private network namespace for a sandbox worker.

``unshare(CLONE_NEWNET)`` gives the worker a network stack of its own holding only a loopback
interface that stays down: nothing is reachable, not even the supervisor on 127.0.0.1 (which
in open mode is full API access). Needs CAP_SYS_ADMIN, so it is done while the worker is still
root. Python 3.11 has no ``os.unshare``: libc's, through ctypes (loaded before seccomp).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

CLONE_NEWNET = 0x40000000


def enter_private_network() -> str:
    """Move this process into a new, empty network namespace; "" or why not."""
    if os.geteuid() != 0:
        return "no private network namespace (not root)"
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        return f"no private network namespace (unshare: {os.strerror(code)})"
    return ""
