"""Zero-intelligence constrained (ZI-C) bidding, after Gode & Sunder (1993).

A ZI-C trader bids at random but never at a loss: a buyer draws its bid uniformly from
``[minimum price, own limit]``, a seller its ask uniformly from ``[own limit, maximum price]``. Here the
minimum and maximum prices are the grid's prices of the paper's band (``band.grid_sell`` = P_gs and
``band.grid_buy`` = P_gb), so every ZI-C bid is also admissible in an auction with those reserve prices.

Randomness comes only from the ``numpy.random.Generator`` passed in: the same generator state gives the
same bids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from transactive.market.auction import ReservePrices
from transactive.market.orders import FloatArray
from transactive.market.strategies._common import as_columns, check_limits

__all__ = ["zic_prices"]


def zic_prices(is_buy: Any, limit: Any, band: ReservePrices, rng: np.random.Generator) -> FloatArray:
    """One ZI-C bid per agent: buyers ``U[band.grid_sell, limit]``, sellers ``U[limit, band.grid_buy]``.

    Draws exactly one uniform number per agent from ``rng`` (in agent order).
    """
    buy, lim = as_columns(is_buy, limit)
    check_limits(buy, lim, band)
    u = rng.random(lim.shape[0])
    low = np.where(buy, band.grid_sell, lim)
    high = np.where(buy, lim, band.grid_buy)
    return np.clip(low + u * (high - low), low, high)
