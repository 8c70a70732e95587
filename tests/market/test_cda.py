"""The continuous double auction (transactive.market.cda): worked examples, errors and properties.

Worked examples have answers computed by hand. The properties run random order flows (submits, cancels,
expiry) through the book and check the auction's rules on every step, and compare the book with a plain
reference model (a list sorted on every submit) written independently here.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transactive.errors import TransactiveError
from transactive.market.cda import QUANTITY_EPSILON, CdaError, OrderBook, Side, Trade

BUY, SELL = Side.BUY, Side.SELL


def T(buy: str, sell: str, price: float, quantity: float, time: float) -> Trade:
    return Trade(buy_id=buy, sell_id=sell, price=price, quantity=quantity, time=time)


# -- worked examples -------------------------------------------------------------------------------------------


def test_empty_book_has_no_best_bid_or_ask():
    book = OrderBook()
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.depth(BUY) == []
    assert book.depth(SELL) == []
    assert len(book) == 0
    assert book.resting("x") is None
    assert book.expire(0.0) == []


def test_incoming_buy_trades_at_the_resting_sell_price():
    book = OrderBook()
    assert book.submit("s1", SELL, 0.20, 10.0, time=1.0) == []
    # the buyer would pay up to 0.25; the resting seller asked 0.20: the trade is at 0.20
    assert book.submit("b1", BUY, 0.25, 4.0, time=2.0) == [T("b1", "s1", 0.20, 4.0, 2.0)]
    assert book.best_ask() == (0.20, 6.0)
    assert book.best_bid() is None


def test_incoming_sell_trades_at_the_resting_buy_price():
    book = OrderBook()
    book.submit("b1", BUY, 0.25, 3.0, time=1.0)
    # the seller would accept 0.20; the resting buyer bid 0.25: the trade is at 0.25
    assert book.submit("s1", SELL, 0.20, 3.0, time=2.0) == [T("b1", "s1", 0.25, 3.0, 2.0)]
    assert len(book) == 0
    assert book.best_bid() is None
    assert book.best_ask() is None


def test_equal_prices_cross():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 1.0, time=0.0)
    assert book.submit("b1", BUY, 0.10, 1.0, time=0.0) == [T("b1", "s1", 0.10, 1.0, 0.0)]


def test_incoming_order_walks_several_levels_and_rests_the_rest_at_its_limit():
    book = OrderBook()
    book.submit("s3", SELL, 0.12, 5.0, time=0.0)
    book.submit("s1", SELL, 0.10, 2.0, time=1.0)
    book.submit("s2", SELL, 0.11, 3.0, time=2.0)
    # 6 kWh up to 0.115: 2 at 0.10, 3 at 0.11, then 0.12 is above the limit; 1 kWh rests as a bid at 0.115
    trades = book.submit("b1", BUY, 0.115, 6.0, time=3.0)
    assert trades == [T("b1", "s1", 0.10, 2.0, 3.0), T("b1", "s2", 0.11, 3.0, 3.0)]
    assert book.best_bid() == (0.115, 1.0)
    assert book.best_ask() == (0.12, 5.0)
    assert book.resting("b1") == 1.0
    assert book.resting("s1") is None
    assert book.resting("s2") is None
    assert len(book) == 2


def test_sell_walks_bids_from_the_highest_down():
    book = OrderBook()
    book.submit("b1", BUY, 0.08, 4.0, time=0.0)
    book.submit("b2", BUY, 0.09, 1.0, time=0.0)
    book.submit("b3", BUY, 0.07, 4.0, time=0.0)
    # 6 kWh down to 0.075: 1 at 0.09, 4 at 0.08; 1 rests as an ask at 0.075 (0.07 is below the limit)
    trades = book.submit("s1", SELL, 0.075, 6.0, time=1.0)
    assert trades == [T("b2", "s1", 0.09, 1.0, 1.0), T("b1", "s1", 0.08, 4.0, 1.0)]
    assert book.best_ask() == (0.075, 1.0)
    assert book.best_bid() == (0.07, 4.0)


def test_partial_fill_of_the_resting_order_keeps_its_rest_in_place():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 5.0, time=0.0)
    book.submit("s2", SELL, 0.10, 5.0, time=1.0)
    assert book.submit("b1", BUY, 0.10, 2.0, time=2.0) == [T("b1", "s1", 0.10, 2.0, 2.0)]
    assert book.resting("s1") == 3.0
    assert book.best_ask() == (0.10, 8.0)
    # s1 keeps its priority over s2
    assert book.submit("b2", BUY, 0.10, 4.0, time=3.0) == [
        T("b2", "s1", 0.10, 3.0, 3.0),
        T("b2", "s2", 0.10, 1.0, 3.0),
    ]
    assert book.resting("s2") == 4.0


def test_partial_fill_of_the_incoming_order_rests_it_behind_orders_at_its_price():
    book = OrderBook()
    book.submit("b0", BUY, 0.10, 1.0, time=0.0)
    book.submit("s1", SELL, 0.10, 1.0, time=1.0)  # trades with b0
    book.submit("bA", BUY, 0.09, 1.0, time=2.0)
    book.submit("s2", SELL, 0.09, 3.0, time=3.0)  # fills bA, 2 kWh rest at 0.09
    assert book.resting("s2") == 2.0
    book.submit("s3", SELL, 0.09, 2.0, time=4.0)
    assert book.submit("b1", BUY, 0.09, 3.0, time=5.0) == [
        T("b1", "s2", 0.09, 2.0, 5.0),
        T("b1", "s3", 0.09, 1.0, 5.0),
    ]


def test_price_time_priority_among_equal_prices():
    book = OrderBook()
    book.submit("a", SELL, 0.10, 1.0, time=1.0)
    book.submit("b", SELL, 0.10, 1.0, time=2.0)
    book.submit("c", SELL, 0.10, 1.0, time=2.0)  # equal price and time as b: submitted after b
    book.submit("d", SELL, 0.09, 1.0, time=3.0)  # later, but a better price: first
    trades = book.submit("x", BUY, 0.10, 4.0, time=4.0)
    assert [t.sell_id for t in trades] == ["d", "a", "b", "c"]
    assert [t.price for t in trades] == [0.09, 0.10, 0.10, 0.10]


def test_no_trade_when_the_book_does_not_cross():
    book = OrderBook()
    assert book.submit("b1", BUY, 0.09, 2.0, time=0.0) == []
    assert book.submit("s1", SELL, 0.10, 3.0, time=1.0) == []
    assert book.submit("b2", BUY, 0.09, 1.5, time=2.0) == []
    assert book.best_bid() == (0.09, 3.5)
    assert book.best_ask() == (0.10, 3.0)
    assert len(book) == 3


def test_depth_lists_levels_best_first_with_their_total_quantity():
    book = OrderBook()
    for i, (price, qty) in enumerate([(0.08, 1.0), (0.09, 2.0), (0.08, 0.5), (0.07, 4.0)]):
        book.submit(f"b{i}", BUY, price, qty, time=0.0)
    for i, (price, qty) in enumerate([(0.12, 1.0), (0.11, 2.0), (0.13, 3.0)]):
        book.submit(f"s{i}", "sell", price, qty, time=0.0)
    assert book.depth(BUY, 2) == [(0.09, 2.0), (0.08, 1.5)]
    assert book.depth("buy") == [(0.09, 2.0), (0.08, 1.5), (0.07, 4.0)]
    assert book.depth(SELL, 10) == [(0.11, 2.0), (0.12, 1.0), (0.13, 3.0)]
    assert book.depth(SELL, 0) == []


def test_cancel_of_a_partially_filled_order_removes_its_rest_only():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 5.0, time=0.0)
    assert book.submit("b1", BUY, 0.10, 2.0, time=1.0) == [T("b1", "s1", 0.10, 2.0, 1.0)]
    assert book.cancel("s1") is True
    assert book.resting("s1") is None
    assert book.best_ask() is None
    assert len(book) == 0
    assert book.cancel("s1") is False  # already cancelled
    assert book.submit("b2", BUY, 0.10, 1.0, time=2.0) == []  # nothing left to trade with


def test_cancel_of_unknown_or_filled_orders_is_false():
    book = OrderBook()
    assert book.cancel("nope") is False
    book.submit("s1", SELL, 0.10, 1.0, time=0.0)
    book.submit("b1", BUY, 0.10, 1.0, time=0.0)
    assert book.cancel("s1") is False  # filled
    assert book.cancel("b1") is False  # filled on arrival: never rested


def test_cancel_in_the_middle_of_a_queue_keeps_the_others_in_order():
    book = OrderBook()
    for name in "abc":
        book.submit(name, SELL, 0.10, 1.0, time=0.0)
    assert book.cancel("b")
    assert book.best_ask() == (0.10, 2.0)
    assert [t.sell_id for t in book.submit("x", BUY, 0.10, 5.0, time=1.0)] == ["a", "c"]
    assert book.best_bid() == (0.10, 3.0)


def test_expiry_removes_exactly_the_expired_ones():
    book = OrderBook()
    book.submit("e10", SELL, 0.12, 1.0, time=0.0, expires_at=10.0)
    book.submit("e5a", SELL, 0.11, 1.0, time=0.0, expires_at=5.0)
    book.submit("forever", SELL, 0.13, 1.0, time=0.0)
    book.submit("e5b", BUY, 0.05, 1.0, time=1.0, expires_at=5.0)
    book.submit("e7", BUY, 0.06, 1.0, time=1.0, expires_at=7.0)
    assert book.expire(4.999) == []
    assert len(book) == 5
    assert book.expire(5.0) == ["e5a", "e5b"]  # live while time < expires_at; in submission order at a tie
    assert book.resting("e5a") is None
    assert book.resting("e5b") is None
    assert book.best_ask() == (0.12, 1.0)
    assert book.best_bid() == (0.06, 1.0)
    assert book.expire(9.0) == ["e7"]
    assert book.expire(100.0) == ["e10"]
    assert book.expire(1e9) == []
    assert [book.resting(i) for i in ("forever",)] == [1.0]
    assert len(book) == 1


def test_expired_order_never_trades_and_is_reported_by_the_next_expire():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 1.0, time=0.0, expires_at=5.0)
    book.submit("s2", SELL, 0.12, 1.0, time=0.0)
    # at time 5 s1 has expired: the buy skips it and trades with s2 at 0.12
    assert book.submit("b1", BUY, 0.15, 1.0, time=5.0) == [T("b1", "s2", 0.12, 1.0, 5.0)]
    assert book.expire(5.0) == ["s1"]
    assert book.expire(6.0) == []


def test_filled_or_cancelled_orders_are_not_reported_as_expired():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 1.0, time=0.0, expires_at=5.0)
    book.submit("s2", SELL, 0.10, 1.0, time=0.0, expires_at=5.0)
    book.submit("b1", BUY, 0.10, 1.0, time=1.0)
    assert book.cancel("s2")
    assert book.expire(10.0) == []


def test_partly_filled_order_expires_with_its_rest():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 3.0, time=0.0, expires_at=5.0)
    book.submit("b1", BUY, 0.10, 1.0, time=1.0)
    assert book.expire(5.0) == ["s1"]
    assert book.best_ask() is None


def test_price_zero_is_a_price():
    book = OrderBook()
    book.submit("pv", SELL, 0.0, 2.0, time=0.0)
    assert book.best_ask() == (0.0, 2.0)
    assert book.submit("b1", BUY, 0.0, 1.0, time=1.0) == [T("b1", "pv", 0.0, 1.0, 1.0)]
    assert book.submit("b2", BUY, 0.05, 1.0, time=1.0) == [T("b2", "pv", 0.0, 1.0, 1.0)]


def test_an_id_can_be_reused_once_its_order_has_left_the_book():
    book = OrderBook()
    book.submit("x", SELL, 0.10, 1.0, time=0.0)
    book.submit("b", BUY, 0.10, 1.0, time=0.0)
    assert book.submit("x", SELL, 0.11, 1.0, time=1.0) == []
    assert book.resting("x") == 1.0


def test_remainder_below_epsilon_counts_as_filled():
    book = OrderBook()
    book.submit("s1", SELL, 0.10, 1.0, time=0.0)
    trades = book.submit("b1", BUY, 0.10, 1.0 - 1e-13, time=1.0)
    assert trades == [T("b1", "s1", 0.10, 1.0 - 1e-13, 1.0)]
    assert book.resting("s1") is None  # 1e-13 kWh of dust dropped
    assert len(book) == 0
    # the other way round: the incoming order's dust does not rest
    book.submit("s2", SELL, 0.10, 1.0 - 1e-13, time=2.0)
    assert book.submit("b2", BUY, 0.10, 1.0, time=3.0) == [T("b2", "s2", 0.10, 1.0 - 1e-13, 3.0)]
    assert book.resting("b2") is None
    assert QUANTITY_EPSILON == 1e-12


def test_a_party_buy_meeting_its_own_sell_trades_because_the_book_knows_ids_only():
    book = OrderBook()
    book.submit("home-7/sell", SELL, 0.10, 1.0, time=0.0)
    assert book.submit("home-7/buy", BUY, 0.10, 1.0, time=1.0) == [T("home-7/buy", "home-7/sell", 0.10, 1.0, 1.0)]


def test_tick_puts_equal_prices_on_one_level():
    book = OrderBook(tick=0.1)
    assert book.tick == 0.1
    book.submit("a", SELL, 0.1 + 0.2, 1.0, time=0.0)  # 0.30000000000000004 -> 3 ticks
    book.submit("b", SELL, 0.3, 1.0, time=0.0)
    assert book.best_ask() == (0.3, 2.0)
    assert book.submit("x", BUY, 0.3, 2.0, time=1.0) == [T("x", "a", 0.3, 1.0, 1.0), T("x", "b", 0.3, 1.0, 1.0)]


def test_without_tick_prices_are_exact_floats():
    book = OrderBook()
    book.submit("a", SELL, 0.1 + 0.2, 1.0, time=0.0)
    book.submit("b", SELL, 0.3, 1.0, time=0.0)
    assert book.depth(SELL) == [(0.3, 1.0), (0.1 + 0.2, 1.0)]


def test_integer_prices_quantities_and_times_are_accepted():
    book = OrderBook()
    book.submit("s", SELL, 10, 5, time=0)
    assert book.submit("b", BUY, 12, 2, time=1, expires_at=2) == [T("b", "s", 10.0, 2.0, 1.0)]
    assert book.clock == 1.0


def test_trade_is_frozen():
    trade = T("b", "s", 0.1, 1.0, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trade.price = 0.2  # type: ignore[misc]


# -- errors ----------------------------------------------------------------------------------------------------


GOOD = {"order_id": "o", "side": BUY, "price": 0.1, "quantity": 1.0, "time": 10.0, "expires_at": None}


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"price": math.nan}, "price"),
        ({"price": math.inf}, "price"),
        ({"price": -0.01}, "price"),
        ({"price": "0.1"}, "price"),
        ({"price": True}, "price"),
        ({"quantity": 0.0}, "quantity"),
        ({"quantity": -1.0}, "quantity"),
        ({"quantity": 1e-13}, "quantity"),
        ({"quantity": math.nan}, "quantity"),
        ({"quantity": math.inf}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"time": math.nan}, "time"),
        ({"time": math.inf}, "time"),
        ({"time": 4.0}, "time"),  # earlier than the clock (5.0)
        ({"expires_at": 10.0}, "expires_at"),  # expired at its own time
        ({"expires_at": 9.0}, "expires_at"),  # expired before its time
        ({"expires_at": math.nan}, "expires_at"),
        ({"side": "hold"}, "side"),
        ({"side": "BUY"}, "side"),
        ({"order_id": "resting"}, "order_id"),
        ({"order_id": 7}, "order_id"),
    ],
)
def test_invalid_orders_raise_cda_error_naming_the_field_and_change_nothing(change, field_name):
    book = OrderBook()
    book.submit("resting", SELL, 0.2, 1.0, time=5.0)
    args = {**GOOD, **change}
    with pytest.raises(CdaError) as info:
        book.submit(
            args["order_id"], args["side"], args["price"], args["quantity"],
            time=args["time"], expires_at=args["expires_at"],
        )
    assert info.value.field == field_name
    assert field_name in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TransactiveError)
    assert len(book) == 1
    assert book.best_ask() == (0.2, 1.0)
    assert book.best_bid() is None
    assert book.clock == 5.0


@pytest.mark.parametrize("tick", [0.0, -0.1, math.nan, math.inf, "0.1"])
def test_invalid_tick_is_rejected(tick):
    with pytest.raises(CdaError) as info:
        OrderBook(tick=tick)
    assert info.value.field == "tick"


def test_price_off_the_tick_grid_is_rejected():
    book = OrderBook(tick=0.05)
    with pytest.raises(CdaError) as info:
        book.submit("o", BUY, 0.12, 1.0, time=0.0)
    assert info.value.field == "price"
    assert book.submit("o", BUY, 0.15, 1.0, time=0.0) == []


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf, 4.0, "5"])
def test_expire_rejects_a_bad_or_earlier_time(now):
    book = OrderBook()
    book.expire(5.0)
    with pytest.raises(CdaError) as info:
        book.expire(now)
    assert info.value.field == "now"
    assert book.clock == 5.0


@pytest.mark.parametrize(
    ("side", "levels", "field_name"), [("hold", 1, "side"), (BUY, -1, "levels"), (BUY, 1.5, "levels")]
)
def test_depth_rejects_bad_arguments(side, levels, field_name):
    with pytest.raises(CdaError) as info:
        OrderBook().depth(side, levels)
    assert info.value.field == field_name


# -- reference model and random flows ---------------------------------------------------------------------------


@dataclass
class _RefOrder:
    order_id: str
    buy: bool
    price: float
    remaining: float
    expires_at: float | None
    seq: int


@dataclass
class Reference:
    """The rules, written as plainly as possible: sort the other side on every submit."""

    orders: list[_RefOrder] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    seq: int = 0

    def _retire(self, now: float) -> None:
        gone = sorted(
            (o for o in self.orders if o.expires_at is not None and o.expires_at <= now),
            key=lambda o: (o.expires_at, o.seq),
        )
        self.expired.extend(o.order_id for o in gone)
        self.orders = [o for o in self.orders if o not in gone]

    def submit(self, order_id, buy, price, quantity, time, expires_at):
        self._retire(time)
        if buy:
            other = sorted((o for o in self.orders if not o.buy and o.price <= price), key=lambda o: (o.price, o.seq))
        else:
            other = sorted((o for o in self.orders if o.buy and o.price >= price), key=lambda o: (-o.price, o.seq))
        trades = []
        left = quantity
        for o in other:
            fill = min(left, o.remaining)
            buy_id, sell_id = (order_id, o.order_id) if buy else (o.order_id, order_id)
            trades.append(T(buy_id, sell_id, o.price, fill, time))
            o.remaining -= fill
            left -= fill
            if o.remaining <= QUANTITY_EPSILON:
                self.orders.remove(o)
            if left <= QUANTITY_EPSILON:
                break
        if left > QUANTITY_EPSILON:
            self.orders.append(_RefOrder(order_id, buy, price, left, expires_at, self.seq))
            self.seq += 1
        return trades

    def cancel(self, order_id):
        for o in self.orders:
            if o.order_id == order_id:
                self.orders.remove(o)
                return True
        return False

    def expire(self, now):
        self._retire(now)
        out, self.expired = self.expired, []
        return out


PRICES = [0.0, 0.05, 0.08, 0.09, 0.10, 0.11, 0.12, 0.15]
QUANTITIES = st.one_of(
    st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    st.floats(min_value=0.001, max_value=10.0, allow_nan=False, allow_infinity=False),
)

submit_op = st.tuples(
    st.just("submit"),
    st.booleans(),  # buy?
    st.sampled_from(PRICES),
    QUANTITIES,
    st.sampled_from([0.0, 0.0, 0.5, 1.0]),  # time step
    st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 5.0])),  # lifetime
)
cancel_op = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=200))
expire_op = st.tuples(st.just("expire"), st.sampled_from([0.0, 0.5, 2.0]))
FLOWS = st.lists(st.one_of(submit_op, submit_op, submit_op, cancel_op, expire_op), max_size=80)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Ledger:
    """What happened to every order of a run, per order id (each submit gets a fresh id)."""

    limits: dict[str, tuple[bool, float]] = field(default_factory=dict)
    submitted: dict[str, float] = field(default_factory=dict)
    traded: dict[str, float] = field(default_factory=dict)
    cancelled: dict[str, float] = field(default_factory=dict)
    expired: dict[str, float] = field(default_factory=dict)
    trades: list[tuple[str, Trade]] = field(default_factory=list)  # (incoming id, trade)


def run(flow, book: OrderBook, *, check=None) -> Ledger:
    """Feed ``flow`` to ``book``; record a ledger; call ``check(book, ledger)`` after every step."""
    led = Ledger()
    ids: list[str] = []
    last_remaining: dict[str, float] = {}
    now = 0.0
    for step in flow:
        if step[0] == "submit":
            _, buy, price, qty, dt, life = step
            now += dt
            oid = f"o{len(ids)}"
            ids.append(oid)
            led.limits[oid] = (buy, price)
            led.submitted[oid] = qty
            trades = book.submit(oid, BUY if buy else SELL, price, qty, time=now,
                                 expires_at=None if life is None else now + life)
            for t in trades:
                led.trades.append((oid, t))
                led.traded[t.buy_id] = led.traded.get(t.buy_id, 0.0) + t.quantity
                led.traded[t.sell_id] = led.traded.get(t.sell_id, 0.0) + t.quantity
        elif step[0] == "cancel":
            if not ids:
                continue
            oid = ids[step[1] % len(ids)]
            before = book.resting(oid)
            assert book.cancel(oid) is (before is not None)
            if before is not None:
                led.cancelled[oid] = before
        else:
            now += step[1]
            for oid in book.expire(now):
                led.expired[oid] = last_remaining[oid]
        # an order's remaining quantity changes only through trades, and an expired order no longer trades
        # (submit retires expired orders before it matches), so the last remaining quantity seen is what expired
        for oid in ids:
            q = book.resting(oid)
            if q is not None:
                last_remaining[oid] = q
        if check is not None:
            check(book, led)
    for oid in book.expire(now):  # orders retired by the last submits, not yet reported
        led.expired[oid] = last_remaining[oid]
    return led


def _book_not_crossed(book: OrderBook, led: Ledger) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    if bid is not None and ask is not None:
        assert bid[0] < ask[0]


@PROPS
@given(FLOWS)
def test_quantity_is_conserved(flow):
    book = OrderBook()
    led = run(flow, book)
    buy_traded = sum(t.quantity for _, t in led.trades)
    for buy_side in (True, False):
        ids = [oid for oid, (b, _) in led.limits.items() if b is buy_side]
        accounted = sum(
            led.submitted[i] - (book.resting(i) or 0.0) - led.cancelled.get(i, 0.0) - led.expired.get(i, 0.0)
            for i in ids
        )
        assert math.isclose(accounted, buy_traded, rel_tol=1e-9, abs_tol=1e-9 + QUANTITY_EPSILON * len(ids))
    # and order by order: what it traded + what rests + what was cancelled or expired == what was submitted
    for oid, qty in led.submitted.items():
        parts = [
            led.traded.get(oid, 0.0), book.resting(oid) or 0.0, led.cancelled.get(oid, 0.0), led.expired.get(oid, 0.0)
        ]
        assert sum(1 for p in parts[1:] if p) <= 1  # rests, was cancelled or expired: at most one of them
        assert math.isclose(sum(parts), qty, rel_tol=1e-9, abs_tol=2 * QUANTITY_EPSILON)
        assert led.traded.get(oid, 0.0) <= qty * (1 + 1e-12)


@PROPS
@given(FLOWS)
def test_no_trade_at_a_price_worse_than_either_limit(flow):
    led = run(flow, OrderBook())
    for _, t in led.trades:
        assert led.limits[t.buy_id][0] is True
        assert led.limits[t.sell_id][0] is False
        assert t.price <= led.limits[t.buy_id][1]
        assert t.price >= led.limits[t.sell_id][1]
        assert t.quantity > 0.0


@PROPS
@given(FLOWS)
def test_the_book_never_ends_crossed(flow):
    run(flow, OrderBook(), check=_book_not_crossed)


@PROPS
@given(FLOWS)
def test_trades_are_at_the_resting_orders_price(flow):
    led = run(flow, OrderBook())
    for incoming, t in led.trades:
        resting = t.sell_id if t.buy_id == incoming else t.buy_id
        assert incoming in (t.buy_id, t.sell_id)
        assert resting != incoming
        assert t.price == led.limits[resting][1]


@PROPS
@given(FLOWS)
def test_book_agrees_with_the_reference_model(flow):
    book, ref = OrderBook(), Reference()
    ids: list[str] = []
    now = 0.0
    for step in flow:
        if step[0] == "submit":
            _, buy, price, qty, dt, life = step
            now += dt
            oid = f"o{len(ids)}"
            ids.append(oid)
            exp = None if life is None else now + life
            got = book.submit(oid, BUY if buy else SELL, price, qty, time=now, expires_at=exp)
            _assert_same_trades(got, ref.submit(oid, buy, price, qty, now, exp))
        elif step[0] == "cancel" and ids:
            oid = ids[step[1] % len(ids)]
            assert book.cancel(oid) == ref.cancel(oid)
        elif step[0] == "expire":
            now += step[1]
            assert book.expire(now) == ref.expire(now)
        assert len(book) == len(ref.orders)
        for o in ref.orders:
            assert book.resting(o.order_id) == pytest.approx(o.remaining, abs=1e-12)
        for side, buy in ((BUY, True), (SELL, False)):
            levels: dict[float, float] = {}
            for o in ref.orders:
                if o.buy is buy:
                    levels[o.price] = levels.get(o.price, 0.0) + o.remaining
            expected = sorted(levels.items(), reverse=buy)
            _assert_same_depth(book.depth(side, 100), expected)


def _assert_same_depth(got: list[tuple[float, float]], want: list[tuple[float, float]]) -> None:
    assert [p for p, _ in got] == [p for p, _ in want]
    assert [q for _, q in got] == pytest.approx([q for _, q in want], abs=1e-9)


def _assert_same_trades(got: list[Trade], want: list[Trade]) -> None:
    def key(t: Trade) -> tuple[str, str, float, float]:
        return t.buy_id, t.sell_id, t.price, t.time

    assert [key(t) for t in got] == [key(t) for t in want]
    assert [t.quantity for t in got] == pytest.approx([t.quantity for t in want], abs=1e-9)


@PROPS
@given(FLOWS, st.lists(st.tuples(st.integers(min_value=0, max_value=100), st.booleans(), st.booleans())))
def test_results_do_not_depend_on_interleaved_cancels_of_unrelated_orders(flow, noise):
    """Orders that can never trade, submitted and cancelled between the steps of a flow, change neither the
    flow's trades nor what rests, is cancelled or expires."""
    # Flow prices are 0..0.15: sells at 1000 never trade; buys at 0.0 never trade unless the flow sells at 0.0
    # (then the unrelated orders are all sells).
    has_zero_sell = any(s[0] == "submit" and not s[1] and s[2] == 0.0 for s in flow)
    inserts: dict[int, list[tuple[bool, bool]]] = {}
    for pos, as_buy, cancel_one in noise:
        inserts.setdefault(pos % (len(flow) + 1), []).append((as_buy and not has_zero_sell, cancel_one))

    def play(with_noise: bool) -> tuple[list[tuple[str, Trade]], list[bool], list[str], dict[str, float | None]]:
        book = OrderBook()
        trades: list[tuple[str, Trade]] = []
        cancels: list[bool] = []
        expired: list[str] = []
        ids: list[str] = []
        unrelated: list[str] = []
        serial = itertools.count()
        now = 0.0
        for k, step in enumerate([*flow, None]):
            for buy, cancel_one in inserts.get(k, []) if with_noise else []:
                if cancel_one and unrelated:
                    assert book.cancel(unrelated.pop(0))
                else:
                    uid = f"u{next(serial)}"
                    assert book.submit(uid, BUY if buy else SELL, 0.0 if buy else 1000.0, 1.0, time=now) == []
                    unrelated.append(uid)
            if step is None:
                break
            if step[0] == "submit":
                _, buy, price, qty, dt, life = step
                now += dt
                oid = f"o{len(ids)}"
                ids.append(oid)
                exp = None if life is None else now + life
                trades.extend((oid, t) for t in book.submit(oid, BUY if buy else SELL, price, qty, time=now,
                                                            expires_at=exp))
            elif step[0] == "cancel" and ids:
                cancels.append(book.cancel(ids[step[1] % len(ids)]))
            elif step[0] == "expire":
                now += step[1]
                expired.extend(book.expire(now))
        return trades, cancels, expired, {oid: book.resting(oid) for oid in ids}

    assert play(with_noise=True) == play(with_noise=False)


