"""A local energy market for one simulated day: a VTN and a microgrid of VENs on loopback.

Starts ``transactive vtn serve`` on a free 127.0.0.1 port with a temporary data directory and accelerated
market time (``--interval-seconds``, one 15-minute interval per second by default), then one
``transactive ven run`` process per party — several PV systems, households and a battery, with the fixed,
ZI-C and AA strategies — all trading the same 96 intervals (a simulated day from 00:00), and one OpenADR 2.0b
battery (``ven run --protocol openadr``) that does not trade but follows the ELECTRICITY_PRICE event the VTN
publishes for every cleared interval. Each VEN tenders
before every gate closure, receives its transactions, reports its metered delivery (settled on the VTN's
embedded ledger) and books what it could not trade locally with the main grid (at 0.30 USD/kWh retail,
0.05 USD/kWh for exports). Then it prints a summary (energy traded locally and with the grid, prices, each
party's bill), writes ``out/local_market_demo.png`` (prices and energy per interval), prints
``transactive vtn report --data-dir DIR --json`` and stops everything — also on Ctrl-C or an error. While it
runs, the VTN's dashboard (``/ui``) shows the market live: its sign-in link is printed at the start. With
``--keep`` the VTN stays up after the day (the dashboard open for inspection) until Ctrl-C, and the data
directory is kept.

    python examples/local_market_demo.py [--transport http|memory] [--intervals 96] [--interval-seconds 1]

``--transport memory`` runs the same VTN services and VEN runtimes in this one process over the in-memory
transport (no sockets) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GRID_BUY, GRID_SELL = 0.30, 0.05
SIM_START = datetime(2026, 6, 21, tzinfo=UTC)


@dataclass(frozen=True)
class Party:
    name: str
    personality: str
    capacity_kw: float
    strategy: str
    seed: int


PARTIES = (
    Party("pv-1", "pv", 6.0, "zic", 1),
    Party("pv-2", "pv", 4.0, "fixed", 2),
    Party("pv-3", "pv", 3.0, "aa", 3),
    Party("home-1", "load", 3.5, "fixed", 4),
    Party("home-2", "load", 2.5, "zic", 5),
    Party("home-3", "load", 4.0, "aa", 6),
    Party("home-4", "load", 3.0, "fixed", 7),
    Party("bat-1", "battery", 5.0, "aa", 8),
)
#: an OpenADR 2.0b device beside the CTS parties: it does not trade, it follows the market's price events
OADR_VEN = Party("adr-bat", "battery", 5.0, "-", 9)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "transactive.cli", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except OSError:
        return None


# ---- the HTTP run: subprocesses -------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


#: the VTN that ``--keep`` leaves serving after the run, and its URL (stopped on Ctrl-C)
KEPT: list[tuple[subprocess.Popen[bytes], str]] = []


def run_http(args: argparse.Namespace, data: Path) -> None:
    kept = False
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        vtn_log = open(data / "vtn.log", "wb")  # noqa: SIM115
        procs.append(subprocess.Popen(cli("vtn", "serve", "--host", "127.0.0.1", "--port", str(port),
                                          "--data-dir", str(data / "vtn"), "--interval-seconds",
                                          str(args.interval_seconds), "--reserve", f"{GRID_BUY},{GRID_SELL}",
                                          "--log-level", "WARNING"),
                                      stdout=vtn_log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        info = None
        while info is None:
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the VTN did not start; see {data / 'vtn.log'}")
            time.sleep(0.2)
            info = health(url)
        interval = timedelta(seconds=float(info["interval"]))
        # leave the VENs a few seconds to start: the first interval they all trade
        lead = max(4, int(5 / args.interval_seconds) + 2)
        start = datetime.fromisoformat(info["next_open_interval"]) + interval * lead
        print(f"VTN at {url} (market {info['market']}, {interval} intervals, one per {args.interval_seconds:g} s); "
              f"{len(PARTIES)} VENs trade {args.intervals} intervals from market time {start:%H:%M}")
        print(f"dashboard: {dashboard_url(url, data)}")
        for p in PARTIES:
            log = open(data / f"{p.name}.log", "wb")  # noqa: SIM115
            procs.append(subprocess.Popen(
                cli("ven", "run", "--vtn", url, "--party", p.name, "--personality", p.personality,
                    "--capacity-kw", str(p.capacity_kw), "--strategy", p.strategy, "--seed", str(p.seed),
                    "--intervals", str(args.intervals), "--start", start.isoformat(),
                    "--sim-start", SIM_START.isoformat(),  # (the band: the grid prices the VTN publishes)
                    "--record", str(data / f"{p.name}.jsonl"), "--state-dir", str(data / "ven-state" / p.name)),
                stdout=log, stderr=subprocess.STDOUT))
        # the OpenADR 2.0b battery: registers with the same VTN's /OpenADR2/Simple/2.0b/, receives each cleared
        # interval's ELECTRICITY_PRICE event and charges or discharges by it (it runs until stopped)
        oadr_log = open(data / f"{OADR_VEN.name}.log", "wb")  # noqa: SIM115
        oadr = subprocess.Popen(
            cli("ven", "run", "--protocol", "openadr", "--vtn", url, "--party", OADR_VEN.name,
                "--personality", OADR_VEN.personality, "--capacity-kw", str(OADR_VEN.capacity_kw),
                "--poll-seconds", str(max(0.2, args.interval_seconds / 2)),
                "--state-dir", str(data / "ven-state" / OADR_VEN.name), "--record", str(oadr_records(data))),
            stdout=oadr_log, stderr=subprocess.STDOUT)
        vens = procs[1:]
        procs.append(oadr)
        limit = time.monotonic() + (args.intervals + lead + 10) * args.interval_seconds + 60
        last = -1
        while any(v.poll() is None for v in vens):
            if time.monotonic() > limit:
                raise RuntimeError("the VENs did not finish in time")
            time.sleep(0.5)
            done = min(count_lines(data / f"{p.name}.jsonl") for p in PARTIES)
            if done // 8 != last // 8:
                last = done
                print(f"  ... {done}/{args.intervals} intervals settled", flush=True)
        failed = [(p.name, v.returncode) for p, v in zip(PARTIES, vens, strict=True) if v.returncode != 0]
        if failed:
            raise RuntimeError(f"VENs failed: {failed}; see the logs in {data}")
        if args.keep:
            KEPT.append((procs[0], url))
            kept = True
    finally:
        for proc in reversed(procs):
            if not (kept and proc is procs[0]):
                stop_process(proc)


def dashboard_url(url: str, data: Path) -> str:
    """The VTN dashboard's sign-in link with the operator token (``DATA_DIR/operator.token``)."""
    token = (data / "vtn" / "operator.token").read_text().strip()
    return f"{url}/ui/login?token={token}"


