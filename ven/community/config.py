"""A community's settings and members, from a small TOML file (``transactive community run --config FILE``).

::

    [community]
    goal_kw = 35.0                    # the power it aims to make available every hour (kW)
    price = 0.10                      # the lowest price per kWh it sells at (default: the market's export price)
    history_days = 28                 # days of history each member's availability is predicted from
    critical_hours = [8, 9, 18, 19, 20]   # the hours rewarded (default below)
    token_rate = 1.0                  # tokens per kWh available in a critical hour of level 1
    announced_penalty = 1.0           # x token_rate per kWh missed: announced, not covered
    unannounced_penalty = 3.0         # x token_rate per kWh missed: not announced
    help_rate = 0.5                   # chance a member agrees to replace another
    seed = 0

    [[member]]
    name = "ev-1"
    template = "t3"                   # t1..t4 (priority 1..4)
    power_kw = 24.0
    schedule = "0-7,8-17,18-24"       # the hours it declares it is available
    battery_kwh = 24.0                # EVs only: battery, the owner's reserve, charger, energy per hour away
    reserve_kwh = 6.0
    trip_kwh = 3.0
    deviation_rate = 0.15
    announce_rate = 0.5

Without a file (or without ``[[member]]`` tables) the members are the paper's: the pilot's seven EVs for
``spinning-reserve`` (:func:`~.fleet.pilot_fleet`), the campus devices for ``flexibility``
(:func:`~.fleet.campus_members`). Default critical hours: the paper's 08-10 and 18-21 for spinning reserve;
for flexibility the five hours of least expected flexibility in the history. Default ``goal_kw``: the paper's
35 kW floor for spinning reserve, half the members' power for flexibility.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from transactive.ven.community.fleet import campus_members, pilot_fleet
from transactive.ven.community.members import Goal, Member, members_from_config
from transactive.ven.toml_file import read_toml

__all__ = ["PAPER_CRITICAL_HOURS", "Settings", "load_settings", "settings_from_dict"]

#: the pilot's critical periods, 08:00-10:00 and 18:00-21:00
PAPER_CRITICAL_HOURS = (8, 9, 18, 19, 20)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``community run`` needs besides the market (see the module docstring)."""

    goal: Goal
    members: tuple[Member, ...]
    goal_kw: float
    price: float | None = None
    history_days: int = 28
    critical_hours: tuple[int, ...] | None = None
    token_rate: Decimal = Decimal(1)
    announced_penalty: Decimal = Decimal(1)
    unannounced_penalty: Decimal = Decimal(3)
    help_rate: float = 0.5
    seed: int = 0


_NUMBERS = {"goal_kw": float, "price": float, "history_days": int, "token_rate": Decimal,
            "announced_penalty": Decimal, "unannounced_penalty": Decimal, "help_rate": float, "seed": int}


def settings_from_dict(goal: Goal, data: Mapping[str, Any]) -> Settings:
    """Settings from a parsed config (``{}``: the paper's defaults); ``ValueError`` naming the field."""
    section = data.get("community", {})
    if not isinstance(section, Mapping):
        raise ValueError("config: [community] must be a table")
    unknown = sorted(set(data) - {"community", "member"}) + sorted(set(section) - {*_NUMBERS, "critical_hours"})
    if unknown:
        raise ValueError(f"config: unknown field {unknown[0]!r}")
    members: list[Member]
    if "member" in data:
        members = members_from_config(data)
    else:
        members = pilot_fleet() if goal is Goal.SPINNING_RESERVE else campus_members()
    values: dict[str, Any] = {}
    for key, kind in _NUMBERS.items():
        if key not in section:
            continue
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and isinstance(value, float)):
            raise ValueError(f"community.{key}: {value!r} is not a {'whole ' if kind is int else ''}number")
        values[key] = kind(str(value)) if kind is Decimal else kind(value)
    for key in ("goal_kw", "token_rate"):
        if key in values and not values[key] > 0:
            raise ValueError(f"community.{key}: must be positive")
    for key in ("price", "announced_penalty", "unannounced_penalty"):
        if key in values and values[key] < 0:
            raise ValueError(f"community.{key}: may not be negative")
    if values.get("history_days", 28) < 1:
        raise ValueError("community.history_days: must be at least 1")
    if not 0.0 <= values.get("help_rate", 0.5) <= 1.0:
        raise ValueError("community.help_rate: must be within 0-1")
    hours = section.get("critical_hours")
    if hours is not None:
        if not isinstance(hours, list) or not all(isinstance(h, int) and not isinstance(h, bool) and 0 <= h < 24
                                                  for h in hours):
            raise ValueError("community.critical_hours: expected a list of hours 0-23")
        values["critical_hours"] = tuple(sorted(set(hours)))
    elif goal is Goal.SPINNING_RESERVE:
        values["critical_hours"] = PAPER_CRITICAL_HOURS
    if "goal_kw" not in values:
        values["goal_kw"] = 35.0 if goal is Goal.SPINNING_RESERVE else round(sum(m.power_kw for m in members) / 2, 6)
    return Settings(goal=goal, members=tuple(members), **values)


def load_settings(goal: Goal, path: Path | None) -> Settings:
    """The settings of ``path`` (None: the defaults); ``ValueError`` naming the file or the field."""
    if path is None:
        return settings_from_dict(goal, {})
    data = read_toml(path)
    try:
        return settings_from_dict(goal, data)
    except ValueError as error:
        raise ValueError(f"--config {path}: {error}") from None
