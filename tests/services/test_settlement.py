"""Settlement through the real EmbeddedLedger: anchored at gate closure, both readings, paid or disputed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.services.conftest import QUARTER, T, create, product, register
from tests.services.test_deliveries_positions import TX1, TX2, TX3, delivery
from tests.services.test_gate import _market
from tests.services.test_group_commit import CommitFails
from transactive.ledger import (
    EmbeddedLedger,
    EntryKind,
    LedgerUnavailableError,
    UnknownTransactionError,
    verify_file,
)
from transactive.ledger.settlement import InvalidSnapshotError, State, replay
from transactive.services import ManualClock, MarketConfig, MemoryStore, Settlement, VtnCore, VtnService
from transactive.services.store import SettlementStep, Store, StoreError


async def test_anchor_deliver_pay_and_dispute(tmp_path: Path, config: MarketConfig, clock: ManualClock,
                                              store: Store) -> None:
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        tokens = _market(service.core)
        await service.close_gate(T)
        assert {t: settlement.state(t) for t in (TX1, TX2, TX3)} == dict.fromkeys((TX1, TX2, TX3), State.ANCHORED)
        await service.close_gate(T)  # again: nothing anchored twice
        assert [e.kind for e in await ledger.audit_trail(TX1)] == [EntryKind.ANCHOR]

        clock.set(T + QUARTER)
        await service.handle(delivery("s1", TX1, 3.0), token=tokens["s1"])  # exactly as agreed
        await service.handle(delivery("s2", TX2, 0.5), token=tokens["s2"])  # half of 1 kWh: outside 5 %
        await service.handle(delivery("b", TX3, 3.9, injection=False), token=tokens["b"])  # within 5 %
        assert settlement.state(TX1) is State.PAID
        assert settlement.state(TX2) is State.DISPUTED
        assert settlement.state(TX3) is State.PAID

        trail = await ledger.audit_trail(TX3)
        assert [e.kind for e in trail] == [EntryKind.ANCHOR, EntryKind.DELIVERY, EntryKind.DELIVERY,
                                           EntryKind.PAYMENT_REQUEST, EntryKind.PAYMENT]
        request = trail[3].data
        assert (request["payer"], request["payee"], request["amount"]) == ("b", "market-lme", "0.66")  # 3.9 x 0.17
        assert replay(trail) is State.PAID
        dispute = (await ledger.audit_trail(TX2))[-1]
        assert dispute.kind is EntryKind.DISPUTE
        assert dispute.data["reason"] == "delivery_outside_tolerance"
        # the settlement log in the store mirrors the ledger
        assert [s.state for s in store.settlement_steps(TX3)] == ["anchored", "payment_requested", "paid"]
        # a repeated delivery report changes nothing on the ledger
        await service.handle(delivery("b", TX3, 3.9, injection=False, request_id="d"), token=tokens["b"])
        assert len(await ledger.audit_trail(TX3)) == 5
    report = verify_file(tmp_path / "ledger.db", workers=1)
    assert report.valid
    assert report.entries == 3 + 2 * 3 + 2 + 2 + 1


async def test_without_auto_pay_the_payment_waits_for_the_buyer(tmp_path: Path, config: MarketConfig,
                                                                clock: ManualClock, store: Store) -> None:
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock, auto_pay=False)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        tokens = _market(service.core)
        await service.close_gate(T)
        clock.set(T + QUARTER)
        await service.handle(delivery("b", TX3, 4.0, injection=False), token=tokens["b"])
        assert settlement.state(TX3) is State.PAYMENT_REQUESTED
        # a restarted driver resumes from the log
        resumed = Settlement(store, ledger, config=config, clock=clock, auto_pay=False)
        assert await resumed.pay(TX3, Decimal("0.68")) is State.PAID


def _big_market(core: VtnCore, pairs: int) -> None:
    for i in range(pairs):
        for party, side, price in ((f"s{i}", "sell", "0.10"), (f"b{i}", "buy", "0.20")):
            token = register(core, party)
            core.handle(create(party, f"{party}-t", product(side, 1, price)), token=token)


async def test_the_anchors_of_a_gate_are_logged_in_few_store_commits(tmp_path: Path, config: MarketConfig,
                                                                     clock: ManualClock) -> None:
    store = CommitFails(tmp_path / "vtn.db")
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        _big_market(service.core, 20)
        result = await service.close_gate(T)  # 64 concurrent anchoring workers, as the gate scheduler runs
        assert len(result.transactions) == 40
        # one commit per transaction before; now the steps logged in the same turn of the loop share one
        assert settlement.log_commits <= 4
        for row in result.transactions:
            assert [(s.seq, s.event, s.state) for s in store.settlement_steps(row.transaction_id)] == [
                (1, "anchor", "anchored")]
    store.close()


async def test_transactions_anchored_by_overlapping_workers_are_anchored_once(
        tmp_path: Path, config: MarketConfig, clock: ManualClock, store: Store) -> None:
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        core = VtnCore(config, store, clock)
        _big_market(core, 10)
        rows = core.close_gate(T).transactions
        # the second worker reads its rows while the first one uses them: it must not trust what it read
        # before taking each transaction's lock
        first, second, third = await asyncio.gather(settlement.anchor(rows), settlement.anchor(rows[::-1]),
                                                    settlement.anchor(rows[5:] + rows[:5]))
        assert first == second == third == {row.transaction_id: State.ANCHORED for row in rows}
        for row in rows:
            assert [(s.seq, s.event) for s in store.settlement_steps(row.transaction_id)] == [(1, "anchor")]
            assert [e.kind for e in await ledger.audit_trail(row.transaction_id)] == [EntryKind.ANCHOR]
        assert settlement._locks == {}  # every lock entry dropped once nobody uses it


async def test_a_step_that_cannot_be_logged_fails_only_its_own_caller(tmp_path: Path, config: MarketConfig,
                                                                      clock: ManualClock) -> None:
    class Refuses(CommitFails):
        refuse: str | None = None

        def add_settlement_step(self, step: SettlementStep) -> None:
            if step.transaction_id == self.refuse:
                raise StoreError("constraint violated (simulated)")
            super().add_settlement_step(step)

        def add_settlement_steps(self, steps: Sequence[SettlementStep]) -> None:
            # a statement for many rows fails as a whole when one of them is refused
            if any(step.transaction_id == self.refuse for step in steps):
                raise StoreError("constraint violated (simulated)")
            super().add_settlement_steps(steps)

    store = Refuses(tmp_path / "vtn.db")
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        core = VtnCore(config, store, clock)
        _market(core)
        rows = core.close_gate(T).transactions
        store.refuse = rows[1].transaction_id
        outcomes = await asyncio.gather(*(settlement.anchor([row]) for row in rows), return_exceptions=True)
        assert isinstance(outcomes[1], StoreError)
        assert outcomes[0] == {rows[0].transaction_id: State.ANCHORED}
        assert outcomes[2] == {rows[2].transaction_id: State.ANCHORED}
        assert store.settlement_steps(rows[1].transaction_id) == []
        # the refused one is retried later and found on the ledger already: logged, not anchored twice
        store.refuse = None
        assert await settlement.anchor([rows[1]]) == {rows[1].transaction_id: State.ANCHORED}
        assert [e.kind for e in await ledger.audit_trail(rows[1].transaction_id)] == [EntryKind.ANCHOR]

        # a failing commit fails every step of the batch and logs none of them
        store2 = Refuses(tmp_path / "vtn2.db")
        settlement2 = Settlement(store2, ledger, config=config, clock=clock)
        core2 = VtnCore(config, store2, clock)
        _market(core2)
        rows2 = core2.close_gate(T).transactions
        store2.failing = True
        outcomes = await asyncio.gather(*(settlement2.anchor([row]) for row in rows2), return_exceptions=True)
        assert all(isinstance(o, StoreError) for o in outcomes)
        store2.failing = False
        assert all(store2.settlement_steps(row.transaction_id) == [] for row in rows2)
        store2.close()
    store.close()


async def test_the_logged_snapshot_keeps_its_format_and_restores_the_machine(
        tmp_path: Path, config: MarketConfig, clock: ManualClock, store: Store) -> None:
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock, auto_pay=False)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        tokens = _market(service.core)
        await service.close_gate(T)
        clock.set(T + QUARTER)
        await service.handle(delivery("b", TX3, 4.0, injection=False), token=tokens["b"])
        anchored, requested = store.settlement_steps(TX3)
        # the keys and string forms stored before SettlementMachine.snapshot existed: old logs stay readable
        assert anchored.snapshot == {"readings": {}, "delivered_kwh": None, "amount_due": None, "deadline": None,
                                     "paid": "0"}
        assert requested.snapshot == {"readings": {"b": "4.0", "market-lme": "4.000"}, "delivered_kwh": "4.0",
                                      "amount_due": "0.68", "deadline": "2026-11-22T12:15:00+00:00", "paid": "0"}
        machine = settlement.machine(TX3)
        assert machine.state is State.PAYMENT_REQUESTED
        assert machine.readings == {"b": Decimal("4.0"), "market-lme": Decimal("4.000")}
        assert (machine.delivered_kwh, machine.amount_due, machine.paid) == (Decimal("4.0"), Decimal("0.68"), 0)
        assert machine.deadline == T + QUARTER + timedelta(days=1)
        assert machine.snapshot() == requested.snapshot


async def test_a_corrupt_logged_snapshot_is_refused_naming_the_field(tmp_path: Path, config: MarketConfig,
                                                                     clock: ManualClock, store: Store) -> None:
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock, auto_pay=False)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        _market(service.core)
        await service.close_gate(T)
        store.add_settlement_step(SettlementStep(TX3, 2, "delivery", "payment_requested", T, {
            "readings": {"b": "4.0", "market-lme": "4.000"}, "delivered_kwh": "4.0", "amount_due": "0.68",
            "deadline": "2026-11-22T12:15:00+00:00", "paid": "a lot"}))
        with pytest.raises(InvalidSnapshotError, match=f"settlement snapshot of {TX3}: paid"):
            settlement.machine(TX3)


async def test_transaction_locks_are_dropped_once_nobody_holds_or_awaits_them(
        tmp_path: Path, config: MarketConfig, clock: ManualClock) -> None:
    store = MemoryStore()
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock, auto_pay=False)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        _big_market(service.core, 20)
        rows = (await service.close_gate(T)).transactions  # 40 transactions, anchored by concurrent workers
        assert len(rows) == 40
        assert settlement._locks == {}
        ids = [row.transaction_id for row in rows]
        assert set((await settlement.anchor(rows)).values()) == {State.ANCHORED}
        clock.set(T + 3 * QUARTER)
        await asyncio.gather(*(settlement.tick(ids) for _ in range(3)))
        assert settlement._locks == {}

        # a held lock makes the next caller wait; both are forgotten when done
        order: list[str] = []

        async def holder() -> None:
            async with settlement._lock(ids[0]):
                order.append("held")
                await asyncio.sleep(0.01)
                order.append("released")

        async def waiter() -> None:
            async with settlement._lock(ids[0]):
                order.append("waited")

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        second = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        assert list(settlement._locks) == [ids[0]]
        assert settlement._locks[ids[0]].users == 2
        await asyncio.gather(first, second)
        assert order == ["held", "released", "waited"]
        assert settlement._locks == {}

        # a waiter cancelled while waiting is forgotten too
        async def cancelled_waiter() -> None:
            async with settlement._lock(ids[1]):
                raise AssertionError("never gets the lock")

        async with settlement._lock(ids[1]):
            task = asyncio.create_task(cancelled_waiter())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert settlement._locks[ids[1]].users == 1
        assert settlement._locks == {}


async def test_an_anchor_the_ledger_refuses_raises_the_ledgers_own_error(tmp_path: Path, config: MarketConfig,
                                                                         clock: ManualClock) -> None:
    store = MemoryStore()
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock, busy_timeout=0.05) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        core = VtnCore(config, store, clock)
        _market(core)
        rows = core.close_gate(T).transactions
        blocker = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # something else holds the ledger database's write lock
        try:
            with pytest.raises(LedgerUnavailableError) as info:
                await settlement.anchor(rows[:1])
            assert not isinstance(info.value, UnknownTransactionError)  # not the audit trail's answer
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.settlement_steps(rows[0].transaction_id) == []
        assert await settlement.anchor(rows[:1]) == {rows[0].transaction_id: State.ANCHORED}
