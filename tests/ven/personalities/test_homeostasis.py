"""``homeostasis``: the temperature keeps to its bounds, the meter reads the heater's energy, a starved
thermostat drifts to its bound and its safety override shows as a deviation, events shape what it does."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.ven.personalities.market_loop import accept_all, accept_none, run_market, uniform_prices
from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import EventKind, Personality, create_personality
from transactive.ven.personalities.homeostasis import OPPORTUNISTIC_U, HomeostasisPersonality

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
DAY = datetime(2026, 1, 12, tzinfo=UTC)
Q = timedelta(minutes=15)
WEEK = 7 * 96

#: a room heated by a heat pump (the defaults), and a fridge
ROOM: dict[str, Any] = {}
FRIDGE: dict[str, Any] = {"mode": "cool", "low_c": 3.0, "high_c": 5.0, "initial_c": 4.0, "outdoor_c": 20.0,
                          "outdoor_swing_c": 2.0, "resistance_c_per_kw": 100.0, "capacitance_kwh_per_c": 0.1,
                          "cop": 2.0, "weather_noise_c": 1.0}
KINDS = [pytest.param(3.0, ROOM, id="room"), pytest.param(0.15, FRIDGE, id="fridge")]


def temperature(device: Personality) -> float:
    assert isinstance(device, HomeostasisPersonality)
    return device.temperature_c


def end_temperature(dev: HomeostasisPersonality, start: datetime, begin_c: float, energy_kwh: float) -> float:
    """The RC model solved by hand (module docstring): where ``energy_kwh`` of electricity takes the room."""
    hours = Q.total_seconds() / 3600
    tau = dev.resistance * dev.capacitance
    out = dev.outdoor_temperature_c(start, Q)
    heat_kw = dev.sign * dev.cop * energy_kwh / hours
    steady = out + dev.resistance * heat_kw
    return steady + (begin_c - steady) * math.exp(-hours / tau)


def one_interval_drift(dev: HomeostasisPersonality) -> float:
    """The most the temperature can move in one interval without power, at the harshest outdoor temperature."""
    harshest = [dev.outdoor_mean_c + s * (dev.outdoor_swing_c + 4 * dev.weather_noise_c) for s in (-1, 1)]
    gap = max(abs(t - b) for t in harshest for b in (dev.low_c, dev.high_c))
    return gap * (1 - math.exp(-0.25 / (dev.resistance * dev.capacitance)))


@pytest.mark.parametrize(("capacity", "params"), KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("lag", [1, 2])
def test_temperature_within_bounds_and_meter_equals_heater_energy(capacity: float, params: dict[str, Any],
                                                                   seed: int, lag: int) -> None:
    dev = HomeostasisPersonality(capacity, seed=seed, **params)
    drift = one_interval_drift(dev)
    assert drift > 0
    log = run_market(dev, DAY, Q, WEEK, BAND, uniform_prices(BAND, seed), lag=lag, observe=temperature)
    overrides = cutoffs = 0
    for rec in log:
        # the brief's invariant, and (a device sized for its climate) the bound itself
        assert dev.low_c - drift <= rec.after <= dev.high_c + drift
        assert dev.low_c - 1e-9 <= rec.after <= dev.high_c + 1e-9
        # energy conservation: the metered energy is exactly what moved the temperature
        assert rec.metered.sold_kwh == 0.0
        assert 0.0 <= rec.metered.bought_kwh <= capacity * 0.25 + 1e-12
        assert rec.after == pytest.approx(end_temperature(dev, rec.start, rec.before, rec.metered.bought_kwh),
                                          abs=1e-9)
        assert sum(n.quantity_kwh for n in rec.needs) <= capacity * 0.25 + 1e-9
        assert all(n.side is Side.BUY for n in rec.needs)
        overrides += rec.metered.bought_kwh > rec.bought_kwh + 1e-9
        cutoffs += rec.metered.bought_kwh < rec.bought_kwh - 1e-9
    # a random market leaves it short sometimes (the override runs), never always
    assert 0 < overrides < len(log) // 2
    assert sum(r.metered.bought_kwh for r in log) > 0


@pytest.mark.parametrize(("capacity", "params"), KINDS)
@pytest.mark.parametrize("seed", [3, 4])
def test_ample_buying_keeps_it_strictly_inside_without_the_override(capacity: float, params: dict[str, Any],
                                                                    seed: int) -> None:
    dev = HomeostasisPersonality(capacity, seed=seed, **params)
    log = run_market(dev, DAY, Q, 3 * 96, BAND, accept_all, observe=temperature)
    for rec in log:
        assert dev.low_c < rec.after < dev.high_c
        assert rec.metered.bought_kwh <= rec.bought_kwh + 1e-9  # the override never had to add anything
    # it keeps near its opportunistic target once there
    assert abs(log[-1].after - dev.level_c(OPPORTUNISTIC_U)) < 0.1 * (dev.high_c - dev.low_c)


@pytest.mark.parametrize(("capacity", "params"), KINDS)
def test_starved_it_drifts_to_the_bound_and_the_override_shows_at_the_meter(capacity: float,
                                                                            params: dict[str, Any]) -> None:
    dev = HomeostasisPersonality(capacity, seed=5, **params)
    log = run_market(dev, DAY, Q, 2 * 96, BAND, accept_none, observe=temperature)
    temps = [r.after for r in log]
    assert all(r.bought_kwh == 0.0 for r in log)
    # it drifts towards the bound it falls to, reaches it and stays there: never beyond
    assert all(dev.low_c - 1e-9 <= t <= dev.high_c + 1e-9 for t in temps)
    assert temps[-1] == pytest.approx(dev.bound_c, abs=1e-9)
    reached = next(k for k, t in enumerate(temps) if t == pytest.approx(dev.bound_c, abs=1e-9))
    assert 0 < reached < len(temps) - 1
    for before, after in zip([log[0].before, *temps][:reached], temps[:reached], strict=False):
        assert abs(after - dev.bound_c) <= abs(before - dev.bound_c) + 1e-9
    # from there on the override heats (cools) with no energy bought: metered > bought, a deviation
    held = log[reached + 1:]
    assert all(r.metered.bought_kwh > r.bought_kwh for r in held)
    # the bid for the must-have energy is the retail price once at the bound
    assert all(any(n.limit_price == BAND.grid_buy for n in r.needs) for r in held)


def test_an_undersized_heater_runs_flat_out_beyond_its_bound() -> None:
    """Full power (0.5 kW) cannot hold 20 C against a 5 C outdoor (it needs about 1.3 kW): the override runs
    it at full power, and the temperature settles where full power balances the losses."""
    dev = HomeostasisPersonality(0.5, seed=6, weather_noise_c=0.0, outdoor_swing_c=0.0)
    log = run_market(dev, DAY, Q, 4 * 96, BAND, accept_none, observe=temperature)
    beyond = [r for r in log if r.after < dev.low_c - 1e-9]
    assert beyond
    assert all(r.metered.bought_kwh == pytest.approx(0.5 * 0.25) for r in beyond)
    balance = dev.outdoor_mean_c + dev.resistance * dev.cop * 0.5  # the steady state at full power: 11 C
    assert all(r.after >= balance - 1e-9 for r in log)
    assert log[-1].after == pytest.approx(balance, abs=0.5)


def test_the_bid_rises_as_the_temperature_nears_the_bound() -> None:
    for params in (ROOM, FRIDGE):
        dev = HomeostasisPersonality(seed=0, **params)
        temps = [dev.edge_c + (dev.bound_c - dev.edge_c) * k / 20 for k in range(21)]
        limits = [dev.comfort_limit(t, BAND) for t in temps]
        assert limits[0] == pytest.approx(BAND.grid_sell)
        assert limits[-1] == pytest.approx(BAND.grid_buy)
        assert all(b > a for a, b in itertools.pairwise(limits))
    # the plan of a fresh device carries that limit for its comfort block
    colder = [HomeostasisPersonality(initial_c=c, weather_noise_c=0.0).plan(DAY, Q, BAND) for c in (22.5, 21.0, 20.2)]
    comfort = [max(n.limit_price for n in needs if n.limit_price < BAND.grid_buy) for needs in colder]
    assert comfort[0] < comfort[1] < comfort[2]
    assert comfort[1] == pytest.approx(HomeostasisPersonality().comfort_limit(21.0, BAND))


def test_plan_predicts_from_what_was_bought_before_the_last_interval_is_metered() -> None:
    """Without weather noise the prediction is exact: planned before X - 1 is metered, X's forecast (after
    its transactions) is what the meter then reads."""
    dev = HomeostasisPersonality(seed=1, weather_noise_c=0.0)
    market = uniform_prices(BAND, 9)
    forecasts: dict[datetime, float] = {}
    metered: dict[datetime, float] = {}
    for k in range(2 * 96 + 1):
        start = DAY + Q * k
        if k < 2 * 96:
            for need in dev.plan(start, Q, BAND):
                price = market(start, need, None)
                if price is not None:
                    dev.on_transaction(start, Side.BUY, need.quantity_kwh, price)
            forecasts[start] = dev.forecast_kwh(start, Q)
        if k:
            metered[start - Q] = dev.metered(start - Q, Q).bought_kwh
    assert metered == pytest.approx(forecasts, abs=1e-12)
    assert sum(metered.values()) > 0


def test_level_and_onoff_shed_only_while_the_bounds_allow() -> None:
    dev = HomeostasisPersonality(seed=2)
    run_market(dev, DAY, Q, 8, BAND, accept_all)  # warm up to its target
    start, end = DAY + Q * 8, DAY + Q * 40
    assert dev.on_event(start, end, EventKind.LEVEL, 0) is False
    assert dev.on_event(start, end, EventKind.ONOFF, 1) is False
    assert dev.on_event(start, end, EventKind.LEVEL, 3) is True
    log = run_market(dev, start, Q, 40, BAND, accept_all, observe=temperature)
    during, after = log[:32], log[32:]
    # during the shed it tenders only the energy that holds the bound, at the retail price
    assert all(n.limit_price == BAND.grid_buy for r in during for n in r.needs)
    assert all(r.after >= dev.low_c - 1e-9 for r in during)
    assert during[-1].after == pytest.approx(dev.low_c, abs=1e-9)
    assert any(r.metered.bought_kwh > 0 for r in during)  # holding the bound costs energy
    assert after[-1].after > dev.low_c + 0.5  # back to comfort afterwards
    # ONOFF 0 counts as level 3
    other = HomeostasisPersonality(seed=2)
    assert other.on_event(start, end, EventKind.ONOFF, 0) is True


def test_a_shed_announced_after_buying_caps_what_it_consumes() -> None:
    dev = HomeostasisPersonality(seed=3, initial_c=22.0)
    [record] = run_market(dev, DAY, Q, 1, BAND, accept_all, lag=0)
    assert record.metered.bought_kwh > 0
    dev2 = HomeostasisPersonality(seed=3, initial_c=22.0)
    bought = 0.0
    for need in dev2.plan(DAY, Q, BAND):
        dev2.on_transaction(DAY, need.side, need.quantity_kwh, need.limit_price)
        bought += need.quantity_kwh
    assert dev2.on_event(DAY, DAY + Q, EventKind.LEVEL, 3)
    shed = dev2.metered(DAY, Q)
    assert shed.bought_kwh < bought  # a deviation the other way: it took less than it bought
    assert dev2.low_c - 1e-9 <= dev2.temperature_c < dev.temperature_c


def test_price_events_pre_heat_when_cheap_and_coast_when_dear() -> None:
    """No market (the OpenADR role): the thermostat runs on its own, shaped by the event's prices."""
    plain = HomeostasisPersonality(seed=4, weather_noise_c=0.0)
    priced = HomeostasisPersonality(seed=4, weather_noise_c=0.0)
    cheap_end, dear_end = DAY + timedelta(hours=4), DAY + timedelta(hours=10)
    assert priced.on_event(DAY, cheap_end, EventKind.PRICE, 0.05) is False  # nothing to compare with yet
    assert priced.on_event(cheap_end, dear_end, EventKind.PRICE, 0.40) is True  # the dearest third
    temps = {}
    energy = {"plain": [0.0, 0.0], "priced": [0.0, 0.0]}
    for k in range(40):
        start = DAY + Q * k
        for name, dev in (("plain", plain), ("priced", priced)):
            energy[name][start >= cheap_end] += dev.metered(start, Q).bought_kwh
        temps[start] = priced.temperature_c
    assert energy["priced"][0] > energy["plain"][0]  # pre-heats while cheap
    assert energy["priced"][1] < energy["plain"][1]  # coasts while dear
    assert temps[cheap_end - Q] > plain.level_c(0.5) + 0.5
    assert min(temps.values()) >= priced.low_c - 1e-9
    # with a band seen in plan(), a price in the middle third is declined
    market = HomeostasisPersonality(seed=4)
    market.plan(DAY, Q, BAND)
    assert market.on_event(DAY, DAY + Q, EventKind.PRICE, 0.17) is False
    assert market.on_event(DAY + Q, DAY + 2 * Q, EventKind.PRICE, 0.06) is True
    needs = market.plan(DAY + Q, Q, BAND)
    assert BAND.grid_sell not in [n.limit_price for n in needs]  # pre-heating is part of its comfort bid now


