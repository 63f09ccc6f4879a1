"""Read isolation: whose jobs a reader sees (issue 13, item 6), the rule every read applies.

``visibility = "all"`` (the default) lets every user read the whole farm's jobs, as wranglers
and artists on a shared farm expect; ``"own"`` shows an authenticated non-admin user only
their own jobs, their events, callback runs and output. Admins, and everyone in open mode (no
tokens: callers only name themselves), see everything. A job a reader may not see behaves as
one that does not exist. Events that belong to no job (hosts, farm-wide timers) are the farm's,
not a user's, and stay visible.

The API layer (``latchwork.server.api.visibility``) applies this to callers; the callback
runner applies it to a callback's owner, so ``qb.jobinfo`` sees what its owner would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .events import Event
from .model import Job


class Visibility(StrEnum):
    ALL = "all"
    OWN = "own"


@dataclass(frozen=True, slots=True)
class ReadScope:
    """What one reader sees: every job (``user`` None) or the jobs of ``user`` only."""

    user: str | None = None

    @property
    def everything(self) -> bool:
        return self.user is None

    def sees_owner(self, owner: str) -> bool:
        return self.user is None or owner == self.user

    def sees(self, job: Job | None) -> bool:
        """False for a job the reader may not see (and for no job)."""
        return job is not None and self.sees_owner(job.user)

    def sees_event(self, event: Event) -> bool:
        """A job's events go to whoever sees the job; the farm's (no job) to everyone."""
        return event.job_id == 0 or self.sees_owner(event.user)


EVERYTHING = ReadScope()


@dataclass(frozen=True, slots=True)
class ReadPolicy:
    """The configured rule: ``mode``, who the admins are, and whether tokens identify users
    (without them a user name is only a claim, so it cannot scope anything)."""

    mode: Visibility = Visibility.ALL
    admins: frozenset[str] = field(default_factory=frozenset)
    tokens: bool = False

    def scope(self, user: str, *, admin: bool = False) -> ReadScope:
        """What ``user`` sees; ``admin``: their token says they are one (``admin_users`` and
        admin tokens are in :attr:`admins` already)."""
        if self.mode is Visibility.ALL or not self.tokens or admin or user in self.admins:
            return EVERYTHING
        return ReadScope(user)
