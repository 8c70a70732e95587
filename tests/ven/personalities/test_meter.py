"""The meter-only agent: never tenders, reports a household's profile consumption, ignores events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.ven.personalities.market_loop import accept_all, run_market
from transactive.market import ReservePrices
from transactive.ven.personalities import PERSONALITIES, EventKind, LoadPersonality, create_personality
from transactive.ven.personalities.load import profile
from transactive.ven.personalities.meter import MeterPersonality

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
START = datetime(2026, 5, 4, tzinfo=UTC)
Q = timedelta(minutes=15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_meter_never_tenders_and_reports_the_profile(seed: int) -> None:
    meter = MeterPersonality(4.0, seed=seed)
    steps = run_market(meter, START, Q, 7 * 96, BAND, accept_all, seed=seed)
    noise = 3 * MeterPersonality.meter_noise
    for step in steps:
        assert step.needs == []
        assert step.trades == []
        mid = step.start + Q / 2
        expected = 4.0 * profile(mid.hour + mid.minute / 60) * 0.25  # the profile, before the +-10 % variation
        assert step.metered.sold_kwh == 0.0
        assert 0.9 * (1 - noise) * expected - 1e-12 <= step.metered.bought_kwh <= 1.1 * (1 + noise) * expected + 1e-12
        assert step.metered.bought_kwh == pytest.approx(meter.forecast_kwh(step.start, Q), rel=noise + 1e-9)
    evening = sum(s.metered.bought_kwh for s in steps if s.start.hour == 19)
    night = sum(s.metered.bought_kwh for s in steps if s.start.hour == 3)
    assert evening > 3 * night
    # the same household a load with that seed would be (the load's model, reused)
    assert meter.forecast_kwh(START, Q) == LoadPersonality(4.0, seed=seed).forecast_kwh(START, Q)


def test_the_meter_ignores_events_and_takes_its_parameters() -> None:
    meter = create_personality("meter", 2.5, seed=4)
    assert isinstance(meter, MeterPersonality)
    assert PERSONALITIES["meter"] is MeterPersonality
    assert meter.capacity_kw == 2.5
    assert meter.state_of_charge is None
    before = meter.forecast_kwh(START, Q)
    for kind, value in ((EventKind.PRICE, 0.5), (EventKind.LEVEL, 3), (EventKind.ONOFF, 0)):
        assert meter.on_event(START, START + Q, kind, value) is False
    assert meter.forecast_kwh(START, Q) == before
    with pytest.raises(ValueError, match="storage_kwh"):
        create_personality("meter", params={"storage_kwh": 3})
    with pytest.raises(ValueError, match="capacity"):
        create_personality("meter", -1.0)