# -- bigger deterministic flows (exercise heap, queue and expiry compaction) ------------------------------------


def test_long_random_flow_with_heavy_cancelling_agrees_with_the_reference_model():
    rng = random.Random(2026)
    book, ref = OrderBook(tick=0.01), Reference()
    ids: list[str] = []
    now = 0.0
    for i in range(4000):
        r = rng.random()
        if r < 0.45 and ids:
            oid = ids[rng.randrange(len(ids))]
            assert book.cancel(oid) == ref.cancel(oid)
        elif r < 0.48:
            now += rng.random()
            assert book.expire(now) == ref.expire(now)
        else:
            now += rng.choice([0.0, 0.01])
            buy = rng.random() < 0.5
            price = round(max(0.0, rng.gauss(1.0, 0.3) + (-0.2 if buy else 0.2)), 2)
            qty = rng.choice([1.0, 2.0, rng.uniform(0.1, 5.0)])
            life = rng.choice([None, None, rng.uniform(0.1, 3.0)])
            exp = None if life is None else now + life
            oid = f"o{i}"
            ids.append(oid)
            got = book.submit(oid, BUY if buy else SELL, price, qty, time=now, expires_at=exp)
            _assert_same_trades(got, ref.submit(oid, buy, price, qty, now, exp))
        _book_not_crossed(book, Ledger())
    assert len(book) == len(ref.orders)
    _assert_same_depth(book.depth(BUY, 1000), sorted(_levels(ref, True).items(), reverse=True))
    _assert_same_depth(book.depth(SELL, 1000), sorted(_levels(ref, False).items()))


