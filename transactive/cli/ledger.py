"""``transactive ledger``: the embedded settlement ledger (bench, verify, audit)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from transactive.cli._io import usage

__all__ = ["add_parser", "run"]

_EPILOG = """\
commands:
  bench       append N signed transaction entries to a ledger file and report entries/s
  verify      walk a ledger file's hash chain and check every hash and signature
  audit       the settlement history of one transaction

The embedded ledger is an SQLite file: append-only, every entry hash-chained to the previous one and
signed with the writer's Ed25519 key (kept in FILE.key beside it, mode 0600, created when missing).

examples:
  transactive ledger bench --entries 100000 --path /tmp/bench.ledger
  transactive ledger verify settlement.ledger --json
  transactive ledger audit settlement.ledger tx-2025-0001

exit codes: 0 success, 1 tampered ledger / unknown transaction, 2 usage error or FILE is not a ledger.
"""

_BENCH_EPILOG = """\
Appends N anchor entries (synthetic transaction records) through the async ledger with group commit:
CONCURRENCY callers at once, every entry durable (fsync'ed, SQLite WAL, synchronous=FULL) before its call
returns. FILE is created if missing (its key as FILE.key); an existing ledger is appended to. Progress goes
to standard error on long runs.

output: entries/s; --json prints {"entries": N, "seconds": float, "entries_per_s": float}.

examples:
  transactive ledger bench --entries 100000 --path /tmp/bench.ledger
  transactive ledger bench --entries 20000 --path /tmp/b.ledger --json
  transactive ledger bench --entries 20000 --path /tmp/b.ledger --concurrency 1    no group commit

exit codes: 0 success, 1 a write failed, 2 usage error or FILE is not a ledger (or another writer has it),
130 interrupted (Ctrl-C: one line; the entries appended so far stay on the ledger).
"""

_VERIFY_EPILOG = """\
Checks every entry in order: no sequence gap, the link to the previous entry's hash, the hash of its
contents, its Ed25519 signature; then the signed head (so entries removed from the end are found too).
The first bad entry is named: altered, removed, reordered, inserted or wrongly signed, or a row that cannot
be an entry (text that is not UTF-8, a hash or signature that is not bytes), or where the file is damaged.
By default the writer's public key stored in FILE is trusted; --public-key pins the expected one. Large
files are checked by worker processes in parallel; progress goes to standard error.

output: a line; --json prints {"valid": bool, "entries": int, "first_bad": int|null, "reason": str|null}.

examples:
  transactive ledger verify settlement.ledger
  transactive ledger verify settlement.ledger --json
  transactive ledger verify settlement.ledger --public-key settlement.ledger.key

exit codes: 0 the whole chain verifies, 1 an entry was altered, removed, reordered or inserted (the
first bad one is named), 2 usage error or FILE is not a ledger (missing, not SQLite, no ledger table).
"""

_AUDIT_EPILOG = """\
Prints every ledger entry about TRANSACTION_ID in ledger order (sequence, time, kind, the key data) and
the settlement status derived from them through the workflow's transition table (agreed, anchored,
seller_metered, buyer_metered, metered, payment_requested, paid, disputed). Entries are read as stored:
run 'transactive ledger verify FILE' to check the chain. A row of the transaction that cannot be read (text
that is not UTF-8) is named with its sequence number (exit 1).

examples:
  transactive ledger audit settlement.ledger tx-2025-0001
  transactive ledger audit settlement.ledger tx-2025-0001 --json

