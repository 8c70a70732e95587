"""``transactive ven run`` processes against a real HTTP VTN (accelerated market time) on loopback."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

from transactive.vtn.app import VtnApp, VtnOptions

ROOT = Path(__file__).resolve().parents[2]


async def test_two_ven_processes_trade_and_settle_over_http(tmp_path: Path) -> None:
    vtn = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", port=0, interval_seconds=0.5))
    await vtn.start()
    try:
        info = await vtn.health()
        start = datetime.fromisoformat(info["next_open_interval"]) + timedelta(minutes=15) * 8
        procs = []
        for party, kind, strategy in (("pv-1", "pv", "fixed"), ("home-1", "load", "fixed")):
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "transactive.cli", "ven", "run", "--vtn", vtn.url, "--party", party,
                "--personality", kind, "--capacity-kw", "8", "--strategy", strategy, "--intervals", "3",
                "--start", start.isoformat(), "--sim-start", "2026-06-21T12:00:00Z", "--grid-prices", "0.30,0.05",
                "--record", str(tmp_path / f"{party}.jsonl"), "--wire", "xml" if kind == "pv" else "json",
                "--state-dir", str(tmp_path / "state" / party),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT))
        outputs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
    finally:
        await vtn.stop()
    pv = [json.loads(line) for line in (tmp_path / "pv-1.jsonl").read_text().splitlines()]
    home = [json.loads(line) for line in (tmp_path / "home-1.jsonl").read_text().splitlines()]
    assert len(pv) == len(home) == 3
    # midday PV meets the household's need: both sides of each interval agree
    for p, h in zip(pv, home, strict=True):
        assert p["interval_start"] == h["interval_start"]
        assert p["sold_kwh"] == h["bought_kwh"] > 0
        assert p["clearing_price"] == h["clearing_price"] == 0.175
        assert len(p["transactions"]) == len(h["transactions"]) == 1
    lines = outputs[0][0].decode()
    assert lines.count("pv-1 ") == 3  # a progress line per interval
