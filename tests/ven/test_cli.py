"""The command-line contract of ``transactive ven run`` (what checks outside the project rely on)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from transactive.cli import main


def test_ven_run_help_names_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ven", "run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--vtn URL", "--party NAME", "--personality NAME", "--capacity-kw X", "--strategy",
                   "aa,fixed,zic", "--config FILE", "personality parameters"):
        assert option in out
    from transactive.ven.personalities import personality_names

    assert ", ".join(personality_names()) in " ".join(out.split())


def test_a_bad_personality_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        main(["ven", "run", "--vtn", "http://127.0.0.1:1", "--party", "x", "--personality", "toaster"])
    assert info.value.code == 2


@pytest.mark.parametrize(("flags", "message"), [
    (["--start", "yesterday"], "--start: not an ISO time: 'yesterday'"),
    (["--sim-start", "2026-06-21T12:00:00"], "--sim-start: give a time zone"),
    (["--grid-prices", "0.3"], "--grid-prices: expected BUY,SELL with SELL < BUY, not '0.3'"),
    (["--grid-prices", "0.05,0.30"], "--grid-prices: expected BUY,SELL with SELL < BUY"),
])
def test_bad_times_and_grid_prices_are_one_line_naming_the_flag(flags: list[str], message: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "p", "--personality", "pv", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("transactive ven run: ")
    assert message in err
    assert err.count("\n") == 1


def test_ven_without_a_command_prints_usage() -> None:
    assert main(["ven"]) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_vtn_exits_2_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-m", "transactive.cli", "ven", "run", "--vtn", url, "--party", "pv-1",
                           "--personality", "pv", "--state-dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert url in done.stderr
