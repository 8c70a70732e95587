"""``transactive conformance``: the command-line contract (commands, flags, exit codes, JSON keys) as a user
meets it. Usage errors and unreachable endpoints are exit 2 with one line naming the flag; the runs against
live endpoints are in tests/conformance and tests/interop."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.oadr_ven_run import stop, transactive_ven
from tests.pki import Pki
from tests.vtn.conftest import start_vtn

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transactive.cli", "conformance", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, check=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_command_it_prints_its_help_and_exits_2() -> None:
    done = cli()
    assert done.returncode == 2
    assert "probe" in done.stderr
    assert "listen" in done.stderr


@pytest.mark.parametrize(("args", "named"), [
    (["probe", "http://127.0.0.1:1"], "--role"),
    (["probe", "http://127.0.0.1:1", "--role", "ven"], "--role"),
    (["probe", "ftp://127.0.0.1:1", "--role", "vtn"], "URL"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--standard", "3.1"], "--standard"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--tls-cert", "README.md"], "--tls-key"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--sign-key", "README.md"], "--sign-cert"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--tls-ca", "/nonexistent/ca.crt"], "--tls-ca"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--html", "/nonexistent/dir/r.html"], "--html"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--party", " "], "--party"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--timeout", "-1"], "--timeout"),
    (["probe", "http://127.0.0.1:1", "--role", "vtn", "--cases", "Z9_*"], "--cases"),
    (["listen", "--role", "ven", "--host", "127.0.0.1", "--port", "99999"], "--port"),
    (["listen", "--role", "ven", "--host", "127.0.0.1", "--port", "-1"], "--port"),
    (["listen", "--role", "ven", "--host", "127.0.0.1"], "--port"),
    (["listen", "--role", "vtn", "--host", "127.0.0.1", "--port", "1"], "--role"),
    (["listen", "--role", "ven", "--host", "127.0.0.1", "--port", "8", "--vtn-fingerprint", "AA:BB"],
     "--vtn-fingerprint"),
    (["cases", "--standard", "openadr3"], "--standard"),
])
def test_usage_errors_exit_2_naming_the_flag(args: list[str], named: str) -> None:
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_listen_checks_the_fingerprint_against_the_kits_own_certificate(pki: Pki) -> None:
    cert, key = pki.pair("vtn")
    done = cli("listen", "--role", "ven", "--host", "127.0.0.1", "--port", str(closed_port()), "--tls-cert",
               str(cert), "--tls-key", str(key), "--tls-ca", str(pki.ca), "--vtn-fingerprint", "00:11:22")
    assert done.returncode == 2
    assert "--vtn-fingerprint 00:11:22: the kit's certificate has fingerprint" in done.stderr


@pytest.mark.parametrize("standard", ["openadr20b", "cts"])
def test_an_endpoint_that_cannot_be_reached_is_exit_2(standard: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    done = cli("probe", url, "--role", "vtn", "--standard", standard, "--json")
    assert done.returncode == 2, done.stderr
    assert f"{url}: cannot be reached" in done.stderr
    assert done.stdout == ""


def test_listen_on_a_port_in_use_is_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli("listen", "--role", "ven", "--host", "127.0.0.1", "--port", str(port), "--timeout", "1")
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_cases_lists_every_suite_with_ids_titles_and_rules() -> None:
    done = cli("cases", "--json")
    assert done.returncode == 0, done.stderr
    cases = json.loads(done.stdout)
    keys = [(c["standard"], c["role"], c["id"]) for c in cases]
    assert len(keys) == len(set(keys))  # an id names one case of its suite (the VTN and VEN suites share N1_0010)
    assert {c["standard"] for c in cases} == {"openadr20b", "cts"}
    assert {c["role"] for c in cases if c["standard"] == "openadr20b"} == {"vtn", "ven"}
    for case in cases:
        assert case["title"]
        assert case["rules"]
        assert all(isinstance(r, str) and r for r in case["rules"])
    text = cli("cases", "--standard", "cts")
    assert text.returncode == 0
    assert all(c["id"] in text.stdout for c in cases if c["standard"] == "cts")
    assert not any(c["id"] in text.stdout for c in cases if c["standard"] == "openadr20b")


def test_a_cts_probe_from_the_command_line_reports_in_json_and_html(tmp_path: Path) -> None:
    vtn = start_vtn(tmp_path / "vtn")
    try:
        report = tmp_path / "cts.html"
        done = cli("probe", vtn.url, "--role", "vtn", "--standard", "cts", "--wire", "json", "--json",
                   "--html", str(report), "--party", "cli-probe")
        text = cli("probe", vtn.url, "--role", "vtn", "--standard", "cts", "--cases", "CTS_M_*,CTS_N_0010")
    finally:
        vtn.kill()
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["target"], data["role"], data["standard"]) == (vtn.url, "vtn", "cts")
    assert data["failed"] == 0
    assert data["passed"] == len(data["cases"]) > 10
    assert all(f"{c['id']} " in done.stderr for c in data["cases"])  # one progress line per case
    page = report.read_text(encoding="utf-8")
    assert "no case failed" in page
    assert all(f'id="{c["id"]}"' in page for c in data["cases"])
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"cts VTN at {vtn.url}: 2 passed, 0 failed, 0 skipped")


def test_the_cts_flags_are_refused_with_openadr() -> None:
    done = cli("probe", "http://127.0.0.1:1", "--role", "vtn", "--wire", "json")
    assert done.returncode == 2
    assert "--wire and --market-context go with --standard cts" in done.stderr


def test_an_openadr_probe_from_the_command_line_against_vtn_serve_passes(tmp_path: Path) -> None:
    vtn = start_vtn(tmp_path / "vtn", "--oadr-poll-seconds", "1")
    try:
        token = f"@{tmp_path / 'vtn' / 'operator.token'}"
        made = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "event", "create", "--vtn", vtn.url,
                               "--operator-token", token, "--signal", "SIMPLE", "--start", "now",
                               "--intervals", "PT10M:1,PT10M:2"], capture_output=True, text=True, timeout=60,
                              check=False)
        assert made.returncode == 0, made.stderr
        report = tmp_path / "oadr.html"
        done = cli("probe", vtn.url, "--role", "vtn", "--observe", "2", "--json", "--html", str(report))
    finally:
        vtn.kill()
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["standard"] == "openadr20b"
    assert data["failed"] == 0
    results = {c["id"]: c["result"] for c in data["cases"]}
    assert results["E1_0010"] == "pass"  # the operator's event reached the probe
    assert all(results[i] == "skip" for i in ("G1_0050", "G1_0080"))  # no signing or TLS flags: said why
    assert "give --sign-cert and --sign-key" in {c["id"]: c["detail"] for c in data["cases"]}["G1_0050"]
    assert "no case failed" in report.read_text(encoding="utf-8")


def test_listen_from_the_command_line_walks_transactives_ven_through_the_cases(tmp_path: Path) -> None:
    report = tmp_path / "ven.html"
    kit = subprocess.Popen([sys.executable, "-m", "transactive.cli", "conformance", "listen", "--role", "ven",
                            "--host", "127.0.0.1", "--port", "0", "--timeout", "20", "--json", "--html", str(report)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert kit.stderr is not None
    first = kit.stderr.readline()
    assert "its VTN URL is " in first, first
    url = first.rsplit("its VTN URL is ", 1)[1].strip()
    (tmp_path / "ven").mkdir()
    ven = transactive_ven(url, tmp_path / "ven")
    try:
        out, err = kit.communicate(timeout=120)
    finally:
        stop([ven])
    assert kit.returncode == 0, first + err
    data = json.loads(out)
    assert (data["role"], data["standard"], data["failed"]) == ("ven", "openadr20b", 0)
    assert data["passed"] >= 15
    assert {c["id"] for c in data["cases"] if c["result"] == "skip"} >= {"E0_0010", "N0_0040"}  # a pull VEN
    assert "no case failed" in report.read_text(encoding="utf-8")


def test_a_broken_pipe_on_stdout_is_not_a_traceback() -> None:
    shell = subprocess.run(f"{sys.executable} -m transactive.cli conformance cases --json | head -c 1", shell=True,
                           capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert shell.stdout == "["  # head took one byte and left: the rest of the 40 kB hits a closed pipe
    assert "Traceback" not in shell.stderr
    assert "BrokenPipe" not in shell.stderr
