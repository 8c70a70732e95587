"""The tender facet: create (single-interval and stream tenders), cancel, request.

Checks, in order, each refusal naming its field (``ei:eiTender[i]/...``): the token's party is
``ei:partyID`` (463); the counterparty is the market (452); the item is an ``emix:product`` of this
market context (454 / 452), in the market's currency, in state ``tender``, in kWh; ``xcal:dtStart`` on the
market's interval grid and ``xcal:duration`` one interval (or one per stream interval) (454); at most
``max_tenders`` tenders in a request, ``max_stream_intervals`` intervals in a stream and nothing beyond
``horizon`` from now (454); no interval begun, past its gate closure or already cleared (450); each quantity
and price a multiple of the market's scale and within its limits (454). A request is all-or-nothing: one
refused tender refuses the request.

Idempotency: a tender id is the party's own; sending the same tender again (same id, same content) is
accepted without a duplicate; the same id with other content is 409.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from transactive.codec import decode_json, encode_json
from transactive.ei.cts.tender import (
    EiCanceledTender,
    EiCancelTender,
    EiCreatedTender,
    EiCreateTender,
    EiReplyTender,
    EiRequestTender,
    EiTender,
)
from transactive.emix import EnergyReal, Product, SiScaleCode, TemixPower, TransactiveState
from transactive.protocol.errors import (
    ConflictError,
    InvalidIdError,
    NotAuthorizedError,
    OutOfSequenceError,
    OutsideLimitsError,
)
from transactive.services.context import Credentials, ServiceContext
from transactive.services.lifecycle import TenderEvent, TenderStatus, tender_step
from transactive.services.store import TenderRow

__all__ = ["cancel_tender", "create_tender", "request_tender", "tender_rows"]

_STORED = "stored"


def _document(party_id: str, market: str, tender: EiTender) -> str:
    wrapper = EiCreateTender(request_id=_STORED, party_id=party_id, counter_party_id=market, tenders=(tender,))
    return encode_json(wrapper).decode()


def _from_document(document: str) -> EiTender:
    wrapper: EiCreateTender = decode_json(document, EiCreateTender)
    return wrapper.tenders[0]


def create_tender(ctx: ServiceContext, msg: EiCreateTender, auth: Credentials) -> EiCreatedTender:
    reg = ctx.authorize(auth.token, msg.party_id, "ei:partyID")
    market = ctx.config.market_party_id
    if msg.counter_party_id != market:
        raise InvalidIdError(f"tenders go to the market {market!r}", field="ei:counterPartyID")
    if len(msg.tenders) > ctx.config.max_tenders:
        raise OutsideLimitsError(f"{len(msg.tenders)} tenders in one request; this market takes at most "
                                 f"{ctx.config.max_tenders}", field=f"ei:eiTender[{ctx.config.max_tenders + 1}]")
    seen: set[str] = set()
    accepted: list[tuple[EiTender, str, str, list[TenderRow]]] = []
    for i, tender in enumerate(msg.tenders, 1):
        path = f"ei:eiTender[{i}]"
        if tender.tender_id in seen:
            raise ConflictError(f"tender id {tender.tender_id!r} appears twice", field=f"{path}/ei:tenderID")
        seen.add(tender.tender_id)
        document = _document(reg.party_id, market, tender)
        digest = hashlib.sha256(document.encode()).hexdigest()
        existing = ctx.store.tender_document(reg.party_id, tender.tender_id)
        if existing is not None:
            if existing[0] != digest:
                raise ConflictError(f"tender id {tender.tender_id!r} was already used for another tender",
                                    field=f"{path}/ei:tenderID")
            continue  # the same tender again: accepted once, not duplicated
        rows = tender_rows(ctx, reg.party_id, tender, path)
        accepted.append((tender, digest, document, rows))
    for tender, digest, document, rows in accepted:
        ctx.store.add_tender(reg.party_id, tender.tender_id, digest, document, rows)
    return EiCreatedTender(response=ctx.ok(msg.request_id), party_id=reg.party_id, counter_party_id=market,
                           tender_ids=tuple(t.tender_id for t in msg.tenders))


def _multiple(value: Decimal, scale: Decimal) -> bool:
    return value % scale == 0


def tender_rows(ctx: ServiceContext, party_id: str, tender: EiTender, path: str) -> list[TenderRow]:
    """Validate one tender against the market and split it into one row per interval."""
    cfg, now = ctx.config, ctx.now()
    product = tender.item
    if not isinstance(product, Product):
        raise OutsideLimitsError("this market trades emix:product only", field=f"{path}/{type(product).__tag__}")
    path += "/emix:product"
    if product.market_context != cfg.market_context:
        raise InvalidIdError(f"this VTN runs {cfg.market_context}", field=f"{path}/emix:marketContext")
    if product.currency is not None and product.currency != cfg.currency:
        raise OutsideLimitsError(f"the market's currency is {cfg.currency}", field=f"{path}/emix:currency")
    if product.transactive_state is not TransactiveState.TENDER:
        raise OutsideLimitsError("a tender's transactive state is 'tender'", field=f"{path}/emix:transactiveState")
    if product.dtstart is None or not cfg.is_aligned(product.dtstart):
        raise OutsideLimitsError(f"intervals start on the market's {cfg.interval} grid",
                                 field=f"{path}/xcal:dtStart")
    if len(product.intervals) > cfg.max_stream_intervals:
        raise OutsideLimitsError(f"a stream of {len(product.intervals)} intervals; this market takes at most "
                                 f"{cfg.max_stream_intervals}", field=f"{path}/strm:intervals")
    slots = [(product.payload, path)] if not product.intervals else [
        (iv.payload, f"{path}/strm:intervals/strm:streamInterval[{k}]") for k, iv in enumerate(product.intervals, 1)
    ]
    # the start first: a start near the end of time would overflow the end's arithmetic
    if product.dtstart > now + cfg.horizon or product.dtstart + cfg.interval * len(slots) > now + cfg.horizon:
        raise OutsideLimitsError(f"this market takes tenders up to {cfg.horizon} ahead", field=f"{path}/xcal:dtStart")
    if product.duration != cfg.interval * len(slots):
        raise OutsideLimitsError(f"the duration must be {len(slots)} x {cfg.interval}", field=f"{path}/xcal:duration")
    rows: list[TenderRow] = []
    for seq, (payload, where) in enumerate(slots):
        start = product.dtstart + cfg.interval * seq
        _check_open(ctx, start, now, where if product.intervals else f"{path}/xcal:dtStart")
        quantity, price = _quantity_and_price(ctx, payload, product.payload, where)
        rows.append(TenderRow(party_id=party_id, tender_id=tender.tender_id, seq=seq, interval_start=start,
                              side=product.side, price=price, quantity=quantity, status=TenderStatus.OPEN,
                              accepted_at=now))
    return rows


def _check_open(ctx: ServiceContext, start: datetime, now: datetime, field: str) -> None:
    # an interval that has begun is closed, whatever its gate time (which, for the year 1, does not exist)
    if start <= now or now >= ctx.config.gate_time(start):
        raise OutOfSequenceError(f"the gate for the interval starting {start.isoformat()} is closed", field=field)
    ctx.store.hold_interval(start)  # (another process closing this gate waits for this request, or it sees the gate)
    if ctx.store.gate(start) is not None:
        raise OutOfSequenceError(f"the gate for the interval starting {start.isoformat()} is closed", field=field)


def _quantity_and_price(ctx: ServiceContext, payload: object, stream_payload: object,
                        where: str) -> tuple[Decimal, Decimal]:
    cfg = ctx.config
    if not isinstance(payload, TemixPower):
        raise OutsideLimitsError("the product is power:temixPower", field=where)
    item = payload.energy_item or (stream_payload.energy_item if isinstance(stream_payload, TemixPower) else None)
    if not isinstance(item, EnergyReal) or item.si_scale_code is not SiScaleCode.KILO:
        raise OutsideLimitsError("quantities are real energy in kWh (power:energyReal, scale k)",
                                 field=f"{where}/power:energyReal")
    if payload.quantity is None:
        raise OutsideLimitsError("a quantity is required", field=f"{where}/emix:quantity")
    quantity = Decimal(repr(payload.quantity))
    if not _multiple(quantity, cfg.quantity_scale) or not cfg.min_quantity_kwh <= quantity <= cfg.max_quantity_kwh:
        raise OutsideLimitsError(
            f"quantity {quantity} kWh is outside [{cfg.min_quantity_kwh}, {cfg.max_quantity_kwh}] "
            f"or not a multiple of {cfg.quantity_scale}", field=f"{where}/emix:quantity")
    price_model = payload.price or (stream_payload.price if isinstance(stream_payload, TemixPower) else None)
    if price_model is None:
        raise OutsideLimitsError("a price is required", field=f"{where}/emix:price")
    price = price_model.value
    if not _multiple(price, cfg.price_scale) or not cfg.min_price <= price <= cfg.max_price:
        raise OutsideLimitsError(
            f"price {price} {cfg.currency}/kWh is outside [{cfg.min_price}, {cfg.max_price}] "
            f"or not a multiple of {cfg.price_scale}", field=f"{where}/emix:price/emix:value")
    return quantity, price


def _own_rows(ctx: ServiceContext, party_id: str, tender_id: str, field: str) -> list[TenderRow]:
    rows = ctx.store.tenders(party_id=party_id, tender_id=tender_id)
    if rows:
        return rows
    if ctx.store.tenders(tender_id=tender_id):
        raise NotAuthorizedError(f"tender {tender_id!r} belongs to another party", field=field)
    raise InvalidIdError(f"no tender {tender_id!r}", field=field)


def cancel_tender(ctx: ServiceContext, msg: EiCancelTender, auth: Credentials) -> EiCanceledTender:
    reg = ctx.authorize(auth.token, msg.party_id, "ei:partyID")
    market = ctx.config.market_party_id
    if msg.counter_party_id is not None and msg.counter_party_id != market:
        raise InvalidIdError(f"tenders go to the market {market!r}", field="ei:counterPartyID")
    updates: list[TenderRow] = []
    for i, tender_id in enumerate(msg.tender_ids, 1):
        field = f"ei:tenderID[{i}]"
        rows = _own_rows(ctx, reg.party_id, tender_id, field)
        live = [r for r in rows if r.status in (TenderStatus.OPEN, TenderStatus.CANCELLED)]
        if not live:  # every interval already cleared or expired: the table says no
            tender_step(rows[0].status, TenderEvent.CANCEL, field=field)
        updates.extend(replace(r, status=tender_step(r.status, TenderEvent.CANCEL, field=field)) for r in live)
    for row in updates:
        ctx.store.update_tender(row)
    return EiCanceledTender(response=ctx.ok(msg.request_id), party_id=reg.party_id, counter_party_id=market)


def request_tender(ctx: ServiceContext, msg: EiRequestTender, auth: Credentials) -> EiReplyTender:
    reg = ctx.authorize(auth.token, msg.requestor_party_id, "ei:requestorPartyID")
    if msg.party_id != reg.party_id:
        raise NotAuthorizedError("a party may only see its own tenders", field="ei:partyID")
    ids = list(msg.tender_ids) or ctx.store.tender_ids(reg.party_id)
    tenders: list[EiTender] = []
    for i, tender_id in enumerate(ids, 1):
        _own_rows(ctx, reg.party_id, tender_id, f"ei:tenderID[{i}]")
        stored = ctx.store.tender_document(reg.party_id, tender_id)
        assert stored is not None
        tenders.append(_from_document(stored[1]))
    return EiReplyTender(response=ctx.ok(msg.request_id), tenders=tuple(tenders))
