"""``transactive vtn report``: what a VTN's data directory holds, and whether its ledger verifies.

Keys (the contract): ``parties`` (active registrations), ``tenders`` (accepted tenders, a stream tender
counted once), ``transactions``, ``traded_kwh`` (energy the parties sold through the market: the sum of the
sell-side transactions' quantities, equal to the buy side's when no reserve prices apply),
``ledger_entries`` and ``ledger_valid`` (the embedded ledger walked by
:func:`~transactive.ledger.embedded.verify_file`; an absent ledger counts as empty and valid). Extra keys:
``bought_kwh``, ``sold_kwh``, ``ledger_reason``, and ``openadr``: the OpenADR 2.0b role's ``vens`` (active
registrations), ``events`` (every event, the market's price events included), ``opt_ins`` and ``opt_outs``
(the VENs' latest answer per event), ``reports_registered`` (reports the VENs registered) and
``report_values`` (values they reported); ``openadr3``: the OpenADR 3.1 role's ``clients`` (active),
``programs``, ``events``, ``vens``, ``resources``, ``reports``, ``subscriptions``, and the webhook deliveries
``deliveries_pending`` and ``deliveries_dead`` (given up: the operator's dead letters).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from transactive.emix import Side
from transactive.ledger.embedded import verify_file
from transactive.services.oadr.records import EventOptRecord, EventRecord, ReportOffer, VenRecord
from transactive.services.openadr3.service import COLLECTIONS
from transactive.services.openadr3.tokens import CLIENT_KIND, ClientRecord
from transactive.services.sqlite_store import SqliteStore
from transactive.services.store import Store, StoreError
from transactive.vtn.openadr3_notify import DEAD_KIND, DELIVERY_KIND

__all__ = ["format_report", "vtn_report"]


def vtn_report(data_dir: Path, *, store: str | None = None) -> dict[str, Any]:
    """The report of ``data_dir`` (see the module docstring), whose store is ``DATA_DIR/vtn.db`` or, with
    ``store``, that PostgreSQL database. Raises FileNotFoundError without a store."""
    return _report(data_dir, _open_store(data_dir, store))


def _open_store(data_dir: Path, url: str | None) -> Store:
    if url is not None:
        try:
            from transactive.services.pg_store import PgStore
        except ImportError as exc:
            raise StoreError(f"--store needs the postgresql extra (pip install 'transactive[postgresql]'): {exc}") \
                from None
        return PgStore(url, pool_max=1)
    store_path = data_dir / "vtn.db"
    if not store_path.is_file():
        raise FileNotFoundError(f"{store_path}: no VTN store here")
    return SqliteStore(store_path)


def _report(data_dir: Path, store: Store) -> dict[str, Any]:
    try:
        parties = len(store.registered_parties())
        tenders = len({(row.party_id, row.tender_id) for row in store.tenders()})
        transactions = store.transactions()
        openadr = _openadr(store)
        openadr3 = _openadr3(store)
    finally:
        store.close()
    sold = sum((t.quantity for t in transactions if t.side is Side.SELL), Decimal(0))
    bought = sum((t.quantity for t in transactions if t.side is Side.BUY), Decimal(0))
    ledger_path = data_dir / "ledger.db"
    entries, valid, reason = 0, True, None
    if ledger_path.is_file():
        result = verify_file(ledger_path, workers=1)
        entries, valid, reason = result.entries, result.valid, result.reason
    return {
        "parties": parties,
        "tenders": tenders,
        "transactions": len(transactions),
        "traded_kwh": float(sold),
        "ledger_entries": entries,
        "ledger_valid": valid,
        "sold_kwh": float(sold),
        "bought_kwh": float(bought),
        "ledger_reason": reason,
        "openadr": openadr,
        "openadr3": openadr3,
    }


def _openadr(store: Store) -> dict[str, int]:
    vens = [VenRecord.load(o.document) for o in store.oadr_objects(VenRecord.KIND)]
    opts = [EventOptRecord.load(o.document).opt_type for o in store.oadr_objects(EventOptRecord.KIND)]
    return {"vens": sum(1 for v in vens if v.active), "events": len(store.oadr_objects(EventRecord.KIND)),
            "opt_ins": opts.count("optIn"), "opt_outs": opts.count("optOut"),
            "reports_registered": len(store.oadr_objects(ReportOffer.KIND)),
            "report_values": store.report_value_count()}


def _openadr3(store: Store) -> dict[str, int]:
    clients = [ClientRecord.from_json(o.document) for o in store.oadr_objects(CLIENT_KIND)]
    counts = {name: len(store.oadr_objects(collection.kind)) for name, collection in COLLECTIONS.items()}
    return {"clients": sum(1 for c in clients if c.revoked is None), **counts,
            "deliveries_pending": len(store.oadr_objects(DELIVERY_KIND)),
            "deliveries_dead": len(store.oadr_objects(DEAD_KIND))}


def format_report(report: dict[str, Any]) -> str:
    """The report as readable text."""
    ledger = "verifies" if report["ledger_valid"] else f"DOES NOT VERIFY ({report.get('ledger_reason')})"
    return (f"parties        {report['parties']}\n"
            f"tenders        {report['tenders']}\n"
            f"transactions   {report['transactions']}\n"
            f"traded         {report['traded_kwh']:g} kWh (bought {report['bought_kwh']:g} kWh)\n"
            f"ledger         {report['ledger_entries']} entries, {ledger}\n"
            + _format_openadr(report.get("openadr")) + _format_openadr3(report.get("openadr3")))


def _format_openadr(o: dict[str, int] | None) -> str:
    if not o:
        return ""
    return (f"OpenADR        {o['vens']} VENs, {o['events']} events ({o['opt_ins']} opted in, {o['opt_outs']} out), "
            f"{o['reports_registered']} reports registered, {o['report_values']} values\n")


def _format_openadr3(o: dict[str, int] | None) -> str:
    if not o:
        return ""
    return (f"OpenADR 3      {o['clients']} clients, {o['programs']} programs, {o['events']} events, {o['vens']} VENs, "
            f"{o['resources']} resources, {o['reports']} reports, {o['subscriptions']} subscriptions; webhook "
            f"deliveries {o['deliveries_pending']} pending, {o['deliveries_dead']} given up\n")
