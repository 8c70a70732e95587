"""The runnable VTN: in process (``VtnApp``) and as a ``transactive vtn serve`` subprocess, with the market
clock closing gates on its own; SIGTERM shutdown; SIGKILL and restart on the same data directory; ``vtn report``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.vtn.conftest import ROOT, VtnProcess, checked_health, start_vtn, store_flags
from transactive.ei.cts.quote import EiCreateQuote
from transactive.ei.cts.transaction import EiCreateTransaction, EiTransaction
from transactive.ledger import verify_file
from transactive.services import RequestRefusedError
from transactive.transport import Subscription, TransportError, WireFormat
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient, join_market
from transactive.vtn import VtnApp, VtnOptions
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT
from transactive.vtn.cluster import process_name

SELLERS = {"pv-1": (3.0, "0.10"), "pv-2": (2.0, "0.14")}
BUYERS = {"home-1": (4.0, "0.20")}


async def _health(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
        assert response.status == 200
        return checked_health(await response.json())


async def _open_interval(url: str, ahead: int = 1) -> datetime:
    """An interval whose gate is still ``ahead`` intervals away (margin against the fast market clock)."""
    health = await _health(url)
    return datetime.fromisoformat(health["next_open_interval"]) + ahead * timedelta(seconds=health["interval"])


async def _wait_notice(sub: Subscription, timeout: float) -> EiCreateTransaction:
    deadline = time.monotonic() + timeout
    while True:
        notice = await sub.get(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(notice, EiCreateTransaction):
            return notice
        assert isinstance(notice, EiCreateQuote)


async def _deliver(client: VenClient, tx: EiTransaction, kwh: float, timeout: float = 20) -> None:
    """Report the delivery once the (fast) market clock has passed the interval's end."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.report_delivery(tx, kwh)
            return
        except RequestRefusedError as error:
            if error.response_code != 450 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _trade_one_interval(url: str, wire: WireFormat) -> None:
    """Register, tender, be cleared by the VTN's own gate closure, get the notices, deliver, settle."""
    async with HttpTransport(url, wire=wire, poll_seconds=1) as transport:
        clients = {p: await join_market(transport, p, DEFAULT_MARKET_CONTEXT) for p in (*SELLERS, *BUYERS)}
        subs = {p: await c.notices() for p, c in clients.items()}
        interval = await _open_interval(url)
        for party, (kwh, price) in SELLERS.items():
            await clients[party].tender(interval, "sell", kwh, price)
        for party, (kwh, price) in BUYERS.items():
            await clients[party].tender(interval, "buy", kwh, price)
        notices = {p: await _wait_notice(s, 15) for p, s in subs.items()}
        quantities = {p: [t.item.payload.quantity for t in n.transactions]  # type: ignore[union-attr]
                      for p, n in notices.items()}
        assert quantities == {"pv-1": [3.0], "pv-2": [1.0], "home-1": [4.0]}
        for party, notice in notices.items():
            await _deliver(clients[party], notice.transactions[0], quantities[party][0])
        positions = {p: await c.position(interval, interval + clients[p]._market().interval)
                     for p, c in clients.items()}
        assert sum(x.net_kwh for x in positions.values()) == 0
        for sub in subs.values():
            await sub.close()


def _report(data_dir: Path, store: str | None = None) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "report", "--data-dir", str(data_dir),
                          *store_flags(store), "--json"], capture_output=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


# ---- in process ----------------------------------------------------------------------------------


async def test_the_vtn_app_closes_gates_on_its_market_clock_and_reports_health(tmp_path: Path,
                                                                                vtn_store: str | None) -> None:
    vtn = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", interval_seconds=1.0, store=vtn_store))
    await vtn.start()
    try:
        health = await _health(vtn.url)
        assert health["status"] == "ok"
        assert health["store"] == "ok"
        assert health["market"] == DEFAULT_MARKET_CONTEXT
        assert {"market_time", "current_interval", "next_open_interval", "gate_time"} <= set(health)
        await _trade_one_interval(vtn.url, WireFormat.JSON)
        assert (await _health(vtn.url))["last_closed_interval"] is not None
        assert (await _health(vtn.url))["cluster"] == (None if vtn_store is None else {
            "process": process_name(), "leader": True, "store": vtn_store, "duties_error": None})
    finally:
        await vtn.stop()
    assert verify_file(tmp_path / "vtn" / "ledger.db", workers=1).valid


