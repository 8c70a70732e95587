"""Fixed-price bidding: every agent bids (or asks) one given price, clipped to its own limit.

A buyer bids ``min(price, limit)`` (never above what it is willing to pay); a seller asks
``max(price, limit)`` (never below what it is willing to accept). A baseline with no learning and no
randomness.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from transactive.market.auction import ReservePrices
from transactive.market.orders import FloatArray, MarketError
from transactive.market.strategies._common import as_columns, check_limits

__all__ = ["fixed_prices"]


def fixed_prices(price: float, is_buy: Any, limit: Any, band: ReservePrices | None = None) -> FloatArray:
    """The fixed-price bid of each agent: ``min(price, limit)`` for buyers, ``max(price, limit)`` for sellers.

    With ``band`` the limits are checked to lie in the band and ``price`` is clipped into it first.
    """
    if not np.isfinite(price):
        raise MarketError("the fixed price must be finite", field="price")
    buy, lim = as_columns(is_buy, limit)
    p = float(price)
    if band is not None:
        check_limits(buy, lim, band)
        p = min(max(p, band.grid_sell), band.grid_buy)
    return np.where(buy, np.minimum(p, lim), np.maximum(p, lim))
