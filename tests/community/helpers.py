"""A hand-made history for token tests: every array explicit, so each rule is seen in isolation; a sample
community's data directory with tokens on its ledger and two calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from transactive.ledger.embedded import EmbeddedLedger
from transactive.ven.community import Community, Goal, History, Member, TokenRules, token_events, write_events


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


def sample_community(parent: Path, name: str = "cm") -> Community:
    """A spinning-reserve community ``name`` in ``parent/name``: two EVs, a day of token events written to its
    ledger (critical hours 8 and 18), two calls; saved."""
    members = [member("ev-a", power=8.0), member("ev-b", power=4.0)]
    c = Community(name, Goal.SPINNING_RESERVE, members, 10.0, parent / name, available_kw_by_hour=[12.0] * 24)
    h = blank_history(members)
    critical = {8: 1, 18: 2}
    c.critical_levels = critical
    events = token_events(name, h, 0, range(24), TokenRules(critical), "d0")

    async def write() -> None:
        async with EmbeddedLedger(c.ledger_path) as ledger:
            await write_events(ledger, events, datetime(2026, 3, 2, tzinfo=UTC), timedelta(days=1))

    c.data_dir.mkdir(parents=True)
    asyncio.run(write())
    c.add_tokens(events)
    start = datetime(2026, 3, 2, 18, tzinfo=UTC)
    c.record_call(start, timedelta(minutes=30), 6.0, Decimal("0.2"), {"ev-a": 4.0, "ev-b": 2.0}, 6.0)
    c.record_call(start + timedelta(hours=1), timedelta(minutes=30), 3.0, Decimal("0.1"), {"ev-a": 3.0}, 2.0)
    c.save()
    return c
