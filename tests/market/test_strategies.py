"""Bidding strategies: fixed price, ZI-C, AA (text and printed forms of the paper), Algorithm 1, the rounds."""

from __future__ import annotations

import math

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
    aa_prices,
    fixed_prices,
    grid_limits,
    run_rounds,
    shape,
    update_aggressiveness,
    zic_prices,
)

BAND = ReservePrices.paper()  # P_gb = 0.189, P_gs = 0.032
M_LOW, M_HIGH = BAND.grid_sell, BAND.grid_buy
E2 = math.expm1(2.0)

prices = st.floats(min_value=M_LOW, max_value=M_HIGH, allow_nan=False)
aggressiveness = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


# --- fixed price ---------------------------------------------------------------------------------------------


def test_fixed_price_buyer_bids_price_but_not_above_its_limit() -> None:
    out = fixed_prices(0.10, [True, True], [0.15, 0.08])
    assert out.tolist() == [0.10, 0.08]


def test_fixed_price_seller_asks_price_but_not_below_its_limit() -> None:
    out = fixed_prices(0.10, [False, False], [0.05, 0.12])
    assert out.tolist() == [0.10, 0.12]


def test_fixed_price_is_clipped_into_band() -> None:
    assert fixed_prices(0.5, [True, False], [0.189, 0.032], BAND).tolist() == [0.189, 0.189]


def test_fixed_price_rejects_limit_outside_band() -> None:
    with pytest.raises(MarketError) as err:
        fixed_prices(0.1, [True], [0.2], BAND)
    assert err.value.field == "limit"


# --- ZI-C ----------------------------------------------------------------------------------------------------


def test_zic_buyers_draw_between_minimum_price_and_limit() -> None:
    rng = np.random.default_rng(7)
    bids = zic_prices(np.ones(10_000, dtype=bool), np.full(10_000, 0.15), BAND, rng)
    assert bids.min() >= M_LOW
    assert bids.max() <= 0.15
    assert bids.mean() == pytest.approx((M_LOW + 0.15) / 2, abs=0.002)


def test_zic_sellers_draw_between_limit_and_maximum_price() -> None:
    rng = np.random.default_rng(7)
    asks = zic_prices(np.zeros(10_000, dtype=bool), np.full(10_000, 0.05), BAND, rng)
    assert asks.min() >= 0.05
    assert asks.max() <= M_HIGH
    assert asks.mean() == pytest.approx((0.05 + M_HIGH) / 2, abs=0.002)


def test_zic_is_a_pure_function_of_the_generator_state() -> None:
    a = zic_prices([True, False], [0.1, 0.1], BAND, np.random.default_rng(3))
    b = zic_prices([True, False], [0.1, 0.1], BAND, np.random.default_rng(3))
    assert a.tolist() == b.tolist()


def test_zic_rejects_limit_below_minimum_price() -> None:
    with pytest.raises(MarketError):
        zic_prices([False], [0.01], BAND, np.random.default_rng(0))


# --- AA bid curve: the text / Fig. 7 form ---------------------------------------------------------------------


def test_aa_text_buyer_bids_minimum_ask_mcp_and_limit_at_r_minus1_0_plus1() -> None:
    out = aa_prices([-1.0, 0.0, 1.0], True, 0.15, 0.10, BAND)
    assert out.tolist() == pytest.approx([M_LOW, 0.10, 0.15])


def test_aa_text_seller_asks_maximum_ask_mcp_and_limit_at_r_minus1_0_plus1() -> None:
    out = aa_prices([-1.0, 0.0, 1.0], False, 0.05, 0.10, BAND)
    assert out.tolist() == pytest.approx([M_HIGH, 0.10, 0.05])


def test_aa_text_uses_the_papers_exponential_shape() -> None:
    g = math.expm1(1.0) / E2  # (e^{2*0.5} - 1) / (e^2 - 1)
    buyer = aa_prices([0.5, -0.5], True, 0.15, 0.10, BAND)
    assert buyer[0] == pytest.approx(0.10 + (0.15 - 0.10) * g)
    assert buyer[1] == pytest.approx(0.10 - (0.10 - M_LOW) * g)
    seller = aa_prices([0.5, -0.5], False, 0.05, 0.10, BAND)
    assert seller[0] == pytest.approx(0.10 - (0.10 - 0.05) * g)
    assert seller[1] == pytest.approx(0.10 + (M_HIGH - 0.10) * g)


