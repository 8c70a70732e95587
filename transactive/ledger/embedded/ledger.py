"""The embedded ledger's async facade: :class:`EmbeddedLedger`, the default :class:`Ledger`.

Group commit
    :class:`EmbeddedLedger` queues concurrent calls (``anchor``, ``record_delivery``, ...) and a single
    writer task hands everything queued (up to ``max_batch``) to :meth:`LedgerStore.append_many` on the
    ledger's own thread: hashing, signing and one fsync per batch. While a batch commits the next one
    queues, so the fsync cost is shared by all entries of a batch.

Acknowledgements
    The :class:`Receipt` a call returns is released only after its batch's ``COMMIT`` returned: every
    acknowledged entry is durable (see :mod:`transactive.ledger.embedded.store`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from transactive.ledger.embedded.format import BACKEND, NewEntry, StoredEntry
from transactive.ledger.embedded.store import LedgerStore
from transactive.ledger.embedded.verify import VerificationReport, verify_file
from transactive.ledger.interface import Capabilities, Ledger, LedgerError, LedgerUnavailableError, payment_status
from transactive.ledger.records import EntryKind, LedgerEntry, PaymentStatus, Receipt, TransactionRecord

__all__ = ["MEASURED_ENTRIES_PER_S", "EmbeddedLedger", "request_status"]

#: durable signed entries per second with group commit, measured by bench/ledger_bench.py on the project's
#: 2-core machine (1024 concurrent callers; see BENCHMARKS.md): a figure for that machine, not a promise
MEASURED_ENTRIES_PER_S: float | None = 16_000.0


class EmbeddedLedger(Ledger):
    """The default :class:`Ledger`: an embedded SQLite file with group commit.

    ``key`` injects the writer's Ed25519 key (default: ``FILE.key``, created if missing); ``now`` is the
    ledger clock (timestamps of entries); ``max_batch`` bounds a group commit; ``busy_timeout`` (seconds)
    is how long a write waits while something else holds the database's write lock (then
    :class:`LedgerUnavailableError`).
    """

    def __init__(self, path: str | os.PathLike[str], *, key: Ed25519PrivateKey | None = None,
                 key_path: str | os.PathLike[str] | None = None, now: Callable[[], datetime] | None = None,
                 max_batch: int = 4096, busy_timeout: float = 5.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = LedgerStore(path, key=key, key_path=key_path, now=now, busy_timeout=busy_timeout)
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
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:  # a read that failed: the file, not the caller (I/O error, damage)
            raise LedgerUnavailableError(f"{self.path}: read failed ({exc})") from None

    async def probe(self) -> None:
        """One small durable write beside the chain (see :meth:`LedgerStore.probe`): returns once writes work,
        :class:`LedgerUnavailableError` while they fail."""
        await self._call(self._store.probe)

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
        """Record ``paid`` (if given) against the latest payment request; then its status at ``now``
        (:func:`~transactive.ledger.interface.payment_status` of the payments written after it)."""
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
        return request_status(trail, request, now)

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


def request_status(trail: list[LedgerEntry], request: LedgerEntry, now: datetime) -> PaymentStatus:
    """The status of ``request`` at ``now`` from the payments after it in ``trail`` (see
    :func:`~transactive.ledger.interface.payment_status`)."""
    seq = request.sequence or 0
    paid = sum((Decimal(str(e.data["amount"])) for e in trail
                if e.kind is EntryKind.PAYMENT and (e.sequence or 0) > seq), Decimal(0))
    return payment_status(due=Decimal(str(request.data["amount"])), paid=paid,
                          deadline=datetime.fromisoformat(str(request.data["deadline"])), now=now)
