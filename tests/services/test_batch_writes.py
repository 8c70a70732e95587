"""The store's batch writes (a gate's transactions and tender updates, a batch of settlement steps) and the step
counts, on both stores: the same rows as one by one, all or none. Also the interface's default implementations
(one by one), run on the same real stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.services.conftest import NOW, QUARTER, T
from transactive.emix import Side
from transactive.services.lifecycle import TenderStatus
from transactive.services.store import SettlementStep, Store, StoreError, TenderRow, TransactionRow


def _tx(n: int, party: str = "p") -> TransactionRow:
    return TransactionRow(transaction_id=f"txn-{n:04d}", party_id=f"{party}{n}", counterparty_id="market",
                          tender_id=f"t{n}", tender_seq=0, side=Side.BUY if n % 2 else Side.SELL, interval_start=T,
                          interval_duration=QUARTER, quantity=Decimal("1.50"), price=Decimal(f"0.{n:04d}"),
                          currency="USD", document_hash=f"h{n}", created_at=NOW + timedelta(microseconds=n))


def _step(txid: str, seq: int, event: str = "anchor") -> SettlementStep:
    return SettlementStep(txid, seq, event, "anchored", NOW, {"state": "anchored", "n": seq})


def _tender(n: int) -> TenderRow:
    return TenderRow(party_id=f"p{n}", tender_id=f"t{n}", seq=0, interval_start=T, side=Side.SELL,
                     price=Decimal("0.10"), quantity=Decimal("2.0"), status=TenderStatus.OPEN, accepted_at=NOW)


# each batch method, as the store implements it and as the interface's default (one by one) does
_ADD_TRANSACTIONS: dict[str, Callable[[Store, Sequence[TransactionRow]], None]] = {
    "store": lambda s, rows: s.add_transactions(rows), "default": lambda s, rows: Store.add_transactions(s, rows)}
_UPDATE_TENDERS: dict[str, Callable[[Store, Sequence[TenderRow]], None]] = {
    "store": lambda s, rows: s.update_tenders(rows), "default": lambda s, rows: Store.update_tenders(s, rows)}
_ADD_STEPS: dict[str, Callable[[Store, Sequence[SettlementStep]], None]] = {
    "store": lambda s, steps: s.add_settlement_steps(steps),
    "default": lambda s, steps: Store.add_settlement_steps(s, steps)}
_COUNTS: dict[str, Callable[[Store, list[str]], dict[str, int]]] = {
    "store": lambda s, ids: s.settlement_step_counts(ids),
    "default": lambda s, ids: Store.settlement_step_counts(s, ids)}
WAYS = pytest.mark.parametrize("way", ["store", "default"])


@WAYS
def test_transactions_written_together_read_back_as_written_one_by_one(store: Store, way: str) -> None:
    rows = [_tx(n) for n in range(1, 6)]
    with store.transaction():
        _ADD_TRANSACTIONS[way](store, rows)
    assert store.transactions(interval_start=T) == rows
    assert store.transaction_by_id("txn-0003") == rows[2]
    _ADD_TRANSACTIONS[way](store, [])  # nothing to write: nothing happens
    assert len(store.transactions()) == 5


@WAYS
def test_a_refused_transaction_refuses_its_whole_batch(store: Store, way: str) -> None:
    store.add_transaction(_tx(2))
    with pytest.raises(StoreError):  # txn-0002 is there already (on PostgreSQL: a conflict, also a StoreError)
        _ADD_TRANSACTIONS[way](store, [_tx(1), _tx(2), _tx(3)])
    assert [r.transaction_id for r in store.transactions()] == ["txn-0002"]
    # inside a caller's transaction, in a savepoint of its own: the caller's other writes stand
    with store.transaction():
        store.add_transaction(_tx(4))
        with pytest.raises(StoreError), store.transaction():
            _ADD_TRANSACTIONS[way](store, [_tx(5), _tx(2)])
    assert [r.transaction_id for r in store.transactions()] == ["txn-0002", "txn-0004"]


@WAYS
def test_tender_rows_updated_together(store: Store, way: str) -> None:
    for n in range(1, 5):
        store.add_tender(f"p{n}", f"t{n}", f"d{n}", "<tender/>", [_tender(n)])
    rows = store.tenders(interval_start=T)
    updated = [replace(rows[0], status=TenderStatus.CLEARED, filled=Decimal("1.5")),
               replace(rows[2], status=TenderStatus.EXPIRED)]
    with store.transaction():
        _UPDATE_TENDERS[way](store, updated)
    after = store.tenders(interval_start=T)
    assert [(r.tender_id, r.status, r.filled) for r in after] == [
        ("t1", TenderStatus.CLEARED, Decimal("1.5")), ("t2", TenderStatus.OPEN, Decimal(0)),
        ("t3", TenderStatus.EXPIRED, Decimal(0)), ("t4", TenderStatus.OPEN, Decimal(0))]


@WAYS
def test_settlement_steps_written_together_and_counted(store: Store, way: str) -> None:
    _ADD_STEPS[way](store, [_step("a", 1), _step("b", 1), _step("a", 2, "delivery")])
    assert store.settlement_steps("a") == [_step("a", 1), _step("a", 2, "delivery")]
    assert store.settlement_steps("b") == [_step("b", 1)]
    # every id asked for is answered, once, 0 for a transaction without steps
    assert _COUNTS[way](store, ["a", "c", "b", "a"]) == {"a": 2, "c": 0, "b": 1}
    assert _COUNTS[way](store, []) == {}
    with pytest.raises(StoreError):  # ("b", 1) is taken: none of the batch is written
        _ADD_STEPS[way](store, [_step("c", 1), _step("b", 1)])
    assert store.settlement_steps("c") == []


def test_step_counts_for_many_transactions_at_once(store: Store) -> None:
    ids = [f"txn-{n:05d}" for n in range(1200)]  # more than one statement's worth of parameters on SQLite
    store.add_settlement_steps([_step(txid, 1) for txid in ids[::3]])
    counts = store.settlement_step_counts(ids)
    assert list(counts) == ids
    assert counts == {txid: 1 if n % 3 == 0 else 0 for n, txid in enumerate(ids)}


@pytest.mark.parametrize("way", ["store", "default"])
def test_transactions_read_by_their_ids(store: Store, way: str) -> None:
    rows = [_tx(n) for n in range(1, 4)]
    store.add_transactions(rows)
    by_id = store.transactions_by_id if way == "store" else lambda ids: Store.transactions_by_id(store, ids)
    # in the order asked, an id asked twice once, an unknown id left out
    found = by_id(["txn-0003", "nope", "txn-0001", "txn-0003"])
    assert list(found) == ["txn-0003", "txn-0001"]
    assert found == {"txn-0003": rows[2], "txn-0001": rows[0]}
    assert by_id([]) == {}
    many = [f"x{n}" for n in range(700)] + ["txn-0002"]  # more than one statement's worth on SQLite
    assert by_id(many) == {"txn-0002": rows[1]}
