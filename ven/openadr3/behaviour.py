"""The reference personalities answering OpenADR 3 PRICE events, sans I/O: which intervals an event prices,
what the device does in each, and what its meter then reads.

:func:`price_intervals` reads an :class:`~.models.Event`'s PRICE payloads as :class:`PricedInterval` s with their
absolute start and end. Timing follows the User Guide: an interval's own ``intervalPeriod`` wins; an interval
without one takes the event's ``intervalPeriod`` duration and starts where the interval before it ended (the
first at the event's start). Intervals whose time cannot be told (no start, an infinite duration) are skipped,
as are prices that are not numbers.

:class:`Oa3Behaviour` wraps a :class:`~transactive.ven.personalities.Personality` (its forecast model) and makes
one :class:`Decision` per priced interval, once, in time order. Usage is signed as the meter sees it:
positive imports (consumption, charging), negative exports (production, discharging), in kWh.

=========  ===================================================================================================
pv         produces its forecast, or curtails to nothing when the price is below what export must earn (its
           ``band.grid_sell``; without a band: below zero)
load       consumes its forecast, or sheds ``flexible_share`` of it when the price is dear: above
           ``band.grid_buy``, or without a band in the dearest third of the prices seen (at least three)
battery    charges at full power (within its room) when the price is at or below its buy limit and discharges
           (within what it holds) at or above its sell limit; the limits come from its price history
           (:meth:`~transactive.ven.personalities.BatteryPersonality.limits`), within the band (without one:
           the range of the prices seen)
others     are asked :meth:`~transactive.ven.personalities.Personality.on_event` with the price (they move their
           consumption to cheap intervals within their own limits: a thermostat pre-heats, an EV charges in
           the cheapest intervals that still meet its departure) and then run on their own model: ``follow``
           when they took part, ``run`` otherwise
=========  ===================================================================================================

After the interval, :meth:`Oa3Behaviour.metered` gives the energy measured: the personality's meter (its
forecast plus noise) for PV and load, scaled by what was decided; exactly what was booked for the battery.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.openadr3.models import Event, duration_of
from transactive.ven.personalities import (
    BatteryPersonality,
    EventKind,
    LoadPersonality,
    Personality,
    PvPersonality,
)

__all__ = ["PRICE", "Decision", "Oa3Behaviour", "PricedInterval", "price_intervals"]

#: the payload type of a price (Definitions: "PRICE")
PRICE = "PRICE"
#: how many recent prices a load ranks a new one against
PRICE_MEMORY = 96
#: the start the User Guide reads as "now": no fixed time, so not scheduled here
_NOW = datetime(1, 1, 1).date()


@dataclass(frozen=True, slots=True)
class PricedInterval:
    """One interval of a price event, with absolute times."""

    event_id: str
    program_id: str
    interval_id: int
    start: datetime
    end: datetime
    price: float
    currency: str | None = None
    units: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.event_id, self.interval_id

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Decision:
    """What the device does in one priced interval: ``action`` and the net energy it expects (kWh, + import)."""

    interval: PricedInterval
    action: str
    planned_kwh: float


def price_intervals(event: Event, payload_type: str = PRICE) -> list[PricedInterval]:
    """The intervals of ``event`` that carry a numeric ``payload_type`` value, in time order (see the module)."""
    default = event.interval_period
    descriptor = event.payload_descriptor(payload_type)
    cursor = default.start if default is not None else None
    found = []
    for interval in event.intervals or ():
        own = interval.interval_period
        start = own.start if own is not None and own.start is not None else cursor
        duration_text = (own.duration if own is not None and own.duration is not None
                         else default.duration if default is not None else None)
        length = duration_of(duration_text) if duration_text is not None else None
        if start is None or length is None or start.date() == _NOW:
            cursor = None
            continue
        cursor = start + length
        payload = interval.payload(payload_type)
        value = payload.values[0] if payload is not None and payload.values else None
        if isinstance(value, int | float) and not isinstance(value, bool) and length > timedelta(0):
            found.append(PricedInterval(event.id, event.program_id, interval.id, start, start + length,
                                        float(value), descriptor.currency if descriptor else None,
                                        descriptor.units if descriptor else None))
    return sorted(found, key=lambda p: (p.start, p.interval_id))


class Oa3Behaviour:
    """A personality answering price events (see the module). ``band`` is the grid's (retail, export) prices
    when known (``ven run --grid-prices``); without it the device judges prices against those it has seen."""

    def __init__(self, personality: Personality, *, band: ReservePrices | None = None,
                 flexible_share: float = 0.5) -> None:
        if not 0.0 <= flexible_share <= 1.0:
            raise ValueError("flexible_share is a fraction in [0, 1]")
        self.personality = personality
        self.band = band
        self.flexible_share = flexible_share
        self.prices: deque[float] = deque(maxlen=PRICE_MEMORY)

    def decide(self, interval: PricedInterval) -> Decision:
        """The device's decision for ``interval`` (call once per interval, in time order: a battery books its
        state of charge here)."""
        device = self.personality
        self.prices.append(interval.price)
        device.on_price(interval.start, interval.price)
        if isinstance(device, PvPersonality):
            floor = self.band.grid_sell if self.band is not None else 0.0
            if interval.price < floor:
                return Decision(interval, "curtail", 0.0)
            return Decision(interval, "produce", -device.production_kwh(interval.start, interval.duration))
        if isinstance(device, LoadPersonality):
            demand = device.demand_kwh(interval.start, interval.duration)
            if self._dear(interval.price):
                return Decision(interval, "shed", demand * (1.0 - self.flexible_share))
            return Decision(interval, "consume", demand)
        if isinstance(device, BatteryPersonality):
            return self._battery(device, interval)
        action = "follow" if device.on_event(interval.start, interval.end, EventKind.PRICE, interval.price) else "run"
        return Decision(interval, action, device.forecast_kwh(interval.start, interval.duration))

    def _dear(self, price: float) -> bool:
        if self.band is not None:
            return price > self.band.grid_buy
        if len(self.prices) < 3:
            return False
        low, high = min(self.prices), max(self.prices)
        return high - low > 1e-12 and price >= high - (high - low) / 3

    def _battery_band(self) -> ReservePrices:
        if self.band is not None:
            return self.band
        low, high = min(self.prices), max(self.prices)
        return ReservePrices(grid_buy=high if high > low else low + max(abs(low), 1.0), grid_sell=low)

    def _battery(self, battery: BatteryPersonality, interval: PricedInterval) -> Decision:
        buy, sell = battery.limits(self._battery_band())
        if interval.price <= buy and (room := battery.charge_room_kwh(interval.duration)) > 1e-6:
            battery.on_transaction(interval.start, Side.BUY, room, interval.price)
            action = "charge"
        elif interval.price >= sell and (room := battery.discharge_room_kwh(interval.duration)) > 1e-6:
            battery.on_transaction(interval.start, Side.SELL, room, interval.price)
            action = "discharge"
        else:
            return Decision(interval, "idle", 0.0)
        return Decision(interval, action, battery.forecast_kwh(interval.start, interval.duration))

    def metered(self, decision: Decision) -> float:
        """The net energy the meter read over the decided interval (kWh, + import); call once, after it ended."""
        interval, device = decision.interval, self.personality
        if decision.action in ("curtail", "idle"):
            if isinstance(device, BatteryPersonality):
                device.metered(interval.start, interval.duration)  # drops the booking, if any
            return 0.0
        reading = device.metered(interval.start, interval.duration)
        net = reading.bought_kwh - reading.sold_kwh
        if decision.action == "shed":
            net *= 1.0 - self.flexible_share
        return net