async def test_a_vtn_with_the_grid_as_reserve_publishes_its_prices_bounds_tenders_and_books_the_rest(
        tmp_path: Path, vtn_store: str | None) -> None:
    vtn = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", interval_seconds=1.0, reserve=(0.30, 0.05), store=vtn_store))
    await vtn.start()
    try:
        start = await _open_interval(vtn.url)
        async with HttpTransport(vtn.url, timeout=5) as transport:
            pv = await join_market(transport, "pv-1", DEFAULT_MARKET_CONTEXT)
            home = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
            market = await home.market_context()
            assert market.reserve is not None
            assert (market.reserve.grid_buy, market.reserve.grid_sell) == (0.30, 0.05)
            assert (market.min_price, market.max_price) == (Decimal("0.05"), Decimal("0.3"))
            with pytest.raises(RequestRefusedError) as refused:  # above what the grid asks
                await home.tender(start, "buy", 3.0, "0.35")
            assert refused.value.response_code == 454
            await pv.tender(start, "sell", 1.0, "0.10")
            await home.tender(start, "buy", 3.0, "0.25")
            store = vtn.store
            assert store is not None
            deadline = time.monotonic() + 15
            while (gate := store.gate(start)) is None:
                assert time.monotonic() < deadline, "the gate did not close"
                await asyncio.sleep(0.1)
        # 1 kWh traded locally; the 2 kWh the home still needs come from the grid
        assert (gate.quantity, gate.grid_import, gate.grid_export) == (Decimal(1), Decimal(2), Decimal(0))
    finally:
        await vtn.stop()


# ---- as a subprocess -------------------------------------------------------------------------------


async def test_vtn_serve_trades_end_to_end_stops_on_sigterm_and_reports(tmp_path: Path,
                                                                        vtn_processes: list[VtnProcess],
                                                                        vtn_store: str | None) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data, "--interval-seconds", "1.5", store=vtn_store)
    vtn_processes.append(vtn)
    assert vtn.url.startswith("http://127.0.0.1:")
    await _trade_one_interval(vtn.url, WireFormat.XML)
    assert vtn.terminate() == 0
    report = _report(data, vtn_store)
    assert {"parties", "tenders", "transactions", "traded_kwh", "ledger_entries", "ledger_valid"} <= set(report)
    assert report["parties"] == 3
    assert report["tenders"] == 3
    assert report["transactions"] == 3
    assert report["traded_kwh"] == 4.0
    # per transaction: anchor, 2 readings, payment request, payment confirmation
    assert report["ledger_entries"] == 15
    assert report["ledger_valid"] is True
    text = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "report", "--data-dir", str(data),
                           *store_flags(vtn_store)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=True).stdout
    assert "transactions   3" in text
    assert "verifies" in text


@pytest.mark.parametrize(("args", "loop"), [((), "uvloop"), (("--event-loop", "asyncio"), "asyncio")])
async def test_vtn_serve_runs_on_the_event_loop_it_is_told(tmp_path: Path, vtn_processes: list[VtnProcess],
                                                         args: tuple[str, ...], loop: str) -> None:
    import aiohttp

    vtn = start_vtn(tmp_path / "vtn", *args)
    vtn_processes.append(vtn)
    async with aiohttp.ClientSession() as http, http.get(vtn.url + "/health") as response:
        health = await response.json()
    assert health["event_loop"] == loop  # the default is uvloop when installed (it is, with the extra 'server')
    assert vtn.terminate() == 0


def test_vtn_serve_with_uvloop_asked_for_but_missing_is_exit_2(tmp_path: Path) -> None:
    # a uvloop module that cannot be found: a directory first on the path, holding a uvloop that is not there
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "_find = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'uvloop' else _find(name, *a)\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir",
                          str(tmp_path / "vtn"), "--event-loop", "uvloop"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, check=False, env=env)
    assert out.returncode == 2
    assert "uvloop is not installed" in out.stderr
    assert not (tmp_path / "vtn").exists()  # refused before anything was created


