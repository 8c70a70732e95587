"""Who is in a community and what they offer: :class:`Member` (name, template and priority, power, declared
schedule, battery) and the community's :class:`Goal`.

A member is one device its owner put in the community, described the way the campus paper's users describe
it in the app: which template it follows (T1 scheduled appliance, T2 range-temperature appliance, T3 EV,
T4 full flexibility; :data:`~transactive.ven.personalities.templates.TEMPLATES`), the power it can give,
the hours of the day it says it is available (its *declared schedule*: the commitment tokens and penalties
are measured against) and, for an EV, its battery, the energy its owner keeps for driving (``reserve_kwh``)
and its charger. How often the owner deviates from the declared schedule (``deviation_rate``) and how often
a deviation is announced in advance (``announce_rate``) drive the simulation (:mod:`.fleet`).

Members are read from a ``--config`` TOML file (:func:`members_from_config`): one ``[[member]]`` table each,
with ``schedule`` written as hour ranges, e.g. ``"0-7,9-17,20-24"`` (hours of the day, end exclusive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transactive.ven.personalities.templates import TEMPLATES

__all__ = ["Goal", "Member", "format_hours", "member_from_dict", "members_from_config", "parse_hours"]


class Goal(StrEnum):
    """What the community sells: spinning-reserve capacity from EVs, or demand-response flexibility."""

    SPINNING_RESERVE = "spinning-reserve"
    FLEXIBILITY = "flexibility"


def parse_hours(text: str, where: str = "schedule") -> frozenset[int]:
    """Hours of the day from ``"0-7,9-17,22"`` (ranges end-exclusive, single hours allowed; ``""`` none);
    ``ValueError`` naming ``where`` otherwise."""
    hours: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-"))
            else:
                lo = int(part)
                hi = lo + 1
        except ValueError:
            raise ValueError(f"{where}: {part!r} is not an hour or an hour range like 9-17") from None
        if not 0 <= lo < hi <= 24:
            raise ValueError(f"{where}: {part!r} is not a range of hours within 0-24")
        hours.update(range(lo, hi))
    return frozenset(hours)


def format_hours(hours: Iterable[int]) -> str:
    """The inverse of :func:`parse_hours`: ``{0,1,2,9}`` -> ``"0-3,9-10"``."""
    out: list[str] = []
    ordered = sorted(set(hours))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(f"{ordered[i]}-{ordered[j] + 1}")
        i = j + 1
    return ",".join(out)


@dataclass(frozen=True, slots=True)
class Member:
    """One device of the community (see the module docstring). ``power_kw`` is what it can give (an EV's
    V2G converter, a heater's electrical power); for an EV ``battery_kwh`` > 0 and its available power in an
    hour is the energy above ``reserve_kwh`` (:mod:`.fleet`)."""

    name: str
    template: str
    power_kw: float
    schedule: frozenset[int]
    battery_kwh: float = 0.0
    reserve_kwh: float = 0.0
    charger_kw: float = 3.7
    #: energy used per hour away (an EV driving), on an average day
    trip_kwh: float = 0.0
    deviation_rate: float = 0.15
    announce_rate: float = 0.5

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"member name {self.name!r}: give a name without spaces")
        if self.template not in TEMPLATES:
            raise ValueError(f"member {self.name}: template {self.template!r} is not one of {', '.join(TEMPLATES)}")
        if not self.power_kw > 0:
            raise ValueError(f"member {self.name}: power_kw must be positive")
        for label in ("battery_kwh", "reserve_kwh", "charger_kw", "trip_kwh"):
            if getattr(self, label) < 0:
                raise ValueError(f"member {self.name}: {label} may not be negative")
        if self.battery_kwh and self.reserve_kwh > self.battery_kwh:
            raise ValueError(f"member {self.name}: reserve_kwh is above battery_kwh")
        for label in ("deviation_rate", "announce_rate"):
            if not 0.0 <= getattr(self, label) <= 1.0:
                raise ValueError(f"member {self.name}: {label} must be within 0-1")

    @property
    def priority(self) -> int:
        """The template's rationing priority (1 = T1, served and called first)."""
        return TEMPLATES[self.template].priority

    @property
    def is_ev(self) -> bool:
        return self.battery_kwh > 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "template": self.template, "priority": self.priority, "power_kw": self.power_kw,
                "schedule": format_hours(self.schedule), "battery_kwh": self.battery_kwh,
                "reserve_kwh": self.reserve_kwh, "charger_kw": self.charger_kw, "trip_kwh": self.trip_kwh,
                "deviation_rate": self.deviation_rate, "announce_rate": self.announce_rate}


_FIELDS = {"name": str, "template": str, "power_kw": float, "schedule": str, "battery_kwh": float,
           "reserve_kwh": float, "charger_kw": float, "trip_kwh": float, "deviation_rate": float,
           "announce_rate": float}


def member_from_dict(data: Mapping[str, Any], where: str = "member") -> Member:
    """A member from a TOML table / JSON object; ``ValueError`` naming ``where`` and the field otherwise."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})")
    for required in ("name", "template", "power_kw"):
        if required not in data:
            raise ValueError(f"{where}: missing field {required!r}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        kind = _FIELDS[key]
        if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{where}.{key}: {value!r} is not a number")
        if kind is str and not isinstance(value, str):
            raise ValueError(f"{where}.{key}: {value!r} is not a string")
        values[key] = float(value) if kind is float else value
    values["schedule"] = parse_hours(values.get("schedule", "0-24"), f"{where}.schedule")
    values["template"] = str(values["template"]).lower()
    try:
        return Member(**values)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def members_from_config(data: Mapping[str, Any]) -> list[Member]:
    """The ``[[member]]`` tables of a community config (at least one; names unique)."""
    tables = data.get("member")
    if not isinstance(tables, list) or not tables:
        raise ValueError("config: give at least one [[member]] table")
    members = [member_from_dict(t, f"member[{i}]") if isinstance(t, Mapping) else _not_table(i)
               for i, t in enumerate(tables)]
    seen: set[str] = set()
    for m in members:
        if m.name in seen:
            raise ValueError(f"config: member name {m.name!r} appears twice")
        seen.add(m.name)
    return members


def _not_table(i: int) -> Member:
    raise ValueError(f"member[{i}]: expected a table")
