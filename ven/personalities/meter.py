"""``meter``: a meter-only agent: it reports what a household consumed and never tenders.

It models a household behind a smart meter that takes no part in the market: the demand is the load
personality's household model (:meth:`~.load.LoadPersonality.demand_kwh`: the profile :func:`~.load.profile`,
a night base, a morning and an evening peak, as a fraction of ``capacity_kw``, the peak demand, times a
per-interval variation of +-10 % drawn from the seed; a load with the same seed draws the same).
:meth:`MeterPersonality.plan` returns no tenders, so every kWh it meters (the forecast plus the base class's
meter noise) is booked by the runtime as imbalance with the main grid, at the grid's retail price. It does not
respond to OpenADR events (nothing it controls).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from transactive.market import ReservePrices
from transactive.ven.personalities.base import Need, Personality
from transactive.ven.personalities.load import LoadPersonality

__all__ = ["MeterPersonality"]


class MeterPersonality(Personality):
    name: ClassVar[str] = "meter"
    summary: ClassVar[str] = ("a meter-only household (load profile): reports its consumption, never tenders; "
                              "the runtime books it as imbalance")
    default_capacity_kw: ClassVar[float] = 3.0

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0) -> None:
        super().__init__(capacity_kw, seed=seed)
        #: the household model it meters (the load personality's profile and variation, never its tenders)
        self.household = LoadPersonality(self.capacity_kw, seed=self.seed)

    def consumption_kwh(self, start: datetime, duration: timedelta) -> float:
        """Expected consumption over the interval (kWh)."""
        return self.household.demand_kwh(start, duration)

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        return self.consumption_kwh(start, duration)

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        return []