exit codes: 0 success, 1 the transaction is not on the ledger or a row of it cannot be read, 2 usage error
or FILE is not a ledger.
"""

_PROGRESS_MIN = 100_000


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "ledger",
        help="the embedded settlement ledger: bench, verify, audit",
        description="The embedded settlement ledger: a hash-chained, signed, append-only SQLite file.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="ledger_command", metavar="COMMAND")

    b = group.add_parser(
        "bench",
        help="append N signed entries to a ledger file and report entries/s",
        description="Append N signed transaction entries (group commit) and report durable entries/s.",
        epilog=_BENCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--entries", type=_positive, required=True, metavar="N", help="how many entries to append")
    b.add_argument("--path", required=True, metavar="FILE", help="the ledger file (created if missing)")
    b.add_argument("--concurrency", type=_positive, default=1024, metavar="C",
                   help="callers appending at once (default 1024; 1 = one commit per entry)")
    b.add_argument("--batch", type=_positive, default=4096, metavar="B",
                   help="largest group commit (default 4096)")
    b.add_argument("--json", action="store_true", help="print JSON instead of text")
    b.set_defaults(run=run_bench)

    v = group.add_parser(
        "verify",
        help="check every hash and signature of a ledger file",
        description="Walk a ledger file's hash chain and check every hash and signature.",
        epilog=_VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("file", metavar="FILE", help="the ledger file")
    v.add_argument("--public-key", metavar="KEY",
                   help="the writer's expected public key: 64 hex digits, or a PEM key file (public or private)")
    v.add_argument("--workers", type=_positive, metavar="N",
                   help="worker processes for large files (default: 2, or 1 on one core)")
    v.add_argument("--json", action="store_true", help="print JSON instead of text")
    v.set_defaults(run=run_verify)

    a = group.add_parser(
        "audit",
        help="the settlement history of one transaction",
        description="The settlement history of one transaction, with its derived status.",
        epilog=_AUDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("file", metavar="FILE", help="the ledger file")
    a.add_argument("transaction_id", metavar="TRANSACTION_ID", help="the transaction's id")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a.set_defaults(run=run_audit)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    runner: Callable[[argparse.Namespace], int] = args.run
    return runner(args)


class _Progress:
    """Throttled progress lines on standard error (at most one a second, only for long runs)."""

    def __init__(self, prog: str, verb: str, total: int) -> None:
        self.prog, self.verb, self.total = prog, verb, total
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total if total is not None else self.total
        now = time.perf_counter()
        if total < _PROGRESS_MIN or (now - self.last < 1.0 and done < total):
            return
        self.last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        print(f"{self.prog}: {self.verb} {done:,} / {total:,} entries ({elapsed:.1f} s, {rate:,.0f}/s)",
              file=sys.stderr, flush=True)


# ---- bench -----------------------------------------------------------------------------------------


def run_bench(args: argparse.Namespace) -> int:
    from transactive.ledger.interface import LedgerError

    prog = "transactive ledger bench"
    try:
        seconds = asyncio.run(_bench(args.path, args.entries, args.concurrency, args.batch,
                                     _Progress(prog, "appended", args.entries)))
    except LedgerError as exc:
        from transactive.ledger.embedded import NotALedgerError
        from transactive.ledger.interface import LedgerUnavailableError

        print(f"{prog}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, NotALedgerError | LedgerUnavailableError) else 1
    rate = args.entries / seconds if seconds > 0 else float("inf")
    if args.json:
        print(json.dumps({"entries": args.entries, "seconds": seconds, "entries_per_s": rate}))
    else:
        print(f"{args.entries:,} signed entries appended to {args.path} in {seconds:.2f} s: {rate:,.0f} entries/s "
              f"(durable, group commit, concurrency {args.concurrency})")
    return 0


def bench_record(run_id: str, i: int) -> Any:
    """A synthetic transaction record (one a ledger bench anchors)."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from transactive.ledger.records import TransactionRecord

    txid = f"bench-{run_id}-{i}"
    return TransactionRecord(
        transaction_id=txid,
        document_hash=hashlib.sha256(txid.encode()).hexdigest(),
        seller=f"producer-{i % 97}",
        buyer=f"consumer-{i % 89}",
        quantity_kwh=Decimal(1 + i % 20) / 4,
        price=Decimal(32 + i % 157) / 1000,
        currency="EUR",
        interval_start=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * (i % 35_040)),
        interval_duration=timedelta(minutes=15),
    )


async def _bench(path: str, n: int, concurrency: int, batch: int, progress: _Progress) -> float:
    from transactive.ledger.embedded import EmbeddedLedger

    run_id = os.urandom(6).hex()
    ledger = EmbeddedLedger(path, max_batch=batch)
    done = 0
    try:
        async def caller(k: int) -> None:
            nonlocal done
            for i in range(k, n, concurrency):
                await ledger.anchor(bench_record(run_id, i))
                done += 1
                if done % 4096 == 0:
                    progress(done)

        started = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(min(concurrency, n))))
        seconds = time.perf_counter() - started
    finally:
        await ledger.close()
    return seconds


