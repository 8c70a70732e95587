"""A hand-made history for token tests: every array explicit, so each rule is seen in isolation."""

from __future__ import annotations

import numpy as np

from transactive.ven.community import History, Member


def member(name: str, template: str = "t3", power: float = 10.0, hours: range = range(24)) -> Member:
    return Member(name=name, template=template, power_kw=power, schedule=frozenset(hours))


def blank_history(members: list[Member], days: int = 1) -> History:
    """Every member available and committed all day, giving its power each hour; no deviation."""
    n = len(members)
    shape = (days, 24, n)
    energy = np.zeros(shape)
    for i, m in enumerate(members):
        energy[:, :, i] = m.power_kw
    return History(tuple(members), np.ones(shape, dtype=bool), energy, np.ones(shape, dtype=bool),
                   np.zeros(shape, dtype=np.int8), np.zeros(shape, dtype=bool), np.full(shape, -1, dtype=np.int16),
                   np.zeros(shape, dtype=bool))
