"""Market engine: periodic double auctions (uniform price, pay-as-bid) over numpy order columns, and a
continuous double auction order book.

See :mod:`transactive.market.auction` for the periodic clearing rules and :mod:`transactive.market.cda`
for the order book.
"""

from transactive.market.auction import (
    DEFAULT_RESERVE,
    ClearingResult,
    Matching,
    Mechanism,
    ReservePrices,
    TieRule,
    clear,
    clear_intervals,
)
from transactive.market.cda import QUANTITY_EPSILON, CdaError, OrderBook, Trade
from transactive.market.orders import MarketError, Orders, Side

__all__ = [
    "DEFAULT_RESERVE",
    "QUANTITY_EPSILON",
    "CdaError",
    "ClearingResult",
    "MarketError",
    "Matching",
    "Mechanism",
    "OrderBook",
    "Orders",
    "ReservePrices",
    "Side",
    "TieRule",
    "Trade",
    "clear",
    "clear_intervals",
]
