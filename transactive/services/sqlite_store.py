"""The VTN's store on SQLite: :class:`SqliteStore` (the default, one file) and :class:`MemoryStore` (the same
code on an in-memory database, for unit tests: same semantics, nothing on disk). The interface, its rows and
its errors are in :mod:`transactive.services.store`.

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
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from transactive.emix.base import Side
from transactive.services.lifecycle import TenderStatus
from transactive.services.store import (
    DeliveryRow,
    GateRow,
    OadrObject,
    PartyKeyRow,
    Registration,
    ReportValueRow,
    SettlementStep,
    Store,
    StoredReply,
    StoreError,
    StoreUnavailableError,
    TenderRow,
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


# the columns each query reads and writes, by name (never by the table's column order)
_REG = "registration_id, party_id, token, created_at, cancelled_at"
_REPLY = "party_id, request_id, digest, reply"
_TDOC = "party_id, tender_id, digest, document"
_TX = ("transaction_id, party_id, counterparty_id, tender_id, tender_seq, side, interval_start, interval_seconds, "
       "quantity, price, currency, document_hash, created_at")
_DLV = "transaction_id, party_id, quantity, delivery_id, reported_at"
_GATE = "interval_start, closed_at, price, quantity, grid_import, grid_export"
_STEP = "transaction_id, seq, event, state, at, snapshot"
_KEY = "party_id, fingerprint, key, bound_at"
_OBJ = "kind, key, ven_id, document, updated_at"
_VALUE = "ven_id, report_request_id, r_id, start, duration, value, received_at"


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


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


class SqliteStore(Store):
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

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Every row of a query (rows are read inside the mapping: a read can fail too)."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
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

    # registrations
    @staticmethod
    def _registration(row: tuple[Any, ...]) -> Registration:
        return Registration(row[0], row[1], row[2], _dt(row[3]), _opt_dt(row[4]))

    def add_registration(self, registration: Registration) -> None:
        r = registration
        self._exec(f"INSERT INTO registrations ({_REG}) VALUES (?, ?, ?, ?, ?)",
                   (r.registration_id, r.party_id, r.token, _ts(r.created_at),
                    _ts(r.cancelled_at) if r.cancelled_at else None))

    def registration_by_token(self, token: str) -> Registration | None:
        row = self._one(f"SELECT {_REG} FROM registrations WHERE token = ?", (token,))
        return None if row is None else self._registration(row)

    def active_registration(self, party_id: str) -> Registration | None:
        row = self._one(f"SELECT {_REG} FROM registrations WHERE party_id = ? AND cancelled_at IS NULL",
                        (party_id,))
        return None if row is None else self._registration(row)

    def cancel_registration(self, registration_id: str, at: datetime) -> None:
        self._exec("UPDATE registrations SET cancelled_at = ? WHERE registration_id = ? AND cancelled_at IS NULL",
                   (_ts(at), registration_id))

    def registered_parties(self) -> list[str]:
        rows = self._all("SELECT DISTINCT party_id FROM registrations WHERE cancelled_at IS NULL ORDER BY party_id")
        return [r[0] for r in rows]

    # party keys
    def party_key(self, party_id: str) -> PartyKeyRow | None:
        r = self._exec(f"SELECT {_KEY} FROM party_keys WHERE party_id = ?", (party_id,)).fetchone()
        return None if r is None else PartyKeyRow(r[0], r[1], r[2], _dt(r[3]))

    def bind_party_key(self, row: PartyKeyRow) -> None:
        self._exec(f"INSERT INTO party_keys ({_KEY}) VALUES (?, ?, ?, ?)",
                   (row.party_id, row.fingerprint, row.key, _ts(row.bound_at)))

    # replies
    def reply_for(self, party_id: str, request_id: str) -> StoredReply | None:
        row = self._one(f"SELECT {_REPLY} FROM replies WHERE party_id = ? AND request_id = ?",
                        (party_id, request_id))
        return None if row is None else StoredReply(*row)

    def put_reply(self, reply: StoredReply) -> None:
        self._exec(f"INSERT INTO replies ({_REPLY}) VALUES (?, ?, ?, ?)",
                   (reply.party_id, reply.request_id, reply.digest, reply.reply))

    # tenders
    def tender_document(self, party_id: str, tender_id: str) -> tuple[str, str] | None:
        row = self._one("SELECT digest, document FROM tender_documents WHERE party_id = ? AND tender_id = ?",
                        (party_id, tender_id))
        return None if row is None else (row[0], row[1])

    def add_tender(self, party_id: str, tender_id: str, digest: str, document: str, rows: list[TenderRow]) -> None:
        self._exec(f"INSERT INTO tender_documents ({_TDOC}) VALUES (?, ?, ?, ?)",
                   (party_id, tender_id, digest, document))
        for r in rows:
            self._exec(
                "INSERT INTO tenders (party_id, tender_id, seq, interval_start, side, price, quantity, status, "
                "accepted_at, filled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.party_id, r.tender_id, r.seq, _ts(r.interval_start), r.side.value, str(r.price), str(r.quantity),
                 r.status.value, _ts(r.accepted_at), str(r.filled)))

    def tenders(self, *, party_id: str | None = None, tender_id: str | None = None,
                interval_start: datetime | None = None, status: TenderStatus | None = None) -> list[TenderRow]:
        where, params = [], []
        for column, value in (("party_id", party_id), ("tender_id", tender_id),
                              ("interval_start", _ts(interval_start) if interval_start else None),
                              ("status", status.value if status else None)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT order_no, party_id, tender_id, seq, interval_start, side, price, quantity, status, " \
              "accepted_at, filled FROM tenders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._all(sql + " ORDER BY order_no", tuple(params))
        return [TenderRow(party_id=r[1], tender_id=r[2], seq=r[3], interval_start=_dt(r[4]), side=Side(r[5]),
                          price=Decimal(r[6]), quantity=Decimal(r[7]), status=TenderStatus(r[8]),
                          accepted_at=_dt(r[9]), filled=Decimal(r[10]), order_no=r[0]) for r in rows]

    def tender_count(self, interval_start: datetime) -> int:
        row = self._one("SELECT count(*) FROM tenders WHERE interval_start = ?", (_ts(interval_start),))
        return int(row[0])

    def tender_ids(self, party_id: str) -> list[str]:
        rows = self._all("SELECT tender_id FROM tender_documents WHERE party_id = ? ORDER BY rowid", (party_id,))
        return [r[0] for r in rows]

    def update_tender(self, row: TenderRow) -> None:
        self._exec("UPDATE tenders SET status = ?, filled = ? WHERE party_id = ? AND tender_id = ? AND seq = ?",
                   (row.status.value, str(row.filled), row.party_id, row.tender_id, row.seq))

    def update_tenders(self, rows: Sequence[TenderRow]) -> None:
        self._many("UPDATE tenders SET status = ?, filled = ? WHERE party_id = ? AND tender_id = ? AND seq = ?",
                   [(r.status.value, str(r.filled), r.party_id, r.tender_id, r.seq) for r in rows])

    # transactions
    @staticmethod
    def _transaction(r: tuple[Any, ...]) -> TransactionRow:
        return TransactionRow(
            transaction_id=r[0], party_id=r[1], counterparty_id=r[2], tender_id=r[3], tender_seq=r[4],
            side=Side(r[5]), interval_start=_dt(r[6]), interval_duration=timedelta(seconds=r[7]),
            quantity=Decimal(r[8]), price=Decimal(r[9]), currency=r[10], document_hash=r[11], created_at=_dt(r[12]))

    def add_transaction(self, row: TransactionRow) -> None:
        r = row
        self._exec(f"INSERT INTO transactions ({_TX}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (r.transaction_id, r.party_id, r.counterparty_id, r.tender_id, r.tender_seq, r.side.value,
                    _ts(r.interval_start), int(r.interval_duration.total_seconds()), str(r.quantity), str(r.price),
                    r.currency, r.document_hash, _ts(r.created_at)))

    def add_transactions(self, rows: Sequence[TransactionRow]) -> None:
        self._many(f"INSERT INTO transactions ({_TX}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(r.transaction_id, r.party_id, r.counterparty_id, r.tender_id, r.tender_seq, r.side.value,
                     _ts(r.interval_start), int(r.interval_duration.total_seconds()), str(r.quantity), str(r.price),
                     r.currency, r.document_hash, _ts(r.created_at)) for r in rows])

    def transactions_by_id(self, transaction_ids: Iterable[str]) -> dict[str, TransactionRow]:
        ids = list(dict.fromkeys(transaction_ids))
        found: dict[str, TransactionRow] = {}
        for i in range(0, len(ids), 500):  # below SQLite's limit on the parameters of one statement
            chunk = ids[i:i + 500]
            marks = ", ".join("?" * len(chunk))
            for r in self._all(f"SELECT {_TX} FROM transactions WHERE transaction_id IN ({marks})", tuple(chunk)):
                found[r[0]] = self._transaction(r)
        return {txid: found[txid] for txid in ids if txid in found}

    def transaction_by_id(self, transaction_id: str) -> TransactionRow | None:
        row = self._one(f"SELECT {_TX} FROM transactions WHERE transaction_id = ?",
                        (transaction_id,))
        return None if row is None else self._transaction(row)

    def transactions(self, *, party_id: str | None = None, interval_start: datetime | None = None,
                     start: datetime | None = None, end: datetime | None = None) -> list[TransactionRow]:
        where, params = [], []
        for clause, value in (("party_id = ?", party_id),
                              ("interval_start = ?", _ts(interval_start) if interval_start else None),
                              ("interval_start >= ?", _ts(start) if start else None),
                              ("interval_start < ?", _ts(end) if end else None)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT {_TX} FROM transactions" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._all(sql + " ORDER BY interval_start, transaction_id", tuple(params))
        return [self._transaction(r) for r in rows]

    # deliveries
    def put_delivery(self, row: DeliveryRow) -> None:
        self._exec(f"INSERT INTO deliveries ({_DLV}) VALUES (?, ?, ?, ?, ?)",
                   (row.transaction_id, row.party_id, str(row.quantity), row.delivery_id, _ts(row.reported_at)))

    def delivery(self, transaction_id: str) -> DeliveryRow | None:
        r = self._one(f"SELECT {_DLV} FROM deliveries WHERE transaction_id = ?", (transaction_id,))
        return None if r is None else DeliveryRow(r[0], r[1], Decimal(r[2]), r[3], _dt(r[4]))

    # gates
    @staticmethod
    def _gate(r: tuple[Any, ...]) -> GateRow:
        return GateRow(_dt(r[0]), _dt(r[1]), None if r[2] is None else Decimal(r[2]), Decimal(r[3]),
                       Decimal(r[4]), Decimal(r[5]))

    def put_gate(self, row: GateRow) -> None:
        self._exec(f"INSERT INTO gates ({_GATE}) VALUES (?, ?, ?, ?, ?, ?)",
                   (_ts(row.interval_start), _ts(row.closed_at), None if row.price is None else str(row.price),
                    str(row.quantity), str(row.grid_import), str(row.grid_export)))

    def gate(self, interval_start: datetime) -> GateRow | None:
        r = self._one(f"SELECT {_GATE} FROM gates WHERE interval_start = ?", (_ts(interval_start),))
        return None if r is None else self._gate(r)

    def gates(self, *, limit: int = 1) -> list[GateRow]:
        rows = self._all(f"SELECT {_GATE} FROM gates WHERE price IS NOT NULL ORDER BY interval_start DESC LIMIT ?",
                         (limit,))
        return [self._gate(r) for r in rows]

    # settlement
    def add_settlement_step(self, step: SettlementStep) -> None:
        self._exec(f"INSERT INTO settlement_steps ({_STEP}) VALUES (?, ?, ?, ?, ?, ?)",
                   (step.transaction_id, step.seq, step.event, step.state, _ts(step.at),
                    json.dumps(step.snapshot, sort_keys=True)))

    def add_settlement_steps(self, steps: Sequence[SettlementStep]) -> None:
        self._many(f"INSERT INTO settlement_steps ({_STEP}) VALUES (?, ?, ?, ?, ?, ?)",
                   [(s.transaction_id, s.seq, s.event, s.state, _ts(s.at), json.dumps(s.snapshot, sort_keys=True))
                    for s in steps])

    def settlement_step_counts(self, transaction_ids: Iterable[str]) -> dict[str, int]:
        counts = dict.fromkeys(transaction_ids, 0)
        ids = list(counts)
        for i in range(0, len(ids), 500):  # below SQLite's limit on the parameters of one statement
            chunk = ids[i:i + 500]
            for txid, n in self._all("SELECT transaction_id, COUNT(*) FROM settlement_steps WHERE transaction_id "
                                     f"IN ({', '.join('?' * len(chunk))}) GROUP BY transaction_id", tuple(chunk)):
                counts[txid] = int(n)
        return counts

    def settlement_steps(self, transaction_id: str) -> list[SettlementStep]:
        rows = self._all(f"SELECT {_STEP} FROM settlement_steps WHERE transaction_id = ? ORDER BY seq",
                         (transaction_id,))
        return [SettlementStep(r[0], r[1], r[2], r[3], _dt(r[4]), json.loads(r[5])) for r in rows]


    # OpenADR 2.0b
    @staticmethod
    def _object(r: tuple[Any, ...]) -> OadrObject:
        return OadrObject(r[0], r[1], r[2], r[3], _dt(r[4]))

    def oadr_object(self, kind: str, key: str) -> OadrObject | None:
        row = self._one(f"SELECT {_OBJ} FROM oadr_objects WHERE kind = ? AND key = ?", (kind, key))
        return None if row is None else self._object(row)

    def put_oadr_object(self, obj: OadrObject) -> None:
        self._exec(f"INSERT OR REPLACE INTO oadr_objects ({_OBJ}) VALUES (?, ?, ?, ?, ?)",
                   (obj.kind, obj.key, obj.ven_id, obj.document, _ts(obj.updated_at)))

    def delete_oadr_object(self, kind: str, key: str) -> None:
        self._exec("DELETE FROM oadr_objects WHERE kind = ? AND key = ?", (kind, key))

    def oadr_objects(self, kind: str, *, ven_id: str | None = None) -> list[OadrObject]:
        if ven_id is None:
            rows = self._all(f"SELECT {_OBJ} FROM oadr_objects WHERE kind = ? ORDER BY key", (kind,))
        else:
            # without INDEXED BY SQLite walks the primary key (kind, key) to save the sort, reading every
            # object of the kind: one VEN's outbox cost a scan of every VEN's (quadratic in registrations)
            rows = self._all(f"SELECT {_OBJ} FROM oadr_objects INDEXED BY oadr_objects_ven "
                             "WHERE kind = ? AND ven_id = ? ORDER BY key", (kind, ven_id))
        return [self._object(r) for r in rows]

    def add_report_values(self, rows: list[ReportValueRow]) -> None:
        try:
            self._conn.executemany(
                f"INSERT INTO oadr_report_values ({_VALUE}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.ven_id, r.report_request_id, r.r_id, None if r.start is None else _ts(r.start),
                  r.duration_seconds, r.value, _ts(r.received_at)) for r in rows])
        except sqlite3.Error as exc:
            raise _mapped("store error", exc) from exc

    def report_values(self, *, ven_id: str | None = None, limit: int | None = None) -> list[ReportValueRow]:
        where, params = ("WHERE ven_id = ?", (ven_id,)) if ven_id is not None else ("", ())
        if limit is None:
            rows = self._all(f"SELECT {_VALUE} FROM oadr_report_values {where} ORDER BY seq", params)
        else:
            rows = self._all(f"SELECT {_VALUE} FROM oadr_report_values {where} ORDER BY seq DESC LIMIT ?",
                             (*params, limit))[::-1]
        return [ReportValueRow(r[0], r[1], r[2], _opt_dt(r[3]), r[4], r[5], _dt(r[6])) for r in rows]

    def report_value_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM oadr_report_values")[0])

    def remember_nonce(self, nonce: str, at: datetime, forget_before: datetime) -> bool:
        self._exec("DELETE FROM oadr_nonces WHERE seen_at < ?", (_ts(forget_before),))
        cursor = self._exec("INSERT OR IGNORE INTO oadr_nonces (nonce, seen_at) VALUES (?, ?)", (nonce, _ts(at)))
        return cursor.rowcount == 1


class MemoryStore(SqliteStore):
    """:class:`SqliteStore` on an in-memory database: the same semantics, nothing durable (unit tests)."""

    def __init__(self) -> None:
        super().__init__(":memory:")
