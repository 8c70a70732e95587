"""Adaptive-aggressiveness (AA) bidding as the seed paper uses it (Vytelingum et al. 2008, adapted).

Every agent has an aggressiveness ``r`` in ``[-1, 1]`` and bids relative to a reference price, the current
market clearing price ``p`` (MCP, equation (1) of the paper). The price band is the paper's: the minimum
price is the grid's buying price ``m = P_gs`` ("minimum ask"), the maximum price the grid's selling price
``M = P_gb`` ("maximum ask"). Shape function, with the paper's ``theta = 2``::

    g(x) = (exp(theta * x) - 1) / (exp(theta) - 1),   x in [0, 1],   g(0) = 0, g(1) = 1

so ``g(-r)`` for ``r < 0`` is the paper's ``(e^{-2r} - 1)/(e^2 - 1)`` and ``g(r)`` for ``r > 0`` its
``(e^{2r} - 1)/(e^2 - 1)``.

The paper's text is ambiguous; the interpretations chosen here
------------------------------------------------------------------

**1. The bid curve (``AAVariant.TEXT``, the default).** The text and Fig. 7 say: ``r = 0`` bids the MCP,
``r = +1`` bids the own limit (a buyer its buy limit ``l``, a seller its sell limit ``c``), ``r = -1`` bids
for maximum profit (a buyer the minimum ask ``m``, a seller the maximum ask ``M``). Equations (2) and (3) as
printed do not do this (see 2.), so the default is the monotone curve through those three points, with the
printed exponential terms as its shape (this is also the form of Vytelingum's original AA with the price
floor 0 replaced by ``m`` and the ceiling by ``M``)::

    intramarginal buyer (l >= p):    r <= 0:  B = p - (p - m) * g(-r)        r >= 0:  B = p + (l - p) * g(r)
    extramarginal buyer (l <  p):    r <= 0:  B = l - (l - m) * g(-r)        r >= 0:  B = l
    intramarginal seller (c <= p):   r <= 0:  A = p + (M - p) * g(-r)        r >= 0:  A = p - (p - c) * g(r)
    extramarginal seller (c >  p):   r <= 0:  A = c + (M - c) * g(-r)        r >= 0:  A = c

The paper only treats intramarginal bidders ("we only deal with intramarginal buyers and sellers"); the
extramarginal rows (an agent whose limit is on the wrong side of the MCP, which can happen in the general
crossing mode) follow Vytelingum: never beyond the own limit, and less than the limit when passive. A
buyer's bid rises and a seller's ask falls monotonically with ``r``; the reference price is first clipped
into ``[m, M]``; the result is clipped to ``[m, l]`` (buyers) or ``[c, M]`` (sellers), which only removes
floating-point rounding.

**2. The printed equations (``AAVariant.PRINTED``).** Kept for comparison, exactly as typeset, with the
symbols read as: for a buyer, ``c`` ("the sell limit") is the minimum ask ``m`` and ``l`` its own buy limit;
for a seller, ``c`` is its own sell limit and ``l`` ("the buy limit") the maximum ask ``M``::

    buyer  (2):   r <  0:  B = c + (p - c) * g(-r)           r >= 0:  B = p + (l - p) * (1 - g(r))
    seller (3):   r <  0:  A = p + (l - p) * (1 - g(-r))     r >= 0:  A = c + (p - c) * g(r)

(the printed intervals are open; ``r = 0`` is given to the second branch and ``r = -1`` to the first). These
return the MCP at both ``r = -1`` and ``r = +1`` and jump at ``r = 0`` (a buyer from ``m`` to ``l``),
contradicting the text and Fig. 7; :func:`aa_prices` with this variant shows it (see the tests). The same
clipping to the admissible side of the limit applies.

**3. The learning rules (Algorithm 1).** After each clearing every agent updates ``r`` by one step:

* ``step`` (default 0.1): the size of one change of ``r``; the result is clipped to ``[-1, 1]``. The paper
  gives no step size.
* A buyer **must be more aggressive** (``r += step``) if ``demand < supply`` and its bid ``< MCP``
  (Algorithm 1, line 2, as printed).
* A seller **must be more aggressive** under ``SellerRule.SYMMETRIC`` (default) if ``demand > supply`` and
  its ask ``> MCP``: the buyer line mirrored. As printed (``SellerRule.PRINTED``) the condition is
  ``demand > supply`` and ask ``< MCP``, which describes a seller whose ask is already accepted.
* Demand and supply are the total quantities bid and offered in the interval (fixed for the period).
* If nothing traded (no MCP), every agent must be more aggressive: every bid was rejected.
* Otherwise the agent is **free**. The paper: "they can choose whether to continue being passive or become
  more aggressive". ``FreeMove`` names what a free agent does:
  ``KEEP_OR_MORE`` (default, the paper's sentence): with probability ``free_probability`` (default 0.5)
  ``r += step``, else ``r`` is kept; ``KEEP``: ``r`` unchanged (deterministic); ``RANDOM_WALK``:
  ``r += step * U(-1, 1)``; ``LESS_AGGRESSIVE``: ``r -= step`` (Vytelingum's rule for a bidder that traded).
  Random moves draw from the ``numpy.random.Generator`` passed in, one number per agent per update.

Note: Section IV of the paper says that when demand far exceeds supply buyers' ``r`` trends to 1. Under
Algorithm 1 as printed buyers are then *free*, so that drift can only come from the free move; with
``KEEP_OR_MORE`` it does.

The round procedure (initial bids, round limit, settled tolerance, initial ``r``) is in
:mod:`transactive.market.strategies.rounds`; its parameters live in :class:`AAParams` too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from transactive.market.auction import ReservePrices
from transactive.market.orders import BoolArray, FloatArray, MarketError
from transactive.market.strategies._common import as_columns, check_limits

__all__ = ["AAParams", "AAVariant", "FreeMove", "SellerRule", "aa_prices", "shape", "update_aggressiveness"]


class AAVariant(StrEnum):
    TEXT = "text"  #: the monotone curve the text and Fig. 7 describe (default)
    PRINTED = "printed"  #: equations (2) and (3) exactly as typeset


class SellerRule(StrEnum):
    SYMMETRIC = "symmetric"  #: seller must be more aggressive if demand > supply and ask > MCP (default)
    PRINTED = "printed"  #: as typeset: demand > supply and ask < MCP


class FreeMove(StrEnum):
    KEEP_OR_MORE = "keep-or-more"  #: keep r or, with probability free_probability, r += step (default)
    KEEP = "keep"  #: r unchanged
    RANDOM_WALK = "random-walk"  #: r += step * U(-1, 1)
    LESS_AGGRESSIVE = "less-aggressive"  #: r -= step


@dataclass(frozen=True, slots=True)
class AAParams:
    """Every parameter of AA bidding and of the rounds procedure; the paper states none of the numbers."""

    variant: AAVariant = AAVariant.TEXT
    seller_rule: SellerRule = SellerRule.SYMMETRIC
    free_move: FreeMove = FreeMove.KEEP_OR_MORE
    #: probability that a free agent becomes more aggressive (FreeMove.KEEP_OR_MORE only)
    free_probability: float = 0.5
    #: size of one change of r
    step: float = 0.1
    #: the exponential shape of the bid curve; 2 in the paper's equations (2), (3)
    theta: float = 2.0
    #: aggressiveness every agent starts with (rounds.py)
    initial_r: float = 0.0
    #: most clearing rounds per interval, the initial one included (rounds.py)
    max_rounds: int = 20
    #: the price has settled when |MCP_k - MCP_(k-1)| < tolerance (money per kWh; rounds.py)
    tolerance: float = 1e-4

    def __post_init__(self) -> None:
        object.__setattr__(self, "variant", AAVariant(self.variant))
        object.__setattr__(self, "seller_rule", SellerRule(self.seller_rule))
        object.__setattr__(self, "free_move", FreeMove(self.free_move))
        if not 0.0 <= self.free_probability <= 1.0:
            raise MarketError("free_probability must be in [0, 1]", field="free_probability")
        if not (math.isfinite(self.step) and self.step > 0):
            raise MarketError("step must be a positive number", field="step")
        if not (math.isfinite(self.theta) and self.theta > 0):
            raise MarketError("theta must be a positive number", field="theta")
        if not -1.0 <= self.initial_r <= 1.0:
            raise MarketError("initial_r must be in [-1, 1]", field="initial_r")
        if self.max_rounds < 1:
            raise MarketError("max_rounds must be at least 1", field="max_rounds")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise MarketError("tolerance must be a non-negative number", field="tolerance")


def shape(x: Any, theta: float = 2.0) -> FloatArray:
    """``g(x) = (exp(theta x) - 1) / (exp(theta) - 1)``: 0 at x = 0, 1 at x = 1, convex."""
    return np.asarray(np.expm1(theta * np.asarray(x, dtype=np.float64)) / math.expm1(theta), dtype=np.float64)


def _check_r(r: FloatArray) -> None:
    bad = ~np.isfinite(r) | (r < -1.0) | (r > 1.0)
    if bad.any():
        i = int(np.argmax(bad))
        raise MarketError(f"agent {i}: aggressiveness must be in [-1, 1], not {float(r[i])}", field="r", index=i)


def aa_prices(
    r: Any,
    is_buy: Any,
    limit: Any,
    mcp: float,
    band: ReservePrices,
    *,
    variant: AAVariant | str = AAVariant.TEXT,
    theta: float = 2.0,
) -> FloatArray:
    """The AA bid (buyers) or ask (sellers) of each agent for aggressiveness ``r`` and reference price ``mcp``.

    ``r``, ``is_buy`` and ``limit`` broadcast to one length. See the module docstring for the formulas.
    """
    buy, lim = as_columns(is_buy, limit)
    rr = np.atleast_1d(np.asarray(r, dtype=np.float64))
    rr, buy, lim = np.broadcast_arrays(rr, buy, lim)
    rr, buy, lim = np.array(rr, dtype=np.float64), np.array(buy, dtype=np.bool_), np.array(lim, dtype=np.float64)
    check_limits(buy, lim, band)
    _check_r(rr)
    if not math.isfinite(mcp):
        raise MarketError("the reference price (MCP) must be finite", field="mcp")
    m, big_m = band.grid_sell, band.grid_buy
    p = min(max(float(mcp), m), big_m)
    neg = rr < 0
    g_pos = shape(np.maximum(rr, 0.0), theta)
    g_neg = shape(np.maximum(-rr, 0.0), theta)
    if AAVariant(variant) is AAVariant.TEXT:
        bid = _text_buyer(neg, g_pos, g_neg, lim, p, m)
        ask = _text_seller(neg, g_pos, g_neg, lim, p, big_m)
    else:
        bid = np.where(neg, m + (p - m) * g_neg, p + (lim - p) * (1.0 - g_pos))
        ask = np.where(neg, p + (big_m - p) * (1.0 - g_neg), lim + (p - lim) * g_pos)
    return np.where(buy, np.clip(bid, m, lim), np.clip(ask, lim, big_m))


def _text_buyer(neg: BoolArray, g_pos: FloatArray, g_neg: FloatArray, lim: FloatArray, p: float,
                m: float) -> FloatArray:
    intra = lim >= p
    passive = np.where(intra, p - (p - m) * g_neg, lim - (lim - m) * g_neg)
    active = np.where(intra, p + (lim - p) * g_pos, lim)
    return np.where(neg, passive, active)


def _text_seller(neg: BoolArray, g_pos: FloatArray, g_neg: FloatArray, lim: FloatArray, p: float,
                 big_m: float) -> FloatArray:
    intra = lim <= p
    passive = np.where(intra, p + (big_m - p) * g_neg, lim + (big_m - lim) * g_neg)
    active = np.where(intra, p - (p - lim) * g_pos, lim)
    return np.where(neg, passive, active)


def update_aggressiveness(
    r: Any,
    is_buy: Any,
    bids: Any,
    mcp: float | None,
    demand: float,
    supply: float,
    params: AAParams,
    rng: np.random.Generator,
) -> FloatArray:
    """Algorithm 1: the next aggressiveness of each agent after a clearing at ``mcp``.

    ``bids`` are the prices the agents just bid or asked; ``demand`` and ``supply`` the interval's total
    quantities. Returns a new array (``r`` is not modified); ``rng`` is used only by the random free moves
    (one draw per agent).
    """
    buy, price = as_columns(is_buy, bids)
    rr = np.array(np.broadcast_to(np.asarray(r, dtype=np.float64), buy.shape), dtype=np.float64)
    _check_r(rr)
    step = params.step
    if mcp is None:
        forced = np.ones(buy.shape, dtype=np.bool_)
    else:
        buyer_forced = buy & (demand < supply) & (price < mcp)
        if params.seller_rule is SellerRule.SYMMETRIC:
            seller_forced = ~buy & (demand > supply) & (price > mcp)
        else:
            seller_forced = ~buy & (demand > supply) & (price < mcp)
        forced = buyer_forced | seller_forced
    move = params.free_move
    free: FloatArray
    if move is FreeMove.KEEP:
        free = np.zeros(rr.shape)
    elif move is FreeMove.KEEP_OR_MORE:
        free = np.where(np.asarray(rng.random(rr.shape[0])) < params.free_probability, step, 0.0)
    elif move is FreeMove.RANDOM_WALK:
        free = step * np.asarray(rng.uniform(-1.0, 1.0, rr.shape[0]), dtype=np.float64)
    else:
        free = np.full(rr.shape, -step)
    return np.clip(np.where(forced, rr + step, rr + free), -1.0, 1.0)
