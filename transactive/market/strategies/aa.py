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
* Who **must be more aggressive** (``r += step``) is named by :class:`LearningRule`:

  ``PRINTED``: as typeset: a buyer if ``demand < supply`` and its bid ``< MCP`` (line 2), a seller if
  ``demand > supply`` and its ask ``< MCP`` (line 8, which describes a seller whose ask is already accepted);
  ``SYMMETRIC`` (the library default): the printed buyer line, and the seller line as its mirror image,
  ``demand > supply`` and ask ``> MCP``: the short side's uncompetitive agents are pushed towards the long
  side's prices, as in a crossing market where there is more to trade at a better price;
  ``TEXT``: what Section IV says the rules do, "demand far exceeds supply [...] makes the buyers more
  aggressive (r trends to 1)": the **long** side's uncompetitive agents, who risk being left unmatched, are
  forced: a buyer if ``demand > supply`` and its bid ``< MCP``, a seller if ``demand < supply`` and its ask
  ``> MCP``. Under ``PRINTED`` and ``SYMMETRIC`` a scarce seller is pushed to ask less when demand far exceeds
  supply, so the price falls exactly when the paper reports it rising; ``TEXT`` is the reading the paper
  reproduction defaults to (:meth:`AAParams.paper`).
* Demand and supply are the total quantities bid and offered in the interval (fixed for the period).
* If nothing traded (no MCP), every agent must be more aggressive: every bid was rejected.
* Otherwise the agent is **free**. The paper: "they can choose whether to continue being passive or become
  more aggressive". ``FreeMove`` names what a free agent does:
  ``KEEP_OR_MORE`` (default, the paper's sentence): with probability ``free_probability`` (default 0.5)
  ``r += step``, else ``r`` is kept; ``KEEP``: ``r`` unchanged (deterministic); ``RANDOM_WALK``:
  ``r += step * U(-1, 1)``; ``LESS_AGGRESSIVE``: ``r -= step`` (Vytelingum's rule for a bidder that traded).
  ``OUTCOME``: AA's own short-term learning read from the agent's last round: an agent whose order was not
  completely filled becomes more aggressive, one that was filled keeps ``r`` ("continue being passive").
  Random moves draw from the ``numpy.random.Generator`` passed in, one number per agent per update.

**4. The initial aggressiveness.** ``initial_r`` is one number for every agent (default 0), or ``None``: each
agent's own, the ``r`` for which the bid curve around the first MCP gives back the agent's own initial
(random) bid (:func:`aggressiveness_for`, the inverse of :func:`aa_prices`). The paper's script "places the
original bids randomly"; an agent that bid low is a passive buyer, not a neutral one.

**5. The stop rule** (:class:`StopRule`, used by :mod:`.rounds`): ``SETTLED`` (default) stops when the MCP
moved less than ``tolerance`` (two rounds without trade count as settled); ``CONSENSUS`` also requires a
trade in which the accepted bids cross the accepted asks (lowest accepted bid >= highest accepted ask),
which in the full-overlap mode is not automatic: there all of min(demand, supply) is matched whatever the
prices, and a settled MCP between uncrossed bids is the "split the difference" of equation (1), not a
consensus.

Note: Section IV of the paper says that when demand far exceeds supply buyers' ``r`` trends to 1. Under
Algorithm 1 as printed buyers are then *free*, so that drift can only come from the free move (with
``KEEP_OR_MORE`` it does, but as noise that moves the price towards mid-band whichever side is short);
under ``LearningRule.TEXT`` and ``FreeMove.OUTCOME`` it follows from the rules themselves.

The round procedure (initial bids, round limit, settled tolerance, initial ``r``) is in
:mod:`transactive.market.strategies.rounds`; its parameters live in :class:`AAParams` too.
:meth:`AAParams.paper` is the set the paper reproduction defaults to (``docs/paper-iota.md`` argues for each).

The array functions :func:`curve_prices`, :func:`aggressiveness_for` and :func:`next_aggressiveness` are the
unchecked, broadcasting cores of the checked functions; :mod:`.batch` runs many auctions at once with them.
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

__all__ = [
    "AAParams",
    "AAVariant",
    "FreeMove",
    "LearningRule",
    "StopRule",
    "aa_prices",
    "aggressiveness_for",
    "curve_prices",
    "filled_orders",
    "next_aggressiveness",
    "shape",
    "update_aggressiveness",
]


class AAVariant(StrEnum):
    TEXT = "text"  #: the monotone curve the text and Fig. 7 describe (default)
    PRINTED = "printed"  #: equations (2) and (3) exactly as typeset


class LearningRule(StrEnum):
    """Who Algorithm 1 forces to be more aggressive (the module docstring gives the reasons)."""

    SYMMETRIC = "symmetric"  #: buyer: demand < supply and bid < MCP; seller: demand > supply and ask > MCP
    PRINTED = "printed"  #: as typeset: buyer: demand < supply and bid < MCP; seller: demand > supply and ask < MCP
    TEXT = "text"  #: Section IV: buyer: demand > supply and bid < MCP; seller: demand < supply and ask > MCP


class FreeMove(StrEnum):
    KEEP_OR_MORE = "keep-or-more"  #: keep r or, with probability free_probability, r += step (default)
    KEEP = "keep"  #: r unchanged
    RANDOM_WALK = "random-walk"  #: r += step * U(-1, 1)
    LESS_AGGRESSIVE = "less-aggressive"  #: r -= step
    OUTCOME = "outcome"  #: r += step if the agent's order was not completely filled, else r kept


class StopRule(StrEnum):
    SETTLED = "settled"  #: stop when the MCP moved less than the tolerance (default)
    CONSENSUS = "consensus"  #: ... and the accepted bids cross the accepted asks


@dataclass(frozen=True, slots=True)
class AAParams:
    """Every parameter of AA bidding and of the rounds procedure; the paper states none of the numbers."""

    variant: AAVariant = AAVariant.TEXT
    #: who Algorithm 1 forces to be more aggressive
    rule: LearningRule = LearningRule.SYMMETRIC
    free_move: FreeMove = FreeMove.KEEP_OR_MORE
    #: probability that a free agent becomes more aggressive (FreeMove.KEEP_OR_MORE only)
    free_probability: float = 0.5
    #: size of one change of r
    step: float = 0.1
    #: the exponential shape of the bid curve; 2 in the paper's equations (2), (3)
    theta: float = 2.0
    #: aggressiveness every agent starts with; None: each agent's own, from its initial bid (rounds.py)
    initial_r: float | None = 0.0
    #: most clearing rounds per interval, the initial one included (rounds.py)
    max_rounds: int = 20
    #: the price has settled when |MCP_k - MCP_(k-1)| < tolerance (money per kWh; rounds.py)
    tolerance: float = 1e-4
    #: when the rounds stop before the round limit (rounds.py)
    stop: StopRule = StopRule.SETTLED

    @classmethod
    def paper(cls, **changes: Any) -> AAParams:
        """The reading of the paper the reproduction defaults to (``docs/paper-iota.md`` gives the reasons).

        The text's bid curve and learning rule, learning from the own outcome, each agent's initial
        aggressiveness from its own random bid, consensus as the stop rule, step 0.1 and at most 30 rounds.
        ``changes`` override single fields.
        """
        base: dict[str, Any] = {
            "variant": AAVariant.TEXT,
            "rule": LearningRule.TEXT,
            "free_move": FreeMove.OUTCOME,
            "step": 0.1,
            "initial_r": None,
            "max_rounds": 30,
            "tolerance": 1e-4,
            "stop": StopRule.CONSENSUS,
        }
        base.update(changes)
        return cls(**base)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variant", AAVariant(self.variant))
        object.__setattr__(self, "rule", LearningRule(self.rule))
        object.__setattr__(self, "free_move", FreeMove(self.free_move))
        object.__setattr__(self, "stop", StopRule(self.stop))
        if not 0.0 <= self.free_probability <= 1.0:
            raise MarketError("free_probability must be in [0, 1]", field="free_probability")
        if not (math.isfinite(self.step) and self.step > 0):
            raise MarketError("step must be a positive number", field="step")
        if not (math.isfinite(self.theta) and self.theta > 0):
            raise MarketError("theta must be a positive number", field="theta")
        if self.initial_r is not None and not -1.0 <= self.initial_r <= 1.0:
            raise MarketError("initial_r must be in [-1, 1] (or None: from each agent's bid)", field="initial_r")
        if self.max_rounds < 1:
            raise MarketError("max_rounds must be at least 1", field="max_rounds")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise MarketError("tolerance must be a non-negative number", field="tolerance")


def shape(x: Any, theta: float = 2.0) -> FloatArray:
    """``g(x) = (exp(theta x) - 1) / (exp(theta) - 1)``: 0 at x = 0, 1 at x = 1, convex."""
    return np.asarray(np.expm1(theta * np.asarray(x, dtype=np.float64)) / math.expm1(theta), dtype=np.float64)


def shape_inverse(y: Any, theta: float = 2.0) -> FloatArray:
    """The inverse of :func:`shape` on ``[0, 1]``: ``log(1 + y (exp(theta) - 1)) / theta``."""
    return np.asarray(np.log1p(np.asarray(y, dtype=np.float64) * math.expm1(theta)) / theta, dtype=np.float64)


def _check_r(r: FloatArray) -> None:
    bad = ~np.isfinite(r) | (r < -1.0) | (r > 1.0)
    if bad.any():
        i = int(np.argmax(bad))
        raise MarketError(f"agent {i}: aggressiveness must be in [-1, 1], not {float(r[i])}", field="r", index=i)


def _columns(mcp: float, *arrays: Any) -> tuple[FloatArray, ...]:
    if not math.isfinite(mcp):
        raise MarketError("the reference price (MCP) must be finite", field="mcp")
    return tuple(np.array(a) for a in np.broadcast_arrays(*(np.atleast_1d(np.asarray(x)) for x in arrays)))


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
    buy0, lim0 = as_columns(is_buy, limit)
    rr, buy_b, lim = _columns(mcp, np.asarray(r, dtype=np.float64), buy0, lim0)
    buy = np.asarray(buy_b, dtype=np.bool_)
    check_limits(buy, lim, band)
    _check_r(rr)
    return curve_prices(rr, buy, lim, mcp, band, variant=variant, theta=theta)


def curve_prices(
    r: FloatArray,
    is_buy: BoolArray,
    limit: FloatArray,
    mcp: Any,
    band: ReservePrices,
    *,
    variant: AAVariant | str = AAVariant.TEXT,
    theta: float = 2.0,
) -> FloatArray:
    """:func:`aa_prices` without the checks, for arrays of any shape; ``mcp`` may be an array that broadcasts."""
    m, big_m = band.grid_sell, band.grid_buy
    p = np.clip(np.asarray(mcp, dtype=np.float64), m, big_m)
    neg = r < 0
    g_pos = shape(np.maximum(r, 0.0), theta)
    g_neg = shape(np.maximum(-r, 0.0), theta)
    if AAVariant(variant) is AAVariant.TEXT:
        intra_b = limit >= p
        bid = np.where(
            neg,
            np.where(intra_b, p - (p - m) * g_neg, limit - (limit - m) * g_neg),
            np.where(intra_b, p + (limit - p) * g_pos, limit),
        )
        intra_s = limit <= p
        ask = np.where(
            neg,
            np.where(intra_s, p + (big_m - p) * g_neg, limit + (big_m - limit) * g_neg),
            np.where(intra_s, p - (p - limit) * g_pos, limit),
        )
    else:
        bid = np.where(neg, m + (p - m) * g_neg, p + (limit - p) * (1.0 - g_pos))
        ask = np.where(neg, p + (big_m - p) * (1.0 - g_neg), limit + (p - limit) * g_pos)
    return np.asarray(np.where(is_buy, np.clip(bid, m, limit), np.clip(ask, limit, big_m)), dtype=np.float64)


def _fraction(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` clipped to [0, 1]; 0 where the span ``den`` is empty."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.asarray(np.clip(out, 0.0, 1.0), dtype=np.float64)


def aggressiveness_for(
    bid: FloatArray,
    is_buy: BoolArray,
    limit: FloatArray,
    mcp: Any,
    band: ReservePrices,
    *,
    variant: AAVariant | str = AAVariant.TEXT,
    theta: float = 2.0,
) -> FloatArray:
    """The aggressiveness that makes :func:`curve_prices` around ``mcp`` give back ``bid``: its inverse.

    Every curve is monotone on each side of ``r = 0``, so the inverse is exact wherever the curve is not
    flat; where it is (an extramarginal agent's ``r >= 0`` all bid the limit, an empty span when the MCP sits
    on a band edge) the ``r`` closest to 0 is returned. No checks; arrays of any shape.
    """
    m, big_m = band.grid_sell, band.grid_buy
    p = np.clip(np.asarray(mcp, dtype=np.float64), m, big_m)
    b = np.asarray(bid, dtype=np.float64)
    inv = shape_inverse
    if AAVariant(variant) is AAVariant.TEXT:
        # buyers: intramarginal (l >= p): B <= p passive, B >= p active; extramarginal: passive below l
        intra_b = limit >= p
        below_b = b < np.where(intra_b, p, limit)
        r_b = np.where(
            below_b,
            -inv(_fraction(np.where(intra_b, p, limit) - b, np.where(intra_b, p, limit) - m), theta),
            np.where(intra_b, inv(_fraction(b - p, limit - p), theta), 0.0),
        )
        intra_s = limit <= p
        above_s = b > np.where(intra_s, p, limit)
        r_s = np.where(
            above_s,
            -inv(_fraction(b - np.where(intra_s, p, limit), big_m - np.where(intra_s, p, limit)), theta),
            np.where(intra_s, inv(_fraction(p - b, p - limit), theta), 0.0),
        )
    else:
        # printed buyer: r < 0 covers [m, p] rising with -r; r >= 0 covers [p, l] falling with r. The curve
        # jumps at r = 0 (from m to l), so a bid on the r < 0 side maps to r < 0 strictly (-tiny, not -0.0)
        tiny = np.finfo(np.float64).tiny
        r_b = np.where(
            b < p,
            np.minimum(-inv(_fraction(b - m, p - m), theta), -tiny),
            inv(1.0 - _fraction(b - p, limit - p), theta),
        )
        # printed seller: r < 0 covers [p, M] falling with -r; r >= 0 covers [c, p] rising with r
        r_s = np.where(
            b > p,
            np.minimum(-inv(1.0 - _fraction(b - p, big_m - p), theta), -tiny),
            inv(_fraction(b - limit, p - limit), theta),
        )
    return np.asarray(np.clip(np.where(is_buy, r_b, r_s), -1.0, 1.0), dtype=np.float64)


def filled_orders(fills: FloatArray, quantity: FloatArray) -> BoolArray:
    """Orders that got all of their quantity (up to floating-point rounding of the partial sums)."""
    return np.asarray(fills >= quantity - 1e-9 * np.maximum(quantity, 1.0), dtype=np.bool_)


def update_aggressiveness(
    r: Any,
    is_buy: Any,
    bids: Any,
    mcp: float | None,
    demand: float,
    supply: float,
    params: AAParams,
    rng: np.random.Generator,
    *,
    filled: Any = None,
) -> FloatArray:
    """Algorithm 1: the next aggressiveness of each agent after a clearing at ``mcp``.

    ``bids`` are the prices the agents just bid or asked; ``demand`` and ``supply`` the interval's total
    quantities; ``filled`` whether each agent's order was completely filled (needed by ``FreeMove.OUTCOME``
    only). Returns a new array (``r`` is not modified); ``rng`` is used only by the random free moves (one
    draw per agent).
    """
    buy, price = as_columns(is_buy, bids)
    rr = np.array(np.broadcast_to(np.asarray(r, dtype=np.float64), buy.shape), dtype=np.float64)
    _check_r(rr)
    done: BoolArray | None = None
    if filled is not None:
        done = np.array(np.broadcast_to(np.asarray(filled, dtype=np.bool_), buy.shape), dtype=np.bool_)
    elif params.free_move is FreeMove.OUTCOME:
        raise MarketError("the outcome free move needs each agent's fill (filled=...)", field="filled")
    draws = None
    if params.free_move is FreeMove.KEEP_OR_MORE:
        draws = np.asarray(rng.random(rr.shape[0]), dtype=np.float64)
    elif params.free_move is FreeMove.RANDOM_WALK:
        draws = np.asarray(rng.uniform(-1.0, 1.0, rr.shape[0]), dtype=np.float64)
    return next_aggressiveness(rr, buy, price, mcp, demand, supply, params, draws=draws, filled=done)


def next_aggressiveness(
    r: FloatArray,
    is_buy: BoolArray,
    bids: FloatArray,
    mcp: Any,
    demand: Any,
    supply: Any,
    params: AAParams,
    *,
    draws: FloatArray | None = None,
    filled: BoolArray | None = None,
) -> FloatArray:
    """:func:`update_aggressiveness` without the checks, for arrays of any shape.

    ``mcp`` (None or NaN: nothing traded), ``demand`` and ``supply`` broadcast against the agents' arrays;
    ``draws`` are the random numbers of the random free moves (uniform [0, 1) for ``KEEP_OR_MORE``, uniform
    [-1, 1) for ``RANDOM_WALK``), ``filled`` the outcome ``OUTCOME`` learns from.
    """
    step = params.step
    price = np.asarray(np.nan if mcp is None else mcp, dtype=np.float64)
    traded = np.isfinite(price)
    d = np.asarray(demand, dtype=np.float64)
    s = np.asarray(supply, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        rule = params.rule
        buyer_forced = is_buy & ((d > s) if rule is LearningRule.TEXT else (d < s)) & (bids < price)
        if rule is LearningRule.PRINTED:
            seller_forced = ~is_buy & (d > s) & (bids < price)
        else:
            seller_forced = ~is_buy & ((d < s) if rule is LearningRule.TEXT else (d > s)) & (bids > price)
    forced = ~traded | buyer_forced | seller_forced
    move = params.free_move
    free: FloatArray
    if move is FreeMove.KEEP:
        free = np.zeros(r.shape)
    elif move is FreeMove.KEEP_OR_MORE:
        free = np.where(_need(draws, "draws") < params.free_probability, step, 0.0)
    elif move is FreeMove.RANDOM_WALK:
        free = step * _need(draws, "draws")
    elif move is FreeMove.OUTCOME:
        free = np.where(_need(filled, "filled"), 0.0, step)
    else:
        free = np.full(r.shape, -step)
    return np.asarray(np.clip(np.where(forced, r + step, r + free), -1.0, 1.0), dtype=np.float64)


def _need(value: Any, name: str) -> Any:
    if value is None:
        raise MarketError(f"this free move needs {name}", field=name)
    return value
