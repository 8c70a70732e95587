"""The embedded ledger (the default backend): an append-only, hash-chained, signed SQLite file.

Entries
    Table ``ledger_entries(seq, prev_hash, kind, transaction_id, data, ts, entry_hash, signature)``;
    ``seq`` counts from 1. ``data`` is canonical JSON (sorted keys, no spaces, UTF-8; money and kWh as
    decimal strings), ``ts`` the ledger's clock in UTC ISO 8601 with microseconds. The entry hash is
    SHA-256 over :func:`entry_preimage`: a domain tag, ``seq`` (8 bytes big-endian), the previous entry's
    hash (32 zero bytes for entry 1), then ``kind``, ``transaction_id``, ``data`` and ``ts``, each as a
    4-byte big-endian length and its UTF-8 bytes. The signature is Ed25519 by the writer's key over a
    signature domain tag followed by the entry hash. ``ledger_meta`` holds the format, the writer's public
    key and the *signed head* (last ``seq``, its hash, a signature over both), written in the same
    transaction as the entries, so a removal at the end of the chain is detected too.

Keys
    The writer's Ed25519 key is injected (``key=``) or read from ``FILE.key`` beside the database (PKCS#8
    PEM, created with mode 0600 when missing). The ledger refuses a key whose public key differs from the
    one it was created with. Verification needs only the public key in the file, or a pinned one
    (``public_key=``): pinning is what protects against an attacker who rewrites the whole file with a
    key of their own.

Durability (what guarantees what)
    * Each batch of entries is one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) in WAL mode with
      ``synchronous=FULL``: ``COMMIT`` returns only after the WAL, commit frame included, was fsync'ed.
      So a committed batch survives a process crash (SIGKILL) *and* an OS crash or power loss, as far as
      the disk honours fsync. (``synchronous=NORMAL`` would survive a process crash only: in WAL mode it
      syncs at checkpoints, not commits.) Checkpoints run automatically (every ~1000 WAL pages) inside a
      committing writer and sync the database file before the WAL is reused.
    * Acknowledgements (the ``Receipt`` an async call returns, ``append_many``'s results) are released only
      after ``COMMIT`` returned: every acknowledged entry is durable. A crash mid-batch loses the whole
      uncommitted batch, none of which was acknowledged, and never leaves a half batch: the chain and the
      signed head stay consistent after recovery.
    * One writer at a time: an advisory lock (``FILE.lock``, ``flock``) held while a writer is open; the
      kernel drops it when the process dies. Readers and verification open the file read-only, any time.

Group commit
    :class:`EmbeddedLedger` queues concurrent calls (``anchor``, ``record_delivery``, ...) and a single
    writer task hands everything queued (up to ``max_batch``) to :meth:`LedgerStore.append_many` on the
    ledger's own thread: hashing, signing and one fsync per batch. While a batch commits the next one
    queues, so the fsync cost is shared by all entries of a batch.

Verification
    :func:`verify_file` walks the chain and checks, for every entry, the sequence (no gap), the link to the
    previous hash, the hash of its contents and its signature, then the signed head; it reports the first
    bad entry (altered, removed, reordered, inserted, wrongly signed). Large files are checked in ranges by
    a pool of worker processes: Ed25519 verification is ~93 % of the cost (~9k/s per core here, so 1M
    entries take ~57 s with 2 workers on 2 cores).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from transactive.ledger.interface import (
    Capabilities,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    UnknownTransactionError,
)
from transactive.ledger.records import EntryKind, LedgerEntry, PaymentStatus, Receipt, TransactionRecord

try:  # advisory single-writer lock; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "BACKEND",
    "EmbeddedLedger",
    "LedgerReader",
    "LedgerStore",
    "NewEntry",
    "NotALedgerError",
    "StoredEntry",
    "VerificationReport",
    "canonical_json",
    "entry_hash",
    "entry_preimage",
    "payment_status",
    "verify_file",
]

BACKEND = "embedded"
FORMAT = "transactive-ledger/1"
ENTRY_DOMAIN = b"transactive-ledger/1 entry\n"
SIGNATURE_DOMAIN = b"transactive-ledger/1 signature\n"
HEAD_DOMAIN = b"transactive-ledger/1 head\n"
GENESIS = bytes(32)
TABLE = "ledger_entries"
#: durable signed entries per second with group commit, measured by bench/ledger_bench.py on the project's
#: 2-core machine (1024 concurrent callers; see BENCHMARKS.md): a figure for that machine, not a promise
MEASURED_ENTRIES_PER_S: float | None = 16_000.0

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
_COLUMNS = "seq, prev_hash, kind, transaction_id, data, ts, entry_hash, signature"


class NotALedgerError(LedgerError):
    """The file is missing, not an SQLite database, or has no ledger table."""


# ---- encoding -------------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical_json(data: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text; Decimals and datetimes as strings; no NaN."""
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=_json_default)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"entry data cannot be stored: {exc}") from None


