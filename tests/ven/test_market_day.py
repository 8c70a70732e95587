"""A market day with one VEN of every personality (and every template) through the real VTN service: the
runtime's own order of events (plan the next interval before the last one is metered), gate closure,
notices, deliveries and settlement on the embedded ledger; then each device's books and physics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from transactive.ledger import EmbeddedLedger
from transactive.ledger.settlement import State
from transactive.market import ReservePrices
from transactive.services import ManualClock, MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
from transactive.transport import MemoryTransport
from transactive.ven import VenClient, VenRuntime, create_pricing
from transactive.ven.personalities import (
    PERSONALITIES,
    TEMPLATES,
    EvPersonality,
    HomeostasisPersonality,
    Personality,
    PreconsumptionPersonality,
    ScheduledPersonality,
    create_personality,
)
from transactive.ven.runtime import IntervalRecord

MARKET = "urn:test:day"
Q = timedelta(minutes=15)
DAY = datetime(2026, 6, 21, 0, 0, tzinfo=UTC)
#: one VEN of every personality, and one of every template whose personality exists
KINDS = [*sorted(PERSONALITIES), *(t for t, spec in TEMPLATES.items() if spec.personality in PERSONALITIES)]
#: party -> its temperature after each interval (thermostats)
TEMPERATURES: dict[str, list[float]] = {}


def _market() -> MarketConfig:
    return MarketConfig(market_context=MARKET, market_party_id="market", min_price=Decimal("0.05"),
                        max_price=Decimal("0.30"), reserve=ReservePrices(grid_buy=0.30, grid_sell=0.05))


async def _run_day(service: VtnService, runtimes: list[VenRuntime], clock: ManualClock,
                   intervals: list[datetime]) -> None:
    """Every runtime's tender and settle steps and the VTN's gate closures, in the order of their times."""
    steps = []
    for start in intervals:
        steps.append((runtimes[0].tender_time(start), 0, "tender", start))
        steps.append((runtimes[0].config.gate_time(start), 1, "gate", start))
        steps.append((runtimes[0].settle_time(start), 2, "settle", start))
    for when, _order, what, start in sorted(steps):
        clock.set(when)
        if what == "gate":
            await service.close_gate(start)
            await asyncio.sleep(0.02)  # the notice readers book the transactions
            continue
        for rt in runtimes:
            await (rt.tender_interval(start) if what == "tender" else rt.settle_interval(start))


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[VenRuntime], SqliteStore, VtnService,
                                                           list[datetime]]:
    """The day's runtimes (each device's temperature after each interval, where it has one, in
    ``TEMPERATURES``), the VTN's store and service, the intervals."""
    tmp: Path = tmp_path_factory.mktemp("day")
    cfg = _market()
    clock = ManualClock(DAY - 2 * Q)
    store = SqliteStore(tmp / "vtn.db")
    intervals = [DAY + Q * k for k in range(96)]

    async def main() -> tuple[list[VenRuntime], VtnService]:
        ledger = EmbeddedLedger(tmp / "ledger.db", now=clock)
        await ledger.__aenter__()
        service = VtnService(VtnCore(cfg, store, clock), settlement=Settlement(store, ledger, config=cfg, clock=clock))
        transport = MemoryTransport(service)
        runtimes = []
        for i, kind in enumerate(KINDS):
            device = create_personality(kind, seed=i)

            def temperature(rec: IntervalRecord, device: Personality = device) -> None:
                if hasattr(device, "temperature_c"):
                    TEMPERATURES.setdefault(rec.party, []).append(device.temperature_c)

            runtimes.append(VenRuntime(VenClient(transport, f"{kind}-1"), device,
                                       create_pricing(("zic", "aa")[i % 2], seed=i), clock, market_context=MARKET,
                                       log=None, record=temperature))
        # a big PV roof, a big household and a community battery, so every device finds a counterpart
        runtimes.append(VenRuntime(VenClient(transport, "roof"), create_personality("pv", 40.0, seed=99),
                                   create_pricing("fixed"), clock, market_context=MARKET, log=None))
        runtimes.append(VenRuntime(VenClient(transport, "flats"), create_personality("load", 15.0, seed=98),
                                   create_pricing("fixed"), clock, market_context=MARKET, log=None))
        runtimes.append(VenRuntime(VenClient(transport, "bank"),
                                   create_personality("battery", 20.0, seed=97, params={"energy_kwh": 200.0}),
                                   create_pricing("fixed"), clock, market_context=MARKET, log=None))
        for rt in runtimes:
            await rt.start()
        await _run_day(service, runtimes, clock, intervals)
        for rt in runtimes:
            await rt.close()
        await transport.close()
        return runtimes, service

    runtimes, service = asyncio.run(main())
    return runtimes, store, service, intervals


