"""Personalities: PV sells only its surplus, a load buys its need, the battery keeps to its limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import (
    PERSONALITIES,
    BatteryPersonality,
    LoadPersonality,
    PvPersonality,
    create_personality,
)

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
DAY = datetime(2026, 6, 21, tzinfo=UTC)
Q = timedelta(minutes=15)
SLOTS = [DAY + Q * k for k in range(96)]


def test_pv_sells_only_its_surplus_and_never_buys() -> None:
    pv = PvPersonality(5.0, seed=3)
    total = 0.0
    for start in SLOTS:
        needs = pv.plan(start, Q, BAND)
        assert all(n.side is Side.SELL for n in needs)
        produced = pv.production_kwh(start, Q)
        if produced <= 0:
            assert needs == []
        else:
            [need] = needs
            assert need.quantity_kwh == pytest.approx(produced)
            assert need.quantity_kwh <= 5.0 * 0.25 + 1e-9  # never more than capacity x hours
            assert need.limit_price == BAND.grid_sell
        total += produced
        assert pv.metered(start, Q).bought_kwh == 0.0
    assert pv.plan(DAY + timedelta(hours=2), Q, BAND) == []  # night
    assert 5 < total < 40  # a 5 kW system on a summer day


def test_load_buys_its_need_at_the_retail_price() -> None:
    load = LoadPersonality(3.0, seed=1)
    for start in SLOTS:
        [need] = load.plan(start, Q, BAND)
        assert need.side is Side.BUY
        assert need.quantity_kwh == pytest.approx(load.forecast_kwh(start, Q))
        assert need.limit_price == BAND.grid_buy
        metered = load.metered(start, Q)
        assert metered.sold_kwh == 0.0
        assert metered.bought_kwh == pytest.approx(need.quantity_kwh, rel=0.1)
    evening = load.forecast_kwh(DAY + timedelta(hours=19), Q)
    night = load.forecast_kwh(DAY + timedelta(hours=3), Q)
    assert evening > 3 * night


def test_personalities_are_deterministic_with_a_seed_and_order_independent() -> None:
    a, b = PvPersonality(4.0, seed=7), PvPersonality(4.0, seed=7)
    forward = [a.metered(s, Q) for s in SLOTS]
    backward = [b.metered(s, Q) for s in reversed(SLOTS)][::-1]
    assert forward == backward
    assert PvPersonality(4.0, seed=8).metered(SLOTS[48], Q) != forward[48]


def test_battery_never_exceeds_its_state_of_charge_or_power_and_buys_low_sells_high() -> None:
    bat = BatteryPersonality(2.0, seed=0, energy_kwh=4.0, soc=0.5)
    power_kwh = 2.0 * 0.25
    # a price path: cheap at midday, dear in the evening
    path = [0.08 if 40 <= k < 64 else 0.25 if 72 <= k < 88 else 0.15 for k in range(96)] * 2
    bought = sold = 0.0
    bought_kwh = sold_kwh = 0.0
    for k, price in enumerate(path):
        start = DAY + Q * k
        needs = bat.plan(start, Q, BAND)
        buy_limit, sell_limit = bat.limits(BAND)
        assert buy_limit < sell_limit
        for need in needs:
            assert 0 < need.quantity_kwh <= power_kwh + 1e-12
            if need.side is Side.BUY:
                assert need.quantity_kwh <= (bat.energy_kwh - bat.stored_kwh) / bat.efficiency + 1e-12
            else:
                assert need.quantity_kwh <= bat.stored_kwh * bat.efficiency + 1e-12
        # a uniform-price market: a buy executes if the price is at or below the bid, a sell at or above
        for need in needs:
            if need.side is Side.BUY and price <= need.limit_price:
                bat.on_transaction(start, Side.BUY, need.quantity_kwh, price)
                bought += need.quantity_kwh * price
                bought_kwh += need.quantity_kwh
            elif need.side is Side.SELL and price >= need.limit_price:
                bat.on_transaction(start, Side.SELL, need.quantity_kwh, price)
                sold += need.quantity_kwh * price
                sold_kwh += need.quantity_kwh
        assert 0.0 <= bat.stored_kwh <= bat.energy_kwh + 1e-12
        metered = bat.metered(start, Q)
        assert metered.bought_kwh <= power_kwh + 1e-12
        assert metered.sold_kwh <= power_kwh + 1e-12
        bat.on_price(start, price)
    assert sold_kwh > 0
    assert bought_kwh > 0
    assert sold / sold_kwh > bought / bought_kwh + 0.05  # bought low, sold high
    low, high = bat.limits(BAND)
    assert low <= 0.15 <= high


def test_the_registry_names_every_personality() -> None:
    assert set(PERSONALITIES) == {"pv", "load", "battery", "homeostasis", "preconsumption", "scheduled", "ev",
                                  "meter"}
    assert isinstance(create_personality("battery", 3.0), BatteryPersonality)
    with pytest.raises(ValueError, match="known: battery, ev, homeostasis, load, meter, preconsumption, pv, "
                                         "scheduled, t1, t2, t3, t4"):
        create_personality("toaster")
    with pytest.raises(ValueError, match="positive"):
        create_personality("pv", -1.0)
