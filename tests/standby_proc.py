"""A ``latchwork serve`` that may stand by (issue 16): started without waiting for it to serve,
its printed lines read as they come, so a test can wait for "standby;" or "serving on"."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .pg_server import free_port


class Serve:
    """One ``latchwork serve``; its printed lines, as they come."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.address = self.http_address = ""
        if "--listen" in argv:
            self.address = argv[argv.index("--listen") + 1]
        if "--http-listen" in argv:
            self.http_address = argv[argv.index("--http-listen") + 1]

    @classmethod
    def on_database(
        cls,
        root: Path,
        name: str,
        url: str,
        *,
        lease: float,
        slots: int,
        listen: str = "",
        http_listen: str = "",
    ) -> Serve:
        """A supervisor named ``name`` (its host name too) on the database ``url``, with a data
        directory of its own under ``root``, on ``listen`` and ``http_listen`` (default: free
        ports)."""
        data_dir = root / name
        data_dir.mkdir()
        config = root / f"{name}.toml"
        config.write_text(f"leader_lease_seconds = {lease}\n")
        argv = [
            sys.executable, "-m", "latchwork.client.cli", "serve",
            "--config", str(config), "--data-dir", str(data_dir), "--store", url,
            "--listen", listen or f"127.0.0.1:{free_port()}",
            "--http-listen", http_listen or f"127.0.0.1:{free_port()}",
            "--slots", str(slots), "--host", name,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return cls(name, argv, root / f"{name}.log", env)

    @classmethod
    def from_command(cls, line: str, log_path: Path, env: dict[str, str]) -> Serve:
        """A ``latchwork serve …`` command line as a page shows it."""
        argv = shlex.split(line)
        assert argv[:2] == ["latchwork", "serve"], line
        return cls(
            log_path.stem, [sys.executable, "-m", "latchwork.client.cli", *argv[1:]], log_path, env
        )

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"{self.name} exited ({self.process.returncode})"
                    ) from None
                continue
            if text in line:
                return line
        raise AssertionError(f"{self.name} printed no {text!r} within {timeout} s")

    def healthz(self) -> tuple[int, Any]:
        url = f"http://{self.http_address}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
