"""Continuous double auction: a limit order book with price-time priority.

The local market engine of the Energy Mashup Lab clears energy continuously: every order that arrives is
matched at once against the best orders resting on the other side of the book, and whatever is left of it
rests in the book until it trades, is cancelled or expires.

Rules
-----
* **Price-time priority.** Buy orders rank by highest price, sell orders by lowest price; among equal prices
  the order that arrived first ranks first. "Arrived first" is submission order: the book's clock may not go
  backwards (see below), so submission order and time order are the same, and two orders with equal price and
  equal time keep the order in which they were submitted.
* **Trade price.** An incoming order trades against the best resting orders *at the resting orders' prices*
  (the price of the order that supplied the liquidity), walking from level to level while its limit allows:
  a buy trades with a sell whose price is <= the buy's limit, a sell with a buy whose price is >= the sell's.
  The incoming order therefore never pays more (buy) or receives less (sell) than its limit, and the resting
  order trades exactly at its own price.
* **Partial fills.** Either side may be filled in part; the rest of a resting order keeps its place in the
  queue, the rest of an incoming order rests at its limit price (behind the orders already at that price).
* **Cancel** removes a resting order (the remainder of a partially filled one); the trades already done stand.
* **Expiry.** An order with ``expires_at`` is live while ``time < expires_at`` (an order is valid over the
  half-open interval ``[time, expires_at)``, like a WS-Calendar interval). Submitting an order at a time on or
  after its own ``expires_at`` is an error. Every call that tells the book the time (``submit`` and
  ``expire``) first retires the resting orders whose expiry has come, so an expired order never trades;
  ``expire(now)`` returns the ids of every order retired by expiry since the previous ``expire`` call (those
  retired by ``submit`` included), in order of expiry time, then of submission.
* **The clock.** Times are plain numbers the caller passes in (seconds, hours, any unit, as long as it is one
  unit); the book never reads a clock itself. The times given to ``submit`` and ``expire`` must never
  decrease; a time earlier than one the book has seen is an error.

Numbers
-------
* Prices are finite and ``>= 0``: an energy price of 0 is a real price (surplus solar at midday), so 0 is
  allowed; negative prices are not (a book that needs them can shift its price scale).
* Quantities (kWh) are floats, finite and greater than :data:`QUANTITY_EPSILON` (1e-12). A remainder of
  1e-12 or less after a fill is dust left by floating-point arithmetic, not energy: the order counts as fully
  filled and the dust is dropped. Trade quantities never exceed the remaining quantity of either order.
* Without a ``tick`` prices are compared exactly as floats (0.1 + 0.2 and 0.3 are two price levels). With
  ``tick`` every price must be a whole number of ticks (within 1e-6 of a tick) and is stored as the nearest
  float to that whole number of ticks, so equal prices meet at one level.

Self-trade
----------
The book knows orders, not parties: it has order ids only. When a party's buy meets that party's own sell,
they trade like any two orders (a "wash trade"). An order never trades with itself (it does not rest while it
is matched). A caller that must prevent self-trades keeps the id -> party map and cancels its own resting
orders before submitting, or checks the ids on the trades returned.

Performance
-----------
Each side keeps a dict price -> price level (a FIFO queue of orders) and a heap of the level prices; an
order id -> order dict finds orders for cancel. Cancel and expiry mark the order dead (lazy deletion); dead
orders are dropped when they reach the front of their queue, and heaps and queues that have collected more
dead entries than live ones are rebuilt. ``submit`` is O(log L + trades) for L price levels, ``cancel`` is
O(1) amortised, ``best_bid``/``best_ask`` sum the orders of one level. Pure Python; see
``bench/cda_bench.py``.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

from transactive.market.orders import MarketError, Side

__all__ = ["QUANTITY_EPSILON", "CdaError", "OrderBook", "Side", "Trade"]

QUANTITY_EPSILON = 1e-12
"""Remainders (kWh) at or below this are floating-point dust: the order counts as fully filled."""

_INF = math.inf


class CdaError(MarketError):
    """An order or a call the book cannot accept; ``field`` names the offending argument.

    A :class:`~transactive.market.orders.MarketError`, hence a ``ValueError`` and a ``TransactiveError``.
    """

    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.message = message


@dataclass(frozen=True, slots=True)
class Trade:
    """One match: ``quantity`` kWh from ``sell_id`` to ``buy_id`` at the resting order's ``price``.

    ``time`` is the time of the incoming order that caused the match.
    """

    buy_id: str
    sell_id: str
    price: float
    quantity: float
    time: float


class _Order:
    __slots__ = ("buy", "expires_at", "order_id", "price", "remaining", "seq")

    def __init__(
        self, order_id: str, buy: bool, price: float, remaining: float, expires_at: float | None, seq: int
    ) -> None:
        self.order_id = order_id
        self.buy = buy
        self.price = price
        self.remaining = remaining  # 0.0 once the order is no longer live (filled, cancelled or expired)
        self.expires_at = expires_at
        self.seq = seq


class _Level:
    """The orders resting at one price, oldest first; dead orders stay until they reach the front."""

    __slots__ = ("live", "orders")

    def __init__(self) -> None:
        self.orders: deque[_Order] = deque()
        self.live = 0


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CdaError(field, f"must be a number, not {type(value).__name__}")
    return float(value)


class OrderBook:
    """A continuous double auction order book (see the module documentation for the rules).

    >>> book = OrderBook()
    >>> book.submit("s1", Side.SELL, 0.12, 5.0, time=0.0)
    []
    >>> book.submit("b1", Side.BUY, 0.15, 2.0, time=1.0)
    [Trade(buy_id='b1', sell_id='s1', price=0.12, quantity=2.0, time=1.0)]
    >>> book.best_ask()
    (0.12, 3.0)
    """

    __slots__ = (
        "_ask_heap",
        "_asks",
        "_bid_heap",
        "_bids",
        "_clock",
        "_expired",
        "_expiry",
        "_inv_tick",
        "_live",
        "_seq",
        "_tick",
    )

    def __init__(self, *, tick: float | None = None) -> None:
        if tick is not None:
            tick = _number(tick, "tick")
            if not (0.0 < tick < _INF):
                raise CdaError("tick", f"must be a positive finite number, got {tick!r}")
            inv = round(1.0 / tick)
            # For decimal ticks (0.01, 0.5, ...) k / (1/tick) is the float nearest to k ticks: 3 ticks of 0.1 is
            # 0.3, not 3 * 0.1 == 0.30000000000000004.
            self._inv_tick: float | None = float(inv) if inv >= 1 and abs(1.0 / tick - inv) < 1e-9 * inv else None
        else:
            self._inv_tick = None
        self._tick = tick
        self._bids: dict[float, _Level] = {}
        self._asks: dict[float, _Level] = {}
        self._bid_heap: list[float] = []  # negated bid prices: the heap top is the highest bid
        self._ask_heap: list[float] = []
        self._live: dict[str, _Order] = {}
        self._expiry: list[tuple[float, int, _Order]] = []
        self._expired: list[str] = []
        self._clock = -_INF
        self._seq = 0

    # -- queries -------------------------------------------------------------------------------------------

    @property
    def tick(self) -> float | None:
        """The price increment, or None when prices are free floats."""
        return self._tick

    @property
    def clock(self) -> float:
        """The latest time the book has been told (``-inf`` before the first call)."""
        return self._clock

    def __len__(self) -> int:
        """The number of resting (live) orders."""
        return len(self._live)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._live

    def resting(self, order_id: str) -> float | None:
        """The remaining quantity of a resting order, or None if it is not in the book."""
        order = self._live.get(order_id)
        return None if order is None else order.remaining

    def best_bid(self) -> tuple[float, float] | None:
        """``(price, total quantity at that price)`` of the highest bid, or None when there are no bids."""
        heap, levels = self._bid_heap, self._bids
        while heap:
            price = -heap[0]
            level = levels.get(price)
            if level is not None:
                return price, _level_quantity(level)
            heapq.heappop(heap)
        return None

    def best_ask(self) -> tuple[float, float] | None:
        """``(price, total quantity at that price)`` of the lowest ask, or None when there are no asks."""
        heap, levels = self._ask_heap, self._asks
        while heap:
            price = heap[0]
            level = levels.get(price)
            if level is not None:
                return price, _level_quantity(level)
            heapq.heappop(heap)
        return None

    def depth(self, side: Side | Literal["buy", "sell"], levels: int = 10) -> list[tuple[float, float]]:
        """The best ``levels`` price levels of one side as ``(price, quantity)``, best first."""
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
            raise CdaError("levels", f"must be a non-negative integer, got {levels!r}")
        if side == "buy":
            prices = heapq.nlargest(levels, self._bids)
            book = self._bids
        elif side == "sell":
            prices = heapq.nsmallest(levels, self._asks)
            book = self._asks
        else:
            raise CdaError("side", f"must be 'buy' or 'sell', got {side!r}")
        return [(p, _level_quantity(book[p])) for p in prices]

    # -- commands ------------------------------------------------------------------------------------------

    def submit(
        self,
        order_id: str,
        side: Side | Literal["buy", "sell"],
        price: float,
        quantity: float,
        *,
        time: float,
        expires_at: float | None = None,
    ) -> list[Trade]:
        """Match a limit order against the book, rest what is left of it, and return the trades it made.

        Trades come best price first, and oldest first within a price. Raises :class:`CdaError` (nothing
        changes) for a duplicate id of a resting order, a side other than buy/sell, a price that is not finite
        or is negative (or off the tick grid), a quantity that is not finite or not above
        :data:`QUANTITY_EPSILON`, a time that is not finite or earlier than the book's clock, or an
        ``expires_at`` that is NaN or not after ``time``.
        """
        # -- validation (all before any change) --
        if not isinstance(order_id, str):
            raise CdaError("order_id", f"must be a str, not {type(order_id).__name__}")
        if order_id in self._live:
            raise CdaError("order_id", f"{order_id!r} is already resting in the book")
        if side == "buy":
            buy = True
        elif side == "sell":
            buy = False
        else:
            raise CdaError("side", f"must be 'buy' or 'sell', got {side!r}")
        if type(price) is not float:
            price = _number(price, "price")
        if not (0.0 <= price < _INF):
            raise CdaError("price", f"must be finite and >= 0, got {price!r}")
        if self._tick is not None:
            price = self._snap(price)
        if type(quantity) is not float:
            quantity = _number(quantity, "quantity")
        if not (QUANTITY_EPSILON < quantity < _INF):
            raise CdaError("quantity", f"must be finite and > {QUANTITY_EPSILON}, got {quantity!r}")
        if type(time) is not float:
            time = _number(time, "time")
        if not (-_INF < time < _INF):
            raise CdaError("time", f"must be finite, got {time!r}")
        if time < self._clock:
            raise CdaError("time", f"{time!r} is earlier than the book's clock {self._clock!r}")
        if expires_at is not None:
            if type(expires_at) is not float:
                expires_at = _number(expires_at, "expires_at")
            if expires_at != expires_at:
                raise CdaError("expires_at", "must not be NaN")
            if expires_at <= time:
                raise CdaError("expires_at", f"the order expired at {expires_at!r}, not after time {time!r}")

        # -- the clock moves: retire what has expired, so it cannot trade --
        self._clock = time
        expiry = self._expiry
        if expiry and expiry[0][0] <= time:
            self._retire(time)

        # -- match against the other side, best level first, oldest order first --
        live = self._live
        trades: list[Trade] = []
        remaining = quantity
        if buy:
            heap, levels = self._ask_heap, self._asks
        else:
            heap, levels = self._bid_heap, self._bids
        while heap:
            level_price = heap[0] if buy else -heap[0]
            level = levels.get(level_price)
            if level is None:  # a stale heap entry: the level emptied by cancel or expiry
                heapq.heappop(heap)
                continue
            if (level_price > price) if buy else (level_price < price):
                break
            orders = level.orders
            while orders:
                resting = orders[0]
                rest_qty = resting.remaining
                if rest_qty <= 0.0:  # dead (cancelled or expired)
                    orders.popleft()
                    continue
                if rest_qty <= remaining:  # the resting order fills completely
                    fill = rest_qty
                    remaining -= rest_qty
                    resting.remaining = 0.0
                    orders.popleft()
                    del live[resting.order_id]
                    level.live -= 1
                else:  # the incoming order fills completely
                    fill = remaining
                    remaining = 0.0
                    rest_qty -= fill
                    if rest_qty <= QUANTITY_EPSILON:  # dust: the resting order is done too
                        resting.remaining = 0.0
                        orders.popleft()
                        del live[resting.order_id]
                        level.live -= 1
                    else:
                        resting.remaining = rest_qty
                if buy:
                    trades.append(Trade(order_id, resting.order_id, level_price, fill, time))
                else:
                    trades.append(Trade(resting.order_id, order_id, level_price, fill, time))
                if remaining <= QUANTITY_EPSILON:
                    break
            if level.live == 0:
                del levels[level_price]
                heapq.heappop(heap)
            if remaining <= QUANTITY_EPSILON:
                return trades

        # -- rest the remainder at its limit price, behind the orders already there --
        seq = self._seq
        self._seq = seq + 1
        order = _Order(order_id, buy, price, remaining, expires_at, seq)
        if buy:
            own, own_heap, key = self._bids, self._bid_heap, -price
        else:
            own, own_heap, key = self._asks, self._ask_heap, price
        level = own.get(price)
        if level is None:
            level = own[price] = _Level()
            heapq.heappush(own_heap, key)
            if len(own_heap) > 2 * len(own) + 64:
                self._rebuild_heap(buy)
        level.orders.append(order)
        level.live += 1
        live[order_id] = order
        if expires_at is not None and expires_at < _INF:
            heapq.heappush(expiry, (expires_at, seq, order))
            if len(expiry) > 2 * len(live) + 64:
                self._rebuild_expiry()
        return trades

    def cancel(self, order_id: str) -> bool:
        """Remove a resting order (what is left of it). False if the id is unknown, filled, cancelled or expired."""
        order = self._live.pop(order_id, None)
        if order is None:
            return False
        self._kill(order)
        return True

    def expire(self, now: float) -> list[str]:
        """Advance the clock to ``now``, retire every order with ``expires_at <= now``, and return the ids.

        The ids are those of every order retired by expiry since the previous call (``submit`` retires expired
        orders too, before it matches), ordered by expiry time and then submission. ``now`` must be finite and
        not earlier than the book's clock.
        """
        if type(now) is not float:
            now = _number(now, "now")
        if not (-_INF < now < _INF):
            raise CdaError("now", f"must be finite, got {now!r}")
        if now < self._clock:
            raise CdaError("now", f"{now!r} is earlier than the book's clock {self._clock!r}")
        self._clock = now
        if self._expiry and self._expiry[0][0] <= now:
            self._retire(now)
        out, self._expired = self._expired, []
        return out

    # -- internals -----------------------------------------------------------------------------------------

    def _snap(self, price: float) -> float:
        tick = self._tick
        assert tick is not None
        ticks = round(price / tick)
        if abs(price / tick - ticks) > 1e-6:
            raise CdaError("price", f"{price!r} is not a multiple of the tick {tick!r}")
        inv = self._inv_tick
        return ticks / inv if inv is not None else ticks * tick

    def _kill(self, order: _Order) -> None:
        """Take a live order (already popped from ``_live``) out of its level."""
        order.remaining = 0.0
        price = order.price
        levels = self._bids if order.buy else self._asks
        level = levels[price]
        level.live -= 1
        if level.live == 0:
            del levels[price]
        elif len(level.orders) > 2 * level.live + 16:
            level.orders = deque(o for o in level.orders if o.remaining > 0.0)

    def _retire(self, now: float) -> None:
        expiry, live, expired = self._expiry, self._live, self._expired
        while expiry and expiry[0][0] <= now:
            order = heapq.heappop(expiry)[2]
            if order.remaining > 0.0:
                del live[order.order_id]
                self._kill(order)
                expired.append(order.order_id)

    def _rebuild_heap(self, buy: bool) -> None:
        if buy:
            self._bid_heap = [-p for p in self._bids]
            heapq.heapify(self._bid_heap)
        else:
            self._ask_heap = list(self._asks)
            heapq.heapify(self._ask_heap)

    def _rebuild_expiry(self) -> None:
        self._expiry = [
            (o.expires_at, o.seq, o) for o in self._live.values() if o.expires_at is not None and o.expires_at < _INF
        ]
        heapq.heapify(self._expiry)


def _level_quantity(level: _Level) -> float:
    return math.fsum(o.remaining for o in level.orders if o.remaining > 0.0)
