"""`transactive simulate paper-iota`: the command-line contract on a small week with hand-computed answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.simulate.test_paper_iota import synthetic_week, times
from transactive.simulate.week import Week, column_names, write_week

KEYS = ("producers_benefit_pct", "consumers_benefit_pct", "p2p_kwh", "main_grid_kwh", "mean_p2p_price")
P_GB, P_GS = 18.9, 3.2


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transactive.cli", "simulate", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def hand_week() -> Week:
    """Round 1: in MG1 P1 needs 1 kWh and P2 has 0.5 kWh spare; MG2 P1 needs 2 kWh; MG3 P1 has 3 kWh spare.
    Round 2: everybody uses exactly what it generates (1 kWh): self-consumption only, no trade.
    """
    load = np.zeros((3, 5, 2))
    pv = np.zeros((3, 5, 2))
    load[0, 0, 0] = 1000.0
    pv[0, 1, 0] = 500.0
    load[1, 0, 0] = 2000.0
    pv[2, 0, 0] = 3000.0
    load[:, :, 1] = pv[:, :, 1] = 1000.0
    return Week(times(2), load, pv)


# scenario -> (P2P kWh, main-grid kWh), worked out by hand from hand_week():
#   Grid: MG1 matches 0.5 inside, imports 0.5; MG2 imports 2; MG3 exports 3            -> P2P 0.5, grid 5.5
#   MG1+MG2: two buyers only between them: nothing more trades                          -> P2P 0.5, grid 5.5
#   MG1+MG3: MG3 sells MG1's missing 0.5; MG2 imports 2, MG3 exports 2.5               -> P2P 1.0, grid 4.5
#   MG2+MG3: MG3 sells MG2's 2; MG1 imports 0.5, MG3 exports 1                         -> P2P 2.5, grid 1.5
#   All: MG1 0.5 + MG2 2 = 2.5 bought from MG3's 3; 0.5 exported                      -> P2P 3.0, grid 0.5
EXPECTED = {
    "Grid": (0.5, 5.5),
    "MG1+MG2": (0.5, 5.5),
    "MG1+MG3": (1.0, 4.5),
    "MG2+MG3": (2.5, 1.5),
    "All": (3.0, 0.5),
}


@pytest.fixture(scope="module")
def hand_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("paper") / "hand.csv"
    write_week(hand_week(), path)
    return path


def test_json_contract_on_the_hand_computed_week(hand_csv: Path) -> None:
    done = cli("paper-iota", "--data", str(hand_csv), "--json", "--seeds", "3")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["scenario"] for r in rows] == list(EXPECTED)
    for row in rows:
        for key in KEYS:
            assert isinstance(row[key], float)
            assert row[f"{key}_min"] <= row[key] <= row[f"{key}_max"]
        p2p, grid = EXPECTED[row["scenario"]]
        assert row["p2p_kwh"] == pytest.approx(p2p, abs=1e-6)
        assert row["main_grid_kwh"] == pytest.approx(grid, abs=1e-6)
        assert row["p2p_kwh_min"] == row["p2p_kwh_max"]


def test_grid_benefits_follow_from_the_one_price_by_the_definition(hand_csv: Path) -> None:
    """Grid, one seed: one P2P trade (MG1, 0.5 kWh at price p); sold in all 3.5 kWh, bought 3 kWh.

    producers = (p - P_gs)/P_gs * 0.5/3.5, consumers = (P_gb - p)/P_gb * 0.5/3: the Wh sold or bought with
    the main grid count 0 %.
    """
    done = cli("paper-iota", "--data", str(hand_csv), "--json", "--seeds", "1")
    grid = json.loads(done.stdout)[0]
    p = grid["mean_p2p_price"]
    assert P_GS <= p <= P_GB
    assert grid["producers_benefit_pct"] == pytest.approx(100 * (p - P_GS) / P_GS * 0.5 / 3.5, abs=1e-4)
    assert grid["consumers_benefit_pct"] == pytest.approx(100 * (P_GB - p) / P_GB * 0.5 / 3.0, abs=1e-4)
    mg2_mg3 = json.loads(done.stdout)[3]
    q = mg2_mg3["per_microgrid"]["MG3"]["mean_p2p_price"]  # MG3's only sale: 2 kWh to MG2 at the upper price
    assert mg2_mg3["per_microgrid"]["MG3"]["producers_benefit_pct"] == pytest.approx(
        100 * (q - P_GS) / P_GS * 2.0 / 3.0, abs=1e-4)


def test_the_table_names_every_scenario_and_the_papers_figures(hand_csv: Path) -> None:
    done = cli("paper-iota", "--data", str(hand_csv))
    assert done.returncode == 0, done.stderr
    for name in EXPECTED:
        assert f"\n{name} " in done.stdout
    assert "166.41" in done.stdout
    assert "20.6" in done.stdout
    assert "5 scenarios x 5 seeds x 2 rounds" in done.stderr


def test_rounds_takes_the_first_k_bidding_rounds(tmp_path: Path) -> None:
    path = tmp_path / "week.csv"
    write_week(synthetic_week(96), path)
    one = json.loads(cli("paper-iota", "--data", str(path), "--json", "--seeds", "1", "--rounds", "40").stdout)
    head = tmp_path / "head.csv"
    write_week(synthetic_week(96).head(40), head)
    other = json.loads(cli("paper-iota", "--data", str(head), "--json", "--seeds", "1").stdout)
    assert one == other


def test_plots_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "week.csv"
    write_week(synthetic_week(96), path)
    done = cli("paper-iota", "--data", str(path), "--seeds", "2", "--plots", str(tmp_path / "figs"))
    assert done.returncode == 0, done.stderr
    from transactive.simulate.plots import FIGURES

    for name in FIGURES:
        png = tmp_path / "figs" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"plot: {png}" in done.stderr


def test_sensitivity_prints_one_row_per_setting(hand_csv: Path) -> None:
    done = cli("paper-iota", "--data", str(hand_csv), "--seeds", "1", "--sensitivity", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    from transactive.simulate.paper_iota import SENSITIVITY

    assert [(r["parameter"], r["value"]) for r in rows[1:]] == [(flag, v) for flag, _, v in SENSITIVITY]
    tolerance = next(r for r in rows if r["parameter"] == "--tolerance")
    again = cli("paper-iota", "--data", str(hand_csv), "--seeds", "1", "--json", "--tolerance", "0.1")
    grid = json.loads(again.stdout)[0]
    assert tolerance["grid_producers_benefit_pct"] == pytest.approx(grid["producers_benefit_pct"], abs=1e-6)
    text = cli("paper-iota", "--data", str(hand_csv), "--seeds", "1", "--sensitivity")
    assert text.stdout.startswith("| parameter | value |")


def test_aa_flags_reach_the_mechanism(hand_csv: Path) -> None:
    base = json.loads(cli("paper-iota", "--data", str(hand_csv), "--json", "--seeds", "1").stdout)
    other = json.loads(cli("paper-iota", "--data", str(hand_csv), "--json", "--seeds", "1", "--initial-r", "0.9",
                           "--update-rounds", "1").stdout)
    assert base[0]["mean_p2p_price"] != other[0]["mean_p2p_price"]


def _bad(tmp_path: Path, line: str) -> Path:
    good = tmp_path / "good.csv"
    write_week(hand_week(), good)
    rows = good.read_text().splitlines()
    rows[2] = line
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    return bad


def test_a_bad_row_exits_1_naming_the_line_and_column(tmp_path: Path) -> None:
    fields = ["2016-03-14T00:15:00+00:00"] + ["1000"] * 30
    fields[column_names().index("MG2_P3_pv_Wh")] = "abc"
    done = cli("paper-iota", "--data", str(_bad(tmp_path, ",".join(fields))))
    assert done.returncode == 1
    assert "line 3" in done.stderr
    assert "MG2_P3_pv_Wh" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["paper-iota", "--data", "/nonexistent/week.csv"], "/nonexistent/week.csv"),
        (["paper-iota", "--data", "HAND", "--rounds", "3"], "--rounds 3"),
        (["paper-iota", "--data", "HAND", "--seeds", "0"], "--seeds"),
        (["paper-iota", "--data", "HAND", "--step", "0"], "--step"),
        (["paper-iota", "--data", "HAND", "--initial-r", "2"], "--initial-r"),
        (["paper-iota", "--data", "HAND", "--free-move", "dance"], "--free-move"),
        (["paper-iota", "--data", "HAND", "--tolerance", "nan"], "--tolerance"),
        (["paper-iota"], "--data"),
        (["build-data"], "--out"),
    ],
)
def test_usage_errors_and_unreadable_data_exit_2(hand_csv: Path, args: list[str], needle: str) -> None:
    done = cli(*[str(hand_csv) if a == "HAND" else a for a in args])
    assert done.returncode == 2
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_group_alone_prints_its_help() -> None:
    done = cli()
    assert done.returncode == 2
    assert "paper-iota" in done.stderr


def test_build_data_writes_the_shipped_week_and_describes_it(tmp_path: Path) -> None:
    pytest.importorskip("pvlib", reason="build-data needs the 'paper' extra (simbench, pvlib)")
    from transactive.simulate.week import read_week

    out = tmp_path / "week.csv"
    done = cli("build-data", "--out", str(out))
    assert done.returncode == 0, done.stderr
    shipped = read_week(Path(__file__).resolve().parents[2] / "transactive" / "simulate" / "paper_iota_week.csv")
    built = read_week(out)
    assert built.times == shipped.times
    assert np.abs(built.load - shipped.load).max() <= 1e-3
    assert np.abs(built.pv - shipped.pv).max() <= 1e-3
    assert "MG2: load" in done.stderr
    assert f"wrote {out}: 672 rounds" in done.stderr
    other = tmp_path / "other.csv"
    assert cli("build-data", "--out", str(other), "--seed", "7").returncode == 0
    assert not np.array_equal(read_week(other).load, shipped.load)


def test_build_data_refuses_an_unwritable_out(tmp_path: Path) -> None:
    pytest.importorskip("pvlib", reason="build-data needs the 'paper' extra (simbench, pvlib)")
    done = cli("build-data", "--out", str(tmp_path / "missing" / "week.csv"))
    assert done.returncode == 2
    assert "cannot write" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2  # the progress line, then the one-line error
