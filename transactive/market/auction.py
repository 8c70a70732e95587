"""Periodic double auctions for one delivery interval: uniform price (pay-as-clear) and pay-as-bid.

The uniform-price rule follows the seed paper (Section III-B of ``../shared/seeds/004``):

* bids (buy limit orders) are sorted by price, descending; offers (sell limit orders) ascending;
  equal prices are ranked by time (earlier first; then input order), or share pro rata (option);
* the matched quantity is the largest quantity at which demand meets supply: units trade while the bid
  price is at least the offer price (a bid and an offer at equal prices do trade); orders are divisible,
  so the marginal order on each side is filled in part;
* the clearing price is the midpoint of the lowest accepted bid and the highest accepted offer (the
  paper's equation (1)), and every matched order trades at that one price.

``Matching.FULL_OVERLAP`` is the paper's experiment mode: every agent's limits are the grid prices and
"all energy within the grid is matched" each period, so the matched quantity is min(demand, supply)
whatever the prices, and the bids only set the price (still equation (1) over the accepted orders).

With :class:`ReservePrices` the main grid is the buyer and seller of last resort: bids must not exceed
the price the grid sells at (P_gb, 18.9 p/kWh in the paper) and offers must not be below the price it buys
at (P_gs, 3.2 p/kWh); what the auction leaves unmatched is bought from or sold to the grid at those
prices (``grid_import``, ``grid_export``).

Everything is vectorised with numpy; sorting dominates the cost (figures in BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from transactive.market.orders import FloatArray, MarketError, Orders

__all__ = ["ClearingResult", "Matching", "Mechanism", "ReservePrices", "TieRule", "clear", "clear_intervals"]


class Mechanism(StrEnum):
    UNIFORM = "uniform"  #: pay-as-clear: every matched order trades at the clearing price
    PAY_AS_BID = "pay-as-bid"  #: every matched order trades at its own limit price


class TieRule(StrEnum):
    TIME = "time"  #: equal prices: earlier orders first (then input order)
    PRO_RATA = "pro-rata"  #: equal prices at the margin share the marginal quantity in proportion to size


class Matching(StrEnum):
    CROSSING = "crossing"  #: trade while bid price >= offer price
    FULL_OVERLAP = "full-overlap"  #: the paper's experiment mode: match min(demand, supply), prices aside


#: the main grid of a market that is given none (``vtn serve`` without ``--reserve``, ``VtnOptions``): it sells at
#: 0.30 and buys at 0.05 per kWh, a typical retail tariff and export rate, as ``(grid_buy, grid_sell)``; the
#: market's price band is then [0.05, 0.30] and VENs price inside it
DEFAULT_RESERVE = (0.30, 0.05)


@dataclass(frozen=True, slots=True)
class ReservePrices:
    """The main grid as buyer and seller of last resort.

    ``grid_buy`` is what a participant pays to buy from the grid (P_gb), ``grid_sell`` what it is paid to
    sell to the grid (P_gs); ``grid_sell < grid_buy``.
    """

    grid_buy: float
    grid_sell: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.grid_buy) and np.isfinite(self.grid_sell)):
            raise MarketError("reserve prices must be finite", field="reserve")
        if not self.grid_sell < self.grid_buy:
            raise MarketError("the grid's selling price must be above its buying price", field="reserve")

    @classmethod
    def paper(cls) -> ReservePrices:
        """The seed paper's wholesale prices, in pounds per kWh: 18.9 p to buy, 3.2 p to sell."""
        return cls(grid_buy=0.189, grid_sell=0.032)


