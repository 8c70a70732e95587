"""The VTN's store on PostgreSQL: :class:`PgStore`, for several VTN processes on one database, with the
semantics of :class:`~transactive.services.sqlite_store.SqliteStore` (interface, rows and errors:
:mod:`transactive.services.store`; the statements it shares with SQLite: :mod:`transactive.services.sql_rows`,
written with ``?`` placeholders and run here as ``%s``). Needs the extra ``postgresql``; :mod:`transactive.services`
does not import it.

Durability: ``BEGIN`` ... ``COMMIT`` with ``synchronous_commit = on``: once a transaction returned, it is in the
server's WAL on disk. A transaction inside another is a savepoint: its failure undoes only its own writes.

Connections: a pool of 1 to ``pool_max``. The store is used from one thread at a time: an outermost transaction
borrows one connection for all its statements; a read outside a transaction borrows one for that read. A
connection is checked when lent (one broken while the server was away is replaced), and after the server failed
the pool is built anew once the server answers (not after the pool's reconnection back-off).

Several processes: the idempotency keys are unique keys (replies, tenders, transactions, deliveries, gates,
settlement steps, party keys; at most one active registration per party: a partial unique index). When two
processes write one key at once, the second waits for the first's commit, then fails with
:class:`~transactive.services.store.StoreConflictError` (rolled back); the request sent again is answered from
the first's write. :meth:`PgStore.hold_interval` keeps tender acceptance and gate closure of an interval apart.
Notices for other processes go into ``notices`` with a ``pg_notify`` on :data:`NOTICE_CHANNEL`, delivered at
commit; they commit in ``seq`` order (a lock until commit), so a reader past ``seq`` N never finds a smaller one.

Faults (:func:`~transactive.services.pg_schema.mapped_error`): the server unreachable, shut down or restarting,
a lost connection, no connection or lock within ``busy_timeout``, a full disk, a read-only server:
:class:`~transactive.services.store.StoreUnavailableError`; a unique key taken, a serialization failure, a
deadlock: :class:`~transactive.services.store.StoreConflictError`; anything else: a plain
:class:`~transactive.services.store.StoreError` (a bug). The failed transaction is always rolled back.

Schema (:mod:`transactive.services.pg_schema`): versioned in ``schema_migrations``, migrated at start in one
transaction under a session advisory lock (processes starting together apply each version once); a database
newer than the code is refused. Decimals are text (read back as written, scale included), times ``timestamptz``
(read back UTC-aware, to the microsecond); ordered text sorts by bytes (``COLLATE "C"``), as in SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from transactive.services.pg_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    dt,
    mapped_error,
    time_text,
    ts,
    url_for_messages,
)
from transactive.services.sql_rows import OBJ, TX, SqlRows
from transactive.services.store import (
    OadrObject,
    StoreError,
    StoreUnavailableError,
    TransactionRow,
)

__all__ = ["INTERVAL_LOCK_CLASS", "MIGRATIONS", "NOTICE_CHANNEL", "OBJECT_CHANNEL", "SCHEMA_VERSION", "PgStore"]

#: the first key of :meth:`PgStore.hold_interval`'s two-int4 advisory locks ("tx")
INTERVAL_LOCK_CLASS = 0x7478
#: the one-int8 advisory lock held while migrating (PostgreSQL keeps one-int8 and two-int4 keys apart)
_MIGRATION_LOCK = 0x7472_616E_7361_6374  # "transact"
#: the one-int8 advisory lock that keeps notices committing in seq order
_NOTICE_LOCK = 0x7472_616E_736E_6F74  # "transnot"
#: the channel :meth:`PgStore.add_notices` notifies (payload empty: listeners read ``notices_after``)
NOTICE_CHANNEL = "transactive_notices"
#: where a written or deleted OpenADR object is announced (payload: kind, a newline, key)
OBJECT_CHANNEL = "transactive_objects"
#: ``meta`` key of the last write probe
_PROBE = "write_probe"


@lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    """A statement with ``?`` placeholders (as :mod:`.sql_rows` writes them) in psycopg's ``%s`` style."""
    return sql.replace("?", "%s")


class _TxState(threading.local):
    """The open transaction of one thread: its connection and nesting depth (a thread that is not in it
    reads through a connection of its own, and sees committed data only)."""

    conn: psycopg.Connection[Any] | None = None
    depth: int = 0


