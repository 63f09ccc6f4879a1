"""The commit queue (server/commit_queue.py): writes sent in order, grouped while one is in
flight, their answers read when the loop sees them come; a failed group fails everything
queued behind it; a flush lands all. For a store that writes at once (SQLite's), the writes
of a turn of the loop are gathered into one group.

The store here is a stand-in whose answers the test sends (a byte on a pipe the loop
watches, as it watches PostgreSQL's socket); a real PostgreSQL store goes through the same
queue in tests/unit/test_commit_aside.py."""

from __future__ import annotations

import asyncio
import os
import select
from collections.abc import Callable, Sequence
from typing import NamedTuple

import pytest

from latchwork.server.commit_queue import GATHERED_GROUP_LIMIT, GROUP_LIMIT, CommitQueue
from latchwork.server.store.errors import StorageUnavailable
from latchwork.server.store.protocol import Answered


class HeldSend:
    """A send whose answer comes when the test says (a byte on a pipe the loop watches)."""

    def __init__(self, writes: HeldWrites, group: list[str]) -> None:
        self._writes = writes
        self._group = group
        self._read, self.answer = os.pipe()
        self.error: BaseException | None = None
        self.on_settled: Callable[[], None] | None = None
        self.done = False
        self.answered = False

    def give_answer(self) -> None:
        os.write(self.answer, b"!")
        self.answered = True

    def fileno(self) -> int:
        return self._read

    def poll(self) -> bool:
        if not self.done and select.select([self._read], [], [], 0)[0]:
            os.read(self._read, 1)
            self.done = True
            if self._writes.fail_next:
                self._writes.fail_next = False
                self.error = StorageUnavailable("the server went away")
            else:
                self._writes.stored.extend(self._group)
            os.close(self._read)
            os.close(self.answer)
        return self.done

    def wait(self) -> None:
        while not self.poll():
            select.select([self._read], [], [])


class HeldWrites:
    """Writes are strings; each send is answered when the test calls :meth:`answer`."""

    gathers = False

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.sends: list[HeldSend] = []
        self.stored: list[str] = []
        self.landed: list[str] = []
        self.unwound: list[str] = []
        self.fail_next = False
        self.raise_next = False
        self.credit = 0

    def answer(self) -> None:
        """Answer the oldest send not answered yet, or the next send as soon as it goes."""
        unanswered = [send for send in self.sends if not send.answered]
        if unanswered:
            unanswered[0].give_answer()
        else:
            self.credit += 1

    def render_write(self, changes: object, submission: object = None) -> str:
        raise AssertionError("the queue renders nothing")

    def send_writes(self, writes: Sequence[str]) -> HeldSend:
        if self.raise_next:
            self.raise_next = False
            raise RuntimeError("a bug in the store")
        self.sent.append(list(writes))
        send = HeldSend(self, list(writes))
        self.sends.append(send)
        if self.credit:
            self.credit -= 1
            send.give_answer()
        return send

    def wrote(self, write: str) -> None:
        self.landed.append(write)

    def unwind(self, writes: Sequence[str]) -> None:
        self.unwound.extend(writes)


def _noting(effects: list[str], name: str) -> Callable[[bool], None]:
    return lambda may_commit: effects.append(name)


async def _until(condition: object) -> None:
    for _ in range(500):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("never happened")


class InFlight(NamedTuple):
    writes: HeldWrites
    failures: list[BaseException]
    queue: CommitQueue
    effects: list[str]
    first: asyncio.Future[None]


async def _one_in_flight() -> InFlight:
    """A queue whose first write, "a", is sent and not answered yet."""
    writes = HeldWrites()
    failures: list[BaseException] = []
    queue = CommitQueue(writes, failures.append)
    effects: list[str] = []
    first = queue.put("a", _noting(effects, "a"))
    await _until(lambda: writes.sent == [["a"]])
    return InFlight(writes, failures, queue, effects, first)


