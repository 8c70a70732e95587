"""The IOTA paper reproduction: conservation, common random numbers, scenario structure, metric definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from transactive.market import ReservePrices
from transactive.simulate.paper_iota import METRICS, SCENARIOS, Flows, Setup, sensitivity, simulate, with_params
from transactive.simulate.week import Week

BAND = ReservePrices.paper()
START = datetime(2016, 3, 14, tzinfo=UTC)


def times(n: int) -> tuple[str, ...]:
    return tuple((START + timedelta(minutes=15 * k)).isoformat() for k in range(n))


def synthetic_week(rounds: int = 192, seed: int = 0) -> Week:
    """Demand-heavy MG2, PV-heavy MG1 and MG3 (MG3 shifted by 12 h), uneven sizes: every kind of round."""
    rng = np.random.default_rng(seed)
    hour = (np.arange(rounds) % 96) / 4.0
    sun = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None)
    shifted = np.clip(np.sin(np.pi * (((hour - 12) % 24) - 6) / 12), 0, None)
    load = rng.uniform(50, 250, (3, 5, rounds)) * np.array([1.0, 2.5, 1.0])[:, None, None]
    peak = rng.uniform(0, 900, (3, 5, 1))
    pv = np.stack([sun, sun * 0.4, shifted])[:, None, :] * peak * rng.uniform(0.6, 1.0, (3, 5, rounds))
    return Week(times(rounds), load, pv)


@pytest.fixture(scope="module")
def run() -> object:
    return simulate(synthetic_week(), Setup(seeds=3))


def _all(run: object) -> list[tuple[int, str, Flows]]:
    return [(s, name, f) for s, per in enumerate(run.flows) for name, f in per.items()]  # type: ignore[attr-defined]


def test_energy_is_conserved_per_round_microgrid_scenario_and_seed(run: object) -> None:
    week = run.week  # type: ignore[attr-defined]
    load = week.load.sum(axis=1) / 1000.0
    pv = week.pv.sum(axis=1) / 1000.0
    for _, _, f in _all(run):
        assert f.self_consumed + f.bought == pytest.approx(load, abs=1e-9)
        assert f.self_consumed + f.sold == pytest.approx(pv, abs=1e-9)
        for part in (f.bought_local, f.bought_peers, f.grid_import, f.sold_local, f.sold_peers, f.grid_export):
            assert (part >= -1e-12).all()


def test_money_is_conserved_per_round(run: object) -> None:
    """Every P2P pound a buyer pays a seller receives, within a microgrid and between microgrids."""
    for _, _, f in _all(run):
        assert f.paid_local.sum(axis=0) == pytest.approx(f.received_local.sum(axis=0), abs=1e-12)
        assert f.paid_peers.sum(axis=0) == pytest.approx(f.received_peers.sum(axis=0), abs=1e-12)
        assert f.bought_peers.sum(axis=0) == pytest.approx(f.sold_peers.sum(axis=0), abs=1e-12)


def test_prices_stay_inside_the_grid_band(run: object) -> None:
    for _, _, f in _all(run):
        for price in (f.price_local, f.price_peers):
            known = price[~np.isnan(price)]
            assert ((known >= BAND.grid_sell - 1e-15) & (known <= BAND.grid_buy + 1e-15)).all()
        traded = f.bought_local > 0
        assert not np.isnan(f.price_local[traded]).any()


def test_a_microgrids_own_auction_is_the_same_in_every_scenario(run: object) -> None:
    """Common random numbers: one internal auction per seed and microgrid, shared by the five scenarios."""
    for per in run.flows:  # type: ignore[attr-defined]
        grid = per["Grid"]
        for f in per.values():
            assert np.array_equal(f.bought_local, grid.bought_local)
            assert np.array_equal(f.price_local, grid.price_local, equal_nan=True)


@pytest.mark.parametrize("scenario", ["MG1+MG2", "MG1+MG3", "MG2+MG3"])
def test_pair_scenarios_leave_the_third_microgrid_at_its_grid_values(run: object, scenario: str) -> None:
    outside = ({0, 1, 2} - set(SCENARIOS[scenario])).pop()
    for per in run.flows:  # type: ignore[attr-defined]
        pair, grid = per[scenario], per["Grid"]
        for name in ("bought_peers", "sold_peers", "paid_peers", "received_peers"):
            assert (getattr(pair, name)[outside] == 0).all()
        for name in ("grid_import", "grid_export", "bought_local", "paid_local"):
            assert np.array_equal(getattr(pair, name)[outside], getattr(grid, name)[outside])
        assert pair.bought_peers[list(SCENARIOS[scenario])].sum() > 0


def test_main_grid_and_p2p_energy_do_not_depend_on_the_mechanism_seed() -> None:
    """In the full-overlap mode the bids set prices only: energy routes are the same for every seed."""
    a = simulate(synthetic_week(), Setup(seeds=2, base_seed=0)).table()
    b = simulate(synthetic_week(), Setup(seeds=2, base_seed=100)).table()
    for ra, rb in zip(a, b, strict=True):
        for key in ("main_grid_kwh", "p2p_kwh"):
            assert ra[f"{key}_min"] == ra[f"{key}_max"] == rb[key]
        assert ra["producers_benefit_pct"] != rb["producers_benefit_pct"]  # the prices do depend on it


def test_more_connections_never_trade_more_with_the_main_grid(run: object) -> None:
    rows = {r["scenario"]: r for r in run.table()}  # type: ignore[attr-defined]
    for pair in ("MG1+MG2", "MG1+MG3", "MG2+MG3"):
        assert rows["All"]["main_grid_kwh"] <= rows[pair]["main_grid_kwh"] + 1e-6
        assert rows[pair]["main_grid_kwh"] <= rows["Grid"]["main_grid_kwh"] + 1e-6
    total = rows["Grid"]["p2p_kwh"] + rows["Grid"]["main_grid_kwh"]
    for row in rows.values():  # a Wh not traded with peers goes to the grid (the import/export split varies)
        assert row["p2p_kwh"] <= total


def test_the_table_has_the_contract_keys_in_scenario_order(run: object) -> None:
    table = run.table()  # type: ignore[attr-defined]
    assert [r["scenario"] for r in table] == list(SCENARIOS)
    for row in table:
        for key in METRICS:
            assert row[f"{key}_min"] <= row[key] <= row[f"{key}_max"]
        assert 3.2 <= row["mean_p2p_price"] <= 18.9
        assert set(row["per_microgrid"]) == set(row["involved"])


def test_benefits_are_wh_weighted_over_all_energy_including_the_grid(run: object) -> None:
    """The definition, recomputed from the flows: grid Wh count 0 %, every P2P Wh its own price."""
    for per in run.flows:  # type: ignore[attr-defined]
        f = per["MG1+MG3"]
        i = [0, 2]
        p_local = np.nan_to_num(f.price_local[i])
        p_peer = np.nan_to_num(f.price_peers)[None, :]
        gain = (f.sold_local[i] * (p_local - BAND.grid_sell) + f.sold_peers[i] * (p_peer - BAND.grid_sell)).sum()
        expect = 100 * gain / BAND.grid_sell / f.sold[i].sum()
        summary = run.summary("MG1+MG3")  # type: ignore[attr-defined]
        seed = run.flows.index(per)  # type: ignore[attr-defined]
        assert summary.values["producers_benefit_pct"][seed] == pytest.approx(expect, rel=1e-12)
        saving = (f.bought_local[i] * (BAND.grid_buy - p_local) + f.bought_peers[i] * (BAND.grid_buy - p_peer)).sum()
        expect_c = 100 * saving / BAND.grid_buy / f.bought[i].sum()
        assert summary.values["consumers_benefit_pct"][seed] == pytest.approx(expect_c, rel=1e-12)


def test_sensitivity_rows_change_one_parameter_each() -> None:
    week = synthetic_week(96)
    rows = sensitivity(week, Setup(seeds=1), rows=(("--step", "step", 0.2), ("--initial-r", "initial_r", 0.0)))
    assert [(r["parameter"], r["value"]) for r in rows] == [("defaults", "-"), ("--step", 0.2), ("--initial-r", 0.0)]
    # main-grid energy is the same for every mechanism setting
    assert len({r["all_main_grid_reduction_pct"] for r in rows}) == 1
    base = simulate(week, Setup(seeds=1)).summary("All").values["producers_benefit_pct"][0]
    assert rows[0]["all_producers_benefit_pct"] == pytest.approx(base, abs=1e-6)
    changed = simulate(week, with_params(Setup(seeds=1), step=0.2)).summary("All").values
    assert rows[1]["all_producers_benefit_pct"] == pytest.approx(changed["producers_benefit_pct"][0], abs=1e-6)


@pytest.mark.parametrize("scenario", ["Grid", "MG1+MG3", "All"])
def test_energy_routes_equal_the_general_hierarchys(scenario: str) -> None:
    """The batched engine against transactive.market.hierarchy, round by round: in the full-overlap mode the
    energy each level matches and the main grid's share do not depend on prices, so they must agree exactly
    (the split of a short upper market between microgrids depends on the bids, so only totals are compared)."""
    from transactive.market.hierarchy import MarketNode, clear_hierarchy
    from transactive.market.strategies import grid_limits

    week = synthetic_week(96, seed=4)
    f = simulate(week, Setup(seeds=1)).flows[0][scenario]
    load, pv = week.load / 1000.0, week.pv / 1000.0
    own = np.minimum(load, pv)
    need, spare = load - own, pv - own
    group = SCENARIOS[scenario]
    for t in range(week.rounds):
        nodes = {}
        for m in range(3):
            buy = need[m, :, t] > 0
            q = np.where(buy, need[m, :, t], spare[m, :, t])
            keep = q > 0
            orders = grid_limits(buy[keep], q[keep], BAND) if keep.any() else None
            nodes[m] = MarketNode(f"MG{m + 1}", orders)
        roots = [MarketNode("peers", None, [nodes[m] for m in group])] if group else []
        roots += [nodes[m] for m in range(3) if m not in group]
        results = [clear_hierarchy(root, reserve=BAND, matching="full-overlap") for root in roots]
        reports = {name: r for res in results for name, r in res.nodes.items()}
        for m in range(3):
            assert f.bought_local[m, t] == pytest.approx(reports[f"MG{m + 1}"].bought.local, abs=1e-9)
        peers = sum(reports[f"MG{m + 1}"].bought.peers for m in range(3))
        assert f.bought_peers[:, t].sum() == pytest.approx(peers, abs=1e-9)
        assert f.grid_import[:, t].sum() == pytest.approx(sum(r.grid_import for r in results), abs=1e-9)
        assert f.grid_export[:, t].sum() == pytest.approx(sum(r.grid_export for r in results), abs=1e-9)
