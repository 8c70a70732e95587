"""Discovery across a link, as between two machines: the VTN in one network namespace, bound to every interface
(``--host 0.0.0.0``) and announced at ``--announce-host`` its LAN address, found from a second namespace at the
other end of a virtual Ethernet link (veth), whose VEN side then reaches the URL announced. Root only (see
support.py); test_mdns.py covers loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.discovery.support import CLI, ROOT, ip, namespaces, run, wait_for

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")
pytestmark = pytest.mark.slow

MARKET = "urn:transactive:test:lan"


@pytest.fixture
def lan() -> Iterator[tuple[list[str], list[str]]]:
    """Two namespaces joined by a veth link: the VTN's at 10.23.0.1/24, the VEN's at 10.23.0.2/24; their command
    prefixes."""
    with namespaces("vtn", "ven") as made:
        (vtn, vtn_prefix), (ven, ven_prefix) = made["vtn"], made["ven"]
        ip("link", "add", "lan0", "netns", vtn, "type", "veth", "peer", "name", "lan0", "netns", ven)
        for name, address in ((vtn, "10.23.0.1/24"), (ven, "10.23.0.2/24")):
            ip("-n", name, "addr", "add", address, "dev", "lan0")
            ip("-n", name, "link", "set", "lan0", "up")
        yield vtn_prefix, ven_prefix


def test_a_vtn_on_every_interface_is_found_from_another_machine_at_its_announced_address(
        tmp_path: Path, lan: tuple[list[str], list[str]]) -> None:
    vtn_side, ven_side = lan
    name = f"lan VTN {os.getpid()}"
    out, err = tmp_path / "vtn.out", tmp_path / "vtn.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        vtn = subprocess.Popen(
            [*vtn_side, *CLI, "vtn", "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path / "d"),
             "--market-context", MARKET, "--announce", "--announce-host", "10.23.0.1", "--announce-name", name],
            stdout=stdout, stderr=stderr, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        port = int(wait_for(out, "listening on ", vtn).split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
        wait_for(err, f"announced {name!r}", vtn)
        done = run(ven_side, *CLI, "discover", "--json")
        assert done.returncode == 0, done.stderr
        found = [(m["url"], m["addresses"], m["market_context"]) for m in json.loads(done.stdout) if m["name"] == name]
        url = f"http://10.23.0.1:{port}"
        assert found == [(url, ["10.23.0.1"], MARKET)]
        health = run(ven_side, sys.executable, "-c", "import sys, urllib.request; "
                      "print(urllib.request.urlopen(sys.argv[1] + '/health', timeout=5).read().decode())", url)
        assert json.loads(health.stdout)["market"] == MARKET, health.stderr  # reachable from the other machine
        vtn.send_signal(signal.SIGTERM)
        assert vtn.wait(20) == 0, err.read_text()[-2000:]
    finally:
        if vtn.poll() is None:
            vtn.kill()
            vtn.wait(10)
