"""Periodic double auctions: worked examples with hand-computed answers, then properties (hypothesis).

Prices in the worked examples are in cents and quantities whole kWh, so every answer is exact in binary
floating point and compared with ``==``. The properties use arbitrary floats where the claim is an
inequality, and multiples of 1/4 kWh (exact sums) where it is an identity between two clearings.

Float tolerances: sums of fills and of money are compared with ``math.isclose(rel_tol=1e-9, abs_tol=1e-9)``
-- the quantities are at most 10^3 kWh and at most 40 orders, so rounding in a cumulative sum stays below
~1e-12 relative; 1e-9 leaves three orders of magnitude of room and still catches any real imbalance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transactive.market import MarketError, Orders, ReservePrices, clear, clear_intervals

TOL = {"rel_tol": 1e-9, "abs_tol": 1e-9}


def book(*rows: tuple[str, float, float]) -> Orders:
    return Orders.from_records(rows)


# ------------------------------------------------------------------------------------------ examples

# bids 20c x3, 15c x4, 10c x5; offers 5c x2, 12c x4, 18c x5.
# demand at >= 20: 3, >= 15: 7, >= 10: 12; supply at <= 20: 11, <= 15: 6, <= 10: 2 -> matched 6
# (at 15c: min(7, 6)). Bids 20c full (3) and 15c partly (3 of 4); offers 5c (2) and 12c (4) full.
# lowest accepted bid 15, highest accepted offer 12: price (15 + 12) / 2 = 13.5.
NORMAL = (("buy", 20, 3), ("buy", 15, 4), ("buy", 10, 5), ("sell", 5, 2), ("sell", 12, 4), ("sell", 18, 5))


def test_normal_crossing_fills_the_marginal_bid_in_part() -> None:
    r = clear(book(*NORMAL))
    assert r.quantity == 6
    assert r.fills.tolist() == [3, 3, 0, 2, 4, 0]
    assert r.price == 13.5
    assert (r.lowest_accepted_bid, r.highest_accepted_offer) == (15, 12)
    assert r.matched_orders == 4
    assert np.isnan(r.prices[[2, 5]]).all()
    assert r.prices[[0, 1, 3, 4]].tolist() == [13.5] * 4
    assert r.as_dict()["price"] == 13.5
    assert r.payments(book(*NORMAL)).tolist() == [40.5, 40.5, 0, -27, -54, 0]


def test_the_marginal_offer_is_filled_in_part() -> None:
    # bids 30c x5; offers 10c x2, 20c x6: matched 5, the 20c offer gets 3 of 6; price (30 + 20) / 2 = 25
    r = clear(book(("buy", 30, 5), ("sell", 10, 2), ("sell", 20, 6)))
    assert r.fills.tolist() == [5, 2, 3]
    assert r.price == 25


def test_tie_at_the_margin_goes_to_the_earlier_order_under_time_priority() -> None:
    # two bids at 10c for 2 each, one offer at 8c for 3: the first-come bid gets 2, the other 1
    orders = book(("buy", 10, 2), ("buy", 10, 2), ("sell", 8, 3))
    r = clear(orders, tie_rule="time")
    assert r.fills.tolist() == [2, 1, 3]
    assert r.price == 9
    later_first = Orders.from_columns(
        is_buy=orders.is_buy, price=orders.price, quantity=orders.quantity, time=[5, 1, 0]
    )
    assert clear(later_first).fills.tolist() == [1, 2, 3]  # time stamps, not positions, decide


def test_tie_at_the_margin_is_shared_in_proportion_under_pro_rata() -> None:
    # 1 kWh and 3 kWh bid at 10c share the 2 kWh offered: 0.5 and 1.5
    r = clear(book(("buy", 10, 1), ("buy", 10, 3), ("sell", 8, 2)), tie_rule="pro-rata")
    assert r.fills.tolist() == [0.5, 1.5, 2]
    assert r.matched_orders == 3
    # a better price is served first; the rest (2 of 3) is shared at the marginal level 1:3
    r = clear(book(("buy", 10, 1), ("buy", 12, 1), ("buy", 10, 3), ("sell", 8, 3)), tie_rule="pro-rata")
    assert r.fills.tolist() == [0.5, 1, 1.5, 3]
    # sellers share too: two offers at 5c for 2 and 6, a bid for 4 -> 1 and 3
    r = clear(book(("sell", 5, 2), ("sell", 5, 6), ("buy", 9, 4)), tie_rule="pro-rata")
    assert r.fills.tolist() == [1, 3, 4]
    assert r.price == 7


def test_equal_bid_and_offer_prices_trade() -> None:
    r = clear(book(("buy", 10, 2), ("sell", 10, 1)))
    assert (r.quantity, r.price, r.matched_orders) == (1, 10, 2)
    assert r.fills.tolist() == [1, 1]


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_one_sided_book_does_not_trade(side: str) -> None:
    r = clear(book((side, 10, 2), (side, 12, 1)))
    assert (r.price, r.quantity, r.matched_orders) == (None, 0, 0)
    assert (r.lowest_accepted_bid, r.highest_accepted_offer) == (None, None)
    assert r.fills.tolist() == [0, 0]
    assert np.isnan(r.prices).all()


def test_an_empty_book_does_not_trade() -> None:
    r = clear(Orders.from_columns(is_buy=[], price=[], quantity=[]))
    assert (r.price, r.quantity, r.matched_orders) == (None, 0, 0)
    assert r.fills.shape == (0,)
    assert r.as_dict() == {
        "price": None,
        "quantity": 0,
        "matched_orders": 0,
        "lowest_accepted_bid": None,
        "highest_accepted_offer": None,
        "grid_import": 0,
        "grid_export": 0,
    }


def test_no_trade_when_the_best_bid_is_below_the_best_offer() -> None:
    r = clear(book(("buy", 9, 5), ("buy", 7, 5), ("sell", 10, 5), ("sell", 11, 5)))
    assert (r.price, r.quantity, r.matched_orders) == (None, 0, 0)
    assert np.isnan(r.prices).all()


def test_pay_as_bid_prices_each_order_at_its_limit_and_leaves_a_surplus() -> None:
    orders = book(*NORMAL)
    r = clear(orders, mechanism="pay-as-bid")
    assert r.quantity == 6
    assert r.fills.tolist() == [3, 3, 0, 2, 4, 0]
    assert r.prices[[0, 1, 3, 4]].tolist() == [20, 15, 5, 12]
    paid = r.payments(orders)
    assert paid.tolist() == [60, 45, 0, -10, -48, 0]
    assert paid.sum() == 47  # buyers pay 105, sellers get 58: the surplus stays with the market operator
    assert r.price == 105 / 6  # the buyers' volume-weighted average
    assert clear(orders).payments(orders).sum() == 0  # uniform price: budget balanced


def test_full_overlap_matches_min_of_demand_and_supply_whatever_the_prices() -> None:
    orders = book(("buy", 5, 4), ("sell", 10, 3))
    assert clear(orders).quantity == 0
    r = clear(orders, matching="full-overlap")
    assert r.quantity == 3
    assert r.fills.tolist() == [3, 3]
    assert r.price == 7.5  # still equation (1): (lowest accepted bid 5 + highest accepted offer 10) / 2
    # more supply than demand: every bid is filled, the offers in price order
    r = clear(book(("buy", 5, 2), ("sell", 12, 3), ("sell", 10, 3)), matching="full-overlap")
    assert r.fills.tolist() == [2, 0, 2]
    assert r.price == 7.5


def test_reserve_prices_send_the_unmatched_rest_to_the_grid() -> None:
    grid = ReservePrices(grid_buy=18.9, grid_sell=3.2)  # pence per kWh, as in the paper
    r = clear(book(("buy", 15, 4), ("sell", 10, 3), ("sell", 12, 5)), reserve=grid)
    assert (r.quantity, r.grid_import, r.grid_export) == (4, 0, 4)  # 8 offered, 4 sold locally
    r = clear(book(("buy", 15, 6), ("sell", 10, 2)), reserve=grid)
    assert (r.quantity, r.grid_import, r.grid_export) == (2, 4, 0)
    assert r.as_dict()["grid_import"] == 4
    assert clear(book(("buy", 15, 6), ("sell", 10, 2))).grid_import == 0  # no grid, no import
    assert ReservePrices.paper() == ReservePrices(grid_buy=0.189, grid_sell=0.032)


def test_reserve_prices_refuse_orders_outside_the_band_naming_the_order() -> None:
    grid = ReservePrices(grid_buy=18.9, grid_sell=3.2)
    with pytest.raises(MarketError) as info:
        clear(book(("buy", 15, 1), ("sell", 5, 1), ("buy", 19, 1)), reserve=grid)
    assert (info.value.field, info.value.index) == ("price", 2)
    assert "order 2" in str(info.value)
    with pytest.raises(MarketError) as info:
        clear(book(("sell", 5, 1), ("sell", 3, 1)), reserve=grid)
    assert (info.value.field, info.value.index) == ("price", 1)
    # the band itself is closed: bids at the grid's selling price and offers at its buying price are fine
    assert clear(book(("buy", 18.9, 1), ("sell", 3.2, 1)), reserve=grid).quantity == 1


@pytest.mark.parametrize(("buy", "sell"), [(3.2, 18.9), (5.0, 5.0), (math.inf, 1.0), (1.0, math.nan)])
def test_reserve_prices_must_be_a_finite_band(buy: float, sell: float) -> None:
    with pytest.raises(MarketError) as info:
        ReservePrices(grid_buy=buy, grid_sell=sell)
    assert info.value.field == "reserve"


def test_orders_are_validated_naming_the_order() -> None:
    with pytest.raises(MarketError) as info:
        book(("buy", 1, 1), ("sell", 1, 0))
    assert (info.value.field, info.value.index) == ("quantity", 1)
    with pytest.raises(MarketError) as info:
        book(("buy", math.nan, 1))
    assert (info.value.field, info.value.index) == ("price", 0)
    with pytest.raises(MarketError) as info:
        book(("hold", 1, 1))
    assert info.value.field == "side"


def test_no_phantom_fill_past_the_crossing_point() -> None:
    # found by the limit-price property: 1.0 - 0.3268... + 0.3268... rounds below 1.0, and the bid at 0
    # (past the crossing point) got a fill of 5.6e-17 that dragged the clearing price above its limit
    orders = book(("sell", 1.0, 1.0), ("buy", 0.0, 1.0), ("buy", 1.0, 0.326849704619354))
    r = clear(orders)
    assert r.fills.tolist() == [0.326849704619354, 0.0, 0.326849704619354]
    assert r.price == 1.0
    assert r.matched_orders == 2


def test_clear_intervals_clears_each_interval_on_its_own() -> None:
    orders = book(("buy", 10, 1), ("sell", 5, 1), ("buy", 20, 2), ("sell", 30, 1), ("sell", 10, 4))
    out = clear_intervals(orders, np.array([2, 2, 1, 1, 1]))
    assert [key for key, _, _ in out] == [1, 2]
    (_, first, at1), (_, second, at2) = out
    assert at1.tolist() == [2, 3, 4]
    assert (first.quantity, first.price) == (2, 15)
    assert at2.tolist() == [0, 1]
    assert (second.quantity, second.price) == (1, 7.5)
    with pytest.raises(MarketError):
        clear_intervals(orders, np.array([1, 2]))


# ---------------------------------------------------------------------------------------- properties

finite_prices = st.floats(min_value=-100, max_value=1000, allow_nan=False, allow_infinity=False)
finite_quantities = st.floats(min_value=1e-3, max_value=1000, allow_nan=False, allow_infinity=False)
grid_prices = st.integers(min_value=1, max_value=12).map(float)  # few levels: many ties
quarter_quantities = st.integers(min_value=1, max_value=400).map(lambda k: k / 4)  # sums are exact


@st.composite
def order_books(draw: st.DrawFn, prices: st.SearchStrategy[float] = finite_prices,
                quantities: st.SearchStrategy[float] = finite_quantities, distinct_times: bool = True) -> Orders:
    n = draw(st.integers(min_value=0, max_value=40))
    is_buy = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    price = draw(st.lists(prices, min_size=n, max_size=n))
    quantity = draw(st.lists(quantities, min_size=n, max_size=n))
    if distinct_times:
        time = draw(st.permutations(range(n)))
    else:
        time = draw(st.lists(st.integers(min_value=0, max_value=3), min_size=n, max_size=n))
    return Orders.from_columns(is_buy=is_buy, price=price, quantity=quantity, time=np.asarray(time, dtype=np.int64))


options = st.fixed_dictionaries(
    {"mechanism": st.sampled_from(["uniform", "pay-as-bid"]), "tie_rule": st.sampled_from(["time", "pro-rata"])}
)
any_books = st.one_of(order_books(), order_books(grid_prices, quarter_quantities, distinct_times=False))


def sums(orders: Orders, fills: np.ndarray) -> tuple[float, float]:
    return float(fills[orders.is_buy].sum()), float(fills[~orders.is_buy].sum())


@settings(max_examples=300)
@given(any_books, options)
def test_nobody_trades_beyond_their_limit_price(orders: Orders, opts: dict[str, str]) -> None:
    r = clear(orders, **opts)
    matched = r.fills > 0
    assert np.all(r.prices[matched & orders.is_buy] <= orders.price[matched & orders.is_buy])
    assert np.all(r.prices[matched & ~orders.is_buy] >= orders.price[matched & ~orders.is_buy])
    if r.price is not None:
        assert r.lowest_accepted_bid is not None
        assert r.highest_accepted_offer is not None
        assert r.highest_accepted_offer <= r.lowest_accepted_bid


@settings(max_examples=300)
@given(any_books, st.sampled_from(["time", "pro-rata"]))
def test_uniform_price_balances_the_budget(orders: Orders, tie_rule: str) -> None:
    r = clear(orders, tie_rule=tie_rule)
    money = r.payments(orders)
    paid, received = float(money[orders.is_buy].sum()), float(-money[~orders.is_buy].sum())  # prices may be < 0
    assert math.isclose(paid, received, **TOL)
    if r.price is not None:
        assert math.isclose(paid, r.price * r.quantity, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, abs(r.price)))


@settings(max_examples=300)
@given(any_books, options, st.sampled_from(["crossing", "full-overlap"]))
def test_quantity_is_conserved(orders: Orders, opts: dict[str, str], matching: str) -> None:
    r = clear(orders, matching=matching, **opts)
    bought, sold = sums(orders, r.fills)
    assert math.isclose(bought, r.quantity, **TOL)
    assert math.isclose(sold, r.quantity, **TOL)
    assert np.all(r.fills >= 0)
    assert np.all(r.fills <= orders.quantity)
    assert r.matched_orders == int(np.count_nonzero(r.fills))
    demand, supply = sums(orders, orders.quantity)
    assert r.quantity <= min(demand, supply) * (1 + 1e-12)
    if matching == "full-overlap" and demand > 0 and supply > 0:
        assert math.isclose(r.quantity, min(demand, supply), **TOL)


@settings(max_examples=200)
@given(any_books, options)
def test_nothing_matches_when_the_best_bid_is_below_the_best_offer(orders: Orders, opts: dict[str, str]) -> None:
    bids, offers = orders.price[orders.is_buy], orders.price[~orders.is_buy]
    r = clear(orders, **opts)
    if bids.size and offers.size and bids.max() < offers.min():
        assert (r.quantity, r.price, r.matched_orders) == (0, None, 0)
        assert not r.fills.any()
    elif bids.size and offers.size:
        assert r.quantity > 0  # and conversely: a crossing book trades


@settings(max_examples=300)
@given(order_books(), options, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(orders: Orders, opts: dict[str, str], rnd: object) -> None:
    # distinct time stamps travel with their orders: the same orders in any input order fill the same
    perm = np.arange(len(orders))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    a = clear(orders, **opts)
    b = clear(orders.take(perm), **opts)
    assert b.fills.tolist() == a.fills[perm].tolist()
    assert (b.price, b.quantity, b.matched_orders) == (a.price, a.quantity, a.matched_orders)


@settings(max_examples=300)
@given(order_books(grid_prices, quarter_quantities, distinct_times=False), st.randoms(use_true_random=False))
def test_pro_rata_does_not_even_depend_on_time(orders: Orders, rnd: object) -> None:
    # pro rata shares each price level in proportion to size, so time stamps and input order do not matter
    # (up to rounding in the shares)
    perm = np.arange(len(orders))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    shuffled = Orders.from_columns(
        is_buy=orders.is_buy[perm], price=orders.price[perm], quantity=orders.quantity[perm]
    )
    a = clear(orders, tie_rule="pro-rata")
    b = clear(shuffled, tie_rule="pro-rata")
    assert np.allclose(b.fills, a.fills[perm], rtol=1e-12, atol=1e-12)
    assert (b.price, b.quantity) == (a.price, a.quantity)


@settings(max_examples=300)
@given(order_books(grid_prices, quarter_quantities, distinct_times=False), options)
def test_clearing_is_idempotent(orders: Orders, opts: dict[str, str]) -> None:
    first = clear(orders, **opts)
    again = clear(orders, **opts)
    assert (again.price, again.quantity, again.matched_orders) == (first.price, first.quantity, first.matched_orders)
    assert np.array_equal(again.fills, first.fills)
    assert np.array_equal(again.prices, first.prices, equal_nan=True)
    # the matched part alone (each order cut to its fill, time stamps kept) clears at the same price
    matched = np.flatnonzero(first.fills > 0)
    part = Orders.from_columns(
        is_buy=orders.is_buy[matched],
        price=orders.price[matched],
        quantity=first.fills[matched],
        time=orders.time[matched],
    )
    second = clear(part, **opts)
    assert math.isclose(second.quantity, first.quantity, **TOL)
    if opts["tie_rule"] == "time":  # pro-rata shares need not be multiples of 1/4: compare with a tolerance
        assert second.quantity == first.quantity
        assert second.fills.tolist() == part.quantity.tolist()  # everything matches again, in full
    if first.price is None:
        assert second.price is None
    else:
        assert second.price is not None
        assert math.isclose(second.price, first.price, **TOL)


@settings(max_examples=300)
@given(any_books, st.sampled_from(["crossing", "full-overlap"]))
def test_pro_rata_fills_never_exceed_order_sizes(orders: Orders, matching: str) -> None:
    r = clear(orders, tie_rule="pro-rata", matching=matching)
    assert np.all(r.fills <= orders.quantity)
    assert np.all(r.fills >= 0)
    # at most one price level per side is filled in part, and its orders get the same fraction
    for side in (orders.is_buy, ~orders.is_buy):
        partial = side & (r.fills > 0) & (r.fills < orders.quantity)
        if partial.any():
            assert np.unique(orders.price[partial]).size == 1
            level = side & (orders.price == orders.price[partial][0])
            share = r.fills[level] / orders.quantity[level]
            assert np.allclose(share, share[0], rtol=1e-9, atol=0)
