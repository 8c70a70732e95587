"""The EV: charged to its target by departure, bids rising towards the deadline, V2G within its floor."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.ven.personalities.market_loop import Step, accept_all, accept_at_price, accept_none, run_market
from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import PERSONALITIES, EventKind, create_personality
from transactive.ven.personalities.ev import EvPersonality, EvState

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
START = datetime(2026, 3, 2, tzinfo=UTC)
Q = timedelta(minutes=15)
DAYS = 14
TOL = 1e-9


def _run(ev: EvPersonality, policy: object, seed: int, days: int = DAYS) -> list[Step]:
    return run_market(ev, START, Q, days * 96, BAND, policy, seed=seed)  # type: ignore[arg-type]


def _state(step: Step) -> EvState:
    assert isinstance(step.state_after, EvState)
    return step.state_after


def _check_physics(ev: EvPersonality, steps: list[Step]) -> None:
    """SoC in [0, 1]; per interval, stored change = eff x drawn - exported / eff - driven (no other source)."""
    before = ev.arrival_soc * ev.battery_kwh
    driven_before = 0.0
    for step in steps:
        state = _state(step)
        assert step.soc_after is not None
        assert -TOL <= step.soc_after <= 1 + TOL
        driven = state.driven_kwh - driven_before
        expected = before + ev.efficiency * step.metered.bought_kwh - step.metered.sold_kwh / ev.efficiency - driven
        assert state.stored_kwh == pytest.approx(expected, abs=1e-9)
        power = ev.capacity_kw * 0.25
        assert step.metered.bought_kwh <= power + TOL
        assert step.metered.sold_kwh <= power + TOL
        if not ev.plugged(step.start, Q):
            assert step.needs == []
            assert step.metered == type(step.metered)()
        before, driven_before = state.stored_kwh, state.driven_kwh


def _departures(ev: EvPersonality, steps: list[Step]) -> list[tuple[Step, datetime]]:
    """The last interval of every session that ended in the run (its end is the departure)."""
    out = []
    for step in steps:
        end = step.start + Q
        if end == ev.session_for(step.start).departure and ev.plugged(step.start, Q):
            out.append((step, end))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("policy", [accept_all, accept_none, accept_at_price])
def test_the_ev_keeps_its_physics_and_leaves_at_its_target(seed: int, policy: object) -> None:
    ev = EvPersonality(7.4, seed=seed)
    steps = _run(ev, policy, seed)
    _check_physics(ev, steps)
    departures = _departures(ev, steps)
    assert len(departures) == DAYS  # the first morning too
    for step, _ in departures:
        assert (step.soc_after or 0.0) >= ev.target_soc - 1e-9
    metered = sum(s.metered.bought_kwh for s in steps)
    bought = sum(s.bought_kwh for s in steps)
    forced = _state(steps[-1]).forced_kwh
    assert 0 <= metered - forced <= bought + 1e-9  # it draws what it bought (at most), plus the forced charging
    if policy is accept_none:
        assert bought == 0
        assert metered > 0
        assert forced == pytest.approx(metered)
    if policy is accept_all:
        assert forced == 0
        assert metered == pytest.approx(bought)
        assert max(s.soc_after or 0 for s in steps) <= ev.target_soc + 1e-9  # plan saw the pending purchase


def test_the_ev_tenders_only_while_plugged_in_and_the_driving_drains_it() -> None:
    ev = EvPersonality(7.4, seed=5)
    steps = _run(ev, accept_at_price, 5)
    plugged = [s for s in steps if ev.plugged(s.start, Q)]
    away = [s for s in steps if not ev.plugged(s.start, Q)]
    assert plugged
    assert away
    assert all(s.needs == [] for s in away)
    assert any(s.needs for s in plugged)
    assert _state(steps[-1]).driven_kwh > 0.3 * ev.battery_kwh * (DAYS - 2)


def test_the_buy_limit_rises_as_the_deadline_nears() -> None:
    ev = EvPersonality(7.4, seed=4, arrival_soc=0.2, target_soc=0.9)
    steps = _run(ev, accept_none, 4, days=4)
    sessions: dict[datetime, list[float]] = {}
    for step in steps:
        for need in step.needs:
            assert need.side is Side.BUY
            sessions.setdefault(ev.session_for(step.start).arrival, []).append(need.limit_price)
    end = START + timedelta(days=4)
    complete = [limits for arrival, limits in sessions.items() if ev.session_for(arrival).departure <= end]
    assert len(complete) >= 3
    for limits in complete:
        assert all(b >= a - TOL for a, b in itertools.pairwise(limits))
        assert limits[0] < BAND.grid_buy - 0.05  # slack: a low bid
        assert limits[-1] == BAND.grid_buy  # must charge
    # the curve itself: more need or less time -> a higher bid; the flexible floor is the band's f
    power = 7.4 * 0.25
    assert ev.buy_limit(1.0, 40, power, BAND) < ev.buy_limit(5.0, 40, power, BAND) < ev.buy_limit(5.0, 5, power, BAND)
    assert ev.buy_limit(1e-6, 40, power, BAND) == pytest.approx(BAND.grid_sell + 0.2 * 0.25, abs=1e-6)
    assert ev.buy_limit(power * ev.efficiency * 2, 2, power, BAND) == BAND.grid_buy


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_v2g_sells_above_its_floor_and_never_at_a_round_trip_loss(seed: int) -> None:
    ev = EvPersonality(7.4, seed=seed, v2g=True, arrival_soc=0.6, target_soc=0.8, min_soc=0.3)
    steps = _run(ev, accept_at_price, seed)
    _check_physics(ev, steps)
    sold = 0.0
    for step in steps:
        assert step.soc_after is not None
        assert step.soc_after >= ev.min_soc - 1e-9
        sells = [n for n in step.needs if n.side is Side.SELL]
        buys = [n for n in step.needs if n.side is Side.BUY]
        for sell in sells:
            reference = buys[0].limit_price if buys else BAND.grid_sell + ev.flex_price * 0.25
            assert sell.limit_price >= reference / ev.efficiency**2 - TOL
            assert sell.limit_price > reference
        sold += step.metered.sold_kwh
    assert sold > 1.0  # it did sell
    for step, _ in _departures(ev, steps):
        assert step.soc_after is not None
        assert step.soc_after >= ev.target_soc - 1e-9


def test_the_days_vary_with_the_seed_and_jitter_can_be_turned_off() -> None:
    ev = EvPersonality(seed=7)
    days = [START + timedelta(days=d) for d in range(20)]
    sessions = [ev.session_of_day(d) for d in days]
    offsets = [(s.arrival - d).total_seconds() / 60 - 18 * 60 for s, d in zip(sessions, days, strict=True)]
    socs = [s.arrival_kwh / ev.battery_kwh for s in sessions]
    assert all(abs(o) <= 30 for o in offsets)
    assert max(offsets) - min(offsets) > 20
    assert all(abs(s - 0.3) <= 0.05 + 1e-12 for s in socs)
    assert max(socs) - min(socs) > 0.03
    assert all(s.departure == d + timedelta(days=1, hours=7) for s, d in zip(sessions, days, strict=True))
    assert [EvPersonality(seed=7).session_of_day(d) for d in days] == sessions  # the seed decides
    fixed = EvPersonality(seed=7, jitter_minutes=0, soc_jitter=0)
    assert {(fixed.session_of_day(d).arrival - d, fixed.session_of_day(d).arrival_kwh) for d in days} == {
        (timedelta(hours=18), 0.3 * 24.0)}


def test_events_pause_charging_only_when_the_target_stays_reachable() -> None:
    ev = EvPersonality(7.4, seed=1, jitter_minutes=0, soc_jitter=0)
    evening = START + timedelta(hours=19)
    # away at noon: nothing to change
    assert ev.on_event(START + timedelta(hours=12), START + timedelta(hours=13), EventKind.LEVEL, 2) is False
    # 19:00-21:00: plenty of time after it -> paused, and a purchase in the window is not drawn
    assert ev.on_event(evening, evening + timedelta(hours=2), EventKind.LEVEL, 2) is True
    assert ev.plan(evening, Q, BAND) == []
    ev.on_transaction(evening, Side.BUY, 1.0, 0.1)
    assert ev.forecast_kwh(evening, Q) == 0.0
    # 19:00-06:30 leaves half an hour: not enough for 14.4 kWh -> opt out
    assert ev.on_event(evening, START + timedelta(days=1, hours=6, minutes=30), EventKind.ONOFF, 0) is False
    # back to normal: the purchase is drawn again
    assert ev.on_event(evening, evening + timedelta(hours=2), EventKind.LEVEL, 0) is True
    assert ev.forecast_kwh(evening, Q) == pytest.approx(1.0)


def test_a_price_event_charges_in_the_cheapest_intervals_and_meets_the_target() -> None:
    ev = EvPersonality(7.4, seed=2, jitter_minutes=0, soc_jitter=0)
    arrival, departure = START + timedelta(hours=18), START + timedelta(days=1, hours=7)
    slots = [arrival + Q * k for k in range(52)]
    price = {s: 0.05 + 0.2 * ((k * 37) % 52) / 52 for k, s in enumerate(slots)}
    assert all(ev.on_event(s, s + Q, EventKind.PRICE, price[s]) for s in slots)
    readings = {s: ev.metered(s, Q) for s in slots}
    charged = [s for s in slots if readings[s].bought_kwh > 0]
    idle = [s for s in slots if readings[s].bought_kwh == 0]
    assert charged
    assert idle
    assert max(price[s] for s in charged) < min(price[s] for s in idle)
    assert ev.state.forced_kwh == 0.0
    assert slots[-1] + Q == departure
    assert (ev.state_of_charge or 0.0) >= ev.target_soc - 1e-9


def test_parameters_are_coerced_and_bad_values_named() -> None:
    assert PERSONALITIES["ev"] is EvPersonality
    ev = create_personality("ev", 11, seed=3, params={"battery_kwh": "30", "v2g": "yes", "arrival_h": 17,
                                                       "jitter_minutes": "0"})
    assert isinstance(ev, EvPersonality)
    assert (ev.battery_kwh, ev.v2g, ev.arrival_h, ev.jitter_minutes, ev.capacity_kw) == (30.0, True, 17.0, 0.0, 11)
    t3 = create_personality("t3")
    assert isinstance(t3, EvPersonality)
    assert t3.battery_kwh == 24.0
    assert not t3.v2g
    with pytest.raises(ValueError, match="battery_kwh"):
        create_personality("ev", params={"battery_kwh": "lots"})
    with pytest.raises(ValueError, match="v2g"):
        create_personality("ev", params={"v2g": "maybe"})
    for bad, key in (({"target_soc": 1.5}, "target_soc"), ({"battery_kwh": 0}, "battery_kwh"),
                     ({"efficiency": 0}, "efficiency"), ({"arrival_h": 24}, "arrival_h"),
                     ({"departure_h": 18}, "departure_h"), ({"jitter_minutes": 400}, "jitter_minutes"),
                     ({"v2g": True, "min_soc": 0.95}, "min_soc")):
        with pytest.raises(ValueError, match=key):
            create_personality("ev", params=bad)
