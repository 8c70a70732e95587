"""The Ledger contract: one rule for payment statuses, and the same expectations run against every backend
that can run here -- the embedded ledger (a file in tmp_path), the EVM adapter against a real anvil process
that holds no account (every transaction signed here with the market's or a party's key), and the IOTA
adapter through the in-memory FakeIotaTransport."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.ledger.anvil_process import AnvilProcess, anvil_or_skip
from tests.ledger.embedded_helpers import sql
from transactive.ledger import (
    EmbeddedLedger,
    EntryKind,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    PaymentStatus,
    Receipt,
    TransactionRecord,
    UnknownTransactionError,
    payment_status,
)
from transactive.ledger.evm import EvmLedger, JsonRpcClient
from transactive.ledger.settlement import SettlementMachine, State

DEADLINE = datetime(2026, 3, 1, 12, tzinfo=UTC)
BEFORE, AT, AFTER = DEADLINE - timedelta(hours=1), DEADLINE, DEADLINE + timedelta(microseconds=1)

#: (due, paid, now) -> status: the table of interface.payment_status
PAYMENT_STATUS_TABLE = [
    (Decimal("5"), Decimal("0"), BEFORE, PaymentStatus.PENDING),
    (Decimal("5"), Decimal("0"), AT, PaymentStatus.PENDING),  # the deadline itself is still in time
    (Decimal("5"), Decimal("0"), AFTER, PaymentStatus.EXPIRED),
    (Decimal("5"), Decimal("2"), BEFORE, PaymentStatus.UNDERPAID),
    (Decimal("5"), Decimal("2"), AFTER, PaymentStatus.UNDERPAID),  # partial after the deadline: underpaid
    (Decimal("5"), Decimal("4.99"), AFTER, PaymentStatus.UNDERPAID),
    (Decimal("5"), Decimal("5"), BEFORE, PaymentStatus.PAID),
    (Decimal("5"), Decimal("5.00"), AFTER, PaymentStatus.PAID),  # a late full payment still settles
    (Decimal("5"), Decimal("7"), BEFORE, PaymentStatus.PAID),  # overpaid is paid
    (Decimal("0"), Decimal("0"), AFTER, PaymentStatus.PAID),  # nothing due: nothing owed
    (300_000_000_000, 100_000_000_000, AFTER, PaymentStatus.UNDERPAID),  # in wei, as the EVM adapter counts
    (300_000_000_000, 300_000_000_000, AFTER, PaymentStatus.PAID),
]


@pytest.mark.parametrize(("due", "paid", "now", "expected"), PAYMENT_STATUS_TABLE)
def test_payment_status_follows_its_table(due: Decimal | int, paid: Decimal | int, now: datetime,
                                          expected: PaymentStatus) -> None:
    assert payment_status(due=due, paid=paid, deadline=DEADLINE, now=now) is expected


@pytest.mark.parametrize(("due", "paid", "now", "expected"), PAYMENT_STATUS_TABLE)
def test_the_settlement_machine_reports_the_same_table(due: Decimal | int, paid: Decimal | int, now: datetime,
                                                       expected: PaymentStatus) -> None:
    rec = record("USD", "tx-table")
    state = State.PAID if paid >= due else State.PAYMENT_REQUESTED
    machine = SettlementMachine.restore(rec, None, state, {
        "readings": {SELLER: "2.5", BUYER: "2.5"}, "delivered_kwh": "2.5", "amount_due": str(due),
        "deadline": DEADLINE.isoformat(), "paid": str(paid)})
    assert machine.payment_status(now) is expected


# --------------------------------------------------------------------------------------------------
# every backend that can run here, with the same expectations
# --------------------------------------------------------------------------------------------------

SELLER, BUYER = "pv-roof-7", "house-3"
NOW = DEADLINE - timedelta(hours=6)
MEASURED = datetime(2026, 3, 1, 6, tzinfo=UTC)
BACKENDS = ["embedded", "evm", "iota"]


@dataclass
class Backend:
    """A ledger under test and the ways its store can be broken: ``cut`` makes its file or node unreachable,
    ``tamper`` alters what it holds for a receipt's entry (each backend in its own way)."""

    name: str
    ledger: Ledger
    currency: str
    cut: Callable[[], Awaitable[None]]
    tamper: Callable[[Receipt], Awaitable[None]]


def record(currency: str, transaction_id: str | None = None, **changes: Any) -> TransactionRecord:
    tid = transaction_id or f"tx-{uuid4().hex[:12]}"
    fields: dict[str, Any] = {
        "transaction_id": tid, "document_hash": hashlib.sha256(tid.encode()).hexdigest(), "seller": SELLER,
        "buyer": BUYER, "quantity_kwh": Decimal("2.5"), "price": Decimal("0.12"), "currency": currency,
        "interval_start": datetime(2026, 3, 1, 5, 45, tzinfo=UTC), "interval_duration": timedelta(minutes=15)}
    fields.update(changes)
    return TransactionRecord(**fields)


