"""The paper's AA bidding rounds for many independent auctions at once (the full-overlap experiment mode).

:func:`~.rounds.run_rounds` runs one auction: about 50 microseconds of numpy per clearing, which is fine for a
market but means minutes for a week of 15-minute rounds, five scenarios and several seeds. Here every
auction is a row of a ``(B, N)`` array (``B`` auctions of at most ``N`` agents; an agent with quantity 0 is
absent from its row) and each step of the procedure (clear, learn, rebid) is one numpy operation over all
the rows that are still bidding. A row stops by the same rules as :func:`~.rounds.run_rounds`, and with the
same initial bids and a deterministic free move a row gives exactly what :func:`~.rounds.run_rounds` gives
for that auction (``tests/market/test_batch_rounds.py`` checks it).

Only the paper's experiment mode is implemented: every buyer's limit is the grid's selling price ``P_gb``
and every seller's the grid's buying price ``P_gs`` (:func:`~.rounds.grid_limits`), all of
``min(demand, supply)`` is matched each round and the bids set the price by equation (1); equal prices rank
by agent position (the time rule of :func:`transactive.market.auction.clear`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from transactive.market.auction import ReservePrices
from transactive.market.orders import BoolArray, FloatArray, MarketError
from transactive.market.strategies.aa import (
    AAParams,
    FreeMove,
    StopRule,
    aggressiveness_for,
    curve_prices,
    filled_orders,
    next_aggressiveness,
)

__all__ = ["BatchClearing", "BatchRounds", "clear_full_overlap", "run_rounds_batch"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class BatchClearing:
    """One uniform-price clearing of every row (full-overlap matching). Arrays are ``(B,)`` or ``(B, N)``."""

    #: the clearing price, equation (1); NaN where nothing was matched
    price: FloatArray
    #: the quantity matched in each row: min(demand, supply)
    matched: FloatArray
    #: the quantity each agent got
    fills: FloatArray
    #: the lowest accepted bid and the highest accepted ask (NaN where nothing was matched)
    lowest_accepted_bid: FloatArray
    highest_accepted_offer: FloatArray

    @property
    def crossed(self) -> BoolArray:
        """Rows whose accepted bids cross the accepted asks (True where nothing was matched)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(~(self.lowest_accepted_bid < self.highest_accepted_offer), dtype=np.bool_)


