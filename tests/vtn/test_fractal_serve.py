"""The fractal model across processes: a feeder's VTN (``vtn serve --parent``) runs on its parent's market
clock and trades its microgrid's net position at the parent VTN, both real ``transactive vtn serve``
processes talking HTTP on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.vtn.conftest import ROOT, VtnProcess, start_vtn
from tests.vtn.test_serve import _deliver, _health, _open_interval, _report
from transactive.services import SqliteStore
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient, join_market
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

GRID = "urn:test:grid"


async def _wait_transactions(client: VenClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await client.transactions():
        assert time.monotonic() < deadline, f"no transaction for {client.party_id} in {timeout} s"
        await asyncio.sleep(0.2)


async def test_a_child_vtn_trades_its_net_position_at_a_parent_vtn_on_the_parents_clock(
        tmp_path: Path, vtn_processes: list[VtnProcess], vtn_store: str | None) -> None:
    # the child on the store under test (the parent is any VTN)
    parent = start_vtn(tmp_path / "grid", "--interval-seconds", "3", "--gate-closure-minutes", "1",
                       "--market-context", GRID, "--market-party", "grid-market", log_name="grid")
    vtn_processes.append(parent)
    # no --interval-seconds: the child takes the parent's clock; its gates close before the parent's
    child = start_vtn(tmp_path / "feeder", "--parent", parent.url, "--parent-party", "feeder-7",
                      "--gate-closure-minutes", "10", "--reserve", "0.30,0.05", log_name="feeder", store=vtn_store)
    vtn_processes.append(child)
    grid_health, feeder_health = await _health(parent.url), await _health(child.url)
    assert feeder_health["clock"] == grid_health["clock"]
    assert feeder_health["interval_seconds"] == 3
    # the same market time (read a moment apart: at 300x real time, well within a minute of market time)
    gap = datetime.fromisoformat(feeder_health["market_time"]) - datetime.fromisoformat(grid_health["market_time"])
    assert abs(gap) < timedelta(minutes=1)

    start = await _open_interval(child.url)  # the child's gate is the earlier one
    async with HttpTransport(child.url, timeout=5) as local, HttpTransport(parent.url, timeout=5) as upstream:
        pv = await join_market(local, "pv-1", DEFAULT_MARKET_CONTEXT)
        home = await join_market(local, "home-1", DEFAULT_MARKET_CONTEXT)
        town = await join_market(upstream, "town", GRID)
        await pv.tender(start, "sell", 5.0, "0.10")
        await home.tender(start, "buy", 2.0, "0.20")
        await town.tender(start, "buy", 4.0, "0.12")
        # locally 2 kWh clear; the 3 kWh the feeder is long go up as one sell tender and meet the town's buy
        await _wait_transactions(town, timeout=20)
        (bought,) = await town.transactions()
        assert Decimal(str(bought.item.payload.quantity)) == Decimal(3)  # type: ignore[union-attr]
        local_tx = {p: await c.transactions() for p, c in (("pv-1", pv), ("home-1", home))}
        assert all(len(t) == 1 for t in local_tx.values())
        await _deliver(town, bought, 3.0)
        # the child reports its delivery upward once the interval is over (parent's clock = child's clock)
        deadline = time.monotonic() + 20
        while True:
            store = SqliteStore(tmp_path / "grid" / "vtn.db")
            try:
                (sold,) = store.transactions(party_id="feeder-7")
                delivered = store.delivery(sold.transaction_id)
            finally:
                store.close()
            if delivered is not None:
                break
            assert time.monotonic() < deadline, "the feeder never reported its delivery upward"
            await asyncio.sleep(0.3)
    assert sold.quantity == Decimal(3)
    assert sold.price <= Decimal("0.12")  # the feeder asked at least its grid's 0.05, the town bid 0.12
    assert parent.terminate() == 0
    assert child.terminate() == 0
    grid, feeder = _report(tmp_path / "grid"), _report(tmp_path / "feeder", vtn_store)
    assert (grid["parties"], grid["transactions"], grid["traded_kwh"]) == (2, 2, 3.0)
    assert (feeder["parties"], feeder["transactions"], feeder["traded_kwh"]) == (2, 2, 2.0)
    assert grid["ledger_valid"] is True
    assert feeder["ledger_valid"] is True


def test_a_child_whose_parent_never_answers_is_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--port", "0", "--data-dir",
                          str(tmp_path / "feeder"), "--parent", f"http://127.0.0.1:{port}", "--parent-party", "f",
                          "--parent-wait", "1"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert f"the parent VTN did not answer GET http://127.0.0.1:{port}/health within 1 s" in out.stderr
    assert "Traceback" not in out.stderr


async def test_a_child_told_another_speed_than_its_parents_is_exit_2(tmp_path: Path,
                                                                      vtn_processes: list[VtnProcess]) -> None:
    parent = start_vtn(tmp_path / "grid", "--interval-seconds", "3", log_name="grid")
    vtn_processes.append(parent)
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--port", "0", "--data-dir",
                          str(tmp_path / "feeder"), "--parent", parent.url, "--parent-party", "f",
                          "--interval-seconds", "5"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert "omit --interval-seconds (a child keeps its parent's clock) or give 3" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("body", [b"<html>not a VTN</html>", b'{"status": "ok"}', b'{"clock": {"speed": 2}}',
                                  b'{"clock": {"wall_origin": "x", "market_origin": "y", "speed": 1}}', b"[1, 2]"])
async def test_a_parent_that_reports_no_usable_clock_stops_the_child_with_a_clear_error(tmp_path: Path,
                                                                                        body: bytes) -> None:
    from aiohttp import web

    from tests.vtn.conftest import start_site
    from transactive.vtn import VtnApp, VtnOptions
    from transactive.vtn.app import VtnStartError

    async def health(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/health", health)
    runner, url = await start_site(app)
    child = VtnApp(VtnOptions(data_dir=tmp_path / "feeder", parent=url, parent_party="f", parent_wait=1))
    try:
        with pytest.raises(VtnStartError, match=r"reports no usable market clock .*needs a transactive parent"):
            await child.start()
    finally:
        await child.stop()
        await runner.cleanup()
    assert child.store is None  # nothing was opened
