"""``transactive ven run`` processes against a real HTTP VTN (accelerated market time) on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ven.processes import run_against_vtn


async def test_two_ven_processes_trade_and_settle_over_http(tmp_path: Path) -> None:
    outputs = await run_against_vtn(tmp_path, *(
        ("ven", "run", "--party", party, "--personality", kind, "--capacity-kw", "8", "--strategy", "fixed",
         "--intervals", "3", "--sim-start", "2026-06-21T12:00:00Z", "--grid-prices", "0.30,0.05",
         "--record", str(tmp_path / f"{party}.jsonl"), "--wire", "xml" if kind == "pv" else "json",
         "--state-dir", str(tmp_path / "state" / party))
        for party, kind in (("pv-1", "pv"), ("home-1", "load"))))
    pv = [json.loads(line) for line in (tmp_path / "pv-1.jsonl").read_text().splitlines()]
    home = [json.loads(line) for line in (tmp_path / "home-1.jsonl").read_text().splitlines()]
    assert len(pv) == len(home) == 3
    # midday PV meets the household's need: both sides of each interval agree
    for p, h in zip(pv, home, strict=True):
        assert p["interval_start"] == h["interval_start"]
        assert p["sold_kwh"] == h["bought_kwh"] > 0
        assert p["clearing_price"] == h["clearing_price"] == 0.175
        assert len(p["transactions"]) == len(h["transactions"]) == 1
    lines = outputs[0]
    assert lines.count("pv-1 ") == 3  # a progress line per interval
