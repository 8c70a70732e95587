"""Shared helpers of the embedded-ledger and settlement tests: records, a settable clock, raw SQL tampering."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from transactive.ledger.embedded import LedgerStore, NewEntry
from transactive.ledger.records import EntryKind, TransactionRecord

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def record(txid: str = "tx-1", *, quantity: str = "10", price: str = "0.20", seller: str = "producer",
           buyer: str = "consumer") -> TransactionRecord:
    return TransactionRecord(
        transaction_id=txid,
        document_hash=hashlib.sha256(txid.encode()).hexdigest(),
        seller=seller,
        buyer=buyer,
        quantity_kwh=Decimal(quantity),
        price=Decimal(price),
        currency="EUR",
        interval_start=T0,
        interval_duration=timedelta(minutes=15),
    )


class Clock:
    """An injectable ledger clock that moves only when told (one microsecond per reading)."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(microseconds=1)
        return self.t

    def advance(self, delta: timedelta) -> datetime:
        self.t += delta
        return self.t


def fill(path: Path, n: int, *, key: Ed25519PrivateKey | None = None) -> list[int]:
    """A ledger of n anchor entries tx-1..tx-n; returns their sequences."""
    store = LedgerStore(path, key=key, now=Clock())
    try:
        results = store.append_many([NewEntry(EntryKind.ANCHOR, f"tx-{i}", record(f"tx-{i}").as_dict())
                                     for i in range(1, n + 1)])
    finally:
        store.close()
    return [r.seq for r in results]  # type: ignore[union-attr]


def sql(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Run raw SQL against the ledger file, as an attacker with file access would."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement, params if statement.count("?") else ())
    finally:
        conn.close()


def row(path: Path, seq: int) -> tuple[Any, ...]:
    conn = sqlite3.connect(path)
    try:
        result = conn.execute("SELECT * FROM ledger_entries WHERE seq=?", (seq,)).fetchone()
    finally:
        conn.close()
    assert result is not None
    return tuple(result)
