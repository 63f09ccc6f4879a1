"""Versioned schema migrations, applied in order; ``PRAGMA user_version`` records the last.

A migration is never edited once released: a change to the schema is a new entry.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: jobs, work, subjobs, the event log and idempotent submissions.
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        pgrp INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        label TEXT NOT NULL,
        user TEXT NOT NULL,
        status TEXT NOT NULL,
        blocked INTEGER NOT NULL,
        suspended INTEGER NOT NULL,
        removed INTEGER NOT NULL,
        spec TEXT NOT NULL,
        submit_time REAL NOT NULL,
        start_time REAL NOT NULL,
        end_time REAL NOT NULL
    );
    CREATE UNIQUE INDEX jobs_pgrp_label ON jobs (pgrp, label);
    CREATE INDEX jobs_pid ON jobs (pid);
    CREATE TABLE work (
        job_id INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        retries INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        subjob_id INTEGER NOT NULL,
        host TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        message TEXT NOT NULL,
        lease_id TEXT NOT NULL,
        PRIMARY KEY (job_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE subjobs (
        job_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        status TEXT NOT NULL,
        host TEXT NOT NULL,
        start_time REAL NOT NULL,
        ran_failure INTEGER NOT NULL,
        PRIMARY KEY (job_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        job_id INTEGER NOT NULL,
        pgrp INTEGER NOT NULL,
        label TEXT NOT NULL,
        user TEXT NOT NULL,
        subjob_id INTEGER NOT NULL,
        work_name TEXT NOT NULL,
        host TEXT NOT NULL,
        status TEXT NOT NULL,
        previous_status TEXT NOT NULL,
        message TEXT NOT NULL,
        callback_run_id INTEGER NOT NULL
    );
    CREATE TABLE submissions (
        request_id TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        job_ids TEXT NOT NULL,
        pgrp INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        time REAL NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
]

MIGRATIONS.append(
    # 2: callbacks with their latch state, the durable outbox of callback runs, and the index
    # that catch-up reads a job's history through.
    """
    CREATE INDEX events_job ON events (job_id, seq);
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        spec TEXT NOT NULL,
        from_dependency INTEGER NOT NULL,
        fired INTEGER NOT NULL,
        state TEXT NOT NULL,
        registered_seq INTEGER NOT NULL
    );
    CREATE INDEX callbacks_job ON callbacks (job_id);
    CREATE TABLE callback_runs (
        id INTEGER PRIMARY KEY,
        callback_id INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        triggers TEXT NOT NULL,
        binding TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        due_time REAL NOT NULL,
        done INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        start_time REAL NOT NULL,
        duration_ms REAL NOT NULL,
        output TEXT NOT NULL,
        error TEXT NOT NULL,
        error_line INTEGER NOT NULL,
        delay_seconds REAL NOT NULL
    );
    CREATE INDEX callback_runs_job ON callback_runs (job_id, id);
    CREATE INDEX callback_runs_callback ON callback_runs (callback_id, id);
    CREATE INDEX callback_runs_pending ON callback_runs (done) WHERE done = 0;
    """
)

MIGRATIONS.append(
    # 3: each callback run's depth in a cascade of callbacks, so that the firing budget still
    # holds for the runs a restart resumes (docs/callbacks.md#firing-budget). A suspended
    # callback's reason is kept with its latch state (callbacks.state), which needs no column.
    """
    ALTER TABLE callback_runs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
    """
)

MIGRATIONS.append(
    # 4: staged jobs. A large Submit writes its jobs, work items and instances in several
    # short transactions, their ids listed in staged_jobs (invisible: not loaded, not listed),
    # then makes them visible in one final transaction with its events and callbacks, by
    # deleting their ids here; jobs still listed at a start are those of a Submit that never
    # finished, and are deleted (staging.Stager.submit). A table of its own rather than a
    # column: showing 2,000 jobs then rewrites a few small pages, not every job row and spec.
    """
    CREATE TABLE staged_jobs (id INTEGER PRIMARY KEY);
    """
)

MIGRATIONS.append(
    # 5: the farm's hosts (issue 12), so that a restarted supervisor lists the hosts it knew.
    # One row per host name: what its worker declared (``spec``, JSON), the admin's lock, and
    # the times of its last registration and last stored heartbeat. Whether it is up is not
    # kept: after a start every host is down until its worker registers again.
    """
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        locked INTEGER NOT NULL,
        lock_reason TEXT NOT NULL,
        registered REAL NOT NULL,
        last_heartbeat REAL NOT NULL
    ) WITHOUT ROWID;
    """
)

MIGRATIONS.append(
    # 6: each job's place in a cascade of callbacks: 0 for a job a client submitted, d + 1 for
    # one a callback run of depth d submitted (qb.submit), so that the firing budget still
    # bounds callbacks that submit jobs whose callbacks submit jobs after a restart.
    """
    ALTER TABLE jobs ADD COLUMN cascade_depth INTEGER NOT NULL DEFAULT 0;
    """
)

MIGRATIONS.append(
    # 7: which jobs' events can latch each callback, one row per (job, callback), so that a
    # retired job's callbacks can stay in the store until an event of one of those jobs comes
    # (server/dormant_callbacks.py): a restart reads the rows of the jobs it loads, a job read
    # back into memory its own. Job 0 stands for "a clock or the whole farm" (time, repeat,
    # global and host atoms): such a callback is compiled at every start. So is every callback
    # stored before this migration, whose watched jobs were never written down.
    """
    CREATE TABLE callback_watches (
        job_id INTEGER NOT NULL,
        callback_id INTEGER NOT NULL,
        owner_id INTEGER NOT NULL,
        PRIMARY KEY (job_id, callback_id)
    ) WITHOUT ROWID;
    INSERT INTO callback_watches (job_id, callback_id, owner_id)
        SELECT 0, id, job_id FROM callbacks;
    """
)

MIGRATIONS.append(
    # 8: finished jobs listed by user or by name are filtered in SQL. ListJobs and the
    # dashboard's jobs page read retired jobs from the store, newest first, filtered
    # (store/history.py: finished_jobs_before). Without the index, a user with no finished job
    # among 1,000,000 made that a scan of every job's row; without the column, a name pattern
    # was matched in Python on every row read, each row's spec decoded, for seconds
    # (bench/finished_listing.py). A process group's are found by jobs_pgrp_label already.
    """
    CREATE INDEX jobs_user ON jobs (user, id);
    ALTER TABLE jobs ADD COLUMN name TEXT NOT NULL DEFAULT '';
    UPDATE jobs SET name = COALESCE(json_extract(spec, '$.name'), '');
    """
)
