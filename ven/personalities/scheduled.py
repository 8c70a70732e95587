"""``scheduled``: an appliance with one uninterruptible run a day (washing machine, dishwasher, dryer).

**Task**: each day, one run of ``duration_h`` hours at ``capacity_kw`` (so ``capacity_kw * duration_h`` kWh a
day), starting no earlier than ``earliest_h`` and ending by ``latest_end_h`` (hours of the device's local
day: the wall-clock fields of the datetimes it is given; ``latest_end_h`` above 24 reaches into the next
morning, for an overnight dishwasher). The window of the day opens at ``earliest_h`` and closes at
``latest_end_h``; the *last feasible start* is ``latest_end_h - duration_h``, rounded down to the market's
interval grid (the interval containing it), or that exact time if no interval start fits the window. Once
started the run is contiguous: a washing machine cannot pause. Its draw is its rated power: the meter reads
``capacity_kw`` times the part of the interval it runs, with no noise.

**When it runs** (a pure function of what it has bought and heard, so :meth:`plan` of an interval, called
before the interval before it is metered, sees what :meth:`metered` will do):

* it started at its first interval with a bought transaction in the window (at or before the last feasible
  start); once started it runs to completion, whatever it buys later;
* in a window it tendered for, if nothing cleared by then, it runs anyway at the last feasible start (the
  energy it did not buy shows as a deviation in settlement: metered > bought);
* in a window it never tendered for (no market: an OpenADR role) it starts at the earliest start allowed
  by the events below (else at the window's opening), or the last feasible start if none is.

**Tenders** (:meth:`plan`): before it has started, one bid per interval for the energy of the run's first
interval, at a limit rising linearly from ``band.grid_sell`` when the window opens to ``band.grid_buy`` at
the last feasible start, where it must run (limit ``grid_buy``); it may wait as long as the window allows,
so early on it only takes cheap energy. Once started (or at the last feasible start) it bids for each
remaining interval of the run at ``grid_buy`` (the retail price: it would take it from the grid anyway).

**Events** (:meth:`on_event`): LEVEL 1-3 or ONOFF 0 from ``a`` to ``b``: while its run has not started and
can avoid ``[a, b)`` (start at or after ``b`` and still end in time, or end before ``a``), it takes part
(True): no start is tendered (or chosen) whose run overlaps the event. It opts out (False) while running, when
the run cannot avoid the event (at the last feasible start) or with no run pending. Taking part is a promise
to try: in a market, if nothing clears before the event and the window ends too soon after it, the must-run at
the last feasible start still wins. PRICE intervals: the
prices it has seen rank the feasible starts by the mean price over their run (the known part); it tenders
(or chooses) no start before the cheapest one; True while its run is pending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import EventKind, Metered, Need, Param, Personality

__all__ = ["ScheduledPersonality"]

#: quantities below this (kWh) are not tendered
_MIN_KWH = 1e-6
_DAY = timedelta(days=1)


@dataclass(slots=True)
class _Window:
    """One day's task: its window, the start of its run once metering has seen it begin, and whether it was
    tendered for (``market``)."""

    opens: datetime
    closes: datetime
    started: datetime | None = None
    market: bool = False


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> timedelta:
    return max(min(a1, b1) - max(a0, b0), timedelta(0))


class ScheduledPersonality(Personality):
    name: ClassVar[str] = "scheduled"
    summary: ClassVar[str] = ("an appliance with one uninterruptible run a day within a window (washing machine, "
                              "dishwasher); its bid rises as the last feasible start nears")
    default_capacity_kw: ClassVar[float] = 2.0
    meter_noise: ClassVar[float] = 0.0
    params: ClassVar[tuple[Param, ...]] = (
        Param("duration_h", 2.0, "length of the run", "h"),
        Param("earliest_h", 8.0, "the window opens (local hour of day)", "h"),
        Param("latest_end_h", 20.0, "the run must have ended by then (local hour; above 24: next morning)", "h"),
    )

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0, duration_h: float = 2.0,
                 earliest_h: float = 8.0, latest_end_h: float = 20.0) -> None:
        super().__init__(capacity_kw, seed=seed)
        if not duration_h > 0:
            raise ValueError(f"duration_h: {duration_h} must be positive")
        if not 0 <= earliest_h < 24:
            raise ValueError(f"earliest_h: {earliest_h} is not an hour of the day in [0, 24)")
        if not earliest_h + duration_h <= latest_end_h <= earliest_h + 24:
            raise ValueError(f"latest_end_h: {latest_end_h} must leave duration_h ({duration_h} h) after earliest_h "
                             f"({earliest_h}) and be at most 24 h after it")
        self.duration = timedelta(hours=duration_h)
        self.earliest, self.latest_end = timedelta(hours=earliest_h), timedelta(hours=latest_end_h)
        self._windows: dict[datetime, _Window] = {}
        self._bought: dict[datetime, float] = {}
        #: (start, end) of sheds; (start, end, price) of price intervals
        self._sheds: list[tuple[datetime, datetime]] = []
        self._prices: list[tuple[datetime, datetime, float]] = []
        #: the end of the last metered interval: nothing starts before it
        self._at: datetime | None = None

    def describe(self) -> str:
        return (f"scheduled {self.capacity_kw:g} kW x {self.duration.total_seconds() / 3600:g} h, "
                f"window {self.earliest.total_seconds() / 3600:g}-{self.latest_end.total_seconds() / 3600:g} h")

    @property
    def energy_per_run_kwh(self) -> float:
        return self.capacity_kw * self.duration.total_seconds() / 3600

    # -- windows and the run --------------------------------------------------------------------------

    def windows(self, start: datetime, end: datetime) -> list[_Window]:
        """The days' windows overlapping ``[start, end)``, oldest first."""
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        found = []
        for day in (midnight - _DAY, midnight, midnight + _DAY):
            opens = day + self.earliest
            closes = day + self.latest_end
            if opens < end and start < closes:
                found.append(self._windows.setdefault(opens, _Window(opens, closes)))
        return found

    def _latest(self, window: _Window, ref: datetime, step: timedelta) -> datetime:
        """The last feasible start: the interval (on ``ref``'s grid of ``step``) holding it, if in the window."""
        latest = window.closes - self.duration
        aligned = ref + step * math.floor((latest - ref) / step)
        return aligned if aligned >= window.opens else latest

    def _candidates(self, window: _Window, ref: datetime, step: timedelta) -> list[datetime]:
        """The interval starts (on ``ref``'s grid) from which a run fits the window and is still ahead."""
        lowest = max(window.opens, self._at or window.opens)
        first = ref + step * math.ceil((lowest - ref) / step)
        last = self._latest(window, ref, step)
        return [first + step * k for k in range(max(int((last - first) / step) + 1, 0))]

    def _allowed(self, start: datetime) -> bool:
        end = start + self.duration
        return not any(a < end and start < b for a, b in self._sheds)

    def _run_cost(self, start: datetime) -> float | None:
        """The mean price over the known part of a run from ``start`` (None if no price is known for it)."""
        end, weight, total = start + self.duration, 0.0, 0.0
        for a, b, price in self._prices:
            seconds = _overlap(start, end, a, b).total_seconds()
            weight, total = weight + seconds, total + seconds * price
        return total / weight if weight > 0 else None

    def preferred(self, window: _Window, ref: datetime, step: timedelta) -> datetime | None:
        """The start the events point to: the cheapest known run avoiding the sheds, else the earliest such."""
        allowed = [s for s in self._candidates(window, ref, step) if self._allowed(s)]
        priced = [(cost, s) for s in allowed if (cost := self._run_cost(s)) is not None]
        if priced:
            return min(priced)[1]
        return allowed[0] if allowed else None

    def run_start(self, window: _Window, ref: datetime, step: timedelta) -> tuple[datetime, bool]:
        """When the window's run starts (see the module), and whether that is settled (started or bought)."""
        if window.started is not None:
            return window.started, True
        latest = window.closes - self.duration
        lowest = self._at or window.opens
        booked = [t for t, q in self._bought.items() if window.opens <= t <= latest and t >= lowest and q > 0]
        if booked:
            return min(booked), True
        last = self._latest(window, ref, step)
        if window.market:
            return last, False
        chosen = self.preferred(window, ref, step)
        return (last if chosen is None else chosen), False

    def _energy(self, run: datetime, start: datetime, duration: timedelta) -> float:
        hours = _overlap(run, run + self.duration, start, start + duration).total_seconds() / 3600
        return self.capacity_kw * hours

    # -- the market ----------------------------------------------------------------------------------------

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        return sum(self._energy(self.run_start(w, start, duration)[0], start, duration)
                   for w in self.windows(start, start + duration))

    def limit(self, window: _Window, start: datetime, duration: timedelta, band: ReservePrices) -> float:
        """The start bid's limit: linear from ``grid_sell`` at the opening to ``grid_buy`` at the last start."""
        last = self._latest(window, start, duration)
        if start >= last or last <= window.opens:
            return band.grid_buy
        rising = (start - window.opens) / (last - window.opens)
        return band.grid_sell + min(max(rising, 0.0), 1.0) * (band.grid_buy - band.grid_sell)

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        needs = []
        for window in self.windows(start, start + duration):
            window.market = True
            run, settled = self.run_start(window, start, duration)
            energy = self._energy(run, start, duration)
            if energy > _MIN_KWH:  # running (or must run from here): the retail price
                needs.append(Need(Side.BUY, energy, band.grid_buy))
                continue
            if settled or not window.opens <= start < run or not self._allowed(start):
                continue
            chosen = self.preferred(window, start, duration)
            if chosen is not None and start >= chosen:
                needs.append(Need(Side.BUY, self._energy(start, start, duration),
                                  self.limit(window, start, duration, band)))
        return needs

    def on_transaction(self, start: datetime, side: Side, quantity_kwh: float, price: float) -> None:
        """Book bought energy; the first bought interval of a window starts its run (the appliance never sells)."""
        if side is Side.BUY:
            self._bought[start] = self._bought.get(start, 0.0) + quantity_kwh

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        """The energy the run drew in the interval (nothing outside it); a run that began is fixed from now."""
        if self._at is not None and start < self._at:
            raise ValueError(f"scheduled: interval {start.isoformat()} metered after {self._at.isoformat()}")
        energy = 0.0
        end = start + duration
        for window in self.windows(start, end):
            run, _ = self.run_start(window, start, duration)
            if run < end and window.started is None:
                window.started = run
            energy += self._energy(run, start, duration)
        self._at = end
        self._bought = {t: q for t, q in self._bought.items() if t >= end}
        self._sheds = [s for s in self._sheds if s[1] > end]
        self._prices = [p for p in self._prices if p[1] > end - _DAY]
        self._windows = {k: w for k, w in self._windows.items() if w.closes > end - _DAY}
        return Metered(bought_kwh=energy)

    # -- events --------------------------------------------------------------------------------------------

    def _pending(self, start: datetime, end: datetime) -> list[_Window]:
        """The windows near ``[start, end)`` whose run has not begun and was not bought."""
        out = []
        for window in self.windows(start - self.duration, end + self.duration):
            latest = window.closes - self.duration
            lowest = self._at or window.opens
            bought = any(window.opens <= t <= latest and t >= lowest and q > 0 for t, q in self._bought.items())
            if window.started is None and not bought and (self._at is None or self._at <= latest):
                out.append(window)
        return out

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        pending = self._pending(start, end)
        if kind is EventKind.PRICE:
            self._prices.append((start, end, float(value)))
            return bool(pending)
        if not ((kind is EventKind.LEVEL and value >= 1) or (kind is EventKind.ONOFF and value == 0)):
            return False
        for window in pending:
            earliest = max(window.opens, self._at or window.opens)
            if earliest + self.duration <= start or end <= window.closes - self.duration:
                self._sheds.append((start, end))
                return True
        return False
