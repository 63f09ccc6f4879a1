"""Durable storage of jobs, work, subjobs, the event log and submissions (SQLite)."""

from .sqlite import SqliteStore, StoredState

__all__ = ["SqliteStore", "StoredState"]