def oadr_records(data: Path) -> Path:
    return data / f"{OADR_VEN.name}.jsonl"


def summarize_oadr(data: Path) -> None:
    """What the OpenADR battery did: the price events it received and the energy it moved (its meter's
    power readings integrated over market time)."""
    path = oadr_records(data)
    if not path.exists():
        return
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    prices = [r for r in records if r["kind"] == "event" and "ELECTRICITY_PRICE" in r["signals"]]
    readings = [(datetime.fromisoformat(r["market_time"]), r["power_w"]) for r in records if r["kind"] == "power"]
    charged = discharged = 0.0
    for (t0, w), (t1, _w) in itertools.pairwise(readings):
        kwh = w / 1000.0 * (t1 - t0).total_seconds() / 3600.0
        charged += max(kwh, 0.0)
        discharged += max(-kwh, 0.0)
    print(f"\nOpenADR 2.0b VEN {OADR_VEN.name} ({OADR_VEN.personality}, {OADR_VEN.capacity_kw:g} kW): "
          f"{len(prices)} ELECTRICITY_PRICE events received, {sum(r['opt'] == 'optIn' for r in prices)} followed; "
          f"charged {charged:.2f} kWh, discharged {discharged:.2f} kWh ({len(readings)} meter readings)")


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


# ---- the in-memory run ----------------------------------------------------------------------------------


