"""Continuous double auction benchmark: orders/s through transactive.market.cda.OrderBook.

    python bench/cda_bench.py [--orders 200000] [--rounds 5] [--cancel 0.10] [--seed 1] [--json [PATH]]

The flow (generated before timing, the same for every round, from ``--seed``):
  * ``--orders`` limit orders, half buys and half sells, 0.1-10 kWh each (uniform);
  * a mid price that random-walks around 0.12 $/kWh (steps of 0.0001 $/kWh); a buy's limit is
    mid - 0.002 + N(0, 0.004), a sell's mid + 0.002 + N(0, 0.004), on a tick of 0.0001 $/kWh (so a bit under
    half of the orders trade on arrival, the rest rest in a book of a few hundred price levels);
  * arrival times 10 ms apart on average (exponential gaps); 20% of the orders expire 30-900 s after arrival;
  * after an order, with probability ``--cancel`` (10%), a cancel of one of the 200 latest orders, picked at
    random (resting or not: a client's cancels race with fills); every 1,000 orders an ``expire(now)`` call.

Each round builds a fresh book and times the whole flow (submits, cancels, expire calls); orders/s is submitted
orders divided by that time. The report gives the median over rounds, the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

from transactive.market.cda import OrderBook, Side  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / "results" / "cda.json"
TICK = 0.0001

Step = tuple[Any, ...]


def make_flow(orders: int, cancel: float, seed: int) -> list[Step]:
    rng = random.Random(seed)
    flow: list[Step] = []
    ids: list[str] = []
    mid = 0.12
    now = 0.0
    for i in range(orders):
        mid = min(max(mid + rng.choice((-TICK, 0.0, TICK)), 0.05), 0.30)
        now += rng.expovariate(100.0)
        buy = rng.random() < 0.5
        limit = mid + (-0.002 if buy else 0.002) + rng.gauss(0.0, 0.004)
        price = round(max(limit, 0.0) / TICK) * TICK
        quantity = rng.uniform(0.1, 10.0)
        expires_at = now + rng.uniform(30.0, 900.0) if rng.random() < 0.2 else None
        oid = f"o{i}"
        ids.append(oid)
        flow.append(("s", oid, Side.BUY if buy else Side.SELL, price, quantity, now, expires_at))
        if rng.random() < cancel:
            flow.append(("c", ids[rng.randrange(max(0, len(ids) - 200), len(ids))]))
        if i % 1000 == 999:
            flow.append(("e", now))
    return flow


def run_once(flow: list[Step]) -> dict[str, float]:
    book = OrderBook(tick=TICK)
    submit, cancel, expire = book.submit, book.cancel, book.expire
    trades = cancelled = expired = submitted = 0
    t0 = time.perf_counter()
    for step in flow:
        kind = step[0]
        if kind == "s":
            _, oid, side, price, quantity, now, expires_at = step
            trades += len(submit(oid, side, price, quantity, time=now, expires_at=expires_at))
            submitted += 1
        elif kind == "c":
            cancelled += cancel(step[1])
        else:
            expired += len(expire(step[1]))
    elapsed = time.perf_counter() - t0
    return {
        "seconds": elapsed,
        "orders_per_s": submitted / elapsed,
        "operations_per_s": len(flow) / elapsed,
        "trades": trades,
        "cancelled": cancelled,
        "expired": expired,
        "resting_at_end": len(book),
        "bid_levels_at_end": len(book.depth(Side.BUY, 1_000_000)),
        "ask_levels_at_end": len(book.depth(Side.SELL, 1_000_000)),
    }


def machine() -> dict[str, Any]:
    return machine_info()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000, help="limit orders in the flow (default 200000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs; the median is reported (default 5)")
    parser.add_argument("--cancel", type=float, default=0.10, help="cancels per order (default 0.10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, nargs="?", const=DEFAULT_JSON, default=None,
                        help=f"write the raw results (default path {DEFAULT_JSON.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    command = " ".join(["python", "bench/cda_bench.py", *(sys.argv[1:] if argv is None else argv)])
    info = machine()
    print(f"command: {command}")
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['implementation']} {info['python']}, "
          f"{info['platform']}")
    flow = make_flow(args.orders, args.cancel, args.seed)
    n_cancels = sum(1 for s in flow if s[0] == "c")
    print(f"flow: {args.orders} orders, {n_cancels} cancels, {sum(1 for s in flow if s[0] == 'e')} expire calls, "
          f"tick {TICK}, seed {args.seed}")

    rounds = []
    for r in range(args.rounds):
        result = run_once(flow)
        rounds.append(result)
        print(f"  round {r + 1}: {result['orders_per_s']:>10,.0f} orders/s  ({result['seconds']:.3f} s; "
              f"{result['trades']} trades, {result['cancelled']} cancelled, {result['expired']} expired, "
              f"{result['resting_at_end']} resting in {result['bid_levels_at_end']}+{result['ask_levels_at_end']} "
              f"levels)")
    median = statistics.median(r["orders_per_s"] for r in rounds)
    median_ops = statistics.median(r["operations_per_s"] for r in rounds)
    print(f"median: {median:,.0f} orders/s ({median_ops:,.0f} operations/s incl. cancels and expire calls) "
          f"over {args.rounds} rounds; min {min(r['orders_per_s'] for r in rounds):,.0f}, "
          f"max {max(r['orders_per_s'] for r in rounds):,.0f}")

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": command, "machine": info,
            "flow": {"orders": args.orders, "cancels": n_cancels, "cancel_rate": args.cancel, "seed": args.seed,
                     "tick": TICK},
            "rounds": rounds, "median_orders_per_s": median, "median_operations_per_s": median_ops,
        }, indent=2) + "\n")
        shown = args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json
        print(f"raw results: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
