"""The VTN's store on SQLite: :class:`SqliteStore` (the default, one file) and :class:`MemoryStore` (the same
code on an in-memory database, for unit tests: same semantics, nothing on disk). The interface, its rows and
its errors are in :mod:`transactive.services.store`; the statements it shares with the PostgreSQL store are
in :mod:`transactive.services.sql_rows`.

Durability: :class:`SqliteStore` runs in WAL mode with ``synchronous=FULL``; a transaction is ``BEGIN
IMMEDIATE`` ... ``COMMIT`` and a transaction inside another a savepoint, so whatever a VEN saw acknowledged
survives a crash of the VTN process or of the machine. The schema is versioned (``PRAGMA user_version`` =
:data:`SCHEMA_VERSION`); an older file is migrated in one transaction, a newer one is refused. Additive tables
that older code never reads (``meta``) are created when missing without a new version.

Faults: sqlite3's errors are mapped where they enter (:func:`_mapped`): the storage failing is
:class:`~transactive.services.store.StoreUnavailableError`, with the failed transaction rolled back (also when
SQLite already rolled it back itself); every other sqlite3 error is a plain
:class:`~transactive.services.store.StoreError`. :meth:`SqliteStore.probe` makes one small durable write, to
learn whether writes work again.

Start-up support (what ``transactive vtn serve`` checks before it serves, :mod:`transactive.vtn.startup`):
``SqliteStore(path, read_only=True)`` opens the file without writing anything (``mode=ro``; ``immutable``
when the WAL is missing, so that not even an empty WAL is created); :meth:`SqliteStore.quick_check`;
the shutdown marker in ``meta`` (:meth:`~SqliteStore.mark_running` when a writer starts, with a checkpoint so
that the main file holds it, :meth:`~SqliteStore.mark_clean` when it stops), which tells an unclean shutdown
from a clean one; and the anchored and known transaction ids in id order, to compare with the ledger.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transactive.services.sql_rows import OBJ, TX, SqlRows
from transactive.services.store import (
    OadrObject,
    StoreError,
    StoreUnavailableError,
    TransactionRow,
)

__all__ = ["CLEAN", "RUNNING", "SCHEMA_VERSION", "MemoryStore", "SqliteStore"]

SCHEMA_VERSION = 3

#: sqlite3 primary result codes that mean the storage failed (not the statement or the data)
_UNAVAILABLE = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_NOLFS,
})


def _storage_failed(exc: sqlite3.Error) -> bool:
    """Is ``exc`` the storage failing (disk full, I/O, locked, damaged) rather than a statement or a bug?"""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _UNAVAILABLE


def _mapped(what: str, exc: sqlite3.Error) -> StoreError:
    """The store's error for a sqlite3 error (see the module docstring)."""
    if _storage_failed(exc):
        return StoreUnavailableError(f"{what}: {exc}")
    if isinstance(exc, sqlite3.IntegrityError):
        return StoreError(f"constraint violated: {exc}")
    return StoreError(f"{what}: {exc}")


# ---- SQLite --------------------------------------------------------------------------------------

#: the OpenADR 2.0b services' objects, report values and signature nonces (schema 3)
_OADR_SCHEMA = """
CREATE TABLE oadr_objects (kind TEXT NOT NULL, key TEXT NOT NULL, ven_id TEXT, document TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (kind, key));
CREATE INDEX oadr_objects_ven ON oadr_objects(kind, ven_id);
CREATE TABLE oadr_report_values (seq INTEGER PRIMARY KEY AUTOINCREMENT, ven_id TEXT NOT NULL,
    report_request_id TEXT NOT NULL, r_id TEXT NOT NULL, start TEXT, duration REAL, value TEXT NOT NULL,
    received_at TEXT NOT NULL);
CREATE INDEX oadr_report_values_ven ON oadr_report_values(ven_id, seq);
CREATE TABLE oadr_nonces (nonce TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
CREATE INDEX oadr_nonces_seen ON oadr_nonces(seen_at)"""