def test_aa_shape_is_zero_at_zero_and_one_at_one() -> None:
    assert shape([0.0, 1.0]).tolist() == pytest.approx([0.0, 1.0])


def test_aa_extramarginal_buyer_never_bids_above_its_limit() -> None:
    out = aa_prices([-1.0, 0.0, 0.5, 1.0], True, 0.08, 0.10, BAND)
    assert out.tolist() == pytest.approx([M_LOW, 0.08, 0.08, 0.08])


def test_aa_extramarginal_seller_never_asks_below_its_limit() -> None:
    out = aa_prices([-1.0, 0.0, 1.0], False, 0.12, 0.10, BAND)
    assert out.tolist() == pytest.approx([M_HIGH, 0.12, 0.12])


def test_aa_rejects_aggressiveness_outside_minus1_plus1() -> None:
    with pytest.raises(MarketError) as err:
        aa_prices([1.5], True, 0.15, 0.1, BAND)
    assert err.value.field == "r"


# --- AA bid curve: the printed equations (2), (3) -------------------------------------------------------------


def test_aa_printed_buyer_equation_2_returns_the_mcp_at_r_plus_and_minus_one() -> None:
    """The contradiction: as typeset, (2) gives a buyer the MCP at both extremes of aggressiveness."""
    out = aa_prices([-1.0, 1.0], True, 0.15, 0.10, BAND, variant=AAVariant.PRINTED)
    assert out.tolist() == pytest.approx([0.10, 0.10])


def test_aa_printed_seller_equation_3_returns_the_mcp_at_r_plus_and_minus_one() -> None:
    out = aa_prices([-1.0, 1.0], False, 0.05, 0.10, BAND, variant=AAVariant.PRINTED)
    assert out.tolist() == pytest.approx([0.10, 0.10])


def test_aa_printed_buyer_jumps_from_minimum_ask_to_limit_at_r_zero() -> None:
    out = aa_prices([-1e-12, 0.0], True, 0.15, 0.10, BAND, variant=AAVariant.PRINTED)
    assert out[0] == pytest.approx(M_LOW, abs=1e-9)
    assert out[1] == pytest.approx(0.15)


# --- AA properties --------------------------------------------------------------------------------------------


@given(r=aggressiveness, limit=prices, mcp=prices, buy=st.booleans(), variant=st.sampled_from(list(AAVariant)))
def test_aa_bid_within_band_and_on_the_profitable_side_of_the_limit(
    r: float, limit: float, mcp: float, buy: bool, variant: AAVariant
) -> None:
    bid = float(aa_prices(r, buy, limit, mcp, BAND, variant=variant)[0])
    assert M_LOW <= bid <= M_HIGH
    if buy:
        assert bid <= limit
    else:
        assert bid >= limit


@given(r1=aggressiveness, r2=aggressiveness, limit=prices, mcp=prices, buy=st.booleans())
def test_aa_text_bid_is_monotone_in_aggressiveness(r1: float, r2: float, limit: float, mcp: float, buy: bool) -> None:
    lo, hi = sorted((r1, r2))
    a, b = aa_prices([lo, hi], buy, limit, mcp, BAND).tolist()
    if buy:
        assert a <= b + 1e-15  # more aggressive buyers bid higher
    else:
        assert a >= b - 1e-15  # more aggressive sellers ask lower


