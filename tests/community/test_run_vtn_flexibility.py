"""A flexibility community (the campus devices, T1-T4) run against a real HTTP VTN with a load VEN buying:
called during the day, it dispatches T1 first and books the calls."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from transactive.vtn.app import VtnApp, VtnOptions

ROOT = Path(__file__).resolve().parents[2]


async def test_a_flexibility_community_is_called_and_dispatches_by_template_priority(tmp_path: Path) -> None:
    config = tmp_path / "dr.toml"
    config.write_text("[community]\nprice = 0.06\n")  # the campus devices (no [[member]]), a price floor
    vtn = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", port=0, interval_seconds=0.5))
    await vtn.start()
    data = tmp_path / "dr"
    try:
        info = await vtn.health()
        start = datetime.fromisoformat(info["next_open_interval"]) + timedelta(minutes=15) * 8
        common = ("--vtn", vtn.url, "--intervals", "2", "--start", start.isoformat(),
                  "--sim-start", "2026-03-03T10:00:00Z", "--grid-prices", "0.30,0.05", "--quiet")
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transactive.cli", *argv, *common,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT) for argv in (
            ("ven", "run", "--party", "lab-1", "--personality", "load", "--capacity-kw", "8",
             "--state-dir", str(tmp_path / "lab-1")),
            ("community", "run", "--name", "campus-dr", "--goal", "flexibility", "--config", str(config),
             "--data-dir", str(data)))]
        outputs = [await asyncio.wait_for(p.communicate(), 90) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
    finally:
        await vtn.stop()
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
