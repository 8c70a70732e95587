"""``transactive ven run`` against real ``vtn serve`` processes: it rides out a VTN restart and carries on its
market day, and it stays the same party across its own restarts (its key in --state-dir), accepting notices
only from the VTN key it met first."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.vtn.conftest import ROOT, VtnProcess, start_vtn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ven(url: str, party: str, personality: str, state: Path, record: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "transactive.cli", "ven", "run", "--vtn", url, "--party", party,
         "--personality", personality, "--capacity-kw", "8", "--grid-prices", "0.30,0.05",
         "--sim-start", "2026-06-21T12:00:00Z", "--state-dir", str(state), "--record", str(record), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)


def report(data: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "report", "--data-dir", str(data),
                          "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_vens_ride_out_a_vtn_restart_and_finish_their_intervals(tmp_path: Path,
                                                                vtn_processes: list[VtnProcess]) -> None:
    port = free_port()
    data = tmp_path / "vtn"
    vtn = start_vtn(data, "--port", str(port), "--interval-seconds", "1")
    vtn_processes.append(vtn)
    url = f"http://127.0.0.1:{port}"
    intervals = 10
    vens = [ven(url, party, kind, tmp_path / "state" / party, tmp_path / f"{party}.jsonl", "--intervals",
                str(intervals)) for party, kind in (("pv-1", "pv"), ("home-1", "load"))]
    time.sleep(4)  # a few intervals traded
    assert vtn.terminate() == 0
    time.sleep(1.5)  # the VTN is away for a moment
    again = start_vtn(data, "--port", str(port), "--interval-seconds", "1", log_name="vtn-again")
    vtn_processes.append(again)
    outputs = [p.communicate(timeout=120)[0] for p in vens]
    assert [p.returncode for p in vens] == [0, 0], outputs
    for party in ("pv-1", "home-1"):
        records = [json.loads(line) for line in (tmp_path / f"{party}.jsonl").read_text().splitlines()]
        assert len(records) == intervals  # the whole market day, none lost to the outage
    assert again.terminate() == 0
    facts = report(data)
    assert facts["parties"] == 2  # the same two parties before and after the restart
    assert int(facts["transactions"]) > 0  # type: ignore[call-overload]
    assert facts["ledger_valid"] is True


def test_a_restarted_ven_is_the_same_party_and_another_key_cannot_take_its_id(
        tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data, "--interval-seconds", "1")
    vtn_processes.append(vtn)
    state = tmp_path / "state-pv-1"
    for _run in range(2):
        done = ven(vtn.url, "pv-1", "pv", state, tmp_path / "pv-1.jsonl", "--intervals", "1")
        out = done.communicate(timeout=60)[0]
        assert done.returncode == 0, out
    assert (state / "party.key").stat().st_mode & 0o777 == 0o600
    assert (state / "vtn-key.txt").read_text().startswith("ed25519:")
    # the same name with another key (another state directory) is refused: exit 1 naming the EI code
    thief = ven(vtn.url, "pv-1", "pv", tmp_path / "state-thief", tmp_path / "thief.jsonl", "--intervals", "1")
    out = thief.communicate(timeout=60)[0]
    assert thief.returncode == 1
    assert "code 463" in out
    assert vtn.terminate() == 0
    assert report(data)["parties"] == 1


def test_a_ven_refuses_a_vtn_whose_notice_key_changed(tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    port = free_port()
    first = start_vtn(tmp_path / "vtn-a", "--port", str(port), "--interval-seconds", "1")
    vtn_processes.append(first)
    url, state = f"http://127.0.0.1:{port}", tmp_path / "state"
    done = ven(url, "pv-1", "pv", state, tmp_path / "a.jsonl", "--intervals", "1")
    assert done.communicate(timeout=60)[0] is not None
    assert done.returncode == 0
    assert first.terminate() == 0
    # another VTN (another key) answers at the same address
    other = start_vtn(tmp_path / "vtn-b", "--port", str(port), "--interval-seconds", "1", log_name="other")
    vtn_processes.append(other)
    refused = ven(url, "pv-1", "pv", state, tmp_path / "b.jsonl", "--intervals", "1")
    out = refused.communicate(timeout=60)[0]
    assert refused.returncode == 1
    assert "another key" in out
    assert str(state / "vtn-key.txt") in out
