"""A Subscribe's snapshot of the jobs, without holding the event loop for the history.

The snapshot is every job as it was at the seq the stream goes on from. The jobs in memory
(the live ones, bounded by live work) are encoded at once, before the loop turns. The
retired ones, up to a farm's whole history, are read from the store and encoded in a thread,
a batch at a time, while the loop goes on serving the farm; what keeps them as they were at
that seq is :class:`~..retired_jobs.HistorySnapshot`'s. Measured: with 100,000 retired jobs of
10 frames, a snapshot held the loop for 7-9 s when it was read on it (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from latchwork.v1 import job_pb2

from ..core.model import Job
from ..retired_jobs import EVERY_JOB, Narrowing
from ..store.errors import StorageUnavailable
from ..supervisor import Supervisor
from . import convert

EncodedBatch = list[tuple[int, job_pb2.Job | None]]
"""A batch of jobs by id, each encoded, or None where the caller does not want it."""


async def snapshot_jobs(
    supervisor: Supervisor, wanted: Callable[[Job], bool], narrowed: Narrowing = EVERY_JOB
) -> AsyncGenerator[job_pb2.Job, None]:
    """The jobs ``wanted`` keeps, in id order, as they are when this generator is first
    advanced: the caller must not let the loop turn between the seq it names and that.
    ``narrowed``: what the store's reads may be narrowed to (a few job ids: only they are
    read), a superset of what ``wanted`` keeps."""
    revived: dict[int, job_pb2.Job | None] = {}

    def on_revived(job: Job) -> None:  # on the loop, before anything changes the job
        revived[job.id] = convert.job_to_pb(job) if wanted(job) else None

    def encode(jobs: list[Job]) -> EncodedBatch:  # in the reading thread
        return [(job.id, convert.job_to_pb(job) if wanted(job) else None) for job in jobs]

    with supervisor.history_snapshot(on_revived, narrowed) as snapshot:
        resident = [(job.id, convert.job_to_pb(job)) for job in snapshot.resident if wanted(job)]
        held = 0  # the next of ``resident`` to send
        after = 0
        while True:
            batch, after = await snapshot.read_after(after, encode)
            if snapshot.reloaded:
                raise StorageUnavailable(
                    "the supervisor took its state back from the store during the snapshot "
                    "(a commit failed); subscribe again"
                )
            for job_id, job_pb in batch:
                while held < len(resident) and resident[held][0] < job_id:
                    yield resident[held][1]
                    held += 1
                if job_id in snapshot.created:
                    continue
                if job_id in revived:
                    job_pb = revived[job_id]
                if job_pb is not None:
                    yield job_pb
            if not after:
                break
        for _, job_pb in resident[held:]:
            yield job_pb
