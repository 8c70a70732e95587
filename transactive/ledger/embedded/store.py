"""The embedded ledger's SQLite file: opening it, reading it (:class:`LedgerReader`), appending to it
(:class:`LedgerStore`, the synchronous writer).

Durability (what guarantees what)
    * Each batch of entries is one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) in WAL mode with
      ``synchronous=FULL``: ``COMMIT`` returns only after the WAL, commit frame included, was fsync'ed.
      So a committed batch survives a process crash (SIGKILL) *and* an OS crash or power loss, as far as
      the disk honours fsync. (``synchronous=NORMAL`` would survive a process crash only: in WAL mode it
      syncs at checkpoints, not commits.) Checkpoints run automatically (every ~1000 WAL pages) inside a
      committing writer and sync the database file before the WAL is reused.
    * :meth:`LedgerStore.append_many` returns only after ``COMMIT`` returned: every entry it reports is
      durable. A crash mid-batch loses the whole uncommitted batch and never leaves a half batch: the chain
      and the signed head stay consistent after recovery.
    * One writer at a time (:class:`~transactive.ledger.embedded.lock.WriterLock`); readers open the file
      read-only, any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from transactive.ledger.embedded.format import (
    BACKEND,
    FORMAT,
    GENESIS,
    SIGNATURE_DOMAIN,
    NewEntry,
    StoredEntry,
    canonical_json,
    entry_preimage,
    head_message,
    timestamp,
    utc_now,
)
from transactive.ledger.embedded.keys import default_key_path, fsync_dir, load_or_create_key, raw_public
from transactive.ledger.embedded.lock import WriterLock
from transactive.ledger.interface import LedgerError, LedgerUnavailableError, UnknownTransactionError
from transactive.ledger.records import EntryKind, LedgerEntry, Receipt, TransactionRecord

__all__ = [
    "COLUMNS",
    "TABLE",
    "LedgerReader",
    "LedgerStore",
    "NotALedgerError",
    "open_readonly",
    "read_meta",
    "readonly_uri",
]

TABLE = "ledger_entries"
#: the columns of :data:`TABLE`, in the order :meth:`StoredEntry.from_row` reads them
COLUMNS = "seq, prev_hash, kind, transaction_id, data, ts, entry_hash, signature"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY,
    prev_hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    data TEXT NOT NULL,
    ts TEXT NOT NULL,
    entry_hash BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_tx ON {TABLE}(transaction_id);
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


class NotALedgerError(LedgerError):
    """The file is missing, not an SQLite database, or has no ledger table."""


# ---- opening ---------------------------------------------------------------------------------------


def readonly_uri(path: Path) -> str:
    """The SQLite URI that opens ``path`` read-only, creating nothing: ``mode=ro`` reads the WAL (and would
    create an empty one if there were none); without a WAL no writer has the file open (a writer's WAL
    exists until it closes), and ``immutable=1`` reads the main file alone."""
    wal = path.with_name(path.name + "-wal")
    return path.resolve().as_uri() + ("?mode=ro" if wal.exists() else "?immutable=1")


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to a ledger file; :class:`NotALedgerError` for anything else."""
    if not path.is_file():
        raise NotALedgerError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise NotALedgerError(f"{path}: cannot open ({exc})") from None
    try:
        _check_is_ledger(conn, path)
    except BaseException:
        conn.close()
        raise
    conn.text_factory = bytes  # a row that is not UTF-8 is reported by the reader, not a crash of sqlite3
    return conn


def _check_is_ledger(conn: sqlite3.Connection, path: Path) -> None:
    try:
        row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise NotALedgerError(f"{path}: not an SQLite database ({exc})") from None
    if not row or not row[0]:
        raise NotALedgerError(f"{path}: not a ledger (no {TABLE} table)")


def read_meta(conn: sqlite3.Connection) -> dict[str, bytes]:
    """``ledger_meta`` as key -> value bytes (keys as text whatever the connection's text factory)."""
    rows = conn.execute("SELECT CAST(key AS BLOB), CAST(value AS BLOB) FROM ledger_meta").fetchall()
    return {bytes(k).decode("utf-8", "replace"): bytes(v) for k, v in rows}


# ---- reading and writing ---------------------------------------------------------------------------


