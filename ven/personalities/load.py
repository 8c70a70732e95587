"""``load``: a household that buys its forecast need.

The demand follows a typical household profile (a night base, a morning peak around 07:00-08:00 and an
evening peak around 19:00), as a fraction of ``capacity_kw`` (the peak demand), interpolated within the
hour, times a per-interval variation of +-10 % drawn from the seed. The meter adds the base class's noise.

Limit price: the grid's retail price (``band.grid_buy``, the paper's P_gb): the household can always buy
from the main grid at that price, so it never bids more locally.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import Need, Personality, interval_rng

__all__ = ["PROFILE", "LoadPersonality"]

#: demand as a fraction of the peak, per hour of the day (00:00 ... 23:00)
PROFILE = (0.25, 0.2, 0.18, 0.18, 0.18, 0.22, 0.4, 0.7, 0.65, 0.45, 0.38, 0.36,
           0.42, 0.38, 0.35, 0.38, 0.5, 0.72, 0.92, 1.0, 0.9, 0.7, 0.5, 0.34)


def profile(hour: float) -> float:
    """The profile at a fractional hour (linear between the hourly points, wrapping at midnight)."""
    h = hour % 24
    i = int(h)
    frac = h - i
    return PROFILE[i] * (1 - frac) + PROFILE[(i + 1) % 24] * frac


class LoadPersonality(Personality):
    name: ClassVar[str] = "load"
    summary: ClassVar[str] = "a household that buys its forecast need (daily profile); limit: the grid's retail price"
    default_capacity_kw: ClassVar[float] = 3.0

    def demand_kwh(self, start: datetime, duration: timedelta) -> float:
        """Expected consumption over the interval (kWh)."""
        mid = start + duration / 2
        hour = mid.hour + mid.minute / 60 + mid.second / 3600
        variation = 0.9 + 0.2 * float(interval_rng(self.seed, start, "load").random())
        return self.capacity_kw * profile(hour) * variation * duration.total_seconds() / 3600

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        return self.demand_kwh(start, duration)

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        need = self.demand_kwh(start, duration)
        return [Need(Side.BUY, need, band.grid_buy)] if need > 0 else []
