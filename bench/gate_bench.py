"""Gate closure of one market interval, in process, on the SQLite or the PostgreSQL store.

Registers ``--vens`` parties and one tender each through :class:`~transactive.services.VtnCore` (in one store
transaction, as ``bench/vtn_bench.py`` does for its market phase), then times, for one interval:

* ``clear``: :meth:`VtnCore.close_gate` (clearing, the transactions and the tenders' new status written);
* ``anchor``: :meth:`Settlement.anchor` of the transactions on an embedded ledger, by 64 concurrent workers
  as :meth:`VtnService.close_gate` runs it (the ledger writes and the settlement log);
* ``notices``: building the notices (no transport).

Each round uses a new store (a new SQLite file, or a new PostgreSQL database on a throwaway server:
``interop/postgresql/cluster.py``) and ledger; the median of ``--rounds`` is printed per phase.

    PYTHONPATH=. .venv/bin/python bench/gate_bench.py --vens 10000 --store sqlite postgres --rounds 3

Figures (10,000 VENs, median of 3, a shared 2-CPU machine, PostgreSQL 15 on loopback with fsync off), gate
total = clear + anchor + notices: SQLite 2.41 s before the batch writes, 2.26 s after; PostgreSQL 15.6 s before
(clear 4.0 s, anchor 11.4 s: about eight round trips per transaction, and a pool check per read outside a
transaction), 2.5 s after (clear 0.7 s, anchor 1.5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MARKET = "urn:transactive:market:rt15"


async def one_round(n_vens: int, make_store: Callable[[Path], Any], directory: Path) -> dict[str, float]:
    from transactive.ei.cts.registration import EiCreatePartyRegistration
    from transactive.ei.cts.tender import EiCreateTender, EiTender
    from transactive.emix import energy_tender_product
    from transactive.ledger import EmbeddedLedger
    from transactive.protocol.identity import KeyProof, PartyIdentity
    from transactive.services import ManualClock, MarketConfig, Settlement, VtnCore

    config = MarketConfig(market_context=MARKET, max_price=Decimal("10"))
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    clock = ManualClock(start - timedelta(minutes=30))
    store = make_store(directory)
    ledger = EmbeddedLedger(directory / "ledger.db", now=clock)
    try:
        core = VtnCore(config, store, clock)
        settlement = Settlement(store, ledger, config=config, clock=clock)
        key = PartyIdentity.generate().public  # one key for all: key generation is not what is measured
        t0 = time.perf_counter()
        with store.transaction():
            tokens = {}
            for i in range(n_vens):
                party = f"ven-{i:05d}"
                reply = core.handle(EiCreatePartyRegistration(request_id=f"r-{party}", registree_party_id=party),
                                    proof=KeyProof(key, clock()))
                tokens[party] = reply.registration_id  # type: ignore[attr-defined]
            for i, party in enumerate(tokens):
                side = "sell" if i % 2 else "buy"
                price = f"{0.10 + 0.0001 * (i % 100) if side == 'sell' else 0.11 + 0.0001 * (i % 100):.4f}"
                item = energy_tender_product(side=side, quantity_kwh=1.0 + (i % 5), price=price, currency="USD",
                                             market_context=MARKET, dtstart=start, duration=config.interval,
                                             uid=f"t-{party}")
                core.handle(EiCreateTender(request_id=f"q-{party}", party_id=party,
                                           counter_party_id=config.market_party_id,
                                           tenders=(EiTender(tender_id=f"t-{party}", item=item),)),
                            token=tokens[party])
        t1 = time.perf_counter()
        clock.set(config.gate_time(start))
        result = core.close_gate(start)
        t2 = time.perf_counter()
        rows = result.transactions
        step = max(1, -(-len(rows) // 64))
        outcomes = await asyncio.gather(*(settlement.anchor(rows[i:i + step]) for i in range(0, len(rows), step)))
        t3 = time.perf_counter()
        notices = result.notices
        t4 = time.perf_counter()
        if sum(len(o) for o in outcomes) != len(rows) or len(notices) != len(rows):
            raise RuntimeError(f"{len(rows)} transactions, but {sum(len(o) for o in outcomes)} anchored and "
                               f"{len(notices)} notices")
        return {"setup_s": t1 - t0, "clear_s": t2 - t1, "anchor_s": t3 - t2, "notices_s": t4 - t3,
                "gate_total_s": t4 - t1, "transactions": float(len(rows)), "log_commits": float(settlement.log_commits)}
    finally:
        await ledger.close()
        store.close()


def run(store_kind: str, n_vens: int, rounds: int) -> dict[str, Any]:
    runs: list[dict[str, float]] = []
    make_store: Callable[[Path], Any]
    with ExitStack() as stack:
        if store_kind == "postgres":
            from interop.postgresql.cluster import PostgresCluster
            from transactive.services.pg_store import PgStore

            # fsync off as in the tests: the round trips are measured, not the disk
            cluster = stack.enter_context(PostgresCluster(fsync=False))
            names = iter(range(rounds))
            make_store = lambda _directory: PgStore(cluster.create_database(f"gate_bench_{next(names)}"))  # noqa: E731
        else:
            from transactive.services import SqliteStore

            make_store = lambda directory: SqliteStore(directory / "vtn.db")  # noqa: E731

        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
                runs.append(asyncio.run(one_round(n_vens, make_store, Path(tmp))))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]} | {"rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vens", type=int, default=10_000, help="parties, one tender each (default 10000)")
    parser.add_argument("--store", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per store; the median is printed")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = {}
    for kind in args.store:
        r = results[kind] = run(kind, args.vens, args.rounds)
        print(f"{kind:8} {args.vens} VENs, {int(r['transactions'])} transactions (median of {args.rounds}): "
              f"setup {r['setup_s']:.2f} s | clear {r['clear_s']:.2f} s, anchor {r['anchor_s']:.2f} s, "
              f"notices {r['notices_s']:.2f} s, gate total {r['gate_total_s']:.2f} s "
              f"({int(r['log_commits'])} log commits)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
