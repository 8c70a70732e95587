"""``battery``: a home battery that buys low and sells high, within its state of charge and power limits.

Model: power limit ``capacity_kw`` (charge and discharge), energy ``energy_kwh`` (default 2 h of power),
one-way efficiency ``efficiency`` (charging stores ``kWh x efficiency``; discharging ``kWh`` delivered
takes ``kWh / efficiency`` out of storage), state of charge kept in ``[0, energy_kwh]``.

Each interval it tenders on *both* sides: a buy (charge) of at most ``min(power x hours, room / eff)`` at
its buy limit, and a sell (discharge) of at most ``min(power x hours, stored x eff)`` at its sell limit.
Its buy limit is below its sell limit, so no clearing price can accept both (a uniform price is at most
every accepted bid and at least every accepted offer); whatever is agreed is booked at once
(:meth:`on_transaction`), and later tenders are sized from the new state of charge.

Limit prices come from its own price history (the clearing prices it has seen, the last ``window``): it
buys at or below the ``low_quantile`` and sells at or above the ``high_quantile`` of that history, with the
sell limit kept above ``buy limit / efficiency^2`` so a round trip never loses money. Until it has seen
``min_history`` prices it uses 35 % and 65 % of the way up the band ``[grid_sell, grid_buy]``.
The meter reports exactly what was agreed (the battery is dispatchable).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import Metered, Need, Param, Personality

__all__ = ["BatteryPersonality"]

#: quantities below this (kWh) are not tendered
_MIN_KWH = 1e-6


class BatteryPersonality(Personality):
    name: ClassVar[str] = "battery"
    summary: ClassVar[str] = ("a home battery: buys low and sells high within its state of charge, power and "
                              "round-trip efficiency; limits from its price history")
    default_capacity_kw: ClassVar[float] = 5.0
    params: ClassVar[tuple[Param, ...]] = (
        Param("energy_kwh", 0.0, "usable energy (0: two hours of its power)", "kWh"),
        Param("soc", 0.5, "initial state of charge", "fraction"),
        Param("efficiency", 0.95, "one-way efficiency (round trip: its square)", "fraction"),
        Param("window", 96, "how many recent clearing prices set its limits", "prices"),
        Param("min_history", 4, "prices seen before it trusts its history", "prices"),
        Param("low_quantile", 0.3, "buys at or below this quantile of recent prices", "fraction"),
        Param("high_quantile", 0.7, "sells at or above this quantile of recent prices", "fraction"),
    )

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0, energy_kwh: float | None = None,
                 soc: float = 0.5, efficiency: float = 0.95, window: int = 96, min_history: int = 4,
                 low_quantile: float = 0.3, high_quantile: float = 0.7) -> None:
        super().__init__(capacity_kw, seed=seed)
        self.energy_kwh = 2.0 * self.capacity_kw if not energy_kwh else float(energy_kwh)
        if not self.energy_kwh > 0:
            raise ValueError("energy_kwh: the battery's energy must be positive")
        if not 0.0 <= soc <= 1.0:
            raise ValueError("soc: the initial state of charge is a fraction in [0, 1]")
        if not 0.0 < efficiency <= 1.0:
            raise ValueError("efficiency: a fraction in (0, 1]")
        if not 0.0 <= low_quantile < high_quantile <= 1.0:
            raise ValueError("low_quantile, high_quantile: need 0 <= low_quantile < high_quantile <= 1")
        #: energy stored now (kWh)
        self.stored_kwh = soc * self.energy_kwh
        self.efficiency = efficiency
        self.window = window
        self.min_history = min_history
        self.low_quantile = low_quantile
        self.high_quantile = high_quantile
        self.prices: list[float] = []
        self._booked: dict[datetime, Metered] = {}

    @property
    def soc(self) -> float:
        """State of charge, as a fraction of the energy."""
        return self.stored_kwh / self.energy_kwh

    @property
    def state_of_charge(self) -> float | None:
        return self.soc

    def state_of_charge_after(self, start: datetime) -> float | None:
        """The stored energy at the end of ``start``'s interval: bookings for later intervals already moved it
        (a transaction is booked when agreed, an interval ahead), so take them back out."""
        later = sum(b.bought_kwh * self.efficiency - b.sold_kwh / self.efficiency
                    for when, b in self._booked.items() if when > start)
        return min(max(self.stored_kwh - later, 0.0), self.energy_kwh) / self.energy_kwh

    def describe(self) -> str:
        return f"battery {self.capacity_kw:g} kW / {self.energy_kwh:g} kWh"

    # -- limits --------------------------------------------------------------------------------------

    def limits(self, band: ReservePrices) -> tuple[float, float]:
        """(buy limit, sell limit) from the price history, inside the band, buy < sell."""
        lo, hi = band.grid_sell, band.grid_buy
        spread = hi - lo
        if len(self.prices) >= self.min_history:
            recent = np.asarray(self.prices[-self.window:], dtype=np.float64)
            buy = float(np.quantile(recent, self.low_quantile))
            sell = float(np.quantile(recent, self.high_quantile))
        else:
            buy, sell = lo + 0.35 * spread, lo + 0.65 * spread
        buy = min(max(buy, lo), hi - 0.02 * spread)
        sell = max(sell, buy / self.efficiency**2, buy + 0.02 * spread)
        return buy, min(sell, hi)

    # -- the interval ----------------------------------------------------------------------------------

    def charge_room_kwh(self, duration: timedelta) -> float:
        """The most it may buy in an interval: the power limit, and the room left (before losses)."""
        power = self.capacity_kw * duration.total_seconds() / 3600
        return max(min(power, (self.energy_kwh - self.stored_kwh) / self.efficiency), 0.0)

    def discharge_room_kwh(self, duration: timedelta) -> float:
        """The most it may sell in an interval: the power limit, and what is stored (after losses)."""
        power = self.capacity_kw * duration.total_seconds() / 3600
        return max(min(power, self.stored_kwh * self.efficiency), 0.0)

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        booked = self._booked.get(start, Metered())
        return booked.bought_kwh - booked.sold_kwh

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        buy_limit, sell_limit = self.limits(band)
        needs = []
        charge = self.charge_room_kwh(duration)
        if charge > _MIN_KWH:
            needs.append(Need(Side.BUY, charge, buy_limit))
        discharge = self.discharge_room_kwh(duration)
        if discharge > _MIN_KWH:
            needs.append(Need(Side.SELL, discharge, sell_limit))
        return needs

    def on_transaction(self, start: datetime, side: Side, quantity_kwh: float, price: float) -> None:
        """Book an agreed charge or discharge: the state of charge moves now (clipped to the limits)."""
        booked = self._booked.get(start, Metered())
        if side is Side.BUY:
            stored = min(quantity_kwh * self.efficiency, self.energy_kwh - self.stored_kwh)
            self.stored_kwh += stored
            booked = Metered(booked.sold_kwh, booked.bought_kwh + stored / self.efficiency)
        else:
            taken = min(quantity_kwh / self.efficiency, self.stored_kwh)
            self.stored_kwh -= taken
            booked = Metered(booked.sold_kwh + taken * self.efficiency, booked.bought_kwh)
        self.stored_kwh = min(max(self.stored_kwh, 0.0), self.energy_kwh)
        self._booked[start] = booked

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        return self._booked.pop(start, Metered())

    def on_price(self, start: datetime, price: float) -> None:
        self.prices.append(float(price))
        if len(self.prices) > 4 * self.window:
            del self.prices[: -self.window]