@dataclass(frozen=True, slots=True, eq=False)
class ClearingResult:
    """The outcome of one auction. Arrays are per order, in the order the orders were given."""

    #: uniform: the clearing price; pay-as-bid: the buyers' volume-weighted average; None if nothing matched
    price: float | None
    #: matched quantity (kWh), the same on both sides
    quantity: float
    #: the quantity each order got
    fills: FloatArray
    #: the price each matched order trades at (NaN for unmatched orders)
    prices: FloatArray
    #: orders with a positive fill
    matched_orders: int
    lowest_accepted_bid: float | None
    highest_accepted_offer: float | None
    mechanism: Mechanism
    tie_rule: TieRule
    matching: Matching
    #: unmatched demand bought from the main grid (0 without reserve prices)
    grid_import: float = 0.0
    #: unmatched supply sold to the main grid (0 without reserve prices)
    grid_export: float = 0.0

    def payments(self, orders: Orders) -> FloatArray:
        """Money per order: positive for what a buyer pays, negative for what a seller receives."""
        traded = np.where(self.fills > 0, self.fills * np.nan_to_num(self.prices), 0.0)
        return np.where(orders.is_buy, traded, -traded)

    def as_dict(self) -> dict[str, float | int | None]:
        """The summary the command line prints (``price``, ``quantity``, ``matched_orders`` and more)."""
        return {
            "price": self.price,
            "quantity": self.quantity,
            "matched_orders": self.matched_orders,
            "lowest_accepted_bid": self.lowest_accepted_bid,
            "highest_accepted_offer": self.highest_accepted_offer,
            "grid_import": self.grid_import,
            "grid_export": self.grid_export,
        }


def _priority(key: FloatArray, time: npt.NDArray[np.int64] | FloatArray) -> npt.NDArray[np.intp]:
    """Positions sorted by ``key`` ascending, then time, then input position."""
    if time.shape[0] < 2 or bool(np.all(np.diff(time) >= 0)):
        return np.argsort(key, kind="stable")  # input order is time order: a stable sort keeps it
    return np.lexsort((np.arange(time.shape[0]), time, key))


def _fills(
    qty_sorted: FloatArray, price_sorted: FloatArray, total: float, tie: TieRule, descending: bool
) -> FloatArray:
    """Fill the sorted orders of one side with ``total`` (a prefix of them; the last one partly)."""
    cum = np.cumsum(qty_sorted)
    # the quantity ahead of each order, taken from ``cum`` itself: ``cum - qty_sorted`` can round below the
    # previous partial sum and hand an order past the crossing point a phantom fill of ~1e-17
    ahead = np.empty_like(cum)
    ahead[:1] = 0.0
    ahead[1:] = cum[:-1]
    fills = np.clip(total - ahead, 0.0, qty_sorted)
    if tie is TieRule.PRO_RATA and total > 0:
        filled = np.flatnonzero(fills > 0)
        if filled.size:
            marginal = price_sorted[filled[-1]]
            key = -price_sorted if descending else price_sorted
            lo = int(np.searchsorted(key, -marginal if descending else marginal, side="left"))
            hi = int(np.searchsorted(key, -marginal if descending else marginal, side="right"))
            better = float(cum[lo - 1]) if lo > 0 else 0.0
            level = qty_sorted[lo:hi]
            share = min(max(total - better, 0.0), float(level.sum()))
            fills[lo:hi] = level * (share / float(level.sum()))
            fills[hi:] = 0.0
    return fills


