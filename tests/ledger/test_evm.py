"""EvmLedger against a real anvil process on 127.0.0.1 (started once per session, stopped at the end: the
``anvil`` and ``anvil_manual`` fixtures of tests/ledger/conftest.py). The nodes hold no account: every
transaction is signed here with a key the test made (the market's, the parties'), whose account the test
funds with anvil_setBalance.

anvil comes from the npm registry (interop/anvil/install.sh, run by ``make anvil``, or here when missing);
when it cannot be had, every test in this file skips with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from tests.ledger.anvil_process import AnvilProcess, anvil_or_skip, free_port
from transactive.ledger import (
    EntryKind,
    LedgerError,
    LedgerUnavailableError,
    PaymentStatus,
    Receipt,
    TransactionRecord,
    UnknownTransactionError,
)
from transactive.ledger.evm import MAGIC, EvmKey, EvmLedger, JsonRpcClient, RpcError, encode_entry
from transactive.ledger.evm_keys import KeyMap
from transactive.ledger.jsonrpc import HttpPoster

SELLER, BUYER = "pv-roof-7", "house-3"
NOW = datetime(2026, 11, 21, 13, tzinfo=UTC)
DEADLINE = NOW + timedelta(days=1)
WEI_PER_USD = 10**12


async def make_ledger(node: AnvilProcess, **kwargs: Any) -> EvmLedger:
    """A ledger signing with a new market key, paying for the seller and the buyer with keys of their own."""
    rpc = kwargs.pop("rpc", None) or JsonRpcClient(node.url)
    head = int(await rpc.call("eth_blockNumber"), 16)
    kwargs.setdefault("start_block", head + 1)
    kwargs.setdefault("signer", node.funded_key())
    kwargs.setdefault("keys", {SELLER: node.funded_key(), BUYER: node.funded_key()})
    return EvmLedger(rpc, **kwargs)


@pytest.fixture
async def ledger(anvil: AnvilProcess) -> AsyncIterator[EvmLedger]:
    led = await make_ledger(anvil)
    yield led
    await led.close()


def record(transaction_id: str | None = None, **changes: Any) -> TransactionRecord:
    tid = transaction_id or f"tx-{uuid4().hex[:12]}"
    fields: dict[str, Any] = {
        "transaction_id": tid, "document_hash": hashlib.sha256(tid.encode()).hexdigest(), "seller": SELLER,
        "buyer": BUYER, "quantity_kwh": Decimal("2.5"), "price": Decimal("0.12"), "currency": "USD",
        "interval_start": datetime(2026, 11, 21, 12, tzinfo=UTC), "interval_duration": timedelta(minutes=15)}
    fields.update(changes)
    return TransactionRecord(**fields)


async def balance(led: EvmLedger, party: str) -> int:
    return int(await led.rpc.call("eth_getBalance", [await led.account(party), "latest"]), 16)


async def requested(led: EvmLedger, rec: TransactionRecord, deadline: datetime = DEADLINE) -> Receipt:
    await led.anchor(rec)
    return await led.request_payment(rec.transaction_id, amount=rec.amount, currency=rec.currency, payer=BUYER,
                                     payee=SELLER, deadline=deadline)


# ---- anchor and verify ---------------------------------------------------------------------------------


async def test_anchor_then_verify_round_trip(ledger: EvmLedger) -> None:
    rec = record()
    receipt = await ledger.anchor(rec)
    assert receipt.backend == "evm"
    assert receipt.reference.startswith("0x")
    assert len(receipt.reference) == 66
    assert isinstance(receipt.sequence, int)
    assert receipt.sequence >= ledger.start_block
    assert len(receipt.entry_hash) == 64
    assert receipt.timestamp is not None
    assert receipt.timestamp.tzinfo is not None
    assert receipt.extra["kind"] == "anchor"
    assert receipt.extra["to"] == ledger.anchor_address
    assert await ledger.verify(rec, receipt)
    # the transaction's data is MAGIC + the canonical entry, whose hash is the receipt's entry_hash
    tx = await ledger.rpc.call("eth_getTransactionByHash", [receipt.reference])
    body = encode_entry(EntryKind.ANCHOR, rec.transaction_id, rec.as_dict())
    assert tx["input"] == "0x" + (MAGIC + body).hex()
    assert hashlib.sha256(body).hexdigest() == receipt.entry_hash
    assert int(tx["value"], 16) == 0


async def test_tampered_record_or_receipt_fails_verify(ledger: EvmLedger) -> None:
    rec = record()
    receipt = await ledger.anchor(rec)
    assert not await ledger.verify(record(rec.transaction_id, price=Decimal("0.13")), receipt)
    assert not await ledger.verify(record(rec.transaction_id, quantity_kwh=Decimal("2.4")), receipt)
    assert not await ledger.verify(record(rec.transaction_id, document_hash="0" * 64), receipt)
    assert not await ledger.verify(record(), receipt)  # another transaction id
    other = Receipt(backend="evm", reference=receipt.reference, sequence=receipt.sequence, entry_hash="f" * 64)
    assert not await ledger.verify(rec, other)
    moved = Receipt(backend="evm", reference=receipt.reference, sequence=(receipt.sequence or 0) + 1,
                    entry_hash=receipt.entry_hash)
    assert not await ledger.verify(rec, moved)
    assert not await ledger.verify(rec, Receipt(backend="embedded", reference=receipt.reference, sequence=None,
                                                entry_hash=receipt.entry_hash))
    missing = Receipt(backend="evm", reference="0x" + "ab" * 32, sequence=None, entry_hash=receipt.entry_hash)
    assert not await ledger.verify(rec, missing)
    # a delivery entry is not an anchor, even for the same transaction
    delivery = await ledger.record_delivery(rec.transaction_id, SELLER, Decimal("2.5"), NOW)
    assert not await ledger.verify(rec, delivery)


async def test_same_record_sent_by_someone_else_does_not_verify(ledger: EvmLedger, anvil: AnvilProcess) -> None:
    rec = record()
    data = MAGIC + encode_entry(EntryKind.ANCHOR, rec.transaction_id, rec.as_dict())
    tx_hash = anvil.wallet_send(anvil.funded_key(), ledger.anchor_address, data=data, gas=100_000)
    forged = Receipt(backend="evm", reference=tx_hash, sequence=None, entry_hash=hashlib.sha256(data[4:]).hexdigest())
    assert not await ledger.verify(rec, forged)


async def test_anchoring_a_transaction_twice_is_refused(ledger: EvmLedger) -> None:
    rec = record()
    await ledger.anchor(rec)
    with pytest.raises(LedgerError, match="already anchored"):
        await ledger.anchor(rec)
    with pytest.raises(LedgerError, match="twice"):
        await ledger.anchor_many([record("dup-1"), record("dup-1")])


async def test_anchor_many_pipelines_and_every_receipt_verifies(ledger: EvmLedger) -> None:
    records = [record() for _ in range(25)]
    receipts = await ledger.anchor_many(records)
    assert len(receipts) == 25
    assert len({r.reference for r in receipts}) == 25
    assert all([await ledger.verify(rec, rc) for rec, rc in zip(records, receipts, strict=True)])
    order = [(r.sequence, r.extra["transaction_index"]) for r in receipts]
    assert order == sorted(order)  # consecutive nonces: chain order is the records' order
    assert await ledger.anchor_many([]) == []


async def test_concurrent_anchors_share_the_nonce_counter(ledger: EvmLedger) -> None:
    records = [record() for _ in range(10)]
    receipts = await asyncio.gather(*(ledger.anchor(r) for r in records))
    assert all([await ledger.verify(rec, rc) for rec, rc in zip(records, receipts, strict=True)])


async def test_nonce_resyncs_after_someone_else_sends_from_the_account(ledger: EvmLedger,
                                                                      anvil: AnvilProcess) -> None:
    await ledger.anchor(record())  # caches the nonce
    assert ledger.signer is not None
    anvil.wallet_send(ledger.signer, ledger.anchor_address)  # another holder of the same key sends
    rec = record()
    assert await ledger.verify(rec, await ledger.anchor(rec))


async def test_manual_mining_node_puts_a_batch_in_one_block(anvil_manual: AnvilProcess) -> None:
    led = await make_ledger(anvil_manual, mine=True)
    try:
        records = [record() for _ in range(10)]
        receipts = await led.anchor_many(records)
        assert len({r.sequence for r in receipts}) == 1
        assert [r.extra["transaction_index"] for r in receipts] == list(range(10))
        assert all([await led.verify(rec, rc) for rec, rc in zip(records, receipts, strict=True)])
    finally:
        await led.close()


async def test_confirmations_wait_for_later_blocks(anvil_manual: AnvilProcess) -> None:
    led = await make_ledger(anvil_manual, mine=True, confirmations=3, poll_interval=0.01)
    try:
        task = asyncio.create_task(led.anchor(record()))
        await asyncio.sleep(0.2)
        assert not task.done()  # mined (one block), but not 3 deep
        await led.rpc.call("evm_mine")
        await led.rpc.call("evm_mine")
        receipt = await asyncio.wait_for(task, 5)
        head = int(await led.rpc.call("eth_blockNumber"), 16)
        assert head >= (receipt.sequence or 0) + 2
        assert "3 confirmations" in led.capabilities().finality
    finally:
        await led.close()


async def test_receipt_timeout_is_unavailable(anvil_manual: AnvilProcess) -> None:
    led = await make_ledger(anvil_manual, receipt_timeout=0.2)  # no automine and mine=False: never mined
    try:
        with pytest.raises(LedgerUnavailableError, match="not mined"):
            await led.anchor(record())
    finally:
        await led.rpc.call("evm_mine")  # do not leave it in the pool for the next test
        await led.close()


# ---- payments -------------------------------------------------------------------------------------------


async def test_payment_moves_wei_and_is_paid(ledger: EvmLedger) -> None:
    rec = record()
    request = await requested(ledger, rec)
    assert request.extra["kind"] == "payment_request"
    before_payee, before_payer = await balance(ledger, SELLER), await balance(ledger, BUYER)
    status = await ledger.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount)
    assert status is PaymentStatus.PAID
    wei = 300_000_000_000  # 0.300 USD * 10**12 wei/USD
    assert ledger.to_wei(rec.amount, "USD") == wei
    assert await balance(ledger, SELLER) - before_payee == wei
    assert before_payer - await balance(ledger, BUYER) > wei  # the value plus gas
    # reporting again, later, without paying: still paid (a later block cannot undo it here)
    assert await ledger.confirm_payment(rec.transaction_id, now=DEADLINE + timedelta(days=9)) is PaymentStatus.PAID


async def test_underpaid_then_topped_up(ledger: EvmLedger) -> None:
    rec = record()
    await requested(ledger, rec)
    assert await ledger.confirm_payment(rec.transaction_id, now=NOW, paid=Decimal("0.1")) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(rec.transaction_id, now=NOW) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment(rec.transaction_id, now=NOW, paid=Decimal("0.2")) is PaymentStatus.PAID


async def test_pending_then_expired(ledger: EvmLedger) -> None:
    rec = record()
    await requested(ledger, rec)
    assert await ledger.confirm_payment(rec.transaction_id, now=NOW) is PaymentStatus.PENDING
    assert await ledger.confirm_payment(rec.transaction_id, now=DEADLINE) is PaymentStatus.PENDING
    late = DEADLINE + timedelta(seconds=1)
    assert await ledger.confirm_payment(rec.transaction_id, now=late) is PaymentStatus.EXPIRED
    # something but not all paid: underpaid, after the deadline too (the one rule: interface.payment_status)
    assert await ledger.confirm_payment(rec.transaction_id, now=late, paid=Decimal("0.1")) is PaymentStatus.UNDERPAID
    # a late full payment still settles
    assert await ledger.confirm_payment(rec.transaction_id, now=late, paid=Decimal("0.2")) is PaymentStatus.PAID


async def test_transfer_made_elsewhere_confirmed_by_reference(ledger: EvmLedger, anvil: AnvilProcess) -> None:
    rec = record()
    await requested(ledger, rec)
    wei = ledger.to_wei(rec.amount, "USD")
    assert isinstance(ledger.keys, KeyMap)
    tx_hash = anvil.wallet_send(ledger.keys.keys[BUYER], await ledger.account(SELLER), value=wei)
    with pytest.raises(LedgerError, match="moved"):
        await ledger.confirm_payment(rec.transaction_id, now=NOW, paid=Decimal("0.2"), reference=tx_hash)
    status = await ledger.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount, reference=tx_hash)
    assert status is PaymentStatus.PAID
    trail = await ledger.audit_trail(rec.transaction_id)
    assert trail[-1].kind is EntryKind.PAYMENT
    assert trail[-1].reference == tx_hash
    assert trail[-1].data["observed"] is True
    assert trail[-1].data["value_wei"] == str(wei)


async def test_reference_must_be_a_transfer_from_payer_to_payee(ledger: EvmLedger, anvil: AnvilProcess) -> None:
    rec = record()
    await requested(ledger, rec)
    wrong = anvil.wallet_send(anvil.funded_key(), await ledger.account(SELLER), value=10**12)
    with pytest.raises(LedgerError, match="not a transfer from the payer"):
        await ledger.confirm_payment(rec.transaction_id, now=NOW, reference=wrong)
    with pytest.raises(LedgerError, match="no transaction"):
        await ledger.confirm_payment(rec.transaction_id, now=NOW, reference="0x" + "cd" * 32)


async def test_unmined_transfer_is_pending_until_mined(anvil_manual: AnvilProcess) -> None:
    led = await make_ledger(anvil_manual, mine=True)
    try:
        rec = record()
        await requested(led, rec)
        wei = led.to_wei(rec.amount, "USD")
        assert isinstance(led.keys, KeyMap)
        tx_hash = anvil_manual.wallet_send(led.keys.keys[BUYER], await led.account(SELLER), value=wei, wait=False)
        assert await led.confirm_payment(rec.transaction_id, now=NOW, reference=tx_hash) is PaymentStatus.PENDING
        await led.rpc.call("evm_mine")
        assert await led.confirm_payment(rec.transaction_id, now=NOW) is PaymentStatus.PAID
    finally:
        await led.close()


async def test_payment_errors(ledger: EvmLedger) -> None:
    rec = record()
    await ledger.anchor(rec)
    with pytest.raises(LedgerError, match="no payment requested"):
        await ledger.confirm_payment(rec.transaction_id, now=NOW)
    with pytest.raises(LedgerError, match="no key for party 'nobody'"):
        await ledger.request_payment(rec.transaction_id, amount=Decimal(1), currency="USD", payer="nobody",
                                     payee=SELLER, deadline=DEADLINE)
    with pytest.raises(LedgerError, match="whole"):
        await ledger.request_payment(rec.transaction_id, amount=Decimal("1e-13"), currency="USD", payer=BUYER,
                                     payee=SELLER, deadline=DEADLINE)
    with pytest.raises(LedgerError, match="whole"):
        ledger.to_wei(Decimal(-1), "USD")
    await ledger.request_payment(rec.transaction_id, amount=Decimal(1), currency="USD", payer=BUYER, payee=SELLER,
                                 deadline=DEADLINE)
    with pytest.raises(LedgerError, match="nothing"):
        await ledger.confirm_payment(rec.transaction_id, now=NOW, paid=Decimal(0))
    with pytest.raises(ValueError, match="UTC offset"):
        await ledger.request_payment(rec.transaction_id, amount=Decimal(1), currency="USD", payer=BUYER,
                                     payee=SELLER, deadline=datetime(2026, 1, 1))


async def test_per_currency_rates(anvil: AnvilProcess) -> None:  # no key: reads only
    led = EvmLedger(anvil.url, wei_per_unit={"EUR": 10**15})
    try:
        assert led.to_wei(Decimal("0.25"), "EUR") == 25 * 10**13
        with pytest.raises(LedgerError, match="no wei rate"):
            led.to_wei(Decimal(1), "USD")
        assert "EUR" in led.capabilities().notes
    finally:
        await led.close()


# ---- audit trail and the index -------------------------------------------------------------------------


async def write_history(led: EvmLedger) -> TransactionRecord:
    rec = record()
    await requested(led, rec)
    await led.record_delivery(rec.transaction_id, SELLER, Decimal("2.5"), NOW)
    await led.record_delivery(rec.transaction_id, BUYER, Decimal("2.4"), NOW)
    await led.confirm_payment(rec.transaction_id, now=NOW, paid=Decimal("0.2"))
    await led.open_dispute(rec.transaction_id, reason="underpaid", opened_by=SELLER, details={"short": "0.1"})
    return rec


async def test_audit_trail_order_kinds_and_data(ledger: EvmLedger) -> None:
    rec = await write_history(ledger)
    trail = await ledger.audit_trail(rec.transaction_id)
    assert [e.kind for e in trail] == [EntryKind.ANCHOR, EntryKind.PAYMENT_REQUEST, EntryKind.DELIVERY,
                                       EntryKind.DELIVERY, EntryKind.PAYMENT, EntryKind.DISPUTE]
    assert all(e.transaction_id == rec.transaction_id for e in trail)
    sequences = [e.sequence or 0 for e in trail]
    assert sequences == sorted(sequences)
    assert all(e.timestamp is not None for e in trail)
    assert trail[0].data == rec.as_dict()
    assert trail[1].data["amount_wei"] == "300000000000"
    assert trail[1].data["payer"] == BUYER
    assert [e.data["party"] for e in trail[2:4]] == [SELLER, BUYER]
    assert trail[4].data["value_wei"] == str(2 * 10**11)
    assert trail[4].data["from"] == await ledger.account(BUYER)
    assert trail[4].data["to"] == await ledger.account(SELLER)
    assert trail[5].data == {"reason": "underpaid", "opened_by": SELLER, "details": {"short": "0.1"}}


async def test_unknown_transaction(ledger: EvmLedger) -> None:
    with pytest.raises(UnknownTransactionError):
        await ledger.audit_trail("never-anchored")
    with pytest.raises(UnknownTransactionError):
        await ledger.record_delivery("never-anchored", SELLER, Decimal(1), NOW)
    with pytest.raises(UnknownTransactionError):
        await ledger.open_dispute("never-anchored", reason="x", opened_by=SELLER)
    with pytest.raises(UnknownTransactionError):
        await ledger.confirm_payment("never-anchored", now=NOW)


async def test_rebuild_index_from_blocks(ledger: EvmLedger, anvil: AnvilProcess) -> None:
    rec = await write_history(ledger)
    # someone else writes entries claiming the same transaction: a rebuild must not trust them
    stranger = anvil.funded_key()
    for kind in (EntryKind.PAYMENT_REQUEST, EntryKind.DISPUTE, EntryKind.PAYMENT):
        data = MAGIC + encode_entry(kind, rec.transaction_id, {
            "payer": BUYER, "payee": SELLER, "forged": True, "payer_account": stranger.address,
            "payee_account": await ledger.account(SELLER)})
        anvil.wallet_send(stranger, ledger.anchor_address if kind is not EntryKind.PAYMENT
                          else await ledger.account(SELLER), data=data, gas=100_000)
    original = await ledger.audit_trail(rec.transaction_id)

    fresh = await make_ledger(anvil, start_block=ledger.start_block, signer=ledger.signer, keys=ledger.keys)
    try:
        with pytest.raises(UnknownTransactionError):
            await fresh.audit_trail(rec.transaction_id)  # the index is in memory only
        added = await fresh.rebuild_index()
        assert added >= len(original)
        rebuilt = await fresh.audit_trail(rec.transaction_id)
        assert rebuilt == original
        assert not any(e.data.get("forged") for e in rebuilt)
        assert await fresh.rebuild_index() == 0  # idempotent
        # the rebuilt index carries on: payments are seen, new entries append
        assert await fresh.confirm_payment(rec.transaction_id, now=NOW) is PaymentStatus.UNDERPAID
        assert await fresh.confirm_payment(rec.transaction_id, now=NOW, paid=Decimal("0.1")) is PaymentStatus.PAID
    finally:
        await fresh.close()


async def test_audit_trail_detects_a_vanished_entry(ledger: EvmLedger) -> None:
    from transactive.ledger import TamperedLedgerError
    from transactive.ledger.evm import _Indexed

    rec = record()
    await ledger.anchor(rec)
    ledger._index[rec.transaction_id].append(_Indexed("0x" + "ef" * 32, 10**9, 0, EntryKind.DELIVERY, "a" * 64))
    with pytest.raises(TamperedLedgerError) as info:
        await ledger.audit_trail(rec.transaction_id)
    assert info.value.index == 1


# ---- errors and capabilities ---------------------------------------------------------------------------


async def test_node_down_is_unavailable() -> None:
    led = EvmLedger(f"http://127.0.0.1:{free_port()}", timeout=2.0, signer=EvmKey.generate())
    try:
        with pytest.raises(LedgerUnavailableError):
            await led.anchor(record())
        with pytest.raises(LedgerUnavailableError):
            await led.verify(record(), Receipt(backend="evm", reference="0x" + "00" * 32, sequence=1,
                                               entry_hash="0" * 64))
    finally:
        await led.close()


async def test_rpc_error_carries_code_and_message(ledger: EvmLedger) -> None:
    with pytest.raises(RpcError) as info:
        await ledger.rpc.call("eth_noSuchMethod")
    assert info.value.code == -32601
    assert info.value.method == "eth_noSuchMethod"
    assert not isinstance(info.value, LedgerUnavailableError)
    # a transaction the node refuses (signed, but from an account without the ether for its gas)
    bad = EvmLedger(ledger.rpc, signer=EvmKey.generate())
    with pytest.raises(RpcError, match=r"(?i)insufficient funds") as refused:
        await bad.anchor(record())
    assert isinstance(refused.value.code, int)
    assert refused.value.message


async def test_capabilities_are_honest(ledger: EvmLedger) -> None:
    guessed = ledger.capabilities()
    assert guessed.backend == "evm"
    assert guessed.native_payments
    assert "a guess" in guessed.notes
    await ledger.anchor(record())
    caps = ledger.capabilities()
    assert caps.finality.startswith("immediate")
    assert 0 < caps.expected_latency_s < 5
    assert "measured" in caps.notes
    assert "eth_sendRawTransaction" in caps.notes


def test_constructor_checks() -> None:
    with pytest.raises(LedgerError, match="not an address"):
        EvmLedger("http://127.0.0.1:1", accounts={"a": "0x12"})
    with pytest.raises(ValueError, match="confirmations"):
        EvmLedger("http://127.0.0.1:1", confirmations=0)


async def test_send_batches_on_a_manual_mining_node(anvil_manual: AnvilProcess) -> None:
    led = await make_ledger(anvil_manual, mine=True, send_batches=True)
    try:
        records = [record() for _ in range(30)]
        receipts = await led.anchor_many(records)
        assert len({r.sequence for r in receipts}) == 1
        assert all([await led.verify(rec, rc) for rec, rc in zip(records, receipts, strict=True)])
    finally:
        await led.close()


# ---- local signing: the node holds no account ----------------------------------------------------------


class RecordingPoster(HttpPoster):
    """The real HTTP poster, noting every JSON-RPC method it carries."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.methods: list[str] = []

    async def post(self, body: bytes) -> tuple[int, bytes]:
        sent = json.loads(body)
        self.methods.extend(c["method"] for c in (sent if isinstance(sent, list) else [sent]))
        return await super().post(body)


