"""OpenADR 3 on ``transactive vtn serve`` as a process: the operator's ``vtn client`` commands (their JSON
contract and exit codes), and a SIGKILL that loses nothing the VTN acknowledged (clients, their tokens, objects)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.vtn.conftest import ROOT, VtnProcess, start_vtn

BASE = "/openadr3/3.1.0"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transactive.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)


def _token(url: str, client_id: str, secret: str) -> tuple[int, dict[str, Any]]:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url + BASE + "/auth/token", data=form), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _api(url: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + BASE + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_vtn_client_create_list_revoke_on_a_running_vtn(tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data)
    vtn_processes.append(vtn)
    operator = ["--vtn", vtn.url, "--operator-token", f"@{data / 'operator.token'}"]
    made = cli("vtn", "client", "create", *operator, "--role", "ven", "--name", "house-17", "--json")
    assert made.returncode == 0, made.stderr
    client = json.loads(made.stdout)
    assert set(client) >= {"client_id", "client_secret", "role", "scopes"}
    assert client["role"] == "ven"
    assert "write_reports" in client["scopes"]
    readable = cli("vtn", "client", "create", *operator, "--role", "bl", "--name", "utility")
    assert readable.returncode == 0
    assert "secret" in readable.stdout
    listed = cli("vtn", "client", "list", *operator, "--json")
    assert listed.returncode == 0
    clients = json.loads(listed.stdout)
    assert [c["name"] for c in clients] == ["house-17", "utility"]
    assert all("client_secret" not in c and "secret_hash" not in c for c in clients)
    assert _token(vtn.url, client["client_id"], client["client_secret"])[0] == 200
    revoked = cli("vtn", "client", "revoke", client["client_id"], *operator, "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked"] is not None
    status, error = _token(vtn.url, client["client_id"], client["client_secret"])
    assert (status, error["error"]) == (401, "invalid_client")
    unknown = cli("vtn", "client", "revoke", "ven_nobody", *operator)
    assert unknown.returncode == 1
    assert "EI 404" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    wrong = cli("vtn", "client", "list", "--vtn", vtn.url, "--operator-token", "not-the-token")
    assert wrong.returncode == 1
    assert "EI 463" in wrong.stderr


def test_vtn_client_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, named in [(["--role", "admin", "--name", "x"], "--role"), (["--role", "bl", "--name", ""], "--name"),
                        (["--role", "bl"], "--name")]:
        out = cli("vtn", "client", "create", "--vtn", "http://127.0.0.1:9", "--operator-token", "t", *args)
        assert out.returncode == 2, (args, out.stderr)
        assert named in out.stderr
    gone = cli("vtn", "client", "list", "--vtn", "http://127.0.0.1:9", "--operator-token", "t")
    assert gone.returncode == 2
    assert "cannot reach the VTN" in gone.stderr
    missing = cli("vtn", "client", "list", "--vtn", "http://127.0.0.1:9", "--operator-token", f"@{tmp_path}/none")
    assert missing.returncode == 2
    assert "--operator-token" in missing.stderr


def test_sigkill_loses_nothing_acknowledged(tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data)
    vtn_processes.append(vtn)
    operator = ["--vtn", vtn.url, "--operator-token", f"@{data / 'operator.token'}"]
    bl = json.loads(cli("vtn", "client", "create", *operator, "--role", "bl", "--name", "utility", "--json").stdout)
    ven = json.loads(cli("vtn", "client", "create", *operator, "--role", "ven", "--name", "house", "--json").stdout)
    bl_token = _token(vtn.url, bl["client_id"], bl["client_secret"])[1]["access_token"]
    ven_token = _token(vtn.url, ven["client_id"], ven["client_secret"])[1]["access_token"]
    status, program = _api(vtn.url, "POST", "/programs", bl_token, {"programName": "peak"})
    assert status == 201
    made = []
    for n in range(20):
        status, event = _api(vtn.url, "POST", "/events", bl_token, {
            "programID": program["id"], "eventName": f"e{n}",
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [n / 100]}]}]})
        assert status == 201
        made.append(event)
    status, own = _api(vtn.url, "POST", "/vens", ven_token, {"objectType": "VEN_VEN_REQUEST", "venName": "house"})
    assert status == 201
    vtn.kill()
    again = start_vtn(data)
    vtn_processes.append(again)
    # the tokens issued before the kill still hold (the token key and the clients are durable)
    status, events = _api(again.url, "GET", f"/events?programID={program['id']}", bl_token)
    assert status == 200
    assert events == made
    assert _api(again.url, "GET", "/vens", ven_token) == (200, [own])
    status, programs = _api(again.url, "GET", "/programs", bl_token)
    assert program in programs
    assert again.terminate() == 0
    out = cli("vtn", "report", "--data-dir", str(data), "--json")
    assert out.returncode == 0, out.stderr
    counts = json.loads(out.stdout)["openadr3"]
    assert counts == {"clients": 2, "programs": 2, "events": 20, "reports": 0, "subscriptions": 0, "vens": 1,
                      "resources": 0, "deliveries_pending": 0, "deliveries_dead": 0}  # the market's program too
    text = cli("vtn", "report", "--data-dir", str(data))
    assert "OpenADR 3      2 clients, 2 programs, 20 events, 1 VENs" in text.stdout
