"""The thermal store: buys ahead when cheap, never lets the store fall below its minimum, conserves energy."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.ven.personalities.market_loop import Step, accept_all, accept_at_price, accept_none, run_market
from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import PERSONALITIES, EventKind, create_personality
from transactive.ven.personalities.preconsumption import (
    DRAW_PROFILE,
    PreconsumptionPersonality,
    StoreState,
    daily_share,
)

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
START = datetime(2026, 1, 12, tzinfo=UTC)
Q = timedelta(minutes=15)
DAYS = 10


def _state(step: Step) -> StoreState:
    assert isinstance(step.state_after, StoreState)
    return step.state_after


def _check_physics(store: PreconsumptionPersonality, steps: list[Step], initial_kwh: float) -> None:
    """Per interval: stored' = stored + metered heat - draw - loss; within [0, size]; at most one interval's
    draw under the minimum; the heater never above its power."""
    size, floor = store.storage_kwh, store.min_fraction * store.storage_kwh
    before = StoreState(stored_kwh=initial_kwh)
    for step in steps:
        state = _state(step)
        drawn, lost = state.drawn_kwh - before.drawn_kwh, state.lost_kwh - before.lost_kwh
        assert state.stored_kwh == pytest.approx(before.stored_kwh + step.metered.bought_kwh - drawn - lost, abs=1e-9)
        assert state.heated_kwh - before.heated_kwh == pytest.approx(step.metered.bought_kwh, abs=1e-12)
        assert -1e-12 <= state.stored_kwh <= size + 1e-9
        assert state.stored_kwh >= floor - store.draw_kwh(step.start, Q) - 1e-9
        assert step.metered.bought_kwh <= store.capacity_kw * 0.25 + 1e-12
        assert step.metered.sold_kwh == 0.0
        assert lost == pytest.approx(before.stored_kwh * (1 - (1 - store.loss_per_hour) ** 0.25), abs=1e-12)
        before = state


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("policy", [accept_all, accept_none, accept_at_price])
def test_the_store_keeps_its_physics_under_any_market(seed: int, policy: object) -> None:
    store = PreconsumptionPersonality(2.0, seed=seed, initial_fraction=0.7)
    steps = run_market(store, START, Q, DAYS * 96, BAND, policy, seed=seed)  # type: ignore[arg-type]
    _check_physics(store, steps, 7.0)
    final = _state(steps[-1])
    bought = sum(s.bought_kwh for s in steps)
    metered = sum(s.metered.bought_kwh for s in steps)
    assert final.drawn_kwh == pytest.approx(DAYS * store.use_kwh_per_day, rel=0.05)  # the household got its water
    assert 0 <= metered - final.forced_kwh <= bought + 1e-9
    if policy is accept_none:
        assert bought == 0.0
        assert metered == pytest.approx(final.forced_kwh)  # all of it the thermostat, a deviation
        assert metered > 0
    if policy is accept_all:
        assert final.forced_kwh == 0.0  # it bought ahead; the thermostat never had to step in
        assert min(s.soc_after or 0.0 for s in steps) > store.comfort_fraction


def test_it_buys_ahead_when_cheap() -> None:
    """Cheap nights, dear evenings: it fills up at night and rarely buys in the evening."""
    store = PreconsumptionPersonality(2.0, seed=4)

    def price(start: datetime) -> float:
        return 0.08 if start.hour < 6 else 0.28 if 17 <= start.hour < 21 else 0.18

    steps = run_market(store, START, Q, DAYS * 96, BAND, accept_at_price, prices=price)
    _check_physics(store, steps, 8.0)
    night = sum(s.bought_kwh for s in steps if s.start.hour < 6)
    evening = sum(s.bought_kwh for s in steps if 17 <= s.start.hour < 21)
    assert night > 5 * max(evening, 1e-9)
    paid = [p for s in steps for _, q, p in s.trades if q > 0]
    assert np.mean(paid) < np.mean([price(s.start) for s in steps])
    assert _state(steps[-1]).forced_kwh < 0.1 * _state(steps[-1]).heated_kwh


def test_the_bid_rises_to_the_retail_price_as_the_store_nears_its_minimum() -> None:
    store = PreconsumptionPersonality(2.0, seed=1, min_fraction=0.2, comfort_fraction=0.6)
    low = store.low_price(BAND)
    assert low == pytest.approx(BAND.grid_sell + 0.35 * 0.25)  # no history yet
    fractions = np.linspace(1.0, 0.0, 41)
    bids = [store.limit_price(float(f), BAND) for f in fractions]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(bids))
    assert bids[0] == pytest.approx(low)
    assert store.limit_price(0.6, BAND) == pytest.approx(low)
    assert store.limit_price(0.2, BAND) == BAND.grid_buy
    assert store.limit_price(0.4, BAND) == pytest.approx((low + BAND.grid_buy) / 2)
    for k in range(20):
        store.on_price(START + Q * k, 0.10 + 0.01 * k)
    assert store.low_price(BAND) == pytest.approx(float(np.quantile([0.10 + 0.01 * k for k in range(20)], 0.3)))
    # and in a plan: an emptier store bids more
    full = PreconsumptionPersonality(2.0, seed=1, initial_fraction=1.0).plan(START, Q, BAND)
    empty = PreconsumptionPersonality(2.0, seed=1, initial_fraction=0.2).plan(START, Q, BAND)
    assert full[0].limit_price < empty[0].limit_price == BAND.grid_buy
    assert full[0].quantity_kwh < empty[0].quantity_kwh == pytest.approx(0.5)


def test_the_draw_profile_has_morning_and_evening_peaks_and_sums_to_the_day() -> None:
    assert sum(daily_share(START + Q * k, START + Q * (k + 1)) for k in range(96)) == pytest.approx(1.0)
    assert daily_share(START, START + timedelta(days=1)) == pytest.approx(1.0)
    peak_hours = sorted(range(24), key=lambda h: DRAW_PROFILE[h])[-4:]
    assert any(6 <= h <= 9 for h in peak_hours)
    assert any(18 <= h <= 21 for h in peak_hours)
    store = PreconsumptionPersonality(seed=2, draw_variation=0.0)
    assert store.draw_kwh(START + timedelta(hours=7), Q) > 5 * store.draw_kwh(START + timedelta(hours=3), Q)


def test_events_stop_or_schedule_heating_above_the_minimum() -> None:
    store = PreconsumptionPersonality(2.0, seed=3, initial_fraction=0.45)
    morning = START + timedelta(hours=6)
    assert store.on_event(morning, morning + timedelta(hours=6), EventKind.LEVEL, 2) is True
    assert store.plan(morning, Q, BAND) == []
    readings = []
    for k in range(24):
        start = morning + Q * k
        store.on_transaction(start, Side.BUY, 0.5, 0.1)
        readings.append((store.metered(start, Q), store.state_of_charge))
    for reading, soc in readings:
        assert soc is not None
        assert soc >= store.min_fraction - 1e-9
        if soc > store.min_fraction + 1e-9:
            assert reading.bought_kwh == 0.0  # paused: what it bought is not drawn
    assert any(r.bought_kwh > 0 for r, _ in readings)  # ... but the thermostat kept the minimum
    # a PRICE event: heats in the cheap windows, coasts in the dear ones
    noon = morning + timedelta(hours=6)
    assert store.on_event(morning, noon, EventKind.LEVEL, 0) is True
    prices = {noon + Q * k: (0.06 if k % 4 == 0 else 0.29) for k in range(16)}
    for start, price in prices.items():
        assert store.on_event(start, start + Q, EventKind.PRICE, price) is True
    for start, price in prices.items():
        reading = store.metered(start, Q)
        if price < 0.1:
            assert reading.bought_kwh > 0
        elif (store.state_of_charge or 0) > store.min_fraction + 1e-9:
            assert reading.bought_kwh == 0.0


def test_parameters_are_coerced_and_bad_values_named() -> None:
    assert PERSONALITIES["preconsumption"] is PreconsumptionPersonality
    store = create_personality("preconsumption", 3, params={"storage_kwh": "20", "window": "48",
                                                               "min_fraction": 0.1})
    assert isinstance(store, PreconsumptionPersonality)
    assert (store.capacity_kw, store.storage_kwh, store.window, store.min_fraction) == (3.0, 20.0, 48, 0.1)
    t4 = create_personality("t4")
    assert isinstance(t4, PreconsumptionPersonality)
    assert t4.storage_kwh == 10.0
    with pytest.raises(ValueError, match="storage_kwh"):
        create_personality("preconsumption", params={"storage_kwh": "big"})
    with pytest.raises(ValueError, match="window"):
        create_personality("preconsumption", params={"window": 2.5})
    for bad, key in (({"storage_kwh": -1}, "storage_kwh"), ({"min_fraction": 1.5}, "min_fraction"),
                     ({"loss_per_hour": -0.1}, "loss_per_hour"), ({"use_kwh_per_day": -1}, "use_kwh_per_day"),
                     ({"comfort_fraction": 0.1}, "comfort_fraction")):
        with pytest.raises(ValueError, match=key):
            create_personality("preconsumption", params=bad)
