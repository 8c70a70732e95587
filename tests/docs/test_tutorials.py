"""The tutorials run as written: each page's code blocks, in order, against real processes.

A tutorial's shell blocks are one session: the block that starts ``transactive vtn serve`` is started as the
process a reader leaves running in its own terminal, the other blocks run one after the other in one bash
(``set -euo pipefail``) in a fresh directory. Only the port (``8080``) and the data directory (``/tmp/vtn``)
are replaced, by a free port and a directory of the test's own. Python blocks run in one namespace, in order.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
BIN = Path(sys.executable).parent


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT)}


#: what the tests put in place of a step that would download (nothing is downloaded at test time)
OFFLINE = {
    "python3 -m venv openleadr-venv && openleadr-venv/bin/pip install --quiet 'openleadr==0.5.36'":
        f"ln -s {ROOT / '.venv-openleadr'} openleadr-venv",
}


def localise(text: str, port: int, data_dir: Path) -> str:
    for online, offline in OFFLINE.items():
        text = text.replace(online, offline)
    return re.sub(r"\b8080\b", str(port), text).replace("/tmp/vtn", str(data_dir))


@contextmanager
def server(command: str, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The command a reader leaves running in its own terminal, until its first line says it listens (its
    output goes to a file: a pipe nobody reads would stop it once full)."""
    log = cwd / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["bash", "-c", f"exec {command.strip()}"], cwd=cwd, env=environment(),
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in log.read_text(encoding="utf-8", errors="replace"):
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "the server did not say it listens within 60 s"
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def session(page: Path, port: int, data_dir: Path, work: Path) -> tuple[list[str], list[str]]:
    """The page's server command (if any) and the session's commands, in the page's order: a run of
    consecutive Python blocks becomes one script, ``python3 tutorialN.py``, run where it stands."""
    text = page.read_text(encoding="utf-8")
    serve: list[str] = []
    steps: list[str] = []
    script: list[str] = []

    def flush() -> None:
        if script:
            name = f"tutorial{len(steps) + 1}.py"
            (work / name).write_text("\n\n".join(script), encoding="utf-8")
            steps.append(f"python3 {name}")
            script.clear()

    for language, body in re.findall(r"```(sh|python)\n(.*?)```", text, flags=re.DOTALL):
        body = localise(body, port, data_dir)
        if language == "python":
            script.append(body)
            continue
        if body.lstrip().startswith("transactive vtn serve"):
            serve.append(body)  # runs in a terminal of its own: not a step between two Python blocks
            continue
        flush()
        steps.append(body)
    flush()
    return serve, steps


