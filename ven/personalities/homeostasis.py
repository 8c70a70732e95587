"""``homeostasis``: a thermostat (HVAC, fridge, hot-water tank) keeping a temperature within comfort bounds.

**Thermal model** (first order, one node): ``C dT/dt = (T_out - T) / R + s * COP * P`` with ``R`` the
thermal resistance to outdoors (``resistance_c_per_kw``, C/kW), ``C`` the capacitance
(``capacitance_kwh_per_c``, kWh/C), ``P`` the electrical power (at most ``capacity_kw``), ``s = +1`` when
heating (``mode="heat"``) and ``-1`` when cooling. Over an interval of ``h`` hours with constant ``P`` and
``T_out`` it is solved exactly: with ``a = exp(-h / (R C))``, the end temperature is
``T1 = T_free + g * E`` where ``T_free = T_out + (T0 - T_out) a`` (no power) and ``g = s COP R (1 - a) / h``
(C per kWh of electricity ``E = P h``). The path between ``T0`` and ``T1`` is monotone, so an interval that
starts and ends within the bounds stays within them. The outdoor temperature is
``outdoor_c + outdoor_swing_c * cos(2 pi (hour - 15) / 24)`` (warmest at 15:00) at the interval's middle,
plus, for the real (metered) weather only, ``N(0, weather_noise_c)`` per interval drawn from the seed; the
device predicts with the noise-free curve. A fridge is ``mode="cool"`` with ``outdoor_c`` the kitchen.

**The bounds**: the *drift bound* is the one the temperature falls towards with no power (``low_c`` when
heating, ``high_c`` when cooling), the *comfortable edge* the other one. Levels are named by ``u`` in
``[0, 1]`` from the drift bound (0) to the comfortable edge (1): the setpoint is ``u = 0.5``, the
opportunistic target ``u = 0.95``.

**Tenders** (:meth:`plan`): it predicts the temperature at the interval's start from the last metered
state, carried forward through the intervals in between with what it bought for them (the runtime plans
``X`` before metering ``X - 1``), then tenders up to three blocks, each priced by what missing it costs:

1. *must*: the energy that keeps the interval's end at the drift bound, at ``band.grid_buy`` (without it
   the safety override below takes the same energy from the grid at that price anyway);
2. *comfort*: from the bound up to the setpoint, at a limit linear in the predicted temperature:
   ``grid_sell + x (grid_buy - grid_sell)`` with ``x = 0`` at the comfortable edge and ``1`` at the drift
   bound, so the bid rises as the temperature drifts towards the bound;
3. *opportunistic*: from the setpoint up to ``u = 0.95``, at ``band.grid_sell``: it pre-heats (pre-cools)
   only when the market clears at the export price (a local surplus).

All within ``capacity_kw`` times the interval.

**Metering** (:meth:`metered`): the device runs on what it bought (the sum of its transactions for the
interval), then two rules of its thermostat: the *safety override* raises the energy to what ends the
interval exactly at the drift bound when it bought too little (that excess over the agreed energy shows as
a deviation in settlement: metered > bought), and the *cut-off* lowers it to what ends the interval at the
comfortable edge when it bought more than that (metered < bought). The meter reads the heater's energy
exactly (no meter noise: the uncertainty is the weather). So the temperature never leaves the bounds as
long as full power can hold the drift bound against the outdoor temperature (a device sized for its
climate); an undersized device drifts beyond it by at most what full power cannot make up.

An interval it never tendered for (no market: an OpenADR role, or a gap) runs on its own thermostat: the
energy to end at the setpoint, or at the event's target below.

**Events** (:meth:`on_event`): LEVEL ``n`` (1-3; ONOFF 0 counts as 3) caps the target at
``u = 0.5 (1 - n/3)`` for the event's intervals (level 3: the drift bound; nothing opportunistic) and caps
what it consumes there even if it bought more: it sheds only while the bounds allow. PRICE is judged
against the band last seen in :meth:`plan` (else the range of event prices seen): in the cheapest third it
targets ``u = 0.95`` (pre-heats), in the dearest third ``u = 0`` (coasts to the bound), otherwise it
declines the event (False) and behaves as usual. In a market that target shapes the tenders: a cheap interval's
comfort block reaches ``u = 0.95``, a dear one tenders the must block only.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta
from typing import ClassVar

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import EventKind, Metered, Need, Param, Personality, interval_rng

__all__ = ["HomeostasisPersonality"]

#: quantities below this (kWh) are not tendered
_MIN_KWH = 1e-6
#: the setpoint and the opportunistic target, as positions from the drift bound (0) to the edge (1)
SETPOINT_U = 0.5
OPPORTUNISTIC_U = 0.95


class HomeostasisPersonality(Personality):
    name: ClassVar[str] = "homeostasis"
    summary: ClassVar[str] = ("a thermostat (HVAC, fridge, water tank) keeping a temperature within bounds by a "
                              "first-order thermal model; its bid rises as the temperature nears the bound")
    default_capacity_kw: ClassVar[float] = 3.0
    meter_noise: ClassVar[float] = 0.0
    params: ClassVar[tuple[Param, ...]] = (
        Param("mode", "heat", "heat (keeps the temperature up) or cool (keeps it down)", choices=("heat", "cool")),
        Param("low_c", 20.0, "lower comfort bound", "C"),
        Param("high_c", 23.0, "upper comfort bound", "C"),
        Param("initial_c", 21.5, "temperature at the first interval (within the bounds)", "C"),
        Param("outdoor_c", 5.0, "mean outdoor (ambient) temperature", "C"),
        Param("outdoor_swing_c", 4.0, "daily swing: outdoor_c plus or minus this, warmest at 15:00", "C"),
        Param("resistance_c_per_kw", 4.0, "thermal resistance R to outdoors", "C/kW"),
        Param("capacitance_kwh_per_c", 3.0, "thermal capacitance C", "kWh/C"),
        Param("cop", 3.0, "coefficient of performance: heat moved per kWh of electricity"),
        Param("weather_noise_c", 0.5, "standard deviation of the real outdoor temperature around its curve", "C"),
    )

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0, mode: str = "heat", low_c: float = 20.0,
                 high_c: float = 23.0, initial_c: float = 21.5, outdoor_c: float = 5.0, outdoor_swing_c: float = 4.0,
                 resistance_c_per_kw: float = 4.0, capacitance_kwh_per_c: float = 3.0, cop: float = 3.0,
                 weather_noise_c: float = 0.5) -> None:
        super().__init__(capacity_kw, seed=seed)
        if mode not in ("heat", "cool"):
            raise ValueError(f"mode: {mode!r} is not one of heat, cool")
        if not low_c < high_c:
            raise ValueError(f"low_c: {low_c} must be below high_c ({high_c})")
        if not low_c <= initial_c <= high_c:
            raise ValueError(f"initial_c: {initial_c} is outside the bounds [{low_c}, {high_c}]")
        for label, value in (("resistance_c_per_kw", resistance_c_per_kw), ("capacitance_kwh_per_c",
                             capacitance_kwh_per_c), ("cop", cop)):
            if not value > 0:
                raise ValueError(f"{label}: {value} must be positive")
        for label, value in (("outdoor_swing_c", outdoor_swing_c), ("weather_noise_c", weather_noise_c)):
            if not value >= 0:
                raise ValueError(f"{label}: {value} must not be negative")
        self.mode, self.low_c, self.high_c = mode, float(low_c), float(high_c)
        self.outdoor_mean_c, self.outdoor_swing_c = float(outdoor_c), float(outdoor_swing_c)
        self.resistance, self.capacitance, self.cop = float(resistance_c_per_kw), float(capacitance_kwh_per_c), cop
        self.weather_noise_c = float(weather_noise_c)
        self.sign = 1.0 if mode == "heat" else -1.0
        #: the bound it drifts to without power, and the other one
        self.bound_c, self.edge_c = (self.low_c, self.high_c) if mode == "heat" else (self.high_c, self.low_c)
        self._temp_c = float(initial_c)
        #: the time ``_temp_c`` holds for (the end of the last metered interval)
        self._at: datetime | None = None
        self._bought: dict[datetime, float] = {}
        self._planned: set[datetime] = set()
        #: (start, end, target cap u) of sheds; (start, end, price) of price events
        self._sheds: list[tuple[datetime, datetime, float]] = []
        self._prices: list[tuple[datetime, datetime, float]] = []
        self._seen_prices: deque[float] = deque(maxlen=96)
        self._band: ReservePrices | None = None

    @property
    def temperature_c(self) -> float:
        """The temperature at the end of the last metered interval (the initial one before)."""
        return self._temp_c

    def describe(self) -> str:
        return (f"homeostasis {self.mode} {self.capacity_kw:g} kW, {self.low_c:g}-{self.high_c:g} C, "
                f"now {self._temp_c:.1f} C")

    # -- the thermal model ---------------------------------------------------------------------------

    def outdoor_temperature_c(self, start: datetime, duration: timedelta, *, actual: bool = True) -> float:
        """The outdoor temperature over the interval: the daily curve at its middle, plus (``actual``) the
        weather's deviation, drawn from the seed and the interval's start."""
        mid = start + duration / 2
        hour = mid.hour + mid.minute / 60 + mid.second / 3600
        out = self.outdoor_mean_c + self.outdoor_swing_c * math.cos(2 * math.pi * (hour - 15.0) / 24)
        if actual and self.weather_noise_c > 0:
            out += self.weather_noise_c * float(interval_rng(self.seed, start, "weather").standard_normal())
        return out

    def thermal(self, temp_c: float, start: datetime, duration: timedelta, *,
                actual: bool = True) -> tuple[float, float, float]:
        """(``T_free``, ``g``, most kWh) of the interval from ``temp_c``: the end temperature is
        ``T_free + g * kWh`` for the electrical energy used, at most the last value."""
        hours = duration.total_seconds() / 3600
        decay = math.exp(-hours / (self.resistance * self.capacitance))
        out = self.outdoor_temperature_c(start, duration, actual=actual)
        gain = self.sign * self.cop * self.resistance * (1 - decay) / hours
        return out + (temp_c - out) * decay, gain, self.capacity_kw * hours

    def level_c(self, u: float) -> float:
        """The temperature at position ``u`` from the drift bound (0) to the comfortable edge (1)."""
        return self.bound_c + u * (self.edge_c - self.bound_c)

    def _energy_to(self, u: float, free: float, gain: float, most: float) -> float:
        """The energy that ends the interval at level ``u`` (0 if it gets there without power; at most full)."""
        return min(max((self.level_c(u) - free) / gain, 0.0), most)

    def _step(self, temp_c: float, start: datetime, duration: timedelta, *, actual: bool) -> tuple[float, float]:
        """One interval from ``temp_c``: (end temperature, electrical energy used) by the rules of the module."""
        free, gain, most = self.thermal(temp_c, start, duration, actual=actual)
        cap = self._shed_cap(start, duration)
        if start in self._planned:
            wanted = self._bought.get(start, 0.0)
            if cap < 1.0:
                wanted = min(wanted, self._energy_to(cap, free, gain, most))
        else:
            wanted = self._energy_to(min(self._price_target(start, duration, SETPOINT_U), cap), free, gain, most)
        override = self._energy_to(0.0, free, gain, most)
        cutoff = self._energy_to(1.0, free, gain, most)
        energy = min(max(wanted, override), cutoff)
        return free + gain * energy, energy

    def _predict(self, start: datetime, duration: timedelta) -> float:
        """The temperature at ``start``: the last metered state carried through the intervals in between (what
        was bought for them, or the thermostat's own decision) at the predicted (noise-free) weather."""
        temp, when = self._temp_c, self._at
        while when is not None and when < start:
            step = min(duration, start - when)
            temp, _ = self._step(temp, when, step, actual=False)
            when += step
        return temp

    # -- events ------------------------------------------------------------------------------------------

    def _shed_cap(self, start: datetime, duration: timedelta) -> float:
        """The highest target allowed in the interval by LEVEL/ONOFF events (1.0: no shed)."""
        end = start + duration
        return min((cap for a, b, cap in self._sheds if a < end and start < b), default=1.0)

    def _price_class(self, price: float) -> float | None:
        """The target a price asks: ``OPPORTUNISTIC_U`` in the cheapest third, 0 in the dearest, else None."""
        if self._band is not None:
            low, high = self._band.grid_sell, self._band.grid_buy
        elif len(set(self._seen_prices)) >= 2:
            low, high = min(self._seen_prices), max(self._seen_prices)
        else:
            return None
        third = (high - low) / 3
        if price <= low + third:
            return OPPORTUNISTIC_U
        return 0.0 if price >= high - third else None

    def _price_target(self, start: datetime, duration: timedelta, default: float) -> float:
        mid = start + duration / 2
        prices = [p for a, b, p in self._prices if a <= mid < b]
        target = self._price_class(prices[-1]) if prices else None
        return default if target is None else target

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        if kind is EventKind.PRICE:
            self._prices.append((start, end, float(value)))
            self._seen_prices.append(float(value))
            return self._price_class(float(value)) is not None
        level = (3.0 if value == 0 else 0.0) if kind is EventKind.ONOFF else min(max(round(value), 0), 3)
        if level <= 0:
            return False
        self._sheds.append((start, end, SETPOINT_U * (1 - level / 3)))
        return True

    # -- the market ----------------------------------------------------------------------------------------

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        _, energy = self._step(self._predict(start, duration), start, duration, actual=False)
        return energy

    def comfort_limit(self, temp_c: float, band: ReservePrices) -> float:
        """The comfort block's limit at a predicted temperature: ``grid_sell`` at the comfortable edge, rising
        linearly to ``grid_buy`` at the drift bound (and beyond it)."""
        drifted = min(max((self.edge_c - temp_c) / (self.edge_c - self.bound_c), 0.0), 1.0)
        return band.grid_sell + drifted * (band.grid_buy - band.grid_sell)

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        self._band = band
        self._planned.add(start)
        if self._at is None:
            self._at = start
        temp = self._predict(start, duration)
        free, gain, most = self.thermal(temp, start, duration, actual=False)
        cap = self._shed_cap(start, duration)
        comfort = min(self._price_target(start, duration, SETPOINT_U), cap)
        extra = OPPORTUNISTIC_U if cap >= 1.0 and comfort == SETPOINT_U else comfort
        needs, done = [], 0.0
        for u, limit in ((0.0, band.grid_buy), (comfort, self.comfort_limit(temp, band)), (extra, band.grid_sell)):
            upto = self._energy_to(u, free, gain, most)
            if upto - done > _MIN_KWH:
                needs.append(Need(Side.BUY, upto - done, limit))
                done = upto
        return needs

    def on_transaction(self, start: datetime, side: Side, quantity_kwh: float, price: float) -> None:
        """Book bought energy for the interval (a thermostat never sells)."""
        if side is Side.BUY:
            self._bought[start] = self._bought.get(start, 0.0) + quantity_kwh

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        """Advance the temperature over the interval (at the real weather); the meter reads the energy used."""
        if self._at is not None and start < self._at:
            raise ValueError(f"homeostasis: interval {start.isoformat()} metered after {self._at.isoformat()}")
        temp = self._predict(start, duration)
        self._temp_c, energy = self._step(temp, start, duration, actual=True)
        self._at = start + duration
        self._bought = {t: q for t, q in self._bought.items() if t >= self._at}
        self._planned = {t for t in self._planned if t >= self._at}
        self._sheds = [s for s in self._sheds if s[1] > self._at]
        self._prices = [p for p in self._prices if p[1] > self._at]
        return Metered(bought_kwh=energy)
