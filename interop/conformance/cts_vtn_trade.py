"""CTS cases of the trading facets: tender (``CTS_T_*``), transaction (``CTS_X_*``), delivery (``CTS_D_*``),
position (``CTS_S_*``) and quote (``CTS_Q_*``).

Nothing here can trade: the one tender is the safe tender of :class:`~.cts_probe_context.CtsProbe` (the
smallest buy at the lowest price, days ahead) and is cancelled by the next case; the broken tender is refused
or, if a VTN takes it, withdrawn at the end; the delivery names a transaction that does not exist. A facet
the VTN does not offer (its answer says the request is not recognised or not allowed: EI 451 or 453, HTTP
404, 405 or 501) skips its case, saying so.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from lxml import etree

from transactive.codec.wire import WireFormat
from transactive.ei.cts.delivery import EiCreateDelivery
from transactive.ei.cts.quote import EiReplyQuote, EiRequestQuote
from transactive.ei.cts.tender import EiCanceledTender, EiCancelTender, EiCreatedTender
from transactive.ei.cts.transaction import EiReplyTransaction, EiRequestTransaction
from transactive.ei.ext import EiReplyPosition, EiRequestPosition
from transactive.emix import Delivery, TemixPower, kwh
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.cts_probe_context import SUITE, CtsProbe, ensure_registered
from transactive.interop.conformance.cts_probe_rules import (
    EXCHANGE_PATTERN,
    REFUSAL_NAMES_FIELD,
    REFUSED_WITH_4XX,
    RULE_DELIVERY,
    RULE_POSITION,
    RULE_QUOTE,
    RULE_TENDER,
    RULE_TENDER_CANCEL,
    RULE_TRANSACTION,
)
from transactive.interop.conformance.cts_probe_wire import (
    Answer,
    expect_refusal,
    expect_reply,
    is_ei_payload,
    read_document,
)
from transactive.interop.conformance.model import CaseFailed, CaseSkipped
from transactive.interop.conformance.rules import CTS_SCHEMA, EI_RESPONSE
from transactive.protocol.replies import reply_response

__all__ = ["cancel_tender", "create_tender", "delivery_unknown", "not_offered", "patch", "position", "quote",
           "tender_bad_field", "transactions"]

#: EI codes that say a request is not one the VTN takes (not allowed, not recognised, not implemented)
_NOT_OFFERED_CODES = frozenset({"451", "453", "501"})
_NOT_OFFERED_STATUS = frozenset({404, 405, 501})


def not_offered(answer: Answer) -> str | None:
    """Why the answer says the facet is not offered, or None."""
    if answer.status in _NOT_OFFERED_STATUS:
        return f"HTTP {answer.status}"
    if is_ei_payload(answer):
        try:
            response = reply_response(read_document(answer, "the reply"))
        except CaseFailed:
            return None
        if response is not None and response.response_code in _NOT_OFFERED_CODES:
            return f"responseCode {response.response_code} ({response.response_description or 'no description'})"
    return None


def patch(body: bytes, wire: WireFormat, local_name: str, value: str) -> bytes:
    """``body`` with every element (XML) or member (JSON) named ``local_name`` set to ``value`` — how the kit
    makes a document the models would never build."""
    if wire is WireFormat.XML:
        root = etree.fromstring(body)
        for element in root.iter():
            if isinstance(element.tag, str) and etree.QName(element).localname == local_name:
                element.text = value
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    try:
        replacement: object = json.loads(value)
    except ValueError:
        replacement = value

    def walk(node: object) -> object:
        if isinstance(node, dict):
            return {k: (replacement if k.split(":")[-1] == local_name else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(json.loads(body))).encode()


def _tender_id(ctx: CtsProbe) -> str:
    return f"{ctx.party}-tender-{uuid.uuid4().hex[:12]}"


async def _create(ctx: CtsProbe) -> str:
    token = await ensure_registered(ctx)
    tender_id = _tender_id(ctx)
    request = ctx.safe_tender(tender_id)
    ctx.open_tenders.append(tender_id)  # withdrawn at the end, whatever the answer says
    answer = await ctx.wire.send(request, token=token, label="eiCreateTender (a buy at the lowest price, days ahead)")
    reply = expect_reply(answer, request.request_id, EiCreatedTender, RULE_TENDER, "the reply to the tender")
    ensure(tender_id in reply.tender_ids, RULE_TENDER,
           f"eiCreatedTender names {list(reply.tender_ids)}, not the tender {tender_id!r} it accepted")
    return tender_id


@SUITE.case("CTS_T_0010", "A tender within the market's rules (the smallest buy at the lowest price, days ahead) is "
                          "accepted, naming the tender", RULE_TENDER, EI_RESPONSE, CTS_SCHEMA, EXCHANGE_PATTERN)
async def create_tender(ctx: CtsProbe) -> str | None:
    tender_id = await _create(ctx)
    return f"tender {tender_id} accepted for {ctx.safe_interval().isoformat()}"


@SUITE.case("CTS_T_0020", "The kit's open tender is withdrawn with eiCancelTender (eiCanceledTender, success)",
            RULE_TENDER_CANCEL, EI_RESPONSE, CTS_SCHEMA, EXCHANGE_PATTERN)
async def cancel_tender(ctx: CtsProbe) -> str | None:
    if not ctx.open_tenders:
        try:
            await _create(ctx)
        except CaseFailed as exc:
            raise CaseSkipped(f"needs an open tender, and creating one failed: {exc.detail}") from None
    token = await ensure_registered(ctx)
    tender_id = ctx.open_tenders[-1]
    request = EiCancelTender(request_id=ctx.new_request_id(), party_id=ctx.party,
                             counter_party_id=ctx.counter_party(), tender_ids=(tender_id,))
    answer = await ctx.wire.send(request, token=token)
    expect_reply(answer, request.request_id, EiCanceledTender, RULE_TENDER_CANCEL, "the reply to the cancellation")
    ctx.open_tenders.remove(tender_id)
    return f"tender {tender_id} withdrawn"


@SUITE.case("CTS_T_0030", "A tender with a quantity below zero is refused with a 4xx responseCode naming the "
                          "quantity", REFUSED_WITH_4XX, REFUSAL_NAMES_FIELD, EI_RESPONSE, CTS_SCHEMA)
async def tender_bad_field(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    tender_id = _tender_id(ctx)
    request = ctx.safe_tender(tender_id)
    body = patch(ctx.wire.encode(request), ctx.wire.wire, "quantity", "-1")
    ctx.open_tenders.append(tender_id)  # should the VTN take it, it is withdrawn at the end
    answer = await ctx.wire.post("eiCreateTender with emix:quantity -1", body, token=token)
    response = expect_refusal(answer, request.request_id, "the reply to a tender of -1 kWh", fields=("quantity",))
    ctx.open_tenders.remove(tender_id)
    return f"refused: {response.response_code if response else answer.status}"


@SUITE.case("CTS_X_0010", "Asked for its transactions, the party is answered eiReplyTransaction (none is fine)",
            RULE_TRANSACTION, EI_RESPONSE, CTS_SCHEMA, EXCHANGE_PATTERN)
async def transactions(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    request = EiRequestTransaction(request_id=ctx.new_request_id(), party_id=ctx.party, requestor_party_id=ctx.party)
    answer = await ctx.wire.send(request, token=token)
    reply = expect_reply(answer, request.request_id, EiReplyTransaction, RULE_TRANSACTION,
                         "the reply to eiRequestTransaction")
    return f"{len(reply.transactions)} transaction(s)"


def _past_interval(ctx: CtsProbe) -> tuple[datetime, timedelta]:
    config = ctx.market.config if ctx.market is not None else None
    length = config.interval if config is not None else timedelta(minutes=15)
    now = datetime.now(UTC)
    start = config.interval_containing(now) if config is not None else now.replace(minute=0, second=0,
                                                                                    microsecond=0)
    return start - 4 * length, length


@SUITE.case("CTS_D_0010", "A delivery reported for a transaction the market does not know is refused (4xx), "
                          "saying the transaction is unknown", RULE_DELIVERY, REFUSAL_NAMES_FIELD, EI_RESPONSE,
            CTS_SCHEMA)
async def delivery_unknown(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    start, length = _past_interval(ctx)
    unknown = f"{ctx.party}-no-such-transaction-{uuid.uuid4().hex[:8]}"
    delivery = Delivery(dtstart=start, duration=length, uid=unknown, injection=False,
                        payload=TemixPower(energy_item=kwh(), quantity=0.001))
    request = EiCreateDelivery(request_id=ctx.new_request_id(), requestor_party_id=ctx.party, deliveries=(delivery,))
    answer = await ctx.wire.send(request, token=token, label="eiCreateDelivery for an unknown transaction")
    if (why := not_offered(answer)) is not None:
        raise CaseSkipped(f"the VTN does not offer the delivery facet: {why}")
    response = expect_refusal(answer, request.request_id, "the reply to a delivery for an unknown transaction",
                              rule=RULE_DELIVERY, fields=("uid", "transaction"))
    return f"refused: {response.response_code if response else answer.status}"


@SUITE.case("CTS_S_0010", "Asked for its position over a day, the party is answered with it", RULE_POSITION,
            EI_RESPONSE, CTS_SCHEMA, EXCHANGE_PATTERN)
async def position(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    start, _ = _past_interval(ctx)
    request = EiRequestPosition(request_id=ctx.new_request_id(), party_id=ctx.party, dtstart=start,
                                duration=timedelta(days=1))
    answer = await ctx.wire.send(request, token=token)
    if (why := not_offered(answer)) is not None:
        raise CaseSkipped(f"not offered: the VTN does not take transactive's tx:eiRequestPosition ({why})")
    reply = expect_reply(answer, request.request_id, EiReplyPosition, RULE_POSITION, "the reply to the position "
                                                                                      "request")
    ensure(reply.party_id == ctx.party, RULE_POSITION, f"the position is {reply.party_id!r}'s, not the kit's party's")
    return f"net {reply.net_kwh} kWh over {len(reply.intervals)} interval(s)"


@SUITE.case("CTS_Q_0010", "Asked for the market's quotes, the party is answered eiReplyQuote", RULE_QUOTE,
            EI_RESPONSE, CTS_SCHEMA, EXCHANGE_PATTERN)
async def quote(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    publisher = ctx.counter_party()
    if publisher is None:
        raise CaseSkipped("the market's party id is not known (no market rules, no registrar): no publisher to ask")
    request = EiRequestQuote(request_id=ctx.new_request_id(), requestor_party_id=ctx.party,
                             publisher_party_id=publisher)
    answer = await ctx.wire.send(request, token=token)
    if (why := not_offered(answer)) is not None:
        raise CaseSkipped(f"the VTN does not offer the quote facet: {why}")
    reply = expect_reply(answer, request.request_id, EiReplyQuote, RULE_QUOTE, "the reply to eiRequestQuote")
    return f"{len(reply.quotes)} quote(s)"