def test_vtn_report_on_a_directory_without_a_store_is_exit_2(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "report", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert "no VTN store" in out.stderr


async def _tender_until_killed(url: str, clients: dict[str, VenClient], interval: datetime,
                               acked: list[tuple[str, str]], vtn: VtnProcess) -> None:
    """Tender from every client in turn; SIGKILL the VTN mid-stream. ``acked`` gets every (party, tender)
    the VTN acknowledged."""
    async def one(party: str, side: str, n: int) -> None:
        tender_id = f"{party}-t{n}"
        try:
            await clients[party].tender(interval, side, 1.0, "0.15", tender_id=tender_id)
        except TransportError:
            return
        acked.append((party, tender_id))

    n = 0
    started = time.monotonic()
    killed = False
    while True:
        n += 1
        batch = [one(p, "sell" if p.startswith("pv") else "buy", n) for p in clients]
        if not killed and time.monotonic() - started > 0.3:
            vtn.proc.kill()  # SIGKILL while requests are in flight
            killed = True
        await asyncio.gather(*batch)
        if killed:
            return


async def test_a_vtn_killed_mid_interval_loses_no_acknowledged_tender_and_duplicates_nothing(
        tmp_path: Path, vtn_processes: list[VtnProcess], vtn_store: str | None) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data, "--interval-seconds", "3", store=vtn_store)
    vtn_processes.append(vtn)
    parties = ("pv-1", "pv-2", "home-1", "home-2")
    acked: list[tuple[str, str]] = []
    async with HttpTransport(vtn.url, timeout=5) as transport:
        clients = {p: await join_market(transport, p, DEFAULT_MARKET_CONTEXT) for p in parties}
        tokens = {p: c.token for p, c in clients.items()}
        interval = await _open_interval(vtn.url, ahead=2)
        await _tender_until_killed(vtn.url, clients, interval, acked, vtn)
    vtn.proc.wait(10)
    assert len(acked) >= 8

    vtn = start_vtn(data, "--interval-seconds", "3", store=vtn_store)  # the same data directory
    vtn_processes.append(vtn)
    async with HttpTransport(vtn.url) as transport:
        clients = {p: VenClient(transport, p, token=tokens[p]) for p in parties}
        for client in clients.values():
            await client.market_context(DEFAULT_MARKET_CONTEXT)
        for party, tender_id in acked:  # every acknowledged tender survived
            [found] = await clients[party].tenders(tender_id)
            assert found.tender_id == tender_id
        deadline = time.monotonic() + 30
        while not await clients["pv-1"].transactions():  # the VTN's own gate closure (or its recovery)
            assert time.monotonic() < deadline, "the gate was not closed after the restart"
            await asyncio.sleep(0.2)
        before = {p: sorted(t.transaction_id for t in await c.transactions()) for p, c in clients.items()}
    vtn.kill()  # again, after clearing: nothing may be cleared or anchored twice on the next start

    vtn = start_vtn(data, "--interval-seconds", "3", store=vtn_store)
    vtn_processes.append(vtn)
    await asyncio.sleep(0.5)
    async with HttpTransport(vtn.url) as transport:
        after = {p: sorted(t.transaction_id for t in await VenClient(transport, p, token=tokens[p]).transactions())
                 for p in parties}
    assert after == before
    all_ids = [t for ids in after.values() for t in ids]
    assert len(all_ids) == len(set(all_ids))
    assert vtn.terminate() == 0
    report = _report(data, vtn_store)
    assert report["tenders"] >= len(acked)
    assert report["transactions"] == len(all_ids)
    assert report["ledger_entries"] == len(all_ids)  # one anchor each, none twice
    assert report["ledger_valid"] is True
    assert verify_file(data / "ledger.db", workers=1).valid


@pytest.mark.parametrize(("args", "message"), [
    (["--ledger", "evm"], "--ledger evm needs --evm-url"),
    (["--evm-dev-fund", "10"], "--evm-password-file and --evm-dev-fund go with --ledger evm"),
    (["--ledger", "evm", "--evm-url", "http://127.0.0.1:9", "--evm-dev-fund", "-1"], "positive amount of ether"),
    (["--ledger", "evm", "--evm-url", "http://127.0.0.1:9", "--evm-dev-fund", "x"], "not an amount of ether"),
    (["--parent", "http://127.0.0.1:9"], "--parent and --parent-party go together"),
    (["--reserve", "0.05,0.30"], "must be above its buying price"),
    (["--reserve", "0.30"], "expected BUY,SELL"),
    (["--reserve", "0.3,nan"], "must be finite"),
])
def test_vtn_serve_refuses_incomplete_or_wrong_options_with_exit_2(tmp_path: Path, args: list[str],
                                                                   message: str) -> None:
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir", str(tmp_path),
                          *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert message in out.stderr


# ---- with an EVM ledger (a real anvil process that holds no account) ---------------------------------------


async def _audit_evm(node_url: str, data: Path, parties: set[str]) -> dict[str, str]:
    """Read what the VTN agreed back from the chain alone, as an auditor would (knowing only the market's
    address); the party -> account mapping of the keystore."""
    from transactive.ledger import EntryKind
    from transactive.ledger.evm import EvmLedger
    from transactive.ledger.evm_keys import EvmKeystore
    from transactive.services import SqliteStore
    from transactive.vtn.app import EVM_KEYS_DIR, STORE_FILE

    accounts = EvmKeystore.open(data / EVM_KEYS_DIR).accounts()
    assert {"market", *parties} <= set(accounts)
    assert len(set(accounts.values())) == len(accounts)  # one account each
    store = SqliteStore(data / STORE_FILE)
    try:
        rows = store.transactions()
    finally:
        store.close()
    assert len(rows) == 3  # one transaction per matched tender
    auditor = EvmLedger(node_url, sender=accounts["market"])
    try:
        # per transaction: anchor, two readings, payment request, payment
        assert await auditor.rebuild_index() == 5 * len(rows)
        for row in rows:
            trail = await auditor.audit_trail(row.transaction_id)
            assert trail[0].kind is EntryKind.ANCHOR
            assert [e.kind for e in trail][-2:] == [EntryKind.PAYMENT_REQUEST, EntryKind.PAYMENT]
            payer, payee = (row.party_id, "market") if row.side.value == "buy" else ("market", row.party_id)
            # each payment was signed with the payer's own key, from its own account to the payee's
            assert (trail[-1].data["from"], trail[-1].data["to"]) == (accounts[payer], accounts[payee])
            assert int(trail[-1].data["value_wei"]) > 0
    finally:
        await auditor.close()
    return accounts


