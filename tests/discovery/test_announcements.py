"""Announcements in process, over real multicast DNS on this machine's loopback (see test_mdns.py):
``vtn serve --workers N --announce``'s supervisor announces the market once for all its workers (they are not
given the flag: test_flags.py) and withdraws it when it stops (the workers themselves need PostgreSQL and are
tested in tests/vtn/test_cluster_workers.py); an announcement whose TXT record is malformed is left out by
``transactive discover``, one line naming the key."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
from pathlib import Path

import pytest

from transactive.cli import main
from transactive.protocol.discovery import SERVICE_TYPE, browse
from transactive.protocol.identity import load_or_create_identity
from transactive.vtn.workers import _announce

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")
pytestmark = pytest.mark.slow

MARKET = "urn:transactive:test:workers"


async def test_the_supervisor_of_several_workers_announces_once(tmp_path: Path) -> None:
    key = load_or_create_identity(tmp_path / "vtn.key").public.keyid
    name = f"workers VTN {os.getpid()}"
    args = argparse.Namespace(market_context=MARKET, interval_minutes=5.0, tls_cert=None, host="127.0.0.1",
                              announce_host=None, announce_name=name)
    announcer, problem = _announce(args, 18080, key)
    assert problem is None
    assert announcer is not None
    try:
        # called from a coroutine (its loop running): zeroconf runs on a thread of its own meanwhile
        assert asyncio.get_running_loop().is_running()
        found = [m for m in browse(3, ["127.0.0.1"]) if m.name == name]  # (3 s: see test_mdns.py)
        assert [(m.url, m.market_context, m.interval_seconds, m.vtn_key) for m in found] == [
            ("http://127.0.0.1:18080", MARKET, 300, key)]
    finally:
        announcer.close()
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

