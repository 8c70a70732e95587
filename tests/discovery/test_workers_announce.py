"""``vtn serve --workers N --announce``: the supervisor announces the market once for all its workers (they are
not given the flag: tests/discovery/test_flags.py), over real multicast DNS on this machine's loopback (see
test_mdns.py), and withdraws it when it stops. In process: the workers themselves need PostgreSQL and are
tested in tests/vtn/test_cluster_workers.py."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from transactive.protocol.discovery import browse
from transactive.protocol.identity import load_or_create_identity
from transactive.vtn.workers import _announce

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")
pytestmark = pytest.mark.slow

MARKET = "urn:transactive:test:workers"


def test_the_supervisor_of_several_workers_announces_once(tmp_path: Path) -> None:
    key = load_or_create_identity(tmp_path / "vtn.key").public.keyid
    name = f"workers VTN {os.getpid()}"
    args = argparse.Namespace(market_context=MARKET, interval_minutes=5.0, tls_cert=None, host="127.0.0.1",
                              announce_host=None, announce_name=name)
    announcer, problem = _announce(args, 18080, key)
    assert problem is None
    assert announcer is not None
    try:
        found = [m for m in browse(2, ["127.0.0.1"]) if m.name == name]
        assert [(m.url, m.market_context, m.interval_seconds, m.vtn_key) for m in found] == [
            ("http://127.0.0.1:18080", MARKET, 300, key)]
    finally:
        announcer.close()
    assert name not in [m.name for m in browse(1, ["127.0.0.1"])]
