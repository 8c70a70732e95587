"""Pricing adapters: a VEN strategy turns a personality's limit price into the price it tenders at.

Each adapter wraps one of the market engine's strategies (:mod:`transactive.market.strategies`) for a
single VEN bidding one need at a time (:data:`STRATEGIES`, by ``--strategy`` name):

* ``fixed`` bids the middle of the band clipped to the limit (:func:`~transactive.market.strategies.fixed_prices`);
* ``zic`` a ZI-C random price between the band's edge and the limit
  (:func:`~transactive.market.strategies.zic_prices`, seeded per interval);
* ``aa`` the adaptive-aggressiveness curve around the last clearing price
  (:func:`~transactive.market.strategies.aa_prices`). A single VEN does not see the market's demand and
  supply totals, so its AA learning is Vytelingum's per-agent rule: not matched → more aggressive
  (``r += step``), matched → less aggressive (``r -= step``), clipped to ``[-1, 1]``, one ``r`` per side.

Add a strategy by subclassing :class:`Pricing` and listing it in :data:`STRATEGIES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.market.strategies import aa_prices, fixed_prices, zic_prices
from transactive.ven.personalities import Need, interval_rng

__all__ = ["STRATEGIES", "AaPricing", "FixedPricing", "Pricing", "ZicPricing", "create_pricing"]


class Pricing(ABC):
    """Turns a need's limit price into a bid; may learn from the outcome."""

    name: ClassVar[str]

    @abstractmethod
    def price(self, need: Need, band: ReservePrices, interval: datetime) -> float:
        """The bid (buy) or ask (sell) for ``need`` in the interval starting ``interval``."""

    def observe(self, side: Side, matched: bool, clearing_price: float | None) -> None:  # noqa: B027
        """The outcome of a tender on ``side`` (default: nothing learned)."""


class FixedPricing(Pricing):
    """Bid ``price`` (default: the middle of the band), never beyond the own limit."""

    name: ClassVar[str] = "fixed"

    def __init__(self, price: float | None = None) -> None:
        self.fixed = price

    def price(self, need: Need, band: ReservePrices, interval: datetime) -> float:
        p = (band.grid_buy + band.grid_sell) / 2 if self.fixed is None else self.fixed
        return float(fixed_prices(p, need.side is Side.BUY, _in_band(need.limit_price, band), band)[0])


class ZicPricing(Pricing):
    """Zero-intelligence constrained: uniform between the band's edge and the own limit (seeded per interval)."""

    name: ClassVar[str] = "zic"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def price(self, need: Need, band: ReservePrices, interval: datetime) -> float:
        rng = interval_rng(self.seed, interval, f"zic-{need.side.value}")
        return float(zic_prices(need.side is Side.BUY, _in_band(need.limit_price, band), band, rng)[0])


class AaPricing(Pricing):
    """Adaptive aggressiveness around the last clearing price (see the module docstring for the learning)."""

    name: ClassVar[str] = "aa"

    def __init__(self, step: float = 0.1, initial_r: float = 0.0) -> None:
        self.step = step
        self.r = {Side.BUY: initial_r, Side.SELL: initial_r}
        self.reference: float | None = None

    def price(self, need: Need, band: ReservePrices, interval: datetime) -> float:
        mcp = self.reference if self.reference is not None else (band.grid_buy + band.grid_sell) / 2
        return float(aa_prices(self.r[need.side], need.side is Side.BUY, _in_band(need.limit_price, band), mcp,
                               band)[0])

    def observe(self, side: Side, matched: bool, clearing_price: float | None) -> None:
        if clearing_price is not None:
            self.reference = clearing_price
        r = self.r[side] + (-self.step if matched else self.step)
        self.r[side] = float(np.clip(r, -1.0, 1.0))


def _in_band(limit: float, band: ReservePrices) -> float:
    return min(max(limit, band.grid_sell), band.grid_buy)


#: ``--strategy`` name -> class
STRATEGIES: dict[str, type[Pricing]] = {cls.name: cls for cls in (FixedPricing, ZicPricing, AaPricing)}


def create_pricing(name: str, *, seed: int = 0) -> Pricing:
    """A strategy by name (``ValueError`` naming the known ones otherwise)."""
    if name == "fixed":
        return FixedPricing()
    if name == "zic":
        return ZicPricing(seed)
    if name == "aa":
        return AaPricing()
    raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
