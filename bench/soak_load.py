"""The soak benchmark's load generator: many simulated VENs against one VTN, in a process of its own.

bench/soak_bench.py runs it once per phase (``register``, ``soak``, ``throughput``) so that its CPU is never
the VTN's and the harness can measure the VTN between phases. Every run is bounded in time (``--deadline``
seconds: then it stops, counts what is still unanswered as errors and reports), writes its result as one JSON
object to ``--out`` and its progress to stderr.

What goes on the wire is what a VEN sends:

* ``register``: each VEN is a :class:`transactive.ven.VenClient` over the project's
  :class:`~transactive.transport.http.HttpTransport` (aiohttp), run by :func:`transactive.ven.join_market`:
  it asks for the market context, then registers with a request signed by its own new Ed25519 key. The VENs
  share one connection pool (``--connections``). The parties and their bearer tokens go to ``--tokens``.
* ``soak`` and ``throughput``: ``eiCreateTender`` documents built and encoded by the project's own models and
  codec (:func:`transactive.emix.energy_tender_product`, :func:`transactive.codec.wire.encode_as`), one
  tender per request, with the headers HttpTransport sends (JSON both ways, ``Authorization: Bearer`` the
  VEN's own token), over a small HTTP/1.1 keep-alive client written on asyncio's protocol layer
  (:class:`Connection`). Why not aiohttp here: its client costs several times the CPU per request of these
  few lines, and on a 2-core machine every cycle the generator burns is taken from the VTN it measures
  (bench/vtn_bench.py saw a Python aiohttp generator saturate near 5,000 requests/s). A reply counts as
  answered only when it is HTTP 200 *and* its ``ei:eiResponse`` says 200; anything else is an error, counted
  by kind (``http 503``, ``ei 462: ...``, ``timeout``, ``connection: ...``), the first few kept verbatim.

``soak`` is an open loop: every VEN tenders once per market interval, for the interval open at the time, at
its own fixed offset after the previous gate closure (offsets spread evenly over 3 %..90 % of the interval,
so nothing is sent in the last tenth before a gate, where a slow reply could arrive after the gate and be
refused). Its latency is measured from the moment the tender was *due* (so a queue in the generator or for
a pooled connection is in the figure, not hidden by it: no coordinated omission), its wire latency from the
write to the reply. ``throughput`` is a closed loop: ``--concurrency`` tasks, each on its own connection, send
the next VEN's tender as soon as the previous reply came, for an interval a day ahead (so that no gate
clears the flood of tenders while it is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

#: the reply's EI response code must be this
OK = "200"
#: a pooled connection idle this long is closed rather than reused (the VTN closes idle ones after 15 s)
IDLE_REUSE_S = 10.0
#: how many errors are kept verbatim
FIRST_ERRORS = 5


def log(text: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---- a minimal HTTP/1.1 keep-alive client ----------------------------------------------------------


class HttpError(Exception):
    """A request that got no usable reply; ``kind`` is how it is counted."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time. Replies must carry ``Content-Length`` (the VTN's
    always do); a chunked reply is an error, not something this client reads."""

    def __init__(self) -> None:
        self.transport: Any = None  # an asyncio.Transport (uvloop's do not derive from it)
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.head: tuple[int, int, bool] | None = None  # status, content length, connection: close
        self.closed = False
        self.must_close = False
        self.last_used = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError("connection: closed by the VTN", str(exc or "")))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.fail(HttpError("connection: unexpected bytes", bytes(self.buffer[:80]).decode("latin-1")))
            return
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[:end + 4]
            try:
                status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                self.fail(HttpError("connection: bad status line", lines[0][:80]))
                return
            length, close = -1, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection":
                    close = value.strip().lower() == "close"
                elif name == "transfer-encoding":
                    self.fail(HttpError("connection: chunked reply", value.strip()))
                    return
            if length < 0:
                length = 0 if status in (204, 304) else -1
            if length < 0:
                self.fail(HttpError("connection: reply without Content-Length"))
                return
            self.head = (status, length, close)
        status, length, close = self.head
        if len(self.buffer) >= length:
            body = bytes(self.buffer[:length])
            del self.buffer[:length]
            self.head = None
            self.must_close = close
            waiter.set_result((status, body))

    def fail(self, error: HttpError) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            return await self.waiter
        finally:
            self.waiter = None
            self.last_used = time.monotonic()
            if self.must_close:
                self.close()


class Pool:
    """At most ``size`` connections to ``host:port``, shared: a request waits for a free one."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.free: list[Connection] = []
        self.slots = asyncio.Semaphore(size)
        self.opened = 0

    async def _connect(self) -> Connection:
        try:
            transport, conn = await asyncio.get_running_loop().create_connection(Connection, self.host, self.port)
        except OSError as exc:
            raise HttpError("connection: refused", str(exc)) from None
        conn.connection_made(transport)  # uvloop may return before it calls connection_made itself
        self.opened += 1
        return conn

    async def request(self, data: bytes, timeout: float) -> tuple[int, bytes, float]:
        """(status, body, seconds from the write to the reply)."""
        async with self.slots:
            conn = None
            while self.free:
                candidate = self.free.pop()
                if not candidate.closed and time.monotonic() - candidate.last_used < IDLE_REUSE_S:
                    conn = candidate
                    break
                candidate.close()
            if conn is None:
                conn = await self._connect()
            t0 = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(conn.request(data), timeout)
            except TimeoutError:
                conn.close()
                raise HttpError("timeout", f"no reply within {timeout:g} s") from None
            except BaseException:
                conn.close()
                raise
            wire = time.perf_counter() - t0
            if not conn.closed:
                self.free.append(conn)
            return status, body, wire

    def close(self) -> None:
        for conn in self.free:
            conn.close()
        self.free.clear()


