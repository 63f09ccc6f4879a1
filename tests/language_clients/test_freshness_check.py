"""The freshness check fails on a proto change that was not regenerated (issue 6).

Runs ``tools/check_clients_fresh.sh go`` on a scratch copy of the repo's protos and Go
client, once as committed (passes) and once after a deliberate proto change (fails and names
the file). The Go generator is the quick one; ``make clients-check`` runs all three the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.language_clients.example_run import REPO

COPIED = ["buf.yaml", "protos", "tools/check_clients_fresh.sh", "clients/go"]


def _scratch_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for relative in COPIED:
        source, target = REPO / relative, root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return root


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BUF": str(REPO / "build" / "node" / "node_modules" / ".bin" / "buf"),
        "BUF_CACHE_DIR": str(REPO / "build" / "buf-cache"),
    }
    return subprocess.run(
        [str(root / "tools" / "check_clients_fresh.sh"), "go"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_freshness_check_passes_as_committed_and_fails_after_a_proto_change(
    tmp_path: Path,
) -> None:
    root = _scratch_repo(tmp_path)
    assert (fresh := _check(root)).returncode == 0, fresh.stderr

    proto = root / "protos" / "latchwork" / "v1" / "event.proto"
    text = proto.read_text()
    assert "  int64 callback_run_id = 15;\n" in text
    proto.write_text(
        text.replace(
            "  int64 callback_run_id = 15;\n",
            "  int64 callback_run_id = 15;\n  // A field added without `make clients`.\n"
            "  string forgotten = 16;\n",
        )
    )
    stale = _check(root)
    assert stale.returncode == 1
    assert "clients/go/latchworkv1/event.pb.go" in stale.stderr
    assert "Forgotten" in stale.stderr  # the diff shows the new field
    assert "out of date with protos/: go (run: make clients)" in stale.stderr
