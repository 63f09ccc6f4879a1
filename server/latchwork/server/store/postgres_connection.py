"""Opening a PostgreSQL database for the store, and the connection its statements run on.

Opening refuses, in one line naming the database (its URL without the password) and the
problem, never a traceback: a URL that is not one, a server that cannot be reached or refuses
the login, a database that is not Latchwork's, one written by a newer Latchwork. Then it applies
the schema migrations (:mod:`.pg_migrations`), each in one transaction under an advisory lock,
so that two supervisors starting at once never apply one twice.

One connection, used from the event loop synchronously as the SQLite store does: in
autocommit mode, so that a read holds no transaction open, and every write in an explicit
transaction (``BEGIN`` … ``COMMIT``, :meth:`PgDatabase.transaction`). A commit's writes go as
one string of ``EXECUTE``s of statements prepared on the connection, with their parameters
rendered in by psycopg: one call and one round trip per commit
(:meth:`PgDatabase.batched_transaction`); the rows of one insert go as one statement of
column arrays (:mod:`.pg_row_batches`). Elsewhere psycopg's ``executemany`` sends many rows
in pipeline mode, in one round trip, and one or two rows go as plain statements, which cost
less CPU than entering pipeline mode (psycopg prepares a statement on the server once it has
run it five times).
"""

from __future__ import annotations

import re
import select
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from .database import Unread
from .errors import Deposed, StoreUnusable
from .pg_literals import array_text, literals_apply, render_call
from .pg_migrations import PG_MIGRATIONS
from .pg_row_batches import RowInsert, row_insert
from .postgres_errors import one_line, translate_pg

#: Seconds to wait for the server when the URL does not say (libpq would wait for ever).
CONNECT_TIMEOUT = 10
# Up to this many rows, a statement is sent once per row (see PgDatabase.executemany).
_FEW_ROWS = 8
# pg_advisory_xact_lock's key while migrating: "LATCHWRK" as a 64-bit integer.
_MIGRATION_LOCK = int.from_bytes(b"LATCHWRK", "big") - 2**63
_QUOTED = re.compile(r'"[^"]*"')
_COLUMN_TYPES = (
    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
)
_FENCE = "SELECT 1 FROM latchwork_leader WHERE id = 1 AND epoch = %s FOR SHARE"
_DEPOSED = "latchwork: another supervisor leads"
# The fence as the first statement of a batched transaction (PgDatabase.batched_transaction).
_FENCE_STATEMENT = (
    "DO $fence$ BEGIN IF NOT EXISTS (SELECT 1 FROM latchwork_leader WHERE id = 1 "
    "AND epoch = {epoch} FOR SHARE) THEN RAISE EXCEPTION '" + _DEPOSED + "'; END IF; END $fence$"
)


_UNREAD = Unread()


@dataclass(slots=True)
class RenderedBatch:
    """The statements of a write, rendered for ``connection`` and not yet sent."""

    connection: psycopg.Connection[Any]
    statements: list[str]


class PgSend:
    """A transaction sent (:meth:`PgDatabase.start_send`) whose answer is awaited without
    blocking: the commit queue (server/commit_queue.py) watches :meth:`fileno` on the event
    loop and calls :meth:`poll` when it is readable; :meth:`wait` blocks instead. Any other
    use of the connection first waits for the answer (:meth:`PgDatabase.settle`), then calls
    :attr:`on_settled`: the queue hears of it there, as no more data will come to watch."""

    def __init__(
        self, db: PgDatabase | None, conn: psycopg.Connection[Any] | None, epoch: int | None
    ) -> None:
        self._db = db
        self._conn = conn
        self._epoch = epoch
        self._fileno = conn.pgconn.socket if conn is not None else -1
        self.done = conn is None
        #: The answer's error, typed (:mod:`.errors`); None: stored.
        self.error: BaseException | None = None
        self.on_settled: Callable[[], None] | None = None

    @classmethod
    def answered(cls, error: BaseException | None) -> PgSend:
        """A send that ended before it went out (nothing to send, or a lost connection)."""
        send = cls(None, None, None)
        send.error = error
        return send

    def fileno(self) -> int:
        return self._fileno

    def poll(self) -> bool:
        """Read what has come, without blocking; True once the whole answer is in."""
        if self.done:
            return True
        assert self._conn is not None
        pgconn = self._conn.pgconn
        error: BaseException | None = None
        try:
            pgconn.consume_input()
            if pgconn.is_busy():
                return False
            while (result := pgconn.get_result()) is not None:
                if result.status == pq.ExecStatus.FATAL_ERROR and error is None:
                    error = psycopg.errors.error_from_result(
                        result, encoding=self._conn.info.encoding
                    )
        except psycopg.Error as lost:  # (the connection: consume_input raises)
            error = lost
        self._end(error)
        return True

    def wait(self) -> None:
        """Block until the whole answer is in."""
        while not self.poll():
            select.select([self._fileno], [], [])

    def _end(self, error: BaseException | None) -> None:
        self.done = True
        db = self._db
        if db is not None and db.in_flight is self:
            db.in_flight = None
        if isinstance(error, psycopg.errors.RaiseException) and (
            error.diag.message_primary == _DEPOSED
        ):
            assert db is not None and self._epoch is not None
            error = db.deposed(self._epoch)
        elif isinstance(error, psycopg.Error):
            error = translate_pg(error)
        self.error = error


