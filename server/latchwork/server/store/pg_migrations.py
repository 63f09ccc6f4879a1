"""The PostgreSQL store's schema migrations, applied in order; ``latchwork_schema`` records
the last one applied.

A migration is never edited once released: a change to the schema is a new entry. The
numbering is the PostgreSQL store's own (SQLite's is :mod:`.migrations`): version 1 is the
whole of SQLite's schema 6, and version 3 adds SQLite 7's table, so that both have the same
tables and columns and rows move between the two unchanged (:mod:`.copying`); version 4
adds SQLite 8's index and column. The types are
PostgreSQL's: ``BIGINT`` for every integer (ids, sequence numbers, 0/1 flags), ``DOUBLE
PRECISION`` for times (``REAL`` is 4 bytes there).
"""

from __future__ import annotations

PG_MIGRATIONS: list[str] = [
    # 1: everything SQLite's migrations 1-6 built.
    """
    CREATE TABLE jobs (
        id BIGINT PRIMARY KEY,
        pgrp BIGINT NOT NULL,
        pid BIGINT NOT NULL,
        label TEXT NOT NULL,
        "user" TEXT NOT NULL,
        status TEXT NOT NULL,
        blocked BIGINT NOT NULL,
        suspended BIGINT NOT NULL,
        removed BIGINT NOT NULL,
        spec TEXT NOT NULL,
        submit_time DOUBLE PRECISION NOT NULL,
        start_time DOUBLE PRECISION NOT NULL,
        end_time DOUBLE PRECISION NOT NULL,
        cascade_depth BIGINT NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX jobs_pgrp_label ON jobs (pgrp, label);
    CREATE INDEX jobs_pid ON jobs (pid);
    CREATE TABLE work (
        job_id BIGINT NOT NULL,
        idx BIGINT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        retries BIGINT NOT NULL,
        attempts BIGINT NOT NULL,
        subjob_id BIGINT NOT NULL,
        host TEXT NOT NULL,
        exit_code BIGINT NOT NULL,
        start_time DOUBLE PRECISION NOT NULL,
        end_time DOUBLE PRECISION NOT NULL,
        message TEXT NOT NULL,
        lease_id TEXT NOT NULL,
        PRIMARY KEY (job_id, idx)
    );
    CREATE TABLE subjobs (
        job_id BIGINT NOT NULL,
        id BIGINT NOT NULL,
        status TEXT NOT NULL,
        host TEXT NOT NULL,
        start_time DOUBLE PRECISION NOT NULL,
        ran_failure BIGINT NOT NULL,
        PRIMARY KEY (job_id, id)
    );
    CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        time DOUBLE PRECISION NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        job_id BIGINT NOT NULL,
        pgrp BIGINT NOT NULL,
        label TEXT NOT NULL,
        "user" TEXT NOT NULL,
        subjob_id BIGINT NOT NULL,
        work_name TEXT NOT NULL,
        host TEXT NOT NULL,
        status TEXT NOT NULL,
        previous_status TEXT NOT NULL,
        message TEXT NOT NULL,
        callback_run_id BIGINT NOT NULL
    );
    CREATE INDEX events_job ON events (job_id, seq);
    CREATE TABLE submissions (
        request_id TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        job_ids TEXT NOT NULL,
        pgrp BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        time DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE callbacks (
        id BIGINT PRIMARY KEY,
        job_id BIGINT NOT NULL,
        spec TEXT NOT NULL,
        from_dependency BIGINT NOT NULL,
        fired BIGINT NOT NULL,
        state TEXT NOT NULL,
        registered_seq BIGINT NOT NULL
    );
    CREATE INDEX callbacks_job ON callbacks (job_id);
    CREATE TABLE callback_runs (
        id BIGINT PRIMARY KEY,
        callback_id BIGINT NOT NULL,
        job_id BIGINT NOT NULL,
        triggers TEXT NOT NULL,
        binding TEXT NOT NULL,
        event_seq BIGINT NOT NULL,
        due_time DOUBLE PRECISION NOT NULL,
        done BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        start_time DOUBLE PRECISION NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL,
        output TEXT NOT NULL,
        error TEXT NOT NULL,
        error_line BIGINT NOT NULL,
        delay_seconds DOUBLE PRECISION NOT NULL,
        depth BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX callback_runs_job ON callback_runs (job_id, id);
    CREATE INDEX callback_runs_callback ON callback_runs (callback_id, id);
    CREATE INDEX callback_runs_pending ON callback_runs (done) WHERE done = 0;
    CREATE TABLE staged_jobs (id BIGINT PRIMARY KEY);
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        locked BIGINT NOT NULL,
        lock_reason TEXT NOT NULL,
        registered DOUBLE PRECISION NOT NULL,
        last_heartbeat DOUBLE PRECISION NOT NULL
    );
    """,
    # 2: the lease of the leading supervisor (server/leadership.py). One row; ``epoch`` grows
    # at each takeover and every write checks it (the fence), so a deposed leader commits
    # nothing. Times are the server's clock, the one clock every supervisor shares.
    """
    CREATE TABLE latchwork_leader (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        epoch BIGINT NOT NULL,
        holder TEXT NOT NULL,
        address TEXT NOT NULL,
        lease_until TIMESTAMPTZ NOT NULL,
        holder_locked BOOLEAN NOT NULL
    );
    INSERT INTO latchwork_leader (id, epoch, holder, address, lease_until, holder_locked)
        VALUES (1, 0, '', '', '-infinity', FALSE)
    """,
    # 3: SQLite's migration 7: which jobs' events can latch each callback (job 0: a clock or
    # the whole farm, and every callback stored before; server/dormant_callbacks.py).
    """
    CREATE TABLE callback_watches (
        job_id BIGINT NOT NULL,
        callback_id BIGINT NOT NULL,
        owner_id BIGINT NOT NULL,
        PRIMARY KEY (job_id, callback_id)
    );
    INSERT INTO callback_watches (job_id, callback_id, owner_id)
        SELECT 0, id, job_id FROM callbacks
    """,
    # 4: SQLite's migration 8: finished jobs listed by user or by name are filtered in SQL.
    """
    CREATE INDEX jobs_user ON jobs ("user", id);
    ALTER TABLE jobs ADD COLUMN name TEXT NOT NULL DEFAULT '';
    UPDATE jobs SET name = COALESCE(spec::json ->> 'name', '')
    """,
]

#: The tables of the schema, in the order a copy writes them (:mod:`.copying`).
TABLES = (
    "jobs",
    "work",
    "subjobs",
    "events",
    "submissions",
    "meta",
    "callbacks",
    "callback_watches",
    "callback_runs",
    "staged_jobs",
    "hosts",
)
