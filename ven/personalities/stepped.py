"""A personality with a physical state that moves one metered interval at a time (an EV, a heat store).

The runtime asks :meth:`~.base.Personality.plan` for interval ``X`` *before* it meters ``X - 1`` (and may
have booked trades for ``X - 1`` already), so such a device cannot plan from its last metered state alone.
:class:`SteppedPersonality` keeps one pure transition, :meth:`SteppedPersonality.step` (the state at an
interval's start, what was agreed for it -> the state at its end and what the meter reads), and uses it for
everything:

- :meth:`metered` applies it to the committed state (exactly once per interval, in time order);
- :meth:`state_at` applies it, without committing, to the intervals between the last metered one and the one
  asked about, with the trades booked for them, so :meth:`plan` sees the state *after* what it already bought;
- :meth:`forecast_kwh` is the meter reading that step predicts.

Agreed trades are only booked (:meth:`on_transaction`); they move the state when the interval is metered.
OpenADR events leave *windows* (``[start, end)`` with an instruction) that the subclass's step reads:
:meth:`paused` (a LEVEL/ONOFF shed) and :attr:`price_windows` (the prices of PRICE event intervals).
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from transactive.emix import Side
from transactive.ven.personalities.base import Metered, Personality

__all__ = ["SteppedPersonality", "hours", "overlap_hours"]

S = TypeVar("S")

#: energies below this (kWh) count as zero
EPS_KWH = 1e-9


def hours(duration: timedelta) -> float:
    return duration.total_seconds() / 3600


def overlap_hours(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> float:
    """How many hours ``[start, end)`` and ``[other_start, other_end)`` share."""
    return max(hours(min(end, other_end) - max(start, other_start)), 0.0)


class SteppedPersonality(Personality, Generic[S]):
    """Subclasses set :attr:`state` (the initial state) in ``__init__`` and implement :meth:`step`."""

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0) -> None:
        super().__init__(capacity_kw, seed=seed)
        #: the end of the last metered interval (None before the first)
        self.clock: datetime | None = None
        self._booked: dict[datetime, Metered] = {}
        self._origin: datetime | None = None
        self._pauses: list[tuple[datetime, datetime]] = []
        #: PRICE event intervals: (start, end) -> price
        self.price_windows: dict[tuple[datetime, datetime], float] = {}

    #: the state at :attr:`clock` (after every metered interval)
    state: S

    @abstractmethod
    def step(self, state: S, start: datetime, duration: timedelta, booked: Metered) -> tuple[S, Metered]:
        """The state at the end of ``[start, start + duration)`` from ``state`` at its start, given the energy
        agreed for it (``booked``), and what the meter reads for it. Must not change ``self``."""

    # -- time -------------------------------------------------------------------------------------------

    def state_at(self, start: datetime, duration: timedelta) -> S:
        """The predicted state at ``start``: the committed state stepped over the intervals not metered yet
        (with what is booked for them), in steps of ``duration``."""
        state, t = self.state, self.clock
        if t is None:  # nothing metered yet: from the first interval it was asked about
            self._origin = t = start if self._origin is None else min(self._origin, start)
        while t + duration <= start:
            state, _ = self.step(state, t, duration, self._booked.get(t, Metered()))
            t += duration
        return state

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        """What the meter measured over the interval; the state moves to its end (call once, in order)."""
        state = self.state_at(start, duration)
        self.state, reading = self.step(state, start, duration, self._booked.pop(start, Metered()))
        self.clock = start + duration
        self._pauses = [p for p in self._pauses if p[1] > self.clock]
        self.price_windows = {w: p for w, p in self.price_windows.items() if w[1] > self.clock}
        return reading

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        _, reading = self.step(self.state_at(start, duration), start, duration,
                               self._booked.get(start, Metered()))
        return reading.bought_kwh - reading.sold_kwh

    def on_transaction(self, start: datetime, side: Side, quantity_kwh: float, price: float) -> None:
        """Book an agreed trade; it moves the state when its interval is metered."""
        booked = self._booked.get(start, Metered())
        if self.clock is None:
            self._origin = start if self._origin is None else min(self._origin, start)
        if side is Side.BUY:
            self._booked[start] = Metered(booked.sold_kwh, booked.bought_kwh + quantity_kwh)
        else:
            self._booked[start] = Metered(booked.sold_kwh + quantity_kwh, booked.bought_kwh)

    def booked(self, start: datetime) -> Metered:
        """What is agreed for the interval starting ``start`` and not metered yet."""
        return self._booked.get(start, Metered())

    # -- event windows ------------------------------------------------------------------------------------

    def set_pause(self, start: datetime, end: datetime, paused: bool) -> None:
        """Pause (``paused``) or resume the device's discretionary consumption over ``[start, end)``."""
        kept = [(p0, min(p1, start)) for p0, p1 in self._pauses if p0 < start]
        kept += [(max(p0, end), p1) for p0, p1 in self._pauses if p1 > end]
        self._pauses = kept
        if paused:
            self._pauses.append((start, end))

    def paused(self, start: datetime, end: datetime) -> bool:
        """Whether an event paused any part of ``[start, end)``."""
        return any(overlap_hours(start, end, p0, p1) > 0 for p0, p1 in self._pauses)
