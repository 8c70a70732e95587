"""CTS cases of the market context and the registration (``CTS_M_*``, ``CTS_N_0010``, ``CTS_N_0020``).

The market context comes first: CTS registers a party with a market, and transactive's registration is
signed for the market it is meant for (the signature names the market's party id, which the market context
tells); a VTN that does not check signatures ignores the header.
"""

from __future__ import annotations

from transactive.ei.cts.registration import EiCreatedPartyRegistration
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.cts_probe_context import (
    SUITE,
    CtsProbe,
    ensure_market,
    ensure_registered,
    read_market,
    register,
)
from transactive.interop.conformance.cts_probe_rules import (
    EXCHANGE_PATTERN,
    REGISTRATION,
    REQUEST_ID_ONCE,
    RULE_MARKET_CONTEXT,
)
from transactive.interop.conformance.cts_probe_wire import expect_reply
from transactive.interop.conformance.rules import CTS_SCHEMA, EI_RESPONSE, WELL_FORMED

__all__ = ["market_context", "registration", "registration_again"]


@SUITE.case("CTS_M_0010", "Asked about the market context it runs, the VTN answers with it (success, schema-valid, "
                          "requestID echoed)", RULE_MARKET_CONTEXT, EI_RESPONSE, CTS_SCHEMA, WELL_FORMED,
            EXCHANGE_PATTERN)
async def market_context(ctx: CtsProbe) -> str | None:
    market, _ = await read_market(ctx)
    config = market.config
    if config is None:
        return f"{market.context}: the standard reply, without market rules (the tender cases will skip)"
    return (f"{market.context}: market party {config.market_party_id}, {config.mechanism} auction, intervals of "
            f"{config.interval}, {config.min_quantity_kwh}-{config.max_quantity_kwh} kWh at {config.min_price}-"
            f"{config.max_price} {config.currency}/kWh")


@SUITE.case("CTS_N_0010", "Registering a new party gives a registration id and names the registrar (success, "
                          "requestID echoed)", REGISTRATION, EI_RESPONSE, CTS_SCHEMA, EXCHANGE_PATTERN)
async def registration(ctx: CtsProbe) -> str | None:
    await ensure_market(ctx)
    reply = await register(ctx)
    return f"{ctx.party} registered with {reply.registrar_party_id} ({len(reply.registration_id or '')}-character id)"


@SUITE.case("CTS_N_0020", "The same registration sent again (same requestID) gives the same registration, not a "
                          "second one", REQUEST_ID_ONCE, EI_RESPONSE, CTS_SCHEMA)
async def registration_again(ctx: CtsProbe) -> str | None:
    await ensure_registered(ctx)
    assert ctx.registration_sent is not None
    request_id, body = ctx.registration_sent
    answer = await ctx.wire.post("eiCreatePartyRegistration again, same requestID and body", body,
                                 signature=ctx.sign(body))
    reply = expect_reply(answer, request_id, EiCreatedPartyRegistration, REQUEST_ID_ONCE,
                         "the reply to the registration sent again")
    ensure(reply.registration_id == ctx.registration_id, REQUEST_ID_ONCE,
           "the registration sent again with the same requestID got another registration id: the VTN made a "
           "second registration of one request")
    return "the same registration came back"
