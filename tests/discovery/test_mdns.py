"""Market discovery over real multicast DNS: a ``transactive vtn serve --announce`` process is found by a
``transactive discover --json`` process, with the URL it listens on (which answers), its market context,
protocols and key, and is gone once the VTN stops (its goodbye packets).

Where the multicast runs: in a network namespace the test creates (``ip netns add``: needs root, as in CI),
whose only interface is its own loopback, brought up with the MULTICAST flag and a route for 224.0.0.0/4;
nothing leaves it and no other responder is heard. And on the machine's own loopback: the VTN bound to
127.0.0.1 announces on 127.0.0.1 only (zeroconf sets IP_MULTICAST_IF to it; Linux delivers that multicast
on ``lo`` although ``lo`` lacks the MULTICAST flag), and ``discover --interface 127.0.0.1`` listens there
only, so nothing goes out on another interface either. The supervisor's announcement for ``--workers N``:
test_workers_announce.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from transactive.protocol.identity import load_or_create_identity

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MARKET = "urn:transactive:test:discovery"
CLI = [sys.executable, "-m", "transactive.cli"]


@pytest.fixture
def netns() -> Iterator[list[str]]:
    """A network namespace of this test with only a multicast-capable loopback: the command prefix that runs a
    program in it (removed afterwards)."""
    ip = shutil.which("ip")
    if ip is None:
        pytest.skip("no 'ip' command (iproute2) to create a network namespace with")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root (CAP_SYS_ADMIN); the loopback test runs instead")
    name = f"transactive-discovery-{os.getpid()}"
    made = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"'ip netns add' failed here: {made.stderr.strip()}")
    try:
        for step in (["link", "set", "lo", "up"], ["link", "set", "lo", "multicast", "on"],
                     ["route", "add", "224.0.0.0/4", "dev", "lo"]):
            subprocess.run([ip, "-n", name, *step], check=True, capture_output=True)
        yield [ip, "netns", "exec", name]
    finally:
        subprocess.run([ip, "netns", "del", name], check=False, capture_output=True)


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path.name}: {path.read_text()[-2000:]}")


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *args], capture_output=True, text=True, cwd=ROOT, timeout=30, check=False)


def _discover(prefix: list[str], flags: list[str], timeout: float | None) -> list[dict[str, Any]]:
    wait = [] if timeout is None else ["--timeout", str(timeout)]
    done = _run(prefix, *CLI, "discover", "--json", *wait, *flags)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


@pytest.mark.parametrize("where", ["netns", "loopback"])
def test_an_announcing_vtn_is_discovered_and_withdrawn_when_it_stops(tmp_path: Path, request: pytest.FixtureRequest,
                                                                     where: str) -> None:
    prefix: list[str] = request.getfixturevalue("netns") if where == "netns" else []
    flags = [] if where == "netns" else ["--interface", "127.0.0.1"]
    name = f"test VTN {where} {os.getpid()}"
    out, err = tmp_path / "vtn.out", tmp_path / "vtn.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        vtn = subprocess.Popen(
            [*prefix, *CLI, "vtn", "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "d"),
             "--market-context", MARKET, "--announce", "--announce-name", name],
            stdout=stdout, stderr=stderr, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = _wait_for(out, "listening on ", vtn).split("listening on ", 1)[1].split()[0]
        _wait_for(err, f"announced {name!r}", vtn)

        # the default 3 s: the announcement has just gone out, and a responder answers a query for a record it
        # multicast less than a second ago only after that second (RFC 6762 §14; zeroconf: 1 s + up to 0.6 s)
        ours = [m for m in _discover(prefix, flags, None) if m["name"] == name]
        key = load_or_create_identity(tmp_path / "d" / "vtn.key").public.keyid
        assert ours == [{"name": name, "url": url, "market_context": MARKET,
                         "protocols": ["cts", "openadr2b", "openadr3"], "interval_seconds": 900, "currency": "USD",
                         "vtn_key": key, "openadr3_url": f"{url}/openadr3/3.1.0", "host": ours[0]["host"],
                         "port": int(url.rsplit(":", 1)[1]), "addresses": ["127.0.0.1"]}]
        assert ours[0]["host"].endswith(".local")
        health = _run(prefix, sys.executable, "-c", "import sys, urllib.request; "
                      "print(urllib.request.urlopen(sys.argv[1] + '/health', timeout=5).read().decode())", url)
        assert json.loads(health.stdout)["market"] == MARKET, health.stderr  # the URL announced answers

        vtn.send_signal(signal.SIGTERM)
        assert vtn.wait(20) == 0, err.read_text()[-2000:]
        assert name not in [m["name"] for m in _discover(prefix, flags, 1)]
    finally:
        if vtn.poll() is None:
            vtn.kill()
            vtn.wait(10)
