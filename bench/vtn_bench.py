"""VTN benchmark: request round trips per second over loopback HTTP, side by side with openleadr's VTN, and
one market interval with 10,000 VENs cleared and notified.

1. Round trips. The transactive VTN runs as ``transactive vtn serve`` (its own process, a fresh data
   directory, durable store: every tender is committed with fsync before its reply). The load generator
   is a separate process (this script with ``--load``): ``--clients`` (default 50) concurrent aiohttp
   client loops, one keep-alive connection each, posting for ``--duration`` seconds (default 20). Measured:
   * a no-op request, ``eiRequestEiMarketContext`` (no store write), in JSON and in XML;
   * a tender, ``eiCreateTender`` (JSON; each client a registered party with its bearer token, every
     request a new tender: a durable write);
   * openleadr 0.5.36's ``OpenADRServer`` (bench/openleadr_vtn_side.py, in .venv-openleadr; plain HTTP,
     no signing) answering unsigned ``oadrPoll`` s, loaded by the *same* generator process code.
   Reported: the median of the per-second completion counts (the first second, warm-up, left out), the
   mean rate, the median latency, and the ratios transactive / openleadr.
2. A market interval with ``--vens`` (default 10,000) VENs, through the **service directly** (in process:
   the registrations and tenders are written through ``VtnCore.handle``, batched in one store transaction
   as set-up, not timed), then timed: gate closure (clearing, writing the transactions), anchoring every
   transaction on the embedded ledger, and the notices (``eiCreateTransaction`` per party plus the quote
   to every registered party) posted to the HTTP notice board long polls are served from.

Usage: python bench/vtn_bench.py [--duration 20] [--clients 50] [--vens 10000] [--json] [--skip-openleadr]
``--json`` writes bench/results/vtn.json too. Every process started is stopped before exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

OPENLEADR_PY = ROOT / ".venv-openleadr" / "bin" / "python"
MARKET = "urn:transactive:market:rt15"


# ---- the load generator (runs in its own process) -------------------------------------------------------


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    url: str = spec["url"]
    duration: float = spec["duration"]
    buckets: dict[int, int] = {}
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    counter = 0
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        deadline = start + duration

        async def client(headers: dict[str, str], template: bytes) -> None:
            nonlocal counter, errors
            templated = b"{n}" in template
            while True:
                now = time.perf_counter()
                if now >= deadline:
                    return
                counter += 1
                body = template.replace(b"{n}", str(counter).encode()) if templated else template
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, OSError):
                    errors += 1
                    continue
                done = time.perf_counter()
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    errors += 1
                    continue
                latencies.append(done - now)
                second = int(done - start)
                buckets[second] = buckets.get(second, 0) + 1

        await asyncio.gather(*(client(c["headers"], c["body"].encode()) for c in spec["clients"]))
        elapsed = time.perf_counter() - start
    full = [buckets.get(s, 0) for s in range(1, int(duration))]
    ok = sum(buckets.values())
    return {
        "requests": ok,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": elapsed,
        "mean_per_s": ok / elapsed,
        "median_per_s": statistics.median(full) if full else ok / elapsed,
        "latency_ms_median": statistics.median(latencies) * 1e3 if latencies else None,
        "latency_ms_p99": sorted(latencies)[int(len(latencies) * 0.99)] * 1e3 if latencies else None,
    }


def run_load(url: str, clients: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """Run the generator in a separate process (this script, ``--load``) and return its figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"url": url, "clients": clients, "duration": duration}, fh)
        spec = fh.name
    try:
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--load", spec], capture_output=True,
                             text=True, timeout=duration + 120, check=True)
    finally:
        os.unlink(spec)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# ---- the transactive VTN as a process ------------------------------------------------------------------


