"""What the dashboard shows, as JSON-ready dicts: the same dicts ``GET /ui/api/...`` answers with and the
pages render, so a number on a page is the number of the API.

Each view reads ``store`` (default: the service's own): the dashboard passes the store's
:meth:`~transactive.services.store.Store.reader` and calls the views in a worker thread, so a party with a
year of transactions does not hold up the VTN's event loop.

Quantities and prices are decimal strings (exact, as the store holds them); times ISO 8601 in UTC.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from transactive.emix import Side
from transactive.ledger.interface import Ledger, LedgerError
from transactive.ledger.records import EntryKind, LedgerEntry
from transactive.ledger.settlement import replay
from transactive.services.lifecycle import TenderStatus
from transactive.services.openadr3.service import Oa3Service
from transactive.services.positions import position
from transactive.services.service import VtnService
from transactive.services.settlement import transaction_record
from transactive.services.store import Store, TransactionRow

__all__ = ["HISTORY", "OPENADR3_COLLECTIONS", "OPENADR3_SHOWN", "TRANSACTIONS_SHOWN", "audited", "market_view",
           "openadr3_view", "parties_view", "party_view", "transaction_facts", "transaction_view"]

#: the cleared intervals the market overview shows (the latest ones: a day of 15-minute intervals)
HISTORY = 96
#: the transactions a party page lists, with their settlement states (the latest ones; the position and the
#: bill count them all)
TRANSACTIONS_SHOWN = 500
_ZERO = Decimal(0)
#: the OpenADR 3.1 objects the dashboard lists per collection (the latest ones; the totals count them all)
OPENADR3_SHOWN = 50
#: the OpenADR 3.1 collections the dashboard lists, in its order
OPENADR3_COLLECTIONS = ("programs", "events", "vens", "resources", "reports", "subscriptions")
#: the mean clearing price is shown to this many places (the prices themselves as the store holds them)
_MEAN = Decimal("0.000001")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _num(value: Decimal | None) -> str | None:
    """A decimal as a plain string (no exponent), None as None."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _store(service: VtnService, store: Store | None) -> Store:
    return service.core.store if store is None else store


def market_view(service: VtnService, *, history: int = HISTORY, store: Store | None = None) -> dict[str, Any]:
    """The market overview: the order book of the open intervals (price levels: no party is named), and the
    clearing price and volume of the latest ``history`` cleared intervals, oldest first."""
    cfg, store = service.config, _store(service, store)
    now = service.clock()
    book: dict[datetime, dict[str, dict[Decimal, list[Decimal]]]] = defaultdict(
        lambda: {"buy": defaultdict(list), "sell": defaultdict(list)})
    for row in store.tenders(status=TenderStatus.OPEN):
        left = row.quantity - row.filled
        if left > 0:
            book[row.interval_start][row.side.value][row.price].append(left)
    intervals = []
    for start in sorted(book):
        sides = book[start]
        bids = [{"price": _num(p), "quantity_kwh": _num(sum(q, _ZERO)), "tenders": len(q)}
                for p, q in sorted(sides["buy"].items(), reverse=True)]
        offers = [{"price": _num(p), "quantity_kwh": _num(sum(q, _ZERO)), "tenders": len(q)}
                  for p, q in sorted(sides["sell"].items())]
        intervals.append({
            "interval_start": _iso(start), "gate_time": _iso(cfg.gate_time(start)),
            "bids": bids, "offers": offers,
            "bid_kwh": _num(sum((sum(q, _ZERO) for q in sides["buy"].values()), _ZERO)),
            "offer_kwh": _num(sum((sum(q, _ZERO) for q in sides["sell"].values()), _ZERO)),
        })
    gates = list(reversed(store.gates(limit=history)))
    cleared = [{"interval_start": _iso(g.interval_start), "price": _num(g.price), "quantity_kwh": _num(g.quantity),
                "grid_import_kwh": _num(g.grid_import), "grid_export_kwh": _num(g.grid_export)} for g in gates]
    prices = [g.price for g in gates if g.price is not None]
    return {
        "market": cfg.market_context,
        "currency": cfg.currency,
        "market_time": _iso(now),
        "interval_seconds": cfg.interval.total_seconds(),
        "next_open_interval": _iso(cfg.next_open_interval(now)),
        "order_book": intervals,
        "cleared": cleared,
        "summary": {
            "intervals_shown": len(cleared),
            "intervals_with_trade": len(prices),
            "traded_kwh": _num(sum((g.quantity for g in gates), _ZERO)),
            "mean_price": _num((sum(prices, _ZERO) / len(prices)).quantize(_MEAN)) if prices else None,
        },
    }


