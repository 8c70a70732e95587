"""bench/dashboard_bench.py runs end to end with tiny numbers and prints the keys BENCHMARKS.md is made from. Its
figures are not checked: speed targets live in BENCHMARKS.md, never in tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_measures_both_modes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "dashboard_bench.py"), "--transactions", "300",
                           "--rounds", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert results["transactions"] == 300
    for mode in ("thread", "loop"):
        assert set(results[mode]) == {"page_median_s", "cts_during_page_median_s", "cts_during_page_max_s"}
        assert all(value > 0 for value in results[mode].values())
    assert results["cts_ratio_loop_over_thread"] > 0
    assert results["machine"]["cores"]
