"""``transactive vtn serve`` when its storage fails, as a separate process on loopback: its data directory on a
small tmpfs that is really filled, and its ledger locked past the timeout by another connection.

What is promised: a write that cannot be stored is answered with HTTP 503 and an EI error (code 503, the
description names the part of storage) and nothing of it is kept; reads keep working; ``GET /health`` is
503 ``degraded`` naming the part and recovers by itself; a gate that cannot be written is retried until it
closes, in interval order, none skipped; nothing acknowledged is lost. Gates are checked in the store (one
row per closed interval, when it closed); the per-gate log line is asserted where it is the promised output.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.disk import fill, small_tmpfs
from tests.services.test_storage_faults import WriteLock
from tests.vtn.conftest import VtnProcess, checked_health, start_vtn
from transactive.codec.wire import WireFormat, decode_as, encode_as
from transactive.ei.cts.tender import EiCreatedTender, EiCreateTender, EiTender
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.emix import energy_tender_product
from transactive.ledger import verify_file
from transactive.model import Model
from transactive.protocol.replies import reply_response
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient, join_market
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

SIDES = {"pv-1": ("sell", "0.10"), "pv-2": ("sell", "0.10"), "home-1": ("buy", "0.20"), "home-2": ("buy", "0.20")}


async def health(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
        return response.status, checked_health(await response.json())


async def wait_health(url: str, condition: Callable[[int, dict[str, Any]], bool], timeout: float,
                      what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await health(url)
        if condition(status, body):
            return body
        assert time.monotonic() < deadline, f"{what}: still {status} {body}"
        await asyncio.sleep(0.2)


def tender_request(client: VenClient, interval: datetime, tender_id: str) -> EiCreateTender:
    side, price = SIDES[client.party_id]
    cfg = client._market()
    item = energy_tender_product(side=side, quantity_kwh=1.0, price=price, currency=cfg.currency,
                                 market_context=cfg.market_context, dtstart=interval, duration=cfg.interval,
                                 uid=tender_id)
    return EiCreateTender(request_id=f"req-{tender_id}", party_id=client.party_id,
                          counter_party_id=cfg.market_party_id, tenders=(EiTender(tender_id=tender_id, item=item),))


async def post(url: str, message: Model, token: str | None) -> tuple[int, Model]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, \
            http.post(url + "/cts", data=encode_as(WireFormat.JSON, message), headers=headers) as response:
        return response.status, decode_as(WireFormat.JSON, await response.read())


def gates(store: Path) -> list[tuple[datetime, datetime]]:
    """(interval start, closed at) of every closed gate, in interval order (read from the file)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT interval_start, closed_at FROM gates ORDER BY interval_start").fetchall()
    finally:
        conn.close()
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in rows]


