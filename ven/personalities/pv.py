"""``pv``: a rooftop PV system that sells its forecast surplus and never buys.

Production is a clear-sky curve (zero before sunrise and after sunset, ``sin^1.3`` in between, peaking at
solar noon at ``capacity_kw``) times a weather factor: a clearness per day (0.55-1.0) and a cloud factor
per interval (0.8-1.05), both drawn from the seed and the date/interval, so a forecast is reproducible.
The meter adds the base class's noise around the forecast.

Limit price: the grid's buy-from-producer price (``band.grid_sell``, the paper's P_gs): selling locally
below what the main grid pays for export is never worth it, so PV asks at least that.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import ClassVar

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import Need, Personality, interval_rng

__all__ = ["PvPersonality", "clear_sky"]

SUNRISE_H = 6.0
SUNSET_H = 20.0


def clear_sky(hour: float) -> float:
    """The clear-sky output as a fraction of peak at ``hour`` (0-24, local solar time)."""
    if not SUNRISE_H < hour < SUNSET_H:
        return 0.0
    return float(math.sin(math.pi * (hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H)) ** 1.3)


def _hour(when: datetime) -> float:
    return when.hour + when.minute / 60 + when.second / 3600


class PvPersonality(Personality):
    name: ClassVar[str] = "pv"
    summary: ClassVar[str] = ("rooftop PV: sells its forecast surplus (clear-sky curve x weather); limit: the "
                              "grid's export price")
    default_capacity_kw: ClassVar[float] = 5.0
    #: the number of points the curve is averaged over inside one interval
    samples: ClassVar[int] = 6

    def weather(self, start: datetime) -> float:
        """The weather factor of the interval: the day's clearness times the interval's clouds."""
        day = interval_rng(self.seed, start.replace(hour=0, minute=0, second=0, microsecond=0), "day")
        clearness = 0.55 + 0.45 * float(day.random())
        cloud = 0.8 + 0.25 * float(interval_rng(self.seed, start, "cloud").random())
        return clearness * cloud

    def production_kwh(self, start: datetime, duration: timedelta) -> float:
        """Expected production over the interval (kWh)."""
        hours = duration.total_seconds() / 3600
        points = [start + duration * ((k + 0.5) / self.samples) for k in range(self.samples)]
        mean = sum(clear_sky(_hour(p)) for p in points) / self.samples
        return self.capacity_kw * mean * hours * self.weather(start)

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        return -self.production_kwh(start, duration)

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        surplus = self.production_kwh(start, duration)
        if surplus <= 0:
            return []
        return [Need(Side.SELL, surplus, band.grid_sell)]
