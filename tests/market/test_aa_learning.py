"""AA as the paper reproduction reads it: the inverse bid curve, learning from the outcome, consensus, paper()."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transactive.market import MarketError, Orders, ReservePrices
from transactive.market.strategies import (
    AAParams,
    AAVariant,
    FreeMove,
    LearningRule,
    StopRule,
    aggressiveness_for,
    curve_prices,
    filled_orders,
    grid_limits,
    run_rounds,
    update_aggressiveness,
)

BAND = ReservePrices.paper()
M_LOW, M_HIGH = BAND.grid_sell, BAND.grid_buy
prices = st.floats(min_value=M_LOW, max_value=M_HIGH, allow_nan=False)
aggressiveness = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


def _curve(r: float, buy: bool, limit: float, mcp: float, variant: AAVariant) -> float:
    return float(curve_prices(np.array([r]), np.array([buy]), np.array([limit]), mcp, BAND, variant=variant)[0])


def _inverse(bid: float, buy: bool, limit: float, mcp: float, variant: AAVariant) -> float:
    return float(aggressiveness_for(np.array([bid]), np.array([buy]), np.array([limit]), mcp, BAND,
                                    variant=variant)[0])


# --- the inverse bid curve -------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(r=aggressiveness, buy=st.booleans(), limit=prices, mcp=prices, variant=st.sampled_from(list(AAVariant)))
def test_the_inverse_gives_back_the_bid(r: float, buy: bool, limit: float, mcp: float, variant: AAVariant) -> None:
    """Whatever r made a bid, the r the inverse finds makes the same bid (flat stretches have many r)."""
    bid = _curve(r, buy, limit, mcp, variant)
    back = _inverse(bid, buy, limit, mcp, variant)
    assert -1.0 <= back <= 1.0
    assert _curve(back, buy, limit, mcp, variant) == pytest.approx(bid, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(r=aggressiveness, buy=st.booleans(), mcp=st.floats(min_value=0.05, max_value=0.17))
def test_the_inverse_gives_back_r_where_the_text_curve_is_strictly_monotone(r: float, buy: bool, mcp: float) -> None:
    """The paper's agents are intramarginal with the grid prices as limits: there the curve is one-to-one."""
    limit = M_HIGH if buy else M_LOW
    bid = _curve(r, buy, limit, mcp, AAVariant.TEXT)
    assert _inverse(bid, buy, limit, mcp, AAVariant.TEXT) == pytest.approx(r, abs=1e-9)


def test_the_inverse_of_the_three_anchor_points() -> None:
    """r = -1 bids the far end of the band, r = 0 the MCP, r = +1 the own limit (text and Fig. 7)."""
    mcp = 0.10
    assert _inverse(M_LOW, True, M_HIGH, mcp, AAVariant.TEXT) == pytest.approx(-1.0)
    assert _inverse(mcp, True, M_HIGH, mcp, AAVariant.TEXT) == pytest.approx(0.0)
    assert _inverse(M_HIGH, True, M_HIGH, mcp, AAVariant.TEXT) == pytest.approx(1.0)
    assert _inverse(M_HIGH, False, M_LOW, mcp, AAVariant.TEXT) == pytest.approx(-1.0)
    assert _inverse(M_LOW, False, M_LOW, mcp, AAVariant.TEXT) == pytest.approx(1.0)


def test_the_printed_curve_inverse_picks_each_branch() -> None:
    """As printed, a buyer's r < 0 spans [m, MCP] and r >= 0 spans [MCP, l] backwards: both are found."""
    mcp = 0.10
    low = _curve(-0.5, True, M_HIGH, mcp, AAVariant.PRINTED)
    high = _curve(0.5, True, M_HIGH, mcp, AAVariant.PRINTED)
    assert low < mcp < high
    assert _inverse(low, True, M_HIGH, mcp, AAVariant.PRINTED) == pytest.approx(-0.5)
    assert _inverse(high, True, M_HIGH, mcp, AAVariant.PRINTED) == pytest.approx(0.5)


def test_an_extramarginal_buyer_bidding_its_limit_is_neutral() -> None:
    # limit 0.08 below the MCP 0.10: every r >= 0 bids the limit; the inverse returns the r closest to 0
    assert _inverse(0.08, True, 0.08, 0.10, AAVariant.TEXT) == 0.0


# --- learning from the outcome ---------------------------------------------------------------------------------

OUTCOME = AAParams(free_move=FreeMove.OUTCOME, step=0.1)


def _update(r: list[float], buy: list[bool], bids: list[float], mcp: float | None, demand: float, supply: float,
            filled: list[bool], params: AAParams = OUTCOME) -> list[float]:
    out = update_aggressiveness(r, buy, bids, mcp, demand, supply, params, np.random.default_rng(0), filled=filled)
    return [round(x, 12) for x in out.tolist()]


