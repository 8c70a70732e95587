"""A small simulated market for personality tests, in the runtime's order (no VTN).

Per interval ``X``: ``plan(X)``; the market accepts some of the needs (:data:`Policy`) and the personality
books them (``on_transaction``) and sees the clearing price (``on_price``); then ``metered(X - 1)`` — the
runtime plans an interval before it meters the one before it. The last interval is metered at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import Metered, Need, Personality

#: (interval start, need, clearing price or None) -> the kWh the market accepts of the need
Policy = Callable[[datetime, Need, float | None], float]


def accept_all(start: datetime, need: Need, price: float | None) -> float:
    return need.quantity_kwh


def accept_none(start: datetime, need: Need, price: float | None) -> float:
    return 0.0


def accept_at_price(start: datetime, need: Need, price: float | None) -> float:
    """A uniform-price market: a bid at or above the price and an offer at or below it clear in full."""
    if price is None:
        return 0.0
    ok = need.limit_price >= price if need.side is Side.BUY else need.limit_price <= price
    return need.quantity_kwh if ok else 0.0


@dataclass
class Step:
    start: datetime
    needs: list[Need]
    #: (side, kWh, price) the market accepted
    trades: list[tuple[Side, float, float]] = field(default_factory=list)
    price: float | None = None
    metered: Metered = field(default_factory=Metered)
    #: the personality's state of charge and ``state`` after this interval was metered
    soc_after: float | None = None
    state_after: object = None

    def bought(self) -> float:
        return sum(q for side, q, _ in self.trades if side is Side.BUY)

    def sold(self) -> float:
        return sum(q for side, q, _ in self.trades if side is Side.SELL)


def run_market(device: Personality, start: datetime, intervals: int, duration: timedelta, band: ReservePrices,
               policy: Policy, *, seed: int = 0,
               prices: Callable[[datetime], float] | None = None) -> list[Step]:
    """Trade ``intervals`` intervals from ``start``; clearing prices are uniform in the band (seeded) unless
    ``prices`` gives them."""
    rng = np.random.default_rng(seed)
    steps: list[Step] = []
    for k in range(intervals + 1):
        if k < intervals:
            x = start + duration * k
            price = prices(x) if prices is not None else float(rng.uniform(band.grid_sell, band.grid_buy))
            step = Step(x, device.plan(x, duration, band), price=price)
            for need in step.needs:
                quantity = policy(x, need, price)
                if quantity > 0:
                    agreed = price if price is not None else need.limit_price
                    device.on_transaction(x, need.side, quantity, agreed)
                    step.trades.append((need.side, quantity, agreed))
            device.on_price(x, price)
            steps.append(step)
        if k > 0:
            done = steps[k - 1]
            done.metered = device.metered(done.start, duration)
            done.soc_after = device.state_of_charge
            done.state_after = getattr(device, "state", None)
    return steps
