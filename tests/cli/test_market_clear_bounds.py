"""``market clear`` never prints inf or NaN: prices and quantities beyond 1e12 are bad rows (exit 1, the line and
field named), and what it clears, up to those bounds, is finite and valid JSON."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from transactive.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("row", "message"), [
    ("buy,1e308,1", "line 3: price: at most 1e+12 in absolute value, not 1e+308"),
    ("sell,-1e13,1", "line 3: price: at most 1e+12 in absolute value, not -1e+13"),
    ("buy,0.2,1e308", "line 3: quantity: at most 1e+12 in absolute value, not 1e+308"),
])
def test_huge_finite_numbers_are_a_bad_row(tmp_path: Path, row: str, message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "o.csv"
    orders.write_text(f"side,price,quantity\nsell,0.1,1\n{row}\n")
    assert main(["market", "clear", str(orders), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{orders}: {message}\n"


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def test_the_largest_numbers_taken_clear_to_finite_valid_json_without_warnings(tmp_path: Path) -> None:
    orders = tmp_path / "o.csv"
    rows = ["buy,1e12,1e12"] * 500 + ["sell,-1e12,1e12"] * 500 + ["buy,1e-300,1e-300", "sell,1e12,1e12"]
    orders.write_text("side,price,quantity,interval\n" + "".join(f"{r},{i % 3}\n" for i, r in enumerate(rows)))
    result = subprocess.run([sys.executable, "-W", "error", "-m", "transactive", "market", "clear", str(orders),
                             "--json", "--mechanism", "pay-as-bid"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""

    def refuse(constant: str) -> object:
        raise AssertionError(f"not JSON: {constant}")

    payload = json.loads(result.stdout, parse_constant=refuse)
    assert len(payload) == 3
    assert _finite(payload)
    text = subprocess.run([sys.executable, "-m", "transactive", "market", "clear", str(orders)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert text.returncode == 0
    assert "inf" not in text.stdout
    assert "nan" not in text.stdout