def test_every_kind_took_part_for_the_whole_day(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, _store, _service, intervals = day
    for rt in runtimes:
        assert [r.interval_start for r in rt.records] == intervals
    traded = {rt.client.party_id for rt in runtimes if any(r.transactions for r in rt.records)}
    tendering = {rt.client.party_id for rt in runtimes if any(r.tenders for r in rt.records)}
    assert tendering - traded == set()  # every device that tendered found a counterpart at some point
    assert "meter-1" not in tendering  # a meter only reports


def test_books_add_up_for_every_device(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, store, service, intervals = day
    for rt in runtimes:
        for rec in rt.records:
            metered = rec.metered_bought_kwh + rec.metered_sold_kwh
            assert metered == pytest.approx(rec.delivered_kwh + rec.grid_import_kwh + rec.grid_export_kwh, abs=2e-3)
            assert rec.delivered_kwh <= rec.bought_kwh + rec.sold_kwh + 1e-9
            for txid in rec.transactions:
                assert store.delivery(txid) is not None
                assert service.settlement.state(txid) in (State.PAID, State.DISPUTED)
    for start in intervals:
        txs = store.transactions(interval_start=start)
        assert sum(t.quantity for t in txs if t.side.value == "buy") == \
            sum(t.quantity for t in txs if t.side.value == "sell")


def test_stored_energy_stays_within_its_limits(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, *_ = day
    for rt in runtimes:
        socs = [r.state_of_charge for r in rt.records if r.state_of_charge is not None]
        assert all(-1e-9 <= s <= 1 + 1e-9 for s in socs), rt.client.party_id


def _of(runtimes: list[VenRuntime], cls: type[Personality]) -> list[VenRuntime]:
    found = [rt for rt in runtimes if type(rt.personality) is cls]
    assert len(found) == 2  # the personality and its template
    return found


def test_evs_reach_their_target_by_departure(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, *_ = day
    for rt in _of(runtimes, EvPersonality):
        ev = rt.personality
        assert isinstance(ev, EvPersonality)
        leaving = [r for r in rt.records if r.sim_start + Q == DAY + timedelta(hours=ev.departure_h)]
        assert leaving[0].state_of_charge is not None
        assert leaving[0].state_of_charge >= ev.target_soc - 1e-6
        assert sum(r.bought_kwh for r in rt.records) > 0  # and it bought some of it on the market


def test_thermostats_keep_their_comfort_bounds(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, *_ = day
    for rt in _of(runtimes, HomeostasisPersonality):
        device = rt.personality
        assert isinstance(device, HomeostasisPersonality)
        temperatures = TEMPERATURES[rt.client.party_id]
        assert len(temperatures) == 96
        assert all(device.low_c - 1e-6 <= t <= device.high_c + 1e-6 for t in temperatures)
        assert sum(r.metered_bought_kwh for r in rt.records) > 0


def test_the_scheduled_task_runs_once_in_its_window_with_its_energy(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, *_ = day
    for rt in _of(runtimes, ScheduledPersonality):
        task = rt.personality
        assert isinstance(task, ScheduledPersonality)
        running = [r for r in rt.records if r.metered_bought_kwh > 0]
        hours = task.duration.total_seconds() / 3600
        assert sum(r.metered_bought_kwh for r in running) == pytest.approx(task.capacity_kw * hours)
        assert DAY + task.earliest <= running[0].sim_start
        assert running[-1].sim_start + Q <= DAY + task.latest_end
        assert [r.sim_start for r in running] == [running[0].sim_start + Q * k for k in range(len(running))]


def test_stores_stay_above_their_minimum_and_the_meter_only_reports(day) -> None:  # type: ignore[no-untyped-def]
    runtimes, *_ = day
    for rt in _of(runtimes, PreconsumptionPersonality):
        store = rt.personality
        assert isinstance(store, PreconsumptionPersonality)
        assert all(r.state_of_charge is not None and r.state_of_charge >= store.min_fraction - 1e-6
                   for r in rt.records)
    [meter] = [rt for rt in runtimes if rt.client.party_id == "meter-1"]
    assert all(not r.tenders and not r.transactions for r in meter.records)
    assert sum(r.grid_import_kwh for r in meter.records) == pytest.approx(sum(r.metered_bought_kwh
                                                                              for r in meter.records))
