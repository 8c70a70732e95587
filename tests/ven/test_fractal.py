"""The fractal upstream: a child VTN's net unmatched position appears at the parent as one tender."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.services import ManualClock, MarketConfig, MemoryStore, VtnCore, VtnService
from transactive.transport import MemoryTransport
from transactive.ven import join_market
from transactive.vtn.fractal import run_upstream, upstream_tender

T = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)


def child_config() -> MarketConfig:
    return MarketConfig(market_context="urn:test:child", market_party_id="child-market", min_price=Decimal("0.05"),
                        max_price=Decimal("0.30"), reserve=BAND, gate_closure=timedelta(minutes=5))


def parent_config() -> MarketConfig:
    # the parent's gate closes after the child's: gate times nest
    return MarketConfig(market_context="urn:test:parent", market_party_id="grid-market",
                        gate_closure=timedelta(minutes=2), max_price=Decimal("1"))


async def wait_for(predicate: object, timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_child_microgrids_net_position_is_one_tender_at_the_parent() -> None:
    clock = ManualClock(T - timedelta(minutes=10))
    child_cfg, parent_cfg = child_config(), parent_config()
    child = VtnService(VtnCore(child_cfg, MemoryStore(), clock))
    parent = VtnService(VtnCore(parent_cfg, MemoryStore(), clock))
    local, upstream = MemoryTransport(child), MemoryTransport(parent)
    stop = asyncio.Event()
    task = asyncio.create_task(run_upstream(child, child_cfg, upstream, "mg-1", stop=stop))
    await wait_for(lambda: parent.core.store.registered_parties() == ["mg-1"])

    # inside the microgrid: 5 kWh of PV for sale, 2 + 1.5 kWh of demand -> 1.5 kWh long
    pv = await join_market(local, "pv-1", "urn:test:child")
    h1 = await join_market(local, "home-1", "urn:test:child")
    h2 = await join_market(local, "home-2", "urn:test:child")
    await pv.tender(T, "sell", 5.0, "0.10")
    await h1.tender(T, "buy", 2.0, "0.20")
    await h2.tender(T, "buy", 1.5, "0.25")
    # a buyer at the parent for the microgrid's surplus
    town = await join_market(upstream, "town", "urn:test:parent")
    await town.tender(T, "buy", 4.0, "0.12")

    clock.set(child_cfg.gate_time(T))
    result = await child.close_gate(T)
    assert result.quantity == Decimal("3.5")
    assert child.net_position(T) == Decimal("-1.5")
    await wait_for(lambda: parent.core.store.tenders(party_id="mg-1"))
    [row] = parent.core.store.tenders(party_id="mg-1")
    assert (row.side, row.quantity, row.interval_start) == (Side.SELL, Decimal("1.5"), T)
    assert row.price == Decimal("0.05")  # at least what the main grid would pay the microgrid
    # quantities are conserved: local matches + the upward net = the local supply
    assert result.quantity + row.quantity == Decimal("5")
    assert parent.core.store.registered_parties() == ["mg-1", "town"]  # members stay inside

    clock.set(parent_cfg.gate_time(T))
    parent_result = await parent.close_gate(T)
    [tx] = [t for t in parent_result.transactions if t.party_id == "mg-1"]
    assert tx.quantity == Decimal("1.5")
    # after the interval the child reports its delivery upward
    clock.set(T + parent_cfg.interval)
    await wait_for(lambda: parent.core.store.delivery(tx.transaction_id) is not None)
    assert parent.core.store.delivery(tx.transaction_id).quantity == Decimal("1.5")  # type: ignore[union-attr]

    stop.set()
    await asyncio.wait_for(task, 2)
    await local.close()
    await upstream.close()


def test_upstream_tender_sides_prices_and_minimums() -> None:
    child, parent = child_config(), parent_config()
    assert upstream_tender(child, parent, Decimal("2.5")) == (Side.BUY, Decimal("2.500"), Decimal("0.3000"))
    assert upstream_tender(child, parent, Decimal("-0.75")) == (Side.SELL, Decimal("0.750"), Decimal("0.0500"))
    assert upstream_tender(child, parent, Decimal(0)) is None
    assert upstream_tender(child, parent, Decimal("0.0004")) is None  # below the parent's minimum
