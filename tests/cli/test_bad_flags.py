"""Every command, given a bad flag, answers with one line on standard error that names the command (and the flag),
exit code 2 — never the top-level usage, never a traceback. The walk reads the parser tree, so a new command is
covered the day it is added."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from transactive.cli import build_parser, command_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path] if path else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


COMMANDS = _commands(build_parser())


def test_the_walk_finds_every_command() -> None:
    assert ("vtn", "serve") in COMMANDS
    assert ("vtn", "event", "create") in COMMANDS
    assert ("ledger", "bench") in COMMANDS
    assert len(COMMANDS) > 25


def _one_line_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    return captured.err


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_flag_is_that_commands_one_line_error(command: tuple[str, ...],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_usage_error([*command, "--no-such-flag"], capsys)
    prog = "transactive " + " ".join(command)
    assert err.startswith(prog + ": ")
    assert err.rstrip().endswith(f"(see {prog} --help)")
    assert "usage: transactive [-h]" not in err


@pytest.mark.parametrize(("argv", "flag"), [
    (["vtn", "serve", "--data-dir", "d", "--port", "99999"], "--port"),
    (["vtn", "serve", "--data-dir", "d", "--port", "-1"], "--port"),
    (["vtn", "serve", "--data-dir", "d", "--market-party", ""], "--market-party"),
    (["vtn", "serve", "--data-dir", "d", "--parent-party", " "], "--parent-party"),
    (["vtn", "serve", "--data-dir", "d", "--interval-seconds", "nan"], "--interval-seconds"),
    (["vtn", "serve", "--data-dir", "d", "--reserve", "0.1,0.3"], "--reserve"),
    (["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "", "--personality", "pv"], "--party"),
    (["ven", "run", "--protocol", "openadr", "--vtn", "http://127.0.0.1:9", "--party", "", "--personality", "pv"],
     "--party"),
    (["vtn", "event", "create", "--vtn", "http://127.0.0.1:9", "--operator-token", "t", "--signal", "SIMPLE",
      "--start", "yesterday", "--intervals", "PT10M:1"], "--start"),
    (["vtn", "event", "modify", "e1", "--vtn", "http://127.0.0.1:9", "--operator-token", "t", "--start",
      "now+5 minutes"], "--start"),
    (["vtn", "client", "create", "--vtn", "http://127.0.0.1:9", "--operator-token", "t", "--role", "ven",
      "--name", ""], "--name"),
    (["community", "run", "--vtn", "http://127.0.0.1:9", "--name", "", "--goal", "flexibility"], "--name"),
    (["conformance", "probe", "http://127.0.0.1:9", "--role", "vtn", "--party", ""], "--party"),
    (["ledger", "bench", "--entries", "0", "--path", "x"], "--entries"),
])
def test_a_bad_value_names_its_flag_before_any_network(argv: list[str], flag: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_usage_error(argv, capsys)
    assert f"argument {flag}" in err


@pytest.mark.parametrize(("argv", "flag"), [
    (["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "p", "--personality", "pv", "--start", "yesterday"],
     "--start"),
    (["community", "run", "--vtn", "http://127.0.0.1:9", "--name", "c", "--goal", "flexibility", "--start",
      "yesterday"], "--start"),
])
def test_a_bad_time_is_one_line_naming_the_flag(argv: list[str], flag: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{flag}: " in err


def test_command_parser_finds_the_deepest_command() -> None:
    parser = build_parser()
    assert command_parser(parser, ["ledger", "bench", "--entries", "5"]).prog == "transactive ledger bench"
    assert command_parser(parser, ["--version"]).prog == "transactive"


def test_python_dash_m_transactive_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "transactive", "--version"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("transactive ")


def test_a_bad_flag_through_python_dash_m_is_the_subcommands_error() -> None:
    result = subprocess.run([sys.executable, "-m", "transactive", "market", "clear", "o.csv", "--bogus"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr == ("transactive market clear: unrecognized arguments: --bogus "
                             "(see transactive market clear --help)\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_data_dir_held_by_another_vtn_is_one_line_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "vtn"
    serve = [sys.executable, "-m", "transactive", "vtn", "serve", "--data-dir", str(data), "--event-loop", "asyncio"]
    first = subprocess.Popen([*serve, "--port", str(_free_port())], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (data / "vtn.db.lock").exists() or not (data / "ledger.db.lock").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
        second = subprocess.run([*serve, "--port", str(_free_port())], cwd=ROOT, capture_output=True, text=True,
                                timeout=60, check=False)
    finally:
        first.terminate()
        first.communicate(timeout=30)
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1, second.stderr
    assert second.stderr.startswith("transactive vtn serve: ")
    assert "another VTN" in second.stderr or "another writer" in second.stderr


def test_ctrl_c_on_ledger_bench_is_one_line_exit_130(tmp_path: Path) -> None:
    bench = subprocess.Popen(
        [sys.executable, "-m", "transactive", "ledger", "bench", "--entries", "10000000", "--path",
         str(tmp_path / "b.ledger")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # (a background shell ignores SIGINT)
    deadline = time.monotonic() + 60
    while not (tmp_path / "b.ledger").exists():
        assert bench.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.0)
    bench.send_signal(signal.SIGINT)
    out, err = bench.communicate(timeout=60)
    assert bench.returncode == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "transactive ledger bench: interrupted"
    assert out == ""
