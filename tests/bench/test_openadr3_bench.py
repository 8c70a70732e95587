"""bench/openadr3_bench.py runs end to end with tiny numbers and writes the keys BENCHMARKS.md is made from. Its
figures are not checked: speed targets live in BENCHMARKS.md, never in tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_reads_events_for_every_ven_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "openadr3.json"
    flags = ["--duration", "1", "--rounds", "1", "--clients", "4", "--events", "12", "--vens", "60"]
    if shutil.which("wrk") is None:  # the round trips need wrk (bench/install_wrk.sh); the VENs' reads do not
        flags.append("--skip-round-trips")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "openadr3_bench.py"), *flags, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    vens = results["vens"]
    assert (vens["vens"], vens["events"], vens["errors"]) == (60, 12, 0)
    assert {"wall_s", "reads_per_s", "latency_ms_p50", "latency_ms_p99", "rss_kb_before", "rss_kb_after"} <= set(vens)
    if "round_trips" in results:
        targets = results["round_trips"]["targets"]
        assert set(targets) == {"cts_noop_json", "oa3_events_ven", "oa3_events_bl", "oa3_event_by_id"}
        assert all(t["non_2xx"] == 0 for t in targets.values())
        assert set(results["round_trips"]["paired_ratio_to_cts_noop"]) == set(targets) - {"cts_noop_json"}
