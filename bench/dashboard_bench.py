"""The dashboard of a party with a year of transactions, and what it costs the market meanwhile.

An in-process VTN (SQLite store in a temporary directory, the dashboard at /ui) holds ``--transactions``
transactions of one party (default 35,040: a year of 15-minute intervals). Each round asks for that party's
page (``GET /ui/api/party/big``, what a browser's live refresh asks every 5 s) and, while it is being made,
sends one CTS request (``eiRequestEiMarketContext``) on another connection: the time that request takes is
what every VEN waits while the dashboard works.

The VTN runs in a process of its own. Two VTNs are measured side by side (interleaved) in one run:

* ``thread``: the dashboard as it is: the views read through the store's reader in a worker thread;
* ``loop``: the same store with no reader, so the views run on the event loop (the dashboard before issue 17's
  last change).

    PYTHONPATH=. .venv/bin/python bench/dashboard_bench.py --transactions 35040 --rounds 15

Prints one JSON object: per mode the median page time and the median and maximum CTS latency during it,
and the ratio of the CTS medians (loop / thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import machine_info

MARKET = "urn:transactive:market:rt15"
OPERATOR = "bench-operator-token"
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def fill(path: Path, count: int) -> None:
    """A store with party ``big`` registered and ``count`` transactions of it, one per 15-minute interval."""
    from transactive.emix import Side
    from transactive.services import SqliteStore
    from transactive.services.store import Registration, TransactionRow

    store = SqliteStore(path)
    start = NOW - timedelta(minutes=15 * count)
    rows = [TransactionRow(f"txn-{i:06d}", "big", "market", f"t-{i}", 0, Side.BUY if i % 3 else Side.SELL,
                           start + timedelta(minutes=15 * i), timedelta(minutes=15), Decimal("1.25"),
                           Decimal("0.17"), "USD", "0" * 64, start + timedelta(minutes=15 * i))
            for i in range(count)]
    with store.transaction():
        store.add_registration(Registration("r-big", "big", "big-token", NOW))
        store.add_transactions(rows)
    store.close()


async def serve(path: Path, mode: str) -> None:
    """The VTN of one mode, in this process: prints its port, serves until it is terminated."""
    import signal

    from aiohttp import web

    from transactive.services import ManualClock, MarketConfig, SqliteStore, VtnCore, VtnService
    from transactive.vtn import NoticeBoard, create_server
    from transactive.vtn.ui import Dashboard

    class LoopOnly(SqliteStore):
        def reader(self) -> None:
            return None

    store = (SqliteStore if mode == "thread" else LoopOnly)(path)
    config = MarketConfig(market_context=MARKET, market_party_id="market", min_price=Decimal("0.05"),
                          max_price=Decimal("0.30"))
    service = VtnService(VtnCore(config, store, ManualClock(NOW)))
    dashboard = Dashboard(service, operator_token=OPERATOR)
    runner = web.ServerRunner(create_server(service, board=NoticeBoard(), dashboard=dashboard))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(runner.addresses[0][1], flush=True)
    await stop.wait()
    await runner.cleanup()
    dashboard.close()
    store.close()


async def measure(url: str, rounds: int) -> dict[str, Any]:
    """``rounds`` times: the big party's page and, 20 ms into it, one CTS request on another connection."""
    import aiohttp

    from transactive.codec import encode_json
    from transactive.ei.cts.market_context import EiRequestEiMarketContext

    ping = encode_json(EiRequestEiMarketContext(request_id="ping", market_contexts=(MARKET,)))
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    pages, pings = [], []
    async with aiohttp.ClientSession() as viewer, aiohttp.ClientSession() as ven:
        async def page() -> float:
            began = time.perf_counter()
            async with viewer.get(url + "/ui/api/party/big",
                                  headers={"Authorization": f"Bearer {OPERATOR}"}) as reply:
                body = await reply.json()
                assert reply.status == 200, body
                assert body["transactions_total"] > 0
            return time.perf_counter() - began

        async def market_context() -> float:
            await asyncio.sleep(0.02)  # the page is on its way
            began = time.perf_counter()
            async with ven.post(url + "/cts", data=ping, headers=headers) as reply:
                await reply.read()
                assert reply.status == 200
            return time.perf_counter() - began

        await page()  # (warm: the reader opened, the pages cached by SQLite)
        for _ in range(rounds):
            took, waited = await asyncio.gather(page(), market_context())
            pages.append(took)
            pings.append(waited)
    return {"page_median_s": round(statistics.median(pages), 4),
            "cts_during_page_median_s": round(statistics.median(pings), 4),
            "cts_during_page_max_s": round(max(pings), 4)}


def run_mode(path: Path, mode: str, rounds: int) -> dict[str, Any]:
    """One mode's VTN in a process of its own (the client must not share its event loop), measured."""
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(path), "--mode", mode],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        return asyncio.run(measure(f"http://127.0.0.1:{port}", rounds))
    finally:
        server.terminate()
        server.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=35_040, help="transactions of the party (35,040)")
    parser.add_argument("--rounds", type=int, default=15, help="page requests per mode (default 15)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # (the server process of one mode)
    parser.add_argument("--mode", choices=("thread", "loop"), default="thread", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.mode))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vtn.db"
        fill(path, args.transactions)
        results: dict[str, dict[str, list[float]]] = {}
        for mode in ("thread", "loop", "thread", "loop"):  # interleaved: a noisy machine hits both alike
            got = run_mode(path, mode, args.rounds // 2 + 1)
            for key, value in got.items():
                results.setdefault(mode, {}).setdefault(key, []).append(value)
    summary = {mode: {k: statistics.median(v) if "max" not in k else max(v) for k, v in figures.items()}
               for mode, figures in results.items()}
    summary["cts_ratio_loop_over_thread"] = round(summary["loop"]["cts_during_page_median_s"]
                                                  / summary["thread"]["cts_during_page_median_s"], 1)
    print(json.dumps({"transactions": args.transactions, "rounds": args.rounds, **summary,
                      "machine": machine_info()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
