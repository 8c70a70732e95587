"""The delivery facet: a VEN reports what its meter measured for one of its transactions.

Mapping (CTS rev 0.4 has ``eiCreateDelivery`` ask for delivered quantities; in this reference implementation
the VEN *reports* them with it): one ``emix:delivery`` per transaction, ``emix:uid`` = the transaction id,
``emix:injection`` true for a seller (energy put into the market) and false for a buyer, the metered kWh in
the payload's ``emix:quantity`` (or, for a stream, the sum of its intervals' quantities). The reply
``eiCreatedDelivery`` returns each as ``ei:eiDelivery`` with its ``ei:eiDeliveryID`` and creation time.

Refusals: another party's transaction (463), an unknown one (452), an interval not yet over (450), a
missing quantity or the wrong injection (454), a second, different report for the same transaction (409;
the same report again is idempotent).
"""

from __future__ import annotations

from decimal import Decimal

from transactive.ei.cts.delivery import EiCreatedDelivery, EiCreateDelivery, EiDelivery
from transactive.emix import Delivery, Side, TemixPower
from transactive.protocol.errors import (
    ConflictError,
    InvalidIdError,
    NotAuthorizedError,
    OutOfSequenceError,
    OutsideLimitsError,
)
from transactive.services.context import Credentials, ServiceContext
from transactive.services.store import DeliveryRow

__all__ = ["create_delivery", "delivery_quantity"]


def delivery_quantity(delivery: Delivery) -> Decimal | None:
    """The metered kWh a delivery reports (payload quantity, else the sum over its intervals)."""
    payload = delivery.payload
    if isinstance(payload, TemixPower) and payload.quantity is not None:
        return Decimal(repr(payload.quantity))
    quantities = [iv.payload.quantity for iv in delivery.intervals
                  if isinstance(iv.payload, TemixPower) and iv.payload.quantity is not None]
    return sum((Decimal(repr(q)) for q in quantities), Decimal(0)) if quantities else None


def create_delivery(ctx: ServiceContext, msg: EiCreateDelivery, auth: Credentials) -> EiCreatedDelivery:
    reg = ctx.authorize(auth.token, msg.requestor_party_id, "ei:requestorPartyID")
    now = ctx.now()
    rows: list[tuple[Delivery, DeliveryRow, bool]] = []
    for i, delivery in enumerate(msg.deliveries, 1):
        path = f"emix:delivery[{i}]"
        tx = ctx.store.transaction_by_id(delivery.uid)
        if tx is None:
            raise InvalidIdError(f"no transaction {delivery.uid!r}", field=f"{path}/emix:uid")
        if tx.party_id != reg.party_id:
            raise NotAuthorizedError(f"transaction {delivery.uid!r} belongs to another party", field=f"{path}/emix:uid")
        if now < tx.interval_start + tx.interval_duration:
            raise OutOfSequenceError("the interval is not over yet", field=f"{path}/emix:uid")
        quantity = delivery_quantity(delivery)
        if quantity is None:
            raise OutsideLimitsError("the metered quantity is required", field=f"{path}/emix:quantity")
        if delivery.injection is not (tx.side is Side.SELL):
            raise OutsideLimitsError("injection is true for a seller's delivery, false for a buyer's",
                                     field=f"{path}/emix:injection")
        existing = ctx.store.delivery(tx.transaction_id)
        if existing is not None:
            if existing.quantity != quantity:
                raise ConflictError(f"a delivery of {existing.quantity} kWh was already reported",
                                    field=f"{path}/emix:quantity")
            rows.append((delivery, existing, False))
        else:
            rows.append((delivery, DeliveryRow(tx.transaction_id, reg.party_id, quantity,
                                               f"dlv-{tx.transaction_id}", now), True))
    for _, row, new in rows:
        if new:
            ctx.store.put_delivery(row)
    return EiCreatedDelivery(response=ctx.ok(msg.request_id), deliveries=tuple(
        EiDelivery(dtstart=d.dtstart, duration=d.duration, payload=d.payload, intervals=d.intervals, uid=d.uid,
                   injection=d.injection, delivery_id=row.delivery_id, created_date_time=row.reported_at)
        for d, row, _ in rows))
