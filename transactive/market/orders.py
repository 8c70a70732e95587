"""Orders for the periodic auctions, held column-wise in numpy arrays.

An order is an EMIX tender reduced to what clearing needs: side, limit price (money per kWh), quantity
(kWh, divisible), submission time (for time priority) and an id. :class:`Orders` keeps one array per
field so that a million orders clear in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from transactive.errors import TransactiveError

__all__ = ["MarketError", "Orders", "Side"]


class MarketError(TransactiveError, ValueError):
    """Orders or parameters the market cannot accept; ``field`` names what is wrong (and ``index`` which order)."""

    def __init__(self, message: str, *, field: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Orders:
    """Orders of one auction (one delivery interval), column-wise.

    ``is_buy[i]``, ``price[i]``, ``quantity[i]``, ``time[i]`` describe order ``i``; ``ids`` is optional.
    ``time`` orders equal prices (earlier first); by default it is the position in the arrays.
    Build with :meth:`from_columns` or :meth:`from_records`, which validate.
    """

    is_buy: BoolArray
    price: FloatArray
    quantity: FloatArray
    time: IntArray | FloatArray
    ids: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.price.shape[0])

    @classmethod
    def from_columns(
        cls,
        *,
        is_buy: Any,
        price: Any,
        quantity: Any,
        time: Any = None,
        ids: Sequence[str] | None = None,
    ) -> Orders:
        """Validate and wrap column arrays (anything ``numpy.asarray`` accepts)."""
        buy = np.asarray(is_buy, dtype=np.bool_)
        p = np.asarray(price, dtype=np.float64)
        q = np.asarray(quantity, dtype=np.float64)
        n = p.shape[0] if p.ndim == 1 else -1
        if p.ndim != 1 or buy.shape != (n,) or q.shape != (n,):
            raise MarketError("is_buy, price and quantity must be 1-d arrays of one length", field="shape")
        t = np.arange(n, dtype=np.int64) if time is None else np.asarray(time)
        if t.shape != (n,):
            raise MarketError("time must have one entry per order", field="time")
        if ids is not None and len(ids) != n:
            raise MarketError("ids must have one entry per order", field="ids")
        bad = ~np.isfinite(p)
        if bad.any():
            i = int(np.argmax(bad))
            raise MarketError(f"order {i}: price must be a finite number", field="price", index=i)
        bad = ~np.isfinite(q) | (q <= 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise MarketError(f"order {i}: quantity must be a positive number", field="quantity", index=i)
        return cls(buy, p, q, t, tuple(ids) if ids is not None else None)

    @classmethod
    def from_records(cls, records: Iterable[tuple[Side | str, float, float]]) -> Orders:
        """From ``(side, price, quantity)`` tuples, in time order."""
        rows = list(records)
        sides = []
        for i, (side, _, _) in enumerate(rows):
            try:
                sides.append(Side(str(side).lower()) is Side.BUY)
            except ValueError:
                raise MarketError(f"order {i}: side must be buy or sell, not {side!r}", field="side", index=i) from None
        return cls.from_columns(
            is_buy=np.array(sides, dtype=np.bool_),
            price=np.array([r[1] for r in rows], dtype=np.float64),
            quantity=np.array([r[2] for r in rows], dtype=np.float64),
        )

    def take(self, index: npt.NDArray[np.intp]) -> Orders:
        """The orders at ``index`` (same time stamps, so priority is kept)."""
        ids = tuple(self.ids[i] for i in index.tolist()) if self.ids is not None else None
        return Orders(self.is_buy[index], self.price[index], self.quantity[index], self.time[index], ids)
