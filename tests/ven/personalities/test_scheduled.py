"""``scheduled``: one contiguous run a day of exactly its duration, inside its window when the market clears
it, must-run at the last feasible start, a bid that rises towards that deadline, events that move the start."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.ven.personalities.market_loop import Step, accept_all, accept_none, run_market, uniform_prices
from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import EventKind, Need, create_personality
from transactive.ven.personalities.scheduled import ScheduledPersonality

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
DAY = datetime(2026, 3, 2, tzinfo=UTC)
Q = timedelta(minutes=15)
H = timedelta(hours=1)


def runs(log: list[Step]) -> list[list[Step]]:
    """The stretches of consecutive intervals with consumption."""
    out: list[list[Step]] = []
    for running, group in itertools.groupby(log, key=lambda r: r.metered.bought_kwh > 0):
        if running:
            out.append(list(group))
    return out


def check_days(dev: ScheduledPersonality, log: list[Step], step: timedelta) -> list[datetime]:
    """Each day: one contiguous run of exactly the energy, inside the window; returns the run starts."""
    starts = []
    stretches = runs(log)
    assert len(stretches) == len({r.start.date() for r in log})
    for stretch in stretches:
        first, last = stretch[0].start, stretch[-1].start + step
        day = first.replace(hour=0, minute=0)
        assert day + dev.earliest <= first
        assert last <= day + dev.latest_end
        assert sum(r.metered.bought_kwh for r in stretch) == pytest.approx(dev.energy_per_run_kwh, abs=1e-9)
        assert all(r.metered.bought_kwh <= dev.capacity_kw * step.total_seconds() / 3600 + 1e-12 for r in stretch)
        assert all(r.metered.sold_kwh == 0.0 for r in stretch)
        starts.append(first)
    return starts


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("lag", [1, 2])
def test_the_task_completes_in_its_window_when_the_market_clears_it(seed: int, lag: int) -> None:
    dev = ScheduledPersonality(2.0, seed=seed, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    log = run_market(dev, DAY, Q, 14 * 96, BAND, uniform_prices(BAND, seed), lag=lag)
    starts = check_days(dev, log, Q)
    assert len(starts) == 14
    by_start = {r.start: r for r in log}
    for start in starts:
        # it started at its first cleared interval of the window (or, if none cleared, at the last start)
        day = start.replace(hour=0, minute=0)
        cleared = [r.start for r in log if r.start.date() == day.date() and r.bought_kwh > 0]
        assert start == min(cleared)
        # once started, it bought the rest at the retail price
        for k in range(1, 8):
            needs = by_start[start + Q * k].needs
            assert [n.limit_price for n in needs] == [BAND.grid_buy]
    # a random market clears it before its deadline on some days
    assert any(s < s.replace(hour=18, minute=0) for s in starts)


@pytest.mark.parametrize("seed", [4, 5])
def test_starved_it_runs_anyway_at_the_last_feasible_start(seed: int) -> None:
    dev = ScheduledPersonality(1.5, seed=seed, duration_h=1.5, earliest_h=6.0, latest_end_h=22.0)
    log = run_market(dev, DAY, Q, 5 * 96, BAND, accept_none)
    starts = check_days(dev, log, Q)
    assert [s.time() for s in starts] == [datetime(2026, 1, 1, 20, 30).time()] * 5
    assert all(r.bought_kwh == 0.0 for r in log)
    assert sum(r.metered.bought_kwh for r in log) == pytest.approx(5 * 1.5 * 1.5)  # all of it a deviation


def test_must_run_at_the_last_feasible_start_and_the_limit_rises_towards_it() -> None:
    dev = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    limits: list[float] = []
    for k in range(96):
        start = DAY + Q * k
        needs = dev.plan(start, Q, BAND)
        if start < DAY + 8 * H or start >= DAY + 20 * H:
            assert needs == []
            continue
        if start > DAY + 18 * H:  # nothing cleared: the must-run from 18:00 buys the rest of its run at retail
            assert [(n.quantity_kwh, n.limit_price) for n in needs] == [(0.5, BAND.grid_buy)]
            continue
        [need] = needs
        assert need.side is Side.BUY
        assert need.quantity_kwh == pytest.approx(0.5)
        limits.append(need.limit_price)
    assert len(limits) == 41  # 08:00 ... 18:00
    assert limits[0] == BAND.grid_sell
    assert limits[-1] == BAND.grid_buy  # must-run
    assert all(b > a for a, b in itertools.pairwise(limits))
    assert dev.limit(dev.windows(DAY + 13 * H, DAY + 13 * H + Q)[0], DAY + 13 * H, Q, BAND) == pytest.approx(
        BAND.grid_sell + 0.5 * (BAND.grid_buy - BAND.grid_sell))


def test_once_started_it_runs_to_completion_and_buys_the_rest_at_retail() -> None:
    dev = ScheduledPersonality(2.0, duration_h=1.0, earliest_h=8.0, latest_end_h=12.0)
    cleared: list[datetime] = []

    def first_only(start: datetime, need: Need, price: float | None = None) -> float | None:
        if not cleared and start >= DAY + 9 * H:
            cleared.append(start)
            return need.limit_price
        return None

    log = run_market(dev, DAY, Q, 96, BAND, first_only)
    [stretch] = runs(log)
    assert [r.start for r in stretch] == [DAY + 9 * H + Q * k for k in range(4)]
    assert [r.needs[0].limit_price for r in stretch[1:]] == [BAND.grid_buy] * 3
    assert stretch[0].bought_kwh == pytest.approx(0.5)
    assert all(r.metered.bought_kwh > r.bought_kwh for r in stretch[1:])  # ran without buying: a deviation


@pytest.mark.parametrize(("params", "step"), [
    pytest.param({"duration_h": 50 / 60, "earliest_h": 8.0, "latest_end_h": 20.0}, Q, id="partial-interval"),
    pytest.param({"duration_h": 2.0, "earliest_h": 8 + 1 / 6, "latest_end_h": 10 + 1 / 6}, Q, id="no-aligned-start"),
    pytest.param({"duration_h": 3.0, "earliest_h": 22.0, "latest_end_h": 30.0}, Q, id="overnight"),
    pytest.param({"duration_h": 2.0, "earliest_h": 8.0, "latest_end_h": 20.0}, H, id="hourly"),
])
@pytest.mark.parametrize("market", ["random", "none", "all"])
def test_exactly_its_energy_per_window_whatever_the_grid(params: dict[str, float], step: timedelta,
                                                         market: str) -> None:
    dev = ScheduledPersonality(1.2, seed=7, **params)
    accept = {"random": uniform_prices(BAND, 7), "none": accept_none, "all": accept_all}[market]
    count = 4 * int(timedelta(days=1) / step)
    log = run_market(dev, DAY, step, count, BAND, accept)
    # (the overnight window opened the evening before: it joined the market mid-window, its task still pending)
    windows = [(DAY + dev.earliest + timedelta(days=d), DAY + dev.latest_end + timedelta(days=d)) for d in range(-1, 4)]
    for opens, closes in windows:
        inside = [r for r in log if r.start + step > opens and r.start < closes]
        used = sum(r.metered.bought_kwh for r in inside)
        if DAY < closes <= log[-1].start + step:
            assert used == pytest.approx(dev.energy_per_run_kwh, abs=1e-9)
        ran = [k for k, r in enumerate(log) if r in inside and r.metered.bought_kwh > 0]
        assert ran == list(range(ran[0], ran[-1] + 1)) if ran else used == 0  # one contiguous run
    total = sum(r.metered.bought_kwh for r in log)
    outside = total - sum(r.metered.bought_kwh for r in log
                          if any(r.start + step > o and r.start < c for o, c in windows))
    assert outside == pytest.approx(0.0, abs=1e-12)
    for stretch in runs(log):
        assert len(stretch) <= int(dev.duration / step) + 2  # never longer than one run


def test_without_a_market_it_runs_when_its_window_opens() -> None:
    dev = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    assert dev.forecast_kwh(DAY + 8 * H, Q) == pytest.approx(0.5)
    used = {DAY + Q * k: dev.metered(DAY + Q * k, Q).bought_kwh for k in range(96)}
    assert [t for t, e in used.items() if e > 0] == [DAY + 8 * H + Q * k for k in range(8)]


def test_level_and_onoff_delay_the_start_while_the_window_allows() -> None:
    dev = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    assert dev.on_event(DAY + 7 * H, DAY + 11 * H, EventKind.LEVEL, 0) is False
    assert dev.on_event(DAY + 7 * H, DAY + 11 * H, EventKind.ONOFF, 1) is False
    assert dev.on_event(DAY + 7 * H, DAY + 11 * H, EventKind.LEVEL, 2) is True
    assert dev.on_event(DAY + 12 * H, DAY + 13 * H, EventKind.ONOFF, 0) is True
    # the market would clear anything: the first start whose run avoids both sheds is 13:00
    log = run_market(dev, DAY, Q, 96, BAND, accept_all)
    [stretch] = runs(log)
    assert stretch[0].start == DAY + 13 * H
    assert all(r.needs == [] for r in log if DAY + 8 * H <= r.start < DAY + 13 * H)
    # while running it opts out
    day2 = DAY + timedelta(days=1)
    busy = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    run_market(busy, day2, Q, 8 * 4 + 2, BAND, accept_all, lag=0)  # started at 08:00, now 08:30
    assert busy.on_event(day2 + 9 * H, day2 + 10 * H, EventKind.LEVEL, 3) is False


def test_a_shed_it_cannot_avoid_is_refused_and_the_last_start_wins() -> None:
    dev = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    log = run_market(dev, DAY, Q, 4 * 18, BAND, accept_none, lag=0)  # nothing cleared by 18:00 (exclusive)
    assert all(r.metered.bought_kwh == 0 for r in log)
    # at the last feasible start (18:00) a shed over its run cannot be avoided
    assert dev.on_event(DAY + 18 * H, DAY + 19 * H, EventKind.LEVEL, 1) is False
    assert [n.limit_price for n in dev.plan(DAY + 18 * H, Q, BAND)] == [BAND.grid_buy]
    # a shed it accepted earlier cannot stop the must-run either
    other = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    assert other.on_event(DAY + 17 * H, DAY + 19 * H, EventKind.LEVEL, 1) is True  # it could end by 17:00
    later = run_market(other, DAY + 17 * H, Q, 12, BAND, accept_none)
    assert sum(r.metered.bought_kwh for r in later) == pytest.approx(4.0)
    assert runs(later)[0][0].start == DAY + 18 * H


def test_price_events_move_the_start_to_the_cheapest_run() -> None:
    prices = {h: 0.25 for h in range(24)} | {13: 0.08, 14: 0.06, 15: 0.20}

    def announce(dev: ScheduledPersonality) -> list[bool]:
        return [dev.on_event(DAY + h * H, DAY + (h + 1) * H, EventKind.PRICE, p) for h, p in prices.items()]

    alone = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    # it takes part in the intervals a run of its window could touch, no others
    assert [h for h, took in zip(prices, announce(alone), strict=True) if took] == list(range(6, 22))
    used = [alone.metered(DAY + Q * k, Q).bought_kwh for k in range(96)]
    assert [k for k, e in enumerate(used) if e > 0] == list(range(13 * 4, 15 * 4))  # the 13:00-15:00 run
    # in a market it bids for no start before the cheapest one
    market = ScheduledPersonality(2.0, duration_h=2.0, earliest_h=8.0, latest_end_h=20.0)
    announce(market)
    log = run_market(market, DAY, Q, 96, BAND, accept_all)
    assert all(r.needs == [] for r in log if r.start < DAY + 13 * H)
    assert runs(log)[0][0].start == DAY + 13 * H
    # after the run, nothing is pending: events are declined
    assert market.on_event(DAY + 16 * H, DAY + 17 * H, EventKind.PRICE, 0.01) is False


def test_parameters_are_coerced_and_bad_values_named() -> None:
    dev = create_personality("scheduled", 1.0, params={"duration_h": "1.5", "earliest_h": 9, "latest_end_h": "23"})
    assert isinstance(dev, ScheduledPersonality)
    assert dev.energy_per_run_kwh == pytest.approx(1.5)
    assert dev.describe() == "scheduled 1 kW x 1.5 h, window 9-23 h"
    t1 = create_personality("t1")
    assert isinstance(t1, ScheduledPersonality)
    assert (t1.capacity_kw, t1.energy_per_run_kwh) == (2.0, 4.0)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"duration_h": "long"}, "duration_h"), ({"duration_h": 0}, "duration_h"), ({"earliest_h": 24}, "earliest_h"),
        ({"earliest_h": -1}, "earliest_h"), ({"latest_end_h": 9.0}, "latest_end_h"),
        ({"latest_end_h": 33.0}, "latest_end_h"), ({"duration_h": 13.0}, "latest_end_h"),
        ({"earliest_h": float("nan")}, "earliest_h"), ({"start_h": 3}, "start_h"),
    ]
    for params, field in bad:
        with pytest.raises(ValueError, match=rf"^{field}: "):
            create_personality("scheduled", params=params)
    dev.metered(DAY + Q, Q)
    with pytest.raises(ValueError, match="metered after"):
        dev.metered(DAY, Q)
