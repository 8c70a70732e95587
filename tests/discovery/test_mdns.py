"""Market discovery over real multicast DNS: a ``transactive vtn serve --announce`` process is found by a
``transactive discover --json`` process, with the URL it listens on (which answers), its market context,
protocols and key, and is gone once the VTN stops (its goodbye packets).

Where the multicast runs: in a network namespace the test creates (``ip netns add``: needs root, as in CI),
whose only interface is its own loopback, brought up with the MULTICAST flag and a route for 224.0.0.0/4;
nothing leaves it and no other responder is heard. And on the machine's own loopback: the VTN bound to
127.0.0.1 announces on 127.0.0.1 only (zeroconf sets IP_MULTICAST_IF to it; Linux delivers that multicast
on ``lo`` although ``lo`` lacks the MULTICAST flag), and ``discover --interface 127.0.0.1`` listens there
only, so nothing goes out on another interface either. The supervisor's announcement for ``--workers N``:
test_announcements.py; across a link between two namespaces: test_mdns_lan.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.discovery.support import CLI, ROOT, ip, namespaces, run, wait_for
from transactive.protocol.identity import load_or_create_identity

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")
pytestmark = pytest.mark.slow

MARKET = "urn:transactive:test:discovery"


@pytest.fixture
def netns() -> Iterator[list[str]]:
    """A network namespace of this test whose only interface is a loopback with the MULTICAST flag and a route for
    224.0.0.0/4: the command prefix that runs a program in it."""
    with namespaces("discovery") as made:
        name, prefix = made["discovery"]
        ip("-n", name, "link", "set", "lo", "multicast", "on")
        ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "lo")
        yield prefix


def _discover(prefix: list[str], flags: list[str], timeout: float | None) -> list[dict[str, Any]]:
    wait = [] if timeout is None else ["--timeout", str(timeout)]
    done = run(prefix, *CLI, "discover", "--json", *wait, *flags)
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
        url = wait_for(out, "listening on ", vtn).split("listening on ", 1)[1].split()[0]
        wait_for(err, f"announced {name!r}", vtn)

        # the default 3 s: the announcement has just gone out, and a responder answers a query for a record it
        # multicast less than a second ago only after that second (RFC 6762 §14; zeroconf: 1 s + up to 0.6 s)
        ours = [m for m in _discover(prefix, flags, None) if m["name"] == name]
        key = load_or_create_identity(tmp_path / "d" / "vtn.key").public.keyid
        assert ours == [{"name": name, "url": url, "market_context": MARKET,
                         "protocols": ["cts", "openadr2b", "openadr3"], "interval_seconds": 900, "currency": "USD",
                         "vtn_key": key, "openadr3_url": f"{url}/openadr3/3.1.0", "host": ours[0]["host"],
                         "port": int(url.rsplit(":", 1)[1]), "addresses": ["127.0.0.1"]}]
        assert ours[0]["host"].endswith(".local")
        health = run(prefix, sys.executable, "-c", "import sys, urllib.request; "
                      "print(urllib.request.urlopen(sys.argv[1] + '/health', timeout=5).read().decode())", url)
        assert json.loads(health.stdout)["market"] == MARKET, health.stderr  # the URL announced answers

        vtn.send_signal(signal.SIGTERM)
        assert vtn.wait(20) == 0, err.read_text()[-2000:]
        assert name not in [m["name"] for m in _discover(prefix, flags, 1)]
    finally:
        if vtn.poll() is None:
            vtn.kill()
            vtn.wait(10)