def test_many_cancelled_levels_far_from_the_top_do_not_disturb_the_best_prices():
    book = OrderBook()
    book.submit("top-bid", BUY, 50.0, 1.0, time=0.0)
    book.submit("top-ask", SELL, 60.0, 1.0, time=0.0)
    book.submit("deep", BUY, 1.0, 1.0, time=0.0)  # one order that stays at a busy level
    for i in range(5000):
        book.submit(f"b{i}", BUY, 10.0 + i % 37, 1.0, time=0.0)
        book.submit(f"d{i}", BUY, 1.0, 1.0, time=0.0, expires_at=1.0 + i)
        book.submit(f"s{i}", SELL, 100.0 + i, 1.0, time=0.0)
        assert book.cancel(f"b{i}")
        assert book.cancel(f"s{i}")
        assert book.cancel(f"d{i}")
    assert len(book) == 3
    assert book.best_bid() == (50.0, 1.0)
    assert book.best_ask() == (60.0, 1.0)
    assert book.depth(BUY) == [(50.0, 1.0), (1.0, 1.0)]
    assert book.expire(1e6) == []
    assert book.submit("x", SELL, 0.0, 3.0, time=1e6) == [
        T("top-bid", "x", 50.0, 1.0, 1e6),
        T("deep", "x", 1.0, 1.0, 1e6),
    ]
    assert book.best_ask() == (0.0, 1.0)


def _levels(ref: Reference, buy: bool) -> dict[float, float]:
    out: dict[float, float] = {}
    for o in ref.orders:
        if o.buy is buy:
            out[o.price] = out.get(o.price, 0.0) + o.remaining
    return out


def test_infinite_expiry_means_never():
    book = OrderBook()
    book.submit("s", SELL, 0.1, 1.0, time=0.0, expires_at=math.inf)
    assert book.expire(1e300) == []
    assert book.resting("s") == 1.0