class PgStore(SqlRows):
    """The store on a PostgreSQL database shared by several VTN processes (see the module docstring):
    ``url`` is libpq's ``postgresql://USER[:PASSWORD]@HOST:PORT/DB``; ``busy_timeout`` (seconds) how long a
    connection or a lock is waited for; ``pool_max`` the most connections it opens."""

    def __init__(self, url: str, *, busy_timeout: float = 5.0, pool_max: int = 4) -> None:
        self.path = url_for_messages(url)
        self._url = url
        self._timeout = busy_timeout
        self._pool_max = max(1, pool_max)
        self._tx_state = _TxState()
        self._rebuild = False  # the server failed: build a new pool once it answers again
        self._reach("cannot open store")
        self._pool = self._new_pool()
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    @property
    def _conn(self) -> psycopg.Connection[Any] | None:
        return self._tx_state.conn

    _t = staticmethod(ts)
    _d = staticmethod(dt)

    # ---- connections ----
    def _new_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        lock_ms = max(1, int(self._timeout * 1000))
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._url, min_size=1, max_size=self._pool_max, open=False, timeout=self._timeout,
            num_workers=1, name=f"transactive {self.path}",
            kwargs={"autocommit": True, "connect_timeout": max(1, int(self._timeout)),
                    # durable at COMMIT whatever the server's default; UTC times; SQLite's busy timeout
                    "options": f"-c synchronous_commit=on -c TimeZone=UTC -c lock_timeout={lock_ms}"})
        try:
            pool.open(wait=True, timeout=self._timeout)
        except (PoolTimeout, psycopg.Error) as exc:
            pool.close(timeout=0)
            raise StoreUnavailableError(f"cannot open store {self.path}: {exc}") from exc
        return pool

    def _reach(self, what: str) -> None:
        """One direct connection: an unreachable server or a missing database fails at once, with its reason."""
        try:
            with psycopg.connect(self._url, connect_timeout=max(1, int(self._timeout))):
                pass
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"{what} {self.path}: {exc}") from exc

    def _server_back(self) -> None:
        """After the server failed: a new pool once it answers."""
        self._reach("no connection to store")
        old, self._pool = self._pool, self._new_pool()
        self._rebuild = False
        old.close(timeout=0)

    def _borrow(self) -> psycopg.Connection[Any]:
        """A working connection. Checked here rather than by the pool, which would wait out its timeout for a
        server that is down: a dead connection sends the store to the server at once (a new pool if it
        answers, :class:`StoreUnavailableError` if not)."""
        for _ in range(2):
            if self._rebuild:
                self._server_back()
            try:
                conn = self._pool.getconn()
            except (PoolTimeout, PoolClosed) as exc:
                self._rebuild = True
                raise StoreUnavailableError(f"store {self.path}: no connection: {exc}") from exc
            try:
                ConnectionPool.check_connection(conn)
                return conn
            except psycopg.Error:
                self._rebuild = True
                self._give_back(conn)
        raise StoreUnavailableError(f"store {self.path}: no working connection")

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        if conn.broken or conn.closed:
            self._rebuild = True
        with suppress(Exception):  # the pool discards a broken connection
            self._pool.putconn(conn)

    def _fail(self, what: str, exc: Exception, conn: psycopg.Connection[Any]) -> StoreError:
        if conn.broken or conn.closed:  # the server went away: a new pool once it is back
            self._rebuild = True
        return mapped_error(what, exc)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The transaction's connection, or one borrowed for a statement outside a transaction."""
        if self._conn is not None:
            yield self._conn
            return
        conn = self._borrow()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; its row count."""
        with self._connection() as conn:
            try:
                return conn.execute(_pg(sql), params).rowcount
            except psycopg.Error as exc:
                raise self._fail("store error", exc, conn) from exc

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            try:
                return conn.execute(_pg(sql), params).fetchall()
            except psycopg.Error as exc:
                raise self._fail("store error", exc, conn) from exc

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._connection() as conn:
            try:
                return conn.execute(_pg(sql), params).fetchone()
            except psycopg.Error as exc:
                raise self._fail("store error", exc, conn) from exc

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement for many rows (pipelined), all or none."""
        if not rows:
            return
        with self._atomic(), self._connection() as conn:
            try:
                with conn.cursor() as cur:
                    cur.executemany(_pg(sql), rows)
            except psycopg.Error as exc:
                raise self._fail("store error", exc, conn) from exc

    # ---- schema ----
    def _migrate(self) -> None:
        conn = self._borrow()
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                with conn.transaction():
                    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, "
                                 "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
                    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
                    current = int(row[0]) if row else 0
                    if current > SCHEMA_VERSION:
                        raise StoreError(f"store {self.path} has schema version {current}, this code speaks "
                                         f"{SCHEMA_VERSION}")
                    for version, statements in MIGRATIONS:
                        if version <= current:
                            continue
                        for statement in statements.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (%s, now())",
                                     (version,))
            finally:
                if not conn.broken:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        except psycopg.Error as exc:
            raise self._fail(f"cannot open store {self.path}", exc, conn) from exc
        finally:
            self._give_back(conn)

    # ---- transactions ----
    def transaction(self) -> AbstractContextManager[None]:
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        if self._conn is not None:
            yield from self._savepoint(self._conn)
            return
        conn = self._borrow()
        try:
            try:
                conn.execute("BEGIN")
            except psycopg.Error as exc:
                raise self._fail("cannot begin a transaction", exc, conn) from exc
            self._tx_state.conn, self._tx_state.depth = conn, 1
            try:
                yield
            except BaseException:
                self._tx_state.conn, self._tx_state.depth = None, 0
                self._rollback(conn)
                raise
            self._tx_state.conn, self._tx_state.depth = None, 0
            if conn.info.transaction_status == TransactionStatus.INERROR:
                # a statement failed and its error was caught inside the block: COMMIT would quietly roll back
                self._rollback(conn)
                raise StoreError("a statement failed inside the transaction (its error was caught): nothing written")
            try:
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                self._rollback(conn)
                raise self._fail("commit failed", exc, conn) from exc
        finally:
            self._tx_state.conn, self._tx_state.depth = None, 0
            self._give_back(conn)

    def _savepoint(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """A nested block: a savepoint, so that a failure undoes this block only."""
        name = f"sp{self._tx_state.depth}"
        self._exec(f"SAVEPOINT {name}")
        self._tx_state.depth += 1
        try:
            yield
        except BaseException as exc:
            self._tx_state.depth -= 1
            self._undo_savepoint(conn, name, exc)
            raise
        self._tx_state.depth -= 1
        self._exec(f"RELEASE SAVEPOINT {name}")

    def _undo_savepoint(self, conn: psycopg.Connection[Any], name: str, exc: BaseException) -> None:
        if conn.broken or conn.closed:
            if isinstance(exc, StoreUnavailableError):
                return  # re-raised by the caller; the outer level rolls back
            raise StoreUnavailableError(f"the connection was lost after: {exc}") from exc
        try:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
        except psycopg.Error as undo:
            raise self._fail("cannot undo a failed request", undo, conn) from exc

    @staticmethod
    def _rollback(conn: psycopg.Connection[Any]) -> None:
        if not conn.broken and not conn.closed:
            with suppress(psycopg.Error):
                conn.execute("ROLLBACK")

    def close(self) -> None:
        self._pool.close()

    def reader(self) -> PgStore:
        """This store: a thread outside the writer's transaction reads through a pooled connection of its own."""
        return self

    def _atomic(self) -> AbstractContextManager[None]:
        """The current transaction (no savepoint: the caller's block decides), or one of its own."""
        return nullcontext() if self._conn is not None else self.transaction()

    # ---- several processes ----
    def hold_interval(self, interval_start: datetime, *, exclusive: bool = False) -> None:
        """Inside a transaction: a transaction-level advisory lock on the interval (class
        :data:`INTERVAL_LOCK_CLASS`, the hash of its time text), shared for tender acceptance, ``exclusive``
        for gate closure; waited for at most ``busy_timeout`` (then :class:`StoreUnavailableError`). PostgreSQL
        queues lock requests: once a gate closure waits, a tender for that interval waits behind it."""
        if self._conn is None:
            raise StoreError("hold_interval needs a transaction")
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        self._exec(f"SELECT {function}(%s, hashtext(%s))", (INTERVAL_LOCK_CLASS, time_text(interval_start)))

    def meta_get(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return None if row is None else str(row[0])

    def meta_put_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value is there; the stored value (the first writer's)."""
        with self._atomic():
            self._exec("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING", (key, value))
            row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        assert row is not None
        return str(row[0])

    def add_notices(self, rows: list[tuple[str, str]]) -> list[int]:
        """Add ``(party_id, document)`` notices in the current transaction (or one of their own) and notify
        :data:`NOTICE_CHANNEL` at its commit; their seqs, in order. Takes a lock until commit (notices commit in
        seq order): call it after :meth:`hold_interval`, never before, so that no two writers wait on each other."""
        if not rows:
            return []
        with self._atomic():
            # seqs commit in order: a later writer waits here until this transaction ends
            self._exec("SELECT pg_advisory_xact_lock(%s)", (_NOTICE_LOCK,))
            found = self._all("INSERT INTO notices (party_id, document) SELECT * FROM unnest(%s::text[], %s::text[]) "
                              "RETURNING seq", ([p for p, _ in rows], [d for _, d in rows]))
            self._exec("SELECT pg_notify(%s, '')", (NOTICE_CHANNEL,))
        # identity values are drawn in the order unnest yields the rows
        return sorted(int(r[0]) for r in found)

    def notices_after(self, seq: int, limit: int = 10000) -> list[tuple[int, str, str]]:
        rows = self._all("SELECT seq, party_id, document FROM notices WHERE seq > %s ORDER BY seq LIMIT %s",
                         (seq, limit))
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def last_notice_seq(self) -> int:
        row = self._one("SELECT coalesce(max(seq), 0) FROM notices")
        return int(row[0]) if row else 0

    def prune_notices(self, before_seq: int) -> int:
        with self._atomic():
            return self._exec("DELETE FROM notices WHERE seq < %s", (before_seq,))

    # ---- health and start-up checks ----
    def probe(self) -> None:
        """One small durable write (the time of the probe in ``meta``), waiting at most 0.2 s for a lock;
        :class:`StoreUnavailableError` while writes fail."""
        with self.transaction():
            self._exec("SET LOCAL lock_timeout = 200")
            self._exec("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                       "SET value = EXCLUDED.value", (_PROBE, time_text(datetime.now(UTC))))

    def anchored_ids(self) -> Iterator[str]:
        """The ids of the transactions the settlement log says are anchored, in id order."""
        yield from self._ids("SELECT DISTINCT transaction_id FROM settlement_steps WHERE event = 'anchor' "
                             "AND transaction_id > %s ORDER BY transaction_id LIMIT 4096")

    def transaction_ids(self) -> Iterator[str]:
        """The ids of every transaction, in id order."""
        yield from self._ids("SELECT transaction_id FROM transactions WHERE transaction_id > %s "
                             "ORDER BY transaction_id LIMIT 4096")

    def _ids(self, sql: str) -> Iterator[str]:
        # pages by key, so that no connection is held while the caller works between pages
        after = ""
        while rows := self._all(sql, (after,)):
            for (value,) in rows:
                yield str(value)
            after = str(rows[-1][0])

    # ---- the statements whose SQL is PostgreSQL's own (the others: SqlRows) ----
    def tender_ids(self, party_id: str) -> list[str]:
        rows = self._all("SELECT tender_id FROM tender_documents WHERE party_id = %s ORDER BY doc_no", (party_id,))
        return [r[0] for r in rows]

    def transactions_by_id(self, transaction_ids: Iterable[str]) -> dict[str, TransactionRow]:
        ids = list(dict.fromkeys(transaction_ids))
        if not ids:
            return {}
        found = {r[0]: self._transaction(r) for r in
                 self._all(f"SELECT {TX} FROM transactions WHERE transaction_id = ANY(%s::text[])", (ids,))}
        return {txid: found[txid] for txid in ids if txid in found}

    def settlement_step_counts(self, transaction_ids: Iterable[str]) -> dict[str, int]:
        counts = dict.fromkeys(transaction_ids, 0)
        if counts:  # one query for all: an array parameter
            for txid, n in self._all("SELECT transaction_id, count(*) FROM settlement_steps "
                                     "WHERE transaction_id = ANY(%s::text[]) GROUP BY transaction_id", (list(counts),)):
                counts[txid] = int(n)
        return counts

    # every write of an object tells the other processes (OBJECT_CHANNEL, "kind\nkey", at commit), in the
    # same statement: they keep copies in memory (transactive.vtn.shared_objects)
    def put_oadr_object(self, obj: OadrObject) -> None:
        self._exec(f"WITH w AS (INSERT INTO oadr_objects ({OBJ}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, key) "
                   "DO UPDATE SET ven_id = EXCLUDED.ven_id, document = EXCLUDED.document, "
                   "updated_at = EXCLUDED.updated_at RETURNING kind, key) "
                   "SELECT pg_notify(%s, w.kind || chr(10) || w.key) FROM w",
                   (obj.kind, obj.key, obj.ven_id, obj.document, ts(obj.updated_at), OBJECT_CHANNEL))

    def delete_oadr_object(self, kind: str, key: str) -> None:
        self._exec("WITH d AS (DELETE FROM oadr_objects WHERE kind = %s AND key = %s RETURNING kind, key) "
                   "SELECT pg_notify(%s, d.kind || chr(10) || d.key) FROM d", (kind, key, OBJECT_CHANNEL))

    def oadr_objects(self, kind: str, *, ven_id: str | None = None) -> list[OadrObject]:
        if ven_id is None:
            rows = self._all(f"SELECT {OBJ} FROM oadr_objects WHERE kind = %s ORDER BY key", (kind,))
        else:
            rows = self._all(f"SELECT {OBJ} FROM oadr_objects WHERE kind = %s AND ven_id = %s ORDER BY key",
                             (kind, ven_id))
        return [self._object(r) for r in rows]

    def remember_nonce(self, nonce: str, at: datetime, forget_before: datetime) -> bool:
        with self._atomic():
            self._exec("DELETE FROM oadr_nonces WHERE seen_at < %s", (ts(forget_before),))
            return self._exec("INSERT INTO oadr_nonces (nonce, seen_at) VALUES (%s, %s) ON CONFLICT (nonce) "
                              "DO NOTHING", (nonce, ts(at))) == 1