class LedgerReader:
    """Read-only access to a ledger file (no key, no lock): audit trails, single entries, counts."""

    def __init__(self, path: str | os.PathLike[str], *, _conn: sqlite3.Connection | None = None) -> None:
        self.path = Path(path)
        self._conn = _conn if _conn is not None else open_readonly(self.path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def public_key(self) -> bytes | None:
        row = self._conn.execute("SELECT CAST(value AS BLOB) FROM ledger_meta WHERE key='public_key'").fetchone()
        return bytes(row[0]) if row else None

    def count(self) -> int:
        return int(self._conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])

    def transaction_ids(self) -> Iterator[str]:
        """The id of every transaction on the ledger, in id order (each was anchored first: the ledger
        refuses other entries for an id it has no anchor of). An id that is not UTF-8 is decoded with
        ``surrogateescape`` (it matches no valid id)."""
        cursor = self._conn.execute(f"SELECT DISTINCT transaction_id FROM {TABLE} ORDER BY transaction_id")
        while rows := cursor.fetchmany(4096):
            for (value,) in rows:
                yield value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)

    def entry(self, seq: int) -> StoredEntry | None:
        row = self._conn.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE seq=?", (seq,)).fetchone()
        return StoredEntry.from_row(row) if row else None

    def rows(self, transaction_id: str) -> list[StoredEntry]:
        cur = self._conn.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE transaction_id=? ORDER BY seq",
                                 (transaction_id,))
        return [StoredEntry.from_row(r) for r in cur]

    def trail(self, transaction_id: str) -> list[LedgerEntry]:
        """Every entry about one transaction, in ledger order; :class:`UnknownTransactionError` if none."""
        rows = self.rows(transaction_id)
        if not rows:
            raise UnknownTransactionError(f"no entries for transaction {transaction_id!r}")
        return [r.to_entry() for r in rows]

    def anchor_of(self, transaction_id: str) -> LedgerEntry:
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM {TABLE} WHERE transaction_id=? AND kind=? ORDER BY seq LIMIT 1",
            (transaction_id, EntryKind.ANCHOR.value),
        ).fetchone()
        if row is None:
            raise UnknownTransactionError(f"transaction {transaction_id!r} is not anchored")
        return StoredEntry.from_row(row).to_entry()

    def check_receipt(self, record: TransactionRecord, receipt: Receipt) -> bool:
        """The record is on the ledger, unaltered, at the receipt's sequence, linked and signed."""
        public = self.public_key()
        if receipt.backend != BACKEND or receipt.sequence is None or public is None:
            return False
        stored = self.entry(receipt.sequence)
        if stored is None:
            return False
        if (stored.kind != EntryKind.ANCHOR.value or stored.transaction_id != record.transaction_id
                or stored.data != canonical_json(record.as_dict()) or stored.entry_hash.hex() != receipt.entry_hash
                or stored.computed_hash() != stored.entry_hash):
            return False
        if not stored.signature_valid(Ed25519PublicKey.from_public_bytes(public)):
            return False
        previous = self.entry(stored.seq - 1) if stored.seq > 1 else None
        expected_prev = GENESIS if stored.seq == 1 else (previous.entry_hash if previous else None)
        return expected_prev == stored.prev_hash


