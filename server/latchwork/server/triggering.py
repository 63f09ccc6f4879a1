"""The supervisor's trigger side: registering callbacks, observing events, recording firings.

It owns the trigger engine and the ids of callbacks and runs. It never runs callback code and
never writes the store itself: firings become pending run records in the same ``Changes`` (and
so the same transaction) as the event that caused them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import groupby

from .callbacks import LanguagePolicy, compile_callback
from .core.changes import Changes
from .core.errors import FieldError
from .core.events import Event, EventName, EventType
from .core.firing_budget import FiringBudget
from .core.model import CallbackLanguage, CallbackSpec, Job
from .core.runs import CallbackRun
from .core.tree_events import tree_events
from .core.triggers.dependency import DependencyCallback, Desugared, skipped_work
from .core.triggers.engine import Callback, Firing, TriggerEngine
from .core.triggers.resolve import ResolveContext, Watch
from .core.visibility import ReadPolicy
from .dormant_callbacks import DormantCallbacks
from .store.protocol import Store
from .store.records import StoredCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submitted:
    """The jobs of a submission being checked, visible to each other's triggers."""

    by_id: dict[int, Job]
    by_label: dict[str, Job]

    @classmethod
    def of(cls, jobs: Sequence[Job]) -> Submitted:
        return cls({job.id: job for job in jobs}, {job.label: job for job in jobs})


@dataclass(frozen=True, slots=True)
class Lookups:
    """How the trigger side sees jobs: by id, by label within a process group, children."""

    job: Callable[[int], Job | None]
    by_label: Callable[[int, str], Job | None]
    children: Callable[[int], list[int]]
    # The jobs in memory (not retired), never reading the store.
    resident: Callable[[], Collection[int]]
    # ``job`` and ``by_label`` without reading a retired job back into memory.
    peek: Callable[[int], Job | None]
    peek_by_label: Callable[[int, str], Job | None]