@given(limit=prices, buy=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_zic_bid_within_band_and_on_the_profitable_side_of_the_limit(limit: float, buy: bool, seed: int) -> None:
    bid = float(zic_prices(buy, limit, BAND, np.random.default_rng(seed))[0])
    assert M_LOW <= bid <= M_HIGH
    assert (bid <= limit) if buy else (bid >= limit)


# --- Algorithm 1 ----------------------------------------------------------------------------------------------

KEEP = AAParams(free_move=FreeMove.KEEP, step=0.1)


def _update(r: list[float], buy: list[bool], bids: list[float], mcp: float | None, demand: float, supply: float,
            params: AAParams = KEEP, seed: int = 0) -> list[float]:
    out = update_aggressiveness(r, buy, bids, mcp, demand, supply, params, np.random.default_rng(seed))
    return [round(x, 12) for x in out.tolist()]


def test_algorithm1_buyer_below_mcp_with_demand_below_supply_must_be_more_aggressive() -> None:
    assert _update([0.0], [True], [0.08], 0.10, demand=1, supply=2) == [0.1]


def test_algorithm1_buyer_is_free_when_demand_exceeds_supply() -> None:
    assert _update([0.0], [True], [0.08], 0.10, demand=2, supply=1) == [0.0]


def test_algorithm1_buyer_at_or_above_mcp_is_free() -> None:
    assert _update([0.0, 0.0], [True, True], [0.10, 0.12], 0.10, demand=1, supply=2) == [0.0, 0.0]


def test_algorithm1_symmetric_seller_above_mcp_with_demand_above_supply_must_be_more_aggressive() -> None:
    assert _update([0.0, 0.0], [False, False], [0.12, 0.08], 0.10, demand=2, supply=1) == [0.1, 0.0]


def test_algorithm1_printed_seller_rule_pushes_the_accepted_seller_below_mcp() -> None:
    params = AAParams(free_move=FreeMove.KEEP, rule=LearningRule.PRINTED)
    assert _update([0.0, 0.0], [False, False], [0.12, 0.08], 0.10, 2, 1, params) == [0.0, 0.1]


def test_algorithm1_no_trade_makes_every_bidder_more_aggressive() -> None:
    assert _update([0.0, 0.5], [True, False], [0.05, 0.15], None, 1, 1) == [0.1, 0.6]


def test_algorithm1_aggressiveness_is_clipped_to_one() -> None:
    assert _update([0.95], [True], [0.05], 0.10, 1, 2) == [1.0]


def test_free_move_less_aggressive_steps_down_and_clips_at_minus_one() -> None:
    params = AAParams(free_move=FreeMove.LESS_AGGRESSIVE)
    assert _update([0.0, -0.95], [True, True], [0.12, 0.12], 0.10, 2, 1, params) == [-0.1, -1.0]


def test_free_move_keep_or_more_with_probability_one_and_zero() -> None:
    always = AAParams(free_move=FreeMove.KEEP_OR_MORE, free_probability=1.0)
    never = AAParams(free_move=FreeMove.KEEP_OR_MORE, free_probability=0.0)
    assert _update([0.0], [True], [0.12], 0.10, 2, 1, always) == [0.1]
    assert _update([0.0], [True], [0.12], 0.10, 2, 1, never) == [0.0]


def test_free_move_random_walk_stays_within_one_step() -> None:
    params = AAParams(free_move=FreeMove.RANDOM_WALK, step=0.2)
    out = update_aggressiveness(np.zeros(1000), np.ones(1000, bool), np.full(1000, 0.12), 0.10, 2, 1, params,
                                np.random.default_rng(1))
    assert out.min() >= -0.2
    assert out.max() <= 0.2
    assert out.std() > 0.05


def test_update_does_not_modify_its_input() -> None:
    r = np.zeros(2)
    update_aggressiveness(r, [True, True], [0.05, 0.05], None, 1, 1, KEEP, np.random.default_rng(0))
    assert r.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("name", "value"),
    [("step", 0.0), ("theta", -1.0), ("initial_r", 2.0), ("max_rounds", 0), ("tolerance", -1.0),
     ("free_probability", 1.5)],
)
def test_aa_params_reject_out_of_range_values(name: str, value: float) -> None:
    with pytest.raises(MarketError) as err:
        AAParams(**{name: value})  # type: ignore[arg-type]
    assert err.value.field == name


# --- rounds ---------------------------------------------------------------------------------------------------


def test_rounds_neutral_agents_settle_on_the_first_mcp() -> None:
    """Demand = supply, nobody forced, free agents keep r = 0: round 2 bids the round-1 MCP, which settles."""
    limits = grid_limits([True, False], [1.0, 1.0], BAND)
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), params=KEEP, matching="full-overlap",
                     initial_bids=[0.10, 0.08])
    assert out.prices == pytest.approx((0.09, 0.09))
    assert out.rounds == 2
    assert out.settled
    assert out.bids.price.tolist() == pytest.approx([0.09, 0.09])
    assert out.result.quantity == 1.0


