"""Commits on their way to the store while the event loop goes on.

On PostgreSQL a commit is a round trip to the server, and the event loop waited for each: a
third of its time under a farm's reports (docs/benchmarks.md, farm throughput on
PostgreSQL). A worker's report and lease (:meth:`.commit_pipeline.CommitPipeline.commit_aside`)
is instead rendered on the loop and handed here: its transaction is sent at once, and its
answer read when the connection's socket is readable (the loop watches it, as asyncio's own
streams do), so the loop serves the next requests meanwhile. Writes that queue up while one
is in flight go together as the next transaction: a group commit, one round trip and one
fence for all. No thread: one tried first waited for the interpreter's lock behind the busy
loop (5 ms at a time, Python's switch interval) at every step of a send.

What a caller sees does not change: its answer waits for its commit to land, events are
published only once stored and in seq order, effects (offers, lease signals, callback runs)
happen only after the write. What others may see earlier is the model in memory, changed by
the transitions a round trip before their write lands.

SQLite's commit is a call on the loop, not a round trip: made at once for each report, every
report was a transaction of its own (BEGIN, its statements, COMMIT and the WAL pages it
dirtied). Its store :attr:`~.store.protocol.AsideWrites.gathers`: the writes put during a turn
of the loop wait until the turn ends (or until :data:`GATHERED_GROUP_LIMIT` of them wait) and
go as one transaction, landed at once. Under a farm's reports that cost the supervisor a tenth
less CPU per frame and added about 2 ms to a report's answer (docs/benchmarks.md, session 13);
a lone report waits only for the rest of its turn.

A failed send fails its group and every write queued after it: they were built on the
failed one's state. Their events are unnumbered, the model is taken back from the store and
each caller gets the error, as a failed synchronous commit does. A synchronous commit first
:meth:`CommitQueue.flush`\\ es the queue, blocking the loop, so the event sequence stays one
ordered stream of transactions.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .store.protocol import Answered, AsideWrites, PendingWrite

#: Writes that may wait behind the one in flight, which is the next group's size at most, on a
#: store whose send is a round trip (PostgreSQL).
#: Past it, a worker's report waits before its transitions are made (:meth:`CommitQueue.room`):
#: the loop takes no more work than the store can take, and a report's events are stored
#: within about two round trips of being made, not after a queue as long as the farm. Since
#: reports come on open streams (cheap enough that the loop outruns PostgreSQL), the queue is
#: full at farm scale. A group of 8 did better than 32 on both counts (docs/benchmarks.md,
#: session 12): more frames/s (a synchronous commit lands fewer writes first, the loop
#: blocked meanwhile) and a third of the dependency latency (shorter round trips). Once the
#: Submits no longer held the loop or the queue (session 16), 4 against 8 cut the dependency
#: p99 by a quarter for about 7 % fewer frames/s, both goals of issue 16 still met.
GROUP_LIMIT = 4
#: On a store that gathers (SQLite), the size at which a group goes without waiting for the
#: turn's end, and the most that wait before :meth:`CommitQueue.room` makes reports wait: 8
#: against 4 and 16 (docs/benchmarks.md, session 13).
GATHERED_GROUP_LIMIT = 8


@dataclass(slots=True, eq=False)
class _Queued:
    """One commit's rendered write, what to do once it landed, and its caller's future."""

    write: Any
    landed: Callable[[bool], None]
    done: asyncio.Future[None]
    fires: bool
    """Its landing runs callbacks, whose own writes should go in the very next group."""


class CommitQueue:
    """Rendered writes sent in order, grouped while one is in flight; one send at a time."""

    def __init__(self, writes: AsideWrites[Any], failed: Callable[[BaseException], None]) -> None:
        """``failed``: called on the loop with the error of a failed group, after its writes
        and those queued behind it were unwound (the commit pipeline reloads the model)."""
        self._writes = writes
        self._failed = failed
        self._limit = GATHERED_GROUP_LIMIT if writes.gathers else GROUP_LIMIT
        self._waiting: list[_Queued] = []
        self._in_flight: list[_Queued] = []
        self._sending: PendingWrite | None = None
        self._watched = -1  # the socket the loop watches for the answer
        self._landing: deque[_Queued] = deque()
        """Stored, their ``landed`` not run yet: run in order, by whoever comes first."""
        self._flushing = 0
        self._gathering = False  # a send of the writes gathered is due when the turn ends
        self._room: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        """Commits not yet landed (stored but not acted on, in flight, or waiting)."""
        return len(self._landing) + len(self._in_flight) + len(self._waiting)

    async def room(self) -> None:
        """Wait, while :data:`GROUP_LIMIT` writes (:data:`GATHERED_GROUP_LIMIT` on a store that
        gathers) already wait behind the one in flight, until they go. (Those waiting are all
        woken when a group goes, and look again: a write waits only behind one in flight,
        which lands, so none is left waiting for ever.)"""
        while len(self._waiting) >= self._limit:
            turn = asyncio.get_running_loop().create_future()
            self._room.append(turn)
            await turn

    def put(
        self, write: Any, landed: Callable[[bool], None], *, fires: bool = False
    ) -> asyncio.Future[None]:
        """Queue ``write``; ``landed`` runs on the loop once it is stored, before the
        returned future is done. Its argument says whether it may commit (False while a
        synchronous commit lands the queue first: its own transitions are made already).
        The write goes at once when nothing is in flight.

        ``fires``: ``landed`` runs callbacks (a dependency released, say) whose commits are
        sent aside in turn. Once such a write's group is stored, the next group waits until
        the group's ``landed`` ran, so that it carries those commits: the dependent's
        release is then stored one round trip after its cause, not two. Other groups send
        the next one first, so that the database works while the loop acts on the landing."""
        self._loop = asyncio.get_running_loop()
        queued = _Queued(write, landed, self._loop.create_future(), fires)
        self._waiting.append(queued)
        if self._sending is None:
            if not self._writes.gathers:
                self._send()
            elif len(self._waiting) >= self._limit:
                self._send_gathered()
            elif not self._gathering:
                self._gathering = True
                self._loop.call_soon(self._turn_ended)
        return queued.done

    def _turn_ended(self) -> None:
        self._gathering = False
        self._send_gathered()

    def _send_gathered(self) -> None:
        """Send the writes gathered (a store that sends at once: SQLite's) and land them."""
        if self._sending is None and self._waiting:
            sending = self._send()
            if sending.poll():
                self._arrived(sending)

    def flush(self) -> None:
        """Block until every queued write landed (or failed), running their ``landed`` in
        order: for a synchronous commit, which must come after them. Raises the error of a
        failed group (the model was taken back from the store)."""
        error: BaseException | None = None
        self._flushing += 1
        try:
            while self._landing or self._sending is not None or self._waiting:
                if self._landing:
                    self._run_landed()
                    continue
                if self._sending is None:
                    self._send()
                sending = self._sending
                assert sending is not None
                sending.wait()
                self._unwatch()
                error = self._land(sending) or error
        finally:
            self._flushing -= 1
        if error is not None:
            raise error

    def close(self) -> None:
        """Land what is queued (before the store closes)."""
        self.flush()

    def _send(self) -> PendingWrite:
        group, self._waiting = self._waiting, []
        self._in_flight = group
        try:
            sending: PendingWrite = self._writes.send_writes([queued.write for queued in group])
        except Exception as error:  # (a store's sends answer their errors; this is a bug's)
            sending = Answered(error)
        self._sending = sending
        self._make_room()
        loop = self._loop
        assert loop is not None  # (set by put, the only way in)

        def settled() -> None:  # (another use of the store waited for the answer)
            loop.call_soon(self._arrived, sending)

        sending.on_settled = settled
        if sending.poll():
            # Answered already: made at once (SQLite's, landed at once by _send_gathered or
            # flush, this then a no-op), or it ended before it went out (a lost connection).
            loop.call_soon(self._arrived, sending)
        else:
            self._watched = sending.fileno()
            loop.add_reader(self._watched, self._readable, sending)
        return sending

    def _unwatch(self) -> None:
        if self._watched >= 0 and self._loop is not None:
            self._loop.remove_reader(self._watched)
        self._watched = -1

    def _readable(self, sending: PendingWrite) -> None:
        if sending.poll():
            self._arrived(sending)

    def _make_room(self) -> None:
        while self._room:
            turn = self._room.popleft()
            if not turn.done():
                turn.set_result(None)

    def _arrived(self, sending: PendingWrite) -> None:
        """The answer of a group is in (unless :meth:`flush` already took it)."""
        if sending is not self._sending:
            return
        self._unwatch()
        self._land(sending)
        self._run_landed()
        self._send_held()

    def _send_held(self) -> None:
        """Send what waits, if nothing is in flight: after a group whose landing fired
        callbacks, the next group waited for their writes (:meth:`put`)."""
        if self._sending is None and self._waiting:
            self._send()

    def _land(self, sending: PendingWrite) -> BaseException | None:
        """The group of ``sending`` came back: stored, its writes are to be acted on, and
        the next group goes at once; or it failed, and so does all queued behind it."""
        group, self._in_flight, self._sending = self._in_flight, [], None
        error = sending.error
        if error is None:
            for queued in group:
                self._writes.wrote(queued.write)
            self._landing.extend(group)
            if self._waiting and not any(queued.fires for queued in group):
                self._send()
            return None
        self._run_landed()  # (those stored before still act, first)
        failed, self._waiting = group + self._waiting, []
        self._make_room()
        try:
            self._writes.unwind([queued.write for queued in failed])
        finally:
            try:
                self._failed(error)
            finally:
                for queued in failed:
                    _settle(queued.done, error)
        return error

    def _run_landed(self) -> None:
        """Act on the stored writes, in order. A ``landed`` that commits lands the queue
        first (:meth:`flush`), which goes on with the writes left here."""
        while self._landing:
            queued = self._landing.popleft()
            try:
                queued.landed(not self._flushing)
            except BaseException as effect_error:
                _settle(queued.done, effect_error)
            else:
                _settle(queued.done, None)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its caller went away (a cancelled call): the commit stands
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
