"""Shared checks for the bidding strategies: the price band and agents' limits."""

from __future__ import annotations

from typing import Any

import numpy as np

from transactive.market.auction import ReservePrices
from transactive.market.orders import BoolArray, FloatArray, MarketError


def as_columns(is_buy: Any, limit: Any) -> tuple[BoolArray, FloatArray]:
    """``is_buy`` and ``limit`` as 1-d numpy columns of one length (scalars become length-1 columns)."""
    buy = np.atleast_1d(np.asarray(is_buy, dtype=np.bool_))
    lim = np.atleast_1d(np.asarray(limit, dtype=np.float64))
    if buy.ndim != 1 or lim.ndim != 1:
        raise MarketError("is_buy and limit must be scalars or 1-d arrays", field="shape")
    if buy.shape != lim.shape:
        buy, lim = np.broadcast_arrays(buy, lim)
    return np.array(buy, dtype=np.bool_), np.array(lim, dtype=np.float64)


def check_limits(is_buy: BoolArray, limit: FloatArray, band: ReservePrices) -> None:
    """Every limit must be a finite price inside the band ``[band.grid_sell, band.grid_buy]``.

    The paper bounds every buy limit by the grid's selling price P_gb and every sell limit by the grid's
    buying price P_gs (Section III-B1); a limit outside the band is refused rather than silently clipped.
    """
    bad = ~np.isfinite(limit) | (limit < band.grid_sell) | (limit > band.grid_buy)
    if bad.any():
        i = int(np.argmax(bad))
        side = "buy" if bool(is_buy[i]) else "sell"
        raise MarketError(
            f"agent {i}: {side} limit {float(limit[i])} is outside the price band "
            f"[{band.grid_sell}, {band.grid_buy}]",
            field="limit",
            index=i,
        )
