"""A small simulated market for personality tests: the runtime's order of calls, without a VTN.

Per interval ``X`` (in time order) the loop calls ``plan(X)``, lets ``accept`` decide which of the needs
clear (and at what price), books them with ``on_transaction``, tells the device the interval's clearing
price (``on_price``, when the loop has one) and only then meters the interval ``lag`` intervals back, as the
runtime does (``plan(X)`` comes before ``metered(X - 1)``).

Clearing prices: ``prices(start)`` when given, else uniform over the band from ``seed`` when given, else none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import Metered, Need, Personality

#: (interval start, need, the interval's clearing price or None) -> the price the need clears at, or None
Acceptor = Callable[[datetime, Need, float | None], float | None]


@dataclass
class Step:
    """What happened in one simulated interval."""

    start: datetime
    needs: list[Need]
    #: the interval's clearing price, when the loop has one
    price: float | None = None
    #: (side, kWh, price) the market accepted
    trades: list[tuple[Side, float, float]] = field(default_factory=list)
    metered: Metered = field(default_factory=Metered)
    #: ``observe(device)`` just before and just after the interval was metered (NaN without ``observe``)
    before: float = float("nan")
    after: float = float("nan")
    #: the personality's state of charge and ``state`` after this interval was metered
    soc_after: float | None = None
    state_after: object = None

    @property
    def bought_kwh(self) -> float:
        return sum(q for side, q, _ in self.trades if side is Side.BUY)

    @property
    def sold_kwh(self) -> float:
        return sum(q for side, q, _ in self.trades if side is Side.SELL)


def accept_all(start: datetime, need: Need, price: float | None = None) -> float | None:
    """Everything clears: at the interval's price, or at the need's own limit when there is none."""
    return need.limit_price if price is None else price


def accept_none(start: datetime, need: Need, price: float | None = None) -> float | None:
    return None


def accept_at_price(start: datetime, need: Need, price: float | None = None) -> float | None:
    """A uniform-price market: a bid at or above the price and an offer at or below it clear in full."""
    if price is None:
        return None
    ok = need.limit_price >= price if need.side is Side.BUY else need.limit_price <= price
    return price if ok else None


def uniform_prices(band: ReservePrices, seed: int) -> Acceptor:
    """A uniform-price market of its own: a clearing price per interval, drawn uniformly over the band (and a
    bit beyond either end); a bid clears when its limit is at or above it."""
    rng = np.random.default_rng(seed)
    prices: dict[datetime, float] = {}
    spread = band.grid_buy - band.grid_sell

    def accept(start: datetime, need: Need, price: float | None = None) -> float | None:
        if start not in prices:
            prices[start] = float(rng.uniform(band.grid_sell - 0.1 * spread, band.grid_buy + 0.1 * spread))
        return prices[start] if need.limit_price >= prices[start] else None

    return accept


def run_market(device: Personality, first: datetime, step: timedelta, count: int, band: ReservePrices,
               accept: Acceptor, *, lag: int = 1, observe: Callable[[Personality], float] | None = None,
               prices: Callable[[datetime], float] | None = None, seed: int | None = None) -> list[Step]:
    """Trade ``count`` intervals from ``first``; each interval is metered ``lag`` intervals after it is planned."""
    rng = np.random.default_rng(seed) if seed is not None else None
    out: list[Step] = []
    for k in range(count + lag):
        if k < count:
            start = first + step * k
            price = (prices(start) if prices is not None else
                     float(rng.uniform(band.grid_sell, band.grid_buy)) if rng is not None else None)
            record = Step(start, device.plan(start, step, band), price=price)
            for need in record.needs:
                agreed = accept(start, need, price)
                if agreed is not None:
                    device.on_transaction(start, need.side, need.quantity_kwh, agreed)
                    record.trades.append((need.side, need.quantity_kwh, agreed))
            if price is not None:
                device.on_price(start, price)
            out.append(record)
        if k >= lag:
            record = out[k - lag]
            if observe is not None:
                record.before = observe(device)
            record.metered = device.metered(record.start, step)
            record.soc_after = device.state_of_charge
            record.state_after = getattr(device, "state", None)
            if observe is not None:
                record.after = observe(device)
    return out