_SCHEMA = """
CREATE TABLE registrations (registration_id TEXT PRIMARY KEY, party_id TEXT NOT NULL, token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, cancelled_at TEXT);
CREATE INDEX registrations_party ON registrations(party_id);
CREATE TABLE replies (party_id TEXT NOT NULL, request_id TEXT NOT NULL, digest TEXT NOT NULL, reply TEXT NOT NULL,
    PRIMARY KEY (party_id, request_id));
CREATE TABLE tender_documents (party_id TEXT NOT NULL, tender_id TEXT NOT NULL, digest TEXT NOT NULL,
    document TEXT NOT NULL, PRIMARY KEY (party_id, tender_id));
CREATE TABLE tenders (order_no INTEGER PRIMARY KEY AUTOINCREMENT, party_id TEXT NOT NULL, tender_id TEXT NOT NULL,
    seq INTEGER NOT NULL, interval_start TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
    quantity TEXT NOT NULL, status TEXT NOT NULL, accepted_at TEXT NOT NULL, filled TEXT NOT NULL,
    UNIQUE (party_id, tender_id, seq));
CREATE INDEX tenders_interval ON tenders(interval_start, status);
CREATE TABLE transactions (transaction_id TEXT PRIMARY KEY, party_id TEXT NOT NULL, counterparty_id TEXT NOT NULL,
    tender_id TEXT NOT NULL, tender_seq INTEGER NOT NULL, side TEXT NOT NULL, interval_start TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL, quantity TEXT NOT NULL, price TEXT NOT NULL, currency TEXT NOT NULL,
    document_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX transactions_party ON transactions(party_id, interval_start);
CREATE TABLE deliveries (transaction_id TEXT PRIMARY KEY, party_id TEXT NOT NULL, quantity TEXT NOT NULL,
    delivery_id TEXT NOT NULL, reported_at TEXT NOT NULL);
CREATE TABLE gates (interval_start TEXT PRIMARY KEY, closed_at TEXT NOT NULL, price TEXT, quantity TEXT NOT NULL,
    grid_import TEXT NOT NULL, grid_export TEXT NOT NULL);
CREATE TABLE settlement_steps (transaction_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, at TEXT NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (transaction_id, seq));
CREATE TABLE party_keys (party_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, key TEXT NOT NULL,
    bound_at TEXT NOT NULL);
"""
_SCHEMA += _OADR_SCHEMA + ";"

#: schema version -> the statements that bring a store of that version to the next one
_MIGRATIONS: dict[int, str] = {
    1: """CREATE TABLE party_keys (party_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, key TEXT NOT NULL,
        bound_at TEXT NOT NULL)""",
    2: _OADR_SCHEMA,
}

#: additive, read by nothing older: created when missing, without a new schema version
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
#: ``meta`` keys: the shutdown marker ("running" while a writer has the store open, "clean" after it closed
#: it) and the time of the last write probe
SHUTDOWN, PROBE = "shutdown", "write_probe"
RUNNING, CLEAN = "running", "clean"