class LedgerStore(LedgerReader):
    """The synchronous writer: opens (creating if needed) a ledger file and appends batches of entries.

    ``busy_timeout`` is how long (seconds) a write waits for the database when another connection holds its
    write lock (something other than this ledger writing to the file) before it fails with
    :class:`LedgerUnavailableError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, key: Ed25519PrivateKey | None = None,
                 key_path: str | os.PathLike[str] | None = None, now: Callable[[], datetime] | None = None,
                 create: bool = True, busy_timeout: float = 5.0) -> None:
        path = Path(path)
        if not create and not path.is_file():
            raise NotALedgerError(f"{path}: no such file")
        self.now = now or utc_now
        self._busy_ms = int(busy_timeout * 1000)
        self._write_lock = threading.Lock()
        self._writer_lock = WriterLock(path)
        try:
            conn = self._open(path, busy_timeout)
        except BaseException:
            self._writer_lock.release()
            raise
        super().__init__(path, _conn=conn)
        try:
            self._key = key or load_or_create_key(Path(key_path) if key_path else default_key_path(path))
            self._public = raw_public(self._key.public_key())
            self._init_meta()
        except BaseException:
            self.close()
            raise

    # -- opening --

    def _open(self, path: Path, busy_timeout: float) -> sqlite3.Connection:
        existed = path.exists()
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise LedgerUnavailableError(f"{path}: cannot open ({exc})") from None
        try:
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            except sqlite3.DatabaseError as exc:
                raise NotALedgerError(f"{path}: not an SQLite database ({exc})") from None
            if tables and TABLE not in tables:
                raise NotALedgerError(f"{path}: an SQLite database but not a ledger (no {TABLE} table)")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            conn.text_factory = bytes  # see open_readonly
        except BaseException:
            conn.close()
            raise
        if not existed:
            fsync_dir(path.parent)
        return conn

    def _init_meta(self) -> None:
        meta = read_meta(self._conn)
        if "public_key" not in meta:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("INSERT OR IGNORE INTO ledger_meta VALUES ('format', ?)", (FORMAT.encode(),))
            self._conn.execute("INSERT OR IGNORE INTO ledger_meta VALUES ('public_key', ?)", (self._public,))
            self._conn.execute("COMMIT")
        elif bytes(meta["public_key"]) != self._public:
            raise LedgerError(f"{self.path}: this key did not write this ledger (public key differs)")

    def close(self) -> None:
        with self._write_lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._writer_lock.release()

    def probe(self) -> None:
        """One small durable write beside the chain (the time in ``ledger_meta``, key ``write_probe``, which
        verification ignores), waiting at most 0.2 s for the write lock: returns once writes work again,
        :class:`LedgerUnavailableError` while they fail (a full disk, an I/O error, a locked file)."""
        with self._write_lock:
            conn = self._conn
            try:
                conn.execute(f"PRAGMA busy_timeout = {min(self._busy_ms, 200)}")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("INSERT OR REPLACE INTO ledger_meta VALUES ('write_probe', ?)",
                                 (timestamp(utc_now()).encode(),))
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            except sqlite3.Error as exc:
                raise LedgerUnavailableError(f"{self.path}: write failed ({exc})") from None

    @property
    def public_key_bytes(self) -> bytes:
        return self._public

    # -- writing --

    def _anchored(self, transaction_id: str) -> bool:
        return self._conn.execute(
            f"SELECT 1 FROM {TABLE} WHERE transaction_id=? AND kind=? LIMIT 1",
            (transaction_id, EntryKind.ANCHOR.value),
        ).fetchone() is not None

    def append_many(self, items: Sequence[NewEntry]) -> list[StoredEntry | LedgerError]:
        """Append a batch in one durable transaction; one result per item (an error for an item that breaks
        a rule: a second anchor for a transaction, an entry about a transaction never anchored).

        Returns only after the batch committed (see the module docstring: durable before acknowledged).
        """
        if not items:
            return []
        with self._write_lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise LedgerUnavailableError(f"{self.path}: cannot start a write ({exc})") from None
            try:
                tip = conn.execute(f"SELECT seq, entry_hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (int(tip[0]), bytes(tip[1])) if tip else (0, GENESIS)
                new_anchors: set[str] = set()
                rows: list[tuple[int, bytes, str, str, str, str, bytes, bytes]] = []
                results: list[StoredEntry | LedgerError] = []
                sign = self._key.sign
                for item in items:
                    txid = item.transaction_id
                    try:
                        if item.kind is EntryKind.ANCHOR:
                            if txid in new_anchors or self._anchored(txid):
                                raise LedgerError(f"transaction {txid!r} is already anchored")
                        elif txid not in new_anchors and not self._anchored(txid):
                            raise UnknownTransactionError(f"transaction {txid!r} is not anchored")
                        data = canonical_json(item.data)
                        ts = timestamp(self.now())
                    except LedgerError as exc:
                        results.append(exc)
                        continue
                    if item.kind is EntryKind.ANCHOR:
                        new_anchors.add(txid)
                    seq += 1
                    kind = item.kind.value
                    digest = hashlib.sha256(entry_preimage(seq, prev, kind, txid, data, ts)).digest()
                    row = (seq, prev, kind, txid, data, ts, digest, sign(SIGNATURE_DOMAIN + digest))
                    rows.append(row)
                    results.append(StoredEntry(*row))
                    prev = digest
                if rows:
                    conn.executemany(f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
                    head = seq.to_bytes(8, "big", signed=True) + prev + sign(head_message(seq, prev))
                    conn.execute("INSERT OR REPLACE INTO ledger_meta VALUES ('head', ?)", (head,))
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise LedgerUnavailableError(f"{self.path}: write failed ({exc})") from None
                raise
            return results

    def append(self, item: NewEntry) -> StoredEntry:
        (result,) = self.append_many([item])
        if isinstance(result, LedgerError):
            raise result
        return result

