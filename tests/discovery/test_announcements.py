"""Announcements over real multicast DNS on this machine's loopback (see test_mdns.py): ``vtn serve --workers N
--announce``'s supervisor announces the market once for all its workers (they are not given the flag:
test_flags.py) and withdraws it when it stops; an announcement whose TXT record is malformed is left out by
``transactive discover``, one line naming the key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.discovery.support import ROOT
from transactive.cli import main
from transactive.protocol.discovery import SERVICE_TYPE, browse
from transactive.protocol.identity import load_or_create_identity

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")
pytestmark = pytest.mark.slow

MARKET = "urn:transactive:test:workers"


def test_the_supervisor_of_several_workers_announces_once(tmp_path: Path, pg_url: str) -> None:
    name = f"workers VTN {os.getpid()}"
    out = tmp_path / "serve.out"
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir", str(tmp_path / "vtn"), "--store",
             pg_url, "--workers", "2", "--port", "0", "--market-context", MARKET, "--interval-minutes", "5",
             "--announce", "--announce-name", name, "--log-level", "WARNING"],
            stdout=stdout, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while "workers on 127.0.0.1:" not in out.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(out.read_text().split("workers on 127.0.0.1:", 1)[1].split()[0])
        found = [m for m in browse(3, ["127.0.0.1"]) if m.name.startswith(name)]  # (3 s: see test_mdns.py)
        key = load_or_create_identity(tmp_path / "vtn" / "vtn.key").public.keyid
        assert [(m.name, m.url, m.market_context, m.interval_seconds, m.vtn_key) for m in found] == [
            (name, f"http://127.0.0.1:{port}", MARKET, 300, key)]  # once, not "NAME (2)" by a second worker
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, out.read_text()[-2000:]
    assert name not in [m.name for m in browse(1, ["127.0.0.1"])]




def test_a_malformed_announcement_is_left_out_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    from zeroconf import IPVersion, ServiceInfo, Zeroconf

    name = f"malformed {os.getpid()}"
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    info = ServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", port=9, server="malformed.local.",
                       addresses=[socket.inet_aton("127.0.0.1")],
                       properties={"txtvers": "1", "url": "http://127.0.0.1:9", "mc": "urn:m", "proto": "cts,smtp"})
    zc.register_service(info)
    try:
        assert main(["discover", "--json", "--interface", "127.0.0.1"]) == 0
    finally:
        zc.close()
    out, err = capsys.readouterr()
    assert name not in [m["name"] for m in json.loads(out)]
    assert (f"transactive discover: left out {name}.{SERVICE_TYPE}: TXT key 'proto': unknown protocol 'smtp' "
            "(known: cts, openadr2b, openadr3)\n") in err

