"""``preconsumption``: a thermal store (a water heater, ice storage) that buys ahead when energy is cheap.

**Model** (per interval of ``h`` hours): a store of ``storage_kwh`` (heat, or cold for ice storage) filled by
a heater of ``capacity_kw`` (electrical = thermal energy: a resistive element), emptied by the household's
draw and by standing losses::

    stored' = stored + heat + forced - draw - loss,     loss = stored (1 - (1 - loss_per_hour)^h)

``draw`` follows a daily hot-water profile, :data:`DRAW_PROFILE` (share of ``use_kwh_per_day`` per hour: a
small night base, a morning peak 06:00-09:00 for showers, a smaller midday step and an evening peak
18:00-22:00 for cooking, dishes and baths), integrated exactly over the interval and varied by up to
``+-draw_variation`` per interval (drawn from the seed and the interval, :func:`~.base.interval_rng`).
``heat`` is what it bought, bounded by the power (``capacity_kw h``) and the room left by the end of the
interval; none in a paused event window. ``forced`` is the thermostat: if the store would end the interval
below ``min_fraction``, the heater runs anyway (up to its power) to bring it back to ``min_fraction`` — a
deviation from what was bought, settled as imbalance. Only a draw larger than the heater's power can take
the store below ``min_fraction`` (never below empty: the household then gets less hot water).

**Pricing**: it bids for the room it has (at most ``capacity_kw h``). Its limit comes from its own clearing
price history (the ``low_quantile`` of the last ``window`` prices, like the battery; until it has seen
``min_history`` prices, 35 % of the way up the band) while the store is comfortable, and rises linearly to
``band.grid_buy`` as the fraction it would hold at the interval's end without heating, ``f``, falls from
``comfort_fraction`` to ``min_fraction``: ``limit = base + (grid_buy - base) u``,
``u = clip((comfort_fraction - f) / (comfort_fraction - min_fraction), 0, 1)`` (``u = 1``: it must buy).

**Events**: PRICE: it heats at full power in the windows whose price is in the lowest ``low_quantile`` of the
range of the prices it knows (its clearing price history and the event prices it was sent:
``price <= low + low_quantile (high - low)``) and coasts in the others (the thermostat still keeps
``min_fraction``); LEVEL >= 1 or ONOFF 0 stops heating in the window (same floor); LEVEL 0 / ONOFF 1 resumes.
It always takes part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import EventKind, Metered, Need, Param, interval_rng
from transactive.ven.personalities.stepped import EPS_KWH, SteppedPersonality, hours, overlap_hours

__all__ = ["DRAW_PROFILE", "PreconsumptionPersonality", "StoreState"]

#: relative hot-water draw per hour of the day (00:00 ... 23:00); normalised when used
DRAW_PROFILE = (0.5, 0.3, 0.3, 0.3, 0.3, 0.8, 4.0, 6.0, 4.0, 2.0, 1.5, 1.5,
                2.0, 1.5, 1.2, 1.2, 1.5, 2.5, 4.0, 5.0, 4.5, 3.0, 1.5, 0.8)
_SHARE = tuple(w / sum(DRAW_PROFILE) for w in DRAW_PROFILE)


@dataclass(frozen=True, slots=True)
class StoreState:
    """The energy in the store (kWh) and running totals since the start (kWh)."""

    stored_kwh: float
    heated_kwh: float = 0.0
    forced_kwh: float = 0.0
    drawn_kwh: float = 0.0
    lost_kwh: float = 0.0


def daily_share(start: datetime, end: datetime) -> float:
    """The share of a day's draw that falls in ``[start, end)`` (the profile is constant within an hour)."""
    share, t = 0.0, start
    while t < end:
        nxt = min(end, t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        share += _SHARE[t.hour] * hours(nxt - t)
        t = nxt
    return share


class PreconsumptionPersonality(SteppedPersonality[StoreState]):
    name: ClassVar[str] = "preconsumption"
    summary: ClassVar[str] = ("a thermal store (water heater, ice storage): buys ahead when cheap, must buy "
                              "near its minimum; daily draw with morning and evening peaks")
    default_capacity_kw: ClassVar[float] = 2.0
    params: ClassVar[tuple[Param, ...]] = (
        Param("storage_kwh", 10.0, "thermal energy the store holds when full", "kWh"),
        Param("initial_fraction", 0.8, "how full it starts", "fraction"),
        Param("use_kwh_per_day", 8.0, "the household's daily draw from the store", "kWh"),
        Param("min_fraction", 0.2, "the thermostat never lets it end an interval below this", "fraction"),
        Param("loss_per_hour", 0.01, "standing loss per hour, as a fraction of what is stored", "fraction"),
        Param("comfort_fraction", 0.6, "above this it bids only its low price", "fraction"),
        Param("draw_variation", 0.1, "per-interval variation of the draw (+-)", "fraction"),
        Param("window", 96, "how many recent clearing prices set its low price", "prices"),
        Param("min_history", 4, "prices seen before it trusts its history", "prices"),
        Param("low_quantile", 0.3, "its low price: this quantile of recent prices", "fraction"),
    )

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0, storage_kwh: float = 10.0,
                 initial_fraction: float = 0.8, use_kwh_per_day: float = 8.0, min_fraction: float = 0.2,
                 loss_per_hour: float = 0.01, comfort_fraction: float = 0.6, draw_variation: float = 0.1,
                 window: int = 96, min_history: int = 4, low_quantile: float = 0.3) -> None:
        super().__init__(capacity_kw, seed=seed)
        for key, value in (("initial_fraction", initial_fraction), ("min_fraction", min_fraction),
                           ("loss_per_hour", loss_per_hour), ("draw_variation", draw_variation),
                           ("low_quantile", low_quantile)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key}: {value!r} is not a fraction in [0, 1]")
        if not storage_kwh > 0:
            raise ValueError(f"storage_kwh: {storage_kwh!r} is not a positive energy")
        if not use_kwh_per_day >= 0:
            raise ValueError(f"use_kwh_per_day: {use_kwh_per_day!r} is not a non-negative energy")
        if not min_fraction < comfort_fraction <= 1.0:
            raise ValueError(f"comfort_fraction: {comfort_fraction!r} must be above min_fraction and at most 1")
        if window < 1 or min_history < 1:
            raise ValueError("window, min_history: must be at least 1")
        self.storage_kwh, self.use_kwh_per_day = float(storage_kwh), float(use_kwh_per_day)
        self.min_fraction, self.comfort_fraction = min_fraction, comfort_fraction
        self.loss_per_hour, self.draw_variation = loss_per_hour, draw_variation
        self.window, self.min_history, self.low_quantile = window, min_history, low_quantile
        self.state = StoreState(stored_kwh=initial_fraction * self.storage_kwh)
        self.prices: list[float] = []
        #: the prices of the PRICE event windows it was sent (kept after the windows passed)
        self.event_prices: list[float] = []

    @property
    def state_of_charge(self) -> float | None:
        return self.state.stored_kwh / self.storage_kwh

    def describe(self) -> str:
        return f"preconsumption {self.capacity_kw:g} kW / {self.storage_kwh:g} kWh store"

    # -- the model ------------------------------------------------------------------------------------------

    def draw_kwh(self, start: datetime, duration: timedelta) -> float:
        """The household's draw from the store over the interval (kWh)."""
        variation = 1.0 + self.draw_variation * (2.0 * float(interval_rng(self.seed, start, "draw").random()) - 1)
        return self.use_kwh_per_day * daily_share(start, start + duration) * variation

    def loss_kwh(self, stored_kwh: float, duration: timedelta) -> float:
        return stored_kwh * (1.0 - float((1.0 - self.loss_per_hour) ** hours(duration)))

    def low_price(self, band: ReservePrices) -> float:
        """The price it bids when comfortable: the low quantile of its price history, within the band."""
        lo, hi = band.grid_sell, band.grid_buy
        if len(self.prices) < self.min_history:
            return lo + 0.35 * (hi - lo)
        return min(max(float(np.quantile(self.prices[-self.window:], self.low_quantile)), lo), hi)

    def _cheap_window(self, start: datetime, end: datetime) -> bool | None:
        """For a PRICE event window overlapping the interval: True if cheap, False if dear; None: no event."""
        mine = [p for w, p in self.price_windows.items() if overlap_hours(start, end, *w) > 0]
        if not mine:
            return None
        known = [*self.prices[-self.window:], *self.event_prices[-self.window:]]
        low, high = min(known), max(known)
        return min(mine) <= low + self.low_quantile * (high - low) + 1e-12

    def step(self, state: StoreState, start: datetime, duration: timedelta,
             booked: Metered) -> tuple[StoreState, Metered]:
        end = start + duration
        size, stored = self.storage_kwh, state.stored_kwh
        power = self.capacity_kw * hours(duration)
        draw, loss = self.draw_kwh(start, duration), self.loss_kwh(stored, duration)
        cheap = self._cheap_window(start, end)
        wanted = 0.0
        if not self.paused(start, end) and cheap is not False:
            wanted = power if cheap else booked.bought_kwh
        heat = max(min(wanted, power, size - stored + draw + loss), 0.0)
        after = stored + heat - draw - loss
        floor = self.min_fraction * size
        forced = max(min(floor - after, power - heat), 0.0) if after < floor - EPS_KWH else 0.0
        after += forced
        if after < 0.0:  # the draw emptied it: the household got less than it wanted
            draw, after = draw + after, 0.0
        new = StoreState(stored_kwh=min(after, size), heated_kwh=state.heated_kwh + heat + forced,
                         forced_kwh=state.forced_kwh + forced, drawn_kwh=state.drawn_kwh + draw,
                         lost_kwh=state.lost_kwh + loss)
        return new, Metered(bought_kwh=heat + forced)

    # -- the market -----------------------------------------------------------------------------------------

    def limit_price(self, coast_fraction: float, band: ReservePrices) -> float:
        """The bid when the store would hold ``coast_fraction`` at the interval's end without heating."""
        span = self.comfort_fraction - self.min_fraction
        urgency = min(max((self.comfort_fraction - coast_fraction) / span, 0.0), 1.0)
        base = self.low_price(band)
        return base + (band.grid_buy - base) * urgency

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        end = start + duration
        if self.paused(start, end) or self._cheap_window(start, end) is not None:
            return []  # an event decides this interval
        stored = self.state_at(start, duration).stored_kwh
        draw, loss = self.draw_kwh(start, duration), self.loss_kwh(stored, duration)
        room = min(self.capacity_kw * hours(duration), self.storage_kwh - stored + draw + loss)
        if room <= EPS_KWH:
            return []
        coast = (stored - draw - loss) / self.storage_kwh
        return [Need(Side.BUY, room, self.limit_price(coast, band))]

    def on_price(self, start: datetime, price: float) -> None:
        self.prices.append(float(price))
        if len(self.prices) > 4 * self.window:
            del self.prices[: -self.window]

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        if kind is EventKind.PRICE:
            self.price_windows[(start, end)] = float(value)
            self.event_prices = [*self.event_prices[-self.window:], float(value)]
        else:
            normal = (kind is EventKind.LEVEL and value <= 0) or (kind is EventKind.ONOFF and value >= 1)
            self.set_pause(start, end, not normal)
        return True