def tender_statuses(store: Path) -> dict[tuple[str, str], str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return {(p, t): s for p, t, s in conn.execute("SELECT party_id, tender_id, status FROM tenders")}
    finally:
        conn.close()


def gate_line(log: Path, interval: datetime) -> str:
    """The log line the VTN promises for each closed gate."""
    [line] = [ln for ln in log.read_text().splitlines() if f" gate {interval.isoformat()} closed: " in ln]
    return line


def assert_closed_in_order_without_a_gap(closed: list[tuple[datetime, datetime]], interval: timedelta) -> None:
    starts = [s for s, _ in closed]
    assert starts == [starts[0] + n * interval for n in range(len(starts))], "an interval was skipped"
    at = [c for _, c in closed]
    assert at == sorted(at), "a gate was closed before an earlier one"


async def test_a_full_disk_is_answered_503_health_degrades_and_after_freeing_space_nothing_is_lost_and_every_gate_closes_in_order(  # noqa: E501
        tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    with small_tmpfs(tmp_path / "disk", "4m") as data:  # the data directory is the small filesystem itself
        vtn = start_vtn(data, "--interval-seconds", "4")
        vtn_processes.append(vtn)
        acked: list[tuple[str, str]] = []
        refused: list[tuple[str, str]] = []
        async with HttpTransport(vtn.url, timeout=10) as transport:
            clients = {p: await join_market(transport, p, DEFAULT_MARKET_CONTEXT) for p in SIDES}
            _, facts = await health(vtn.url)
            interval = timedelta(seconds=facts["interval"])
            a = datetime.fromisoformat(facts["next_open_interval"]) + interval
            for party, client in clients.items():
                side, price = SIDES[party]
                acked.append((party, await client.tender(a, side, 1.0, price, tender_id=f"{party}-a")))

            filler = fill(data)
            for n in range(8):  # writes: refused with 503 and the storage named, never half kept
                client = clients[list(SIDES)[n % 4]]
                tender_id = f"{client.party_id}-full-{n}"
                status, reply = await post(vtn.url, tender_request(client, a, tender_id), client.token)
                if status == 200:  # written after all (SQLite found room): then it is acknowledged and must stay
                    acked.append((client.party_id, tender_id))
                    continue
                assert status == 503
                assert isinstance(reply, EiCreatedTender)
                response = reply_response(reply)
                assert response is not None
                assert response.response_code == "503"
                assert (response.response_description or "").startswith("storage unavailable (store: ")
                assert "full" in (response.response_description or "")
                refused.append((client.party_id, tender_id))
            assert refused, "no write failed on the full disk"
            status, body = await health(vtn.url)
            assert (status, body["status"], set(body["faults"])) == (503, "degraded", {"store"})
            assert "full" in body["faults"]["store"]
            for party, tender_id in acked:  # reads keep working
                [found] = await clients[party].tenders(tender_id)
                assert found.tender_id == tender_id

            # the gates due meanwhile cannot be written: retried, not skipped; a's gate time passes too
            await wait_health(vtn.url, lambda s, h: (h["gate_retry"] or {}).get("attempts", 0) >= 2
                              and datetime.fromisoformat(h["market_time"]) > a + interval / 4, 30,
                              "the gate of a never came due while the disk was full")  # (gate time: a - 1/3)
            filler.unlink()
            await wait_health(vtn.url, lambda s, h: s == 200 and h["status"] == "ok", 15,
                              "health did not recover after the space was freed")
            b = a + 4 * interval
            assert await clients["pv-1"].tender(b, "sell", 1.0, "0.10", tender_id="pv-1-b") == "pv-1-b"
            acked.append(("pv-1", "pv-1-b"))
            deadline = time.monotonic() + 30
            while not [t for t in await clients["home-1"].transactions()]:
                assert time.monotonic() < deadline, "the gate of a was not closed after the space was freed"
                await asyncio.sleep(0.2)

        assert vtn.terminate() == 0
        store = data / "vtn.db"
        statuses = tender_statuses(store)
        for key in acked:  # every acknowledged tender is there, the ones of a cleared
            assert key in statuses, f"acknowledged tender {key} was lost"
        assert {statuses[k] for k in acked if k[1].endswith("-a")} == {"cleared"}
        assert not [k for k in refused if k in statuses], "a refused tender was kept"
        closed = gates(store)
        assert a in [s for s, _ in closed]
        assert_closed_in_order_without_a_gap(closed, interval)
        a_closed = dict(closed)[a]
        assert a_closed > a - interval / 3  # after its gate time: closed late, not skipped
        assert "s after its gate time" in gate_line(vtn.log, a)
        report = verify_file(data / "ledger.db", workers=1)
        assert (report.valid, report.entries) == (True, 4)  # one anchor per transaction of a


async def test_a_gate_whose_ledger_is_locked_is_retried_until_it_closes_while_the_vtn_keeps_serving(
        tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data, "--interval-seconds", "3")
    vtn_processes.append(vtn)
    async with HttpTransport(vtn.url, timeout=10, poll_seconds=1) as transport:
        seller = await join_market(transport, "pv-1", DEFAULT_MARKET_CONTEXT)
        buyer = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
        notices = await buyer.notices()
        _, facts = await health(vtn.url)
        interval = timedelta(seconds=facts["interval"])
        a = datetime.fromisoformat(facts["next_open_interval"]) + interval
        await seller.tender(a, "sell", 2.0, "0.10")
        await buyer.tender(a, "buy", 2.0, "0.20")

        lock = WriteLock(data / "ledger.db")
        try:
            body = await wait_health(vtn.url, lambda s, h: (h["gate_retry"] or {}).get("interval") == a.isoformat(),
                                     40, "the gate of a was not retried")
            assert body["status"] == "degraded"
            assert "locked" in body["faults"]["ledger"]
            started = time.monotonic()  # meanwhile the VTN answers reads and writes at once
            assert await seller.tender(a + 3 * interval, "sell", 1.0, "0.10", tender_id="later") == "later"
            assert len(await buyer.tenders()) == 1
            assert time.monotonic() - started < 2.0
        finally:
            lock.release()
        deadline = time.monotonic() + 30
        while True:
            notice = await notices.get(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(notice, EiCreateTransaction):
                break
        assert [t.transaction_id.split("-")[1] for t in notice.transactions] == [  # the one of interval a
            a.strftime("%Y%m%dT%H%M%SZ")]
        await notices.close()
        await wait_health(vtn.url, lambda s, h: s == 200, 15, "health did not recover")
    assert vtn.terminate() == 0
    line = gate_line(vtn.log, a)
    attempts = re.search(r", (\d+) attempts over [\d.]+ s", line)
    assert attempts is not None, line
    assert int(attempts.group(1)) >= 2
    assert_closed_in_order_without_a_gap(gates(data / "vtn.db"), interval)
    report = verify_file(data / "ledger.db", workers=1)
    assert (report.valid, report.entries) == (True, 2)