async def test_the_test_node_holds_no_account_so_an_unsigned_send_fails(anvil: AnvilProcess) -> None:
    rpc = JsonRpcClient(anvil.url)
    try:
        assert await rpc.call("eth_accounts") == []
        with pytest.raises(RpcError, match="No Signer"):
            await rpc.call("eth_sendTransaction", [{"from": "0x" + "11" * 20, "to": "0x" + "22" * 20}])
    finally:
        await rpc.close()


async def test_every_write_is_signed_here_and_sent_raw(anvil: AnvilProcess) -> None:
    poster = RecordingPoster(anvil.url)
    led = await make_ledger(anvil, rpc=JsonRpcClient(poster))
    try:
        rec = await write_history(led)
        assert [e.kind for e in await led.audit_trail(rec.transaction_id)][-2:] == [EntryKind.PAYMENT,
                                                                                    EntryKind.DISPUTE]
        trail = await led.audit_trail(rec.transaction_id)
        assert led.signer is not None
        assert isinstance(led.keys, KeyMap)
        # the entries come from the market's key, the payment from the buyer's, each recovered by the node
        assert trail[4].data["from"] == led.keys.keys[BUYER].address
        txs = [await led.rpc.call("eth_getTransactionByHash", [e.reference]) for e in trail]
        assert {tx["from"].lower() for i, tx in enumerate(txs) if i != 4} == {led.signer.address}
    finally:
        await led.close()
    assert "eth_sendRawTransaction" in poster.methods
    assert not {m for m in poster.methods if m in ("eth_sendTransaction", "eth_accounts", "eth_sign",
                                                    "eth_signTransaction") or m.startswith("personal_")}
    assert poster.methods.count("eth_chainId") == 1  # read once