class VtnProcess:
    def __init__(self, data_dir: Path) -> None:
        self.out = data_dir.parent / "vtn.out"
        self.err = data_dir.parent / "vtn.err"
        with open(self.out, "wb") as stdout, open(self.err, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "transactive.cli", "vtn", "serve", "--host", "127.0.0.1", "--port", "0",
                 "--data-dir", str(data_dir), "--log-level", "WARNING"],
                stdout=stdout, stderr=stderr, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.out.read_text()
            if "listening on " in text:
                self.url = text.split("listening on ", 1)[1].split()[0]
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the VTN did not start: {self.err.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


async def _setup_tender_clients(url: str, n: int) -> list[dict[str, Any]]:
    """Register ``n`` parties over HTTP; one client spec each: its token and a tender template."""
    import aiohttp

    from transactive.codec import encode_json
    from transactive.ei.cts.tender import EiCreateTender, EiTender
    from transactive.emix import energy_tender_product
    from transactive.transport.http import HttpTransport
    from transactive.ven import join_market

    async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
        health = await response.json()
    interval = datetime.fromisoformat(health["next_open_interval"]) + timedelta(seconds=health["interval"])
    clients = []
    async with HttpTransport(url) as transport:
        for i in range(n):
            party = f"bench-{i:03d}"
            ven = await join_market(transport, party, MARKET)
            cfg = ven._market()
            tender_id = f"{party}-{{n}}"
            item = energy_tender_product(side="sell" if i % 2 else "buy", quantity_kwh=1.0, price="0.15",
                                         currency=cfg.currency, market_context=MARKET, dtstart=interval,
                                         duration=cfg.interval, uid=tender_id)
            msg = EiCreateTender(request_id=f"req-{tender_id}", party_id=party,
                                 counter_party_id=cfg.market_party_id,
                                 tenders=(EiTender(tender_id=tender_id, item=item),))
            clients.append({"headers": {"Content-Type": "application/json", "Accept": "application/json",
                                        "Authorization": f"Bearer {ven.token}"},
                            "body": encode_json(msg).decode()})
    return clients


def bench_transactive(duration: float, n_clients: int) -> dict[str, Any]:
    from transactive.codec import encode_json, encode_xml
    from transactive.ei.cts.market_context import EiRequestEiMarketContext

    noop = EiRequestEiMarketContext(request_id="noop-{n}", market_contexts=(MARKET,))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vtn-bench-") as tmp:
        vtn = VtnProcess(Path(tmp) / "data")
        try:
            url = vtn.url + "/cts"
            for wire, body, ct in (("json", encode_json(noop), "application/json"),
                                   ("xml", encode_xml(noop), "application/xml")):
                clients = [{"headers": {"Content-Type": ct, "Accept": ct}, "body": body.decode()}] * n_clients
                out[f"noop_{wire}"] = run_load(url, clients, duration)
                print(f"transactive no-op ({wire}): {out[f'noop_{wire}']['median_per_s']:.0f}/s median", flush=True)
            tender_clients = asyncio.run(_setup_tender_clients(vtn.url, n_clients))
            out["tender_json"] = run_load(url, tender_clients, duration)
            print(f"transactive tender (json): {out['tender_json']['median_per_s']:.0f}/s median", flush=True)
        finally:
            vtn.stop()
    return out


def bench_openleadr(duration: float, n_clients: int) -> dict[str, Any] | None:
    if not OPENLEADR_PY.exists():
        subprocess.run(["bash", str(ROOT / "interop" / "openleadr_peer" / "make_venv.sh")], check=False)
    if not OPENLEADR_PY.exists():
        return None
    proc = subprocess.Popen([str(OPENLEADR_PY), str(HERE / "openleadr_vtn_side.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready: dict[str, Any] | None = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY "):
                ready = json.loads(line[6:])
                break
        if ready is None:
            raise RuntimeError("the openleadr VTN did not start")
        clients = [{"headers": {"Content-Type": ready["content_type"]}, "body": ready["body"]}] * n_clients
        result = run_load(ready["url"], clients, duration)
        result["openleadr"] = ready["openleadr"]
        print(f"openleadr oadrPoll (unsigned xml): {result['median_per_s']:.0f}/s median", flush=True)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdin is not None:
            proc.stdin.close()
        if proc.stdout is not None:
            proc.stdout.close()


# ---- one market interval with many VENs ----------------------------------------------------------------


async def bench_market(n_vens: int) -> dict[str, Any]:
    from transactive.ei.cts.registration import EiCreatePartyRegistration
    from transactive.ei.cts.tender import EiCreateTender, EiTender
    from transactive.emix import energy_tender_product
    from transactive.ledger import EmbeddedLedger
    from transactive.services import ManualClock, MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
    from transactive.vtn import NoticeBoard
    from transactive.vtn.clock import close_gate

    config = MarketConfig(market_context=MARKET, max_price=Decimal("10"))
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    clock = ManualClock(start - timedelta(minutes=30))
    with tempfile.TemporaryDirectory(prefix="vtn-market-") as tmp:
        store = SqliteStore(Path(tmp) / "vtn.db")
        ledger = EmbeddedLedger(Path(tmp) / "ledger.db", now=clock)
        try:
            settlement = Settlement(store, ledger, config=config, clock=clock)
            service = VtnService(VtnCore(config, store, clock), settlement=settlement)
            board = NoticeBoard()
            service.listen(board.post)
            t0 = time.perf_counter()
            with store.transaction():
                tokens = {}
                for i in range(n_vens):
                    party = f"ven-{i:05d}"
                    reply = service.core.handle(EiCreatePartyRegistration(request_id=f"r-{party}",
                                                                          registree_party_id=party))
                    tokens[party] = reply.registration_id  # type: ignore[attr-defined]
                for i, party in enumerate(tokens):
                    side = "sell" if i % 2 else "buy"
                    price = f"{0.10 + 0.0001 * (i % 100) if side == 'sell' else 0.11 + 0.0001 * (i % 100):.4f}"
                    item = energy_tender_product(side=side, quantity_kwh=1.0 + (i % 5), price=price, currency="USD",
                                                 market_context=MARKET, dtstart=start, duration=config.interval,
                                                 uid=f"t-{party}")
                    service.core.handle(EiCreateTender(request_id=f"q-{party}", party_id=party,
                                                       counter_party_id=config.market_party_id,
                                                       tenders=(EiTender(tender_id=f"t-{party}", item=item),)),
                                        token=tokens[party])
            setup = time.perf_counter() - t0
            clock.set(config.gate_time(start))
            t1 = time.perf_counter()
            cleared = service.core.close_gate(start)
            t2 = time.perf_counter()
            # what the VTN's gate scheduler runs: concurrent anchoring, then the notices (the clearing is read back)
            result = await close_gate(service, start)
            t3 = time.perf_counter()
            assert len(result.transactions) == len(cleared.transactions)
            return {
                "vens": n_vens,
                "api": "service directly (VtnService in process; set-up batched in one store transaction)",
                "setup_s": setup,
                "transactions": len(result.transactions),
                "price": str(result.price),
                "clear_and_write_s": t2 - t1,
                "anchor_and_notify_s": t3 - t2,
                "total_s": t3 - t1,
                "notices_posted": board.posted,
                "ledger_batches": ledger.batches,
            }
        finally:
            await ledger.close()
            store.close()


# ---- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load run (default 20)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--vens", type=int, default=10_000, help="VENs in the market interval (default 10000)")
    parser.add_argument("--json", action="store_true", help="also write bench/results/vtn.json")
    parser.add_argument("--skip-openleadr", action="store_true")
    parser.add_argument("--skip-market", action="store_true")
    parser.add_argument("--load", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        spec = json.loads(Path(args.load).read_text())
        print(json.dumps(asyncio.run(_load(spec))))
        return

    import aiohttp
    from machine import machine_info

    results: dict[str, Any] = {"duration_s": args.duration, "clients": args.clients}
    results["transactive"] = bench_transactive(args.duration, args.clients)
    if not args.skip_openleadr:
        ol = bench_openleadr(args.duration, args.clients)
        results["openleadr"] = ol
        if ol:
            base = ol["median_per_s"]
            results["ratio"] = {k: v["median_per_s"] / base for k, v in results["transactive"].items()}
            print("ratio (median, transactive / openleadr unsigned poll): "
                  + ", ".join(f"{k} {v:.2f}x" for k, v in results["ratio"].items()), flush=True)
    if not args.skip_market:
        results["market"] = asyncio.run(bench_market(args.vens))
        m = results["market"]
        print(f"market interval, {m['vens']} VENs: clear+write {m['clear_and_write_s']:.2f} s, anchor+notify "
              f"{m['anchor_and_notify_s']:.2f} s, total {m['total_s']:.2f} s ({m['transactions']} transactions, "
              f"{m['notices_posted']} notices)", flush=True)
    results["machine"] = machine_info(aiohttp=aiohttp.__version__)
    if args.json:
        path = HERE / "results" / "vtn.json"
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
