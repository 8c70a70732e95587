"""The registration cases of ``probe --role vtn`` (EiRegisterParty): query, register, register again, and a
request naming a venID the VTN never assigned. The cancellation is the last case of the run
(:mod:`.oadr_vtn_general`)."""

from __future__ import annotations

from transactive.ei.oadr.enums import ProfileName, TransportName
from transactive.ei.oadr.event import OadrRequestEvent
from transactive.ei.oadr.registration import OadrCreatedPartyRegistration
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.oadr_probe_context import SUITE, ProbeContext
from transactive.interop.conformance.oadr_probe_rules import (
    EXCHANGE_PATTERN,
    QUERY_REGISTRATION,
    REGISTRATION,
    REREGISTRATION,
)
from transactive.interop.conformance.oadr_probe_session import new_id
from transactive.interop.conformance.rules import EI_RESPONSE, OADR_IDS_VALIDATED, OADR_SCHEMA
from transactive.protocol.oadr import Service

__all__ = ["query_registration", "register", "register_again", "unknown_ven_id"]


@SUITE.case("N1_0010", "oadrQueryRegistration is answered with the VTN's vtnID and profiles", QUERY_REGISTRATION,
            EXCHANGE_PATTERN, OADR_SCHEMA, EI_RESPONSE)
async def query_registration(ctx: ProbeContext) -> str:
    reply = await ctx.query()
    ensure(reply.vtn_id.strip(), QUERY_REGISTRATION, "the vtnID is empty")
    offered = {(str(p.profile_name), str(t.transport_name)) for p in reply.profiles for t in p.transports}
    ensure((ProfileName.V2_0B.value, TransportName.SIMPLE_HTTP.value) in offered, QUERY_REGISTRATION,
           f"the profiles offered ({sorted(offered)}) do not include 2.0b over simpleHttp")
    return f"vtnID {reply.vtn_id!r}; profiles {', '.join(f'{p} over {t}' for p, t in sorted(offered))}"


@SUITE.case("N1_0020", "oadrCreatePartyRegistration (pull) is answered with a venID and a registrationID",
            REGISTRATION, EXCHANGE_PATTERN, OADR_SCHEMA, EI_RESPONSE)
async def register(ctx: ProbeContext) -> str:
    reply: OadrCreatedPartyRegistration = await ctx.register()
    poll = "no oadrRequestedOadrPollFreq" if reply.requested_poll_freq is None else \
        f"poll every {reply.requested_poll_freq.total_seconds():g} s"
    return f"registered {ctx.party!r} as venID {reply.ven_id!r}, registrationID {reply.registration_id!r}; {poll}"


@SUITE.case("N1_0030", "registering again with the registrationID keeps the venID", REREGISTRATION, REGISTRATION,
            EXCHANGE_PATTERN)
async def register_again(ctx: ProbeContext) -> str:
    await ctx.registered()
    request = ctx.registration_request(again=True)
    answer = await ctx.session.send(Service.REGISTER_PARTY, request)
    reply = ctx.session.accepted(answer, request, (OadrCreatedPartyRegistration,), REREGISTRATION)
    assert isinstance(reply, OadrCreatedPartyRegistration)
    ensure(reply.ven_id == ctx.ven_id, REREGISTRATION,
           f"registering again with registrationID {ctx.registration_id!r} gave venID {reply.ven_id!r}, "
           f"not {ctx.ven_id!r}")
    if reply.registration_id:
        ctx.registration_id = reply.registration_id
    return f"venID {reply.ven_id!r} kept (registrationID {reply.registration_id!r})"


@SUITE.case("N1_0040", "a request naming a venID the VTN never assigned is refused", OADR_IDS_VALIDATED,
            EI_RESPONSE)
async def unknown_ven_id(ctx: ProbeContext) -> str:
    await ctx.registered()
    stranger = new_id("conformance-unknown-ven-")
    request = OadrRequestEvent(request_id=new_id(), ven_id=stranger)
    answer = await ctx.session.send(Service.EVENT, request)
    return ctx.session.refusal(answer, request, OADR_IDS_VALIDATED, f"oadrRequestEvent for venID {stranger!r}")
