"""USAGE reports as metering: what an OpenADR 3 VEN reports it used becomes the deliveries of its market
transactions, as ``eiCreateDelivery`` is for a CTS party (:mod:`transactive.services.deliveries`).

The VEN's ``venName`` names the market party. Each USAGE value is energy in the interval it reports on (the
interval's own ``intervalPeriod``, else its resource's, else its event's, the n-th interval following the
first by the market's interval length): kWh, or Wh when the report's USAGE payload descriptor says ``units:
WH``; a negative value is energy the VEN put into the grid. The values of one interval are added up; the sum is
shared over the party's transactions in that interval on that side (buying for energy used, selling for
energy put in) by their quantities, and recorded as their deliveries in one store transaction. A transaction
that already has a delivery keeps it (the first report wins, as a second, different ``eiCreateDelivery`` is
refused). An interval without such transactions is left as a report only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from transactive.emix.base import Side
from transactive.protocol.openadr3 import time_of
from transactive.services.openadr3.service import SYSTEM, Oa3Service
from transactive.services.store import DeliveryRow

__all__ = ["meter_usage", "usage_values"]

_KWH_DIGITS = Decimal("0.000001")


def usage_values(report: dict[str, Any], event: dict[str, Any], interval: timedelta) -> dict[datetime, Decimal]:
    """The kWh of every interval the report has USAGE values for (see the module docstring)."""
    scale = Decimal(1)
    for descriptor in report.get("payloadDescriptors") or ():
        if descriptor.get("payloadType") == "USAGE" and str(descriptor.get("units") or "KWH").upper() == "WH":
            scale = Decimal("0.001")
    default = event.get("intervalPeriod") or {}
    totals: dict[datetime, Decimal] = {}
    for resource in report.get("resources") or ():
        period = resource.get("intervalPeriod") or default
        for n, item in enumerate(resource.get("intervals") or ()):
            own = item.get("intervalPeriod")
            start = time_of((own or period).get("start"))
            if start is None:
                continue
            if not own:
                start += n * interval
            for payload in item.get("payloads") or ():
                if payload.get("type") != "USAGE":
                    continue
                for value in payload.get("values") or ():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        totals[start] = totals.get(start, Decimal(0)) + Decimal(repr(float(value))) * scale
    return totals


def meter_usage(oa3: Oa3Service, report: dict[str, Any], interval: timedelta) -> list[str]:
    """Record ``report``'s USAGE as deliveries of its VEN's market transactions; the ids of the transactions
    given a delivery now."""
    vens = oa3.vens_of(str(report.get("clientID")))
    if not vens:
        return []
    party = str(vens[0]["venName"])
    totals = usage_values(report, oa3.read(SYSTEM, "events", str(report["eventID"])), interval)
    store = oa3.store
    recorded: list[str] = []
    with store.transaction():
        for start, kwh in totals.items():
            side = Side.SELL if kwh < 0 else Side.BUY
            txs = [t for t in store.transactions(party_id=party, interval_start=start) if t.side is side]
            total = sum((t.quantity for t in txs), Decimal(0))
            if total == 0:
                continue
            for tx in txs:
                if store.delivery(tx.transaction_id) is not None:
                    continue
                share = (abs(kwh) * tx.quantity / total).quantize(_KWH_DIGITS)
                store.put_delivery(DeliveryRow(tx.transaction_id, party, share,
                                               f"oa3-{report['id']}-{tx.transaction_id}", oa3.wall()))
                recorded.append(tx.transaction_id)
    return recorded
