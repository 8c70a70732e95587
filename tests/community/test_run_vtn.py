"""``transactive community run`` against a real HTTP VTN (accelerated market time) on loopback, with a load VEN
buying: the community's offers are matched, it is called, dispatches, reports deliveries and books tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.ven.processes import ROOT, run_against_vtn
from transactive.ven.community import ledger_balances


async def test_a_community_sells_to_a_load_ven_is_called_and_books_it(tmp_path: Path) -> None:
    data = tmp_path / "evs"
    common = ("--intervals", "4", "--sim-start", "2026-03-02T18:00:00Z", "--grid-prices", "0.30,0.05")
    outputs = await run_against_vtn(
        tmp_path,
        ("ven", "run", "--party", "home-1", "--personality", "load", "--capacity-kw", "20",
         "--state-dir", str(tmp_path / "home-1")),
        ("community", "run", "--name", "campus-evs", "--goal", "spinning-reserve", "--data-dir", str(data)),
        common=common)
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "community", "report", "--data-dir", str(data),
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["calls"] > 0
    assert report["delivered_kwh"] > 0
    assert report["revenue"] > 0
    assert abs(sum(report["revenue_by_member"].values()) - report["revenue"]) < 1e-9
    # the aggregator traded every interval: one progress line each
    vtn_log = outputs[1]
    assert vtn_log.count("campus-evs ") >= 4, vtn_log
    balances = ledger_balances(data / "tokens.ledger", "campus-evs")
    assert balances  # the critical evening hours earned tokens
    assert {k: Decimal(str(v)) for k, v in report["tokens"].items() if v} == {k: v for k, v in balances.items() if v}
    assert report["ledger_tokens_match"] is True
