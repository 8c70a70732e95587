"""The OpenADR 2.0b command-line contracts that need no running VTN: ``vtn event`` usage errors and an
unreachable VTN (exit 2, one line naming the flag), and ``vtn serve``'s OpenADR flags refused before anything
starts. The commands against a running VTN are in tests/interop and tests/vtn."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transactive.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("args", "named"), [
    (["create", "--signal", "SIMPLE", "--start", "now", "--intervals", "PT1H"], "--intervals"),
    (["create", "--signal", "SIMPLE", "--start", "now", "--intervals", "PT1H:x"], "--intervals"),
    (["list", "--operator-token", ""], "--operator-token"),
    (["list", "--operator-token", "@/nonexistent/token"], "--operator-token"),
    (["list", "--tls-ca", "ca.crt"], "--tls-"),
    (["list", "--vtn", "ftp://x"], "--vtn"),
    (["modify", "evt-1"], "--intervals"),
])
def test_usage_errors_are_one_line_naming_the_flag_and_exit_2(args: list[str], named: str) -> None:
    base = {"--vtn": f"http://127.0.0.1:{closed_port()}", "--operator-token": "t"}
    full = [*args]
    for flag, value in base.items():
        if flag not in args:
            full += [flag, value]
    done = cli("vtn", "event", *full)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0]
    assert "Traceback" not in done.stderr


def test_an_unreachable_vtn_is_exit_2_naming_it() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    done = cli("vtn", "event", "list", "--vtn", url, "--operator-token", "t", "--json")
    assert done.returncode == 2
    assert f"cannot reach the VTN at {url}" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(("flags", "named"), [
    (["--sign-cert", "x.crt"], "--sign-cert and --sign-key"),
    (["--oadr-poll-seconds", "0"], "--oadr-poll-seconds"),
    (["--oadr-vtn-id", "lowercase"], "--oadr-vtn-id"),
    (["--ven-fingerprint", "ven-1"], "--ven-fingerprint"),
    (["--ven-fingerprint", "ven-1=not-a-fingerprint"], "--ven-fingerprint"),
    (["--allowed-vens", "/nonexistent/allowed"], "--allowed-vens"),
])
def test_vtn_serve_refuses_bad_openadr_flags_before_it_starts(tmp_path: Path, flags: list[str], named: str) -> None:
    done = cli("vtn", "serve", "--port", "0", "--data-dir", str(tmp_path / "vtn"), *flags)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert named in done.stderr
    assert "listening" not in done.stdout
    assert not (tmp_path / "vtn" / "vtn.db").exists()


def test_an_allowed_vens_file_with_a_bad_line_names_the_line(tmp_path: Path) -> None:
    listing = tmp_path / "allowed"
    listing.write_text("# VENs\nven-1 AA:BB:CC:DD:EE:FF:00:11:22:33\nven-2\n")
    done = cli("vtn", "serve", "--port", "0", "--data-dir", str(tmp_path / "vtn"), "--allowed-vens", str(listing))
    assert done.returncode == 2
    assert "line 3" in done.stderr
