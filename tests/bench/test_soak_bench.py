"""bench/soak_bench.py runs end to end with tiny numbers against a SQLite VTN and writes the keys BENCHMARKS.md is
made from, with no error in any phase. Its figures are not checked: speed and memory targets live in
BENCHMARKS.md, never in tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_soak_answers_every_tender_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    # 50 VENs, two market intervals of 2 s each, then 3 s of closed loop
    flags = ["--vens", "50", "--minutes", str(4 / 60), "--interval-seconds", "2", "--throughput-seconds", "3",
             "--connections", "8", "--concurrency", "8", "--sample-seconds", "1", "--settle-seconds", "0.3"]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "soak_bench.py"), *flags, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    (run,) = results["runs"]
    assert run["errors"] == 0
    assert run["register"]["registered"] == 50
    soak = run["soak"]
    # every VEN tendered once per interval: two intervals in 4 s (give or take one at each end of the window)
    assert soak["errors"] == 0
    assert soak["answered"] == soak["sent"]
    assert 50 <= soak["sent"] <= 150
    assert {"p50", "p99", "max"} <= set(soak["latency_ms"])
    assert run["throughput"]["errors"] == 0
    assert run["throughput"]["tenders_per_s"] > 0
    assert run["tenders_stored"] >= run["tenders_answered"] == soak["answered"] + run["throughput"]["answered"]
    assert {"kb_per_ven_rss", "kb_per_ven_pss", "soak_memory", "baseline", "after_register", "gates"} <= set(run)
    assert {"rss_kb_first", "rss_kb_last", "rss_kb_max", "rss_kb_per_minute"} <= set(run["soak_memory"])
    series = run["rss_series"]
    assert series
    assert all(row["rss_kb"] > 0 for row in series)
    assert {row["phase"] for row in series} >= {"register", "soak", "throughput"}
    assert {"vtn_cpu_pct", "generator_cpu_pct", "machine_cpu_pct"} <= set(run["throughput"]["cpu_pct"])
