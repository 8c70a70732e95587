"""The personalities without dedicated OpenADR rules: both OpenADR roles put each event interval to
``Personality.on_event`` and run the device on its own model (stepped every 5 minutes under 2.0b)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from tests.ven.oadr.conftest import T0, event
from transactive.ei.oadr import OptType, SignalType
from transactive.market import ReservePrices
from transactive.protocol.clock import ManualClock
from transactive.ven.oadr.behaviour import STEP, OadrBehaviour
from transactive.ven.oadr.events import ReceivedEvent
from transactive.ven.openadr3.behaviour import Oa3Behaviour, PricedInterval
from transactive.ven.personalities import EventKind, Metered, Need, Personality

NOON = T0.replace(hour=12)
M = timedelta(minutes=10)


class Heater(Personality):
    """A 2 kW heater that runs unless told off; it takes part in levels up to 2 and in on/off, never in
    prices; it remembers what it was asked and what was metered."""

    name: ClassVar[str] = "test-heater"
    default_capacity_kw: ClassVar[float] = 2.0

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0) -> None:
        super().__init__(capacity_kw, seed=seed)
        self.asked: list[tuple[datetime, datetime, EventKind, float]] = []
        self.off: list[tuple[datetime, datetime]] = []
        self.metered_steps: list[datetime] = []

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        running = not any(a <= start < b for a, b in self.off)
        return self.capacity_kw * duration.total_seconds() / 3600 if running else 0.0

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        return []

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        self.metered_steps.append(start)
        return Metered(bought_kwh=self.forecast_kwh(start, duration))

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        self.asked.append((start, end, kind, value))
        if kind is EventKind.PRICE or (kind is EventKind.LEVEL and value > 2):
            return False
        if value != (1.0 if kind is EventKind.ONOFF else 0.0):
            self.off.append((start, end))
        return True


def _received(**kwargs: object) -> ReceivedEvent:
    return ReceivedEvent(event(**kwargs), "d-1")  # type: ignore[arg-type]


def test_simple_levels_are_asked_as_levels_and_the_device_acts_on_them() -> None:
    clock = ManualClock(NOON)
    heater = Heater()
    behaviour = OadrBehaviour(heater, clock=clock)
    answer = behaviour.decide(_received(signal="SIMPLE", kind=SignalType.LEVEL, values=(1.0, 2.4), start=NOON))
    assert answer is OptType.OPT_IN
    assert [(a, k, v) for a, _b, k, v in heater.asked] == [(NOON, EventKind.LEVEL, 1.0), (NOON + M, EventKind.LEVEL,
                                                                                            2.0)]
    clock.set(NOON + timedelta(minutes=1))
    assert behaviour.power_w() == 0.0  # off during the event
    clock.set(NOON + 2 * M + timedelta(minutes=1))
    assert behaviour.power_w() == pytest.approx(2000.0)


def test_a_level_it_cannot_follow_in_one_interval_opts_out() -> None:
    behaviour = OadrBehaviour(Heater())
    answer = behaviour.decide(_received(signal="SIMPLE", kind=SignalType.LEVEL, values=(1.0, 3.0), start=NOON))
    assert answer is OptType.OPT_OUT


def test_load_control_is_asked_as_on_off_and_prices_as_prices() -> None:
    heater = Heater()
    behaviour = OadrBehaviour(heater)
    control = _received(signal="LOAD_CONTROL", kind=SignalType.X_LOAD_CONTROL_CAPACITY, values=(0.0, 0.6))
    assert behaviour.decide(control) is OptType.OPT_IN
    assert [(k, v) for _a, _b, k, v in heater.asked] == [(EventKind.ONOFF, 0.0), (EventKind.ONOFF, 1.0)]
    assert behaviour.decide(_received(values=(0.1, 0.5))) is OptType.OPT_OUT
    assert heater.asked[-1][2:] == (EventKind.PRICE, 0.5)
    assert behaviour.decide(_received(signal="BID_LOAD", kind=SignalType.SETPOINT)) is OptType.OPT_OUT


def test_a_test_event_is_asked_of_a_copy() -> None:
    heater = Heater()
    behaviour = OadrBehaviour(heater)
    answer = behaviour.decide(_received(signal="SIMPLE", kind=SignalType.LEVEL, values=(1.0,), start=NOON,
                                        test="true"))
    assert answer is OptType.OPT_IN
    assert heater.asked == []
    assert heater.off == []


def test_the_model_is_metered_once_per_whole_step_that_passed() -> None:
    clock = ManualClock(NOON + timedelta(minutes=2))
    heater = Heater()
    behaviour = OadrBehaviour(heater, clock=clock)
    assert behaviour.power_w() == pytest.approx(2000.0)
    assert heater.metered_steps == []  # the first reading starts the stepping
    clock.set(NOON + timedelta(minutes=17))
    behaviour.power_w()
    assert heater.metered_steps == [NOON, NOON + STEP, NOON + 2 * STEP]
    clock.set(NOON + timedelta(minutes=18))
    behaviour.power_w()
    assert len(heater.metered_steps) == 3
    clock.set(NOON + timedelta(days=3))  # a long silence: it restarts from now, not replaying three days
    behaviour.power_w()
    assert len(heater.metered_steps) == 3


def test_openadr3_price_intervals_are_put_to_on_event_and_metered_on_the_model() -> None:
    heater = Heater()
    behaviour = Oa3Behaviour(heater)
    interval = PricedInterval("e", "p", 0, NOON, NOON + timedelta(hours=1), 0.4)
    decision = behaviour.decide(interval)
    assert decision.action == "run"
    assert decision.planned_kwh == pytest.approx(2.0)
    assert heater.asked == [(NOON, NOON + timedelta(hours=1), EventKind.PRICE, 0.4)]
    assert behaviour.metered(decision) == pytest.approx(2.0)
    assert heater.metered_steps == [NOON]


class PriceHeater(Heater):
    """Coasts through dear hours (price above 0.3)."""

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        if kind is EventKind.PRICE and value > 0.3:
            self.off.append((start, end))
        return kind is EventKind.PRICE


def test_openadr3_a_device_that_takes_part_follows_and_its_meter_shows_it() -> None:
    behaviour = Oa3Behaviour(PriceHeater())
    dear = behaviour.decide(PricedInterval("e", "p", 0, NOON, NOON + timedelta(hours=1), 0.4))
    cheap = behaviour.decide(PricedInterval("e", "p", 1, NOON + timedelta(hours=1), NOON + timedelta(hours=2), 0.1))
    assert (dear.action, dear.planned_kwh, behaviour.metered(dear)) == ("follow", 0.0, 0.0)
    assert cheap.action == "follow"
    assert behaviour.metered(cheap) == pytest.approx(2.0)


@pytest.mark.parametrize(("kind", "takes_part"), [
    ("homeostasis", True),  # it can coast within its bounds for an hour
    ("preconsumption", True),  # the store is well above its minimum: it stops heating
    ("scheduled", True),  # its window opens at 08:00: nothing to move
    ("ev", False),  # it left at 07:00: nothing to pause
    ("meter", False),  # a meter has nothing it can change
    ("t2", True),
])
def test_the_reference_personalities_run_their_physics_under_openadr_2(kind: str, takes_part: bool) -> None:
    """A SIMPLE level 2 event for an hour at 07:00 on each real personality, then a day of readings every
    minute: the model moves (its state of charge or temperature stays within its limits) and the meter
    never reads an export from a device that cannot export."""
    from transactive.ven.personalities import create_personality

    day = T0.replace(hour=0)
    clock = ManualClock(day)
    device = create_personality(kind, seed=4)
    behaviour = OadrBehaviour(device, clock=clock)
    answer = behaviour.decide(_received(signal="SIMPLE", kind=SignalType.LEVEL, values=(2.0,) * 6,
                                        start=day.replace(hour=7)))
    assert answer is (OptType.OPT_IN if takes_part else OptType.OPT_OUT)
    readings = []
    for minute in range(0, 24 * 60, 1):
        clock.set(day + timedelta(minutes=minute))
        readings.append(behaviour.power_w())
        soc = device.state_of_charge
        assert soc is None or -1e-9 <= soc <= 1 + 1e-9
        temperature = getattr(device, "temperature_c", None)
        if temperature is not None:
            assert device.low_c - 0.5 <= temperature <= device.high_c + 0.5  # type: ignore[attr-defined]
    assert min(readings) >= 0.0  # none of them exports (the EV's V2G is off by default)
    assert max(readings) > 0.0  # and each draws power at some point of the day
