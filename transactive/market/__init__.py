"""Market engine: periodic double auctions (uniform price, pay-as-bid) over numpy order columns.

See :mod:`transactive.market.auction` for the clearing rules.
"""

from transactive.market.auction import (
    ClearingResult,
    Matching,
    Mechanism,
    ReservePrices,
    TieRule,
    clear,
    clear_intervals,
)
from transactive.market.orders import MarketError, Orders, Side

__all__ = [
    "ClearingResult",
    "MarketError",
    "Matching",
    "Mechanism",
    "Orders",
    "ReservePrices",
    "Side",
    "TieRule",
    "clear",
    "clear_intervals",
]