_LEN = struct.Struct(">I")


def entry_preimage(seq: int, prev_hash: bytes, kind: str, transaction_id: str, data: str, ts: str) -> bytes:
    """The exact bytes an entry hash covers (see the module docstring)."""
    k, t, d, s = kind.encode(), transaction_id.encode(), data.encode(), ts.encode()
    return b"".join((ENTRY_DOMAIN, seq.to_bytes(8, "big", signed=True), prev_hash,
                     _LEN.pack(len(k)), k, _LEN.pack(len(t)), t, _LEN.pack(len(d)), d, _LEN.pack(len(s)), s))


def entry_hash(seq: int, prev_hash: bytes, kind: str, transaction_id: str, data: str, ts: str) -> bytes:
    return hashlib.sha256(entry_preimage(seq, prev_hash, kind, transaction_id, data, ts)).digest()


def _head_message(seq: int, digest: bytes) -> bytes:
    return HEAD_DOMAIN + seq.to_bytes(8, "big", signed=True) + digest


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise LedgerError("the ledger clock must return timezone-aware datetimes")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# ---- opening ---------------------------------------------------------------------------------------


def _ro_uri(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise NotALedgerError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(_ro_uri(path), uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise NotALedgerError(f"{path}: cannot open ({exc})") from None
    try:
        _check_is_ledger(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_is_ledger(conn: sqlite3.Connection, path: Path) -> None:
    try:
        row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise NotALedgerError(f"{path}: not an SQLite database ({exc})") from None
    if not row or not row[0]:
        raise NotALedgerError(f"{path}: not a ledger (no {TABLE} table)")


def _load_or_create_key(key_path: Path) -> Ed25519PrivateKey:
    try:
        pem = key_path.read_bytes()
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created concurrently: use that one
            return _load_or_create_key(key_path)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        _fsync_dir(key_path.parent)
        return key
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise LedgerError(f"{key_path}: not an Ed25519 private key")
    return loaded


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# ---- stored entries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to append: the ledger assigns sequence, previous hash and timestamp."""

    kind: EntryKind
    transaction_id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of the ledger, as stored."""

    seq: int
    prev_hash: bytes
    kind: str
    transaction_id: str
    data: str
    ts: str
    entry_hash: bytes
    signature: bytes

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> StoredEntry:
        return cls(int(row[0]), bytes(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]), bytes(row[6]),
                   bytes(row[7]))

    def computed_hash(self) -> bytes:
        return entry_hash(self.seq, self.prev_hash, self.kind, self.transaction_id, self.data, self.ts)

    def signature_valid(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(self.signature, SIGNATURE_DOMAIN + self.entry_hash)
        except InvalidSignature:
            return False
        return True

    def to_entry(self) -> LedgerEntry:
        try:
            kind = EntryKind(self.kind)
        except ValueError:
            raise LedgerError(f"entry {self.seq}: unknown kind {self.kind!r}") from None
        try:
            data = json.loads(self.data)
        except ValueError:
            raise LedgerError(f"entry {self.seq}: data is not JSON") from None
        return LedgerEntry(kind, self.transaction_id, data, self.seq, self.entry_hash.hex(),
                           datetime.fromisoformat(self.ts))

    def receipt(self, public_key: bytes) -> Receipt:
        digest = self.entry_hash.hex()
        return Receipt(BACKEND, digest, self.seq, digest, datetime.fromisoformat(self.ts),
                       {"signature": self.signature.hex(), "public_key": public_key.hex(),
                        "previous_hash": self.prev_hash.hex()})


class LedgerReader:
    """Read-only access to a ledger file (no key, no lock): audit trails, single entries, counts."""

    def __init__(self, path: str | os.PathLike[str], *, _conn: sqlite3.Connection | None = None) -> None:
        self.path = Path(path)
        self._conn = _conn if _conn is not None else _open_readonly(self.path)

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

    def entry(self, seq: int) -> StoredEntry | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE seq=?", (seq,)).fetchone()
        return StoredEntry.from_row(row) if row else None

    def rows(self, transaction_id: str) -> list[StoredEntry]:
        cur = self._conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE transaction_id=? ORDER BY seq",
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
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE transaction_id=? AND kind=? ORDER BY seq LIMIT 1",
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
    """The synchronous writer: opens (creating if needed) a ledger file and appends batches of entries."""

    def __init__(self, path: str | os.PathLike[str], *, key: Ed25519PrivateKey | None = None,
                 key_path: str | os.PathLike[str] | None = None, now: Callable[[], datetime] | None = None,
                 create: bool = True) -> None:
        path = Path(path)
        if not create and not path.is_file():
            raise NotALedgerError(f"{path}: no such file")
        self.now = now or _utc_now
        self._write_lock = threading.Lock()
        self._lock_fd = self._acquire_lock(path)
        try:
            conn = self._open(path)
        except BaseException:
            self._release_lock()
            raise
        super().__init__(path, _conn=conn)
        try:
            self._key = key or _load_or_create_key(Path(key_path) if key_path else path.with_name(path.name + ".key"))
            self._public = _raw_public(self._key.public_key())
            self._init_meta()
        except BaseException:
            self.close()
            raise

    # -- opening --

    @staticmethod
    def _acquire_lock(path: Path) -> int | None:
        if fcntl is None:  # pragma: no cover
            return None
        lock_path = path.with_name(path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerUnavailableError(f"{lock_path}: cannot create the writer lock ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LedgerUnavailableError(f"{path}: another writer has this ledger open") from None
        return fd

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def _open(self, path: Path) -> sqlite3.Connection:
        existed = path.exists()
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
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
        except BaseException:
            conn.close()
            raise
        if not existed:
            _fsync_dir(path.parent)
        return conn

    def _init_meta(self) -> None:
        meta = dict(self._conn.execute("SELECT key, CAST(value AS BLOB) FROM ledger_meta").fetchall())
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
            self._release_lock()

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
                        ts = _timestamp(self.now())
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
                    conn.executemany(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
                    head = seq.to_bytes(8, "big", signed=True) + prev + sign(_head_message(seq, prev))
                    conn.execute("INSERT OR REPLACE INTO ledger_meta VALUES ('head', ?)", (head,))
                conn.execute("COMMIT")
            except BaseException as exc:
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


# ---- verification ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationReport:
    valid: bool
    entries: int
    first_bad: int | None = None
    reason: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``transactive ledger verify --json`` object."""
        return {"valid": self.valid, "entries": self.entries, "first_bad": self.first_bad, "reason": self.reason}


# (count of rows checked, first bad seq or None, reason or None)
_RangeResult = tuple[int, int | None, str | None]


def _verify_range(uri: str, public_key: bytes, lo: int, hi: int) -> _RangeResult:
    """Check entries with lo <= seq < hi, and their link to the entry before lo (runs in worker processes)."""
    key = Ed25519PublicKey.from_public_bytes(public_key)
    verify = key.verify
    sha256 = hashlib.sha256
    conn = sqlite3.connect(uri, uri=True)
    try:
        before = conn.execute(f"SELECT seq, entry_hash FROM {TABLE} WHERE seq < ? ORDER BY seq DESC LIMIT 1",
                              (lo,)).fetchone()
        expected, prev = (int(before[0]) + 1, bytes(before[1])) if before else (1, GENESIS)
        cur = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE seq >= ? AND seq < ? ORDER BY seq", (lo, hi))
        count = 0
        while True:
            rows = cur.fetchmany(4096)
            if not rows:
                break
            for seq, prev_hash, kind, txid, data, ts, digest, signature in rows:
                count += 1
                if seq != expected:
                    if seq > expected:
                        missing = f"entry {expected} is missing" if seq == expected + 1 else (
                            f"entries {expected}..{seq - 1} are missing")
                        return count, expected, f"{missing} (the chain continues at {seq})"
                    return count, seq, f"entry {seq} is out of sequence (expected {expected})"
                if prev_hash != prev:
                    return count, seq, f"entry {seq} does not link to entry {seq - 1} (previous hash differs)"
                if sha256(entry_preimage(seq, prev_hash, kind, txid, data, ts)).digest() != digest:
                    return count, seq, f"entry {seq} was altered (its hash does not match its contents)"
                try:
                    verify(signature, SIGNATURE_DOMAIN + digest)
                except InvalidSignature:
                    return count, seq, f"entry {seq} has an invalid signature"
                expected, prev = seq + 1, bytes(digest)
        return count, None, None
    finally:
        conn.close()


def _ranges(lo: int, hi: int, size: int) -> Iterator[tuple[int, int]]:
    start = lo
    while start < hi:
        yield start, min(hi, start + size)
        start += size


def verify_file(path: str | os.PathLike[str], *, public_key: bytes | None = None, workers: int | None = None,
                chunk: int = 50_000, parallel_threshold: int = 100_000,
                progress: Callable[[int, int], None] | None = None) -> VerificationReport:
    """Walk the whole chain of the ledger at ``path``; report the first bad entry.

    ``public_key`` (raw 32 bytes) pins the writer's key; by default the key stored in the file is used.
    ``workers`` processes check ranges of ``chunk`` entries in parallel once the ledger has at least
    ``parallel_threshold`` entries (default: 2, or 1 on a single core). ``progress(done, total)`` is called
    after each range. Raises :class:`NotALedgerError` for a file that is not a ledger.
    """
    started = time.perf_counter()
    p = Path(path)
    conn = _open_readonly(p)
    try:  # one read transaction: the signed head and the range of entries from the same snapshot
        conn.execute("BEGIN")
        meta = {str(k): bytes(v) for k, v in conn.execute("SELECT key, CAST(value AS BLOB) FROM ledger_meta")}
        total, lo, hi = conn.execute(f"SELECT count(*), min(seq), max(seq) FROM {TABLE}").fetchone()
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise NotALedgerError(f"{p}: not a ledger ({exc})") from None
    finally:
        conn.close()
    total = int(total)

    def report(first_bad: int | None, reason: str | None) -> VerificationReport:
        return VerificationReport(first_bad is None and reason is None, total, first_bad, reason,
                                  time.perf_counter() - started)

    key = public_key if public_key is not None else meta.get("public_key")
    if key is None or len(key) != 32:
        return report(1 if total else None, "the writer's public key is missing from ledger_meta")
    if total == 0:
        if "head" in meta:
            return report(1, "the ledger is empty but its signed head names entries: all were removed")
        return report(None, None)

    uri = _ro_uri(p)
    spans = list(_ranges(int(lo), int(hi) + 1, max(1, chunk)))
    bad: list[tuple[int, str]] = []
    done = 0
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if n_workers > 1 and total >= parallel_threshold and len(spans) > 1:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=context) as pool:
            futures: dict[Future[_RangeResult], int] = {
                pool.submit(_verify_range, uri, key, a, b): a for a, b in spans
            }
            for future in _completed(futures):
                count, first, reason = future.result()
                done += count
                if first is not None and reason is not None:
                    bad.append((first, reason))
                    first_known = min(bad)[0]
                    for other, start in futures.items():
                        if start > first_known:
                            other.cancel()
                if progress is not None:
                    progress(done, total)
    else:
        for a, b in spans:
            count, first, reason = _verify_range(uri, key, a, b)
            done += count
            if progress is not None:
                progress(done, total)
            if first is not None and reason is not None:
                bad.append((first, reason))
                break
    if bad:
        return report(*min(bad))
    return report(*_check_head(meta.get("head"), key, int(hi), uri))


def _completed(futures: dict[Future[_RangeResult], int]) -> Iterator[Future[_RangeResult]]:
    from concurrent.futures import as_completed

    for future in as_completed(futures):
        if not future.cancelled():
            yield future


def _check_head(head: bytes | None, key: bytes, last: int, uri: str) -> tuple[int | None, str | None]:
    """The signed head must name the last entry (a removal at the end of the chain shows here)."""
    if head is None or len(head) != 8 + 32 + 64:
        return last, "the signed head is missing or malformed"
    seq, digest, signature = int.from_bytes(head[:8], "big", signed=True), head[8:40], head[40:]
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, _head_message(seq, digest))
    except InvalidSignature:
        return last, "the signed head has an invalid signature"
    if seq > last:
        missing = f"entry {last + 1} was" if seq == last + 1 else f"entries {last + 1}..{seq} were"
        return last + 1, f"{missing} removed from the end (the signed head names entry {seq})"
    if seq < last:
        return seq + 1, f"entry {seq + 1} is not covered by the signed head (which names entry {seq})"
    conn = sqlite3.connect(uri, uri=True)
    try:
        row = conn.execute(f"SELECT entry_hash FROM {TABLE} WHERE seq=?", (seq,)).fetchone()
    finally:
        conn.close()
    if row is None or bytes(row[0]) != digest:
        return seq, f"entry {seq} differs from the one the signed head names"
    return None, None


# ---- the async facade ------------------------------------------------------------------------------


class EmbeddedLedger(Ledger):
    """The default :class:`Ledger`: an embedded SQLite file with group commit.

    ``key`` injects the writer's Ed25519 key (default: ``FILE.key``, created if missing); ``now`` is the
    ledger clock (timestamps of entries); ``max_batch`` bounds a group commit.
    """

    def __init__(self, path: str | os.PathLike[str], *, key: Ed25519PrivateKey | None = None,
                 key_path: str | os.PathLike[str] | None = None, now: Callable[[], datetime] | None = None,
                 max_batch: int = 4096) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = LedgerStore(path, key=key, key_path=key_path, now=now)
        self.path = self._store.path
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transactive-ledger")
        self._pending: list[tuple[NewEntry, asyncio.Future[StoredEntry]]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self.batches = 0  #: group commits so far (for tests and benchmarks)

    @property
    def store(self) -> LedgerStore:
        return self._store

    @property
    def public_key(self) -> bytes:
        return self._store.public_key_bytes

    # -- plumbing --

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._closed:
            raise LedgerError("the ledger is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def submit(self, item: NewEntry) -> StoredEntry:
        """Queue one entry for the next group commit; returns once its batch committed."""
        if self._closing:
            raise LedgerError("the ledger is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoredEntry] = loop.create_future()
        self._pending.append((item, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write_loop(), name="transactive-ledger-writer")
        self._wake.set()
        return await future

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [(i, f) for i, f in self._pending[: self._max_batch] if not f.done()]
            del self._pending[: self._max_batch]
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._store.append_many, [i for i, _ in batch])
            except Exception as exc:  # the whole batch failed: nothing was written
                error = exc if isinstance(exc, LedgerError) else LedgerUnavailableError(str(exc))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, LedgerError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _receipt(self, item: NewEntry) -> Receipt:
        stored = await self.submit(item)
        return stored.receipt(self._store.public_key_bytes)

    async def _anchor_record(self, transaction_id: str) -> dict[str, Any]:
        entry: LedgerEntry = await self._call(self._store.anchor_of, transaction_id)
        return entry.data

    # -- the Ledger interface --

    async def anchor(self, record: TransactionRecord) -> Receipt:
        return await self._receipt(NewEntry(EntryKind.ANCHOR, record.transaction_id, record.as_dict()))

    async def record_delivery(self, transaction_id: str, party: str, quantity_kwh: Decimal,
                              measured_at: datetime) -> Receipt:
        anchor = await self._anchor_record(transaction_id)
        if party not in (anchor.get("seller"), anchor.get("buyer")):
            raise LedgerError(f"{party!r} is not a party of transaction {transaction_id!r}")
        if quantity_kwh < 0:
            raise LedgerError(f"a meter reading may not be negative: {quantity_kwh}")
        data = {"party": party, "quantity_kwh": str(quantity_kwh), "measured_at": _iso(measured_at)}
        return await self._receipt(NewEntry(EntryKind.DELIVERY, transaction_id, data))

    async def request_payment(self, transaction_id: str, *, amount: Decimal, currency: str, payer: str, payee: str,
                              deadline: datetime) -> Receipt:
        await self._anchor_record(transaction_id)
        if amount < 0:
            raise LedgerError(f"a payment request may not be negative: {amount}")
        data = {"amount": str(amount), "currency": currency, "payer": payer, "payee": payee,
                "deadline": _iso(deadline)}
        return await self._receipt(NewEntry(EntryKind.PAYMENT_REQUEST, transaction_id, data))

    async def confirm_payment(self, transaction_id: str, *, now: datetime, paid: Decimal | None = None,
                              reference: str | None = None) -> PaymentStatus:
        """Record ``paid`` (if given) against the latest payment request; then the status at ``now``:
        paid (in full), underpaid (something but not all), expired (nothing, past the deadline), pending."""
        trail: list[LedgerEntry] = await self._call(self._store.trail, transaction_id)
        request = _latest_request(trail, transaction_id)
        if paid is not None:
            if paid <= 0:
                raise LedgerError(f"a payment must be positive: {paid}")
            data = {"amount": str(paid), "currency": request.data.get("currency"), "reference": reference,
                    "at": _iso(now)}
            await self.submit(NewEntry(EntryKind.PAYMENT, transaction_id, data))
            trail = await self._call(self._store.trail, transaction_id)
            request = _latest_request(trail, transaction_id)
        return payment_status(trail, request, now)

    async def open_dispute(self, transaction_id: str, *, reason: str, opened_by: str,
                           details: dict[str, Any] | None = None) -> Receipt:
        await self._anchor_record(transaction_id)
        data = {"reason": reason, "opened_by": opened_by, "details": details or {}}
        return await self._receipt(NewEntry(EntryKind.DISPUTE, transaction_id, data))

    async def audit_trail(self, transaction_id: str) -> list[LedgerEntry]:
        result: list[LedgerEntry] = await self._call(self._store.trail, transaction_id)
        return result

    async def verify(self, record: TransactionRecord, receipt: Receipt) -> bool:
        result: bool = await self._call(self._store.check_receipt, record, receipt)
        return result

    async def verify_chain(self, *, workers: int | None = None) -> VerificationReport:
        """Walk the whole chain (see :func:`verify_file`) after everything queued so far is committed."""
        while self._pending:
            await asyncio.sleep(0.001)
        report: VerificationReport = await self._call(
            lambda: verify_file(self.path, public_key=self.public_key, workers=workers))
        return report

    def capabilities(self) -> Capabilities:
        return Capabilities(
            backend=BACKEND,
            native_payments=False,
            finality="immediate",
            expected_latency_s=0.005,
            measured_throughput=MEASURED_ENTRIES_PER_S,
            multi_writer=False,
            notes="SQLite WAL, synchronous=FULL, group commit: durable (fsync) before a call returns; "
            "hash-chained, Ed25519-signed entries; payments are records, no money moves; "
            "one writer process at a time (FILE.lock)",
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            await self._writer
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._store.close)
        self._executor.shutdown(wait=True)

    async def __aenter__(self) -> EmbeddedLedger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise LedgerError(f"a timestamp needs a UTC offset: {value.isoformat()}")
    return value.isoformat()


def _latest_request(trail: list[LedgerEntry], transaction_id: str) -> LedgerEntry:
    for entry in reversed(trail):
        if entry.kind is EntryKind.PAYMENT_REQUEST:
            return entry
    raise LedgerError(f"no payment was requested for transaction {transaction_id!r}")


def payment_status(trail: list[LedgerEntry], request: LedgerEntry, now: datetime) -> PaymentStatus:
    """The status of ``request`` at ``now`` from the payments after it in ``trail``."""
    due = Decimal(str(request.data["amount"]))
    deadline = datetime.fromisoformat(str(request.data["deadline"]))
    seq = request.sequence or 0
    paid = sum((Decimal(str(e.data["amount"])) for e in trail
                if e.kind is EntryKind.PAYMENT and (e.sequence or 0) > seq), Decimal(0))
    if paid >= due:
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.UNDERPAID
    return PaymentStatus.EXPIRED if now > deadline else PaymentStatus.PENDING