# ---- verify ----------------------------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    from transactive.ledger.embedded import NotALedgerError, verify_file

    prog = "transactive ledger verify"
    public_key: bytes | None = None
    if args.public_key:
        try:
            public_key = _load_public_key(args.public_key)
        except ValueError as exc:
            print(f"{prog}: --public-key: {exc}", file=sys.stderr)
            return 2
    try:
        report = verify_file(args.file, public_key=public_key, workers=args.workers,
                             progress=_Progress(prog, "verified", 0))
    except NotALedgerError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        if args.json:  # a JSON consumer still gets the contract's keys (and exit code 2)
            print(json.dumps({"valid": False, "entries": 0, "first_bad": None, "reason": f"not a ledger: {exc}"}))
        return 2
    if args.json:
        print(json.dumps(report.as_dict()))
    elif report.valid:
        print(f"{args.file}: valid: {report.entries:,} entries, every hash and signature checked "
              f"({report.seconds:.2f} s)")
    else:
        print(f"{args.file}: INVALID at entry {report.first_bad}: {report.reason} ({report.entries:,} entries)")
    return 0 if report.valid else 1


def _load_public_key(text: str) -> bytes:
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    try:
        with open(text, "rb") as fh:
            pem = fh.read()
    except OSError as exc:
        raise ValueError(f"neither 64 hex digits nor a readable key file: {text} ({exc.strerror})") from None
    key: Any
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise ValueError(f"{text}: not a PEM key") from None
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{text}: not an Ed25519 key")
    raw: bytes = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


# ---- audit -----------------------------------------------------------------------------------------


def run_audit(args: argparse.Namespace) -> int:
    from transactive.ledger.embedded import LedgerReader, NotALedgerError
    from transactive.ledger.interface import LedgerError, UnknownTransactionError
    from transactive.ledger.settlement import replay

    prog = "transactive ledger audit"
    try:
        with LedgerReader(args.file) as reader:
            entries = reader.trail(args.transaction_id)
    except NotALedgerError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except UnknownTransactionError:
        print(f"{prog}: {args.file}: no transaction {args.transaction_id!r} on this ledger", file=sys.stderr)
        return 1
    except LedgerError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    try:
        status, note = replay(entries).value, None
    except LedgerError as exc:
        status, note = "inconsistent", str(exc)
    if args.json:
        out: dict[str, Any] = {
            "transaction_id": args.transaction_id,
            "status": status,
            "note": note,
            "entries": [
                {"sequence": e.sequence, "timestamp": e.timestamp.isoformat() if e.timestamp else None,
                 "kind": e.kind.value, "data": e.data, "entry_hash": e.reference}
                for e in entries
            ],
        }
        print(json.dumps(out, indent=2))
        return 0
    rows = [(str(e.sequence), e.timestamp.isoformat(timespec="seconds") if e.timestamp else "", e.kind.value,
             _summary(e.kind.value, e.data)) for e in entries]
    header = ("seq", "time", "kind", "data")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    print(f"transaction {args.transaction_id}")
    for row in [header, *rows]:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    print(f"status: {status}" + (f" ({note})" if note else ""))
    return 0


def _summary(kind: str, data: dict[str, Any]) -> str:
    g = data.get
    if kind == "anchor":
        return (f"{g('seller')} -> {g('buyer')}: {g('quantity_kwh')} kWh at {g('price')} {g('currency')}/kWh, "
                f"interval {g('interval_start')} +{g('interval_duration_s')} s, "
                f"document {str(g('document_hash'))[:12]}…")
    if kind == "delivery":
        return f"{g('party')}: {g('quantity_kwh')} kWh measured at {g('measured_at')}"
    if kind == "payment_request":
        return f"{g('payer')} pays {g('payee')} {g('amount')} {g('currency')} by {g('deadline')}"
    if kind == "payment":
        ref = f", reference {g('reference')}" if g("reference") else ""
        return f"paid {g('amount')} {g('currency') or ''}{ref} at {g('at')}".replace("  ", " ")
    if kind == "dispute":
        details = g("details") or {}
        extra = ", ".join(f"{k}={v}" for k, v in sorted(details.items())) if isinstance(details, dict) else ""
        return f"{g('reason')} (opened by {g('opened_by')})" + (f": {extra}" if extra else "")
    return json.dumps(data, sort_keys=True)
