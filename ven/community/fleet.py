"""Synthetic but plausible member behaviour, hour by hour: when each device is really available, how much it
can give, and every deviation from its declared schedule (announced or not, replaced or not).

**Declared schedule.** Each member says which hours of the day it is available (:attr:`Member.schedule`).
An EV's schedule is its owner's routine: plugged in at home at night and at work/campus by day, away during
its commutes (mornings 05-10, evenings 15-21, different per owner).

**Deviations (15 % of days in the paper's pilot).** On each day each member deviates with probability
``deviation_rate``. A deviation removes a block of its declared hours: with probability 0.2 a whole-day trip
(07-21), else a block of 2-4 hours starting at a declared hour between 06 and 20 (a late return, an early
departure, an errand). It is *announced* in advance with probability ``announce_rate``; an announced
deviation looks for a *replacement* among the members of the same kind (EV for EV) that do not deviate that
day and are not already available in those hours (they would be away: e.g. an owner who works from home
that morning), each willing with probability ``help_rate``; the willing one with the most usable energy
plugs in instead for those hours. A replacement *covers* an hour when it can give at least what the
deviating member declared it would (its expected energy above reserve); uncovered hours of an announced
deviation are penalised at the announced rate (:mod:`.tokens`), unannounced ones heavily.

**Energy.** An EV's state of charge runs continuously over the days: each hour plugged in it charges at
``charger_kw`` up to its battery, each hour away it uses ``trip_kwh`` times a factor for the day (lognormal,
sigma 0.3: the daily distance varies). Its *available energy* for an hour-long call is the energy above the
owner's reserve at the start of the hour, capped by ``power_kw`` (the V2G converter; the paper assumes
outlets of unlimited power and counts battery energy as kW, "5 x 24 + 2 x 30 = 180 kW": the pilot sets
``power_kw`` to the battery size for that reading). Calls are not fed back into the state of charge (reserve
is rarely called; a one-hour call takes at most the energy above the reserve). Any other member gives its
``power_kw`` for the hour when it is available, nothing otherwise.

Randomness is drawn per (seed, day) so a day's behaviour does not depend on how many days are simulated
before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from transactive.ven.community.members import Member, parse_hours

__all__ = ["DEV_ANNOUNCED", "DEV_NONE", "DEV_UNANNOUNCED", "History", "campus_members", "pilot_fleet", "simulate"]

DEV_NONE, DEV_ANNOUNCED, DEV_UNANNOUNCED = 0, 1, 2
_TRIP_HOURS = frozenset(range(7, 21))


@dataclass(frozen=True, slots=True)
class History:
    """What the members really did, ``[day, hour, member]``: ``available`` (really available, a replacement
    included), ``energy_kwh`` (what it could give in that hour), ``committed`` (the declared schedule),
    ``deviation`` (``DEV_*`` on declared hours it missed), ``covered`` (such an hour covered by a replacement),
    ``replaced_by`` (the replacement's index, -1 none) and ``replacing`` (available as someone's replacement)."""

    members: tuple[Member, ...]
    available: np.ndarray
    energy_kwh: np.ndarray
    committed: np.ndarray
    deviation: np.ndarray
    covered: np.ndarray
    replaced_by: np.ndarray
    replacing: np.ndarray

    @property
    def days(self) -> int:
        return int(self.available.shape[0])

    def index(self, name: str) -> int:
        return next(i for i, m in enumerate(self.members) if m.name == name)

    def window(self, first: int, last: int) -> History:
        """Days ``first`` to ``last`` (exclusive)."""
        return History(self.members, *(a[first:last] for a in (
            self.available, self.energy_kwh, self.committed, self.deviation, self.covered, self.replaced_by,
            self.replacing)))

    def deviation_days(self) -> float:
        """The fraction of member-days with a deviation."""
        days = (self.deviation > 0).any(axis=1)
        return float(days.mean()) if days.size else 0.0


def _usable(m: Member) -> float:
    """What a member can give in an hour when things go as usual (the commitment a replacement must match)."""
    if m.is_ev:
        return max(0.0, min(m.power_kw, m.battery_kwh - m.reserve_kwh - 2 * m.trip_kwh))
    return m.power_kw


def _blocks(m: Member, rng: np.random.Generator) -> frozenset[int]:
    """The declared hours a deviating member misses on one day."""
    if rng.random() < 0.2:
        return m.schedule & _TRIP_HOURS
    starts = sorted(h for h in m.schedule if 6 <= h <= 20) or sorted(m.schedule)
    start = int(rng.choice(starts))
    block = frozenset(range(start, min(24, start + int(rng.integers(2, 5)))))
    return block & m.schedule


def simulate(members: Sequence[Member], days: int, *, seed: int = 0, help_rate: float = 0.5,
             first_day: int = 0) -> History:
    """``days`` days of behaviour of ``members`` (see the module docstring), days numbered from ``first_day``."""
    n = len(members)
    shape = (days, 24, n)
    available = np.zeros(shape, dtype=bool)
    committed = np.zeros(shape, dtype=bool)
    deviation = np.zeros(shape, dtype=np.int8)
    covered = np.zeros(shape, dtype=bool)
    replaced_by = np.full(shape, -1, dtype=np.int16)
    replacing = np.zeros(shape, dtype=bool)
    energy = np.zeros(shape)
    factors = np.ones((days, n))
    for d in range(days):
        rng = np.random.default_rng([seed, first_day + d + 1_000_000])
        factors[d] = rng.lognormal(0.0, 0.3, n)
        missed: dict[int, frozenset[int]] = {}
        for i, m in enumerate(members):
            for h in m.schedule:
                committed[d, h, i] = available[d, h, i] = True
            if rng.random() < m.deviation_rate:
                block = _blocks(m, rng)
                if block:
                    missed[i] = block
        for i, block in missed.items():
            announced = rng.random() < members[i].announce_rate
            hours = sorted(block)
            available[d, hours, i] = False
            deviation[d, hours, i] = DEV_ANNOUNCED if announced else DEV_UNANNOUNCED
            if not announced:
                continue
            willing = [j for j, c in enumerate(members)
                       if j != i and j not in missed and c.is_ev == members[i].is_ev
                       and not any(available[d, h, j] for h in hours) and rng.random() < help_rate]
            if willing:
                j = max(willing, key=lambda k: _usable(members[k]))
                available[d, hours, j] = replacing[d, hours, j] = True
                replaced_by[d, hours, i] = j
    soc = np.array([m.battery_kwh for m in members], dtype=float)
    for d in range(days):
        for h in range(24):
            for i, m in enumerate(members):
                if not m.is_ev:
                    energy[d, h, i] = m.power_kw if available[d, h, i] else 0.0
                    continue
                if available[d, h, i]:
                    energy[d, h, i] = min(m.power_kw, max(0.0, soc[i] - m.reserve_kwh))
                    soc[i] = min(m.battery_kwh, soc[i] + m.charger_kw)
                else:
                    soc[i] = max(0.0, soc[i] - m.trip_kwh * factors[d, i])
    for d, h, i in zip(*np.nonzero(replaced_by >= 0), strict=True):
        j = replaced_by[d, h, i]
        covered[d, h, i] = energy[d, h, j] >= _usable(members[i])
    return History(tuple(members), available, energy, committed, deviation, covered, replaced_by, replacing)


#: the pilot's seven owners: (name, battery kWh, reserve kWh, hours away on their routine)
_PILOT = (
    ("ev-1", 24.0, 6.0, "7,16"),
    ("ev-2", 24.0, 6.0, "7-9,17-19"),
    ("ev-3", 24.0, 7.0, "8,18"),
    ("ev-4", 24.0, 6.0, "9,19"),
    ("ev-5", 24.0, 8.0, "9,19-21"),
    ("ev-6", 30.0, 8.0, "5-7,15-17"),
    ("ev-7", 30.0, 9.0, "12,20"),
)


def pilot_fleet(*, deviation_rate: float = 0.15, announce_rate: float = 0.5, trip_kwh: float = 3.0,
                v2g_kw: float | None = None) -> list[Member]:
    """The campus paper's pilot: seven Nissan Leaf with V2G, five of 24 kWh and two of 30 kWh (T3 members).

    The routines (hours away) are ours: commutes between 05 and 10 and between 15 and 21, one owner living
    on campus (away at lunch and one evening hour). ``v2g_kw`` caps the power each can give (None: the paper's
    unlimited outlets, i.e. the battery's energy above the reserve within the hour)."""
    out = []
    for name, battery, reserve, away in _PILOT:
        schedule = frozenset(range(24)) - parse_hours(away, name)
        out.append(Member(name=name, template="t3", power_kw=v2g_kw or battery, schedule=schedule,
                          battery_kwh=battery, reserve_kwh=reserve, charger_kw=3.7, trip_kwh=trip_kwh,
                          deviation_rate=deviation_rate, announce_rate=announce_rate))
    return out


def campus_members(*, deviation_rate: float = 0.15, announce_rate: float = 0.5) -> list[Member]:
    """The campus case study's flexible devices: eight classroom HVAC units (T2, 3 kW, in use 08-18), seven EVs
    on campus chargers (T3, 3.7 kW, plugged 09-17: their charging is the flexibility), the IoT laboratory's T1
    outlet (2 kW, a scheduled appliance, 08-20) and its T4 outlet (a 2 kW local heater, any time)."""
    def member(name: str, template: str, power: float, hours: str) -> Member:
        return Member(name=name, template=template, power_kw=power, schedule=parse_hours(hours, name),
                      deviation_rate=deviation_rate, announce_rate=announce_rate)

    return [*(member(f"cr-{k}", "t2", 3.0, "8-18") for k in range(1, 9)),
            *(member(f"ev-{k}", "t3", 3.7, "9-17") for k in range(1, 8)),
            member("outlet-t1", "t1", 2.0, "8-20"), member("outlet-t4", "t4", 2.0, "0-24")]
