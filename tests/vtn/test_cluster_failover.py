"""Failover: three ``transactive vtn serve`` processes on one PostgreSQL database (a real server, started by the
tests), VENs trading through all three, and the leader SIGKILLed at random moments ten times (and started
again). Afterwards: every acknowledged tender is in the database, every interval that had tenders was closed
exactly once (one "gate ... closed" line in all the processes' logs together, no tender left open), no
transaction or anchor is duplicated, every transaction is anchored on the embedded ledger exactly once, and the
ledger verifies. Also: notices reach a VEN at a process other than the leader, with one numbering everywhere.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.vtn.conftest import VtnProcess, checked_health, start_vtn
from transactive.ei.cts.quote import EiCreateQuote
from transactive.ledger import verify_file
from transactive.ledger.embedded import LedgerReader
from transactive.services.lifecycle import TenderStatus
from transactive.transport import TransportError, WireFormat
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

pytestmark = pytest.mark.slow

#: one market interval lasts this many wall-clock seconds (gates close every 2 s)
INTERVAL_SECONDS = "2"
KILLS = 10
PARTIES = [f"pv-{i}" for i in range(4)] + [f"home-{i}" for i in range(4)]
_GATE_LINE = re.compile(r"gate (\S+) closed")


async def _health(url: str) -> dict[str, Any] | None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http, \
                http.get(url + "/health") as response:
            return checked_health(await response.json())
    except (aiohttp.ClientError, TimeoutError):
        return None


class Cluster:
    """The three processes; ``start(i)`` (re)starts process ``i`` on the shared database and data directory."""

    def __init__(self, data_dir: Path, store: str, started: list[VtnProcess]) -> None:
        self.data_dir, self.store, self.started = data_dir, store, started
        self.procs: list[VtnProcess | None] = [None, None, None]

    def start(self, i: int) -> VtnProcess:
        proc = start_vtn(self.data_dir, "--store", self.store, "--interval-seconds", INTERVAL_SECONDS,
                         "--reserve", "0.30,0.05", log_name=f"vtn{i}")
        self.procs[i] = proc
        self.started.append(proc)
        return proc

    def alive(self) -> list[VtnProcess]:
        return [p for p in self.procs if p is not None and p.proc.poll() is None]

    async def leader(self, timeout: float = 15.0) -> int:
        """The index of the process that is the leader now (waits for one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.proc.poll() is None:
                    health = await _health(proc.url)
                    if health is not None and health["cluster"]["leader"]:
                        return i
            await asyncio.sleep(0.1)
        raise AssertionError("no process became the leader within 15 s")


class Vens:
    """The parties, each sending every request to a process picked at random, and again (same request id,
    same tender id: idempotent) to another one when that process is gone."""

    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.cluster, self.rng = cluster, rng
        self.clients: dict[str, VenClient] = {}
        self.acknowledged: set[tuple[str, str]] = set()  # (party, tender id)
        self.failed_over = 0  # requests that had to be sent again elsewhere

    async def _transport(self) -> HttpTransport:
        # any of the three, also one that was just killed (as a VEN would: it does not know yet)
        proc = self.rng.choice([p for p in self.cluster.procs if p is not None])
        return HttpTransport(proc.url, wire=WireFormat.JSON)

    async def call(self, party: str, action: Any) -> Any:
        for _attempt in range(40):
            transport = await self._transport()
            client = self.clients[party]
            client.transport = transport
            try:
                return await action(client)
            except TransportError:
                self.failed_over += 1
                await asyncio.sleep(0.1)
            finally:
                await transport.close()
        raise AssertionError(f"{party}: no process answered 40 times")

    async def join(self) -> None:
        for party in PARTIES:
            self.clients[party] = VenClient(await self._transport(), party)
            await self.call(party, lambda c: c.market_context(DEFAULT_MARKET_CONTEXT))
            request_id = f"{party}-register"
            await self.call(party, lambda c, r=request_id: c.register(request_id=r))

    async def tender_round(self, interval: datetime, n: int) -> None:
        for k, party in enumerate(PARTIES):
            side, price = ("sell", Decimal("0.08") + Decimal(k) / 100) if party.startswith("pv") else \
                ("buy", Decimal("0.20") + Decimal(k) / 100)
            tender_id, request_id = f"t-{party}-{n}", f"r-{party}-{n}"
            try:
                await self.call(party, lambda c, t=tender_id, r=request_id, s=side, p=price:
                                c.tender(interval, s, 1.5, p, tender_id=t, request_id=r))
            except Exception as exc:  # a gate that closed meanwhile refuses it: not acknowledged
                if "closed" not in str(exc):
                    raise
                continue
            self.acknowledged.add((party, tender_id))


async def _open_interval(cluster: Cluster) -> datetime:
    for proc in cluster.alive():
        health = await _health(proc.url)
        if health is not None:
            return datetime.fromisoformat(health["next_open_interval"]) + timedelta(seconds=health["interval"])
    raise AssertionError("no process answers GET /health")


async def test_three_processes_survive_ten_leader_kills(tmp_path: Path, pg_url: str,
                                                        vtn_processes: list[VtnProcess]) -> None:
    from transactive.services.pg_store import PgStore

    rng = random.Random(14)
    data_dir = tmp_path / "vtn"
    cluster = Cluster(data_dir, pg_url, vtn_processes)
    cluster.start(0)  # first alone: it makes the key, the clock and the ledger's key
    cluster.start(1)
    cluster.start(2)
    first = await cluster.leader()
    vens = Vens(cluster, rng)
    await vens.join()

    rounds = 0
    leaders = [first]
    for _kill in range(KILLS):
        for _ in range(rng.randint(1, 3)):  # trade a little, then kill at a random moment
            rounds += 1
            await vens.tender_round(await _open_interval(cluster), rounds)
        leader = await cluster.leader()
        await asyncio.sleep(rng.uniform(0.0, 2.0))  # a random moment of the leader's cycle
        leader = await cluster.leader()
        proc = cluster.procs[leader]
        assert proc is not None
        proc.kill()
        rounds += 1
        await vens.tender_round(await _open_interval(cluster), rounds)  # while the leader is down
        taken_over_by = await cluster.leader()
        assert taken_over_by != leader
        leaders.append(taken_over_by)
        cluster.start(leader)
    # a last round cleared after the last takeover, then every process stops cleanly
    rounds += 1
    last = await _open_interval(cluster)
    await vens.tender_round(last, rounds)
    deadline = time.monotonic() + 20
    store = PgStore(pg_url, pool_max=1)
    try:
        while store.gate(last) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert store.gate(last) is not None, "the last interval was not closed"
        await asyncio.sleep(1.0)  # its settlement steps (anchors) follow the gate
        for proc in cluster.alive():
            assert proc.terminate() == 0

        # every acknowledged tender is there
        stored = {(row.party_id, row.tender_id) for row in store.tenders()}
        assert vens.acknowledged <= stored, sorted(vens.acknowledged - stored)[:5]
        assert len(vens.acknowledged) >= rounds * len(PARTIES) // 2
        # no interval with tenders was left open, and each was closed exactly once (its gate row, one log line)
        assert not store.tenders(status=TenderStatus.OPEN)
        intervals = {row.interval_start for row in store.tenders()}
        assert all(store.gate(start) is not None for start in intervals)
        logs = "".join(p.log.read_text() for p in vtn_processes)
        closed = Counter(datetime.fromisoformat(m) for m in _GATE_LINE.findall(logs))
        assert {start: n for start, n in closed.items() if n != 1} == {}
        assert intervals <= set(closed)
        # transactions: one per matched tender row, none twice; each anchored once in the log and on the ledger
        transactions = store.transactions()
        assert transactions, "nothing traded"
        per_row = Counter((t.party_id, t.tender_id, t.tender_seq) for t in transactions)
        assert max(per_row.values()) == 1
        anchors = Counter(step.transaction_id for t in transactions
                          for step in store.settlement_steps(t.transaction_id) if step.event == "anchor")
        assert {t.transaction_id for t in transactions} == set(anchors)
        assert max(anchors.values()) == 1
    finally:
        store.close()
    ledger = data_dir / "ledger.db"
    with LedgerReader(ledger) as reader:
        on_ledger = Counter(entry.transaction_id for t in transactions for entry in reader.rows(t.transaction_id)
                            if entry.kind == "anchor")
    assert on_ledger == Counter({t.transaction_id: 1 for t in transactions})
    assert verify_file(ledger).valid
    # the leadership moved every time, and the VENs had to go elsewhere while a leader was down
    assert len(leaders) == KILLS + 1
    assert vens.failed_over > 0


async def test_notices_reach_a_ven_at_another_process_with_one_numbering(tmp_path: Path, pg_url: str,
                                                                           vtn_processes: list[VtnProcess]) -> None:
    data_dir = tmp_path / "vtn"
    cluster = Cluster(data_dir, pg_url, vtn_processes)
    for i in range(3):
        cluster.start(i)
    leader = await cluster.leader()
    others = [p for i, p in enumerate(cluster.procs) if i != leader and p is not None]
    # the VEN registers and tenders at one follower, listens at the other
    async with HttpTransport(others[0].url, poll_seconds=1) as there, HttpTransport(others[1].url,
                                                                                   poll_seconds=1) as here:
        seller, buyer = VenClient(there, "pv-n"), VenClient(there, "home-n")
        for client in (seller, buyer):
            await client.market_context(DEFAULT_MARKET_CONTEXT)
            await client.register()
        buyer.transport = here
        subscription = await buyer.notices()
        interval = await _open_interval(cluster)
        await seller.tender(interval, "sell", 2.0, "0.10")
        buyer.transport = there
        await buyer.tender(interval, "buy", 2.0, "0.20")
        kinds: list[str] = []
        deadline = time.monotonic() + 20
        while "EiCreateTransaction" not in kinds and time.monotonic() < deadline:
            notice = await subscription.get(timeout=max(0.1, deadline - time.monotonic()))
            kinds.append(type(notice).__name__)
            if isinstance(notice, EiCreateQuote):
                continue
        assert "EiCreateTransaction" in kinds
    # every process numbers notices alike: their boards' cursors agree once the relay caught up
    seqs = set()
    async with aiohttp.ClientSession() as http:
        for proc in cluster.alive():
            async with http.get(proc.url + "/cts/notices", params={"after": "0", "timeout": "0"},
                                headers={"Authorization": f"Bearer {buyer.token}"}) as response:
                seqs.add(response.headers.get("X-Notice-Seq"))
    assert None not in seqs
    assert len(seqs) == 1, seqs
