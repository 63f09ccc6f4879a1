"""Callbacks of retired jobs, left in the store until something needs them.

A finished job leaves memory after a while (:mod:`.job_index`, retiring), and a restart loads
live jobs only. Its callbacks go with it: **a job's callbacks are compiled exactly while the job
is in memory.** Reading a retired job back (reviving it: a lookup by id or label, a retry)
compiles its callbacks again, latch state and all, before anything else sees it
(``Triggering.revived``); retiring it takes them out of the trigger engine
(``Triggering.retire``). The one exception is a callback that a clock or the whole farm can
latch (time, repeat, global and host atoms): it stays compiled whatever its job does, and a
restart compiles it (and reads its job back), as it does every callback stored before Latchwork
wrote down what each one watches (schema 7).

A retired job's callback can still be latched by an event of a job in memory (a live job its
trigger names). Events only happen to jobs in memory, so what must be held is, for each job in
memory, the retired jobs whose callbacks watch it: this map. An event of such a job revives
them first, so their callbacks see it. The store's ``callback_watches`` (a row per watched job
and callback, indexed by job) fills it: at a restart for the jobs loaded, and for each job read
back into memory; a job that retires takes its entry with it.

So memory holds nothing per retired job, and a restart reads nothing per retired job either:
both grow with the live work, not with the history.
"""

from __future__ import annotations


class DormantCallbacks:
    """For each job in memory, the retired jobs whose callbacks watch it."""

    def __init__(self) -> None:
        # watched job id -> the owner watching it, or a list when several do (most jobs are
        # watched by one other at most: a dependency's next job)
        self._watched_by: dict[int, int | list[int]] = {}

    def __len__(self) -> int:
        """How many jobs in memory retired jobs' callbacks watch."""
        return len(self._watched_by)

    def __bool__(self) -> bool:
        return bool(self._watched_by)

    def watch(self, job_id: int, owner: int) -> None:
        """The retired job ``owner`` has a callback watching ``job_id``, a job in memory."""
        held = self._watched_by.get(job_id)
        if held is None:
            self._watched_by[job_id] = owner
        elif isinstance(held, int):
            if held != owner:
                self._watched_by[job_id] = [held, owner]
        elif owner not in held:
            held.append(owner)

    def owners_watching(self, job_id: int) -> list[int]:
        """The retired jobs whose callbacks an event of ``job_id`` could latch. They are about
        to be read back, their callbacks compiled, so the entry goes."""
        held = self._watched_by.pop(job_id, None)
        if held is None:
            return []
        return [held] if isinstance(held, int) else held

    def forget(self, job_id: int) -> None:
        """``job_id`` left memory: no event can happen to it until it is read back, which
        asks the store again."""
        self._watched_by.pop(job_id, None)
