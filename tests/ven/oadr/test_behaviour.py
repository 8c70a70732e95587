"""How the reference personalities answer OpenADR events and what their meter reads
(:mod:`transactive.ven.oadr.behaviour`), on a hand-moved clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.ven.oadr.conftest import T0, event
from transactive.ei.oadr import EventStatus, OptType, PowerAttributes, RealPower, SignalType, SiScaleCode
from transactive.protocol.clock import ManualClock
from transactive.ven.oadr.behaviour import OadrBehaviour
from transactive.ven.oadr.events import ReceivedEvent
from transactive.ven.personalities import BatteryPersonality, LoadPersonality, PvPersonality

M = timedelta(minutes=10)
NOON = T0.replace(hour=12)  # PV produces, the load is moderate


def received(**kwargs: object) -> ReceivedEvent:
    return ReceivedEvent(event(**kwargs), "d-1")  # type: ignore[arg-type]


def at(behaviour: OadrBehaviour, clock: ManualClock, when: datetime) -> float:
    clock.set(when)
    return behaviour.power_w()


def test_a_battery_charges_when_cheap_and_discharges_when_dear() -> None:
    clock = ManualClock(NOON)
    battery = OadrBehaviour(BatteryPersonality(5.0), clock=clock)
    assert battery.decide(received(values=(0.1, 0.5, 0.3), start=NOON)) is OptType.OPT_IN
    readings = [at(battery, clock, NOON + k * M + timedelta(minutes=1)) for k in range(4)]
    assert readings == [5000.0, -5000.0, 0.0, 0.0]


def test_a_battery_stops_when_the_event_is_cancelled_and_is_bounded_by_its_charge() -> None:
    clock = ManualClock(NOON)
    device = BatteryPersonality(5.0, energy_kwh=0.2, soc=0.0)
    battery = OadrBehaviour(device, clock=clock)
    battery.decide(received(values=(0.1, 0.9), start=NOON))
    assert at(battery, clock, NOON) == 5000.0
    assert at(battery, clock, NOON + M / 2) == 0.0  # full after 5 minutes at 5 kW: it stops charging
    assert device.stored_kwh == pytest.approx(0.2)
    battery.ended(received(mn=1, status=EventStatus.CANCELLED))
    assert battery.plans == {}


def test_a_battery_follows_dispatch_within_its_power_only() -> None:
    battery = OadrBehaviour(BatteryPersonality(5.0))
    watts = RealPower(power_attributes=PowerAttributes(hertz=50, voltage=230, ac=True), si_scale_code=SiScaleCode.KILO)
    follow = received(signal="LOAD_DISPATCH", kind=SignalType.SETPOINT, values=(-3.0, 2.0))
    too_much = event(signal="LOAD_DISPATCH", kind=SignalType.SETPOINT, values=(-8.0,))
    scaled = too_much.event.signals[0].replace(item_base=watts)
    assert battery.decide(follow) is OptType.OPT_IN
    assert battery.decide(ReceivedEvent(too_much, "d")) is OptType.OPT_OUT
    in_kw = too_much.replace(event=too_much.event.replace(signals=(scaled,)))
    assert battery.decide(ReceivedEvent(in_kw, "d")) is OptType.OPT_OUT  # 8 kW, written as kW of powerReal


def test_a_load_sheds_on_simple_levels() -> None:
    clock = ManualClock(NOON)
    load = OadrBehaviour(LoadPersonality(3.0), clock=clock)
    before = at(load, clock, NOON + timedelta(minutes=1))
    assert load.decide(received(signal="SIMPLE", kind=SignalType.LEVEL, values=(2.0,), start=NOON)) is OptType.OPT_IN
    assert at(load, clock, NOON + timedelta(minutes=1)) == pytest.approx(before * 0.7)


def test_a_load_opts_out_of_dispatch_beyond_its_flexible_share_and_of_prices() -> None:
    load = OadrBehaviour(LoadPersonality(3.0))
    assert load.decide(received(signal="LOAD_DISPATCH", kind=SignalType.DELTA, values=(-0.1,), start=NOON)) \
        is OptType.OPT_IN
    assert load.decide(received(signal="LOAD_DISPATCH", kind=SignalType.DELTA, values=(-2.9,), start=NOON)) \
        is OptType.OPT_OUT
    assert load.decide(received()) is OptType.OPT_OUT


def test_pv_opts_in_to_prices_and_out_of_dispatch_it_cannot_follow() -> None:
    clock = ManualClock(NOON)
    pv = OadrBehaviour(PvPersonality(5.0), clock=clock)
    producing = at(pv, clock, NOON)
    assert producing < 0
    assert pv.decide(received(values=(0.2, -0.05), start=NOON)) is OptType.OPT_IN
    assert at(pv, clock, NOON + M + timedelta(minutes=1)) == 0.0  # curtailed at a negative price
    simple = received(event_id="d", signal="SIMPLE", kind=SignalType.LEVEL, values=(1.0,))
    shed = received(event_id="e", signal="LOAD_DISPATCH", kind=SignalType.DELTA, values=(-1.0,))
    raise_load = received(event_id="f", signal="LOAD_DISPATCH", kind=SignalType.DELTA, values=(1.0,))
    assert [pv.decide(e) for e in (simple, shed, raise_load)] == [OptType.OPT_OUT, OptType.OPT_OUT, OptType.OPT_IN]


def test_a_test_event_is_answered_but_not_acted_on() -> None:
    battery = OadrBehaviour(BatteryPersonality(5.0))
    assert battery.decide(received(test="true")) is OptType.OPT_IN
    assert battery.plans == {}