def test_outcome_a_filled_free_agent_keeps_its_aggressiveness() -> None:
    assert _update([0.3, -0.2], [True, False], [0.15, 0.09], 0.12, 2, 2, filled=[True, True]) == [0.3, -0.2]


def test_outcome_an_unfilled_free_agent_becomes_more_aggressive() -> None:
    # demand 3 > supply 1: the buyers are the long side; the one left unfilled steps up, the filled one keeps
    assert _update([0.0, 0.0], [True, True], [0.15, 0.11], 0.12, 3, 1, filled=[True, False]) == [0.0, 0.1]


def test_outcome_forced_agents_step_up_even_when_filled() -> None:
    # Algorithm 1, line 2: demand < supply and a bid below the MCP: must be more aggressive, filled or not
    assert _update([0.0], [True], [0.08], 0.10, 1, 2, filled=[True]) == [0.1]


def test_outcome_with_the_printed_seller_rule() -> None:
    params = AAParams(free_move=FreeMove.OUTCOME, rule=LearningRule.PRINTED)
    # demand > supply, ask below the MCP: forced by the printed line although it was filled
    assert _update([0.0, 0.0], [False, False], [0.08, 0.12], 0.10, 2, 1, [True, True], params) == [0.1, 0.0]


def test_text_rule_forces_the_long_sides_uncompetitive_agents() -> None:
    """Section IV: demand above supply forces buyers below the MCP; supply above demand, sellers above it."""
    text = AAParams(free_move=FreeMove.KEEP, rule=LearningRule.TEXT)
    buy, sell = [True, True, False, False], [0.08, 0.12, 0.08, 0.12]
    assert _update([0.0] * 4, buy, sell, 0.10, 3, 1, [True] * 4, text) == [0.1, 0.0, 0.0, 0.0]
    assert _update([0.0] * 4, buy, sell, 0.10, 1, 3, [True] * 4, text) == [0.0, 0.0, 0.0, 0.1]
    assert _update([0.0] * 4, buy, sell, 0.10, 2, 2, [True] * 4, text) == [0.0] * 4


@pytest.mark.parametrize(
    ("rule", "short_of_supply", "short_of_demand"),
    [
        # demand 3 > supply 1 | demand 1 < supply 3; agents: buyer below, buyer above, seller below, seller above
        (LearningRule.TEXT, [0.1, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.1]),
        (LearningRule.SYMMETRIC, [0.0, 0.0, 0.0, 0.1], [0.1, 0.0, 0.0, 0.0]),
        (LearningRule.PRINTED, [0.0, 0.0, 0.1, 0.0], [0.1, 0.0, 0.0, 0.0]),
    ],
)
def test_each_learning_rule_forces_whom_its_docstring_says(rule: LearningRule, short_of_supply: list[float],
                                                          short_of_demand: list[float]) -> None:
    params = AAParams(free_move=FreeMove.KEEP, rule=rule)
    buy, bids = [True, True, False, False], [0.08, 0.12, 0.08, 0.12]
    assert _update([0.0] * 4, buy, bids, 0.10, 3, 1, [True] * 4, params) == short_of_supply
    assert _update([0.0] * 4, buy, bids, 0.10, 1, 3, [True] * 4, params) == short_of_demand


def test_outcome_without_fills_is_refused_naming_the_argument() -> None:
    with pytest.raises(MarketError) as err:
        update_aggressiveness([0.0], [True], [0.1], 0.1, 1, 1, OUTCOME, np.random.default_rng(0))
    assert err.value.field == "filled"


def test_filled_orders_forgives_rounding_of_the_partial_sums() -> None:
    q = np.array([0.1, 0.2, 0.3, 1.0])
    fills = np.array([0.1, 0.2 - 1e-17, 0.3 * (1 - 1e-13), 0.5])
    assert filled_orders(fills, q).tolist() == [True, True, True, False]


# --- the parameters --------------------------------------------------------------------------------------------


def test_paper_parameters_are_the_documented_reading() -> None:
    p = AAParams.paper()
    assert (p.variant, p.rule, p.free_move, p.stop) == (
        AAVariant.TEXT, LearningRule.TEXT, FreeMove.OUTCOME, StopRule.CONSENSUS)
    assert (p.step, p.initial_r, p.max_rounds, p.tolerance) == (0.1, None, 30, 1e-4)
    changed = AAParams.paper(step=0.2, stop="settled")
    assert changed.step == 0.2
    assert changed.stop is StopRule.SETTLED
    assert changed.free_move is FreeMove.OUTCOME


def test_the_library_defaults_are_unchanged() -> None:
    p = AAParams()
    assert (p.free_move, p.initial_r, p.stop, p.max_rounds) == (FreeMove.KEEP_OR_MORE, 0.0, StopRule.SETTLED, 20)