@contextlib.asynccontextmanager
async def embedded_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    path = tmp_path / "contract.ledger"
    ledger = EmbeddedLedger(path, busy_timeout=0.2)
    blockers: list[sqlite3.Connection] = []

    async def cut() -> None:  # something else takes the database's write lock and keeps it
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        blockers.append(blocker)

    async def tamper(receipt: Receipt) -> None:  # someone with file access edits the stored entry
        sql(path, "UPDATE ledger_entries SET data = replace(data, '\"0.12\"', '\"0.13\"') WHERE seq = ?",
            params=(receipt.sequence,))

    try:
        yield Backend("embedded", ledger, "USD", cut, tamper)
    finally:
        for blocker in blockers:
            blocker.execute("ROLLBACK")
            blocker.close()
        await ledger.close()


@contextlib.asynccontextmanager
async def evm_backend(node: AnvilProcess, *, own_node: bool) -> AsyncIterator[Backend]:
    rpc = JsonRpcClient(node.url)
    head = int(await rpc.call("eth_blockNumber"), 16)
    snapshot = await rpc.call("evm_snapshot") if own_node else None
    # signed here: the market's key and each party's own, on a node that holds no account
    ledger = EvmLedger(rpc, signer=node.funded_key(), keys={SELLER: node.funded_key(), BUYER: node.funded_key()},
                       start_block=head + 1)

    async def cut() -> None:  # the node stops
        if not own_node:
            raise AssertionError("only a backend on its own node may stop it")
        node.stop()

    async def tamper(_receipt: Receipt) -> None:  # a reorganisation drops the blocks written since the start
        if snapshot is None:
            raise AssertionError("only a backend on its own node may revert it")
        assert await rpc.call("evm_revert", [snapshot]) is True

    try:
        yield Backend("evm", ledger, "USD", cut, tamper)
    finally:
        await ledger.close()


@contextlib.asynccontextmanager
async def iota_backend() -> AsyncIterator[Backend]:
    pytest.importorskip("iota_sdk", reason="the iota extra (iota-sdk==3.0.0b1) is not installed")
    from transactive.ledger.iota import IotaLedger, IotaSigner
    from transactive.ledger.iota_fake import FakeIotaTransport

    operator, payee = IotaSigner.from_seed(bytes(range(32))), IotaSigner.from_seed(bytes(range(1, 33)))
    node = FakeIotaTransport()
    node.fund(operator.address, 100 * 10**9)
    ledger = IotaLedger(node, operator, addresses={BUYER: operator.address, SELLER: payee.address},
                        checkpoint_wait_s=0.0)

    async def cut() -> None:  # the node cannot be reached
        node.unreachable = True

    async def tamper(receipt: Receipt) -> None:  # the node serves altered transaction data
        inputs = node.transactions[receipt.reference]["transaction"]["data"]["transaction"]["inputs"]
        for item in inputs:
            if item.get("type") == "pure":
                item["value"] = list(bytes(item["value"]).replace(b'"0.12"', b'"0.13"'))

    try:
        yield Backend("iota", ledger, "IOTA", cut, tamper)
    finally:
        await ledger.close()


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each backend; the EVM one on the session's shared anvil (it may not be stopped or reverted)."""
    if request.param == "embedded":
        opened = embedded_backend(tmp_path)
    elif request.param == "evm":
        opened = evm_backend(request.getfixturevalue("anvil"), own_node=False)
    else:
        opened = iota_backend()
    async with opened as b:
        yield b