def test_rounds_forced_buyer_steps_up_once_then_is_free() -> None:
    # demand 1 < supply 2 and the buyer bids 0.05 below the MCP 0.10: forced to r = 0.1; its next bid is
    # above the MCP, so from then on it is free (FreeMove.KEEP: r stays 0.1)
    limits = grid_limits([True, False], [1.0, 2.0], BAND)
    params = AAParams(free_move=FreeMove.KEEP, max_rounds=4, tolerance=0.0)
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(0), params=params, matching="full-overlap",
                     initial_bids=[0.05, 0.15])
    assert out.rounds == 4
    assert not out.settled
    assert out.aggressiveness.tolist() == pytest.approx([0.1, 0.0])
    bid2 = 0.10 + (M_HIGH - 0.10) * math.expm1(0.2) / E2
    assert out.prices[:2] == pytest.approx((0.10, (bid2 + 0.10) / 2))


def test_rounds_full_overlap_matches_min_of_demand_and_supply() -> None:
    limits = grid_limits([True, True, False], [2.0, 1.0, 1.5], BAND)
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(5), matching="full-overlap")
    assert out.result.quantity == pytest.approx(1.5)
    assert out.result.grid_import == pytest.approx(1.5)


def test_rounds_one_sided_market_stops_after_one_clearing() -> None:
    limits = grid_limits([False, False], [1.0, 1.0], BAND)
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(0))
    assert out.rounds == 1
    assert out.settled
    assert out.prices == (None,)
    assert out.result.grid_export == pytest.approx(2.0)


def test_rounds_are_deterministic_given_the_generator_seed() -> None:
    limits = grid_limits([True, True, False, False], [1.0, 2.0, 1.5, 0.5], BAND)
    a = run_rounds(limits, band=BAND, rng=np.random.default_rng(9), matching="full-overlap")
    b = run_rounds(limits, band=BAND, rng=np.random.default_rng(9), matching="full-overlap")
    assert a.prices == b.prices
    assert a.aggressiveness.tolist() == b.aggressiveness.tolist()


def test_rounds_general_mode_never_trades_beyond_limits() -> None:
    limits = Orders.from_records([("buy", 0.12, 1.0), ("buy", 0.06, 1.0), ("sell", 0.08, 1.0), ("sell", 0.15, 1.0)])
    out = run_rounds(limits, band=BAND, rng=np.random.default_rng(2))
    bought = out.result.fills > 0
    assert bought.tolist() == [True, False, True, False]
    assert 0.08 <= (out.result.price or 0) <= 0.12


def test_rounds_reject_initial_bid_beyond_limit() -> None:
    limits = Orders.from_records([("buy", 0.12, 1.0), ("sell", 0.08, 1.0)])
    with pytest.raises(MarketError) as err:
        run_rounds(limits, band=BAND, rng=np.random.default_rng(0), initial_bids=[0.13, 0.09])
    assert err.value.field == "initial_bids"


@settings(max_examples=60, deadline=None)
@given(
    n_buy=st.integers(0, 6),
    n_sell=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
    max_rounds=st.integers(1, 15),
    free_move=st.sampled_from(list(FreeMove)),
    full=st.booleans(),
)
def test_rounds_terminate_within_the_round_limit(
    n_buy: int, n_sell: int, seed: int, max_rounds: int, free_move: FreeMove, full: bool
) -> None:
    rng = np.random.default_rng(seed)
    n = n_buy + n_sell
    if n == 0:
        return
    buy = np.arange(n) < n_buy
    qty = rng.uniform(0.1, 3.0, n)
    if full:
        limits = grid_limits(buy, qty, BAND)
    else:
        limits = Orders.from_columns(is_buy=buy, price=rng.uniform(M_LOW, M_HIGH, n), quantity=qty)
    params = AAParams(max_rounds=max_rounds, free_move=free_move)
    out = run_rounds(limits, band=BAND, rng=rng, params=params, matching="full-overlap" if full else "crossing")
    assert 1 <= out.rounds <= max_rounds
    assert len(out.prices) == out.rounds
    assert np.all((out.aggressiveness >= -1) & (out.aggressiveness <= 1))
    bids = out.bids.price
    assert np.all(np.where(buy, bids <= limits.price, bids >= limits.price))
    if full:
        assert out.result.quantity == pytest.approx(min(qty[buy].sum(), qty[~buy].sum()))