def test_an_unknown_stop_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="agreement"):
        AAParams(stop="agreement")  # type: ignore[arg-type]


# --- the rounds ------------------------------------------------------------------------------------------------


def test_initial_aggressiveness_from_the_own_bid() -> None:
    """With one round only, each agent's r is the one its random bid implies around that round's MCP."""
    limits = grid_limits([True, True, False], [1.0, 1.0, 1.0], BAND)
    bids = [0.15, 0.06, 0.08]
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), params=AAParams.paper(max_rounds=1),
                     matching="full-overlap", initial_bids=bids)
    mcp = out.prices[0]
    assert mcp == pytest.approx((0.15 + 0.08) / 2)
    r = out.aggressiveness
    assert r[0] > 0 > r[1]  # the buyer above the MCP is aggressive, the one below passive
    assert r[2] > 0  # the seller asked below the MCP: aggressive
    again = curve_prices(r, limits.is_buy, limits.price, mcp, BAND)
    assert again.tolist() == pytest.approx(bids)


def test_consensus_waits_for_crossed_bids_where_settled_stops_early() -> None:
    """Two passive agents who keep r: the MCP converges to mid-band but their bids never cross."""
    limits = grid_limits([True, False], [1.0, 1.0], BAND)
    common = {"free_move": FreeMove.KEEP, "initial_r": -0.5, "max_rounds": 30, "tolerance": 1e-4}
    settled = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), matching="full-overlap",
                         params=AAParams(stop=StopRule.SETTLED, **common), initial_bids=[0.05, 0.15])
    consensus = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), matching="full-overlap",
                           params=AAParams(stop=StopRule.CONSENSUS, **common), initial_bids=[0.05, 0.15])
    assert settled.settled
    assert settled.rounds < 30
    assert not consensus.settled
    assert consensus.rounds == 30
    bid, ask = consensus.bids.price.tolist()
    assert bid < ask


def test_consensus_is_reached_when_the_long_side_outbids_the_short_side() -> None:
    """Two buyers, one seller: the unfilled buyer steps up each round until the bids cross and the price settles."""
    limits = grid_limits([True, True, False], [1.0, 1.0, 1.0], BAND)
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), matching="full-overlap",
                     params=AAParams.paper(), initial_bids=[0.05, 0.06, 0.15])
    assert out.settled
    assert out.rounds < 30
    top_bid, ask = max(out.bids.price[:2]), out.bids.price[2]
    assert top_bid >= ask
    assert out.result.price == pytest.approx(0.189, abs=2e-4)  # a passive seller: the price rises to P_gb


def test_with_demand_equal_to_supply_nobody_learns_and_the_round_limit_splits_the_difference() -> None:
    """Both filled, nobody forced: passive agents stay passive, no consensus; the MCP of equation (1) stands."""
    limits = grid_limits([True, False], [1.0, 1.0], BAND)
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), matching="full-overlap",
                     params=AAParams.paper(), initial_bids=[0.05, 0.15])
    assert not out.settled
    assert out.rounds == 30
    bid, ask = out.bids.price.tolist()
    assert bid < ask
    assert out.result.price == pytest.approx((bid + ask) / 2)


def test_demand_far_above_supply_drives_the_price_up() -> None:
    """Section IV: when demand far exceeds supply, buyers grow more aggressive and prices rise.

    Under outcome learning the unfilled buyers step up every round; the seller, always filled, keeps its r.
    """
    limits = grid_limits([True, True, True, True, False], [1.0, 1.0, 1.0, 1.0, 1.0], BAND)
    first, last, r_start, r_end = [], [], [], []
    for seed in range(40):
        start = run_rounds(limits, band=BAND, rng=np.random.default_rng(seed), matching="full-overlap",
                           params=AAParams.paper(max_rounds=1))
        out = run_rounds(limits, band=BAND, rng=np.random.default_rng(seed), matching="full-overlap",
                         params=AAParams.paper())
        first.append(out.prices[0])
        last.append(out.result.price)
        r_start.append(start.aggressiveness[:4].mean())
        r_end.append(out.aggressiveness[:4].mean())
        assert out.aggressiveness[4] == start.aggressiveness[4]  # the seller was filled every round
    assert np.mean(last) > np.mean(first) + 0.005
    assert np.mean(r_end) > np.mean(r_start) + 0.2


def test_general_mode_rounds_with_outcome_learning_stay_within_limits() -> None:
    limits = Orders.from_records([("buy", 0.12, 1.0), ("buy", 0.06, 1.0), ("sell", 0.08, 1.0), ("sell", 0.15, 1.0)])
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(2), params=AAParams.paper())
    assert out.result.fills.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert 0.08 <= (out.result.price or 0) <= 0.12
