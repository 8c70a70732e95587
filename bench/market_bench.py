"""Market benchmark: periodic double auction clearing time, and ``transactive market clear`` end to end.

    python bench/market_bench.py [--rounds 5] [--sizes 1000,10000,100000,1000000] [--no-cli] [--json]

* clearing: ``transactive.market.clear`` on n random orders (half bids, half offers, prices uniform in
  3.2-18.9 p/kWh, quantities 0.1-10 kWh; the books cross in the middle, so about half the orders trade).
  The time covers the whole call: sorting both sides, the crossing point, the per-order fills and trade
  prices (``ClearingResult.fills``/``prices``), for the uniform and the pay-as-bid mechanisms and the
  pro-rata tie rule; median of ``--rounds``.
* CLI: a generated 1M-row ``side,price,quantity`` CSV (17 MB), ``transactive market clear FILE --json`` in a
  fresh process each round (process start to exit: interpreter start-up, imports, reading and checking
  every row, clearing, printing), median of ``--rounds``; also with ``--fills OUT.csv``.

``--json`` writes bench/results/market.json. The machine is shared and noisy: figures vary by ~10 %.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

from transactive.market import Orders, clear  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "market.json"


def random_orders(n: int, seed: int = 7) -> Orders:
    rng = np.random.default_rng(seed)
    return Orders.from_columns(
        is_buy=rng.random(n) < 0.5,
        price=np.round(rng.uniform(0.032, 0.189, n), 4),
        quantity=np.round(rng.uniform(0.1, 10.0, n), 3),
    )


def write_csv(path: Path, n: int, seed: int = 7) -> None:
    o = random_orders(n, seed)
    side = np.where(o.is_buy, "buy", "sell")
    with path.open("w") as out:
        out.write("side,price,quantity\n")
        for start in range(0, n, 100_000):
            stop = min(n, start + 100_000)
            out.write(
                "".join(
                    f"{s},{p!r},{q!r}\n"
                    for s, p, q in zip(
                        side[start:stop].tolist(), o.price[start:stop].tolist(), o.quantity[start:stop].tolist(),
                        strict=True,
                    )
                )
            )


def median_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = machine_info(numpy=np.__version__)
    try:
        import pyarrow  # type: ignore[import-untyped, unused-ignore]

        info["pyarrow"] = pyarrow.__version__
    except ImportError:
        info["pyarrow"] = None
    return info


def bench_clearing(sizes: list[int], rounds: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        orders = random_orders(n)
        clear(orders)  # warm up
        row: dict[str, Any] = {"orders": n}
        for label, options in (
            ("uniform_s", {}),
            ("pay_as_bid_s", {"mechanism": "pay-as-bid"}),
            ("pro_rata_s", {"tie_rule": "pro-rata"}),
        ):
            row[label] = median_time(lambda o=options, b=orders: clear(b, **o), rounds)  # type: ignore[misc]
        result = clear(orders)
        row["matched_orders"] = result.matched_orders
        row["orders_per_s"] = n / row["uniform_s"]
        rows.append(row)
        print(
            f"  clear {n:>9,} orders: uniform {row['uniform_s'] * 1e3:8.2f} ms   pay-as-bid "
            f"{row['pay_as_bid_s'] * 1e3:8.2f} ms   pro-rata {row['pro_rata_s'] * 1e3:8.2f} ms   "
            f"({result.matched_orders:,} matched, {row['orders_per_s'] / 1e6:.1f} M orders/s)"
        )
    return rows


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("transactive")
    if script.exists():
        return [str(script)]
    found = shutil.which("transactive")
    return [found] if found else [sys.executable, "-m", "transactive.cli"]


def bench_cli(n: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        write_csv(path, n)
        fills = Path(tmp) / "fills.csv"
        out: dict[str, Any] = {"rows": n, "file_bytes": path.stat().st_size}
        for label, extra in (("clear_json_s", []), ("clear_json_fills_s", ["--fills", str(fills)])):
            argv = [*cli_command(), "market", "clear", str(path), "--json", *extra]
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                done = subprocess.run(argv, capture_output=True, check=False)
                times.append(time.perf_counter() - t)
                if done.returncode != 0:
                    raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
            out[label] = statistics.median(times)
            out[label.replace("_s", "_command")] = " ".join(["transactive", *argv[len(cli_command()) :]]).replace(
                tmp, "$TMP"
            )
            shown = out[label.replace("_s", "_command")]
            print(f"  {shown}: {out[label]:.3f} s (median of {rounds}, process start to exit)")
        startup = [*cli_command(), "--version"]
        out["startup_s"] = statistics.median(
            [median_time(lambda: subprocess.run(startup, capture_output=True, check=True), 1) for _ in range(rounds)]
        )
        print(f"  transactive --version (interpreter start-up + CLI imports): {out['startup_s']:.3f} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds to take the median over (default 5)")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000", help="order counts to clear")
    parser.add_argument("--cli-rows", type=int, default=1_000_000, help="rows of the CSV for the CLI run")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    parser.add_argument("--json", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    info = machine()
    command = " ".join(["python", "bench/market_bench.py", *sys.argv[1:]])
    print(f"$ {command}")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"clearing (median of {args.rounds}, per-order fills and trade prices included):")
    clearing = bench_clearing(sizes, args.rounds)
    cli = None
    if not args.no_cli:
        print(f"command line, {args.cli_rows:,}-row CSV:")
        cli = bench_cli(args.cli_rows, args.rounds)
    if args.json:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        payload = {"command": command, "machine": info, "rounds": args.rounds, "clearing": clearing, "cli": cli}
        RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