def test_parameters_are_coerced_and_bad_values_named() -> None:
    dev = create_personality("homeostasis", 0.15, params={"mode": "cool", "low_c": "3", "high_c": 5,
                                                          "initial_c": "4.5", "outdoor_c": "20"})
    assert isinstance(dev, HomeostasisPersonality)
    assert (dev.mode, dev.low_c, dev.high_c, dev.temperature_c) == ("cool", 3.0, 5.0, 4.5)
    assert (dev.bound_c, dev.edge_c) == (5.0, 3.0)
    t2 = create_personality("t2")
    assert isinstance(t2, HomeostasisPersonality)
    assert (t2.capacity_kw, t2.low_c, t2.high_c) == (3.0, 20.0, 23.0)
    for params, field in (({"low_c": "warm"}, "low_c"), ({"mode": "dry"}, "mode"), ({"cop": True}, "cop"),
                          ({"low_c": 24.0}, "low_c"), ({"initial_c": 30.0}, "initial_c"),
                          ({"resistance_c_per_kw": 0}, "resistance_c_per_kw"),
                          ({"capacitance_kwh_per_c": -1}, "capacitance_kwh_per_c"),
                          ({"weather_noise_c": -0.1}, "weather_noise_c"), ({"colour": "red"}, "colour")):
        with pytest.raises(ValueError, match=rf"^{field}: "):
            create_personality("homeostasis", params=params)
    with pytest.raises(ValueError, match=r"^mode: "):
        HomeostasisPersonality(mode="dry")


def test_metering_out_of_order_is_refused() -> None:
    dev = HomeostasisPersonality()
    dev.metered(DAY + Q, Q)
    with pytest.raises(ValueError, match="metered after"):
        dev.metered(DAY, Q)
    assert "homeostasis heat 3 kW, 20-23 C" in dev.describe()