async def test_writes_queued_while_one_is_in_flight_go_together_in_order() -> None:
    writes, failures, queue, effects, first = await _one_in_flight()
    later = [queue.put(name, _noting(effects, name)) for name in "bcd"]
    assert len(queue) == 4 and not first.done()
    writes.answer()
    await first
    assert effects == ["a"]
    await _until(lambda: writes.sent == [["a"], ["b", "c", "d"]])  # one group, one transaction
    writes.answer()
    await asyncio.gather(*later)
    assert effects == ["a", "b", "c", "d"] == writes.landed == writes.stored
    assert len(queue) == 0 and failures == []
    queue.close()


async def test_the_writes_a_landing_fires_go_in_the_next_group() -> None:
    """A write whose landing runs callbacks (``fires``): the next group waits until that
    landing ran, so the callbacks' own writes go in it, one round trip after their cause.
    Another write's group sends the next one before its landing runs."""
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)
    effects: list[str] = []
    callbacks: list[asyncio.Future[None]] = []

    def release(may_commit: bool) -> None:  # a dependency released: its commit sent aside
        effects.append("a")
        callbacks.append(queue.put("released", _noting(effects, "released")))

    first = queue.put("a", release, fires=True)
    await _until(lambda: writes.sent == [["a"]])
    behind = queue.put("b", _noting(effects, "b"))
    writes.answer()
    await first
    await _until(lambda: len(writes.sent) == 2)
    assert writes.sent[1] == ["b", "released"]  # (not ["b"], then ["released"])
    writes.answer()
    await asyncio.gather(behind, *callbacks)
    assert effects == ["a", "b", "released"] == writes.stored

    def late(may_commit: bool) -> None:  # no callbacks: the next group went already
        effects.append("c")
        callbacks.append(queue.put("late", _noting(effects, "late")))

    third = queue.put("c", late)
    await _until(lambda: len(writes.sent) == 3)
    fourth = queue.put("d", _noting(effects, "d"))
    writes.answer()
    await third
    assert writes.sent[3] == ["d"] and effects[-1] == "c"  # ("late" waits behind "d")
    writes.answer()
    await fourth
    await _until(lambda: len(writes.sent) == 5)
    assert writes.sent[4] == ["late"]
    writes.answer()
    await asyncio.gather(*callbacks)
    queue.close()


async def test_a_failed_group_fails_it_and_everything_queued_behind_it() -> None:
    writes, failures, queue, effects, first = await _one_in_flight()
    behind = queue.put("b", _noting(effects, "b"))
    writes.fail_next = True
    writes.answer()
    for done in (first, behind):
        with pytest.raises(StorageUnavailable, match="went away"):
            await done
    # "b" was never sent: it was built on "a"'s state.
    assert writes.sent == [["a"]] and writes.stored == [] and effects == []
    assert writes.unwound == ["a", "b"] and len(failures) == 1
    # The queue goes on with the next write.
    after = queue.put("c", _noting(effects, "c"))
    writes.answer()
    await after
    assert writes.stored == ["c"] == effects
    queue.close()


async def test_flush_blocks_until_everything_queued_landed_in_order() -> None:
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)
    effects: list[str] = []
    dones = [queue.put(name, _noting(effects, name)) for name in "abc"]
    for _ in range(2):  # "a" alone, then "b" and "c" together
        writes.answer()
    queue.flush()  # (the loop blocked: the thread's answers are taken here, not on the loop)
    assert effects == ["a", "b", "c"] and all(done.done() for done in dones)
    assert len(queue) == 0
    await asyncio.sleep(0.01)  # the loop's own notice of the answers changes nothing
    assert effects == ["a", "b", "c"]
    queue.close()


async def test_flush_raises_the_error_of_a_failed_group() -> None:
    writes = HeldWrites()
    failures: list[BaseException] = []
    queue = CommitQueue(writes, failures.append)
    done = queue.put("a", lambda may_commit: None)
    writes.fail_next = True
    writes.answer()
    with pytest.raises(StorageUnavailable):
        queue.flush()
    assert len(failures) == 1 and done.done()
    with pytest.raises(StorageUnavailable):
        await done
    queue.close()


