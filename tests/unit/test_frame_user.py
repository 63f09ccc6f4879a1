"""Who a frame runs as and its environment, without switching users (tests/test_e2e_run_as.py
switches for real)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from latchwork.server.config import ConfigError, load_settings
from latchwork.server.frame_user import (
    FramePolicy,
    FrameUserError,
    frame_environment,
    frame_user,
)


def test_the_environment_is_built_from_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LW13_SECRET", "hunter2")
    monkeypatch.setenv("LW13_PASS", "kept")
    monkeypatch.delenv("LANG", raising=False)
    user = frame_user("", FramePolicy())
    env = frame_environment(user, {"PATH": "/opt/bin", "JOB": "1"}, ("LW13_PASS", "LW13_UNSET"))
    assert b"LW13_SECRET" not in env and b"LW13_UNSET" not in env
    assert env[b"LW13_PASS"] == b"kept"
    assert env[b"PATH"] == b"/opt/bin", "the job's env has the last word"
    assert env[b"LANG"] == b"C.UTF-8" and env[b"TMPDIR"] == b"/tmp"
    assert env[b"USER"] == env[b"LOGNAME"] and env[b"HOME"] and env[b"SHELL"]
    assert not user.switch and user.uid == os.getuid()


@pytest.mark.parametrize(
    ("owner", "reason"),
    [
        ("", "no owner"),
        ("lw13-no-such-user", "is not a user on this host"),
        ("root", "is root"),
        ("daemon", "below run_as_min_uid 1000"),
    ],
)
def test_owners_that_cannot_be_run_as_are_refused(owner: str, reason: str) -> None:
    with pytest.raises(FrameUserError, match=reason):
        frame_user(owner, FramePolicy(run_as="owner"))


def test_settings(tmp_path: Path) -> None:
    config = tmp_path / "latchwork.toml"
    config.write_text(
        '[supervisor]\nrun_as = "owner"\nrun_as_min_uid = 500\n'
        'frame_env_passthrough = ["LM_LICENSE_FILE", "OCIO"]\n'
    )
    policy = load_settings(config_file=config, env={}).frame_policy
    assert policy == FramePolicy("owner", 500, ("LM_LICENSE_FILE", "OCIO"))
    assert load_settings(env={}).frame_policy.run_as == "worker", "no tokens: as the worker"
    tokens = {"LATCHWORK_TOKENS_FILE": "/etc/t.toml"}
    expected = "owner" if os.geteuid() == 0 else "worker"
    assert load_settings(env=tokens).frame_policy.run_as == expected
    with pytest.raises(ConfigError, match="run_as"):
        load_settings(env={"LATCHWORK_RUN_AS": "nobody"})
