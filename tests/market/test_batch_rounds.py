"""Many auctions at once: each row of the batch gives exactly what run_rounds gives for that auction."""

from __future__ import annotations

import numpy as np
import pytest

from transactive.market import MarketError, Orders, ReservePrices, clear
from transactive.market.strategies import AAParams, FreeMove, grid_limits, run_rounds
from transactive.market.strategies.batch import clear_full_overlap, run_rounds_batch

BAND = ReservePrices.paper()


def _rows(seed: int, b: int = 300, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q = np.round(rng.uniform(0, 2, (b, n)), 3) * (rng.random((b, n)) < 0.8)
    q[:5] = np.array([1.0, 1.0, 0.5, 0.0, 0.0])  # equal quantities and prices at the margin
    buy = rng.random((b, n)) < 0.6
    return buy, q


def test_clear_full_overlap_equals_clear_row_by_row() -> None:
    buy, q = _rows(1)
    rng = np.random.default_rng(7)
    prices = np.round(rng.uniform(BAND.grid_sell, BAND.grid_buy, q.shape), 3)  # rounded: many ties
    out = clear_full_overlap(buy, prices, q)
    for b in range(q.shape[0]):
        here = q[b] > 0
        if not here.any():
            assert np.isnan(out.price[b])
            continue
        orders = Orders.from_columns(is_buy=buy[b, here], price=prices[b, here], quantity=q[b, here])
        ref = clear(orders, matching="full-overlap", reserve=BAND)
        assert out.fills[b, here].tolist() == ref.fills.tolist()
        assert out.matched[b] == ref.quantity
        if ref.price is None:
            assert np.isnan(out.price[b])
        else:
            assert out.price[b] == ref.price
            assert out.lowest_accepted_bid[b] == ref.lowest_accepted_bid
            assert out.highest_accepted_offer[b] == ref.highest_accepted_offer


@pytest.mark.parametrize(
    "params",
    [
        AAParams.paper(),
        AAParams.paper(variant="printed"),
        AAParams.paper(initial_r=0.0, stop="settled"),
        AAParams.paper(initial_r=-0.3, rule="printed", max_rounds=7),
        AAParams.paper(free_move=FreeMove.KEEP, max_rounds=12, rule="symmetric"),
        AAParams.paper(free_move=FreeMove.LESS_AGGRESSIVE, step=0.2),
    ],
    ids=["paper", "printed", "settled", "printed-seller", "keep", "less-aggressive"],
)
def test_every_row_equals_run_rounds_for_that_auction(params: AAParams) -> None:
    buy, q = _rows(3)
    out = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(11), params=params)
    assert np.all((out.initial_bids >= BAND.grid_sell) & (out.initial_bids <= BAND.grid_buy))
    compared = 0
    for b in range(q.shape[0]):
        here = q[b] > 0
        if not here.any():
            continue
        ref = run_rounds(grid_limits(buy[b, here], q[b, here], BAND), band=BAND, rng=np.random.default_rng(0),
                         params=params, matching="full-overlap", initial_bids=out.initial_bids[b, here])
        assert (ref.rounds, ref.settled) == (out.rounds[b], out.settled[b]), b
        assert out.fills[b, here] == pytest.approx(ref.result.fills, abs=1e-12)
        assert out.aggressiveness[b, here] == pytest.approx(ref.aggressiveness, abs=1e-12)
        assert out.bids[b, here] == pytest.approx(ref.bids.price, abs=1e-12)
        if ref.result.price is None:
            assert np.isnan(out.price[b])
        else:
            assert out.price[b] == pytest.approx(ref.result.price, abs=1e-12)
        compared += 1
    assert compared > 250


@pytest.mark.parametrize("move", [FreeMove.KEEP_OR_MORE, FreeMove.RANDOM_WALK])
def test_random_free_moves_are_reproducible_and_stay_in_range(move: FreeMove) -> None:
    buy, q = _rows(5)
    params = AAParams.paper(free_move=move)
    a = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(4), params=params)
    b = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(4), params=params)
    c = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(5), params=params)
    assert np.array_equal(a.price, b.price, equal_nan=True)
    assert not np.array_equal(a.price, c.price, equal_nan=True)
    assert np.all((a.aggressiveness >= -1) & (a.aggressiveness <= 1))
    assert np.all((a.bids >= BAND.grid_sell) & (a.bids <= BAND.grid_buy))
    assert np.all((a.rounds >= 1) & (a.rounds <= params.max_rounds))


def test_the_matched_quantity_never_depends_on_the_bids() -> None:
    buy, q = _rows(6)
    a = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(1), params=AAParams.paper())
    b = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(2), params=AAParams.paper())
    expected = np.minimum(np.where(buy, q, 0).sum(axis=1), np.where(buy, 0, q).sum(axis=1))
    assert a.final.matched == pytest.approx(expected, abs=1e-12)
    assert b.final.matched == pytest.approx(expected, abs=1e-12)


def test_one_sided_and_empty_rows_stop_after_one_clearing() -> None:
    buy = np.array([[True, True], [False, False], [True, False]])
    q = np.array([[1.0, 2.0], [1.0, 0.0], [0.0, 0.0]])
    out = run_rounds_batch(buy, q, band=BAND, rng=np.random.default_rng(0), params=AAParams.paper())
    assert out.rounds.tolist() == [1, 1, 1]
    assert out.settled.tolist() == [True, True, True]
    assert np.isnan(out.price).all()
    assert out.fills.sum() == 0


@pytest.mark.parametrize(
    ("is_buy", "quantity", "bids", "field"),
    [
        (np.ones((2, 3), bool), np.ones((2, 2)), None, "shape"),
        (np.ones(3, bool), np.ones(3), None, "shape"),
        (np.ones((1, 2), bool), np.array([[1.0, -1.0]]), None, "quantity"),
        (np.ones((1, 2), bool), np.array([[1.0, np.nan]]), None, "quantity"),
        (np.ones((1, 2), bool), np.ones((1, 2)), np.array([[0.1]]), "initial_bids"),
        (np.ones((1, 2), bool), np.ones((1, 2)), np.array([[0.1, 0.5]]), "initial_bids"),
    ],
)
def test_bad_batches_are_refused_naming_the_field(is_buy: np.ndarray, quantity: np.ndarray, bids: np.ndarray | None,
                                                  field: str) -> None:
    with pytest.raises(MarketError) as err:
        run_rounds_batch(is_buy, quantity, band=BAND, rng=np.random.default_rng(0), initial_bids=bids)
    assert err.value.field == field
