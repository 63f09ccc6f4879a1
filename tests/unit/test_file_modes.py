"""Private directories and files: created 0700/0600, tightened when ours, left alone (with a
warning) when someone else's; a tokens file others may read is refused."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from latchwork.server.auth import TokenFileError, load_tokens
from latchwork.server.file_modes import open_private_output, private_dir, private_file

from ..privileges import needs_root

NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_directory_and_file_are_private(tmp_path: Path) -> None:
    directory = private_dir(tmp_path / "a" / "b")
    assert _mode(directory) == 0o700
    assert _mode(private_file(directory / "f")) == 0o600


def test_ours_are_tightened_and_their_contents_kept(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    file = directory / "f"
    file.write_bytes(b"kept")
    file.chmod(0o644)
    private_dir(directory)
    private_file(file)
    assert (_mode(directory), _mode(file)) == (0o700, 0o600)
    assert file.read_bytes() == b"kept"


def test_an_output_file_is_opened_private_and_an_old_one_tightened_and_emptied(
    tmp_path: Path,
) -> None:
    new, old = tmp_path / "new.out", tmp_path / "old.out"
    old.write_bytes(b"the last attempt's output")
    old.chmod(0o644)
    for path in (new, old):
        descriptor = open_private_output(path)
        try:
            assert not os.get_inheritable(descriptor)
            os.write(descriptor, b"this run")
        finally:
            os.close(descriptor)
        assert (_mode(path), path.read_bytes()) == (0o600, b"this run")


@needs_root("giving a file to another user")
def test_someone_elses_are_left_alone_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "theirs"
    file.write_bytes(b"")
    file.chmod(0o644)
    os.chown(file, NOBODY, NOBODY)
    with caplog.at_level(logging.WARNING, logger="latchwork"):
        private_file(file)
    assert _mode(file) == 0o644
    assert f"{file} has mode 0644 and belongs to uid {NOBODY}" in caplog.text


@pytest.mark.parametrize(
    ("mode", "refused"),
    [(0o600, False), (0o400, False), (0o640, True), (0o604, True), (0o620, True)],
)
def test_a_tokens_file_group_or_others_may_use_is_refused(
    tmp_path: Path, mode: int, refused: bool
) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('[[token]]\ntoken = "0123456789abcdef"\nuser = "alice"\n')
    tokens.chmod(mode)
    if not refused:
        assert load_tokens(tokens)["0123456789abcdef"].user == "alice"
        return
    with pytest.raises(TokenFileError) as caught:
        load_tokens(tokens)
    assert str(caught.value).startswith(f"tokens file {tokens} has mode {mode:04o}")
