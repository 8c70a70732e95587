"""``transactive community run`` against a real HTTP VTN (accelerated market time) on loopback, with a load VEN
buying: the community's offers are matched, it is called, dispatches, reports deliveries and books tokens."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from transactive.ven.community import ledger_balances
from transactive.vtn.app import VtnApp, VtnOptions

ROOT = Path(__file__).resolve().parents[2]


async def test_a_community_sells_to_a_load_ven_is_called_and_books_it(tmp_path: Path) -> None:
    vtn = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", port=0, interval_seconds=0.5))
    await vtn.start()
    data = tmp_path / "evs"
    try:
        info = await vtn.health()
        start = datetime.fromisoformat(info["next_open_interval"]) + timedelta(minutes=15) * 8
        common = ("--vtn", vtn.url, "--intervals", "4", "--start", start.isoformat(),
                  "--sim-start", "2026-03-02T18:00:00Z", "--grid-prices", "0.30,0.05")
        load = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transactive.cli", "ven", "run", "--party", "home-1", "--personality", "load",
            "--capacity-kw", "20", "--state-dir", str(tmp_path / "home-1"), *common,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT)
        community = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transactive.cli", "community", "run", "--name", "campus-evs",
            "--goal", "spinning-reserve", "--data-dir", str(data), *common,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT)
        outputs = [await asyncio.wait_for(p.communicate(), 90) for p in (load, community)]
        assert [load.returncode, community.returncode] == [0, 0], outputs
    finally:
        await vtn.stop()
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "community", "report", "--data-dir", str(data),
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["calls"] > 0
    assert report["delivered_kwh"] > 0
    assert report["revenue"] > 0
    assert abs(sum(report["revenue_by_member"].values()) - report["revenue"]) < 1e-9
    # the VTN settled the community's deliveries: its transactions are on the VTN's ledger
    vtn_log = outputs[1][0].decode()
    assert vtn_log.count("campus-evs ") >= 4, vtn_log
    balances = ledger_balances(data / "tokens.ledger", "campus-evs")
    assert balances  # the critical evening hours earned tokens
    assert {k: Decimal(str(v)) for k, v in report["tokens"].items() if v} == {k: v for k, v in balances.items() if v}
    assert report["ledger_tokens_match"] is True
