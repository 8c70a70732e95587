"""The new device personalities as ``transactive ven run`` processes against a real HTTP VTN (accelerated
market time, loopback): an EV that must charge by 14:00, a washing machine (T1) that must run by 13:00, a
heat pump (T2), a water heater (T4) and a meter, all buying from one PV roof at midday."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.ven.processes import run_against_vtn

INTERVALS = 4
DEVICES: dict[str, list[str]] = {
    "roof": ["--personality", "pv", "--capacity-kw", "40"],
    "ev-1": ["--personality", "ev", "--arrival-h", "11", "--departure-h", "14", "--jitter-minutes", "0",
             "--soc-jitter", "0"],
    "washer": ["--personality", "t1", "--earliest-h", "12", "--latest-end-h", "13", "--duration-h", "0.5"],
    "room-1": ["--personality", "t2"],
    "tank": ["--personality", "t4", "--initial-fraction", "0.25"],  # near its minimum: it must buy
    "house": ["--personality", "meter"],
}


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("http-personalities")

    asyncio.run(run_against_vtn(tmp, *(
        ("ven", "run", "--party", party, *flags, "--intervals", str(INTERVALS), "--sim-start", "2026-06-21T12:00:00Z",
         "--grid-prices", "0.30,0.05", "--record", str(tmp / f"{party}.jsonl"), "--quiet",
         "--state-dir", str(tmp / "state" / party))
        for party, flags in DEVICES.items())))
    return {party: [json.loads(line) for line in (tmp / f"{party}.jsonl").read_text().splitlines()]
            for party in DEVICES}


@pytest.mark.slow
def test_every_device_traded_its_intervals_and_the_pool_balances(records: dict[str, list[dict[str, Any]]]) -> None:
    assert all(len(r) == INTERVALS for r in records.values())
    for k in range(INTERVALS):
        sold = records["roof"][k]["sold_kwh"]
        bought = sum(records[p][k]["bought_kwh"] for p in DEVICES if p != "roof")
        assert sold == pytest.approx(bought, abs=1e-9)  # the roof is the only seller
    for party in ("ev-1", "washer", "room-1", "tank"):
        assert sum(r["bought_kwh"] for r in records[party]) > 0, party  # each bought over HTTP


@pytest.mark.slow
def test_each_device_meters_its_own_physics(records: dict[str, list[dict[str, Any]]]) -> None:
    washer = records["washer"]
    assert sum(r["metered_bought_kwh"] for r in washer) == pytest.approx(2.0 * 0.5)  # 2 kW for half an hour
    assert all(r["metered_bought_kwh"] == 0 for r in washer if r["sim_start"] >= "2026-06-21T13:00")
    ev = records["ev-1"]
    assert all(0 <= r["state_of_charge"] <= 1 for r in ev)
    assert ev[-1]["state_of_charge"] > ev[0]["state_of_charge"]  # charging towards its 14:00 departure
    house = records["house"]
    assert all(not r["tenders"] and r["metered_bought_kwh"] > 0 for r in house)
    assert all(r["grid_import_kwh"] == pytest.approx(r["metered_bought_kwh"]) for r in house)
