"""The paper's bidding procedure for one delivery interval: bid, clear, learn, rebid, until the price settles.

Section III-B / IV of the seed paper: "the script places the original bids randomly before updating the bid
based on Algorithm 1 and (2) and (3)". :func:`run_rounds` does, for one interval:

1. **Initial bids**: the given ``initial_bids`` (any rule: :func:`~.fixed.fixed_prices`, a previous
   interval's bids, ...) or, by default, ZI-C random bids (:func:`~.zic.zic_prices`) drawn from ``rng``.
   Every agent starts with aggressiveness ``params.initial_r`` (default 0, neutral; the paper does not say),
   or, with ``initial_r=None``, with its own: the ``r`` that gives back its initial bid around the first MCP
   (:func:`~.aa.aggressiveness_for`).
2. **Clear** the bids with the uniform-price auction (:func:`transactive.market.auction.clear`, price by
   equation (1)), with the band as reserve prices.
3. Stop if the price has **settled**, ``|MCP_k - MCP_(k-1)| < params.tolerance`` (two rounds without any
   trade also count as settled; with ``params.stop`` ``CONSENSUS`` there must be a trade and the accepted
   bids must cross the accepted asks), if ``params.max_rounds`` clearings have been done (the initial one
   included), or if one side of the market is empty (nothing can ever match).
4. **Learn**: every agent updates ``r`` by Algorithm 1 (:func:`~.aa.update_aggressiveness`), told whether
   its order was completely filled (``FreeMove.OUTCOME`` learns from that).
5. **Rebid** with the AA curve (:func:`~.aa.aa_prices`) around the last MCP; if the last round traded
   nothing, around the last MCP there was, or the middle of the band if there never was one. Go to 2.

Two modes:

* the paper's **experiment mode**, ``matching="full-overlap"``: make the limits the grid prices
  (:func:`grid_limits`: buyers ``P_gb``, sellers ``P_gs``); all of ``min(demand, supply)`` is matched every
  round and the bids only set the price;
* the **general mode**, ``matching="crossing"`` (default): agents have their own limits in the band and only
  crossing bids trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from transactive.market.auction import ClearingResult, Matching, ReservePrices, TieRule, clear
from transactive.market.orders import FloatArray, MarketError, Orders
from transactive.market.strategies._common import check_limits
from transactive.market.strategies.aa import (
    AAParams,
    StopRule,
    aa_prices,
    aggressiveness_for,
    filled_orders,
    update_aggressiveness,
)
from transactive.market.strategies.zic import zic_prices

__all__ = ["RoundsResult", "crossed", "grid_limits", "run_rounds"]


@dataclass(frozen=True, slots=True, eq=False)
class RoundsResult:
    """The outcome of one interval's bidding rounds."""

    #: the final clearing (fills and prices per agent, in the agents' order)
    result: ClearingResult
    #: the bids of the final round (the agents' orders with their bid prices)
    bids: Orders
    #: the MCP of every round, the initial one first (None for a round without trade)
    prices: tuple[float | None, ...]
    #: the aggressiveness each agent bid the final round with
    aggressiveness: FloatArray
    #: number of clearings done
    rounds: int
    #: True if the price settled (or nothing could trade) before the round limit stopped the procedure
    settled: bool


def grid_limits(is_buy: Any, quantity: Any, band: ReservePrices, ids: Any = None) -> Orders:
    """The paper's experiment-mode limit orders: buyers' limits ``P_gb``, sellers' ``P_gs``."""
    buy = np.asarray(is_buy, dtype=np.bool_)
    return Orders.from_columns(
        is_buy=buy, price=np.where(buy, band.grid_buy, band.grid_sell), quantity=quantity, ids=ids
    )


def _settled(before: float | None, now: float | None, tolerance: float) -> bool:
    if before is None or now is None:
        return before is None and now is None
    return abs(now - before) < tolerance


def crossed(result: ClearingResult) -> bool:
    """The accepted bids cross the accepted asks (lowest accepted bid >= highest accepted ask); True without trade."""
    lab, hao = result.lowest_accepted_bid, result.highest_accepted_offer
    return lab is None or hao is None or lab >= hao


def run_rounds(
    limits: Orders,
    *,
    band: ReservePrices,
    rng: np.random.Generator,
    params: AAParams = AAParams(),
    matching: Matching | str = Matching.CROSSING,
    tie_rule: TieRule | str = TieRule.TIME,
    initial_bids: Any = None,
) -> RoundsResult:
    """Run the paper's AA bidding rounds for one interval. ``limits`` holds each agent's limit price and quantity.

    Deterministic given the state of ``rng`` (used for the ZI-C initial bids and random free moves).
    """
    is_buy = limits.is_buy
    lim = limits.price
    check_limits(is_buy, lim, band)
    if initial_bids is None:
        bids = zic_prices(is_buy, lim, band, rng)
    else:
        bids = np.asarray(initial_bids, dtype=np.float64)
        if bids.shape != lim.shape:
            raise MarketError("initial_bids must have one price per agent", field="initial_bids")
        wrong = np.where(is_buy, bids > lim, bids < lim) | (bids < band.grid_sell) | (bids > band.grid_buy)
        if wrong.any():
            i = int(np.argmax(wrong))
            raise MarketError(f"agent {i}: initial bid beyond its limit or the band", field="initial_bids", index=i)
    r = np.full(lim.shape, 0.0 if params.initial_r is None else params.initial_r)
    demand = float(limits.quantity[is_buy].sum())
    supply = float(limits.quantity[~is_buy].sum())
    one_sided = not (is_buy.any() and (~is_buy).any())
    reference = (band.grid_sell + band.grid_buy) / 2.0
    prices: list[float | None] = []
    while True:
        orders = Orders(is_buy, bids, limits.quantity, limits.time, limits.ids)
        result = clear(orders, matching=matching, tie_rule=tie_rule, reserve=band)
        prices.append(result.price)
        if len(prices) == 1 and params.initial_r is None:
            first = reference if result.price is None else result.price
            r = aggressiveness_for(bids, is_buy, lim, first, band, variant=params.variant, theta=params.theta)
        agreed = params.stop is StopRule.SETTLED or (result.price is not None and crossed(result))
        if one_sided or (len(prices) > 1 and agreed and _settled(prices[-2], prices[-1], params.tolerance)):
            settled = True
            break
        if len(prices) >= params.max_rounds:
            settled = False
            break
        if result.price is not None:
            reference = result.price
        filled = filled_orders(result.fills, limits.quantity)
        r = update_aggressiveness(r, is_buy, bids, result.price, demand, supply, params, rng, filled=filled)
        bids = aa_prices(r, is_buy, lim, reference, band, variant=params.variant, theta=params.theta)
    return RoundsResult(result, orders, tuple(prices), r, len(prices), settled)