async def test_the_vtn_settles_on_an_evm_ledger_signing_with_its_own_keys(tmp_path: Path) -> None:
    from tests.ledger.anvil_process import AnvilProcess
    from transactive.ledger.evm import EvmLedger

    with AnvilProcess.start() as node:
        assert node.rpc("eth_accounts") == []  # an unsigned send could not go anywhere
        data = tmp_path / "vtn"
        options = VtnOptions(data_dir=data, interval_seconds=1.0, ledger="evm", evm_url=node.url,
                             evm_dev_fund=Decimal(10))
        vtn = VtnApp(options)
        await vtn.start()
        try:
            await _trade_one_interval(vtn.url, WireFormat.JSON)
            # the dashboard verifies each anchor on the chain, from what the audit trail reads back
            assert vtn.service is not None
            assert vtn.oadr is not None
            headers = {"Authorization": f"Bearer {vtn.oadr.operator_token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                for row in vtn.service.core.store.transactions():
                    async with http.get(f"{vtn.url}/ui/api/transaction/{row.transaction_id}") as reply:
                        view = await reply.json()
                    assert (view["ledger"]["backend"], view["ledger"]["status"]) == ("evm", "verified"), view
                    assert view["ledger"]["entries"][0]["reference"].startswith("0x")
        finally:
            await vtn.stop()
        accounts = await _audit_evm(node.url, data, set(SELLERS) | set(BUYERS))
        balance = {p: int(node.rpc("eth_getBalance", a, "latest"), 16) for p, a in accounts.items()}
        assert balance["pv-1"] > 10 * 10**18  # funded with 10 ether, then paid
        assert balance["home-1"] < 10 * 10**18  # funded with 10 ether, then paid the market
        keys = data / "evm-keys"
        assert (keys / "password").stat().st_mode & 0o077 == 0
        assert all(f.stat().st_mode & 0o077 == 0 for f in keys.glob("*.json"))

        # restarted on the same data directory: the same market account, the same parties' accounts
        again = VtnApp(options)
        await again.start()
        try:
            assert isinstance(again.ledger, EvmLedger)
            assert again.ledger.sender == accounts["market"]
            assert await again.ledger.account("home-1") == accounts["home-1"]
        finally:
            await again.stop()


async def test_vtn_serve_on_an_evm_node_without_unlocked_accounts_end_to_end(
        tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    from tests.ledger.anvil_process import AnvilProcess

    with AnvilProcess.start() as node:
        data = tmp_path / "vtn"
        vtn = start_vtn(data, "--interval-seconds", "1.5", "--ledger", "evm", "--evm-url", node.url,
                        "--evm-dev-fund", "10")
        vtn_processes.append(vtn)
        await _trade_one_interval(vtn.url, WireFormat.XML)
        assert vtn.terminate() == 0
        await _audit_evm(node.url, data, set(SELLERS) | set(BUYERS))
        assert "encrypted with a password kept beside them" in vtn.log.read_text()
        assert "development funding" in vtn.log.read_text()


async def test_vtn_serve_refuses_a_keystore_it_cannot_open_naming_the_file(tmp_path: Path) -> None:
    from transactive.ledger.evm_keys import EvmKeystore

    data = tmp_path / "vtn"
    first = tmp_path / "first-password"
    first.write_text("one\n")
    made = EvmKeystore(data / "evm-keys", "one", iterations=2**4)
    await made.key("market")
    wrong = tmp_path / "second-password"
    wrong.write_text("two\n")
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir", str(data),
                          "--ledger", "evm", "--evm-url", "http://127.0.0.1:9", "--evm-password-file", str(wrong)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert f"keystore file {made.path('market')} does not decrypt (wrong password" in out.stderr
    made.path("market").unlink()
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir", str(data),
                          "--ledger", "evm", "--evm-url", "http://127.0.0.1:9", "--evm-password-file", str(first)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert f"keystore file {made.path('market')} of party 'market'" in out.stderr
    assert "is missing" in out.stderr
