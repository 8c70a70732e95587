"""The reference personalities as OpenADR 2.0b devices: how a PV system, a household load and a battery
answer events, and the power their meter reports (``TELEMETRY_USAGE``).

:class:`OadrBehaviour` wraps a :class:`~transactive.ven.personalities.Personality` (its physical model: PV
production, household demand, battery power and state of charge) and gives an
:class:`~transactive.ven.oadr.client.OadrVenClient` its event handler, its event-end handler and a power reading.
The rules, per signal (``ELECTRICITY_PRICE``/``ENERGY_PRICE`` are price signals; ``SIMPLE`` levels are 0-3;
``LOAD_DISPATCH`` values are kW, or W with a ``powerReal`` item, a ``delta`` from normal or a ``setpoint``):

=========  ===================================================================================================
battery    price: charges at full power in the intervals priced in the lowest third of the event's range,
           discharges in the highest third, idles between — opts in; SIMPLE level L: discharges L/3 of its
           power — opts in; LOAD_DISPATCH within its power: follows — opts in, else opts out
load       SIMPLE level L: sheds 15/30/50 % of its demand — opts in; LOAD_DISPATCH: opts in and sheds when every
           interval asks for a reduction of at most its flexible share (half its demand), else opts out; price
           signals: opts out (it does not act on prices)
pv         price: opts in, curtails in intervals with a negative price; LOAD_DISPATCH that only raises the net
           load (delta >= 0, up to its capacity): opts in and curtails; any other dispatch, and SIMPLE
           (no load to shed): opts out
others     each interval is put to :meth:`~transactive.ven.personalities.Personality.on_event`: a price signal
           as a price, SIMPLE as a level (0-3), ``LOAD_CONTROL`` as on/off (value 0: off, else on); it opts in
           when the device takes part in every interval. The device then runs on its own physical model,
           stepped every :data:`STEP` (a thermostat keeps its comfort bounds, an EV charges by its departure)
=========  ===================================================================================================

Other signals are opted out of. Test events (``ei:testEvent`` true) are answered the same way but not acted
on (the other devices are asked on a copy of themselves). Power is signed as the meter sees it: positive
imports (consumption, charging), negative exports.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from transactive.ei.oadr.enums import OptType, SignalType
from transactive.ei.oadr.event import EventSignal
from transactive.ei.oadr.items import RealPower
from transactive.ei.oadr.report import SamplingRate
from transactive.protocol.clock import Clock, system_clock
from transactive.ven.oadr.client import OadrVenClient
from transactive.ven.oadr.events import ReceivedEvent, SignalValue
from transactive.ven.personalities import (
    BatteryPersonality,
    EventKind,
    LoadPersonality,
    Personality,
    PvPersonality,
)

__all__ = ["PRICE_SIGNALS", "STEP", "TELEMETRY_SAMPLING", "Action", "OadrBehaviour"]

#: the signals a device reads as prices
PRICE_SIGNALS = ("ELECTRICITY_PRICE", "ENERGY_PRICE")
#: the share of its demand a load sheds at each SIMPLE level (0-3)
SIMPLE_SHED = (0.0, 0.15, 0.3, 0.5)
#: how often the power can be read: from every second to every hour (the VTN chooses)
TELEMETRY_SAMPLING = SamplingRate(min_period=timedelta(seconds=1), max_period=timedelta(hours=1), on_change=False)
#: a minute: the model's readings are taken per minute (so a second's reading is stable)
_MINUTE = timedelta(minutes=1)
#: the step the other personalities' physical models advance by (their meter is read once per step)
STEP = timedelta(minutes=5)
#: after a longer silence the model restarts from now rather than replaying every step
_MAX_CATCH_UP = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Action:
    """What the device does from ``start`` to ``end``: battery: ``kw`` (+ charge, - discharge); load: shed
    ``fraction`` of its demand or ``kw``; PV: curtail ``fraction`` of its production or ``kw``."""

    start: datetime
    end: datetime
    kw: float = 0.0
    fraction: float = 0.0

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.end


def _kw(signal: EventSignal, value: float) -> float:
    """A dispatch value in kW: a ``powerReal`` item says W with its SI scale; no item means kW."""
    if isinstance(signal.item_base, RealPower):
        return value * signal.item_base.si_scale_code.factor / 1000.0
    return value


#: how many recent prices the battery ranks a new price against (a day of 15-minute intervals)
PRICE_MEMORY = 96


class OadrBehaviour:
    """A personality answering OpenADR events (see the module's description). ``clock`` is what event times are
    read against: the wall clock, or in a simulation the market's faster clock."""

    def __init__(self, personality: Personality, *, clock: Clock = system_clock, flexible_share: float = 0.5) -> None:
        self.personality = personality
        self.clock = clock
        self.flexible_share = flexible_share
        #: event ID -> the actions accepted for it
        self.plans: dict[str, tuple[Action, ...]] = {}
        self._last_reading: datetime | None = None
        self._last_kw = 0.0
        #: the next step of a stepped model to meter (None: not started)
        self._next_step: datetime | None = None
        #: the prices of the latest price intervals seen (a market's price events carry one interval each)
        self.prices: deque[float] = deque(maxlen=PRICE_MEMORY)

    def attach(self, client: OadrVenClient, *, resource_id: str | None = None) -> tuple[str, str]:
        """Give ``client`` this device's handlers and its ``TELEMETRY_USAGE`` power report (W, sampled as the
        VTN asks within :data:`TELEMETRY_SAMPLING`); the report's (reportSpecifierID, rID)."""
        client.on_event(self.decide)
        client.on_event_end(self.ended)
        return client.add_report(self.power_w, resource_id or f"{client.ven_name}-{self.personality.name}", "power",
                                 sampling_rate=TELEMETRY_SAMPLING)

    # -- events --------------------------------------------------------------------------------------

    def decide(self, event: ReceivedEvent) -> OptType:
        """The device's answer to a new or modified event; its plan is kept when it opts in."""
        self.plans.pop(event.event_id, None)
        opt, plan = self._decide(event)
        if opt is OptType.OPT_IN and not event.is_test:
            self.plans[event.event_id] = plan
        return opt

    def ended(self, event: ReceivedEvent) -> None:
        """An event was cancelled or completed: its plan is dropped."""
        self.plans.pop(event.event_id, None)

    def _decide(self, event: ReceivedEvent) -> tuple[OptType, tuple[Action, ...]]:
        price = next((event.signal(n) for n in PRICE_SIGNALS if event.signal(n) is not None), None)
        simple = event.signal("SIMPLE") or event.signal("simple")
        dispatch = event.signal("LOAD_DISPATCH")
        device = self.personality
        if isinstance(device, BatteryPersonality):
            if price is not None:
                return OptType.OPT_IN, self._arbitrage(event.values(price))
            if simple is not None:
                return OptType.OPT_IN, tuple(Action(v.start, v.end, kw=-device.capacity_kw * _level(v.value) / 3)
                                             for v in event.values(simple))
            if dispatch is not None:
                return self._follow(dispatch, event.values(dispatch), device.capacity_kw)
        elif isinstance(device, LoadPersonality):
            if simple is not None:
                return OptType.OPT_IN, tuple(Action(v.start, v.end, fraction=SIMPLE_SHED[_level(v.value)])
                                             for v in event.values(simple))
            if dispatch is not None:
                return self._shed(dispatch, event.values(dispatch), device)
        elif isinstance(device, PvPersonality):
            if price is not None:
                return OptType.OPT_IN, tuple(Action(v.start, v.end, fraction=1.0)
                                             for v in event.values(price) if v.value < 0)
            if dispatch is not None and dispatch.signal_type is SignalType.DELTA:
                raises = [(v, _kw(dispatch, v.value)) for v in event.values(dispatch)]
                if all(0 <= kw <= device.capacity_kw for _v, kw in raises):
                    return OptType.OPT_IN, tuple(Action(v.start, v.end, kw=kw) for v, kw in raises if kw > 0)
        else:
            return self._ask(event, price, simple, event.signal("LOAD_CONTROL"))
        return OptType.OPT_OUT, ()

    def _ask(self, event: ReceivedEvent, price: EventSignal | None, simple: EventSignal | None,
             control: EventSignal | None) -> tuple[OptType, tuple[Action, ...]]:
        """Another personality: put each interval to its ``on_event`` (on a copy for a test event)."""
        asked = ((EventKind.PRICE, price) if price is not None else (EventKind.LEVEL, simple) if simple is not None
                 else (EventKind.ONOFF, control) if control is not None else None)
        if asked is None:
            return OptType.OPT_OUT, ()
        kind, signal = asked
        device = copy.deepcopy(self.personality) if event.is_test else self.personality
        values = event.values(signal)
        answers = [device.on_event(v.start, v.end, kind,
                                   float(_level(v.value) if kind is EventKind.LEVEL else
                                         (0.0 if v.value == 0 else 1.0) if kind is EventKind.ONOFF else v.value))
                   for v in values]
        return (OptType.OPT_IN, ()) if values and all(answers) else (OptType.OPT_OUT, ())

    def _arbitrage(self, values: tuple[SignalValue, ...]) -> tuple[Action, ...]:
        """Charge in the cheapest third of the price range, discharge in the dearest third; the range is the
        event's prices and the last :data:`PRICE_MEMORY` prices seen before, so a battery also follows a
        market that publishes one price per interval (the VTN's price events)."""
        if not values:
            return ()
        seen = [*self.prices, *(v.value for v in values)]
        self.prices.extend(v.value for v in values)
        low, high = min(seen), max(seen)
        if high - low <= 1e-12:
            return ()
        power = self.personality.capacity_kw
        third = (high - low) / 3
        actions = []
        for v in values:
            if v.value <= low + third:
                actions.append(Action(v.start, v.end, kw=power))
            elif v.value >= high - third:
                actions.append(Action(v.start, v.end, kw=-power))
        return tuple(actions)

    @staticmethod
    def _follow(signal: EventSignal, values: tuple[SignalValue, ...],
                capacity_kw: float) -> tuple[OptType, tuple[Action, ...]]:
        """A battery follows dispatch within its power (+ charge, - discharge; a setpoint or a delta from idle)."""
        wanted = [(v, _kw(signal, v.value)) for v in values]
        if all(abs(kw) <= capacity_kw for _v, kw in wanted):
            return OptType.OPT_IN, tuple(Action(v.start, v.end, kw=kw) for v, kw in wanted)
        return OptType.OPT_OUT, ()

    def _shed(self, signal: EventSignal, values: tuple[SignalValue, ...],
              load: LoadPersonality) -> tuple[OptType, tuple[Action, ...]]:
        """A load sheds when every interval asks for a reduction within its flexible share of demand."""
        actions = []
        for v in values:
            demand = self._demand_kw(load, v.start + (v.end - v.start) / 2)
            # a setpoint is the demand asked for; a delta (or level) the change, negative = less consumption
            asked = _kw(signal, v.value)
            shed = demand - asked if signal.signal_type is SignalType.SETPOINT else -asked
            if not 0 <= shed <= self.flexible_share * max(demand, 0.0) + 1e-9:
                return OptType.OPT_OUT, ()
            actions.append(Action(v.start, v.end, kw=shed))
        return OptType.OPT_IN, tuple(actions)

    # -- the meter -------------------------------------------------------------------------------------

    def _in_force(self, when: datetime) -> list[Action]:
        return [a for plan in self.plans.values() for a in plan if a.covers(when)]

    @staticmethod
    def _demand_kw(load: LoadPersonality, when: datetime) -> float:
        minute = when.replace(second=0, microsecond=0)
        return load.demand_kwh(minute, _MINUTE) * 60.0

    def power_w(self) -> float:
        """The power the meter reads now (W; positive imports), from the personality's model and the actions
        in force. The battery's state of charge moves with the power since the last reading."""
        now = self.clock()
        actions = self._in_force(now)
        device = self.personality
        if isinstance(device, BatteryPersonality):
            return 1000.0 * self._battery_kw(device, now, sum(a.kw for a in actions))
        if isinstance(device, LoadPersonality):
            demand = self._demand_kw(device, now)
            shed = sum(a.fraction for a in actions) * demand + sum(a.kw for a in actions)
            return 1000.0 * max(demand - shed, 0.0)
        if isinstance(device, PvPersonality):
            minute = now.replace(second=0, microsecond=0)
            production = device.production_kwh(minute, _MINUTE) * 60.0
            curtailed = min(sum(a.fraction for a in actions) * production + sum(a.kw for a in actions), production)
            return -1000.0 * (production - curtailed)
        return 1000.0 * self._stepped_kw(device, now)

    def _stepped_kw(self, device: Personality, now: datetime) -> float:
        """Another personality's power now: its model is metered for every whole :data:`STEP` that has passed
        (so its state moves: temperatures, charge), and the power is its forecast for the current step."""
        step_h = STEP.total_seconds() / 3600
        current = now - (now - now.replace(hour=0, minute=0, second=0, microsecond=0)) % STEP
        if self._next_step is None or current - self._next_step > _MAX_CATCH_UP:
            self._next_step = current
        while self._next_step < current:
            device.metered(self._next_step, STEP)
            self._next_step += STEP
        return device.forecast_kwh(current, STEP) / step_h

    def _battery_kw(self, battery: BatteryPersonality, now: datetime, wanted_kw: float) -> float:
        """The battery's power now (limited by its power and state of charge); its storage first takes in the
        power it ran at since the last reading."""
        if self._last_reading is not None:
            hours = max((now - self._last_reading).total_seconds(), 0.0) / 3600
            ran = self._last_kw
            stored = battery.stored_kwh + (ran * battery.efficiency if ran > 0 else ran / battery.efficiency) * hours
            battery.stored_kwh = min(max(stored, 0.0), battery.energy_kwh)
        kw = max(-battery.capacity_kw, min(battery.capacity_kw, wanted_kw))
        if (kw > 0 and battery.stored_kwh >= battery.energy_kwh) or (kw < 0 and battery.stored_kwh <= 0):
            kw = 0.0
        self._last_reading, self._last_kw = now, kw
        return kw


def _level(value: float) -> int:
    """A SIMPLE level, 0-3."""
    return max(0, min(3, round(value)))

