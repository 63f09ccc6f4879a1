"""Durable storage of jobs, work, subjobs, the event log and submissions (SQLite or PostgreSQL:
:mod:`.opening` chooses, :mod:`.protocol` is what the supervisor holds)."""

from .sqlite import SqliteStore, StoredState

__all__ = ["SqliteStore", "StoredState"]
