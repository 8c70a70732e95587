"""VEN personalities: device agents that decide what to tender (see :mod:`.base`).

:data:`PERSONALITIES` maps each ``--personality`` name to its class, :data:`TEMPLATES` the campus paper's
templates (T1-T4) to configurations of them. Adding a personality is: write a
:class:`~.base.Personality` subclass with a ``name``, a ``summary`` and its :class:`~.base.Param` s (in its
own module) and add it to the tuple below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transactive.ven.personalities.base import EventKind, Metered, Need, Param, Personality, interval_rng
from transactive.ven.personalities.battery import BatteryPersonality
from transactive.ven.personalities.ev import EvPersonality
from transactive.ven.personalities.homeostasis import HomeostasisPersonality
from transactive.ven.personalities.load import LoadPersonality
from transactive.ven.personalities.meter import MeterPersonality
from transactive.ven.personalities.preconsumption import PreconsumptionPersonality
from transactive.ven.personalities.pv import PvPersonality
from transactive.ven.personalities.scheduled import ScheduledPersonality
from transactive.ven.personalities.templates import TEMPLATES, Template

__all__ = [
    "PERSONALITIES",
    "TEMPLATES",
    "BatteryPersonality",
    "EvPersonality",
    "EventKind",
    "HomeostasisPersonality",
    "LoadPersonality",
    "MeterPersonality",
    "Metered",
    "Need",
    "Param",
    "Personality",
    "PreconsumptionPersonality",
    "PvPersonality",
    "ScheduledPersonality",
    "Template",
    "catalogue",
    "create_personality",
    "interval_rng",
    "personality_names",
    "resolve",
]

#: ``--personality`` name -> class
PERSONALITIES: dict[str, type[Personality]] = {
    cls.name: cls for cls in (PvPersonality, LoadPersonality, BatteryPersonality,
                              HomeostasisPersonality, PreconsumptionPersonality, ScheduledPersonality,
                              EvPersonality, MeterPersonality)
}


def personality_names() -> list[str]:
    """Every name ``--personality`` accepts: the personalities, then the templates."""
    return [*sorted(PERSONALITIES), *TEMPLATES]


def resolve(name: str) -> tuple[type[Personality], Template | None]:
    """The class behind a personality or template name, and the template (``ValueError`` naming the known
    names otherwise)."""
    if name in PERSONALITIES:
        return PERSONALITIES[name], None
    template = TEMPLATES.get(name)
    if template is None or template.personality not in PERSONALITIES:
        raise ValueError(f"unknown personality {name!r}; known: {', '.join(personality_names())}")
    return PERSONALITIES[template.personality], template


def create_personality(name: str, capacity_kw: float | None = None, *, seed: int = 0,
                       params: Mapping[str, Any] | None = None, where: str = "") -> Personality:
    """A personality (or template) by name, with ``params`` (its :class:`Param` names; values are coerced to
    the parameter's type). ``ValueError`` names an unknown personality or parameter, or a bad value (prefixed
    with ``where``, e.g. the config file's name)."""
    cls, template = resolve(name)
    declared = {p.name: p for p in cls.params}
    values: dict[str, Any] = dict(template.params) if template is not None else {}
    for key, value in (params or {}).items():
        param = declared.get(key)
        if param is None:
            known = ", ".join(sorted(declared)) or "none"
            raise ValueError(f"{where}{key}: {name} has no such parameter (its parameters: {known})")
        values[key] = param.coerce(value, f"{where}{key}")
    if capacity_kw is None and template is not None:
        capacity_kw = template.capacity_kw
    try:
        return cls(capacity_kw, seed=seed, **values)
    except ValueError as error:
        raise ValueError(f"{where}{error}") from None


def catalogue() -> list[dict[str, Any]]:
    """What ``transactive ven personalities --json`` prints: each personality, then each template, with its
    parameters and their defaults."""
    out: list[dict[str, Any]] = []
    for name in sorted(PERSONALITIES):
        cls = PERSONALITIES[name]
        out.append({"name": name, "kind": "personality", "summary": cls.summary,
                    "capacity_kw": cls.default_capacity_kw,
                    "params": [p.as_dict() for p in cls.params]})
    for template in TEMPLATES.values():
        if template.personality not in PERSONALITIES:
            continue
        cls = PERSONALITIES[template.personality]
        params = [{**p.as_dict(), "default": template.params.get(p.name, p.default)} for p in cls.params]
        out.append({"name": template.name, "kind": "template", "summary": template.summary,
                    "title": template.title, "personality": template.personality, "priority": template.priority,
                    "capacity_kw": template.capacity_kw, "params": params})
    return out