def clear(
    orders: Orders,
    *,
    mechanism: Mechanism | str = Mechanism.UNIFORM,
    tie_rule: TieRule | str = TieRule.TIME,
    matching: Matching | str = Matching.CROSSING,
    reserve: ReservePrices | None = None,
) -> ClearingResult:
    """Clear one interval's orders. Deterministic: the same orders give the same result, bit for bit."""
    mechanism, tie_rule, matching = Mechanism(mechanism), TieRule(tie_rule), Matching(matching)
    n = len(orders)
    buy_idx = np.flatnonzero(orders.is_buy)
    sell_idx = np.flatnonzero(~orders.is_buy)
    if reserve is not None:
        _check_band(orders, buy_idx, sell_idx, reserve)
    sb = buy_idx[_priority(-orders.price[buy_idx], orders.time[buy_idx])]
    so = sell_idx[_priority(orders.price[sell_idx], orders.time[sell_idx])]
    pb, qb = orders.price[sb], orders.quantity[sb]
    po, qo = orders.price[so], orders.quantity[so]
    demand = float(qb.sum())
    supply = float(qo.sum())

    if sb.size == 0 or so.size == 0:
        total = 0.0
    elif matching is Matching.FULL_OVERLAP:
        total = min(float(np.cumsum(qb)[-1]), float(np.cumsum(qo)[-1]))  # the sums _fills hands out
    else:
        # the supply offered at or below each bid's price; the matched quantity is the crossing point
        cum_b = np.cumsum(qb)
        cum_o = np.cumsum(qo)
        k = np.searchsorted(po, pb, side="right")
        supply_at = np.where(k > 0, cum_o[np.maximum(k - 1, 0)], 0.0)
        total = max(float(np.minimum(cum_b, supply_at).max()), 0.0)

    fb = _fills(qb, pb, total, tie_rule, descending=True)
    fo = _fills(qo, po, total, tie_rule, descending=False)
    fills = np.zeros(n, dtype=np.float64)
    fills[sb] = fb
    fills[so] = fo
    accepted_b = np.flatnonzero(fb > 0)
    accepted_o = np.flatnonzero(fo > 0)
    lab = float(pb[accepted_b[-1]]) if accepted_b.size else None
    hao = float(po[accepted_o[-1]]) if accepted_o.size else None
    prices = np.full(n, np.nan)
    price: float | None = None
    if lab is not None and hao is not None and total > 0:
        if mechanism is Mechanism.UNIFORM:
            price = (lab + hao) / 2.0  # equation (1)
            prices[fills > 0] = price
        else:
            matched = fills > 0
            prices[matched] = orders.price[matched]
            price = float(np.dot(fb, pb) / fb.sum())
    grid_import = demand - float(fb.sum()) if reserve is not None else 0.0
    grid_export = supply - float(fo.sum()) if reserve is not None else 0.0
    return ClearingResult(
        price=price,
        quantity=total,
        fills=fills,
        prices=prices,
        matched_orders=int(accepted_b.size + accepted_o.size),
        lowest_accepted_bid=lab,
        highest_accepted_offer=hao,
        mechanism=mechanism,
        tie_rule=tie_rule,
        matching=matching,
        grid_import=max(grid_import, 0.0),
        grid_export=max(grid_export, 0.0),
    )


def _check_band(orders: Orders, buy_idx: npt.NDArray[np.intp], sell_idx: npt.NDArray[np.intp],
                reserve: ReservePrices) -> None:
    above = orders.price[buy_idx] > reserve.grid_buy
    if above.any():
        i = int(buy_idx[int(np.argmax(above))])
        raise MarketError(
            f"order {i}: a bid may not exceed the grid's selling price {reserve.grid_buy}", field="price", index=i
        )
    below = orders.price[sell_idx] < reserve.grid_sell
    if below.any():
        i = int(sell_idx[int(np.argmax(below))])
        raise MarketError(
            f"order {i}: an offer may not be below the grid's buying price {reserve.grid_sell}", field="price", index=i
        )


def clear_intervals(
    orders: Orders,
    intervals: npt.NDArray[np.generic],
    **options: object,
) -> list[tuple[object, ClearingResult, npt.NDArray[np.intp]]]:
    """Clear each delivery interval on its own: ``(interval, result, positions of its orders)``, sorted by interval."""
    labels = np.asarray(intervals)
    if labels.shape != (len(orders),):
        raise MarketError("intervals must have one entry per order", field="interval")
    keys, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(keys.shape[0] + 1))
    out = []
    for j, key in enumerate(keys.tolist()):
        positions = order[bounds[j] : bounds[j + 1]]
        out.append((key, clear(orders.take(positions), **options), positions))  # type: ignore[arg-type]
    return out
