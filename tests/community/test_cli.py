"""``transactive community report`` (the JSON contract, the table, exit codes) and ``community run``'s refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.community.helpers import sample_community
from transactive.cli import main

CONTRACT = {"members", "goal_kw", "available_kw_by_hour", "calls", "delivered_kw", "revenue", "tokens", "ranking"}


def test_the_json_report_keeps_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = sample_community(tmp_path)
    assert main(["community", "report", "--data-dir", str(c.data_dir), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) >= CONTRACT
    assert [m["name"] for m in r["members"]] == ["ev-a", "ev-b"]
    assert r["goal_kw"] == 10.0
    assert r["available_kw_by_hour"] == [12.0] * 24
    assert r["calls"] == 2
    assert r["delivered_kwh"] == 8.0
    assert r["delivered_kw"] == pytest.approx(8.0)  # 8 kWh over two half-hour calls
    assert r["revenue"] == pytest.approx(6 * 0.2 + 2 * 0.1)
    assert sum(r["revenue_by_member"].values()) == pytest.approx(r["revenue"])
    assert r["tokens"] == {"ev-a": 24.0, "ev-b": 12.0}  # (8 or 4 kWh) x (level 1 + level 2)
    assert r["ranking"] == ["ev-a", "ev-b"]
    assert r["ledger_tokens_match"] is True


def test_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = sample_community(tmp_path)
    assert main(["community", "report", "--data-dir", str(c.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "community cm: goal spinning-reserve 10 kW, 2 members" in out
    assert "   1  ev-a" in out
    assert "   2  ev-b" in out
    assert "ledger agrees: True" in out


def test_books_the_ledger_contradicts_are_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = sample_community(tmp_path)
    state = json.loads((c.data_dir / "community.json").read_text())
    state["tokens"]["ev-b"] = "99"
    (c.data_dir / "community.json").write_text(json.dumps(state))
    assert main(["community", "report", "--data-dir", str(c.data_dir), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ledger_tokens_match"] is False
    assert captured.err.startswith("transactive community report: the token ledger")


@pytest.mark.parametrize(("setup", "message"), [
    ("missing", "no such directory"),
    ("empty", "no community.json"),
    ("garbage", "unreadable"),
    ("wrong", "not a community state"),
])
def test_an_unusable_data_dir_is_exit_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str,
                                                    message: str) -> None:
    d = tmp_path / "d"
    if setup != "missing":
        d.mkdir()
    if setup == "garbage":
        (d / "community.json").write_text("{not json")
    if setup == "wrong":
        (d / "community.json").write_text('{"name": "x"}')
    assert main(["community", "report", "--data-dir", str(d), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("transactive community report: --data-dir")
    assert message in err


def test_report_without_data_dir_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["community", "report"])
    assert exc.value.code == 2
    assert "--data-dir" in capsys.readouterr().err


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("args", "message"), [
    (["--intervals", "0"], "--intervals must be at least 1"),
    (["--vtn", "ftp://x"], "--vtn: expected an http"),
    (["--start", "yesterday"], "--start: not an ISO time"),
    (["--sim-start", "2026-03-02T08:00:00"], "--sim-start: give a time zone"),
    (["--grid-prices", "0.1,0.3"], "--grid-prices"),
    (["--config", "/nonexistent.toml"], "no such file"),
    (["--config", "@bad"], "not TOML"),
    (["--config", "@unknown"], "unknown field 'colour'"),
    (["--config", "@template"], "member[0]: member x: template 't9'"),
    (["--config", "@schedule"], "member[0].schedule: '25-26'"),
    (["--config", "@rate"], "community.history_days: 0.5 is not a whole number"),
])
def test_run_refuses_bad_flags_and_configs_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       args: list[str], message: str) -> None:
    configs = {
        "@bad": "this is not toml",
        "@unknown": "[community]\ncolour = 'red'\n",
        "@template": "[[member]]\nname = 'x'\ntemplate = 't9'\npower_kw = 3\n",
        "@schedule": "[[member]]\nname = 'x'\ntemplate = 't2'\npower_kw = 3\nschedule = '25-26'\n",
        "@rate": "[community]\nhistory_days = 0.5\n",
    }
    args = [_config(tmp_path, configs[a]) if a in configs else a for a in args]
    base = {"--vtn": "http://127.0.0.1:9", "--name": "cm", "--goal": "spinning-reserve"}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    argv = ["community", "run", *[x for kv in base.items() for x in kv], "--data-dir", str(tmp_path / "d")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("transactive community run: "), err
    assert message in err, err


def test_run_with_an_unreachable_vtn_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["community", "run", "--vtn", "http://127.0.0.1:9", "--name", "cm", "--goal", "flexibility",
            "--data-dir", str(tmp_path / "d"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("transactive community run: cannot reach the VTN at http://127.0.0.1:9")


def test_run_refuses_a_data_dir_of_another_community(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = sample_community(tmp_path)
    argv = ["community", "run", "--vtn", "http://127.0.0.1:9", "--name", "other", "--goal", "spinning-reserve",
            "--data-dir", str(c.data_dir)]
    assert main(argv) == 2
    assert "holds community 'cm'" in capsys.readouterr().err


def test_the_command_group_alone_prints_its_help_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["community"]) == 2
    err = capsys.readouterr().err
    assert "run" in err
    assert "report" in err
    with pytest.raises(SystemExit) as exc:
        main(["community", "run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "SIMULATED" in out
    assert "exit codes:" in out