async def run_memory(args: argparse.Namespace, data: Path) -> None:
    from transactive.ledger import EmbeddedLedger
    from transactive.market import ReservePrices
    from transactive.protocol import MarketClock
    from transactive.services import MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
    from transactive.transport import MemoryTransport
    from transactive.ven import VenClient, VenRuntime, create_personality, create_pricing
    from transactive.ven.runtime import TimeMap
    from transactive.vtn.app import DEFAULT_MARKET_CONTEXT
    from transactive.vtn.clock import GateScheduler, load_mapping

    (data / "vtn").mkdir(parents=True, exist_ok=True)
    from decimal import Decimal

    cfg = MarketConfig(market_context=DEFAULT_MARKET_CONTEXT, market_party_id="market", max_price=Decimal("10"))
    clock = MarketClock(load_mapping(data / "vtn", cfg, args.interval_seconds))
    store = SqliteStore(data / "vtn" / "vtn.db")
    stop = asyncio.Event()
    async with EmbeddedLedger(data / "vtn" / "ledger.db", now=clock) as ledger:
        service = VtnService(VtnCore(cfg, store, clock), settlement=Settlement(store, ledger, config=cfg, clock=clock))
        scheduler = asyncio.create_task(GateScheduler(service, cfg, clock).run(stop))
        transport = MemoryTransport(service)
        start = cfg.next_open_interval(clock()) + cfg.interval
        speed = cfg.interval.total_seconds() / args.interval_seconds
        band = ReservePrices(grid_buy=GRID_BUY, grid_sell=GRID_SELL)
        print(f"in-process VTN (market {cfg.market_context}, one interval per {args.interval_seconds:g} s); "
              f"{len(PARTIES)} VENs trade {args.intervals} intervals")
        runtimes = []
        files = []
        for p in PARTIES:
            fh = open(data / f"{p.name}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            files.append(fh)

            def record(rec: Any, fh: Any = fh) -> None:
                fh.write(json.dumps(rec.as_dict()) + "\n")
                fh.flush()

            personality = create_personality(p.personality, p.capacity_kw, seed=p.seed)
            pricing = create_pricing(p.strategy, seed=p.seed)
            runtimes.append(VenRuntime(VenClient(transport, p.name), personality, pricing, clock,
                                       market_context=cfg.market_context,
                                       time_map=TimeMap(start, cfg.interval, SIM_START, cfg.interval), log=None,
                                       record=record, speed=speed, band=band))
        try:
            await asyncio.gather(*(rt.run(intervals=args.intervals, first=start) for rt in runtimes))
        finally:
            for rt in runtimes:
                await rt.close()
            stop.set()
            await scheduler
            await transport.close()
            for fh in files:
                fh.close()
            store.close()


# ---- summary and plot -----------------------------------------------------------------------------------


def load_records(data: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for p in PARTIES:
        path = data / f"{p.name}.jsonl"
        out[p.name] = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return out


def summarize(records: dict[str, list[dict[str, Any]]], png: Path) -> None:
    per_interval: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    prices: dict[str, float] = {}
    soc: dict[str, float] = {}
    for recs in records.values():
        for r in recs:
            key = r["sim_start"]
            row = per_interval[key]
            row["local"] += r["sold_kwh"]
            row["import"] += r["grid_import_kwh"]
            row["export"] += r["grid_export_kwh"]
            if r["clearing_price"] is not None:
                prices[key] = r["clearing_price"]
            if r["state_of_charge"] is not None:
                soc[key] = r["state_of_charge"]
    keys = sorted(per_interval)
    local = sum(per_interval[k]["local"] for k in keys)
    imported = sum(per_interval[k]["import"] for k in keys)
    exported = sum(per_interval[k]["export"] for k in keys)
    cleared = [prices[k] for k in keys if k in prices]
    print()
    print(f"simulated day: {len(keys)} intervals, {len(cleared)} cleared locally")
    print(f"energy traded locally:      {local:8.2f} kWh")
    print(f"energy bought from the grid: {imported:8.2f} kWh  (at {GRID_BUY:.2f} USD/kWh)")
    print(f"energy sold to the grid:     {exported:8.2f} kWh  (at {GRID_SELL:.2f} USD/kWh)")
    if cleared:
        print(f"local clearing price:        min {min(cleared):.4f}  mean {sum(cleared) / len(cleared):.4f}  "
              f"max {max(cleared):.4f} USD/kWh")
    print()
    print(f"{'party':<8} {'kind':<8} {'strategy':<8} {'bought':>8} {'sold':>8} {'grid in':>8} {'grid out':>8} "
          f"{'bill USD':>9} {'grid only':>9}")
    for p in PARTIES:
        recs = records[p.name]
        bought = sum(r["bought_kwh"] for r in recs)
        sold = sum(r["sold_kwh"] for r in recs)
        gin = sum(r["grid_import_kwh"] for r in recs)
        gout = sum(r["grid_export_kwh"] for r in recs)
        bill = sum(r["bill"] for r in recs)
        # the bill without the local market: all metered energy with the grid
        alone = sum(r["metered_bought_kwh"] * GRID_BUY - r["metered_sold_kwh"] * GRID_SELL for r in recs)
        print(f"{p.name:<8} {p.personality:<8} {p.strategy:<8} {bought:8.2f} {sold:8.2f} {gin:8.2f} {gout:8.2f} "
              f"{bill:+9.2f} {alone:+9.2f}")
    print("(bill: positive pays; 'grid only' is the bill for the same metered energy without the local market)")
    plot(keys, per_interval, prices, soc, png)
    print(f"\nplot: {png}")


def plot(keys: list[str], rows: dict[str, dict[str, float]], prices: dict[str, float], soc: dict[str, float],
         png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = [datetime.fromisoformat(k).hour + datetime.fromisoformat(k).minute / 60 for k in keys]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ax1.axhline(GRID_BUY, color="tab:red", ls="--", label="grid retail (buy) price")
    ax1.axhline(GRID_SELL, color="tab:green", ls="--", label="grid export (sell) price")
    xs = [h for h, k in zip(hours, keys, strict=True) if k in prices]
    ax1.plot(xs, [prices[k] for k in keys if k in prices], "o-", ms=3, label="local clearing price")
    ax1.set_ylabel("USD/kWh")
    ax1.set_title("Local energy market: one simulated day (96 x 15 min)")
    ax1.legend(loc="upper left", fontsize=8)
    width = 0.25 if len(hours) > 1 and hours[1] - hours[0] <= 0.25 else 0.9
    ax2.bar(hours, [rows[k]["local"] for k in keys], width=width, label="traded locally", color="tab:blue")
    ax2.bar(hours, [rows[k]["import"] for k in keys], width=width, bottom=[rows[k]["local"] for k in keys],
            label="bought from the grid", color="tab:red", alpha=0.6)
    ax2.bar(hours, [-rows[k]["export"] for k in keys], width=width, label="sold to the grid", color="tab:green",
            alpha=0.6)
    ax2.set_ylabel("kWh per interval")
    ax2.set_xlabel("simulated hour of day")
    ax2.legend(loc="upper left", fontsize=8)
    if soc:
        ax3 = ax2.twinx()
        ax3.plot([h for h, k in zip(hours, keys, strict=True) if k in soc], [soc[k] * 100 for k in keys if k in soc],
                 color="black", lw=1, label="battery state of charge")
        ax3.set_ylabel("battery SoC %")
        ax3.set_ylim(0, 100)
        ax3.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


# ---- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=("http", "memory"), default="http")
    parser.add_argument("--intervals", type=int, default=96, help="market intervals to trade (96: one day)")
    parser.add_argument("--interval-seconds", type=float, default=1.0, help="wall seconds per market interval")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "local_market_demo.png")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directory (printed) and, over HTTP, the VTN and its dashboard serving "
                             "until Ctrl-C")
    args = parser.parse_args(argv)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    began = time.monotonic()
    data = Path(tempfile.mkdtemp(prefix="transactive-demo-"))
    try:
        if args.transport == "http":
            run_http(args, data)
        else:
            asyncio.run(run_memory(args, data))
        summarize(load_records(data), args.out)
        if args.transport == "http":
            summarize_oadr(data)
        print("\n$ transactive vtn report --data-dir DIR --json")
        report = subprocess.run(cli("vtn", "report", "--data-dir", str(data / "vtn"), "--json"),
                                capture_output=True, text=True, timeout=120)
        print(report.stdout.strip() or report.stderr.strip())
        print(f"\nwall time: {time.monotonic() - began:.1f} s")
        if KEPT:
            vtn, url = KEPT[0]
            print(f"\nthe market stays open (--keep): dashboard {dashboard_url(url, data)}\nCtrl-C stops the VTN",
                  flush=True)
            try:
                vtn.wait()
            except KeyboardInterrupt:
                print("VTN stopped")
        return 0 if report.returncode == 0 else 1
    except KeyboardInterrupt:
        print("\ninterrupted: everything stopped", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"local_market_demo: {error}", file=sys.stderr)
        return 1
    finally:
        for proc, _url in KEPT:
            stop_process(proc)
        if args.keep:
            print(f"data kept in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
