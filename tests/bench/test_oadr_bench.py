"""bench/oadr_bench.py runs end to end (``--quick``: both VTNs, tiny numbers) and writes every key BENCHMARKS.md
is made from. Its figures are not checked: speed targets live in BENCHMARKS.md, never in tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.interop]

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_run_measures_both_vtns_and_writes_its_json(openleadr_python: Path, tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (bench/install_wrk.sh)")
    out = tmp_path / "oadr.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "oadr_bench.py"), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "OPENLEADR_PYTHON": str(openleadr_python)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Ratio of medians" in done.stdout
    assert "Signed oadrPoll round trips/s over mutual TLS" in done.stdout
    results = json.loads(out.read_text())
    assert results["quick"] is True
    assert {"cpu", "cores", "python", "lscpu_model_name", "nproc"} <= results["machine"].keys()
    assert results["command"].endswith("--quick --json " + str(out))
    assert results["date"]
    polls, registration = results["polls"], results["registration"]
    for system in ("transactive", "openleadr"):
        assert polls["per_s"]["median"][system] > 0
        assert len(polls["per_s"]["per_round"][system]) == results["rounds"] == 1
        assert polls["replies_checked"][system] > 0
        assert polls["server_cpu_us_per_reply"]["median"][system] > 0
        assert registration["seconds"]["median"][system] > 0
    assert registration["vens"] == 20
    assert polls["ratio_of_medians"] > 0
    assert registration["speedup_of_medians"] > 0
    assert {"goal", "met", "paired_ratios"} <= polls.keys()
    assert {"goal", "met", "paired_speedups"} <= registration.keys()
    signed = results["signed_polls"]
    assert {"load_generator", "seconds", "clients", "workers", "pool_per_s"} <= signed.keys()
    for key_type in ("rsa", "ecdsa"):
        measured = signed[key_type]
        assert {"goal", "met", "paired_ratios", "ratio_of_medians", "issue_openleadr_per_s", "ratio_to_issue_figure",
                "latency_ms_p50", "latency_ms_p99", "generator_cpu_us_per_reply", "presigned", "signed_in_run",
                "openleadr_replay_check_refusals"} <= measured.keys()
        for system in ("transactive", "openleadr"):
            assert measured["per_s"]["median"][system] > 0
            assert measured["replies_ok"][system] > 0
            assert measured["server_cpu_us_per_reply"]["median"][system] > 0
            checks = measured["reply_checks"][system]
            assert checks["sampled"] > 0
            assert checks["signature_verified"] == checks["schema_valid"] == checks["sampled"]
        # a valid, freshly signed poll is never refused (as a replay, stale, or otherwise) by our VTN
        assert measured["refused"]["transactive"] == {}
        assert measured["valid_refused"]["transactive"] == 0
        assert measured["presigned"]["transactive"] > 0
        assert measured["presigned"]["openleadr"] == 0