async def test_an_effect_that_raises_reaches_its_own_caller_only() -> None:
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)

    def broken(may_commit: bool) -> None:
        raise ValueError("effect failed")

    first = queue.put("a", broken)
    second = queue.put("b", lambda may_commit: None)
    writes.answer()
    writes.answer()
    with pytest.raises(ValueError, match="effect failed"):
        await first
    await second
    assert writes.stored == ["a", "b"]
    queue.close()


async def test_a_caller_that_went_away_leaves_its_commit_standing() -> None:
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)
    effects: list[str] = []
    done = queue.put("a", _noting(effects, "a"))
    done.cancel()
    writes.answer()
    queue.flush()
    assert writes.stored == ["a"] == effects
    queue.close()


async def test_past_the_group_limit_a_caller_waits_for_room_in_turn() -> None:
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)
    dones = [queue.put(str(n), lambda may_commit: None) for n in range(GROUP_LIMIT)]
    await queue.room()  # "0" in flight, GROUP_LIMIT - 1 waiting: room at once
    dones.append(queue.put("x", lambda may_commit: None))  # GROUP_LIMIT waiting: full
    turns = [asyncio.ensure_future(queue.room()) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert not any(turn.done() for turn in turns)
    writes.answer()  # "0" lands; the waiting group goes, and makes room
    await asyncio.gather(*turns)
    writes.answer()
    await asyncio.gather(*dones)
    assert [len(group) for group in writes.sent] == [1, GROUP_LIMIT]
    queue.close()


async def test_a_landing_that_commits_lands_the_rest_first_in_order() -> None:
    """An effect that commits (a qube callback run inline) flushes the queue: the writes of
    its own group still to act go first, in order, told not to commit themselves."""
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)
    effects: list[tuple[str, bool]] = []

    def committing(may_commit: bool) -> None:
        effects.append(("a", may_commit))
        queue.flush()
        effects.append(("a's commit", may_commit))

    def noting(name: str) -> Callable[[bool], None]:
        return lambda may_commit: effects.append((name, may_commit))

    first = queue.put("0", noting("0"))
    await _until(lambda: writes.sent == [["0"]])
    group = [queue.put("a", committing), queue.put("b", noting("b"))]
    writes.answer()
    await first
    await _until(lambda: len(writes.sent) == 2)
    last = queue.put("c", noting("c"))  # behind "a" and "b", in flight when "a" commits
    writes.answer()
    writes.answer()
    await asyncio.gather(*group, last)
    assert effects == [
        ("0", True),
        ("a", True),
        ("b", False),
        ("c", False),
        ("a's commit", True),
    ]
    queue.close()


async def test_a_send_that_raises_fails_its_group_and_the_queue_goes_on() -> None:
    writes = HeldWrites()
    failures: list[BaseException] = []
    queue = CommitQueue(writes, failures.append)
    writes.raise_next = True
    done = queue.put("a", lambda may_commit: None)
    with pytest.raises(RuntimeError, match="a bug"):
        await done
    assert writes.unwound == ["a"] and len(failures) == 1 and len(queue) == 0
    after = queue.put("b", lambda may_commit: None)
    writes.answer()
    await after
    assert writes.stored == ["b"]
    queue.close()


async def test_everyone_waiting_for_room_looks_again_when_a_group_goes() -> None:
    """Woken callers that then commit nothing (their reports found nothing to store) leave
    no one behind them waiting for ever."""
    writes = HeldWrites()
    queue = CommitQueue(writes, lambda error: None)
    dones = [queue.put(str(n), lambda may_commit: None) for n in range(GROUP_LIMIT + 1)]
    turns = [asyncio.ensure_future(queue.room()) for _ in range(GROUP_LIMIT + 5)]
    await asyncio.sleep(0.01)
    assert not any(turn.done() for turn in turns)
    writes.answer()  # "0" lands, the other GROUP_LIMIT go as one group
    await asyncio.wait_for(asyncio.gather(*turns), 5)
    writes.answer()
    await asyncio.gather(*dones)
    await asyncio.wait_for(queue.room(), 5)  # an idle queue: room at once
    queue.close()


