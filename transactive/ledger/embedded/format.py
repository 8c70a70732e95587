"""The embedded ledger's entry format: canonical JSON, the entry preimage and hash, domain tags, rows.

Entries
    Table ``ledger_entries(seq, prev_hash, kind, transaction_id, data, ts, entry_hash, signature)``;
    ``seq`` counts from 1. ``data`` is canonical JSON (sorted keys, no spaces, UTF-8; money and kWh as
    decimal strings), ``ts`` the ledger's clock in UTC ISO 8601 with microseconds. The entry hash is
    SHA-256 over :func:`entry_preimage`: a domain tag, ``seq`` (8 bytes big-endian), the previous entry's
    hash (32 zero bytes for entry 1), then ``kind``, ``transaction_id``, ``data`` and ``ts``, each as a
    4-byte big-endian length and its UTF-8 bytes. The signature is Ed25519 by the writer's key over a
    signature domain tag followed by the entry hash. ``ledger_meta`` holds the format, the writer's public
    key and the *signed head* (last ``seq``, its hash, a signature over both: :func:`head_message`), written
    in the same transaction as the entries, so a removal at the end of the chain is detected too.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from transactive.ledger.interface import LedgerError
from transactive.ledger.records import EntryKind, LedgerEntry, Receipt

__all__ = [
    "BACKEND",
    "ENTRY_DOMAIN",
    "FORMAT",
    "GENESIS",
    "HEAD_DOMAIN",
    "SIGNATURE_DOMAIN",
    "NewEntry",
    "StoredEntry",
    "canonical_json",
    "entry_hash",
    "entry_preimage",
    "entry_preimage_bytes",
    "head_message",
    "row_problem",
    "timestamp",
    "utc_now",
]

BACKEND = "embedded"
FORMAT = "transactive-ledger/1"
ENTRY_DOMAIN = b"transactive-ledger/1 entry\n"
SIGNATURE_DOMAIN = b"transactive-ledger/1 signature\n"
HEAD_DOMAIN = b"transactive-ledger/1 head\n"
GENESIS = bytes(32)


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
    return entry_preimage_bytes(seq, prev_hash, kind.encode(), transaction_id.encode(), data.encode(), ts.encode())


def entry_preimage_bytes(seq: int, prev_hash: bytes, k: bytes, t: bytes, d: bytes, s: bytes) -> bytes:
    """:func:`entry_preimage` of the UTF-8 bytes of kind, transaction id, data and timestamp (as stored)."""
    return b"".join((ENTRY_DOMAIN, seq.to_bytes(8, "big", signed=True), prev_hash,
                     _LEN.pack(len(k)), k, _LEN.pack(len(t)), t, _LEN.pack(len(d)), d, _LEN.pack(len(s)), s))


def row_problem(seq: int, texts: tuple[object, ...], blobs: tuple[object, ...]) -> str | None:
    """Why a stored row cannot be an entry, or None: ``texts`` (kind, transaction id, data, timestamp) must be
    UTF-8 text, ``blobs`` (previous hash, entry hash, signature) byte strings. Rows are read with SQLite's text
    as bytes, so a damaged row is reported, not a crash of the reader."""
    for name, value in zip(("kind", "transaction_id", "data", "ts"), texts, strict=True):
        if not isinstance(value, bytes | str):
            return f"entry {seq}: {name} is not text (a stored {type(value).__name__})"
        if isinstance(value, bytes):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"entry {seq}: {name} is not UTF-8 text (invalid byte {value[exc.start]:#04x} at {exc.start})"
    for name, value in zip(("prev_hash", "entry_hash", "signature"), blobs, strict=True):
        if not isinstance(value, bytes):
            return f"entry {seq}: {name} is not a byte string (a stored {type(value).__name__})"
    return None


def entry_hash(seq: int, prev_hash: bytes, kind: str, transaction_id: str, data: str, ts: str) -> bytes:
    return hashlib.sha256(entry_preimage(seq, prev_hash, kind, transaction_id, data, ts)).digest()


def head_message(seq: int, digest: bytes) -> bytes:
    """What the signed head's signature covers: the last entry's sequence and hash."""
    return HEAD_DOMAIN + seq.to_bytes(8, "big", signed=True) + digest


def utc_now() -> datetime:
    """The default ledger clock."""
    return datetime.now(UTC)


def timestamp(value: datetime) -> str:
    """An entry's ``ts``: UTC ISO 8601 with microseconds."""
    if value.tzinfo is None:
        raise LedgerError("the ledger clock must return timezone-aware datetimes")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


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
        """The entry of a stored row (text read as str or as UTF-8 bytes); :class:`LedgerError` naming the
        entry and the column when the row is damaged (text that is not UTF-8, a hash that is not bytes)."""
        seq = int(row[0])
        problem = row_problem(seq, (row[2], row[3], row[4], row[5]), (row[1], row[6], row[7]))
        if problem is not None:
            raise LedgerError(problem)

        def text(value: str | bytes) -> str:
            return value if isinstance(value, str) else value.decode("utf-8")

        return cls(seq, row[1], text(row[2]), text(row[3]), text(row[4]), text(row[5]), row[6], row[7])

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
                           datetime.fromisoformat(self.ts), self.entry_hash.hex())

    def receipt(self, public_key: bytes) -> Receipt:
        digest = self.entry_hash.hex()
        return Receipt(BACKEND, digest, self.seq, digest, datetime.fromisoformat(self.ts),
                       {"signature": self.signature.hex(), "public_key": public_key.hex(),
                        "previous_hash": self.prev_hash.hex()})
