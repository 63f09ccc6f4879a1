"""A probe that locks itself down exactly like a sandbox worker, then tries what the cage stops.

Started by a :class:`~latchwork.sandbox.python.pool.SandboxPool` through its test-only
``worker_argv`` (``python -I -B tests/sandbox/cage_probe.py SETTINGS_JSON``): it calls the same
:func:`~latchwork.sandbox.python.worker.lock_down` as the real worker, says ready, and then
answers each "callback" whose code names a probe by running it as raw Python, outside
RestrictedPython, so only the kernel stands in the way. The reply's ``output`` is JSON:
``{"pid": ..., "uid": ..., "ok": bool, "errno": int, "step": str}``.

Probes (the code of a call): ``open`` (a world-readable file, after closing an fd so
RLIMIT_NOFILE has room), ``socket``, ``connect PORT`` (to 127.0.0.1, after closing an fd),
``kill PID`` (signal 0: the permission check alone), ``fork``, ``whoami``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from typing import Any

from latchwork.sandbox.python.worker import Channel, Settings, lock_down, warm_up

READABLE_FILE = "/etc/hostname"


def _free_a_descriptor() -> None:
    with contextlib.suppress(OSError):
        os.close(0)  # /dev/null: a free fd number below RLIMIT_NOFILE from now on


def _probe(code: str) -> dict[str, Any]:
    name, _, argument = code.partition(" ")
    step = name
    try:
        if name == "open":
            _free_a_descriptor()
            os.close(os.open(READABLE_FILE, os.O_RDONLY))
        elif name == "socket":
            _free_a_descriptor()
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        elif name == "connect":
            _free_a_descriptor()
            step = "socket"
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as connection:
                step = "connect"
                connection.settimeout(3)
                connection.connect(("127.0.0.1", int(argument)))
        elif name == "kill":
            os.kill(int(argument), 0)
        elif name == "fork":
            child = os.fork()
            if child == 0:
                os._exit(0)
            os.waitpid(child, 0)
        elif name != "whoami":
            raise ValueError(f"no probe {name!r}")
    except OSError as error:
        return {"ok": False, "errno": error.errno or 0, "step": step}
    return {"ok": True, "errno": 0, "step": step}


def main() -> int:
    settings = Settings.from_json(sys.argv[1])
    channel = Channel()
    warm_up()
    _, notes = lock_down(settings, channel)
    channel.send({"ready": True, "pid": os.getpid(), "uid": os.getuid(), "notes": notes})
    while (request := channel.receive()) is not None:
        result = _probe(str(request["code"]))
        result.update(pid=os.getpid(), uid=os.getuid(), notes=notes)
        channel.send(
            {
                "actions": [],
                "output": json.dumps(result),
                "error": "",
                "error_line": 0,
                "limit": "",
                "recycle": False,
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
