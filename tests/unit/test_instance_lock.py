"""The single-instance lock: exclusive, names its holder, and dies with its process (not with
the processes it started)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latchwork.server.instance_lock import InstanceLock, InstanceLocked, worker_lock_path


def test_a_second_holder_is_refused_with_the_first_ones_pid_and_address(tmp_path: Path) -> None:
    path = tmp_path / "latchwork.lock"
    with InstanceLock.acquire(path, "serving on 127.0.0.1:50051"):
        with pytest.raises(InstanceLocked) as held:
            InstanceLock.acquire(path)
        assert held.value.holder() == f"pid {os.getpid()} (serving on 127.0.0.1:50051)"
    InstanceLock.acquire(path).release()  # released: free again


def test_the_lock_goes_with_its_process_even_when_a_child_lives_on(tmp_path: Path) -> None:
    """A frame started by the supervisor must not keep the data directory locked."""
    path = tmp_path / "latchwork.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "from pathlib import Path\n"
            "from latchwork.server.instance_lock import InstanceLock\n"
            f"lock = InstanceLock.acquire(Path({str(path)!r}), 'x')\n"
            "child = subprocess.Popen(['sleep', '60'], close_fds=False)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    child = int(holder.stdout.readline())
    try:
        with pytest.raises(InstanceLocked) as held:
            InstanceLock.acquire(path)
        assert held.value.pid == holder.pid
        holder.kill()
        holder.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                InstanceLock.acquire(path).release()
                break
            except InstanceLocked:
                assert time.monotonic() < deadline, "the child kept the lock"
                time.sleep(0.05)
    finally:
        holder.kill()
        os.kill(child, 9)


def test_worker_identities_have_their_own_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    one = worker_lock_path("node1", "farm:50051")
    assert one == worker_lock_path("node1", "farm:50051")
    assert one != worker_lock_path("node2", "farm:50051")
    assert one != worker_lock_path("node1", "other:50051")
    assert one.parent == tmp_path / "latchwork"