# --- a store that writes at once (SQLite's): the writes of a turn of the loop gathered ----------


def _no_failure(error: BaseException) -> None:
    raise AssertionError(f"no group fails here: {error}")


class WrittenAtOnce:
    """Writes are strings, each send stored (or failed) before ``send_writes`` returns."""

    gathers = True

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.landed: list[str] = []
        self.unwound: list[str] = []
        self.fail_next = False

    def render_write(self, changes: object, submission: object = None) -> str:
        raise AssertionError("the queue renders nothing")

    def send_writes(self, writes: Sequence[str]) -> Answered:
        self.sent.append(list(writes))
        if self.fail_next:
            self.fail_next = False
            return Answered(StorageUnavailable("the disk went away"))
        return Answered(None)

    def wrote(self, write: str) -> None:
        self.landed.append(write)

    def unwind(self, writes: Sequence[str]) -> None:
        self.unwound.extend(writes)


async def test_writes_of_one_turn_of_the_loop_go_together_when_it_ends() -> None:
    writes = WrittenAtOnce()
    queue = CommitQueue(writes, _no_failure)
    effects: list[str] = []
    done = [queue.put(name, _noting(effects, name)) for name in "abc"]
    assert writes.sent == [] and len(queue) == 3  # nothing sent during the turn
    await asyncio.gather(*done)
    assert writes.sent == [["a", "b", "c"]] and effects == ["a", "b", "c"] == writes.landed
    later = queue.put("d", _noting(effects, "d"))
    await later
    assert writes.sent == [["a", "b", "c"], ["d"]] and len(queue) == 0
    queue.close()


async def test_a_full_group_of_a_gathering_store_goes_and_lands_at_once() -> None:
    writes = WrittenAtOnce()
    queue = CommitQueue(writes, _no_failure)
    effects: list[str] = []
    names = [f"w{i}" for i in range(GATHERED_GROUP_LIMIT + 1)]
    done = [queue.put(name, _noting(effects, name)) for name in names]
    # The limit's write sent its group and landed it before put returned; the next waits.
    assert writes.sent == [names[:GATHERED_GROUP_LIMIT]] and effects == names[:GATHERED_GROUP_LIMIT]
    assert all(d.done() for d in done[:GATHERED_GROUP_LIMIT]) and not done[-1].done()
    await done[-1]
    limit = GATHERED_GROUP_LIMIT
    assert writes.sent == [names[:limit], names[limit:]] and effects == names
    queue.close()


async def test_a_failed_gathered_group_fails_every_write_of_it() -> None:
    writes = WrittenAtOnce()
    failures: list[BaseException] = []
    queue = CommitQueue(writes, failures.append)
    effects: list[str] = []
    writes.fail_next = True
    done = [queue.put(name, _noting(effects, name)) for name in "ab"]
    for each in done:
        with pytest.raises(StorageUnavailable, match="went away"):
            await each
    assert writes.unwound == ["a", "b"] and effects == [] and len(failures) == 1
    await queue.put("c", _noting(effects, "c"))
    assert effects == ["c"] and writes.sent == [["a", "b"], ["c"]]
    queue.close()


async def test_flush_sends_what_a_gathering_store_gathered() -> None:
    writes = WrittenAtOnce()
    queue = CommitQueue(writes, _no_failure)
    effects: list[str] = []
    done = [queue.put(name, _noting(effects, name)) for name in "ab"]
    queue.flush()  # a synchronous commit comes: the turn's writes land first
    assert writes.sent == [["a", "b"]] and effects == ["a", "b"] and all(d.done() for d in done)
    await asyncio.sleep(0.01)  # the turn's end finds nothing left to send
    assert writes.sent == [["a", "b"]]
    queue.close()
