"""OpenADR 3 benchmark: event reads by VENs per second beside the CTS no-op on the same VTN, and 10,000 VENs
reading their events in one market interval.

1. Round trips (wrk ``-t1 -c50``, ``--duration`` seconds a run, ``--rounds`` rounds; every target run in turn in
   each round, so the ratios are paired). One ``transactive vtn serve`` process (uvloop), whose OpenADR 3
   program holds ``--events`` events (default 96: one day of quarter-hour PRICE events, as the market bridge
   makes them). Targets:
   * ``cts_noop_json``: ``eiRequestEiMarketContext`` (POST /cts, JSON): the baseline of issue 4's tables;
   * ``oa3_events_ven``: ``GET /openadr3/3.1.0/events?programID=...&active=true`` as one of 50 VEN clients
     (their own bearer tokens, round robin); the VEN sees every event (none is targeted), 50 to a page;
   * ``oa3_events_bl``: the same search as the business logic (read_all);
   * ``oa3_event_by_id``: ``GET /openadr3/3.1.0/events/{id}`` as a VEN.
   Each target is checked once by hand (200 and a body of the right kind) before it is loaded.
2. ``--vens`` (default 10,000) VENs read their events in one interval. Set-up (not timed): the clients and
   their VEN objects are written straight into the VTN's store (one transaction) and their tokens issued with
   the VTN's token key, as the token endpoint would; then the VTN is started on that data directory. Timed:
   every VEN sends one ``GET /events?programID=...&active=true`` with its own token, 50 at a time, from this
   process (aiohttp), checked (200, the expected number of events). Reported: the wall time, reads per second,
   p50/p99 latency, errors, and the VTN's resident memory before and after.

Usage: python bench/openadr3_bench.py [--duration 10] [--rounds 3] [--events 96] [--vens 10000] [--json [FILE]]
       [--skip-round-trips] [--skip-vens]
``--json`` writes the results to FILE too (default bench/results/openadr3.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402
from vtn_bench import MARKET, Target, VtnProcess, find_wrk, run_rounds, target_stats  # noqa: E402

BASE = "/openadr3/3.1.0"


def _populate(data: Path, n_vens: int, n_events: int) -> tuple[str, list[str], str]:
    """Write ``n_vens`` VEN clients with their VEN objects and ``n_events`` events into the data directory of a
    VTN that ran there once; the program's id, the VENs' tokens and a BL token."""
    from transactive.services import SqliteStore
    from transactive.services.openadr3 import SYSTEM, Clients, Oa3Service, Principal, Role, Tokens, load_token_key
    from transactive.services.openadr3.tokens import TOKEN_KEY_FILE

    store = SqliteStore(data / "vtn.db")
    try:
        service = Oa3Service(store)
        clients = Clients(store)
        tokens = Tokens(clients, load_token_key(data / TOKEN_KEY_FILE, create=False), lifetime=24 * 3600)
        with store.transaction():
            program = service.search(SYSTEM, "programs", {})[0]
            for n in range(n_events):
                service.create(SYSTEM, "events", {
                    "programID": program["id"], "eventName": f"price {n}",
                    "intervalPeriod": {"start": f"2099-01-01T{n // 4 % 24:02d}:{n % 4 * 15:02d}:00Z",
                                       "duration": "PT15M"},
                    "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.1 + n / 1000]}]}]})
            ven_tokens = []
            for n in range(n_vens):
                issued = clients.create(Role.VEN, f"ven-{n}")
                me = Principal(issued.record.client_id, Role.VEN, frozenset(issued.record.scopes))
                service.create(me, "vens", {"objectType": "VEN_VEN_REQUEST", "venName": f"ven-{n}"})
                ven_tokens.append(tokens.issue(issued.record.client_id, issued.secret)["access_token"])
            bl = clients.create(Role.BL, "bench-bl")
            bl_token = tokens.issue(bl.record.client_id, bl.secret)["access_token"]
        return str(program["id"]), ven_tokens, bl_token
    finally:
        store.close()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _prepared(tmp: Path, n_vens: int, n_events: int) -> tuple[Path, str, list[str], str]:
    data = tmp / "data"
    VtnProcess(data).stop()  # the data directory, its store schema, the token key and the market's program
    program, ven_tokens, bl_token = _populate(data, n_vens, n_events)
    return data, program, ven_tokens, bl_token


def _check(url: str, token: str, expect: int | None) -> None:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    if response.status != 200 or (expect is not None and len(body) != expect):
        raise RuntimeError(f"{url}: unexpected reply {response.status} {str(body)[:300]}")


def bench_round_trips(duration: float, rounds: int, clients: int, n_events: int) -> dict[str, Any]:
    from transactive.codec import encode_json
    from transactive.ei.cts.market_context import EiRequestEiMarketContext

    wrk = find_wrk()
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="oa3-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data, program, ven_tokens, bl_token = _prepared(tmp, clients, n_events)
        vtn = VtnProcess(data)
        try:
            noop = EiRequestEiMarketContext(request_id="noop-1", market_contexts=(MARKET,))
            json_h = {"Content-Type": "application/json", "Accept": "application/json"}
            search = f"{vtn.url}{BASE}/events?programID={program}&active=true"
            first_event = _first_event(vtn.url, program, bl_token)
            targets = [
                Target("cts_noop_json", vtn.url + "/cts", [(json_h, encode_json(noop).decode())]),
                Target("oa3_events_ven", search, [({"Authorization": f"Bearer {t}"}, "") for t in ven_tokens],
                       method="GET"),
                Target("oa3_events_bl", search, [({"Authorization": f"Bearer {bl_token}"}, "")], method="GET"),
                Target("oa3_event_by_id", f"{vtn.url}{BASE}/events/{first_event}",
                       [({"Authorization": f"Bearer {t}"}, "") for t in ven_tokens], method="GET"),
            ]
            page = min(50, n_events)
            _check(search, ven_tokens[0], page)
            _check(search, bl_token, page)
            _check(f"{vtn.url}{BASE}/events/{first_event}", ven_tokens[0], None)
            runs = run_rounds(wrk, targets, rounds, duration, clients, tmp)
        finally:
            vtn.stop()
    out: dict[str, Any] = {"load_generator": f"wrk -t1 -c{clients}", "duration_s": duration, "rounds": rounds,
                           "events": n_events, "targets": {}}
    out["targets"] = {name: target_stats(results) for name, results in runs.items()}
    base = out["targets"]["cts_noop_json"]["per_s"]
    out["paired_ratio_to_cts_noop"] = {
        name: [a / b for a, b in zip(t["per_s"], base, strict=True)]
        for name, t in out["targets"].items() if name != "cts_noop_json"}
    return out


def _first_event(url: str, program: str, token: str) -> str:
    import urllib.request

    request = urllib.request.Request(f"{url}{BASE}/events?programID={program}&limit=1",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())[0]["id"])


async def _read_all(url: str, tokens: list[str], expect: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors: list[str] = []
    queue = list(reversed(tokens))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            token = queue.pop()
            began = time.perf_counter()
            try:
                async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                    body = await response.json()
                    if response.status != 200 or len(body) != expect:
                        errors.append(f"{response.status} {str(body)[:200]}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - began
    latencies.sort()
    return {"wall_s": wall, "reads_per_s": len(tokens) / wall, "errors": len(errors), "first_errors": errors[:3],
            "latency_ms_p50": 1000 * latencies[len(latencies) // 2],
            "latency_ms_p99": 1000 * latencies[int(len(latencies) * 0.99)]}


def bench_vens(n_vens: int, n_events: int, concurrency: int = 50) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="oa3-vens-") as tmp_name:
        tmp = Path(tmp_name)
        began = time.perf_counter()
        data, program, ven_tokens, _bl = _prepared(tmp, n_vens, n_events)
        setup = time.perf_counter() - began
        vtn = VtnProcess(data)
        try:
            rss_before = _rss_kb(vtn.proc.pid)
            url = f"{vtn.url}{BASE}/events?programID={program}&active=true"
            result = asyncio.run(_read_all(url, ven_tokens, min(50, n_events), concurrency))
            result["rss_kb_before"] = rss_before
            result["rss_kb_after"] = _rss_kb(vtn.proc.pid)
        finally:
            vtn.stop()
    result.update({"vens": n_vens, "events": n_events, "concurrency": concurrency, "setup_s": setup})
    print(f"{n_vens} VENs read their events in {result['wall_s']:.1f} s ({result['reads_per_s']:.0f}/s, p50 "
          f"{result['latency_ms_p50']:.1f} ms, p99 {result['latency_ms_p99']:.1f} ms, errors {result['errors']}); "
          f"VTN RSS {result['rss_kb_before'] / 1024:.0f} -> {result['rss_kb_after'] / 1024:.0f} MB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=96)
    parser.add_argument("--vens", type=int, default=10_000)
    parser.add_argument("--json", nargs="?", const=str(HERE / "results" / "openadr3.json"), metavar="FILE",
                        help="also write the results as JSON (default file: bench/results/openadr3.json)")
    parser.add_argument("--skip-round-trips", action="store_true")
    parser.add_argument("--skip-vens", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine_info()}
    if not args.skip_round_trips:
        report["round_trips"] = bench_round_trips(args.duration, args.rounds, args.clients, args.events)
    if not args.skip_vens:
        report["vens"] = bench_vens(args.vens, args.events)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
