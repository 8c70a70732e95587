"""EVM ledger benchmark: anchors/s through transactive.ledger.evm.EvmLedger against a real anvil process.

    python bench/evm_bench.py [--anchors 500] [--batch 100] [--rounds 5] [--json [PATH]]

anvil (npm @foundry-rs/anvil, installed by interop/anvil/install.sh) is started on a free port of 127.0.0.1,
holding no account (every transaction is signed here with a key the bench makes and funds), for each round
(a fresh chain: anvil's cost per mined block grows over the first ~1,000 blocks, roughly 1 ms -> 3 ms here,
so rounds on one long-lived node would not be comparable) and stopped after it.
Each round anchors ``--anchors`` fresh transaction records (the shape of a matched 15-minute trade; ~350 bytes
of transaction data each) and is timed from the first send to the last receipt, in three modes:

  * ``sequential``: ``await ledger.anchor(record)`` one after the other (anvil automines each transaction into
    its own block; every call waits for its receipt);
  * ``batched``: ``await ledger.anchor_many(chunk)`` for chunks of ``--batch`` records (the chunk's signed
    transactions sent back to back with eth_sendRawTransaction and consecutive nonces, then one JSON-RPC batch
    of receipt reads; still automining, so anvil mines blocks as the transactions arrive);
  * ``batched_one_block``: the same on anvil started with ``--no-mining``, the ledger calling
    ``evm_mine`` after each batch, so a batch lands in one block;
  * ``batch_requests_one_block``: the same, but each chunk's eth_sendRawTransaction calls go as one JSON-RPC
    batch request (``EvmLedger(send_batches=True)``; safe here because nothing is mined while they arrive -- with
    automining, anvil 1.7.1 leaves some of a batch queued forever, see EvmLedger).

Signing costs CPU in this process: the bench also times ``EvmKey.sign`` alone on anchor-shaped transactions
(``signing``: microseconds per transaction, and which secp256k1 backend eth-keys used).

The report gives each mode's median anchors/s over the rounds, the machine, anvil's version and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

from tests.ledger.anvil_process import AnvilProcess, find_anvil  # noqa: E402
from transactive.ledger import Receipt, TransactionRecord  # noqa: E402
from transactive.ledger.evm import MAGIC, EvmKey, EvmLedger, encode_entry  # noqa: E402
from transactive.ledger.records import EntryKind  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / "results" / "evm.json"


def machine() -> dict[str, Any]:
    return machine_info()


def records(n: int, tag: str) -> list[TransactionRecord]:
    start = datetime(2026, 11, 21, 12, tzinfo=UTC)
    out = []
    for i in range(n):
        tid = f"bench-{tag}-{i:06d}"
        out.append(TransactionRecord(
            transaction_id=tid, document_hash=hashlib.sha256(tid.encode()).hexdigest(), seller=f"pv-{i % 97}",
            buyer=f"house-{i % 89}", quantity_kwh=Decimal("2.5") + Decimal(i % 10) / 10, price=Decimal("0.1234"),
            currency="USD", interval_start=start + timedelta(minutes=15 * (i % 96)),
            interval_duration=timedelta(minutes=15)))
    return out


def data_bytes(record: TransactionRecord) -> int:
    return len(MAGIC + encode_entry(EntryKind.ANCHOR, record.transaction_id, record.as_dict()))


async def sequential(ledger: EvmLedger, recs: list[TransactionRecord]) -> list[Receipt]:
    return [await ledger.anchor(r) for r in recs]


def batched(size: int) -> Callable[[EvmLedger, list[TransactionRecord]], Awaitable[list[Receipt]]]:
    async def run(ledger: EvmLedger, recs: list[TransactionRecord]) -> list[Receipt]:
        out: list[Receipt] = []
        for start in range(0, len(recs), size):
            out.extend(await ledger.anchor_many(recs[start:start + size]))
        return out
    return run


async def one_round(node: AnvilProcess, run: Callable[[EvmLedger, list[TransactionRecord]],
                    Awaitable[list[Receipt]]], recs: list[TransactionRecord], **options: Any) -> dict[str, Any]:
    ledger = EvmLedger(node.url, signer=node.funded_key(), **options)
    try:
        await ledger.anchor_many(records(20, "warmup"))  # HTTP session, nonce, first blocks
        started = time.perf_counter()
        receipts = await run(ledger, recs)
        seconds = time.perf_counter() - started
        assert len(receipts) == len(recs)
        step = max(1, len(recs) // 10)
        verified = all([await ledger.verify(rec, rc) for rec, rc in zip(recs[::step], receipts[::step], strict=True)])
        return {"seconds": seconds, "anchors_per_s": len(recs) / seconds,
                "blocks": len({rc.sequence for rc in receipts}), "sample_verified": verified,
                "data_bytes_per_anchor": statistics.mean(data_bytes(rec) for rec in recs)}
    finally:
        await ledger.close()


def run_mode(mode: str, run: Callable[[EvmLedger, list[TransactionRecord]], Awaitable[list[Receipt]]], n: int,
             rounds: int, *, node_args: tuple[str, ...] = (), **options: Any) -> list[dict[str, Any]]:
    """``rounds`` timed runs, each on a fresh anvil (anvil's cost per block grows with the chain over the first
    ~1,000 blocks, so rounds on one long-running node would not be comparable)."""
    results = []
    for r in range(rounds):
        with AnvilProcess.start(*node_args) as node:
            result = asyncio.run(one_round(node, run, records(n, f"{mode}-{r}"), **options))
        results.append(result)
        print(f"  {mode:24s} round {r + 1}: {result['anchors_per_s']:>9,.0f} anchors/s  ({result['seconds']:.3f} s, "
              f"{result['blocks']} blocks, sample verified: {result['sample_verified']})")
    return results


def signing(n: int = 2000) -> dict[str, Any]:
    """CPU time of signing alone: ``n`` anchor-shaped EIP-1559 transactions (best of 3)."""
    from eth_keys.backends import get_backend

    key = EvmKey.generate()
    recs = records(n, "sign")
    txs = [{"to": bytes(20), "value": 0, "data": MAGIC + encode_entry(EntryKind.ANCHOR, r.transaction_id, r.as_dict()),
            "gas": 40_000, "nonce": i, "chainId": 31337, "type": 2, "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9} for i, r in enumerate(recs)]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for tx in txs:
            key.sign(tx)
        best = min(best, time.perf_counter() - started)
    return {"transactions": n, "us_per_tx": best / n * 1e6, "backend": type(get_backend()).__name__}


def anvil_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchors", type=int, default=500, help="anchors per round (default 500)")
    parser.add_argument("--batch", type=int, default=100, help="records per anchor_many call (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per mode; the median is reported")
    parser.add_argument("--json", type=Path, nargs="?", const=DEFAULT_JSON, default=None,
                        help=f"write the raw results (default path {DEFAULT_JSON.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    command = " ".join(["python", "bench/evm_bench.py", *(sys.argv[1:] if argv is None else argv)])
    info = machine()
    binary = find_anvil()
    version = anvil_version(binary)
    print(f"command: {command}")
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['implementation']} {info['python']}, "
          f"{info['platform']}")
    print(f"node: {version} ({binary}), 127.0.0.1, JSON-RPC over HTTP; {args.anchors} anchors per round, "
          f"batches of {args.batch}")

    signed = signing()
    print(f"signing alone: {signed['us_per_tx']:.0f} us per transaction ({signed['backend']})")
    modes: dict[str, list[dict[str, Any]]] = {}
    modes["sequential"] = run_mode("sequential", sequential, args.anchors, args.rounds)
    modes["batched"] = run_mode("batched", batched(args.batch), args.anchors, args.rounds)
    modes["batched_one_block"] = run_mode("batched_one_block", batched(args.batch), args.anchors, args.rounds,
                                          node_args=("--no-mining",), mine=True)
    modes["batch_requests_one_block"] = run_mode("batch_requests_one_block", batched(args.batch), args.anchors,
                                                 args.rounds, node_args=("--no-mining",), mine=True,
                                                 send_batches=True)

    medians = {mode: statistics.median(r["anchors_per_s"] for r in rounds) for mode, rounds in modes.items()}
    for mode, median in medians.items():
        rates = [r["anchors_per_s"] for r in modes[mode]]
        print(f"median {mode:24s}: {median:>9,.0f} anchors/s over {args.rounds} rounds "
              f"(min {min(rates):,.0f}, max {max(rates):,.0f})")
    print("vs sequential: " + ", ".join(f"{mode} {median / medians['sequential']:.1f}x"
                                        for mode, median in medians.items() if mode != "sequential"))

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": command, "machine": info, "node": {"anvil": version, "host": "127.0.0.1"},
            "setup": {"anchors_per_round": args.anchors, "batch": args.batch, "rounds": args.rounds},
            "modes": modes, "median_anchors_per_s": medians, "signing": signed,
        }, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
