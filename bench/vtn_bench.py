"""VTN benchmark: request round trips per second over loopback HTTP, side by side with openleadr's VTN, and
one market interval with 10,000 VENs cleared and notified.

1. Round trips. Both servers are loaded by the same C load generator, ``wrk`` (``-t1 -c50``: one thread, 50
   concurrent keep-alive connections, ``--duration`` seconds a run, default 20; ``bench/install_wrk.sh``
   installs it). wrk is used because a Python load generator saturates near 5,000 requests/s on this
   2-core machine and would measure itself. Targets, each run in turn within one *round*; ``--rounds``
   (default 3) rounds, so every target is measured side by side with the others several times:
   * ``noop_json`` / ``noop_xml``: ``eiRequestEiMarketContext`` to ``transactive vtn serve`` (its own
     process, a fresh data directory, default event loop: uvloop), the full reply (response, market
     context, market rules) in JSON / XML;
   * ``noop_json_asyncio``: the same against a second VTN started with ``--event-loop asyncio``;
   * ``tender_json``: ``eiCreateTender``, every request a new tender from one of 50 registered parties
     (bearer tokens), each committed durably (fsync) before its reply; afterwards the VTN's store must hold
     at least as many tenders as wrk counted replies (checked, or the benchmark fails);
   * ``openleadr_poll``: openleadr 0.5.36's ``OpenADRServer`` (bench/openleadr_vtn_side.py, in
     .venv-openleadr; plain HTTP, no signing) answering unsigned ``oadrPoll`` documents created by openleadr.
   Before loading, one request to each target is checked by hand (HTTP 200 and EI response code 200).
   Reported per target: requests/s of every round, their median, wrk's median and 99th percentile latency,
   non-2xx and socket errors; the ratio of medians and the per-round (paired) ratios to openleadr.
2. A market interval with ``--vens`` (default 10,000) VENs, through the **service directly** (in process:
   the registrations and tenders are written through ``VtnCore.handle``, batched in one store transaction
   as set-up, not timed), then timed: gate closure (clearing, writing the transactions), anchoring every
   transaction on the embedded ledger, and the notices (``eiCreateTransaction`` per party plus the quote
   to every registered party) posted to the HTTP notice board long polls are served from and published
   through a real Mosquitto broker by the VTN's MQTT bridge; a subscriber to every party's notice topic,
   in its own process (bench/mqtt_spy.py), reports when the last of them arrived (``--skip-mqtt``: board
   only).

Usage: python bench/vtn_bench.py [--duration 20] [--rounds 3] [--clients 50] [--vens 10000] [--json]
       [--skip-openleadr] [--skip-round-trips] [--skip-market] [--skip-mqtt]
``--json`` writes bench/results/vtn.json too. Every process started is stopped before exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
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


# ---- the load generator: wrk ------------------------------------------------------------------------


def find_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    out = subprocess.run(["sh", str(HERE / "install_wrk.sh")], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"vtn_bench: wrk is needed and could not be installed: {out.stderr.strip()[-500:]}")
    return out.stdout.strip().splitlines()[-1]


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


@dataclass
class Target:
    """One thing to load: requests (method, path, headers, body) cycled round robin by wrk."""

    name: str
    url: str
    requests: list[tuple[dict[str, str], str]]  # headers, body ("{n}" in a body: a per-request counter)
    method: str = "POST"

    def script(self, directory: Path, start: int = 0) -> Path:
        path = urllib.parse.urlsplit(self.url).path or "/"
        rows = []
        for headers, body in self.requests:
            lua_headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
            rows.append(f"  {{ headers = {{ {lua_headers} }}, body = {_lua_string(body)} }},")
        templated = any("{n}" in body for _h, body in self.requests)
        query = urllib.parse.urlsplit(self.url).query
        lua = [
            "local reqs = {", *rows, "}",
            f"local path = {_lua_string(path + ('?' + query if query else ''))}",
            f"local n = {start}",
            "request = function()",
            "  n = n + 1",
            "  local r = reqs[(n % #reqs) + 1]",
            ('  local body = string.gsub(r.body, "{n}", tostring(n))' if templated else "  local body = r.body"),
            f'  return wrk.format({_lua_string(self.method)}, path, r.headers, body)',
            "end",
        ]
        script = directory / f"{self.name}.lua"
        script.write_text("\n".join(lua) + "\n")
        return script


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    """What ``wrk --latency`` printed: ``per_s``, ``requests``, ``non_2xx``, ``socket_errors``, ``latency_ms_p50``
    and ``latency_ms_p99`` (those it printed), and ``lines``: the other lines (a Lua hook's own output)."""
    result: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0, "lines": []}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["per_s"] = float(line.split()[1])
        elif re.match(r"\d+ requests in", line):
            result["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx"] = int(line.split()[-1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = sum(int(x) for x in re.findall(r"\d+", line))
        elif re.match(r"(50|99)(\.0+)?%\s", line):
            pct, value = line.split()[:2]
            result[f"latency_ms_p{pct.split('.')[0].rstrip('%')}"] = _ms(value)
        else:
            result["lines"].append(line)
    return result


def run_wrk(wrk: str, target: Target, duration: float, clients: int, directory: Path,
            start: int = 0) -> dict[str, Any]:
    """One wrk run; ``start`` seeds the request counter (so templated ids never repeat across runs)."""
    script = target.script(directory, start)
    cmd = [wrk, "-t1", f"-c{clients}", f"-d{int(duration)}s", "--latency", "-s", str(script), target.url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    result = parse_wrk(out)
    del result["lines"]
    if "per_s" not in result:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return result


def run_rounds(wrk: str, targets: list[Target], rounds: int, duration: float, clients: int,
               directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every target in turn, ``rounds`` times (so that the targets are measured side by side); each target's
    runs in round order. Each run numbers its requests from its own billion: a templated id is never sent
    twice."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for r in range(1, rounds + 1):
        for target in targets:
            result = run_wrk(wrk, target, duration, clients, directory, start=r * 1_000_000_000)
            runs.setdefault(target.name, []).append(result)
            print(f"round {r}/{rounds} {target.name}: {result['per_s']:.0f}/s "
                  f"(p50 {result.get('latency_ms_p50', float('nan')):.2f} ms, non-2xx {result['non_2xx']}, "
                  f"socket errors {result['socket_errors']})", flush=True)
    return runs


def target_stats(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One target's runs summed up: the rate of each run and their median, median latencies, errors."""
    return {"per_s": [r["per_s"] for r in results],
            "median_per_s": statistics.median(r["per_s"] for r in results),
            "latency_ms_p50": statistics.median(r.get("latency_ms_p50", 0.0) for r in results),
            "latency_ms_p99": statistics.median(r.get("latency_ms_p99", 0.0) for r in results),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "socket_errors": sum(r["socket_errors"] for r in results)}


def check_once(target: Target, expect: bytes) -> None:
    """One request by hand: HTTP 200 and the expected EI response code in the reply."""
    headers, body = target.requests[0]
    request = urllib.request.Request(target.url, data=body.replace("{n}", "0").encode(), headers=headers,
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = response.read()
        if response.status != 200 or expect not in reply:
            raise RuntimeError(f"{target.name}: unexpected reply {response.status} {reply[:400]!r}")


# ---- the transactive VTN as a process ------------------------------------------------------------------


def _terminate(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, wait; SIGKILL if it does not stop within 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class VtnProcess:
    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.out = data_dir.parent / f"{data_dir.name}.out"
        self.err = data_dir.parent / f"{data_dir.name}.err"
        with open(self.out, "wb") as stdout, open(self.err, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "transactive.cli", "vtn", "serve", "--host", "127.0.0.1", "--port", "0",
                 "--data-dir", str(data_dir), "--log-level", "WARNING",
                 # the load generator registers its parties from one address, faster than a real site would
                 "--registrations-per-minute", "1000000", *extra],
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
        _terminate(self.proc)


async def _tender_requests(url: str, n: int) -> list[tuple[dict[str, str], str]]:
    """Register ``n`` parties over HTTP; for each its headers (bearer token) and a tender template."""
    import aiohttp

    from transactive.codec import encode_json
    from transactive.ei.cts.tender import EiCreateTender, EiTender
    from transactive.emix import energy_tender_product
    from transactive.transport.http import HttpTransport
    from transactive.ven import join_market

    async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
        health = await response.json()
    # a day ahead: the gate stays open however long the benchmark runs (a refused tender would be cheap)
    interval = datetime.fromisoformat(health["next_open_interval"]) + timedelta(days=1)
    requests = []
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
            requests.append(({"Content-Type": "application/json", "Accept": "application/json",
                              "Authorization": f"Bearer {ven.token}"}, encode_json(msg).decode()))
    return requests


class OpenleadrProcess:
    def __init__(self) -> None:
        if not OPENLEADR_PY.exists():
            subprocess.run(["bash", str(ROOT / "interop" / "openleadr_peer" / "make_venv.sh")], check=False)
        if not OPENLEADR_PY.exists():
            raise RuntimeError("no openleadr environment (.venv-openleadr)")
        self.proc = subprocess.Popen([str(OPENLEADR_PY), str(HERE / "openleadr_vtn_side.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.ready: dict[str, Any] | None = None
        for line in self.proc.stdout:
            if line.startswith("READY "):
                self.ready = json.loads(line[6:])
                break
        if self.ready is None:
            self.stop()
            raise RuntimeError("the openleadr VTN did not start")

    def stop(self) -> None:
        _terminate(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def _tenders_in(data_dir: Path) -> int:
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "report", "--data-dir", str(data_dir),
                          "--json"], capture_output=True, text=True, cwd=ROOT, check=False)
    return int(json.loads(out.stdout)["tenders"])


def bench_round_trips(duration: float, rounds: int, clients: int, with_openleadr: bool) -> dict[str, Any]:
    from transactive.codec import encode_json, encode_xml
    from transactive.ei.cts.market_context import EiRequestEiMarketContext

    wrk = find_wrk()
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    noop = EiRequestEiMarketContext(request_id="noop-1", market_contexts=(MARKET,))
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="vtn-bench-") as tmp_name:
        tmp = Path(tmp_name)
        started: list[Any] = []
        try:
            vtn = VtnProcess(tmp / "data")
            started.append(vtn)
            vtn_asyncio = VtnProcess(tmp / "data-asyncio", "--event-loop", "asyncio")
            started.append(vtn_asyncio)
            json_h = {"Content-Type": "application/json", "Accept": "application/json"}
            xml_h = {"Content-Type": "application/xml", "Accept": "application/xml"}
            targets = [
                Target("noop_json", vtn.url + "/cts", [(json_h, encode_json(noop).decode())]),
                Target("noop_xml", vtn.url + "/cts", [(xml_h, encode_xml(noop).decode())]),
                Target("noop_json_asyncio", vtn_asyncio.url + "/cts", [(json_h, encode_json(noop).decode())]),
                Target("tender_json", vtn.url + "/cts", asyncio.run(_tender_requests(vtn.url, clients))),
            ]
            for target in targets[:3]:
                check_once(target, b"200")
            check_once(targets[3], b'"ei:responseCode":"200"')
            if with_openleadr:
                ol = OpenleadrProcess()
                started.append(ol)
                assert ol.ready is not None
                targets.insert(3, Target("openleadr_poll", ol.ready["url"],
                                         [({"Content-Type": ol.ready["content_type"]}, ol.ready["body"])]))
                check_once(targets[3], b"<ei:responseCode>200</ei:responseCode>")
            runs = run_rounds(wrk, targets, rounds, duration, clients, tmp)
        finally:
            for proc in reversed(started):
                proc.stop()
        tenders = _tenders_in(tmp / "data")
    answered = sum(run["requests"] for run in runs["tender_json"])
    if tenders < answered:
        raise RuntimeError(f"wrk counted {answered} tender replies but the store holds {tenders} tenders")
    out: dict[str, Any] = {"load_generator": f"{version.stdout.split(chr(10))[0] or 'wrk'} -t1 -c{clients}",
                           "duration_s": duration, "rounds": rounds, "clients": clients,
                           "tenders_answered": answered, "tenders_stored": tenders, "targets": {}}
    out["targets"] = {name: target_stats(results) for name, results in runs.items()}
    if "openleadr_poll" in out["targets"]:
        base = out["targets"]["openleadr_poll"]
        out["ratio_of_medians"] = {name: t["median_per_s"] / base["median_per_s"]
                                   for name, t in out["targets"].items() if name != "openleadr_poll"}
        out["paired_ratios"] = {name: [a / b for a, b in zip(t["per_s"], base["per_s"], strict=True)]
                                for name, t in out["targets"].items() if name != "openleadr_poll"}
    return out


# ---- one market interval with many VENs ----------------------------------------------------------------


class _Spy:
    """bench/mqtt_spy.py in its own process (so its work is not the VTN's): a subscriber to every party's
    notice topic of a market that reports when all expected notices arrived."""

    def __init__(self, host: str, port: int, market: str, expect: int) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "mqtt_spy.py"), host, str(port),
                                      f"transactive/v1/{market}/notices/+", str(expect)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "READY":
            self.stop()
            raise RuntimeError(f"the MQTT subscriber did not start: {line!r}")

    async def arrived(self) -> tuple[float, int]:
        """(time.monotonic() when the last expected notice arrived, notices received)."""
        assert self.proc.stdout is not None
        line = (await asyncio.to_thread(self.proc.stdout.readline)).split()
        if not line or line[0] != "DONE":
            raise RuntimeError(f"the MQTT subscriber did not receive every notice: {' '.join(line)!r}")
        return float(line[1]), int(line[2])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


async def bench_market(n_vens: int, *, mqtt: bool = True) -> dict[str, Any]:
    from transactive.ei.cts.registration import EiCreatePartyRegistration
    from transactive.ei.cts.tender import EiCreateTender, EiTender
    from transactive.emix import energy_tender_product
    from transactive.ledger import EmbeddedLedger
    from transactive.protocol.identity import KeyProof, PartyIdentity
    from transactive.services import ManualClock, MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
    from transactive.vtn import NoticeBoard

    config = MarketConfig(market_context=MARKET, max_price=Decimal("10"))
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    clock = ManualClock(start - timedelta(minutes=30))
    with tempfile.TemporaryDirectory(prefix="vtn-market-") as tmp:
        store = SqliteStore(Path(tmp) / "vtn.db")
        ledger = EmbeddedLedger(Path(tmp) / "ledger.db", now=clock)
        try:
            settlement = Settlement(store, ledger, config=config, clock=clock)
            # as vtn serve runs it: every notice signed with the VTN's key where it leaves (MQTT, HTTP poll)
            service = VtnService(VtnCore(config, store, clock), settlement=settlement,
                                 identity=PartyIdentity.generate())
            board = NoticeBoard()
            service.listen(board.post)
            broker = spy = None
            if mqtt:  # the notices also go out through a real Mosquitto broker, to a subscriber that counts them
                from interop.mosquitto.broker import MosquittoBroker, install
                from transactive.vtn.mqtt import run_mqtt_bridge

                # one subscriber takes every party's notices: the broker must queue more for it than for a VEN
                broker = MosquittoBroker(binary=install(), extra_config=["max_queued_messages 0"]).start()
                stop_bridge, bridge_ready = asyncio.Event(), asyncio.Event()
                bridge = asyncio.create_task(run_mqtt_bridge(service, broker.host, broker.port, stop=stop_bridge,
                                                             market="bench", ready=bridge_ready))
                spy = _Spy(broker.host, broker.port, "bench", 2 * n_vens)
                await asyncio.wait_for(bridge_ready.wait(), 10)
            t0 = time.perf_counter()
            with store.transaction():
                tokens = {}
                for i in range(n_vens):
                    party = f"ven-{i:05d}"
                    reply = service.core.handle(EiCreatePartyRegistration(request_id=f"r-{party}",
                                                                          registree_party_id=party),
                                                proof=KeyProof(PartyIdentity.generate().public, clock()))
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
            m1 = time.monotonic()
            cleared = service.core.close_gate(start)
            t2 = time.perf_counter()
            # what the VTN's gate scheduler runs: concurrent anchoring, then the notices (the clearing, done
            # above to time it alone, is read back)
            result = await service.close_gate(start)
            t3 = time.perf_counter()
            assert len(result.transactions) == len(cleared.transactions)
            mqtt_result: dict[str, Any] | None = None
            if broker is not None and spy is not None:
                m3 = m1 + (t3 - t1)
                last, received = await spy.arrived()
                mqtt_result = {"notices_received": received, "delivered_s": last - m1,
                               "after_anchor_and_notify_s": last - m3,
                               "subscriber": "bench/mqtt_spy.py, its own process, QoS 1"}
                stop_bridge.set()
                await asyncio.wait_for(bridge, 10)
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
                "mqtt": mqtt_result,
            }
        finally:
            if spy is not None:
                spy.stop()
            if broker is not None:
                broker.stop()
            await ledger.close()
            store.close()


# ---- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per wrk run (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all targets (default 3)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--vens", type=int, default=10_000, help="VENs in the market interval (default 10000)")
    parser.add_argument("--json", action="store_true", help="also write bench/results/vtn.json")
    parser.add_argument("--skip-openleadr", action="store_true")
    parser.add_argument("--skip-round-trips", action="store_true")
    parser.add_argument("--skip-market", action="store_true")
    parser.add_argument("--skip-mqtt", action="store_true",
                        help="market interval: do not also publish the notices through Mosquitto")
    args = parser.parse_args()

    import aiohttp
    from machine import machine_info

    results: dict[str, Any] = {}
    if not args.skip_round_trips:
        rt = results["round_trips"] = bench_round_trips(args.duration, args.rounds, args.clients,
                                                         not args.skip_openleadr)
        for name, t in rt["targets"].items():
            print(f"{name}: median {t['median_per_s']:.0f}/s over {len(t['per_s'])} runs "
                  f"({', '.join(f'{x:.0f}' for x in t['per_s'])})", flush=True)
        if "ratio_of_medians" in rt:
            print("ratio of medians to openleadr's unsigned poll: "
                  + ", ".join(f"{k} {v:.2f}x" for k, v in rt["ratio_of_medians"].items()), flush=True)
        print(f"tenders: {rt['tenders_answered']} replies counted by wrk, {rt['tenders_stored']} in the store",
              flush=True)
    if not args.skip_market:
        results["market"] = asyncio.run(bench_market(args.vens, mqtt=not args.skip_mqtt))
        m = results["market"]
        print(f"market interval, {m['vens']} VENs: clear+write {m['clear_and_write_s']:.2f} s, anchor+notify "
              f"{m['anchor_and_notify_s']:.2f} s, total {m['total_s']:.2f} s ({m['transactions']} transactions, "
              f"{m['notices_posted']} notices)", flush=True)
        if m["mqtt"] is not None:
            print(f"  through Mosquitto: all {m['mqtt']['notices_received']} notices received by a subscriber "
                  f"{m['mqtt']['delivered_s']:.2f} s after the gate closed", flush=True)
    results["machine"] = machine_info(aiohttp=aiohttp.__version__)
    if args.json:
        path = HERE / "results" / "vtn.json"
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
