"""A small simulated market for personality tests: the runtime's order of calls, without a VTN.

Per interval ``X`` (in time order) the loop calls ``plan(X)``, lets ``accept`` decide which of the needs
clear (and at what price), books them with ``on_transaction`` and only then meters the interval ``lag``
intervals back, as the runtime does (``plan(X)`` comes before ``metered(X - 1)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from transactive.market import ReservePrices
from transactive.ven.personalities import Metered, Need, Personality

#: (interval start, need) -> the price it clears at, or None
Acceptor = Callable[[datetime, Need], float | None]


@dataclass
class Interval:
    """What happened in one simulated interval."""

    start: datetime
    needs: list[Need]
    bought_kwh: float = 0.0
    metered: Metered = field(default_factory=Metered)
    #: ``observe(device)`` just before and just after the interval was metered (NaN without ``observe``)
    before: float = float("nan")
    after: float = float("nan")


def accept_all(start: datetime, need: Need) -> float | None:
    return need.limit_price


def accept_none(start: datetime, need: Need) -> float | None:
    return None


def uniform_prices(band: ReservePrices, seed: int) -> Acceptor:
    """A uniform-price market: a clearing price per interval, drawn uniformly over the band (and a bit
    beyond either end); a bid clears when its limit is at or above it."""
    rng = np.random.default_rng(seed)
    prices: dict[datetime, float] = {}
    spread = band.grid_buy - band.grid_sell

    def accept(start: datetime, need: Need) -> float | None:
        if start not in prices:
            prices[start] = float(rng.uniform(band.grid_sell - 0.1 * spread, band.grid_buy + 0.1 * spread))
        return prices[start] if need.limit_price >= prices[start] else None

    return accept


def run_market(device: Personality, first: datetime, step: timedelta, count: int, band: ReservePrices,
               accept: Acceptor, *, lag: int = 1,
               observe: Callable[[Personality], float] | None = None) -> list[Interval]:
    """Trade ``count`` intervals from ``first``; each interval is metered ``lag`` intervals after it is planned."""
    out: list[Interval] = []
    for k in range(count + lag):
        if k < count:
            start = first + step * k
            record = Interval(start, device.plan(start, step, band))
            for need in record.needs:
                price = accept(start, need)
                if price is not None:
                    device.on_transaction(start, need.side, need.quantity_kwh, price)
                    record.bought_kwh += need.quantity_kwh
            out.append(record)
        if k >= lag:
            record = out[k - lag]
            if observe is not None:
                record.before = observe(device)
            record.metered = device.metered(record.start, step)
            if observe is not None:
                record.after = observe(device)
    return out
