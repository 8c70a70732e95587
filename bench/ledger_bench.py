"""Embedded ledger benchmark: durable signed entries/s (with and without group commit), verification of 1M.

    python bench/ledger_bench.py [--rounds 3] [--entries 50000] [--verify-entries 1000000] [--cli] [--json]

* append, group commit: ``EmbeddedLedger.anchor`` from 1024 concurrent callers (asyncio), every entry
  hashed, chained, Ed25519-signed and durable (SQLite WAL, synchronous=FULL: fsync per commit) before its
  call returns; ``--entries`` entries into a fresh file, median of ``--rounds``. Also the synchronous batch
  API (``LedgerStore.append_many``, 4096 per commit) without the asyncio facade.
* append, no group commit: one caller, so one commit (one fsync) per entry; the ratio shows what group
  commit buys.
* verify: a ``--verify-entries`` ledger generated once in a temporary directory (append_many, 10,000 per
  commit; its generation rate is reported too), then ``verify_file`` over the whole chain (every sequence,
  link, hash and signature, then the signed head) with the default 2 worker processes, and with 1 on the
  first 100,000 entries' worth of ledger for the per-core rate. ``--cli`` also times
  ``transactive ledger verify FILE --json`` in a fresh process.

``--json`` writes bench/results/ledger.json. The machine is shared and noisy: figures vary by ~10-20 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cryptography  # noqa: E402
from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

from transactive.cli.ledger import bench_record  # noqa: E402
from transactive.ledger.embedded import EmbeddedLedger, LedgerStore, NewEntry, verify_file  # noqa: E402
from transactive.ledger.records import EntryKind  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ledger.json"


def machine() -> dict[str, Any]:
    import sqlite3

    return machine_info(sqlite=sqlite3.sqlite_version, cryptography=cryptography.__version__)


async def _append_async(path: Path, n: int, concurrency: int) -> tuple[float, int]:
    ledger = EmbeddedLedger(path)
    records = [bench_record("b", i) for i in range(n)]

    async def caller(k: int) -> None:
        for i in range(k, n, concurrency):
            await ledger.anchor(records[i])

    started = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(min(n, concurrency))))
    seconds = time.perf_counter() - started
    batches = ledger.batches
    await ledger.close()
    return seconds, batches


def append_async(n: int, concurrency: int, rounds: int) -> dict[str, Any]:
    times, batches = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, b = asyncio.run(_append_async(Path(tmp) / "a.ledger", n, concurrency))
        times.append(seconds)
        batches.append(b)
    median = statistics.median(times)
    return {"entries": n, "concurrency": concurrency, "rounds": rounds, "median_s": median,
            "entries_per_s": n / median, "all_s": times, "commits": batches}


def _append_sync(path: Path, n: int, batch: int, run: str = "s") -> float:
    store = LedgerStore(path)
    try:
        started = time.perf_counter()
        for start in range(0, n, batch):
            store.append_many([NewEntry(EntryKind.ANCHOR, r.transaction_id, r.as_dict())
                               for r in (bench_record(run, i) for i in range(start, min(n, start + batch)))])
        return time.perf_counter() - started
    finally:
        store.close()


def append_sync(n: int, batch: int, rounds: int) -> dict[str, Any]:
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(_append_sync(Path(tmp) / "s.ledger", n, batch))
    median = statistics.median(times)
    return {"entries": n, "batch": batch, "rounds": rounds, "median_s": median, "entries_per_s": n / median,
            "all_s": times}


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("transactive")
    if script.exists():
        return [str(script)]
    found = shutil.which("transactive")
    return [found] if found else [sys.executable, "-m", "transactive.cli"]


def bench_verify(n: int, cli: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"entries": n}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verify.ledger"
        print(f"  generating a {n:,}-entry ledger ...", flush=True)
        seconds = _append_sync(path, n, 10_000, "v")
        out["generate_s"] = seconds
        out["generate_entries_per_s"] = n / seconds
        out["file_bytes"] = path.stat().st_size
        print(f"  generated in {seconds:.1f} s ({n / seconds:,.0f} entries/s, {out['file_bytes'] / 1e6:.0f} MB)")
        report = verify_file(path, progress=_progress("verify", n))
        assert report.valid, report
        out["workers"] = min(2, os.cpu_count() or 1)
        out["verify_s"] = report.seconds
        out["verify_entries_per_s"] = n / report.seconds
        print(f"  verify {n:,} entries, {out['workers']} workers: {report.seconds:.1f} s "
              f"({n / report.seconds:,.0f} entries/s)", flush=True)
        small = min(n, 100_000)
        small_path = Path(tmp) / "small.ledger"
        _append_sync(small_path, small, 10_000, "w")
        one = verify_file(small_path, workers=1)
        out["one_worker"] = {"entries": small, "seconds": one.seconds, "entries_per_s": small / one.seconds}
        print(f"  verify {small:,} entries, 1 worker: {one.seconds:.1f} s ({small / one.seconds:,.0f} entries/s)")
        if cli:
            started = time.perf_counter()
            result = subprocess.run([*cli_command(), "ledger", "verify", str(path), "--json"], capture_output=True,
                                    text=True, check=False)
            elapsed = time.perf_counter() - started
            assert result.returncode == 0, result.stderr
            out["cli_verify_s"] = elapsed
            print(f"  transactive ledger verify (fresh process): {elapsed:.1f} s")
    return out


def _progress(label: str, total: int) -> Any:
    state = {"last": time.perf_counter()}

    def report(done: int, _total: int) -> None:
        now = time.perf_counter()
        if now - state["last"] >= 10:
            state["last"] = now
            print(f"    {label}: {done:,} / {total:,}", flush=True)

    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--entries", type=int, default=50_000, help="entries per group-commit round")
    parser.add_argument("--single-entries", type=int, default=2_000, help="entries per no-group-commit round")
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    parser.add_argument("--cli", action="store_true", help="also time 'transactive ledger verify' on the big file")
    parser.add_argument("--json", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, SQLite {info['sqlite']}, "
          f"cryptography {info['cryptography']}")
    grouped = append_async(args.entries, 1024, args.rounds)
    print(f"  append, group commit (async, 1024 callers): {grouped['entries_per_s']:,.0f} entries/s "
          f"(median of {args.rounds}, {statistics.median(grouped['commits']):.0f} commits for {args.entries:,})")
    batch = append_sync(args.entries, 4096, args.rounds)
    print(f"  append, append_many 4096/commit (sync): {batch['entries_per_s']:,.0f} entries/s")
    single = append_async(args.single_entries, 1, args.rounds)
    print(f"  append, no group commit (1 caller, 1 fsync per entry): {single['entries_per_s']:,.0f} entries/s")
    ratio = grouped["entries_per_s"] / single["entries_per_s"]
    print(f"  group commit speed-up: x{ratio:.1f}")
    verify = bench_verify(args.verify_entries, args.cli)
    results = {"machine": info, "append_group_commit": grouped, "append_many": batch,
               "append_no_group_commit": single, "group_commit_speedup": ratio, "verify": verify}
    if args.json:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
