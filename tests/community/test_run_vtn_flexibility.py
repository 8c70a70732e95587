"""A flexibility community (the campus devices, T1-T4) run against a real HTTP VTN with a load VEN buying:
called during the day, it dispatches T1 first and books the calls."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.ven.processes import run_against_vtn


async def test_a_flexibility_community_is_called_and_dispatches_by_template_priority(tmp_path: Path) -> None:
    config = tmp_path / "dr.toml"
    config.write_text("[community]\nprice = 0.06\n")  # the campus devices (no [[member]]), a price floor
    data = tmp_path / "dr"
    await run_against_vtn(
        tmp_path,
        ("ven", "run", "--party", "lab-1", "--personality", "load", "--capacity-kw", "8",
         "--state-dir", str(tmp_path / "lab-1")),
        ("community", "run", "--name", "campus-dr", "--goal", "flexibility", "--config", str(config),
         "--data-dir", str(data)),
        common=("--intervals", "2", "--sim-start", "2026-03-03T10:00:00Z", "--grid-prices", "0.30,0.05", "--quiet"))
    state = json.loads((data / "community.json").read_text())
    assert state["goal"] == "flexibility"
    assert 1 <= len(state["calls"]) <= 2  # (on a loaded machine a process may start after the first gate)
    for call in state["calls"]:
        assert call["delivered_kwh"] > 0
        assert float(call["price"]) >= 0.06
        # T1 first: the 2 kW outlet gives its full 0.5 kWh of the 15 minutes, then the classrooms (T2) the rest;
        # the EVs (T3) and the heater (T4) are not needed for a load of at most 2 kWh
        assert call["dispatched"]["outlet-t1"] == pytest.approx(min(0.5, call["delivered_kwh"]))
        assert all(k.startswith("cr-") for k in call["dispatched"] if k != "outlet-t1")
        assert sum(Decimal(v) for v in call["shares"].values()) == Decimal(call["revenue"])
