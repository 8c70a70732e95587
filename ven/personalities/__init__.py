"""VEN personalities: device agents that decide what to tender (see :mod:`.base`).

:data:`PERSONALITIES` maps each ``--personality`` name to its class. Adding one is: write a
:class:`~.base.Personality` subclass with a ``name`` (in its own module) and add it to the tuple below.
"""

from __future__ import annotations

from transactive.ven.personalities.base import Metered, Need, Personality, interval_rng
from transactive.ven.personalities.battery import BatteryPersonality
from transactive.ven.personalities.load import LoadPersonality
from transactive.ven.personalities.pv import PvPersonality

__all__ = [
    "PERSONALITIES",
    "BatteryPersonality",
    "LoadPersonality",
    "Metered",
    "Need",
    "Personality",
    "PvPersonality",
    "create_personality",
    "interval_rng",
]

#: ``--personality`` name -> class
PERSONALITIES: dict[str, type[Personality]] = {
    cls.name: cls for cls in (PvPersonality, LoadPersonality, BatteryPersonality)
}


def create_personality(name: str, capacity_kw: float | None = None, *, seed: int = 0) -> Personality:
    """A personality by its registry name (``ValueError`` naming the known ones otherwise)."""
    try:
        cls = PERSONALITIES[name]
    except KeyError:
        raise ValueError(f"unknown personality {name!r}; known: {', '.join(sorted(PERSONALITIES))}") from None
    return cls(capacity_kw, seed=seed)