def run_shell_tutorial(page: Path, tmp_path: Path, timeout: float = 240) -> str:
    """Run the page's blocks as one session (the server started first, as a reader leaves it running in its
    own terminal); returns what the session printed."""
    port, data_dir = free_port(), tmp_path / "vtn"
    work = tmp_path / "work"
    work.mkdir()
    serve, steps = session(page, port, data_dir, work)
    assert len(serve) <= 1
    with server(serve[0], work) if serve else nullcontext():
        result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + "\n".join(steps)], cwd=work,
                                env=environment(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_run_a_vtn_and_trade_with_curl(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "vtn-curl.md", tmp_path)
    assert out.count('"pyld:eiCreatedPartyRegistration":{"ei:eiResponse":{"ei:responseCode":"200"') == 2
    assert out.count('"pyld:eiCreatedTender":{"ei:eiResponse":{"ei:responseCode":"200"') == 2
    notice = out.split('"pyld:eiCreateTransaction"', 1)[1]
    assert '"ei:tenderID": "pv-1-t-1"' in notice
    assert '"emix:value": 0.15' in notice
    assert '"emix:quantity": 2.0' in notice
    report = json.loads(next(line for line in out.splitlines() if line.startswith('{"parties"')))
    assert report["traded_kwh"] == 2.0
    assert report["ledger_valid"] is True
    documented = (ROOT / "docs" / "market.md").read_text(encoding="utf-8").split("vtn report --json` prints", 1)[1]
    rows = re.findall(r"(?m)^\| (`.+?`) \|", documented)
    keys = {key for row in rows for key in re.findall(r"`(\w+)`", row)}
    assert keys == set(report), "the keys of vtn report --json in docs/market.md differ from the command's"
    for group in ("openadr", "openadr3"):
        line = next(r for r in documented.splitlines() if r.startswith(f"| `{group}` |"))
        assert set(re.findall(r"`(\w+)`", line)) - {group} == set(report[group]), group


def test_validate_and_convert_documents(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "validate-convert.md", tmp_path)
    assert "tender.json: valid" in out
    assert '"valid": true' in out
    assert "bad.xml: invalid" in out
    assert "emix:side" in out
    assert "validate exited 1" in out
    assert "convert exited 1" in out
    assert (tmp_path / "work" / "tender.xml").read_bytes().startswith(b"<?xml")


def test_integrate_a_device_with_venclient(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "venclient.md", tmp_path)
    assert "same party after a reboot" in out
    assert "transaction txn-" in out
    assert "price 0.15" in out
    assert "delivery reported for txn-" in out
    assert (tmp_path / "work" / "state" / "pv-7.key").stat().st_mode & 0o777 == 0o600


def test_reproduce_the_paper(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "paper.md", tmp_path)
    for scenario in ("Grid", "MG1+MG2", "MG1+MG3", "MG2+MG3", "All"):
        assert f"{scenario:8} producers" in out
    assert "paper:" in out
    figures = sorted(p.name for p in (tmp_path / "work" / "figures").glob("*.png"))
    assert len(figures) >= 5


def test_settle_and_audit_on_the_ledger(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "ledger.md", tmp_path)
    assert "state: paid" in out
    assert "delivered: 2.45 kWh, due: 0.37 USD" in out
    assert '"valid": true' in out
    assert "tampered.ledger: INVALID at entry 1" in out
    assert "verify exited 1" in out
    assert "payment_request  home-3 pays pv-roof-7 0.37 USD" in out
    assert (tmp_path / "work" / "settlement.ledger.key").stat().st_mode & 0o777 == 0o600


def test_probe_conformance(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "conformance.md", tmp_path)
    assert "CTS_M_0010" in out
    assert re.search(r"cts VTN at http://127\.0\.0\.1:\d+: \d+ passed, 0 failed, 0 skipped", out)
    assert re.search(r"openadr20b: \d+ passed, 0 failed, \d+ skipped", out)
    html = (tmp_path / "work" / "cts-report.html").read_text(encoding="utf-8")
    assert "CTS_N_0010" in html


def test_write_a_new_personality(tmp_path: Path) -> None:
    out = run_shell_tutorial(TUTORIALS / "personality.md", tmp_path)
    assert "refused: sheddable: a fraction in [0, 1]" in out
    found = re.search(r"interval \S+ bought (\S+) kWh, from the grid (\S+) kWh", out)
    assert found, out
    assert float(found[1]) + float(found[2]) > 1.0


@pytest.mark.interop
def test_an_openadr_vtn_with_openleadr_vens(tmp_path: Path) -> None:
    if not (ROOT / ".venv-openleadr" / "bin" / "python").exists():
        pytest.skip("no .venv-openleadr: make test builds it (interop/openleadr_peer/make_venv.sh)")
    out = run_shell_tutorial(TUTORIALS / "openleadr.md", tmp_path)
    assert "registered as" in out
    assert re.search(r"^event \S+ SIMPLE \[1\.0, 2\.0\]", out, flags=re.MULTILINE), out
    events = json.loads(out[out.rindex("\n[") + 1:] if "\n[" in out else out[out.index("["):])
    assert any("optIn" in json.dumps(event) for event in events), events
