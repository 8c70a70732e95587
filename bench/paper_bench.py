"""The IOTA paper reproduction's speed: the whole table, and the batched engine against one auction at a time.

    python bench/paper_bench.py [--repeats 5] [--reference-seeds 1] [--json]

* table: ``simulate(week, Setup())`` on the shipped week: 5 scenarios x 5 mechanism seeds x 672 rounds, the
  microgrids' own auctions computed once per seed and shared by the scenarios (common random numbers), plus
  the summary table; in-process, median of ``--repeats``. Also ``transactive simulate paper-iota --data
  WEEK --json`` end to end in a fresh process (start-up, imports, reading the CSV, the table, printing).
* reference: the same mechanism one auction at a time, the way the general API composes it
  (:func:`transactive.market.strategies.run_rounds` as the clearer of
  :func:`transactive.market.hierarchy.clear_hierarchy`, one call per round and scenario, the internal
  auctions recomputed in every scenario), for ``--reference-seeds`` seeds; its time per seed is scaled to
  the table's five seeds; both are measured in the same process and run.

``--json`` writes bench/results/paper.json. The machine is shared and noisy: figures vary by ~10 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

from transactive.market import ClearingResult, Orders, ReservePrices  # noqa: E402
from transactive.market.hierarchy import MarketNode, clear_hierarchy  # noqa: E402
from transactive.market.strategies import AAParams, grid_limits, run_rounds  # noqa: E402
from transactive.simulate.paper_iota import SCENARIOS, Setup, simulate  # noqa: E402
from transactive.simulate.week import Week, read_week  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "paper.json"
WEEK = ROOT / "transactive" / "simulate" / "paper_iota_week.csv"
BAND = ReservePrices.paper()


def reference(week: Week, seed: int) -> tuple[float, int]:
    """One seed, five scenarios, one auction at a time; returns (seconds, auctions run)."""
    params = AAParams.paper()
    net = (week.load - week.pv) / 1000.0
    auctions = 0

    def clearer(orders: Orders, name: str) -> ClearingResult:
        nonlocal auctions
        auctions += 1
        return run_rounds(orders, band=BAND, rng=rng, params=params, matching="full-overlap").result

    started = time.perf_counter()
    for k, group in enumerate(SCENARIOS.values()):
        rng = np.random.default_rng([seed, k])
        for t in range(week.rounds):
            nodes = {}
            for m in range(3):
                q = net[m, :, t]
                keep = np.abs(q) > 0
                orders = grid_limits(q[keep] > 0, np.abs(q[keep]), BAND) if keep.any() else None
                nodes[m] = MarketNode(f"MG{m + 1}", orders)
            roots = [MarketNode("peers", None, [nodes[m] for m in group])] if group else []
            roots += [nodes[m] for m in range(3) if m not in group]
            for root in roots:
                clear_hierarchy(root, reserve=BAND, clearer=clearer)
    return time.perf_counter() - started, auctions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs of the table to take the median of (default 5)")
    parser.add_argument("--reference-seeds", type=int, default=1, help="seeds of the one-at-a-time path (default 1)")
    parser.add_argument("--json", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    week = read_week(WEEK)
    simulate(week, Setup(seeds=1))  # warm up numpy's code paths
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = simulate(week, Setup())
        result.table()
        times.append(time.perf_counter() - started)
    table = statistics.median(times)
    batched_auctions = result.auctions
    print(f"table (5 scenarios x 5 seeds x {week.rounds} rounds, {batched_auctions} auctions): "
          f"median {table:.3f} s of {args.repeats} (min {min(times):.3f}, max {max(times):.3f})")
    cli_times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "transactive.cli", "simulate", "paper-iota", "--data", str(WEEK),
                        "--json"], check=True, capture_output=True)
        cli_times.append(time.perf_counter() - started)
    cli = statistics.median(cli_times)
    print(f"transactive simulate paper-iota --json, process start to exit: median {cli:.3f} s")
    ref_seconds, ref_auctions = 0.0, 0
    for seed in range(args.reference_seeds):
        s, n = reference(week, seed)
        ref_seconds += s
        ref_auctions += n
    scaled = ref_seconds / args.reference_seeds * 5
    print(f"one auction at a time: {args.reference_seeds} seed(s), {ref_auctions} AA auctions run, "
          f"{ref_seconds:.2f} s; the table that way: about {scaled:.1f} s")
    print(f"batched with common random numbers: {scaled / table:.0f}x faster for the table")
    if args.json:
        out: dict[str, Any] = {
            "machine": machine_info(numpy=np.__version__),
            "table_seconds_median": table,
            "table_seconds": times,
            "table_auctions": batched_auctions,
            "cli_seconds_median": cli,
            "reference_seconds": ref_seconds,
            "reference_auctions": ref_auctions,
            "reference_table_seconds_estimate": scaled,
            "speedup_table": scaled / table,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
