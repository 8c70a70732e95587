"""The VEN runtime over the in-memory transport with a manual clock: tenders before gate closure, notices,
deliveries, settlement and positions that add up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from transactive.ledger import EmbeddedLedger
from transactive.ledger.settlement import State
from transactive.market import ReservePrices
from transactive.services import ManualClock, MarketConfig, MemoryStore, Settlement, SqliteStore, VtnCore, VtnService
from transactive.transport import MemoryTransport
from transactive.ven import VenClient, VenRuntime, create_personality, create_pricing
from transactive.ven.runtime import TimeMap

MARKET = "urn:test:microgrid"
Q = timedelta(minutes=15)
NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def market() -> MarketConfig:
    return MarketConfig(market_context=MARKET, market_party_id="market", min_price=Decimal("0.05"),
                        max_price=Decimal("0.30"), reserve=ReservePrices(grid_buy=0.30, grid_sell=0.05))


async def settle_all(service: VtnService, runtimes: list[VenRuntime], clock: ManualClock,
                     intervals: list[datetime]) -> None:
    for start in intervals:
        clock.set(runtimes[0].tender_time(start))
        for rt in runtimes:
            await rt.tender_interval(start)
        assert all(clock() < rt.config.gate_time(start) for rt in runtimes)  # before gate closure
        clock.set(rt.config.gate_time(start))
        await service.close_gate(start)
        await asyncio.sleep(0.01)  # let the notice readers run
        clock.set(rt.settle_time(start))
        for rt in runtimes:
            await rt.settle_interval(start)


async def test_three_vens_trade_report_and_settle(tmp_path: Path) -> None:
    cfg = market()
    clock = ManualClock(NOON - timedelta(hours=1))
    store = SqliteStore(tmp_path / "vtn.db")
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        service = VtnService(VtnCore(cfg, store, clock), settlement=Settlement(store, ledger, config=cfg, clock=clock))
        transport = MemoryTransport(service)
        lines: list[str] = []
        runtimes = [
            VenRuntime(VenClient(transport, party), create_personality(kind, cap, seed=i),
                       create_pricing(strategy, seed=i), clock, market_context=MARKET, log=lines.append)
            for i, (party, kind, cap, strategy) in enumerate([("pv-1", "pv", 8.0, "fixed"),
                                                               ("home-1", "load", 3.0, "fixed"),
                                                               ("bat-1", "battery", 2.0, "zic")])
        ]
        for rt in runtimes:
            await rt.start()
        intervals = [NOON + Q * k for k in range(4)]
        await settle_all(service, runtimes, clock, intervals)

        assert len(lines) == 12
        pv, home, bat = runtimes
        assert all(r.bought_kwh == 0 for r in pv.records)  # PV never buys
        assert all(r.sold_kwh == 0 for r in home.records)
        assert sum(r.sold_kwh for r in pv.records) > 0
        assert sum(r.bought_kwh for r in home.records) > 0
        for rt in runtimes:
            for rec in rt.records:
                # every transaction got a delivery, settled on the ledger
                for txid in rec.transactions:
                    assert store.delivery(txid) is not None
                    assert service.settlement is not None
                    assert service.settlement.state(txid) in (State.PAID, State.DISPUTED)
                # the runtime's books agree with the VTN's position
                pos = await rt.client.position(rec.interval_start, rec.interval_start + Q)
                assert float(pos.bought_kwh) == rec.bought_kwh
                assert float(pos.sold_kwh) == rec.sold_kwh
                # metered energy = delivered locally + imbalance with the grid
                metered = rec.metered_bought_kwh + rec.metered_sold_kwh
                assert abs(metered - rec.delivered_kwh - rec.grid_import_kwh - rec.grid_export_kwh) < 1e-3
        # the market is a pool: what was bought was sold
        for start in intervals:
            txs = store.transactions(interval_start=start)
            bought = sum(t.quantity for t in txs if t.side.value == "buy")
            sold = sum(t.quantity for t in txs if t.side.value == "sell")
            assert bought == sold
        state = bat.personality.soc  # type: ignore[attr-defined]
        assert 0.0 <= state <= 1.0
        for rt in runtimes:
            await rt.close()
        await transport.close()


async def test_run_loop_tenders_before_each_gate_and_stops_after_n_intervals() -> None:
    cfg = market()
    clock = ManualClock(NOON - timedelta(minutes=15))
    service = VtnService(VtnCore(cfg, MemoryStore(), clock))
    transport = MemoryTransport(service)
    seller = VenClient(transport, "pv-x")
    await seller.register()
    await seller.market_context(MARKET)
    tender_clock: list[tuple[datetime, datetime]] = []

    async def sleep_until(when: datetime) -> None:
        """Advance the manual clock, closing every gate passed on the way (the VTN's scheduler)."""
        start = cfg.next_open_interval(clock())
        while cfg.gate_time(start) <= when:
            clock.set(cfg.gate_time(start))
            await service.close_gate(start)
            await asyncio.sleep(0.01)
            start += cfg.interval
        if when > clock():
            clock.set(when)

    home = VenRuntime(VenClient(transport, "home-1"), create_personality("load", 4.0), create_pricing("fixed"), clock,
                      sleep_until=sleep_until, log=None, time_map=TimeMap(NOON, Q, NOON.replace(hour=19), Q))
    await home.start()
    original = home.tender_interval

    async def spy(start: datetime) -> list[str]:
        tender_clock.append((clock(), start))
        await seller.tender(start, "sell", 0.2, "0.10")  # some supply for every interval
        return await original(start)

    home.tender_interval = spy  # type: ignore[method-assign]
    records = await home.run(intervals=3)
    assert [r.interval_start for r in records] == [NOON, NOON + Q, NOON + 2 * Q]
    assert all(now < cfg.gate_time(start) for now, start in tender_clock)
    assert all(r.bought_kwh == 0.2 for r in records)  # the seller's 0.2 kWh, every interval
    assert all(r.sim_start.hour == 19 for r in records)  # the personality lives in simulated time
    assert all(r.grid_import_kwh > 0 for r in records)  # the rest of an evening's need comes from the grid
    assert records[0].clearing_price is not None
    await home.close()
    await transport.close()
