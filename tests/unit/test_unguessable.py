"""Lease ids: random bytes of the operating system's source, read in bulk, each used once."""

from __future__ import annotations

import re

import pytest

from latchwork.server.unguessable import ID_BYTES, UnguessableIds


def test_ids_are_hex_of_sixteen_random_bytes_and_never_repeat() -> None:
    ids = UnguessableIds()
    drawn = [ids.next() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", lease_id) for lease_id in drawn)
    assert len(set(drawn)) == len(drawn)


def test_the_source_is_read_a_batch_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    counter = iter(range(1_000_000))

    def urandom(size: int) -> bytes:
        reads.append(size)
        return b"".join(next(counter).to_bytes(ID_BYTES, "big") for _ in range(size // ID_BYTES))

    monkeypatch.setattr("latchwork.server.unguessable.os.urandom", urandom)
    ids = UnguessableIds()
    drawn = [ids.next() for _ in range(600)]
    assert reads == [ID_BYTES * 256] * 3  # 600 ids: three batches of 256
    assert [int(lease_id, 16) for lease_id in drawn] == list(range(600))  # each byte used once
