"""Hierarchical (fractal) markets: local clearing, aggregate orders, main grid, uniform price correction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transactive.market import ClearingResult, MarketError, Orders, ReservePrices
from transactive.market.hierarchy import AggregatePrice, HierarchyResult, MarketNode, NodeReport, clear_hierarchy
from transactive.market.strategies import AAParams, grid_limits, run_rounds

BAND = ReservePrices.paper()  # P_gb = 0.189, P_gs = 0.032


def _two_microgrids() -> MarketNode:
    # MG1: buys 2 kWh at <= 0.15, sells 5 kWh at >= 0.05 -> 2 kWh locally at (0.15 + 0.05) / 2 = 0.10, 3 kWh surplus
    mg1 = MarketNode("MG1", Orders.from_records([("buy", 0.15, 2.0), ("sell", 0.05, 5.0)]))
    # MG2: buyers 2 kWh at 0.12 and 3 kWh at 0.11, seller 1 kWh at 0.08 -> 1 kWh locally at (0.12 + 0.08) / 2 = 0.10
    #      (the first buyer gets 1 of its 2 kWh), 4 kWh deficit
    mg2 = MarketNode("MG2", Orders.from_records([("buy", 0.12, 2.0), ("buy", 0.11, 3.0), ("sell", 0.08, 1.0)]))
    return MarketNode("peers", None, [mg1, mg2])


def _check_conservation(out: HierarchyResult) -> None:
    for r in out.nodes.values():
        m = r.market
        # every order's energy is matched locally, with peers or with the grid
        np.testing.assert_allclose(r.row_local + r.row_peers + r.row_grid, m.quantity, rtol=0, atol=1e-9)
        # locally, the buy side matches the sell side
        assert r.row_local[m.is_buy].sum() == pytest.approx(r.row_local[~m.is_buy].sum(), abs=1e-9)
        # the energy sent up is the aggregate order
        assert r.row_up[m.is_buy].sum() == pytest.approx(r.up_buy, abs=1e-9)
        assert r.row_up[~m.is_buy].sum() == pytest.approx(r.up_sell, abs=1e-9)
        # uniform price correction: what members pay / receive upstairs is what the aggregate paid / received
        up_b = r.row_money_peers[m.is_buy].sum() + r.row_money_grid[m.is_buy].sum()
        up_s = r.row_money_peers[~m.is_buy].sum() + r.row_money_grid[~m.is_buy].sum()
        assert up_b == pytest.approx(r.up_buy_totals.money, abs=1e-9)
        assert up_s == pytest.approx(r.up_sell_totals.money, abs=1e-9)
        assert r.row_up[m.is_buy].sum() == pytest.approx(r.up_buy_totals.energy, abs=1e-9)
    # the system's net payments are the main grid's money
    net = sum(float(r.payments.sum()) for r in out.nodes.values())
    assert net == pytest.approx(out.grid_paid - out.grid_received, abs=1e-9)
    # each level: energy matched is conserved per side
    for level in out.levels:
        assert level.quantity == pytest.approx(sum(out.nodes[n].matched for n in level.nodes))


def test_two_microgrids_hand_computed() -> None:
    out = clear_hierarchy(_two_microgrids(), reserve=BAND)
    mg1, mg2, peers = out.nodes["MG1"], out.nodes["MG2"], out.nodes["peers"]
    assert mg1.result.price == pytest.approx(0.10)
    assert mg2.result.price == pytest.approx(0.10)
    assert (mg1.up_sell, mg1.up_buy, mg2.up_buy, mg2.up_sell) == pytest.approx((3.0, 0.0, 4.0, 0.0))
    # the peers' market: MG1 sells 3 at P_gs, MG2 buys 4 at P_gb -> 3 kWh at (0.189 + 0.032) / 2 = 0.1105
    assert peers.result.price == pytest.approx(0.1105)
    assert peers.matched == pytest.approx(3.0)
    assert out.grid_import == pytest.approx(1.0)
    assert out.grid_export == pytest.approx(0.0)
    # MG1's seller: 2 kWh locally at 0.10 and 3 kWh with peers at 0.1105
    assert mg1.sold.local == pytest.approx(2.0)
    assert mg1.sold.peers == pytest.approx(3.0)
    assert mg1.sold.money == pytest.approx(0.2 + 0.3315)
    # MG2's aggregate: 3 kWh from peers at 0.1105 and 1 kWh from the grid at 0.189 = 0.5205 for 4 kWh
    assert mg2.up_buy_totals.money == pytest.approx(0.5205)
    upstream = 0.5205 / 4  # the uniform price correction: every upstream kWh at 0.130125
    assert mg2.payments.tolist() == pytest.approx([1 * 0.10 + 1 * upstream, 3 * upstream, -0.10])
    assert mg2.bought.peers == pytest.approx(3.0)
    assert mg2.bought.grid == pytest.approx(1.0)
    assert mg2.bought.money_grid == pytest.approx(0.189)
    _check_conservation(out)


def test_two_microgrids_levels_report_quantity_and_average_price() -> None:
    out = clear_hierarchy(_two_microgrids(), reserve=BAND)
    assert [lv.depth for lv in out.levels] == [0, 1]
    top, micro = out.levels
    assert top.quantity == pytest.approx(3.0)
    assert top.average_price == pytest.approx(0.1105)
    assert micro.nodes == ("MG1", "MG2")
    assert micro.quantity == pytest.approx(3.0)
    assert micro.average_price == pytest.approx(0.10)


def test_aggregate_price_limit_uses_the_tightest_member_limit() -> None:
    out = clear_hierarchy(_two_microgrids(), reserve=BAND, aggregate_price=AggregatePrice.LIMIT)
    mg1, mg2, peers = out.nodes["MG1"], out.nodes["MG2"], out.nodes["peers"]
    assert mg1.up_sell_price == pytest.approx(0.05)
    assert mg2.up_buy_price == pytest.approx(0.11)  # the lowest unmatched buy limit
    assert peers.result.price == pytest.approx((0.11 + 0.05) / 2)
    _check_conservation(out)


def test_microgrid_with_only_producers_sells_everything_upstream() -> None:
    producers = MarketNode("solar", Orders.from_records([("sell", 0.04, 2.0), ("sell", 0.06, 1.0)]))
    consumers = MarketNode("homes", Orders.from_records([("buy", 0.18, 1.5)]))
    out = clear_hierarchy(MarketNode("town", None, [producers, consumers]), reserve=BAND)
    solar = out.nodes["solar"]
    assert solar.matched == 0.0
    assert solar.result.price is None
    assert solar.up_sell == pytest.approx(3.0)
    assert solar.sold.peers == pytest.approx(1.5)
    assert solar.sold.grid == pytest.approx(1.5)
    # every producer's kWh gets the same upstream price: (1.5 * 0.1105 + 1.5 * 0.032) / 3
    per_kwh = (1.5 * 0.1105 + 1.5 * BAND.grid_sell) / 3
    assert solar.payments.tolist() == pytest.approx([-2 * per_kwh, -1 * per_kwh])
    assert out.grid_export == pytest.approx(1.5)
    _check_conservation(out)


def test_microgrid_with_nothing_to_trade_reports_zeros() -> None:
    empty = MarketNode("empty")
    balanced = MarketNode("balanced", Orders.from_records([("buy", 0.1, 1.0), ("sell", 0.1, 1.0)]))
    out = clear_hierarchy(MarketNode("top", None, [empty, balanced]), reserve=BAND)
    e = out.nodes["empty"]
    assert len(e.market) == 0
    assert (e.up_buy, e.up_sell, e.matched) == (0.0, 0.0, 0.0)
    assert e.bought.energy == 0.0
    assert e.bought.average_price is None
    top = out.nodes["top"]
    assert len(top.market) == 0  # the balanced microgrid had nothing left to send up
    assert out.grid_import == 0.0
    assert out.grid_export == 0.0
    assert out.nodes["balanced"].bought.average_price == pytest.approx(0.1)
    _check_conservation(out)


def test_three_levels_route_through_the_middle_market() -> None:
    a = MarketNode("a", Orders.from_records([("sell", 0.05, 4.0)]))
    b = MarketNode("b", Orders.from_records([("buy", 0.15, 1.0)]))
    c = MarketNode("c", Orders.from_records([("buy", 0.17, 2.0)]))
    town = MarketNode("town", Orders.from_records([("buy", 0.14, 0.5)]), [a, b])
    region = MarketNode("region", None, [town, c])
    out = clear_hierarchy(region, reserve=BAND)
    town_r = out.nodes["town"]
    # the town's own buyer (0.14) and b's aggregate (P_gb) buy 1.5 of a's 4 kWh surplus (offered at P_gs)
    assert town_r.own == 1
    assert town_r.aggregate_of == ("a", "b")
    assert town_r.matched == pytest.approx(1.5)
    assert town_r.result.price == pytest.approx((0.14 + BAND.grid_sell) / 2)
    assert town_r.up_sell == pytest.approx(2.5)
    # the region: town sells 2.5, c buys 2 -> 2 kWh at the midpoint of the grid prices, 0.5 kWh to the grid
    assert out.nodes["region"].matched == pytest.approx(2.0)
    assert out.grid_export == pytest.approx(0.5)
    assert out.grid_import == pytest.approx(0.0)
    a_r = out.nodes["a"]
    assert a_r.sold.local == 0.0
    assert a_r.sold.peers == pytest.approx(3.5)  # 1.5 in the town's market + 2 in the region's
    assert a_r.sold.grid == pytest.approx(0.5)
    assert [lv.depth for lv in out.levels] == [0, 1, 2]
    _check_conservation(out)


def test_names_must_be_unique() -> None:
    with pytest.raises(MarketError) as err:
        clear_hierarchy(MarketNode("x", None, [MarketNode("y"), MarketNode("y")]))
    assert err.value.field == "name"


def test_limits_outside_the_reserve_band_are_refused() -> None:
    with pytest.raises(MarketError):
        clear_hierarchy(MarketNode("x", Orders.from_records([("buy", 0.5, 1.0), ("sell", 0.1, 1.0)])), reserve=BAND)


def test_custom_clearer_aa_rounds_in_full_overlap_mode_conserves() -> None:
    rng = np.random.default_rng(4)

    def aa(orders: Orders, name: str) -> ClearingResult:
        return run_rounds(orders, band=BAND, rng=rng, params=AAParams(max_rounds=10), matching="full-overlap").result

    mgs = [
        MarketNode(f"MG{i}", grid_limits([True, False, True], rng.uniform(0.1, 2.0, 3), BAND)) for i in range(3)
    ]
    out = clear_hierarchy(MarketNode("all", None, mgs), reserve=BAND, clearer=aa)
    for name in ("MG0", "MG1", "MG2"):
        r = out.nodes[name]
        assert min(r.up_buy, r.up_sell) == pytest.approx(0.0, abs=1e-12)  # full overlap: one side only
    _check_conservation(out)


def _orders(draw: st.DrawFn) -> Orders | None:
    n = draw(st.integers(0, 4))
    if n == 0:
        return None
    buy = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    price = draw(st.lists(st.floats(BAND.grid_sell, BAND.grid_buy), min_size=n, max_size=n))
    qty = draw(st.lists(st.floats(0.01, 5.0), min_size=n, max_size=n))
    return Orders.from_columns(is_buy=buy, price=price, quantity=qty)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0, prefix: str = "n") -> MarketNode:
    kids = draw(st.integers(0, 3 if depth < 2 else 0))
    children = [draw(trees(depth + 1, f"{prefix}.{i}")) for i in range(kids)]
    return MarketNode(prefix, _orders(draw), children)


@settings(max_examples=80, deadline=None)
@given(root=trees(), full=st.booleans(), limit_price=st.booleans())
def test_hierarchy_conserves_energy_and_money_at_any_depth(root: MarketNode, full: bool, limit_price: bool) -> None:
    out = clear_hierarchy(
        root,
        reserve=BAND,
        matching="full-overlap" if full else "crossing",
        aggregate_price=AggregatePrice.LIMIT if limit_price else AggregatePrice.GRID,
    )
    _check_conservation(out)
    own: list[NodeReport] = list(out.nodes.values())
    demand = sum(float(r.market.quantity[: r.own][r.market.is_buy[: r.own]].sum()) for r in own)
    bought = sum(r.bought.energy for r in own)
    assert bought == pytest.approx(demand, abs=1e-9)
