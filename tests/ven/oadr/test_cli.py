"""The command-line contract of ``transactive ven run --protocol openadr``: flags checked before anything runs
(one line naming the flag, exit 2), and an unreachable VTN retried with backoff until stopped."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from transactive.cli import main

ROOT = Path(__file__).resolve().parents[3]
BASE = ["ven", "run", "--protocol", "openadr", "--vtn", "http://127.0.0.1:9", "--party", "pv-1",
        "--personality", "pv"]


def test_the_help_documents_the_openadr_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ven", "run", "--help"])
    out = capsys.readouterr().out
    for text in ("--protocol {cts,openadr,openadr3}", "--poll-seconds S", "--vtn-fingerprint FP", "--sign-cert FILE",
                 "TELEMETRY_USAGE", "--protocol openadr --vtn"):
        assert text in out


@pytest.mark.parametrize(("extra", "flag"), [
    (["--poll-seconds", "0"], "--poll-seconds"),
    (["--strategy", "zic"], "--strategy"),
    (["--intervals", "3"], "--intervals"),
    (["--vtn-key", "ed25519:x"], "--vtn-key"),
    (["--vtn-fingerprint", "AA:BB"], "--vtn-fingerprint"),
    (["--tls-cert", "x.crt"], "--tls-"),
    (["--sign-cert", "x.crt"], "--sign-cert"),
    (["--capacity-kw", "-1"], "--capacity-kw"),
])
def test_a_bad_flag_is_one_line_naming_it_and_exit_2(extra: list[str], flag: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--state-dir", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert flag in err[0]


def test_openadr_flags_are_refused_in_the_cts_mode(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "pv-1", "--personality", "pv",
            "--poll-seconds", "5"]
    assert main(argv) == 2
    assert "--poll-seconds is for --protocol openadr" in capsys.readouterr().err


def test_signing_flags_that_cannot_be_used_are_one_line_naming_the_flag(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--state-dir", str(tmp_path), "--sign-cert", "a.crt"]) == 2
    assert "--sign-cert and --sign-key go together" in capsys.readouterr().err
    missing = tmp_path / "missing.crt"
    assert main([*BASE, "--state-dir", str(tmp_path), "--sign-cert", str(missing), "--sign-key", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "--sign-cert" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unreadable_state_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "openadr.json").write_text("{")
    assert main([*BASE, "--state-dir", str(tmp_path)]) == 2
    assert "--state-dir" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_vtn_is_retried_with_one_line_per_attempt_until_stopped(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen([sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr",
                                "--vtn", url, "--party", "pv-1", "--personality", "pv", "--state-dir", str(tmp_path)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    attempts = [line for line in err.splitlines() if "cannot reach the VTN" in line]
    assert len(attempts) >= 2
    assert all(url in line and "retrying in" in line for line in attempts)
    assert "attempt 1" in attempts[0]
    assert "attempt 2" in attempts[1]
