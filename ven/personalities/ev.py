"""``ev``: an electric car that must be charged to ``target_soc`` by its departure, optionally with V2G.

**Sessions.** Each day the car arrives at ``arrival_h`` (local hour of the interval's time zone) and leaves at
``departure_h`` (the next morning when ``departure_h <= arrival_h``). The arrival time varies from day to day
by up to ``+-jitter_minutes`` and the state of charge it comes back with by up to ``+-soc_jitter`` (uniform,
drawn per day with :func:`~.base.interval_rng`, so the same seed gives the same days; both 0: every day the
same). The departure is fixed: it is the user's deadline. While away it neither tenders nor charges; the
driving takes the battery from what it had at departure down to the day's arrival state of charge
(``driven = max(stored - arrival energy, 0)``, booked when it comes back; it never comes back
fuller than it left).

**Physics** (per interval of ``h`` hours, only when plugged for the *whole* interval): the charger draws at
most ``P h`` (``P`` = ``capacity_kw``); drawing ``E`` from the grid stores ``efficiency x E``; exporting
``E`` (V2G) takes ``E / efficiency`` out of the battery, never below ``min_soc``; the battery stays within
``[0, battery_kwh]``. It charges what it bought, except in a paused event window. If at the end of an
interval the target could no longer be reached by charging at full power in every whole interval left
before departure, it charges anyway, just enough to keep the target reachable, bought or not (a deviation
the runtime settles as imbalance): so the car leaves at ``target_soc`` whenever that is physically possible,
and the market decides only *when* it charges.

**Pricing** (``lo``/``hi`` = ``band.grid_sell``/``band.grid_buy``, ``n`` = whole intervals left, ``need`` =
energy still to store): it bids for ``min(P h, need / efficiency)``. If skipping this interval would make
the target unreachable (``need > (n - 1) P h efficiency``) it must charge and bids ``hi``; otherwise
``limit = lo + (hi - lo) (f + (1 - f) u)`` with ``u = need / (n P h efficiency)``, the share of the charging it
can still do that it needs, and ``f = flex_price``: cheap while there is slack, rising as the deadline nears.
With ``v2g`` it also offers what it holds above ``max(min_soc, target - (n - 1) P h efficiency)`` (so a sale
never makes the target unreachable), at ``max(buy limit / efficiency^2, lo + v2g_price (hi - lo))``, above
its current bid by the round-trip loss (never a losing round trip against that bid); an offer that would
have to be above ``hi`` is not made (no buyer pays more than the retail price).

**Events** (:meth:`EvPersonality.on_event`): LEVEL >= 1 or ONOFF 0 pauses charging in the window when the
target stays reachable by charging after it (else it opts out; LEVEL 0 / ONOFF 1 resumes). PRICE: the car
charges at full power in the cheapest priced windows of the session that together store what it needs, and
not in the others. Away the whole window: nothing it can change, it opts out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import ClassVar

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities.base import EventKind, Metered, Need, Param, interval_rng
from transactive.ven.personalities.stepped import EPS_KWH, SteppedPersonality, hours, overlap_hours

__all__ = ["EvPersonality", "EvState", "Session"]


@dataclass(frozen=True, slots=True)
class Session:
    """One plug-in: arrival, departure and the energy in the battery on arrival."""

    arrival: datetime
    departure: datetime
    arrival_kwh: float


@dataclass(frozen=True, slots=True)
class EvState:
    """The battery (kWh) and the session it is in, with running totals since the start (kWh)."""

    stored_kwh: float
    session: datetime | None = None
    bought_kwh: float = 0.0
    sold_kwh: float = 0.0
    forced_kwh: float = 0.0
    driven_kwh: float = 0.0


class EvPersonality(SteppedPersonality[EvState]):
    name: ClassVar[str] = "ev"
    summary: ClassVar[str] = ("an EV charged to its target by departure: bids rise as the deadline nears; "
                              "optional V2G export above what it still needs")
    default_capacity_kw: ClassVar[float] = 7.4
    params: ClassVar[tuple[Param, ...]] = (
        Param("battery_kwh", 24.0, "usable battery energy", "kWh"),
        Param("arrival_h", 18.0, "hour of day it plugs in", "h"),
        Param("departure_h", 7.0, "hour of day it leaves (next day when <= arrival_h)", "h"),
        Param("arrival_soc", 0.3, "state of charge it comes back with", "fraction"),
        Param("target_soc", 0.9, "state of charge it must have at departure", "fraction"),
        Param("v2g", False, "also sell energy it does not need (vehicle-to-grid)"),
        Param("min_soc", 0.2, "V2G never discharges below this", "fraction"),
        Param("efficiency", 0.92, "one-way charging/discharging efficiency", "fraction"),
        Param("jitter_minutes", 30.0, "day-to-day variation of the arrival time (+-; 0: none)", "min"),
        Param("soc_jitter", 0.05, "day-to-day variation of the arrival state of charge (+-; 0: none)", "fraction"),
        Param("flex_price", 0.2, "its bid with slack, as a fraction of the band above grid_sell", "fraction"),
        Param("v2g_price", 0.8, "its lowest V2G offer, as a fraction of the band above grid_sell", "fraction"),
    )

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0, battery_kwh: float = 24.0,
                 arrival_h: float = 18.0, departure_h: float = 7.0, arrival_soc: float = 0.3,
                 target_soc: float = 0.9, v2g: bool = False, min_soc: float = 0.2, efficiency: float = 0.92,
                 jitter_minutes: float = 30.0, soc_jitter: float = 0.05, flex_price: float = 0.2,
                 v2g_price: float = 0.8) -> None:
        super().__init__(capacity_kw, seed=seed)
        fractions = {"arrival_soc": arrival_soc, "target_soc": target_soc, "min_soc": min_soc,
                     "soc_jitter": soc_jitter, "flex_price": flex_price, "v2g_price": v2g_price}
        for key, value in fractions.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key}: {value!r} is not a fraction in [0, 1]")
        if not battery_kwh > 0:
            raise ValueError(f"battery_kwh: {battery_kwh!r} is not a positive energy")
        if not 0.0 < efficiency <= 1.0:
            raise ValueError(f"efficiency: {efficiency!r} is not a fraction in (0, 1]")
        for key, hour in (("arrival_h", arrival_h), ("departure_h", departure_h)):
            if not 0.0 <= hour < 24.0:
                raise ValueError(f"{key}: {hour!r} is not an hour of the day in [0, 24)")
        plugged_h = (departure_h - arrival_h) % 24.0
        if plugged_h == 0.0:
            raise ValueError("departure_h: equals arrival_h (the car would never be plugged in)")
        if not 0.0 <= jitter_minutes < 60.0 * min(plugged_h, (24.0 - plugged_h) / 2):
            raise ValueError(f"jitter_minutes: {jitter_minutes!r} must be >= 0 and below the plugged-in time "
                             "and half the time away")
        if v2g and min_soc > target_soc:
            raise ValueError("min_soc: above target_soc")
        self.battery_kwh = float(battery_kwh)
        self.arrival_h, self.departure_h = float(arrival_h), float(departure_h)
        self.arrival_soc, self.target_soc, self.min_soc = arrival_soc, target_soc, min_soc
        self.v2g, self.efficiency = bool(v2g), efficiency
        self.jitter_minutes, self.soc_jitter = jitter_minutes, soc_jitter
        self.flex_price, self.v2g_price = flex_price, v2g_price
        self.state = EvState(stored_kwh=arrival_soc * self.battery_kwh)
        self._sessions: dict[datetime, Session] = {}
        self._charge_windows: set[tuple[datetime, datetime]] = set()

    @property
    def state_of_charge(self) -> float | None:
        return self.state.stored_kwh / self.battery_kwh

    def describe(self) -> str:
        v2g = " V2G" if self.v2g else ""
        return f"ev {self.capacity_kw:g} kW charger / {self.battery_kwh:g} kWh{v2g}"

    # -- sessions -----------------------------------------------------------------------------------------

    def session_of_day(self, day: datetime) -> Session:
        """The session that starts on ``day`` (midnight), with its drawn arrival time and state of charge."""
        found = self._sessions.get(day)
        if found is None:
            rng = interval_rng(self.seed, day, "ev-session")
            shift, soc_shift = 2.0 * float(rng.random()) - 1.0, 2.0 * float(rng.random()) - 1.0
            arrival = day + timedelta(hours=self.arrival_h, minutes=self.jitter_minutes * shift)
            departure = day + timedelta(hours=self.departure_h, days=1 if self.departure_h <= self.arrival_h else 0)
            soc = min(max(self.arrival_soc + self.soc_jitter * soc_shift, 0.0), 1.0)
            found = self._sessions[day] = Session(arrival, departure, soc * self.battery_kwh)
        return found

    def session_for(self, when: datetime) -> Session:
        """The latest session that began at or before ``when`` (the car may have left again since)."""
        day = when.replace(hour=0, minute=0, second=0, microsecond=0)
        candidates = [self.session_of_day(day - timedelta(days=k)) for k in range(3)]
        return max((s for s in candidates if s.arrival <= when), key=lambda s: s.arrival)

    def plugged(self, start: datetime, duration: timedelta | None = None) -> bool:
        """Whether the car is plugged in at ``start`` (with ``duration``: for the whole interval)."""
        end = start if duration is None else start + duration
        session = self.session_for(end)
        return session.arrival <= start and (end < session.departure if duration is None
                                             else end <= session.departure)

    def _entering(self, state: EvState, session: Session) -> tuple[float, float]:
        """(stored kWh in ``session``, driven kWh): a new session starts at its arrival energy, never above
        what the car left with."""
        if state.session is None or state.session == session.arrival:
            return state.stored_kwh, 0.0
        driven = max(state.stored_kwh - session.arrival_kwh, 0.0)
        return state.stored_kwh - driven, driven

    def intervals_left(self, session: Session, when: datetime, duration: timedelta) -> int:
        """Whole intervals of ``duration`` between ``when`` and the departure."""
        return max(math.floor((session.departure - when) / duration + 1e-9), 0)

    # -- the interval ---------------------------------------------------------------------------------------

    def _held(self, start: datetime, end: datetime) -> bool:
        """No discretionary charging: an event paused it, or a PRICE event left this window out."""
        coasting = any(overlap_hours(start, end, *w) > 0 and w not in self._charge_windows
                       for w in self.price_windows)
        return coasting or self.paused(start, end)

    def step(self, state: EvState, start: datetime, duration: timedelta, booked: Metered) -> tuple[EvState, Metered]:
        end = start + duration
        session = self.session_for(end)
        stored, driven = self._entering(state, session)
        moved = replace(state, stored_kwh=stored, session=session.arrival, driven_kwh=state.driven_kwh + driven)
        if not (session.arrival <= start and end <= session.departure):
            return moved, Metered()
        eff, cap_kwh = self.efficiency, self.battery_kwh
        power = self.capacity_kw * hours(duration)
        wanted = 0.0
        if not self._held(start, end):
            scheduled = sum(self.capacity_kw * overlap_hours(start, end, *w) for w in self._charge_windows)
            wanted = booked.bought_kwh + scheduled
        charged = max(min(wanted, power, (cap_kwh - stored) / eff), 0.0)
        stored += charged * eff
        taken = 0.0
        if self.v2g:
            taken = max(min(booked.sold_kwh, power) / eff, 0.0)
            taken = min(taken, max(stored - self.min_soc * cap_kwh, 0.0))
            stored -= taken
        reachable = self.intervals_left(session, end, duration) * power * eff
        short = self.target_soc * cap_kwh - stored - reachable
        forced = max(min(short / eff, power - charged, (cap_kwh - stored) / eff), 0.0) if short > EPS_KWH else 0.0
        stored = min(max(stored + forced * eff, 0.0), cap_kwh)
        reading = Metered(sold_kwh=taken * eff, bought_kwh=charged + forced)
        return replace(moved, stored_kwh=stored, bought_kwh=moved.bought_kwh + reading.bought_kwh,
                       sold_kwh=moved.sold_kwh + reading.sold_kwh, forced_kwh=moved.forced_kwh + forced), reading

    def buy_limit(self, need_kwh: float, intervals_left: int, power_kwh: float, band: ReservePrices) -> float:
        """The bid for charging ``need_kwh`` (stored) in ``intervals_left`` intervals of ``power_kwh``."""
        lo, hi = band.grid_sell, band.grid_buy
        per = power_kwh * self.efficiency
        if need_kwh > (intervals_left - 1) * per + EPS_KWH:
            return hi
        share = min(need_kwh / (intervals_left * per), 1.0)
        return lo + (hi - lo) * (self.flex_price + (1.0 - self.flex_price) * share)

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        end = start + duration
        session = self.session_for(end)
        if not (session.arrival <= start and end <= session.departure):
            return []
        stored, _ = self._entering(self.state_at(start, duration), session)
        left = self.intervals_left(session, start, duration)
        power = self.capacity_kw * hours(duration)
        need = self.target_soc * self.battery_kwh - stored
        lo, hi = band.grid_sell, band.grid_buy
        buy_limit = lo + (hi - lo) * self.flex_price
        needs = []
        if need > EPS_KWH and not self._held(start, end):
            buy_limit = self.buy_limit(need, left, power, band)
            needs.append(Need(Side.BUY, min(power, need / self.efficiency), buy_limit))
        if self.v2g:
            floor = max(self.target_soc * self.battery_kwh - (left - 1) * power * self.efficiency,
                        self.min_soc * self.battery_kwh)
            spare = min(power, (stored - floor) * self.efficiency)
            sell_limit = max(buy_limit / self.efficiency**2, lo + (hi - lo) * self.v2g_price)
            if spare > EPS_KWH and sell_limit <= hi:
                needs.append(Need(Side.SELL, spare, sell_limit))
        return needs

    # -- events ---------------------------------------------------------------------------------------------

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        session = next((s for s in (self.session_for(start), self.session_for(end))
                        if overlap_hours(start, end, s.arrival, s.departure) > 0), None)
        if session is None:
            return False  # away: nothing it could change
        stored, _ = self._entering(self.state, session)
        need = max(self.target_soc * self.battery_kwh - stored, 0.0)
        if kind is EventKind.PRICE:
            self.price_windows[(start, end)] = float(value)
            self._choose_windows(session, need)
            return True
        if (kind is EventKind.LEVEL and value <= 0) or (kind is EventKind.ONOFF and value >= 1):
            self.set_pause(start, end, False)
            return True
        after_h = hours(session.departure - max(end, session.arrival))
        if need > self.capacity_kw * self.efficiency * after_h + EPS_KWH:
            return False  # pausing would miss the target
        self.set_pause(start, end, True)
        return True

    def _choose_windows(self, session: Session, need_kwh: float) -> None:
        """Charge in the session's cheapest priced windows that together store ``need_kwh``."""
        mine = sorted((w for w in self.price_windows if overlap_hours(*w, session.arrival, session.departure) > 0),
                      key=lambda w: (self.price_windows[w], w[0]))
        self._charge_windows = (self._charge_windows & set(self.price_windows)) - set(mine)
        stored = 0.0
        for window in mine:
            if stored >= need_kwh - EPS_KWH:
                break
            self._charge_windows.add(window)
            stored += self.capacity_kw * self.efficiency * overlap_hours(*window, session.arrival, session.departure)