def parties_view(service: VtnService, *, store: Store | None = None) -> dict[str, Any]:
    """The registered parties (the operator's list)."""
    return {"parties": sorted(_store(service, store).registered_parties())}


def _state(store: Store, transaction_id: str) -> str:
    steps = store.settlement_steps(transaction_id)
    return steps[-1].state if steps else "agreed"


def party_view(service: VtnService, party_id: str, *, store: Store | None = None) -> dict[str, Any]:
    """A party's position over all its transactions (the totals the position facet, ``tx:eiRequestPosition``,
    answers for a window holding them all), its bill (what it pays for what it bought less what it is paid for
    what it sold: positive pays, the position's ``amount``), its latest :data:`TRANSACTIONS_SHOWN` transactions
    with their settlement states (``settlement_states`` counts those) and the position facet's lines of their
    intervals (``intervals_total`` counts every interval), and its open tenders."""
    store = _store(service, store)
    rows = sorted(store.transactions(party_id=party_id), key=lambda t: (t.interval_start, t.transaction_id))
    cost = sum((t.amount for t in rows if t.side is Side.BUY), _ZERO)
    revenue = sum((t.amount for t in rows if t.side is Side.SELL), _ZERO)
    bought = sum((t.quantity for t in rows if t.side is Side.BUY), _ZERO)
    sold = sum((t.quantity for t in rows if t.side is Side.SELL), _ZERO)
    shown = rows[-TRANSACTIONS_SHOWN:]
    lines: tuple[Any, ...] = ()
    if shown:  # (the lines of the intervals shown only: a year of them is no page to read, nor quick to make)
        lines = position(store, party_id, shown[0].interval_start,
                         max(t.interval_start + t.interval_duration for t in shown)).intervals
    states: dict[str, int] = defaultdict(int)
    transactions = []
    for t in shown:
        state = _state(store, t.transaction_id)
        states[state] += 1
        transactions.append({"transaction_id": t.transaction_id, "interval_start": _iso(t.interval_start),
                             "side": t.side.value, "quantity_kwh": _num(t.quantity), "price": _num(t.price),
                             "amount": _num(t.amount), "currency": t.currency, "state": state})
    tenders = [{"tender_id": r.tender_id, "interval_start": _iso(r.interval_start), "side": r.side.value,
                "price": _num(r.price), "quantity_kwh": _num(r.quantity), "filled_kwh": _num(r.filled)}
               for r in store.tenders(party_id=party_id, status=TenderStatus.OPEN)]
    return {
        "party": party_id,
        "registered": store.active_registration(party_id) is not None,
        "currency": service.config.currency,
        "position": {"bought_kwh": _num(bought), "sold_kwh": _num(sold), "net_kwh": _num(bought - sold)},
        "bill": {"energy_bought": _num(cost), "energy_sold": _num(revenue), "net": _num(cost - revenue)},
        "intervals": [{"interval_start": _iso(line.dtstart), "bought_kwh": _num(line.bought_kwh),
                       "sold_kwh": _num(line.sold_kwh), "net_kwh": _num(line.net_kwh), "amount": _num(line.amount),
                       "delivered_kwh": _num(line.delivered_kwh)} for line in lines],
        "intervals_total": len({(t.interval_start, t.interval_duration) for t in rows}),
        "transactions_total": len(rows),
        "settlement_states": dict(sorted(states.items())),
        "transactions": transactions,
        "open_tenders": tenders,
    }


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {"sequence": entry.sequence, "timestamp": _iso(entry.timestamp), "kind": entry.kind.value,
            "reference": entry.reference, "entry_hash": entry.entry_hash, "data": entry.data}


