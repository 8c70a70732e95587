"""The runnable examples run: each exits 0 and prints what its docstring promises (short configurations,
so the suite stays quick; ``make demo`` runs the full day)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, timeout: float = 240) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_the_foundation_demo_builds_validates_and_round_trips_its_messages(tmp_path: Path) -> None:
    out = run("examples/foundation_demo.py")
    assert "both valid and round-tripping: True" in out


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["memory", "http"])
def test_the_local_market_demo_trades_settles_and_plots(transport: str, tmp_path: Path) -> None:
    png = tmp_path / "demo.png"
    out = run("examples/local_market_demo.py", "--transport", transport, "--intervals", "4",
              "--interval-seconds", "1", "--out", str(png))
    report = json.loads(out.split("$ transactive vtn report --data-dir DIR --json\n", 1)[1].splitlines()[0])
    assert report["parties"] == 8
    assert report["tenders"] > 0
    assert report["ledger_valid"] is True
    assert png.stat().st_size > 10_000  # a real plot, not an empty file
    assert "energy traded locally:" in out
    if transport == "http":  # the OpenADR 2.0b battery registered with the same VTN and reported its meter
        assert report["openadr"]["vens"] == 1
        assert report["openadr"]["report_values"] > 0
        assert "OpenADR 2.0b VEN adr-bat" in out


@pytest.mark.slow
def test_the_double_auction_example_compares_the_grid_and_all_scenarios(tmp_path: Path) -> None:
    out = run("examples/double_auction_microgrids.py", "--days", "1", "--out", str(tmp_path))
    assert "less energy with the main grid than 'Grid'" in out
    assert (tmp_path / "double_auction_microgrids.png").stat().st_size > 10_000