class Triggering:
    def __init__(
        self,
        store: Store,
        lookups: Lookups,
        policy: LanguagePolicy,
        admins: frozenset[str] = frozenset(),
        *,
        budget: FiringBudget | None = None,
        reads: ReadPolicy | None = None,
    ) -> None:
        self.store = store
        self.admins = admins
        # With visibility = "own", a new trigger may name only jobs its owner may read: a
        # trigger on another user's job would say when it ends, its labels and work names.
        self.reads = reads if reads is not None else ReadPolicy()
        self.lookups = lookups
        self.policy = policy
        self.engine = TriggerEngine(self._job_data)
        self.dormant = DormantCallbacks()
        self._last_callback_id = 0
        self._last_run_id = 0
        # The firing budget (runaway cascades), and the cascade depth of the firings the next
        # observe() records: set by CallbackRuns.finish for the changes a run's actions made.
        self.budget = budget if budget is not None else FiringBudget()
        self.cascade_depth = 0

    def _job_data(self, job_id: int) -> dict[str, str] | None:
        job = self.lookups.job(job_id)
        return job.spec.data if job else None

    # --- loading -----------------------------------------------------------------------

    def load(self) -> list[CallbackRun]:
        """Rebuild the engine from the store; returns the runs still to be run.

        Compiled: the callbacks of the jobs in memory, and those on a clock or the whole farm
        (whose jobs are read back for them). A retired job's callbacks stay in the store
        (:mod:`.dormant_callbacks`); the jobs in memory they watch are noted.
        """
        self.engine = TriggerEngine(self._job_data)
        self.dormant = DormantCallbacks()
        self._last_callback_id = self.store.last_callback_id()
        self._last_run_id = self.store.last_run_id()
        loaded = sorted(self.lookups.resident())
        # The jobs the triggers name, each read once for all (ten thousand live jobs may
        # depend on one retired job: one read of it, not ten thousand).
        self._compile_owners(loaded, functools.cache(self.lookups.peek), self._memo_by_label())
        self._note_watchers(loaded)
        for owner_id in self.store.owners_compiled_at_start():
            # Read back if retired: reviving it compiles its callbacks and notes its watchers
            # (revived); a job loaded is compiled already.
            self.lookups.job(owner_id)
        return self.store.pending_runs()

    def _memo_by_label(self) -> Callable[[int, str], Job | None]:
        @functools.cache
        def by_label(pgrp: int, label: str) -> Job | None:
            return self.lookups.peek_by_label(pgrp, label)

        return by_label

    def _compile_owners(
        self,
        owner_ids: Sequence[int],
        peek: Callable[[int], Job | None],
        peek_by_label: Callable[[int, str], Job | None],
    ) -> None:
        """Compile the stored callbacks of ``owner_ids`` (jobs in memory) not compiled yet;
        ``peek``, ``peek_by_label``: how to look at the jobs their triggers name."""
        loaded: list[Callback] = []
        stored_callbacks = self.store.load_callbacks(owner_ids)
        for _, of_owner in groupby(stored_callbacks, lambda c: c.job_id):
            owned = [s for s in of_owner if s.id not in self.engine.callbacks]
            if owned:
                loaded.extend(self._compile_stored(owned, peek, peek_by_label))
        _restore_skipped_work(loaded)
        for callback in sorted(loaded, key=lambda callback: callback.id):
            self.engine.add(callback)

    def _note_watchers(self, job_ids: Sequence[int]) -> None:
        """Note the retired jobs whose callbacks watch ``job_ids`` (jobs in memory)."""
        resident = self.lookups.resident()
        for job_id, owner_id in self.store.watchers_of(job_ids):
            if owner_id not in resident and owner_id != job_id:
                self.dormant.watch(job_id, owner_id)

    def _compile_stored(
        self,
        stored_callbacks: Sequence[StoredCallback],
        peek: Callable[[int], Job | None],
        peek_by_label: Callable[[int, str], Job | None],
    ) -> list[Callback]:
        """One owner's stored callbacks compiled, their latch state restored (none if the
        owner was removed: they never fire again). The jobs their triggers name are looked
        at where they are (``peek``), never read back into memory for it."""
        owner = self.lookups.peek(stored_callbacks[0].job_id)
        if owner is None or owner.removed:
            return []
        # Accepted when it was registered: a later `visibility` change keeps it.
        context = ResolveContext(
            owner=owner,
            job_by_id=peek,
            job_by_label=partial(peek_by_label, owner.pgrp),
            allow_global=owner.user in self.admins,
        )
        loaded: list[Callback] = []
        for stored in stored_callbacks:
            callback, errors = compile_callback(
                stored.spec,
                stored.id,
                context,
                f"callback {stored.id}",
                # Its language, and mail: a qube `mail-status` accepted then is kept too.
                LanguagePolicy(enabled=frozenset({stored.spec.language, CallbackLanguage.MAIL})),
                registered_seq=stored.registered_seq,
                # Checked when it was accepted; the sandbox checks it again before each run.
                # Checking it here would compile every stored Python callback on the loop.
                check_python_code=False,
            )
            if callback is None:
                log.error("callback %d no longer compiles: %s", stored.id, errors)
                continue
            callback.from_dependency = stored.from_dependency
            callback.fired = stored.fired
            callback.restore(stored.state)
            loaded.append(callback)
        return loaded

    def revived(self, job: Job) -> None:
        """A retired job is in memory again: compile its callbacks, and note the retired jobs
        whose callbacks watch it, since events can happen to it now."""
        self._compile_owners([job.id], self.lookups.peek, self.lookups.peek_by_label)
        self._note_watchers([job.id])

    def retire(self, job_ids: Iterable[int]) -> None:
        """Jobs left memory: their callbacks leave the engine for the store, unless a clock
        or the whole farm can latch one (then all of the job's stay); what they watch in
        memory is noted, and what watched them is forgotten until they are read back.

        Safe between any two commits: each commit writes the latch state of every callback it
        touched, so the store holds what the engine held. A run of one of them still pending
        or running asks for it with :meth:`callback`, which reads its job back.
        """
        retired = list(job_ids)
        resident = self.lookups.resident()
        for owner_id in retired:
            callbacks = self.engine.of_job(owner_id)
            watched = [callback.watched_jobs for callback in callbacks]
            if not callbacks or any(jobs is None for jobs in watched):
                continue
            for callback in callbacks:
                self.engine.remove(callback.id)
            for job_id in {job for jobs in watched for job in jobs or ()}:
                # A watched job already retired asks the store when it is read back.
                if job_id != owner_id and job_id in resident:
                    self.dormant.watch(job_id, owner_id)
        for job_id in retired:
            self.dormant.forget(job_id)

    def callback(self, callback_id: int) -> Callback | None:
        """The callback ``callback_id``, its job read back if it was retired (None: no such
        callback, or its job was removed)."""
        callback = self.engine.callbacks.get(callback_id)
        if callback is None and (owner_id := self.store.callback_owner(callback_id)):
            self.lookups.job(owner_id)
            callback = self.engine.callbacks.get(callback_id)
        return callback

    def remove_job(self, job_id: int) -> None:
        """Drop a removed job's callbacks: they never fire again (nor after a restart)."""
        self.engine.remove_job(job_id)

    def context(
        self, owner: Job, submitted: Submitted | None = None, *, scoped: bool = True
    ) -> ResolveContext:
        """How ``owner``'s triggers see other jobs, those of its own submission included.
        ``scoped``: only the jobs ``owner``'s user may read (``visibility``); a job they may not
        read is as one that does not exist."""
        by_id_extra = submitted.by_id if submitted else {}
        by_label_extra = submitted.by_label if submitted else {}
        scope = self.reads.scope(owner.user)
        sees = scope.sees if scoped and not scope.everything else (lambda job: job is not None)

        def by_id(job_id: int) -> Job | None:
            job = by_id_extra.get(job_id) or self.lookups.job(job_id)
            return job if sees(job) else None

        def by_label(label: str) -> Job | None:
            job = by_label_extra.get(label) or self.lookups.by_label(owner.pgrp, label)
            return job if sees(job) else None

        return ResolveContext(
            owner=owner,
            job_by_id=by_id,
            job_by_label=by_label,
            allow_global=owner.user in self.admins,
        )

    # --- registering -------------------------------------------------------------------

    def compile(
        self,
        owner: Job,
        specs: Sequence[CallbackSpec],
        path: str,
        *,
        dependency: Desugared | None = None,
        submitted: Submitted | None = None,
        registered_seq: int = 0,
        check_python_code: bool = True,
    ) -> tuple[list[Callback], list[FieldError]]:
        """Compile a job's callbacks (and its dependency's); ids are taken only on success.
        ``check_python_code=False``: the Python code was checked already (universal ones)."""
        if not specs and dependency is None:
            return [], []
        context = self.context(owner, submitted)
        callbacks: list[Callback] = []
        errors: list[FieldError] = []
        entries: list[tuple[CallbackSpec, str, DependencyCallback | None]] = [
            (spec, f"{path}.callbacks[{i}]", None) for i, spec in enumerate(specs)
        ]
        if dependency is not None:
            entries.extend((part.callback, path, part) for part in dependency.callbacks)
        next_id = self._last_callback_id
        for spec, where, origin in entries:
            next_id += 1
            callback, problems = compile_callback(
                spec,
                next_id,
                context,
                where,
                self.policy,
                from_dependency=origin,
                registered_seq=registered_seq,
                check_python_code=check_python_code,
            )
            errors.extend(problems)
            if callback is not None:
                callbacks.append(callback)
        if not errors:
            self._last_callback_id = next_id
        return callbacks, errors

    def forget_ids(self, callbacks: Sequence[Callback]) -> None:
        """Give back the ids of callbacks compiled for a submission that was then rejected."""
        if callbacks:
            self._last_callback_id = min(c.id for c in callbacks) - 1

    def register(self, changes: Changes, callbacks: Iterable[Callback]) -> list[Firing]:
        """Add compiled callbacks to the engine, latching what already happened (catch-up)."""
        firings: list[Firing] = []
        histories: dict[tuple[int, ...], list[Event]] = {}
        # Jobs of the submission being applied have no stored events yet: no query for them
        # (a query per callback was a tenth of a 1,000-job Submit's time on the loop).
        unstored = {job.id for job in changes.new_jobs}
        for callback in callbacks:
            self.engine.add(callback)
            changes.new_callbacks.append(callback)
            if callback.spec.catch_up:
                watched = tuple(sorted({w.job_id for w in callback.watches if w.job_id}))
                if watched and unstored.issuperset(watched):
                    histories[watched] = []
                elif watched not in histories:
                    histories[watched] = self.store.job_events(watched)
                firings.extend(self.engine.catch_up(callback, histories[watched]))
        return firings

    # --- observing -----------------------------------------------------------------------

    def tree_events(self, changes: Changes) -> None:
        """Emit the job-tree events this commit's final job events complete (core rule)."""
        for event in tree_events(list(changes.events), self.lookups.job, self.lookups.children):
            changes.emit(event)

    def observe(self, changes: Changes, firings: list[Firing]) -> None:
        """Feed numbered events to the engine and record every firing as a pending run.

        Each firing is first charged to the firing budget at this commit's cascade depth
        (``cascade_depth``, taken and reset here): a callback over its budget is suspended
        instead of fired, and a ``suspended`` callback event tells its owner why.
        """
        depth, self.cascade_depth = self.cascade_depth, 0
        for event in changes.events:
            if self.dormant and event.job_id:
                # Retired jobs whose callbacks watch this one: read back, they see the event.
                for owner_id in self.dormant.owners_watching(event.job_id):
                    self.lookups.job(owner_id)
            firings.extend(self.engine.observe(event))
        due: dict[int, float] = {}
        for callback, position, mark, due_time, event in changes.timer_latches:
            for firing in self.engine.latch_timer(callback, position, event, mark):
                firings.append(firing)
                due[id(firing)] = due_time
        suspended = False
        for firing in firings:
            firing_depth = self._depth_of(firing, depth)
            if not self._within_budget(changes, firing.callback, firing_depth):
                suspended = True
                continue
            self._last_run_id += 1
            due_time = due.get(id(firing), changes.now)
            changes.new_runs.append(
                CallbackRun(
                    id=self._last_run_id,
                    callback_id=firing.callback.id,
                    job_id=firing.callback.job_id,
                    triggers=firing.callback.spec.triggers,
                    binding=firing.binding,
                    event_seq=firing.event.seq,
                    due_time=due_time,
                    delay_seconds=max(changes.now - due_time, 0.0),
                    depth=firing_depth,
                )
            )
            self.engine.touched.add(firing.callback.id)
        if suspended:
            self.store.number_events(changes)  # the announcements come after every other event
        for callback_id in self.engine.touched:
            if (touched := self.engine.callbacks.get(callback_id)) is not None:
                changes.dirty_callbacks[callback_id] = touched
        self.engine.touched.clear()

    def _depth_of(self, firing: Firing, depth: int) -> int:
        """A firing's cascade depth: the commit's, or deeper when the callback's job or the
        event's job was submitted by a callback (``Job.cascade_depth``, ``qb.submit``)."""
        for job_id in (firing.callback.job_id, firing.event.job_id):
            job = self.lookups.job(job_id) if job_id else None
            if job is not None and job.cascade_depth > depth:
                depth = job.cascade_depth
        return depth

    def _within_budget(self, changes: Changes, callback: Callback, depth: int) -> bool:
        """Charge a firing to the budget; over it, suspend the callback and announce why."""
        if callback.suspended:
            callback.fired -= 1  # a later binding of a callback suspended in this commit
            return False
        over = self.budget.admit(callback.id, depth)
        if over is None:
            return True
        callback.fired -= 1  # the engine counted the firing that does not happen
        reason = f"{over.bound}: {over.message}"
        self.engine.suspend(callback, reason)
        self.budget.forget(callback.id)
        owner = self.lookups.job(callback.job_id)
        log.warning("callback %d of job %d suspended: %s", callback.id, callback.job_id, reason)
        changes.emit(
            Event(
                name=EventName.SUSPENDED,
                type=EventType.CALLBACK,
                job_id=callback.job_id,
                pgrp=owner.pgrp if owner else 0,
                label=owner.label if owner else "",
                user=owner.user if owner else "",
                status="suspended",
                message=(
                    f"callback {callback.id} ({callback.spec.triggers}) suspended by the "
                    f"firing budget ({over.bound}): {over.message}; it fired {callback.fired} "
                    "times. It stays suspended: add it again (AddCallbacks) once the cause "
                    "is fixed"
                ),
            )
        )
        return False

    def due_timers(self) -> list[tuple[float, Callback, int, Watch, Callable[[float], int]]]:
        """Each pending time atom: (when it is due, callback, position, watch, mark).

        ``mark(now)`` is the occurrence a firing at ``now`` stands for: a repeat that missed
        several periods while the supervisor was down fires once, for the latest of them.
        """
        result: list[tuple[float, Callback, int, Watch, Callable[[float], int]]] = []
        for callback, position, watch in self.engine.timers():
            mark = callback.timer_marks.get(position, 0)
            start = watch.atom.time
            if watch.type in (EventType.TIME, EventType.GLOBALTIME):
                if mark < start:
                    result.append((float(start), callback, position, watch, _constant(start)))
                continue
            period = watch.atom.seconds
            upcoming = start if mark < start else mark + period

            def latest(now: float, start: int = start, period: int = period) -> int:
                return start + max(int((now - start) // period), 0) * period

            result.append((float(upcoming), callback, position, watch, latest))
        return result

    def callbacks_of(self, job_id: int) -> list[Callback]:
        """A job's callbacks (read back with the job if it was retired)."""
        self.lookups.job(job_id)
        return self.engine.of_job(job_id)


def _constant(value: int) -> Callable[[float], int]:
    def mark(_now: float) -> int:
        return value

    return mark


def _restore_skipped_work(callbacks: Iterable[Callback]) -> None:
    """Tell each dependency callback with no ``work`` of its own which frames wait under their
    own callbacks (derived, not stored: the specs say it; core.triggers.dependency)."""
    by_job: dict[int, list[Callback]] = {}
    for callback in callbacks:
        if callback.from_dependency:
            by_job.setdefault(callback.job_id, []).append(callback)
    for siblings in by_job.values():
        skip = skipped_work(c.spec for c in siblings)
        for callback in siblings:
            if not callback.spec.work:
                callback.skip_work = skip