async def test_eip1559_transactions_on_a_london_node(ledger: EvmLedger) -> None:
    receipt = await ledger.anchor(record())
    tx = await ledger.rpc.call("eth_getTransactionByHash", [receipt.reference])
    assert tx["type"] == "0x2"
    assert int(tx["chainId"], 16) == 31337
    assert int(tx["maxFeePerGas"], 16) >= int(tx["maxPriorityFeePerGas"], 16)


async def test_legacy_transactions_on_a_node_before_london() -> None:
    with anvil_or_skip("--hardfork", "berlin") as node:
        led = await make_ledger(node)
        try:
            rec = await write_history(led)
            trail = await led.audit_trail(rec.transaction_id)
            assert len(trail) == 6
            tx = await led.rpc.call("eth_getTransactionByHash", [trail[0].reference])
            assert tx["type"] == "0x0"
            assert int(tx["gasPrice"], 16) > 0
            assert int(tx["v"], 16) in (31337 * 2 + 35, 31337 * 2 + 36)  # EIP-155: the chain id is signed
        finally:
            await led.close()


async def test_a_ledger_without_a_signer_reads_and_verifies_but_does_not_write(ledger: EvmLedger) -> None:
    rec = record()
    receipt = await ledger.anchor(rec)
    auditor = EvmLedger(ledger.rpc, sender=ledger.sender, start_block=ledger.start_block)
    assert await auditor.verify(rec, receipt)
    assert await auditor.rebuild_index() >= 1
    with pytest.raises(LedgerError, match="no key to sign with"):
        await auditor.anchor(record())
    with pytest.raises(LedgerError, match="neither a signer nor a sender"):
        _ = EvmLedger(ledger.rpc).sender
    with pytest.raises(LedgerError, match="is not the signer's address"):
        EvmLedger(ledger.rpc, signer=EvmKey.generate(), sender="0x" + "11" * 20)