# ---- what a VEN sends --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    """What the VENs know of the market: its configuration and the VTN's time mapping."""

    config: Any  # transactive.protocol.MarketConfig
    mapping: Any  # transactive.protocol.TimeMapping

    def market_now(self) -> datetime:
        return self.mapping.market(datetime.now(UTC))  # type: ignore[no-any-return]

    def wall_of(self, market: datetime) -> float:
        """Unix seconds at the market time ``market``."""
        return self.mapping.wall(market).timestamp()  # type: ignore[no-any-return]


class Tenders:
    """Encodes the ``eiCreateTender`` requests of the VENs (party, token): the HTTP request's bytes."""

    def __init__(self, market: Market, parties: list[tuple[str, str]], host: str, port: int, seed: int) -> None:
        from transactive.codec.wire import WireFormat, encode_as, media_type
        from transactive.ei.cts.tender import EiCreateTender, EiTender
        from transactive.emix import energy_tender_product

        self._encode: Callable[[Any], bytes] = lambda message: encode_as(WireFormat.JSON, message)
        self._create, self._tender, self._product = EiCreateTender, EiTender, energy_tender_product
        self.market = market
        self.parties = parties
        self.seed = seed
        json_type = media_type(WireFormat.JSON)
        self._head = (f"POST /cts HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: transactive-soak\r\n"
                      f"Content-Type: {json_type}\r\nAccept: {json_type}\r\n").encode()
        self.sent = 0

    def request(self, index: int, interval: datetime, serial: int) -> bytes:
        """VEN ``index``'s tender for ``interval`` (its ``serial``-th request): a seeded, VEN-specific buyer or
        seller with a quantity and a price that drift from interval to interval."""
        party, token = self.parties[index]
        cfg = self.market.config
        rng = random.Random(self.seed * 1_000_003 + index * 7_919 + int(interval.timestamp()) // 60 + serial)
        side = "buy" if (index * 2_654_435_761 + self.seed) % 7 < 4 else "sell"
        base = 0.14 if side == "buy" else 0.12
        price = f"{base + rng.uniform(-0.03, 0.03):.4f}"
        quantity = round(rng.uniform(0.2, 5.0), 3)
        tender_id = f"{party}-{serial}"
        item = self._product(side=side, quantity_kwh=quantity, price=price, currency=cfg.currency,
                             market_context=cfg.market_context, dtstart=interval, duration=cfg.interval,
                             uid=tender_id)
        message = self._create(request_id=f"{party}-r{serial}", party_id=party,
                               counter_party_id=cfg.market_party_id,
                               tenders=(self._tender(tender_id=tender_id, item=item),))
        body = self._encode(message)
        self.sent += 1
        return (self._head + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body)


def ei_code(body: bytes) -> tuple[str, str]:
    """(response code, description) of a JSON reply's top-level ``ei:eiResponse``."""
    try:
        payload = json.loads(body)
        (root,) = payload.values()
        response = root["ei:eiResponse"]
        return str(response["ei:responseCode"]), str(response.get("ei:responseDescription", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unreadable", body[:120].decode("utf-8", "replace")


# ---- recording ---------------------------------------------------------------------------------------


@dataclass
class Record:
    """Every request's outcome: latencies of the answered ones, errors by kind (the first few verbatim)."""

    started: float = field(default_factory=time.monotonic)
    at: list[float] = field(default_factory=list)  # seconds since start, when answered
    latency: list[float] = field(default_factory=list)  # seconds, from due (wall clock) to reply
    wire: list[float] = field(default_factory=list)  # seconds, from write to reply
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)

    def ok(self, latency: float, wire: float) -> None:
        self.at.append(time.monotonic() - self.started)
        self.latency.append(latency)
        self.wire.append(wire)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.first_errors) < FIRST_ERRORS:
            self.first_errors.append(f"{kind}: {detail}"[:300])
            log(f"error {kind}: {detail[:200]}")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict[str, Any]:
        import numpy as np

        lat = np.asarray(self.latency) * 1e3
        wire = np.asarray(self.wire) * 1e3
        at = np.asarray(self.at)

        def pct(values: Any) -> dict[str, float | None]:
            if len(values) == 0:
                return {"p50": None, "p90": None, "p99": None, "max": None}
            p50, p90, p99 = np.percentile(values, [50, 90, 99])
            return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(values.max())}

        per_minute = []
        if len(at):
            for minute in range(int(at.max() // 60) + 1):
                mask = (at >= minute * 60) & (at < (minute + 1) * 60)
                if mask.any():
                    per_minute.append({"minute": minute, "answered": int(mask.sum()), **pct(lat[mask])})
        return {"answered": len(self.latency), "errors": self.error_count, "errors_by_kind": dict(self.errors),
                "first_errors": self.first_errors, "latency_ms": pct(lat), "wire_latency_ms": pct(wire),
                "per_minute": per_minute}


async def send(pool: Pool, record: Record, data: bytes, due: float, timeout: float) -> None:
    """One request; its outcome into ``record`` (latency from ``due``, Unix seconds: the schedule is in wall
    time, and an offset between the wall and the monotonic clock drifts while the wall clock is slewed)."""
    try:
        status, body, wire = await pool.request(data, timeout)
    except HttpError as error:
        record.error(error.kind, str(error))
        return
    except OSError as error:
        record.error("connection: " + type(error).__name__, str(error))
        return
    latency = time.time() - due
    code, description = ei_code(body)
    if status != 200:
        record.error(f"http {status}", f"ei {code} {description}")
    elif code != OK:
        record.error(f"ei {code}: {description[:60]}", description)
    else:
        record.ok(latency, wire)


# ---- phases -------------------------------------------------------------------------------------------


async def fetch_market(url: str) -> Market:
    """The market's configuration (an ``eiRequestEiMarketContext``, as a VEN asks) and the VTN's time mapping
    (``GET /health``)."""
    import aiohttp

    from transactive.protocol.clock import TimeMapping
    from transactive.transport.http import HttpTransport
    from transactive.ven import VenClient

    async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
        health = await response.json()
    async with HttpTransport(url) as transport:
        config = await VenClient(transport, "soak-probe").market_context(health["market"])
    return Market(config, TimeMapping.from_json(health["clock"]))


def _host_port(url: str) -> tuple[str, int]:
    split = urllib.parse.urlsplit(url)
    return split.hostname or "127.0.0.1", split.port or 80


async def register(args: argparse.Namespace) -> dict[str, Any]:
    """``--vens`` VENs join the market (market context, then a signed registration) with at most
    ``--connections`` at a time; their tokens go to ``--tokens``."""
    import aiohttp

    from transactive.transport.http import HttpTransport
    from transactive.ven import join_market

    market = (await fetch_market(args.url)).config.market_context
    record = Record()
    tokens: list[tuple[str, str] | None] = [None] * args.vens
    gate = asyncio.Semaphore(args.connections)
    connector = aiohttp.TCPConnector(limit=args.connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        transport = HttpTransport(args.url, session=session, timeout=args.timeout)

        async def one(i: int) -> None:
            party = f"{args.prefix}-{i:05d}"
            async with gate:
                t0 = time.perf_counter()
                try:
                    ven = await join_market(transport, party, market)
                except Exception as error:  # every failure is counted, by kind: the benchmark's figure
                    record.error(f"register: {type(error).__name__}", str(error))
                    return
                assert ven.token is not None
                tokens[i] = (party, ven.token)
                elapsed = time.perf_counter() - t0
                record.ok(elapsed, elapsed)

        tasks = [asyncio.create_task(one(i)) for i in range(args.vens)]
        reporter = asyncio.create_task(_progress(record, "registered"))
        _done, pending = await asyncio.wait(tasks, timeout=args.deadline)
        reporter.cancel()
        for task in pending:
            task.cancel()
        if pending:
            record.errors["deadline: unfinished"] += len(pending)
        await transport.close()
    joined = [t for t in tokens if t is not None]
    Path(args.tokens).write_text(json.dumps(joined))
    wall = time.monotonic() - record.started
    log(f"registered {len(joined)} of {args.vens} VENs in {wall:.1f} s ({record.error_count} errors)")
    return {"phase": "register", "vens": args.vens, "registered": len(joined), "wall_s": wall,
            "per_s": len(joined) / wall if wall else None, **record.summary()}


async def _progress(record: Record, what: str, every: float = 10.0) -> None:
    while True:
        await asyncio.sleep(every)
        log(f"{what} {len(record.latency)}, errors {record.error_count}")


def _parties(args: argparse.Namespace) -> list[tuple[str, str]]:
    parties = [(str(party), str(token)) for party, token in json.loads(Path(args.tokens).read_text())]
    if not parties:
        raise SystemExit("soak_load: no registered VENs in " + args.tokens)
    return parties


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Every VEN tenders once per market interval for ``--seconds`` (open loop, see the module's text)."""
    market = await fetch_market(args.url)
    parties = _parties(args)
    host, port = _host_port(args.url)
    tenders = Tenders(market, parties, host, port, args.seed)
    pool = Pool(host, port, args.connections)
    record = Record()
    cfg = market.config
    n = len(parties)
    # each VEN's offset after a gate closure, evenly spread over 3 %..90 % of the interval, in a seeded order
    order = list(range(n))
    random.Random(args.seed).shuffle(order)
    fractions = sorted((0.03 + 0.87 * (k + 0.5) / n, i) for k, i in enumerate(order))
    open_interval = cfg.next_open_interval(market.market_now())
    first_gate = market.wall_of(cfg.gate_time(open_interval - cfg.interval))  # the window open_interval's
    period = market.wall_of(cfg.gate_time(open_interval)) - first_gate  # wall seconds a market interval lasts
    start = time.time()
    end = start + args.seconds
    tasks: set[asyncio.Task[None]] = set()
    lag_max = 0.0
    serial = 0
    reporter = asyncio.create_task(_progress(record, "tenders answered"))
    log(f"{n} VENs tender once per interval ({period:g} s) for {args.seconds:g} s, {args.connections} connections")
    window = 0
    intervals: list[str] = []
    while True:
        gate = first_gate + window * period
        if gate >= end:
            break
        interval = open_interval + window * cfg.interval
        for fraction, i in fractions:
            due = gate + fraction * period
            if due < start:
                continue
            if due >= end:
                break
            # a timer may fire early (the loop's clock is read once per turn): sleep until it is really due
            while (delay := due - time.time()) > 0:
                await asyncio.sleep(delay)
            lag_max = max(lag_max, time.time() - due)
            serial += 1
            data = tenders.request(i, interval, serial)
            task = asyncio.create_task(send(pool, record, data, due, args.timeout))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        intervals.append(interval.isoformat())
        window += 1
    if tasks:
        await asyncio.wait(set(tasks), timeout=args.timeout)
    reporter.cancel()
    unfinished = sum(1 for t in tasks if not t.done())
    for task in list(tasks):
        task.cancel()
    if unfinished:
        record.errors["deadline: unanswered"] += unfinished
    pool.close()
    wall = time.monotonic() - record.started
    log(f"soak done: {len(record.latency)} tenders answered of {tenders.sent}, {record.error_count} errors")
    return {"phase": "soak", "vens": n, "seconds": args.seconds, "interval_wall_s": period, "sent": tenders.sent,
            "intervals": intervals, "connections": args.connections, "connections_opened": pool.opened,
            "scheduler_lag_max_s": lag_max, "wall_s": wall, "per_s": len(record.latency) / wall,
            **record.summary()}


async def throughput(args: argparse.Namespace) -> dict[str, Any]:
    """``--concurrency`` tasks each on its own connection send tenders back to back for ``--seconds``."""
    market = await fetch_market(args.url)
    parties = _parties(args)
    host, port = _host_port(args.url)
    tenders = Tenders(market, parties, host, port, args.seed)
    cfg = market.config
    interval = cfg.next_open_interval(market.market_now()) + timedelta(days=1)
    pool = Pool(host, port, args.concurrency)
    record = Record()
    counter = iter(range(10**12))
    stop_at = time.perf_counter() + args.seconds

    async def loop() -> None:
        while time.perf_counter() < stop_at:
            serial = next(counter)
            data = tenders.request(serial % len(parties), interval, 10**9 + serial)
            await send(pool, record, data, time.time(), args.timeout)

    reporter = asyncio.create_task(_progress(record, "tenders answered"))
    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(loop() for _ in range(args.concurrency))), args.seconds + args.timeout)
    wall = time.perf_counter() - t0
    reporter.cancel()
    pool.close()
    log(f"throughput: {len(record.latency) / wall:.0f} tenders/s over {wall:.1f} s, {record.error_count} errors")
    return {"phase": "throughput", "concurrency": args.concurrency, "seconds": args.seconds, "wall_s": wall,
            "interval": interval.isoformat(), "tenders_per_s": len(record.latency) / wall, **record.summary()}


PHASES = {"register": register, "soak": soak, "throughput": throughput}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--url", required=True, help="the VTN's base URL")
    parser.add_argument("--tokens", required=True, help="the VENs' parties and tokens (register writes it)")
    parser.add_argument("--out", required=True, help="where the result goes (JSON)")
    parser.add_argument("--vens", type=int, default=10_000, help="register: how many VENs")
    parser.add_argument("--prefix", default="soak", help="register: party ids are PREFIX-00000, ...")
    parser.add_argument("--connections", type=int, default=64, help="register, soak: connections shared")
    parser.add_argument("--concurrency", type=int, default=64, help="throughput: concurrent requests")
    parser.add_argument("--seconds", type=float, default=600.0, help="soak, throughput: how long")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take")
    parser.add_argument("--deadline", type=float, default=600.0, help="register: give up after this long")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    runner: Any = asyncio.run
    if args.event_loop == "uvloop":
        import uvloop

        runner = uvloop.run
    result = runner(PHASES[args.phase](args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["generator_cpu_s"] = usage.ru_utime + usage.ru_stime
    result["generator_max_rss_kb"] = usage.ru_maxrss
    Path(args.out).write_text(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