def _side(prices: FloatArray, quantity: FloatArray, mine: BoolArray, descending: bool) -> tuple[Any, ...]:
    key = np.where(mine, -prices if descending else prices, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    q = np.take_along_axis(np.where(mine, quantity, 0.0), order, axis=1)
    p = np.take_along_axis(prices, order, axis=1)
    cum = np.cumsum(q, axis=1)
    return order, q, p, cum


def _fill(order: Any, q: FloatArray, cum: FloatArray, total: FloatArray) -> tuple[FloatArray, Any]:
    ahead = np.zeros_like(cum)
    ahead[:, 1:] = cum[:, :-1]
    sorted_fills = np.clip(total[:, None] - ahead, 0.0, q)
    fills = np.zeros_like(q)
    np.put_along_axis(fills, order, sorted_fills, axis=1)
    return fills, sorted_fills


def clear_full_overlap(is_buy: BoolArray, prices: FloatArray, quantity: FloatArray) -> BatchClearing:
    """Clear every row: match min(demand, supply), price by equation (1) over the accepted orders."""
    present = quantity > 0
    ob, qb, pb, cb = _side(prices, quantity, is_buy & present, descending=True)
    oo, qo, po, co = _side(prices, quantity, ~is_buy & present, descending=False)
    total = np.minimum(cb[:, -1], co[:, -1])
    fb, sb = _fill(ob, qb, cb, total)
    fo, so = _fill(oo, qo, co, total)
    rows = np.arange(prices.shape[0])
    nb = (sb > 0).sum(axis=1)
    no = (so > 0).sum(axis=1)
    traded = (nb > 0) & (no > 0) & (total > 0)
    lab = np.where(traded, pb[rows, np.maximum(nb - 1, 0)], np.nan)
    hao = np.where(traded, po[rows, np.maximum(no - 1, 0)], np.nan)
    return BatchClearing(
        price=np.where(traded, (lab + hao) / 2.0, np.nan),
        matched=np.where(traded, total, 0.0),
        fills=fb + fo,
        lowest_accepted_bid=lab,
        highest_accepted_offer=hao,
    )


@dataclass(frozen=True, slots=True, eq=False)
class BatchRounds:
    """The outcome of every row's bidding rounds (``(B,)`` or ``(B, N)`` arrays)."""

    #: the final clearing of each row
    final: BatchClearing
    #: the bids of each row's final round, and its initial (random) bids
    bids: FloatArray
    initial_bids: FloatArray
    #: the aggressiveness each agent bid the final round with
    aggressiveness: FloatArray
    #: the number of clearings each row did, the initial one included
    rounds: IntArray
    #: rows that stopped before the round limit (the price settled, or nothing could ever match)
    settled: BoolArray

    @property
    def price(self) -> FloatArray:
        return self.final.price

    @property
    def fills(self) -> FloatArray:
        return self.final.fills


def _check(is_buy: Any, quantity: Any, initial_bids: Any, band: ReservePrices) -> tuple[Any, ...]:
    buy = np.asarray(is_buy, dtype=np.bool_)
    q = np.asarray(quantity, dtype=np.float64)
    if buy.ndim != 2 or buy.shape != q.shape:
        raise MarketError("is_buy and quantity must be (auctions, agents) arrays of one shape", field="shape")
    if not np.all(np.isfinite(q) & (q >= 0)):
        raise MarketError("quantities must be finite and not negative", field="quantity")
    bids = None
    if initial_bids is not None:
        bids = np.array(initial_bids, dtype=np.float64)
        if bids.shape != q.shape:
            raise MarketError("initial_bids must have one price per agent", field="initial_bids")
        if not np.all((bids >= band.grid_sell) & (bids <= band.grid_buy)):
            raise MarketError("an initial bid is outside the price band", field="initial_bids")
    return buy, q, bids


def run_rounds_batch(
    is_buy: Any,
    quantity: Any,
    *,
    band: ReservePrices,
    rng: np.random.Generator,
    params: AAParams = AAParams(),
    initial_bids: Any = None,
) -> BatchRounds:
    """Run the AA bidding rounds of every row (one auction per row) in the paper's full-overlap mode.

    ``is_buy`` and ``quantity`` are ``(B, N)``; an agent with quantity 0 takes no part. Initial bids are
    ZI-C (uniform over the band, since every limit is a grid price) drawn from ``rng`` as one ``(B, N)``
    array, unless given; the random free moves draw one ``(B, N)`` array per update. Deterministic given
    the state of ``rng``.
    """
    buy, q, bids = _check(is_buy, quantity, initial_bids, band)
    m, big_m = band.grid_sell, band.grid_buy
    limit = np.where(buy, big_m, m)
    if bids is None:
        u = rng.random(q.shape)
        bids = np.clip(m + u * (big_m - m), m, big_m)
    first_bids = bids.copy()
    b = q.shape[0]
    present = q > 0
    demand = np.where(buy, q, 0.0).sum(axis=1)
    supply = np.where(buy, 0.0, q).sum(axis=1)
    one_sided = ~((buy & present).any(axis=1) & (~buy & present).any(axis=1))
    reference = np.full(b, (m + big_m) / 2.0)
    r = np.full(q.shape, 0.0 if params.initial_r is None else params.initial_r)
    active = np.ones(b, dtype=np.bool_)
    rounds = np.zeros(b, dtype=np.int64)
    settled = np.zeros(b, dtype=np.bool_)
    last_price = np.full(b, np.nan)
    final = clear_full_overlap(buy, bids, q)
    k = 0
    while active.any():
        now = clear_full_overlap(buy, bids, q)
        final = _keep(active, now, final)
        rounds = np.where(active, k + 1, rounds)
        if k == 0 and params.initial_r is None:
            first = np.where(np.isnan(now.price), reference, now.price)
            r = aggressiveness_for(bids, buy, limit, first[:, None], band, variant=params.variant, theta=params.theta)
        same = (np.isnan(last_price) & np.isnan(now.price)) | (np.abs(now.price - last_price) < params.tolerance)
        agreed = now.crossed & ~np.isnan(now.price) if params.stop is StopRule.CONSENSUS else np.ones(b, np.bool_)
        stop_settled = active & (one_sided | ((k > 0) & agreed & same))
        settled |= stop_settled
        active &= ~stop_settled
        if k + 1 >= params.max_rounds:
            active[:] = False
        if not active.any():
            break
        last_price = np.where(active, now.price, last_price)
        reference = np.where(active & ~np.isnan(now.price), now.price, reference)
        draws = None
        if params.free_move is FreeMove.KEEP_OR_MORE:
            draws = rng.random(q.shape)
        elif params.free_move is FreeMove.RANDOM_WALK:
            draws = rng.uniform(-1.0, 1.0, q.shape)
        filled = filled_orders(now.fills, q)
        new_r = next_aggressiveness(
            r, buy, bids, now.price[:, None], demand[:, None], supply[:, None], params, draws=draws, filled=filled
        )
        r = np.where(active[:, None], new_r, r)
        new_bids = curve_prices(r, buy, limit, reference[:, None], band, variant=params.variant, theta=params.theta)
        bids = np.where(active[:, None], new_bids, bids)
        k += 1
    return BatchRounds(final, bids, first_bids, r, rounds, settled)


def _keep(active: BoolArray, now: BatchClearing, before: BatchClearing) -> BatchClearing:
    a = active
    return BatchClearing(
        price=np.where(a, now.price, before.price),
        matched=np.where(a, now.matched, before.matched),
        fills=np.where(a[:, None], now.fills, before.fills),
        lowest_accepted_bid=np.where(a, now.lowest_accepted_bid, before.lowest_accepted_bid),
        highest_accepted_offer=np.where(a, now.highest_accepted_offer, before.highest_accepted_offer),
    )
