"""The simulated members (schedules, deviations, replacements, energy), the prediction and the settings."""

from __future__ import annotations

import numpy as np
import pytest

from tests.community.helpers import member
from transactive.ven.community import (
    PAPER_CRITICAL_HOURS,
    Goal,
    campus_members,
    critical_hours,
    criticality_levels,
    parse_hours,
    pilot_fleet,
    predict,
    settings_from_dict,
    simulate,
)
from transactive.ven.community.fleet import DEV_ANNOUNCED, DEV_UNANNOUNCED
from transactive.ven.community.members import format_hours


def test_the_pilot_is_five_24_and_two_30_kwh_evs_the_papers_180() -> None:
    fleet = pilot_fleet()
    assert sorted(m.battery_kwh for m in fleet) == [24.0] * 5 + [30.0] * 2
    assert sum(m.battery_kwh for m in fleet) == 180.0
    assert {m.template for m in fleet} == {"t3"}
    for m in fleet:  # plugged in at night, away for the commutes (but the owner living on campus)
        assert set(range(0, 5)) <= m.schedule
        if m.name != "ev-7":
            assert not set(range(5, 10)) <= m.schedule
            assert not set(range(15, 21)) <= m.schedule


def test_about_15_percent_of_member_days_deviate_and_only_declared_hours_are_missed() -> None:
    h = simulate(pilot_fleet(), 400, seed=7)
    assert h.deviation_days() == pytest.approx(0.15, abs=0.03)
    missed = h.deviation > 0
    assert (h.committed[missed]).all()  # a deviation is always from a declared hour
    assert not h.available[missed].any()
    announced = (h.deviation == DEV_ANNOUNCED).sum()
    assert 0.35 < announced / missed.sum() < 0.65
    # replacements: only for announced deviations, by a member not available then otherwise
    replaced = h.replaced_by >= 0
    assert replaced.any()
    assert not (replaced & (h.deviation == DEV_UNANNOUNCED)).any()
    for d, hour, i in zip(*np.nonzero(replaced), strict=True):
        j = h.replaced_by[d, hour, i]
        assert h.replacing[d, hour, j]
        assert h.available[d, hour, j]
    assert h.covered[replaced].any()
    assert not h.covered[~replaced].any()


def test_the_same_seed_gives_the_same_days_however_long_the_simulation() -> None:
    a, b = simulate(pilot_fleet(), 10, seed=3), simulate(pilot_fleet(), 30, seed=3)
    assert (a.available == b.available[:10]).all()
    assert np.allclose(a.energy_kwh, b.energy_kwh[:10])


def test_an_ev_gives_its_energy_above_the_reserve_capped_by_its_converter() -> None:
    h = simulate(pilot_fleet(v2g_kw=10.0, deviation_rate=0.0), 5)
    assert h.energy_kwh.max() == pytest.approx(10.0)
    h = simulate(pilot_fleet(deviation_rate=0.0), 5)
    for i, m in enumerate(h.members):
        assert h.energy_kwh[:, :, i].max() == pytest.approx(m.battery_kwh - m.reserve_kwh)
    assert (h.energy_kwh[~h.available] == 0).all()


def test_the_prediction_is_the_smoothed_frequency_of_each_hour() -> None:
    m = member("x", hours=range(0, 24))
    h = simulate([m], 10, seed=1)
    h.available[:, 8, 0] = [True] * 6 + [False] * 4
    pred = predict(h, days=10)
    assert pred.reliability("x", 8) == pytest.approx((6 + 1) / (10 + 2))
    assert pred.reliability("x", 3) == pytest.approx(11 / 12)
    with pytest.raises(ValueError, match="days"):
        predict(h, days=0)


def test_the_pilots_scarce_hours_follow_the_commutes_and_levels_grade_them() -> None:
    pred = predict(simulate(pilot_fleet(), 60, seed=2), days=28)
    scarce = critical_hours(pred, 6)
    assert all(6 <= h <= 21 for h in scarce)
    levels = criticality_levels(pred.expected_kw, PAPER_CRITICAL_HOURS)
    assert set(levels) == set(PAPER_CRITICAL_HOURS)
    assert all(1 <= v <= 3 for v in levels.values())
    assert min(levels.values()) >= criticality_levels(pred.expected_kw, [3])[3]  # night: plenty, level 1


def test_hours_parse_and_print_back() -> None:
    assert parse_hours("0-7,9-17,22") == frozenset([*range(0, 7), *range(9, 17), 22])
    assert format_hours(parse_hours("0-7,9-17,22")) == "0-7,9-17,22-23"
    with pytest.raises(ValueError, match="schedule: '7-5'"):
        parse_hours("7-5")


def test_default_settings_follow_the_paper() -> None:
    sr = settings_from_dict(Goal.SPINNING_RESERVE, {})
    assert sr.goal_kw == 35.0
    assert sr.critical_hours == PAPER_CRITICAL_HOURS
    assert len(sr.members) == 7
    flex = settings_from_dict(Goal.FLEXIBILITY, {})
    assert sorted(m.template for m in flex.members).count("t2") == 8
    assert flex.critical_hours is None
    assert len(campus_members()) == 17
    with pytest.raises(ValueError, match="appears twice"):
        settings_from_dict(Goal.FLEXIBILITY, {"member": [{"name": "a", "template": "t1", "power_kw": 1}] * 2})
