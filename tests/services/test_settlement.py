"""Settlement through the real EmbeddedLedger: anchored at gate closure, both readings, paid or disputed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.services.conftest import QUARTER, T
from tests.services.test_deliveries_positions import TX1, TX2, TX3, delivery
from tests.services.test_gate import _market
from transactive.ledger import EmbeddedLedger, EntryKind, verify_file
from transactive.ledger.settlement import State, replay
from transactive.services import ManualClock, MarketConfig, MemoryStore, Settlement, VtnCore, VtnService


async def test_anchor_deliver_pay_and_dispute(tmp_path: Path, config: MarketConfig, clock: ManualClock) -> None:
    store = MemoryStore()
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
                                                                clock: ManualClock) -> None:
    store = MemoryStore()
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