@pytest.fixture(params=BACKENDS)
async def own_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each backend on a store of its own, which a test may cut off or tamper with (EVM: its own anvil)."""
    if request.param == "embedded":
        async with embedded_backend(tmp_path) as b:
            yield b
    elif request.param == "evm":
        with anvil_or_skip() as node:
            async with evm_backend(node, own_node=True) as b:
                yield b
    else:
        async with iota_backend() as b:
            yield b


async def requested(b: Backend, rec: TransactionRecord) -> None:
    """Anchor ``rec`` and request its payment (buyer pays seller the record's amount by DEADLINE)."""
    await b.ledger.anchor(rec)
    await b.ledger.request_payment(rec.transaction_id, amount=rec.amount, currency=rec.currency, payer=BUYER,
                                   payee=SELLER, deadline=DEADLINE)


# ---- anchor and verify ----------------------------------------------------------------------------


async def test_anchor_returns_a_receipt_that_verifies(backend: Backend) -> None:
    rec = record(backend.currency)
    receipt = await backend.ledger.anchor(rec)
    assert receipt.backend == backend.ledger.capabilities().backend
    assert len(receipt.entry_hash) == 64
    assert int(receipt.entry_hash, 16) >= 0
    assert receipt.reference
    assert await backend.ledger.verify(rec, receipt) is True


async def test_verify_is_false_for_an_altered_record_or_receipt(backend: Backend) -> None:
    rec = record(backend.currency)
    receipt = await backend.ledger.anchor(rec)
    tid, ledger = rec.transaction_id, backend.ledger
    assert await ledger.verify(record(backend.currency, tid, price=Decimal("0.13")), receipt) is False
    assert await ledger.verify(record(backend.currency, tid, quantity_kwh=Decimal("2.4")), receipt) is False
    assert await ledger.verify(record(backend.currency, tid, document_hash="0" * 64), receipt) is False
    assert await ledger.verify(record(backend.currency), receipt) is False  # another transaction
    assert await ledger.verify(rec, replace(receipt, entry_hash="f" * 64)) is False
    assert await ledger.verify(rec, replace(receipt, sequence=(receipt.sequence or 0) + 1000)) is False
    delivery = await ledger.record_delivery(tid, SELLER, Decimal("2.5"), MEASURED)
    assert await ledger.verify(rec, delivery) is False  # a receipt of another entry is not the anchor's


async def test_the_anchor_read_back_from_the_audit_trail_verifies_as_its_receipt(backend: Backend) -> None:
    """What a reader without the writer's receipt has (a dashboard, an auditor): the trail's anchor entry."""
    rec = record(backend.currency)
    written = await backend.ledger.anchor(rec)
    await backend.ledger.record_delivery(rec.transaction_id, SELLER, Decimal("2.5"), MEASURED)
    anchor, delivery = await backend.ledger.audit_trail(rec.transaction_id)
    assert anchor.entry_hash == written.entry_hash
    receipt = anchor.receipt(backend.ledger.capabilities().backend)
    assert receipt is not None
    assert (receipt.reference, receipt.sequence) == (written.reference, written.sequence)
    assert await backend.ledger.verify(rec, receipt) is True
    assert await backend.ledger.verify(record(backend.currency, rec.transaction_id, price=Decimal("0.13")),
                                       receipt) is False
    other = delivery.receipt(backend.ledger.capabilities().backend)
    assert other is not None
    assert await backend.ledger.verify(rec, other) is False  # the delivery entry is not the anchor


async def test_verify_is_false_once_the_stored_anchor_is_tampered_with(own_backend: Backend) -> None:
    rec = record(own_backend.currency)
    receipt = await own_backend.ledger.anchor(rec)
    assert await own_backend.ledger.verify(rec, receipt) is True
    await own_backend.tamper(receipt)
    assert await own_backend.ledger.verify(rec, receipt) is False


async def test_a_second_anchor_of_one_transaction_is_refused(backend: Backend) -> None:
    rec = record(backend.currency)
    await backend.ledger.anchor(rec)
    with pytest.raises(LedgerError, match="already anchored"):
        await backend.ledger.anchor(rec)
    assert [e.kind for e in await backend.ledger.audit_trail(rec.transaction_id)] == [EntryKind.ANCHOR]


# ---- the audit trail ------------------------------------------------------------------------------


async def test_audit_trail_lists_the_entries_in_order_with_their_kinds(backend: Backend) -> None:
    rec = record(backend.currency)
    ledger, tid = backend.ledger, rec.transaction_id
    await ledger.anchor(rec)
    await ledger.record_delivery(tid, SELLER, Decimal("2.5"), MEASURED)
    await ledger.record_delivery(tid, BUYER, Decimal("2.4"), MEASURED)
    await ledger.request_payment(tid, amount=rec.amount, currency=rec.currency, payer=BUYER, payee=SELLER,
                                 deadline=DEADLINE)
    await ledger.confirm_payment(tid, now=NOW, paid=Decimal("0.1"))
    await ledger.confirm_payment(tid, now=NOW, paid=Decimal("0.2"))
    await ledger.open_dispute(tid, reason="meters_disagree", opened_by=SELLER, details={"delta_kwh": "0.1"})
    trail = await ledger.audit_trail(tid)
    assert [e.kind for e in trail] == [EntryKind.ANCHOR, EntryKind.DELIVERY, EntryKind.DELIVERY,
                                       EntryKind.PAYMENT_REQUEST, EntryKind.PAYMENT, EntryKind.PAYMENT,
                                       EntryKind.DISPUTE]
    assert {e.transaction_id for e in trail} == {tid}
    assert all(isinstance(e.sequence, int) for e in trail)
    sequences = [e.sequence or 0 for e in trail]
    assert sequences == sorted(sequences)
    assert len({e.reference for e in trail}) == len(trail)
    assert trail[0].data == rec.as_dict()
    assert [e.data["party"] for e in trail[1:3]] == [SELLER, BUYER]
    assert Decimal(trail[3].data["amount"]) == rec.amount
    assert trail[6].data == {"reason": "meters_disagree", "opened_by": SELLER, "details": {"delta_kwh": "0.1"}}


# ---- payment statuses (interface.payment_status) --------------------------------------------------


async def test_pending_before_any_payment(backend: Backend) -> None:
    rec = record(backend.currency)
    await requested(backend, rec)
    assert await backend.ledger.confirm_payment(rec.transaction_id, now=NOW) is PaymentStatus.PENDING
    assert await backend.ledger.confirm_payment(rec.transaction_id, now=DEADLINE) is PaymentStatus.PENDING


async def test_underpaid_after_a_partial_payment_before_and_after_the_deadline(backend: Backend) -> None:
    rec = record(backend.currency)
    await requested(backend, rec)
    tid, ledger = rec.transaction_id, backend.ledger
    assert await ledger.confirm_payment(tid, now=NOW, paid=Decimal("0.1")) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(tid, now=NOW) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(tid, now=AFTER) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(tid, now=AFTER, paid=Decimal("0.1")) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(tid, now=AFTER, paid=Decimal("0.1")) is PaymentStatus.PAID  # the rest
    assert await ledger.confirm_payment(tid, now=AFTER + timedelta(days=9)) is PaymentStatus.PAID


async def test_paid_after_the_rest(backend: Backend) -> None:
    rec = record(backend.currency)
    await requested(backend, rec)
    tid, ledger = rec.transaction_id, backend.ledger
    assert await ledger.confirm_payment(tid, now=NOW, paid=Decimal("0.1")) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(tid, now=NOW, paid=Decimal("0.2")) is PaymentStatus.PAID
    assert await ledger.confirm_payment(tid, now=AFTER) is PaymentStatus.PAID


async def test_expired_when_nothing_was_paid_by_the_deadline(backend: Backend) -> None:
    rec = record(backend.currency)
    await requested(backend, rec)
    tid, ledger = rec.transaction_id, backend.ledger
    assert await ledger.confirm_payment(tid, now=AFTER) is PaymentStatus.EXPIRED
    assert await ledger.confirm_payment(tid, now=AFTER, paid=rec.amount) is PaymentStatus.PAID  # late, in full


async def test_confirming_without_a_payment_request_is_a_ledger_error(backend: Backend) -> None:
    rec = record(backend.currency)
    await backend.ledger.anchor(rec)
    with pytest.raises(LedgerError, match="no payment") as info:
        await backend.ledger.confirm_payment(rec.transaction_id, now=NOW)
    assert not isinstance(info.value, UnknownTransactionError)


# ---- unknown transactions, unavailability ---------------------------------------------------------


async def test_an_unknown_transaction_raises_unknown_transaction_error(backend: Backend) -> None:
    ledger, tid = backend.ledger, f"never-anchored-{uuid4().hex[:8]}"
    with pytest.raises(UnknownTransactionError):
        await ledger.audit_trail(tid)
    with pytest.raises(UnknownTransactionError):
        await ledger.record_delivery(tid, SELLER, Decimal(1), MEASURED)
    with pytest.raises(UnknownTransactionError):
        await ledger.request_payment(tid, amount=Decimal(1), currency=backend.currency, payer=BUYER, payee=SELLER,
                                     deadline=DEADLINE)
    with pytest.raises(UnknownTransactionError):
        await ledger.confirm_payment(tid, now=NOW)
    with pytest.raises(UnknownTransactionError):
        await ledger.open_dispute(tid, reason="unpaid", opened_by=SELLER)
    assert await ledger.verify(record(backend.currency, tid), Receipt(
        backend=ledger.capabilities().backend, reference="0x" + "ab" * 32, sequence=1, entry_hash="0" * 64)) is False


async def test_an_unreachable_store_raises_ledger_unavailable(own_backend: Backend) -> None:
    rec = record(own_backend.currency)
    await own_backend.ledger.anchor(rec)
    await own_backend.cut()
    with pytest.raises(LedgerUnavailableError):
        await own_backend.ledger.anchor(record(own_backend.currency))
    with pytest.raises(LedgerUnavailableError):
        await own_backend.ledger.record_delivery(rec.transaction_id, SELLER, Decimal("2.5"), MEASURED)