def describe(url: str) -> str:
    """The database as a message may name it: ``postgresql://user@host:port/dbname``, never
    the password (a URL that cannot be read is not repeated: it may hold one)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "the store's URL"
    user = f"{params['user']}@" if params.get("user") else ""
    host = str(params.get("host", ""))
    port = f":{params['port']}" if params.get("port") else ""
    where = host if not host.startswith("/") else f"[{host}]"
    return f"postgresql://{user}{where}{port}/{params.get('dbname', '')}"


def connect(url: str, durability: str = "normal") -> psycopg.Connection[Any]:
    """A new connection to ``url`` in autocommit mode (psycopg's errors raised as they are);
    ``durability = "full"``: every commit flushed by the server before it answers."""
    params = conninfo_to_dict(url)
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = CONNECT_TIMEOUT
    conn = psycopg.connect(url, autocommit=True, **extra)
    if durability == "full":
        conn.execute("SET synchronous_commit = on")
    return conn


def open_database(url: str, durability: str) -> PgDatabase:
    """The database of ``url``, checked and migrated (``StoreUnusable`` when it cannot be)."""
    name = describe(url)
    try:
        conninfo_to_dict(url)
    except psycopg.Error as error:
        # libpq quotes the part it could not read, which may be the password: not repeated.
        problem = _QUOTED.sub('"…"', one_line(error))
        raise StoreUnusable(f"{name} is not a valid PostgreSQL URL ({problem})") from None
    try:
        conn = connect(url, durability)
    except psycopg.Error as error:
        raise StoreUnusable(f"{name} cannot be reached ({one_line(error)})") from None
    try:
        migrate(conn, name)
    except psycopg.Error as error:
        conn.close()
        raise StoreUnusable(f"{name} cannot be opened ({one_line(error)})") from None
    except BaseException:
        conn.close()
        raise
    return PgDatabase(url, durability, conn)


def prepare_database(url: str) -> None:
    """Check and migrate the database of ``url`` and close it: what a standby does before it
    waits for the lead (the migrations lock out each other; they write nothing a leader of
    the same version would not)."""
    open_database(url, "normal").close()


def schema_version(conn: psycopg.Connection[Any], tables: set[str] | None = None) -> int:
    """The last migration applied (0: none; the table is not there yet)."""
    if "latchwork_schema" not in (_tables(conn) if tables is None else tables):
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM latchwork_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection[Any], name: str) -> None:
    """Refuse a foreign or newer database, then apply the migrations it lacks, each in one
    transaction. Both under the migration lock, so that what is read is what another
    supervisor starting at the same moment has committed in full."""
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            tables = _tables(conn)
            version = schema_version(conn, tables)
            _refuse_foreign_or_newer(tables, version, name)
            if version >= len(PG_MIGRATIONS):
                return
            if version == 0:
                conn.execute("CREATE TABLE latchwork_schema (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO latchwork_schema (version) VALUES (0)")
            for statement in PG_MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement.encode())
            conn.execute("UPDATE latchwork_schema SET version = %s", (version + 1,))


def _tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {str(row[0]) for row in rows}


def _refuse_foreign_or_newer(tables: set[str], version: int, name: str) -> None:
    """A database written by a newer Latchwork, or holding another program's tables, is left
    as it is."""
    if (version == 0 and tables - {"latchwork_schema"}) or (
        version > 0 and not {"jobs", "events"} <= tables
    ):
        raise StoreUnusable(
            f"{name} is not a Latchwork database (it holds tables that are not Latchwork's)"
        )
    if version > len(PG_MIGRATIONS):
        raise StoreUnusable(
            f"{name} was written by a newer version of Latchwork (schema version "
            f"{version}, newer than this Latchwork's {len(PG_MIGRATIONS)}); upgrade Latchwork"
        )


class PgDatabase:
    """The store's :class:`~.database.Database` on PostgreSQL: its ``?`` parameters become
    psycopg's ``%s``; a connection lost between two operations is opened again (once the
    store is closed, it is not)."""

    def __init__(self, url: str, durability: str, conn: psycopg.Connection[Any]) -> None:
        self._url = url
        self._durability = durability
        self._conn = conn
        self._closed = False
        self._sql: dict[str, str] = {}
        self._batch: list[str] | None = None
        """While a batched transaction collects its statements (rendered, one string each)."""
        self._renderer: psycopg.ClientCursor[Any] | None = None
        self._prepared: dict[str, tuple[str, str]] = {}
        """Each statement prepared on the renderer's connection: its ``EXECUTE`` without the
        parameters, and with them as psycopg's placeholders."""
        self._unnest: dict[str, str] = {}
        """Each batched insert's statement for rows as column arrays (:mod:`.pg_row_batches`)."""
        self._literals = False
        """Whether :mod:`.pg_literals` renders as psycopg would on the renderer's connection."""
        self.fence_epoch: int | None = None
        """Set by a leading supervisor (server/leadership.py): every write checks it."""
        self.on_deposed: Callable[[], None] | None = None
        """Called when a write finds another supervisor leads (before ``Deposed`` is raised)."""
        self.in_flight: PgSend | None = None
        """A transaction sent by :meth:`start_send` and not answered yet."""

    def deposed(self, epoch: int) -> Deposed:
        """A write found that ``epoch`` no longer leads: ``on_deposed`` is told, and the error
        to raise is returned."""
        if self.on_deposed is not None:
            self.on_deposed()
        return Deposed(f"epoch {epoch} no longer leads {describe(self._url)}")

    def _live(self) -> psycopg.Connection[Any]:
        if self.in_flight is not None:
            self.settle()
        if self._conn.closed:  # lost (a server restart): open it again, outside any transaction
            if self._closed:
                raise psycopg.InterfaceError("the store is closed")
            self._conn = connect(self._url, self._durability)
        return self._conn

    def _pg(self, sql: str) -> str:
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = sql.replace("?", "%s")
        return text

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any] | Unread:
        if self._batch is not None:
            self._batch.append(self._render(sql, parameters))
            return _UNREAD
        return self._live().execute(self._pg(sql), parameters or None)

    def _render(self, sql: str, parameters: Sequence[Any]) -> str:
        """``sql`` with ``parameters`` as an ``EXECUTE`` of the statement prepared for it on
        this connection (prepared at its first use): the server plans it once, and the
        parameters go as literals, rendered as psycopg renders them (:mod:`.pg_literals`,
        or psycopg itself for a kind of value that module leaves to it)."""
        assert self._renderer is not None
        call = self._prepared.get(sql)
        if call is None:
            if self.in_flight is not None:
                self.settle()
            name = f"lw_{len(self._prepared)}"
            numbered = iter(range(1, sql.count("?") + 1))
            text = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)
            self._renderer.connection.execute(f"PREPARE {name} AS {text}")
            args = ", ".join(["%s"] * sql.count("?"))
            template = f"EXECUTE {name}({args})" if args else f"EXECUTE {name}"
            call = self._prepared[sql] = (f"EXECUTE {name}", template)
        if self._literals:
            rendered = render_call(call[0], parameters)
            if rendered is not None:
                return rendered
        return self._renderer.mogrify(call[1], parameters or None)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        rows = list(parameters)
        if not rows:
            return
        if self._batch is not None:
            shape = row_insert(sql) if len(rows) > 1 else None
            if shape is None:
                self._batch.extend(self._render(sql, row) for row in rows)
                return
            for run in shape.runs(rows):  # the rows as column arrays (pg_row_batches)
                arrays = [array_text(col) for col in zip(*run, strict=True)] if len(run) > 1 else []
                if arrays and None not in arrays:
                    self._batch.append(self._render(self._unnest_sql(shape), arrays))
                else:
                    self._batch.extend(self._render(sql, row) for row in run)
            return
        with self._live().cursor() as cursor:
            if len(rows) > _FEW_ROWS:
                cursor.executemany(self._pg(sql), rows)  # pipeline mode: one round trip
            else:  # a commit's usual one or two rows: cheaper than entering pipeline mode
                for row in rows:
                    cursor.execute(self._pg(sql), row)

    def _unnest_sql(self, shape: RowInsert) -> str:
        """The statement of ``shape`` for rows as column arrays; its columns' types are read
        from the catalog on first use (the schema is the migrations', fixed while serving)."""
        sql = self._unnest.get(shape.sql)
        if sql is None:
            if self.in_flight is not None:
                self.settle()
            assert self._renderer is not None
            rows = self._renderer.connection.execute(_COLUMN_TYPES, (shape.table,)).fetchall()
            sql = self._unnest[shape.sql] = shape.unnest_sql(dict(rows))
        return sql

    def transaction(self) -> AbstractContextManager[psycopg.Transaction]:
        if self.fence_epoch is None:
            return self._live().transaction()
        return self._fenced_transaction(self.fence_epoch)

    @contextmanager
    def _fenced_transaction(self, epoch: int) -> Iterator[psycopg.Transaction]:
        """A write transaction that first checks, under a share lock on the leader's row,
        that this supervisor's epoch still leads: a takeover (which updates that row) waits
        for the transaction, and every transaction after it finds the new epoch and
        writes nothing."""
        conn = self._live()
        with conn.transaction() as transaction:
            if conn.execute(_FENCE, (epoch,)).fetchone() is None:
                raise self.deposed(epoch)
            yield transaction

    @contextmanager
    def batched_transaction(self) -> Iterator[None]:
        """A write transaction sent as one string: an ``EXECUTE`` of a prepared statement
        (:meth:`_render`) per statement of the block, the parameters rendered in by psycopg
        (client-side binding, as ``ClientCursor`` does). One call and one round trip for the
        whole commit; psycopg's pipeline mode, before, cost a turn of its Python per
        statement, about 28 per commit of a worker's reports and leases, and sending the
        statements as text made the server plan each again (both measured, docs/
        benchmarks.md, farm throughput on PostgreSQL). PostgreSQL runs a string of several
        statements as one transaction: all of them or none. The fence is its first statement,
        and it raises when another supervisor leads, so a deposed supervisor writes nothing.

        Not for a block that reads what it wrote (a rowcount, a result) before it ends: such a
        read raises, before anything is sent."""
        batch = RenderedBatch(self._live(), [])
        with self.rendering(batch):
            yield
        self.send([batch])

    @contextmanager
    def rendering(self, batch: RenderedBatch) -> Iterator[None]:
        """Collect the statements of the block into ``batch``, rendered, and send nothing:
        :meth:`send` or :meth:`start_send` (the commit queue's, server/commit_queue.py) sends
        them later. Rendering may prepare a statement on the connection at its first use."""
        conn = batch.connection
        if self._renderer is None or self._renderer.closed or self._renderer.connection is not conn:
            self._renderer = psycopg.ClientCursor(conn)
            self._prepared = {}  # (a new connection: nothing prepared on it yet)
            self._literals = literals_apply(conn)
        self._batch = batch.statements
        try:
            yield
        finally:
            self._batch = None

    def new_batch(self) -> RenderedBatch:
        """An empty batch for :meth:`rendering`, on the connection in use. While a send is in
        flight, on its connection, without waiting for it: the next write is rendered while
        the last one travels (should that connection be lost, the send of this batch fails
        too, and it is rendered again on a new one)."""
        if self.in_flight is not None:
            return RenderedBatch(self._conn, [])
        return RenderedBatch(self._live(), [])

    def send(self, batches: Sequence[RenderedBatch]) -> None:
        """Run the statements of ``batches`` as one transaction, the leader's fence first:
        all of them or none; waits for the answer and raises its error (typed, :mod:`.errors`).
        The batches must have been rendered for the connection still in use: prepared
        statements live as long as their connection, so after a lost connection they fail
        (as unavailable) and are rendered again on the new one."""
        sent = self.start_send(batches)
        sent.wait()
        if sent.error is not None:
            raise sent.error

    def start_send(self, batches: Sequence[RenderedBatch]) -> PgSend:
        """Send the statements of ``batches`` as one transaction, the leader's fence first,
        without waiting for the answer: the returned :class:`PgSend` reads it. One at a time:
        any other use of the connection, a next send included, first waits for the answer
        (:meth:`settle`). Never raises: a send that could not go out is answered at once."""
        if self.in_flight is not None:
            self.settle()
        statements = [statement for batch in batches for statement in batch.statements]
        if not statements:
            return PgSend.answered(None)
        conn = batches[0].connection
        if conn.closed or any(batch.connection is not conn for batch in batches):
            lost = psycopg.OperationalError("the connection the writes were rendered for was lost")
            return PgSend.answered(translate_pg(lost))
        epoch = self.fence_epoch
        if epoch is not None:
            statements.insert(0, _FENCE_STATEMENT.replace("{epoch}", str(int(epoch))))
        pgconn = conn.pgconn
        try:
            with conn.lock:
                pgconn.send_query(";\n".join(statements).encode())
                while pgconn.flush():  # (non-blocking: what the socket did not take yet)
                    select.select([], [pgconn.socket], [])
        except psycopg.Error as error:
            return PgSend.answered(translate_pg(error))
        send = self.in_flight = PgSend(self, conn, epoch)
        return send

    def settle(self) -> None:
        """Wait for the answer of the transaction in flight (blocking), before another use
        of the connection; its sender hears of it through ``on_settled``."""
        send = self.in_flight
        if send is None:
            return
        send.wait()
        self.in_flight = None
        if send.on_settled is not None:
            send.on_settled()

    def schema_version(self) -> int:
        return schema_version(self._live())

    def close(self) -> None:
        self._closed = True
        self._conn.close()
