"""CTS cases every VTN answers alike, whatever it trades (``CTS_G_*``), and the last case of a run, the
cancellation of the kit's registration (``CTS_N_0090``).

The broken documents are made from a good request (cut in half, or with an element no schema declares), in the
run's wire format; each is a read-only request, so a VTN that wrongly takes one changes nothing.
"""

from __future__ import annotations

import json

from lxml import etree

from transactive.codec.wire import WireFormat
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.tender import EiCancelTender
from transactive.ei.cts.transaction import EiRequestTransaction
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.cts_probe_context import (
    SUITE,
    CtsProbe,
    cancel_checked,
    ensure_market,
    ensure_registered,
)
from transactive.interop.conformance.cts_probe_rules import (
    MEDIA_TYPE,
    NOT_A_SERVER_ERROR,
    OWN_DATA_ONLY,
    REFUSAL_NAMES_FIELD,
    REFUSED_WITH_4XX,
    REGISTRATION,
)
from transactive.interop.conformance.cts_probe_wire import expect_refusal, expect_reply
from transactive.interop.conformance.model import Rule
from transactive.interop.conformance.rules import CTS_SCHEMA, EI_RESPONSE
from transactive.model import Model

__all__ = ["another_partys_data", "cancel_registration", "malformed", "schema_invalid", "wrong_media_type"]

#: the element the schema-invalid request carries (no CTS schema declares it)
UNKNOWN_ELEMENT = "conformanceUnknownElement"


def _transactions(ctx: CtsProbe, party: str | None = None) -> EiRequestTransaction:
    party = party or ctx.party
    return EiRequestTransaction(request_id=ctx.new_request_id(), party_id=party, requestor_party_id=party)


async def _still_answers(ctx: CtsProbe, rule: Rule) -> None:
    """After a broken request, a good one is still answered."""
    market = await ensure_market(ctx)
    request = EiRequestEiMarketContext(request_id=ctx.new_request_id(), market_contexts=(market.context,),
                                       party_id=ctx.party)
    answer = await ctx.wire.send(request, label="eiRequestEiMarketContext (is the VTN still answering?)")
    expect_reply(answer, request.request_id, Model, rule, "the answer to a good request after the broken one")


@SUITE.case("CTS_G_0010", "A body that is not well-formed is refused as the client's error (4xx, never 5xx) and "
                          "the VTN keeps answering", NOT_A_SERVER_ERROR, EI_RESPONSE)
async def malformed(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    body = ctx.wire.encode(_transactions(ctx))
    cut = body[: len(body) // 2]
    answer = await ctx.wire.post("eiRequestTransaction cut in half (not well-formed)", cut, token=token)
    response = expect_refusal(answer, None, "the answer to a body cut in half", rule=NOT_A_SERVER_ERROR)
    await _still_answers(ctx, NOT_A_SERVER_ERROR)
    return f"refused with HTTP {answer.status}" + (f", responseCode {response.response_code}" if response else "")


def _with_unknown_element(body: bytes, wire: WireFormat) -> bytes:
    if wire is WireFormat.XML:
        root = etree.fromstring(body)
        extra = etree.SubElement(root, etree.QName(etree.QName(root).namespace, UNKNOWN_ELEMENT).text)
        extra.text = "not in any CTS schema"
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    document = json.loads(body)
    for payload in document.values():
        payload[f"pyld:{UNKNOWN_ELEMENT}"] = "not in any CTS schema"
    return json.dumps(document).encode()


@SUITE.case("CTS_G_0020", "A well-formed request that breaks the CTS schema (an element no schema declares) is "
                          "refused (4xx), naming that element", REFUSED_WITH_4XX, REFUSAL_NAMES_FIELD,
            NOT_A_SERVER_ERROR, CTS_SCHEMA)
async def schema_invalid(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    body = _with_unknown_element(ctx.wire.encode(_transactions(ctx)), ctx.wire.wire)
    answer = await ctx.wire.post(f"eiRequestTransaction with an undeclared {UNKNOWN_ELEMENT}", body, token=token)
    response = expect_refusal(answer, None, "the answer to a schema-invalid request", fields=(UNKNOWN_ELEMENT,))
    return f"refused with HTTP {answer.status}" + (f", responseCode {response.response_code}" if response else "")


@SUITE.case("CTS_G_0030", "A request for another party's transactions, with the kit's token, is refused",
            OWN_DATA_ONLY, EI_RESPONSE, CTS_SCHEMA)
async def another_partys_data(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    other = f"{ctx.party}-someone-else"
    request = _transactions(ctx, other)
    answer = await ctx.wire.send(request, token=token, label=f"eiRequestTransaction for {other}")
    response = expect_refusal(answer, request.request_id, f"the answer to a request for {other}'s transactions",
                              rule=OWN_DATA_ONLY)
    return f"refused with HTTP {answer.status}" + (f", responseCode {response.response_code}" if response else "")


@SUITE.case("CTS_G_0040", "A request body sent as text/plain is answered 415", MEDIA_TYPE)
async def wrong_media_type(ctx: CtsProbe) -> str | None:
    market = await ensure_market(ctx)
    request = EiRequestEiMarketContext(request_id=ctx.new_request_id(), market_contexts=(market.context,),
                                       party_id=ctx.party)
    answer = await ctx.wire.post("eiRequestEiMarketContext as text/plain", ctx.wire.encode(request),
                                 content_type="text/plain")
    ensure(answer.status == 415, MEDIA_TYPE, f"a text/plain body was answered HTTP {answer.status}, not 415")
    return None


@SUITE.case("CTS_N_0090", "The kit's registration is cancelled (eiCanceledPartyRegistration, success), and its "
                          "token is refused afterwards", REGISTRATION, EI_RESPONSE, CTS_SCHEMA)
async def cancel_registration(ctx: CtsProbe) -> str | None:
    token = await ensure_registered(ctx)
    if ctx.open_tenders:  # left by a failed case: withdrawn before the party goes
        await ctx.wire.send(EiCancelTender(request_id=ctx.new_request_id(), party_id=ctx.party,
                                           counter_party_id=ctx.counter_party(), tender_ids=tuple(ctx.open_tenders)),
                            token=token, label="eiCancelTender (the kit's tenders still open)")
        ctx.open_tenders.clear()
    await cancel_checked(ctx)
    request = _transactions(ctx)
    answer = await ctx.wire.send(request, token=token, label="eiRequestTransaction with the cancelled registration's "
                                                             "token")
    expect_refusal(answer, request.request_id, "the answer to a request made with a cancelled registration",
                   rule=REGISTRATION)
    return f"{ctx.party}'s registration cancelled; its token is refused now"