async def transaction_view(service: VtnService, row: TransactionRow, *, store: Store | None = None
                           ) -> dict[str, Any]:
    """A transaction, its settlement steps as the VTN logged them, and its audit trail on the ledger with the
    verification status: ``verified`` when the ledger proves the anchor is the transaction the VTN stored
    (unaltered, linked and signed: :meth:`~transactive.ledger.interface.Ledger.verify`) and replaying the trail
    gives the state the VTN logged; ``not verified`` (with the reason) otherwise; ``no ledger`` without one."""
    return await audited(service, row, transaction_facts(service, row, store=store))


def transaction_facts(service: VtnService, row: TransactionRow, *, store: Store | None = None) -> dict[str, Any]:
    """:func:`transaction_view` without the ledger (what the store holds): ``audited`` adds it."""
    store = _store(service, store)
    steps = [{"seq": s.seq, "event": s.event, "state": s.state, "at": _iso(s.at)}
             for s in store.settlement_steps(row.transaction_id)]
    state = _state(store, row.transaction_id)
    view: dict[str, Any] = {
        "transaction": {"transaction_id": row.transaction_id, "party": row.party_id,
                        "counterparty": row.counterparty_id, "side": row.side.value,
                        "interval_start": _iso(row.interval_start),
                        "interval_seconds": row.interval_duration.total_seconds(),
                        "quantity_kwh": _num(row.quantity), "price": _num(row.price), "amount": _num(row.amount),
                        "currency": row.currency, "document_hash": row.document_hash,
                        "created_at": _iso(row.created_at)},
        "state": state,
        "settlement_steps": steps,
    }
    return view


async def audited(service: VtnService, row: TransactionRow, facts: dict[str, Any]) -> dict[str, Any]:
    """The transaction's ``facts`` with its audit trail on the ledger (see :func:`transaction_view`)."""
    view = dict(facts)
    settlement = service.settlement
    ledger: Ledger | None = None if settlement is None else settlement.ledger
    view["ledger"] = await _audit(ledger, service, row, view["state"])
    return view


async def _audit(ledger: Ledger | None, service: VtnService, row: TransactionRow, state: str) -> dict[str, Any]:
    if ledger is None:
        return {"backend": None, "entries": [], "replayed_state": None, "anchor_verified": False,
                "status": "no ledger", "reason": "this VTN runs without a ledger (read-only)"}
    backend = ledger.capabilities().backend
    try:
        entries = await ledger.audit_trail(row.transaction_id)
    except LedgerError as exc:
        return {"backend": backend, "entries": [], "replayed_state": None, "anchor_verified": False,
                "status": "not verified", "reason": str(exc)}
    reasons = []
    try:
        replayed: str | None = replay(entries).value
    except LedgerError as exc:
        replayed = None
        reasons.append(f"the trail does not replay: {exc}")
    anchor = next((e for e in entries if e.kind is EntryKind.ANCHOR), None)
    receipt = None if anchor is None else anchor.receipt(backend)
    verified = False
    if receipt is None:
        reasons.append("no anchor entry on the ledger")
    else:
        try:
            verified = await ledger.verify(transaction_record(service.config, row), receipt)
        except LedgerError as exc:
            reasons.append(f"the ledger could not check the anchor: {exc}")
        if not verified and not reasons:
            reasons.append("the anchor on the ledger is not the transaction the VTN stored")
    if replayed is not None and replayed != state:
        reasons.append(f"the ledger's trail gives {replayed!r}, the VTN logged {state!r}")
    return {"backend": backend, "entries": [_entry_json(e) for e in entries], "replayed_state": replayed,
            "anchor_verified": verified, "status": "not verified" if reasons else "verified",
            "reason": "; ".join(reasons) or None}


def openadr3_view(service: Oa3Service | None, *, shown: int = OPENADR3_SHOWN) -> dict[str, Any]:
    """The OpenADR 3.1 objects (the operator's view: every client's), per collection its total and the latest
    ``shown`` objects as the OpenADR 3.1 API answers them (``GET /openadr3/3.1.0/{collection}``), newest last;
    ``enabled`` False when the VTN serves no OpenADR 3.1."""
    collections: dict[str, Any] = {}
    if service is not None:
        for name in OPENADR3_COLLECTIONS:
            total, latest = service.latest(name, shown)
            collections[name] = {"total": total, "latest": latest}
    return {"enabled": service is not None, "collections": collections}
