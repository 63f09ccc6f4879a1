"""Which of several supervisors sharing one PostgreSQL database leads: a lease with fencing.

Several ``latchwork serve`` may run against one database; exactly one may write to it. The
others are hot standbys that wait to take over. Three parts make that safe and quick:

- **The lease.** One row, ``latchwork_leader``: the leader's epoch, who holds it, the address
  clients should use and ``lease_until``, all in the database server's clock (the one clock
  every supervisor shares, so no two hosts' clocks need agree). The leader renews it every
  :attr:`Leadership.renew_every` seconds; a standby takes over a lease that has run out by
  raising the epoch.
- **The fence.** Every write transaction of the leader's store first checks, under a share
  lock on that row, that its epoch still leads (``store/postgres_connection.py``). A leader
  that was stopped (``SIGSTOP``, a hung VM) past its lease and comes back finds the new epoch
  in its very next write and commits nothing: it stops (:class:`~.store.errors.Deposed`).
- **The session lock.** The leader also holds a session-level advisory lock on its own
  connection (and says so in the row, ``holder_locked``). PostgreSQL releases it the moment
  that connection ends, which is when the leader's process dies: a standby that can take the
  lock while the row says the leader holds it need not wait for the lease to run out. A
  leader that is merely stopped keeps its connection and its lock, so the lease is what
  deposes it; a standby that took the lock but not the lead lets it go at once, for the
  leader to take. Safety never rests on the lock: only the epoch is checked by writes.

Like Kubernetes' leader election, a supervisor that loses the lead exits; its service manager
starts it again, and it comes back as a standby.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import psycopg

from .store.postgres_connection import connect, describe
from .store.postgres_errors import one_line

# pg_try_advisory_lock's key for the leader's session: "LWLEADER" as a signed 64-bit integer.
_LEADER_LOCK = int.from_bytes(b"LWLEADER", "big") - 2**63

_TAKE_OVER = """
UPDATE latchwork_leader
   SET epoch = epoch + 1, holder = %(holder)s, address = %(address)s,
       lease_until = clock_timestamp() + make_interval(secs => %(seconds)s),
       holder_locked = %(locked)s
 WHERE id = 1 AND (lease_until < clock_timestamp() OR (%(locked)s AND holder_locked))
RETURNING epoch
"""
_RENEW = """
UPDATE latchwork_leader
   SET lease_until = clock_timestamp() + make_interval(secs => %(seconds)s),
       holder_locked = %(locked)s, address = %(address)s
 WHERE id = 1 AND epoch = %(epoch)s
RETURNING epoch
"""
_RESIGN = """
UPDATE latchwork_leader SET lease_until = '-infinity'
 WHERE id = 1 AND epoch = %(epoch)s
"""
_READ = """
SELECT epoch, holder, address,
       GREATEST(EXTRACT(EPOCH FROM lease_until - clock_timestamp()), -1e9)
  FROM latchwork_leader WHERE id = 1
"""


class LeadershipUnavailable(RuntimeError):
    """The database cannot be reached to take or keep the lead (one line, no password)."""


@dataclass(frozen=True, slots=True)
class Leader:
    """The lease as the database holds it."""

    epoch: int
    holder: str
    address: str
    seconds_left: float
    """Until the lease runs out (negative: it has)."""


def new_holder_id() -> str:
    """A name for this process's claim: its host and pid, and random bits so that a restarted
    process with a reused pid is someone else."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Leadership:
    """One supervisor's claim on the lead, over a connection of its own (not the store's).

    Blocking calls, short (one statement each): app.py runs them from the event loop between
    its waits, as it does the store's.
    """

    def __init__(
        self,
        url: str,
        address: str,
        *,
        lease_seconds: float = 5.0,
        holder: str | None = None,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be > 0")
        self.url = url
        self.address = address
        """Where clients reach this supervisor; a change is published at the next renewal."""
        self.lease_seconds = lease_seconds
        self.holder = holder or new_holder_id()
        self.epoch = 0
        """The epoch this supervisor leads with (0: it does not lead)."""
        self._conn: psycopg.Connection[Any] | None = None
        self._locked = False

    @property
    def renew_every(self) -> float:
        """How often a leader renews: three chances before its lease runs out."""
        return self.lease_seconds / 3

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._locked = False  # a new session holds no lock
            try:
                self._conn = connect(self.url)
            except psycopg.Error as error:
                raise LeadershipUnavailable(
                    f"{describe(self.url)} cannot be reached ({one_line(error)})"
                ) from None
        return self._conn

    def _execute(self, sql: str, params: dict[str, Any]) -> Any:
        try:
            return self._connection().execute(sql, params).fetchone()
        except psycopg.Error as error:
            if self._conn is not None:
                self._conn.close()
            raise LeadershipUnavailable(f"{describe(self.url)}: {one_line(error)}") from None

    def try_to_lead(self) -> bool:
        """Take the lead if nobody holds it: the lease ran out, or its holder's session is
        gone (its advisory lock could be taken). True when this supervisor now leads."""
        if self.epoch:
            return self.renew()
        self._take_lock()
        row = self._execute(
            _TAKE_OVER,
            {
                "holder": self.holder,
                "address": self.address,
                "seconds": self.lease_seconds,
                "locked": self._locked,
            },
        )
        if row is None:
            if self._locked:  # the leader lives without its lock: it may take it back
                self._execute("SELECT pg_advisory_unlock(%(key)s)", {"key": _LEADER_LOCK})
                self._locked = False
            return False
        self.epoch = int(row[0])
        return True

    def _take_lock(self) -> None:
        if not self._locked:
            row = self._execute("SELECT pg_try_advisory_lock(%(key)s)", {"key": _LEADER_LOCK})
            self._locked = bool(row and row[0])

    def renew(self) -> bool:
        """Extend the lease; False when another supervisor has taken over (this one must stop:
        its writes are refused already)."""
        if not self.epoch:
            return False
        self._take_lock()  # (a stopped leader's lease taken over: its lock, once it goes)
        row = self._execute(
            _RENEW,
            {
                "epoch": self.epoch,
                "seconds": self.lease_seconds,
                "locked": self._locked,
                "address": self.address,
            },
        )
        if row is None:
            self.epoch = 0
            return False
        return True

    def leader(self) -> Leader:
        """Who leads now, as the database says."""
        row = self._execute(_READ, {})
        return Leader(int(row[0]), str(row[1]), str(row[2]), float(row[3]))

    def resign(self) -> None:
        """Let the lease go at once (a clean shutdown), so a standby need not wait it out."""
        if self.epoch:
            with contextlib.suppress(LeadershipUnavailable):  # else it runs out by itself
                self._execute(_RESIGN, {"epoch": self.epoch})
            self.epoch = 0

    def close(self) -> None:
        """Close the session (which releases its advisory lock)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._locked = False
