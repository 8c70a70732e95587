"""The builder of the IOTA paper's week (SimBench + pvlib) and the shipped week it wrote."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import transactive.simulate.build_data as build_data
from transactive.simulate.build_data import (
    COMPOSITION,
    DEFAULT_SEED,
    LOAD_PROFILES,
    BuildDataUnavailable,
    build_week,
    clearness,
    describe,
    prosumers,
    week_summary,
)
from transactive.simulate.week import MICROGRIDS, PROSUMERS, Week, read_week

SHIPPED = Path(build_data.__file__).with_name("paper_iota_week.csv")


def _missing() -> str | None:
    """Why the builder cannot run here (the ``paper`` extra is not installed), or None."""
    if importlib.util.find_spec("simbench") is None:
        return "simbench is not installed (the paper extra: pip install 'transactive[paper]')"
    if importlib.util.find_spec("pvlib") is None:
        return "pvlib is not installed (the paper extra: pip install 'transactive[paper]')"
    return None


needs_data = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture(scope="module")
def week() -> Week:
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    return build_week()


@pytest.fixture(scope="module")
def shipped() -> Week:
    return read_week(SHIPPED)


# ------------------------------------------------------------------------------------------- the shipped week


def test_shipped_week_reads(shipped: Week) -> None:
    assert shipped.rounds == 672
    assert shipped.times[0] == "2016-03-14T00:00:00+00:00"
    assert shipped.times[1] == "2016-03-14T00:15:00+00:00"
    assert shipped.times[-1] == "2016-03-20T23:45:00+00:00"


@needs_data
def test_shipped_week_is_the_default_build(week: Week, shipped: Week) -> None:
    assert shipped.times == week.times
    np.testing.assert_allclose(shipped.load, week.load, rtol=0, atol=1e-3)
    np.testing.assert_allclose(shipped.pv, week.pv, rtol=0, atol=1e-3)


# ------------------------------------------------------------------------------------------- the builder


@needs_data
def test_deterministic_for_a_seed(week: Week) -> None:
    again = build_week(DEFAULT_SEED)
    assert again.times == week.times
    np.testing.assert_array_equal(again.load, week.load)
    np.testing.assert_array_equal(again.pv, week.pv)


@needs_data
def test_different_seeds_differ(week: Week) -> None:
    other = build_week(DEFAULT_SEED + 1)
    assert other.times == week.times
    assert not np.allclose(other.load, week.load)
    assert not np.allclose(other.pv, week.pv)


@needs_data
def test_shape_and_values(week: Week) -> None:
    assert week.rounds == 672
    assert week.load.shape == week.pv.shape == (MICROGRIDS, PROSUMERS, 672)
    assert (week.load > 0).all()  # every household consumes something in every round
    assert (week.pv >= 0).all()
    assert (week.pv.sum(axis=2) > 0).all()  # every prosumer has PV
    assert np.array_equal(np.round(week.load, 3), week.load)  # the CSV's resolution
    starts = [np.datetime64(t[:19]) for t in week.times]
    assert set(np.diff(starts).tolist()) == {np.timedelta64(15, "m")}
    assert all(t.endswith("+00:00") for t in week.times)


@needs_data
def test_loads_follow_the_drawn_annual_consumptions(week: Week) -> None:
    # one March week of a household is about 2 % of its year; the shares differ by profile, not by size
    for p in prosumers():
        share = week.load[p.microgrid - 1, p.index - 1].sum() / 1000 / p.annual_kwh
        assert 0.015 < share < 0.03, p


@needs_data
def test_pv_is_a_daytime_curve_scaled_by_size(week: Week) -> None:
    hours = np.arange(672) % 96 / 4
    for p in prosumers():
        pv = week.pv[p.microgrid - 1, p.index - 1]
        per_kwp = pv / p.kwp
        # at most the clear-sky AC of 1 kWp in a quarter hour (< 250 Wh), several kWh per kWp a day
        assert per_kwp.max() < 250
        assert 10_000 < per_kwp.sum() < 40_000
        if p.microgrid != 3:
            assert pv[(hours < 6) | (hours >= 20)].max() == 0.0  # Porto: no sun before 06:00 or after 20:00 UTC
            assert pv[(hours >= 11) & (hours < 14)].min() > 0.0


@needs_data
def test_mg3_generation_is_shifted_by_12_hours(week: Week) -> None:
    hours = np.arange(672) % 96 / 4
    night = (hours < 1.5) | (hours >= 23)
    midday = (hours >= 11) & (hours < 14)
    mg1, mg3 = week.pv[0].sum(axis=0), week.pv[2].sum(axis=0)
    assert mg3[night].min() > 0.0
    assert mg3[midday].max() == 0.0
    assert mg1[midday].min() > 0.0
    assert mg1[night].max() == 0.0
    # the same curve per kWp, 48 rounds later
    kwp = {(p.microgrid, p.index): p.kwp for p in prosumers()}
    mg1_unit = week.pv[0, 0] / kwp[1, 1]
    mg3_unit = week.pv[2, 0] / kwp[3, 1]
    np.testing.assert_allclose(mg3_unit[48:], mg1_unit[:-48], atol=1e-3)
    assert np.corrcoef(mg3_unit[48:], mg1_unit[:-48])[0, 1] > 0.999
    assert np.corrcoef(mg3_unit, mg1_unit)[0, 1] < 0


@needs_data
def test_mg2_is_the_high_consumption_grid(week: Week) -> None:
    load = week.load.sum(axis=(1, 2))
    pv = week.pv.sum(axis=(1, 2))
    assert load[1] > 1.2 * max(load[0], load[2])
    assert pv[1] < min(pv[0], pv[2])
    assert pv[1] / load[1] < 0.3 < 0.4 < min(pv[0] / load[0], pv[2] / load[2])


@needs_data
def test_demand_dominates_most_rounds(week: Week) -> None:
    summary = week_summary(week)
    assert [s.name for s in summary] == ["MG1", "MG2", "MG3", "all"]
    for s in summary:
        assert s.demand_rounds > 0.5, s
    assert summary[1].demand_rounds > 0.9  # MG2
    assert summary[3].load_kwh > 1.3 * summary[3].pv_kwh  # the whole system is short of energy


@needs_data
def test_mg1_and_mg3_have_real_midday_surpluses(week: Week) -> None:
    net = week.pv - week.load
    surplus = np.maximum(net, 0).sum(axis=1)
    demand = np.maximum(-net, 0).sum(axis=1)
    hours = np.arange(672) % 96 / 4
    for m, noon in ((0, 12.75), (2, 0.75)):  # MG3's noon is 12 hours later
        surplus_rounds = surplus[m] > demand[m]
        assert surplus_rounds.mean() > 0.15
        assert surplus[m].max() > 1000  # Wh in a quarter hour: above 4 kW
        # every day but the cloudy first one has surplus rounds, and they are around the microgrid's noon
        assert surplus_rounds.reshape(7, 96)[1:].any(axis=1).all()
        distance = np.abs((hours[surplus_rounds] - noon + 12) % 24 - 12)
        assert distance.max() < 5.5  # sunrise and sunset are about 6 hours from noon


@needs_data
def test_microgrids_can_trade_inside(week: Week) -> None:
    # producers and consumers in every microgrid: about half of the energy offered in the Grid scenario has a
    # buyer in its own microgrid in the same round (min(demand, surplus) per round), a tenth of the demand a seller
    net = week.load - week.pv
    demand = np.maximum(net, 0).sum(axis=1)
    surplus = np.maximum(-net, 0).sum(axis=1)
    inside = np.minimum(demand, surplus).sum()
    assert 0.35 < inside / surplus.sum() < 0.7
    assert 0.08 < inside / demand.sum() < 0.2


# ------------------------------------------------------------------------------------------- the draws and pieces


def test_prosumer_draws() -> None:
    drawn = prosumers()
    assert drawn == prosumers(DEFAULT_SEED)
    assert drawn != prosumers(DEFAULT_SEED + 1)
    assert [(p.microgrid, p.index) for p in drawn] == [(m, i) for m in (1, 2, 3) for i in (1, 2, 3, 4, 5)]
    assert [p.kind for p in drawn] == [k.kind for kinds in COMPOSITION for k in kinds]
    assert [p.kind for p in drawn if p.microgrid == 2].count("producer") == 1
    assert [p.kind for p in drawn if p.microgrid != 2].count("producer") == 4
    for m in (1, 2, 3):
        grid = [p for p in drawn if p.microgrid == m]
        assert sorted(p.profile for p in grid) == sorted(LOAD_PROFILES)
        for p, size in zip(grid, COMPOSITION[m - 1], strict=True):
            assert size.annual_kwh[0] <= p.annual_kwh <= size.annual_kwh[1]
            assert size.kwp[0] <= p.kwp <= size.kwp[1]
            assert p.kwp == round(p.kwp, 2)
            assert p.annual_kwh == round(p.annual_kwh)
    # every prosumer has PV; producers have more of it for a smaller load
    assert min(p.kwp for p in drawn) >= 0.5
    producers = [p for p in drawn if p.kind == "producer"]
    consumers = [p for p in drawn if p.kind == "consumer"]
    assert min(p.kwp / p.annual_kwh for p in producers) > 2 * max(p.kwp / p.annual_kwh for p in consumers)


def test_clearness_is_each_day_over_its_envelope() -> None:
    days = 50
    shape = np.zeros(96)
    shape[30:70] = 1.0
    energy = np.ones(days)
    energy[10] = 0.5
    energy[20] = 0.0
    a = np.concatenate([shape * e for e in energy])
    b = np.concatenate([shape * 3 * (0.5 if d == 10 else 1.0) for d in range(days)])
    k = clearness(np.stack([a, b]))
    assert k.shape == (days,)
    assert k[0] == 1.0
    assert k[10] == pytest.approx(0.5)
    assert k[20] == pytest.approx(0.5)  # profile a dark, b clear
    # a clearer day nearby lowers the factor: the envelope is the window's best day
    brighter = a.copy()
    brighter[25 * 96 : 26 * 96] *= 2
    k2 = clearness(np.stack([brighter, b]))
    assert k2[25] == 1.0
    assert k2[24] == pytest.approx(0.75)
    assert k2[25 + 15] == pytest.approx(0.75)  # the window is the day and 15 days each side
    assert k2[25 + 16] == 1.0


def test_describe() -> None:
    t = 4
    load = np.zeros((MICROGRIDS, PROSUMERS, t))
    pv = np.zeros((MICROGRIDS, PROSUMERS, t))
    load[0] = 250.0  # MG1: 5 x 4 x 250 Wh = 5 kWh
    pv[0, 0, 1:] = 2000.0  # 6 kWh; rounds 1-3: surplus 2000 - 250 = 1750 > demand 4 x 250 = 1000
    load[1] = 200.0  # MG2: 4 kWh; with it the system is short in every round
    times = tuple(f"2016-03-14T00:{15 * k:02d}:00+00:00" for k in range(t))
    lines = describe(Week(times, load, pv))
    assert lines == [
        "4 rounds from 2016-03-14T00:00:00+00:00 to 2016-03-14T00:45:00+00:00",
        "MG1: load 5.0 kWh, PV 6.0 kWh, net demand above net surplus in 25.0% of rounds",
        "MG2: load 4.0 kWh, PV 0.0 kWh, net demand above net surplus in 100.0% of rounds",
        "MG3: load 0.0 kWh, PV 0.0 kWh, net demand above net surplus in 0.0% of rounds",
        "all: load 9.0 kWh, PV 6.0 kWh, net demand above net surplus in 100.0% of rounds",
    ]


def test_without_simbench(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "simbench" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(BuildDataUnavailable, match=r"simbench is not installed; pip install 'transactive\[paper\]'"):
        build_data.simbench_directory()


def test_the_docs_show_the_shipped_week(shipped: Week) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "paper-iota-data.md").read_text(encoding="utf-8")
    for line in describe(shipped):
        assert f"    {line}\n" in docs, line
    for p in prosumers():
        m, i = p.microgrid - 1, p.index - 1
        row = (
            f"| MG{p.microgrid} | P{p.index} | {p.kind} | {p.profile} | {p.annual_kwh:.0f} | {p.kwp:.2f} | "
            f"{shipped.load[m, i].sum() / 1000:.1f} | {shipped.pv[m, i].sum() / 1000:.1f} |"
        )
        assert row in docs, row
    assert f"default seed {DEFAULT_SEED} = the shipped week" in docs
