"""How the reference personalities read OpenADR 3 PRICE events and what their meters then report (sans I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from transactive.market import ReservePrices
from transactive.ven.openadr3.behaviour import Oa3Behaviour, PricedInterval, price_intervals
from transactive.ven.openadr3.models import Event
from transactive.ven.personalities import BatteryPersonality, LoadPersonality, PvPersonality

NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _event(intervals: list[dict[str, Any]], period: dict[str, Any] | None = None, **extra: Any) -> Event:
    return Event.model_validate({
        "id": "event-1", "createdDateTime": "2026-06-21T00:00:00Z", "modificationDateTime": "2026-06-21T00:00:00Z",
        "objectType": "EVENT", "programID": "program-1", "intervals": intervals,
        **({"intervalPeriod": period} if period is not None else {}), **extra})


def _prices(*values: Any) -> list[dict[str, Any]]:
    return [{"id": n, "payloads": [{"type": "PRICE", "values": [v]}]} for n, v in enumerate(values)]


def test_intervals_without_their_own_period_follow_each_other_from_the_events_start() -> None:
    event = _event(_prices(0.1, 0.2, 0.3), {"start": "2026-06-21T12:00:00Z", "duration": "PT1H"},
                   payloadDescriptors=[{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE",
                                        "currency": "EUR", "units": "KWH"}])
    found = price_intervals(event)
    assert [(p.interval_id, p.start, p.end, p.price) for p in found] == [
        (0, NOON, NOON + HOUR, 0.1), (1, NOON + HOUR, NOON + 2 * HOUR, 0.2), (2, NOON + 2 * HOUR, NOON + 3 * HOUR, 0.3)]
    assert {(p.currency, p.units, p.event_id, p.program_id) for p in found} == {("EUR", "KWH", "event-1", "program-1")}


def test_an_intervals_own_period_wins_and_the_next_one_follows_it() -> None:
    intervals = _prices(0.1, 0.2)
    intervals[0]["intervalPeriod"] = {"start": "2026-06-21T18:00:00Z", "duration": "PT15M"}
    found = price_intervals(_event(intervals, {"start": "2026-06-21T12:00:00Z", "duration": "PT1H"}))
    six = NOON + 6 * HOUR
    assert [(p.start, p.end) for p in found] == [(six, six + timedelta(minutes=15)),
                                                 (six + timedelta(minutes=15), six + timedelta(minutes=75))]


@pytest.mark.parametrize(("intervals", "period"), [
    (_prices(0.1), None),  # no start anywhere
    (_prices(0.1), {"start": "2026-06-21T12:00:00Z"}),  # no duration
    (_prices(0.1), {"start": "2026-06-21T12:00:00Z", "duration": "P9999Y"}),  # for ever
    (_prices(0.1), {"start": "0001-01-01T00:00:00Z", "duration": "PT1H"}),  # "now": no fixed time
    (_prices("cheap", True), {"start": "2026-06-21T12:00:00Z", "duration": "PT1H"}),  # not numbers
    ([{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}], {"start": "2026-06-21T12:00:00Z",
                                                                    "duration": "PT1H"}),  # no price
])
def test_intervals_whose_time_or_price_cannot_be_told_are_skipped(intervals: list[dict[str, Any]],
                                                                  period: dict[str, Any] | None) -> None:
    assert price_intervals(_event(intervals, period)) == []


def _at(price: float, start: datetime = NOON, n: int = 0) -> PricedInterval:
    return PricedInterval("event-1", "program-1", n, start, start + HOUR, price)


def test_pv_produces_its_forecast_and_curtails_below_a_zero_price() -> None:
    pv = PvPersonality(5.0, seed=3)
    behaviour = Oa3Behaviour(pv)
    produce = behaviour.decide(_at(0.05))
    assert produce.action == "produce"
    assert produce.planned_kwh == pytest.approx(-pv.production_kwh(NOON, HOUR))
    assert produce.planned_kwh < -1.0
    curtail = behaviour.decide(_at(-0.01, NOON + HOUR, 1))
    assert (curtail.action, curtail.planned_kwh) == ("curtail", 0.0)
    assert behaviour.metered(curtail) == 0.0
    assert behaviour.metered(produce) == pytest.approx(produce.planned_kwh, rel=0.1)


def test_pv_with_a_band_curtails_below_the_export_price() -> None:
    behaviour = Oa3Behaviour(PvPersonality(5.0), band=ReservePrices(grid_buy=0.3, grid_sell=0.05))
    assert behaviour.decide(_at(0.04)).action == "curtail"
    assert behaviour.decide(_at(0.06, NOON + HOUR, 1)).action == "produce"


def test_a_load_sheds_half_its_demand_in_the_dearest_third_of_the_prices_seen() -> None:
    load = LoadPersonality(3.0, seed=1)
    behaviour = Oa3Behaviour(load)
    decisions = [behaviour.decide(_at(p, NOON + n * HOUR, n)) for n, p in enumerate((0.1, 0.2, 0.15, 0.3))]
    assert [d.action for d in decisions] == ["consume", "consume", "consume", "shed"]
    last = decisions[-1]
    assert last.planned_kwh == pytest.approx(0.5 * load.demand_kwh(last.interval.start, HOUR))
    assert behaviour.metered(last) == pytest.approx(last.planned_kwh, rel=0.1)


def test_a_load_with_a_band_sheds_above_the_retail_price() -> None:
    behaviour = Oa3Behaviour(LoadPersonality(3.0), band=ReservePrices(grid_buy=0.25, grid_sell=0.05))
    assert behaviour.decide(_at(0.25)).action == "consume"
    assert behaviour.decide(_at(0.26, NOON + HOUR, 1)).action == "shed"


def test_a_battery_charges_cheap_discharges_dear_and_its_meter_reads_what_it_booked() -> None:
    battery = BatteryPersonality(5.0, soc=0.5)
    behaviour = Oa3Behaviour(battery, band=ReservePrices(grid_buy=0.30, grid_sell=0.05))
    stored = battery.stored_kwh
    charge = behaviour.decide(_at(0.06))
    assert charge.action == "charge"
    assert charge.planned_kwh > 0
    assert battery.stored_kwh > stored
    discharge = behaviour.decide(_at(0.29, NOON + HOUR, 1))
    assert discharge.action == "discharge"
    assert discharge.planned_kwh < 0
    idle = behaviour.decide(_at(0.175, NOON + 2 * HOUR, 2))
    assert (idle.action, idle.planned_kwh) == ("idle", 0.0)
    assert [behaviour.metered(d) for d in (charge, discharge, idle)] == pytest.approx(
        [charge.planned_kwh, discharge.planned_kwh, 0.0])


def test_a_battery_without_a_band_judges_prices_by_those_it_has_seen() -> None:
    behaviour = Oa3Behaviour(BatteryPersonality(5.0))
    actions = [behaviour.decide(_at(p, NOON + n * HOUR, n)).action for n, p in enumerate((0.2, 0.1, 0.3, 0.1, 0.3))]
    assert actions[-2:] == ["charge", "discharge"]


def test_the_flexible_share_is_a_fraction() -> None:
    with pytest.raises(ValueError, match="flexible_share"):
        Oa3Behaviour(LoadPersonality(), flexible_share=1.5)