def _ts(value: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order."""
    if value.tzinfo is None:
        raise StoreError("naive datetimes are not stored")
    # YYYY-MM-DDTHH:MM:SS.ffffffZ (isoformat: the same text as strftime, without its locale machinery)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _dt(text: str) -> datetime:
    if text[-1:] != "Z":
        raise StoreError(f"not a stored time: {text!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


class SqliteStore(SqlRows):
    """The default store: one SQLite file (WAL, ``synchronous=FULL``), one writer process.

    ``read_only``: open an existing file without writing anything to it or beside it (for inspection and
    the start-up checks); every write then fails with :class:`StoreUnavailableError`. ``busy_timeout``
    (seconds): how long a write waits while another connection holds the database's write lock.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, busy_timeout: float = 5.0) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._busy_ms = int(busy_timeout * 1000)
        self._depth = 0
        try:
            if read_only:
                self._conn = self._connect_read_only(Path(self.path), busy_timeout)
            else:
                self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                             timeout=busy_timeout)
            try:
                self._conn.execute("PRAGMA foreign_keys = ON")
                if self.path != ":memory:" and not read_only:
                    self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = FULL")
                self._migrate()
            except BaseException:
                self._conn.close()
                raise
        except sqlite3.Error as exc:
            raise _mapped(f"cannot open store {self.path}", exc) from exc

    @staticmethod
    def _connect_read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
        if not path.is_file():
            raise StoreUnavailableError(f"cannot open store {path}: no such file")
        # mode=ro reads the WAL (creating an empty one if missing); without a WAL, immutable=1 reads the
        # main file and creates nothing, so a missing WAL stays visibly missing
        wal = path.with_name(path.name + "-wal")
        uri = path.resolve().as_uri() + ("?mode=ro" if wal.exists() else "?immutable=1")
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=busy_timeout)

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if self.read_only:
            if version != SCHEMA_VERSION:
                raise StoreError(f"store {self.path} has schema version {version}, this code speaks "
                                 f"{SCHEMA_VERSION}" + (" (an empty file)" if version == 0 else ""))
            return
        if version == 0:
            self._conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute(_META)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._conn.execute("COMMIT")
        elif version in _MIGRATIONS:
            self._conn.execute("BEGIN IMMEDIATE")
            while version < SCHEMA_VERSION:
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                version += 1
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._conn.execute("COMMIT")
        elif version != SCHEMA_VERSION:
            raise StoreError(f"store {self.path} has schema version {version}, this code speaks {SCHEMA_VERSION}")
        elif not self._has_meta():
            self._conn.execute(_META)

    def _has_meta(self) -> bool:
        return self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() \
            is not None

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it may, after a full disk or an I/O error)."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    @contextmanager
    def _tx(self) -> Iterator[None]:
        if self._depth:
            # nested: a savepoint, so a failure undoes this block only (the caller decides about the rest)
            if not self._conn.in_transaction:  # never open a transaction of its own inside a lost one
                raise StoreUnavailableError("the transaction was rolled back by the database after a storage error")
            name = f"sp{self._depth}"
            self._exec(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException as exc:
                self._depth -= 1
                self._undo_savepoint(name, exc)
                raise
            self._depth -= 1
            self._exec(f"RELEASE {name}")
            return
        if self.read_only:
            raise StoreUnavailableError(f"store {self.path} is open read-only: nothing is written")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _mapped("cannot begin a transaction", exc) from exc
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()  # a failed COMMIT may leave the transaction open: never let it swallow the next
            raise _mapped("commit failed", exc) from exc

    def _undo_savepoint(self, name: str, exc: BaseException) -> None:
        """Undo a failed savepoint. If the storage failed, SQLite may have rolled back the *whole*
        transaction already: then nothing of the others' writes stands either, and the outer level must
        learn it (a :class:`StoreUnavailableError`, whatever failed first) rather than go on outside a
        transaction."""
        if not self._conn.in_transaction:
            if isinstance(exc, StoreUnavailableError):
                return  # re-raised by the caller
            raise StoreUnavailableError(f"the transaction was rolled back by the database after: {exc}") from exc
        try:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
        except sqlite3.Error as undo:
            raise _mapped("cannot undo a failed request", undo) from exc

    def transaction(self) -> AbstractContextManager[None]:
        return self._tx()

    def _atomic(self) -> AbstractContextManager[None]:
        return nullcontext() if self._depth else self._tx()

    _t = staticmethod(_ts)

    @staticmethod
    def _d(value: Any) -> datetime:
        return _dt(value)

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a query (rows are read inside the mapping: a read can fail too)."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self._conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement for many rows, all or none (in a savepoint: a failing row undoes the rows before it,
        which SQLite's statement rollback alone would keep)."""
        if not rows:
            return
        with self.transaction():
            try:
                self._conn.executemany(sql, rows)
            except sqlite3.Error as exc:
                raise _mapped("store error", exc) from exc

    def close(self) -> None:
        self._conn.close()

    def reader(self) -> SqliteStore | None:
        """A read-only connection of its own to the same file (WAL: readers do not wait for the writer)."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            return None
        return SqliteStore(self.path, read_only=True, busy_timeout=self._busy_ms / 1000)

    # health, shutdown marker, start-up checks
    def probe(self) -> None:
        """One small durable write (the time of the probe in ``meta``), waiting at most 0.2 s for the write
        lock; :class:`StoreUnavailableError` while writes fail."""
        now = _ts(datetime.now(UTC))
        self._exec(f"PRAGMA busy_timeout = {min(self._busy_ms, 200)}")
        try:
            with self.transaction():
                self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (PROBE, now))
        finally:
            self._exec(f"PRAGMA busy_timeout = {self._busy_ms}")

    def shutdown_marker(self) -> str | None:
        """``"running"`` (a writer has it open, or did not close it: an unclean shutdown), ``"clean"``, or
        None (never marked: a new store, or one from before the marker existed)."""
        if not self._has_meta():
            return None
        row = self._one("SELECT value FROM meta WHERE key = ?", (SHUTDOWN,))
        return None if row is None else str(row[0])

    def mark_running(self) -> None:
        """A writer starts: mark the store ``running`` and checkpoint, so that the main file holds the mark
        (a WAL deleted later cannot take it away)."""
        with self.transaction():
            self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SHUTDOWN, RUNNING))
        self._all("PRAGMA wal_checkpoint(TRUNCATE)")

    def mark_clean(self) -> None:
        """The writer stops cleanly (the last write before :meth:`close`)."""
        with self.transaction():
            self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SHUTDOWN, CLEAN))

    def quick_check(self) -> list[str]:
        """What ``PRAGMA quick_check`` finds wrong with the file's structure (empty: nothing). It walks every
        page: b-tree structure, free list, record formats; not index contents, and not a value changed inside
        a well-formed record (SQLite keeps no page checksums)."""
        try:
            rows = self._conn.execute("PRAGMA quick_check(20)").fetchall()
        except sqlite3.DatabaseError as exc:  # too damaged to be walked at all
            return [str(exc)]
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    def anchored_ids(self) -> Iterator[str]:
        """The ids of the transactions the settlement log says are anchored, in id order."""
        yield from self._ids("SELECT DISTINCT transaction_id FROM settlement_steps WHERE event = 'anchor' "
                             "ORDER BY transaction_id")

    def transaction_ids(self) -> Iterator[str]:
        """The ids of every transaction, in id order."""
        yield from self._ids("SELECT transaction_id FROM transactions ORDER BY transaction_id")

    def _ids(self, sql: str) -> Iterator[str]:
        try:
            cursor = self._conn.execute(sql)
            while rows := cursor.fetchmany(4096):
                for (value,) in rows:
                    yield str(value)
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    # the statements whose SQL is SQLite's own (the others: SqlRows)
    def tender_ids(self, party_id: str) -> list[str]:
        rows = self._all("SELECT tender_id FROM tender_documents WHERE party_id = ? ORDER BY rowid", (party_id,))
        return [r[0] for r in rows]

    def transactions_by_id(self, transaction_ids: Iterable[str]) -> dict[str, TransactionRow]:
        ids = list(dict.fromkeys(transaction_ids))
        found: dict[str, TransactionRow] = {}
        for i in range(0, len(ids), 500):  # below SQLite's limit on the parameters of one statement
            chunk = ids[i:i + 500]
            marks = ", ".join("?" * len(chunk))
            for r in self._all(f"SELECT {TX} FROM transactions WHERE transaction_id IN ({marks})", tuple(chunk)):
                found[r[0]] = self._transaction(r)
        return {txid: found[txid] for txid in ids if txid in found}

    def settlement_step_counts(self, transaction_ids: Iterable[str]) -> dict[str, int]:
        counts = dict.fromkeys(transaction_ids, 0)
        ids = list(counts)
        for i in range(0, len(ids), 500):  # below SQLite's limit on the parameters of one statement
            chunk = ids[i:i + 500]
            for txid, n in self._all("SELECT transaction_id, COUNT(*) FROM settlement_steps WHERE transaction_id "
                                     f"IN ({', '.join('?' * len(chunk))}) GROUP BY transaction_id", tuple(chunk)):
                counts[txid] = int(n)
        return counts

    def put_oadr_object(self, obj: OadrObject) -> None:
        self._exec(f"INSERT OR REPLACE INTO oadr_objects ({OBJ}) VALUES (?, ?, ?, ?, ?)",
                   (obj.kind, obj.key, obj.ven_id, obj.document, _ts(obj.updated_at)))

    def delete_oadr_object(self, kind: str, key: str) -> None:
        self._exec("DELETE FROM oadr_objects WHERE kind = ? AND key = ?", (kind, key))

    def oadr_objects(self, kind: str, *, ven_id: str | None = None) -> list[OadrObject]:
        if ven_id is None:
            rows = self._all(f"SELECT {OBJ} FROM oadr_objects WHERE kind = ? ORDER BY key", (kind,))
        else:
            # without INDEXED BY SQLite walks the primary key (kind, key) to save the sort, reading every
            # object of the kind: one VEN's outbox cost a scan of every VEN's (quadratic in registrations)
            rows = self._all(f"SELECT {OBJ} FROM oadr_objects INDEXED BY oadr_objects_ven "
                             "WHERE kind = ? AND ven_id = ? ORDER BY key", (kind, ven_id))
        return [self._object(r) for r in rows]

    def remember_nonce(self, nonce: str, at: datetime, forget_before: datetime) -> bool:
        self._exec("DELETE FROM oadr_nonces WHERE seen_at < ?", (_ts(forget_before),))
        cursor = self._exec("INSERT OR IGNORE INTO oadr_nonces (nonce, seen_at) VALUES (?, ?)", (nonce, _ts(at)))
        return cursor.rowcount == 1


class MemoryStore(SqliteStore):
    """:class:`SqliteStore` on an in-memory database: the same semantics, nothing durable (unit tests)."""

    def __init__(self) -> None:
        super().__init__(":memory:")
