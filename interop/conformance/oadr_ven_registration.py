"""Registration cases of ``listen --role ven``: the VEN's first registration (N1_0010), its re-registration
when the kit asks (N1_0030), and the end of the run, when the kit cancels the registration (N1_0040 pull,
N0_0040 push)."""

from __future__ import annotations

from transactive.ei.oadr import (
    OadrCanceledPartyRegistration,
    OadrCancelPartyRegistration,
    OadrCreatePartyRegistration,
    OadrMessage,
    OadrQueryRegistration,
    OadrRequestReregistration,
    OadrResponse,
)
from transactive.errors import TransactiveError
from transactive.interop.conformance.checks import ensure, fail, schema_valid, well_formed
from transactive.interop.conformance.oadr_listen_context import ListenContext
from transactive.interop.conformance.oadr_listen_messages import registration_answer
from transactive.interop.conformance.oadr_ven_rules import (
    CANCEL_REGISTRATION,
    PUSH,
    REGISTER_PARTY,
    REGISTRATION_FIELDS,
    REQUEST_ID_ECHO,
    REREGISTRATION,
)
from transactive.interop.conformance.oadr_ven_suite import case
from transactive.interop.conformance.rules import OADR_SCHEMA
from transactive.ven.oadr.http import message_of

__all__ = ["n0_0040", "n1_0010", "n1_0030", "n1_0040"]


@case("N1_0010", "The VEN registers: oadrCreatePartyRegistration (after an optional oadrQueryRegistration) "
      "for profile 2.0b over simpleHttp, saying its pull model and whether it signs, without a venID",
      REGISTER_PARTY, REGISTRATION_FIELDS, model="any")
async def n1_0010(ctx: ListenContext) -> str | None:
    got = await ctx.next("oadrQueryRegistration", "oadrCreatePartyRegistration", rule=REGISTER_PARTY,
                         what="registration request (oadrQueryRegistration or oadrCreatePartyRegistration)")
    queried = isinstance(got.message, OadrQueryRegistration)
    if isinstance(got.message, OadrQueryRegistration):
        ctx.send(got, registration_answer(got.message.request_id, ctx.vtn_id))
        got = await ctx.next("oadrCreatePartyRegistration", rule=REGISTER_PARTY, what="oadrCreatePartyRegistration")
    m = got.message
    assert isinstance(m, OadrCreatePartyRegistration)
    first = ctx.registration_id is None
    ctx.send(got, ctx.register(m))
    problems = []
    if m.profile_name != "2.0b":
        problems.append(f"oadrProfileName is {m.profile_name}, not 2.0b")
    if m.transport_name != "simpleHttp":
        problems.append(f"oadrTransportName is {m.transport_name}, not simpleHttp")
    if m.http_pull_model is None:
        problems.append("oadrHttpPullModel is missing (a simpleHttp VEN says whether it pulls)")
    if m.http_pull_model is False and not m.transport_address:
        problems.append("oadrHttpPullModel is false but no oadrTransportAddress says where to push")
    if first and (m.ven_id or m.registration_id):
        problems.append(f"a first registration carries venID {m.ven_id!r} / registrationID {m.registration_id!r}; "
                        "the VTN assigns them")
    if id(got.exchange) in ctx.verified and not m.xml_signature:
        problems.append("the registration is signed but says oadrXmlSignature false")
    ensure(not problems, REGISTRATION_FIELDS, "; ".join(problems))
    model = "push to " + str(m.transport_address) if ctx.push else "pull"
    return (f"registered as {m.ven_name or '(no name)'} ({model}); assigned venID {ctx.ven_id}, registrationID "
            f"{ctx.registration_id}" + ("" if queried else "; no oadrQueryRegistration first (optional)"))


@case("N1_0030", "oadrRequestReregistration in a poll answer: the VEN acknowledges with oadrResponse and "
      "registers again with its registrationID and venID", REREGISTRATION)
async def n1_0030(ctx: ListenContext) -> str | None:
    poll = await ctx.next("oadrPoll", rule=REREGISTRATION, what="oadrPoll to answer with oadrRequestReregistration")
    assert ctx.ven_id is not None
    ctx.send(poll, OadrRequestReregistration(ven_id=ctx.ven_id))
    ack = await ctx.next("oadrResponse", "oadrQueryRegistration", "oadrCreatePartyRegistration", rule=REREGISTRATION,
                         what="oadrResponse acknowledging oadrRequestReregistration")
    acknowledged = isinstance(ack.message, OadrResponse)
    if acknowledged:
        assert isinstance(ack.message, OadrResponse)
        code = ack.message.response.response_code
        ctx.background(ack)
        ensure(200 <= code < 300, REREGISTRATION, f"the VEN acknowledged oadrRequestReregistration with {code}")
        again = await ctx.next("oadrCreatePartyRegistration", rule=REREGISTRATION,
                               what="oadrCreatePartyRegistration after oadrRequestReregistration")
    else:
        again = ack
        while isinstance(again.message, OadrQueryRegistration):
            ctx.background(again)
            again = await ctx.next("oadrCreatePartyRegistration", rule=REREGISTRATION,
                                   what="oadrCreatePartyRegistration after oadrRequestReregistration")
    m = again.message
    assert isinstance(m, OadrCreatePartyRegistration)
    registration_id = ctx.registration_id
    ctx.send(again, ctx.register(m))
    ensure(m.registration_id == registration_id, REREGISTRATION,
           f"the re-registration carries registrationID {m.registration_id!r}, not {registration_id!r}")
    ensure(m.ven_id in (None, ctx.ven_id), REREGISTRATION,
           f"the re-registration carries venID {m.ven_id!r}, not {ctx.ven_id!r}")
    ensure(acknowledged, REREGISTRATION, "the VEN registered again without acknowledging oadrRequestReregistration "
           "with oadrResponse")
    return f"acknowledged and registered again with registrationID {m.registration_id}"


def _check_canceled(ctx: ListenContext, reply: OadrMessage, request: OadrCancelPartyRegistration) -> str:
    ensure(isinstance(reply, OadrCanceledPartyRegistration), CANCEL_REGISTRATION,
           f"the VEN answered oadrCancelPartyRegistration with {type(reply).__tag__}")
    assert isinstance(reply, OadrCanceledPartyRegistration)
    code = reply.response.response_code
    ensure(200 <= code < 300, CANCEL_REGISTRATION, f"the VEN refused the cancellation with {code}: "
           f"{reply.response.response_description}")
    ensure(reply.response.request_id == request.request_id, REQUEST_ID_ECHO,
           f"oadrCanceledPartyRegistration echoes requestID {reply.response.request_id!r}, not "
           f"{request.request_id!r}")
    ensure(reply.registration_id == request.registration_id, CANCEL_REGISTRATION,
           f"oadrCanceledPartyRegistration names registrationID {reply.registration_id!r}, not "
           f"{request.registration_id!r}")
    ctx.registration_id = None
    return f"the VEN confirmed the cancellation of {request.registration_id}"


def _cancel(ctx: ListenContext) -> OadrCancelPartyRegistration:
    if ctx.registration_id is None or ctx.ven_id is None:
        fail(CANCEL_REGISTRATION, "the VEN is not registered: nothing to cancel")
    return OadrCancelPartyRegistration(request_id=ctx.new_id("cancel-registration"),
                                       registration_id=ctx.registration_id, ven_id=ctx.ven_id)


@case("N1_0040", "oadrCancelPartyRegistration in a poll answer: the VEN answers oadrCanceledPartyRegistration "
      "with a success code, the requestID and its registrationID", CANCEL_REGISTRATION, REQUEST_ID_ECHO)
async def n1_0040(ctx: ListenContext) -> str | None:
    request = _cancel(ctx)
    poll = await ctx.next("oadrPoll", rule=CANCEL_REGISTRATION,
                          what="oadrPoll to answer with oadrCancelPartyRegistration")
    ctx.send(poll, request)
    reply = await ctx.next("oadrCanceledPartyRegistration", "oadrResponse", rule=CANCEL_REGISTRATION,
                           what="oadrCanceledPartyRegistration")
    ctx.background(reply)
    return _check_canceled(ctx, reply.message, request)


@case("N0_0040", "Push: oadrCancelPartyRegistration posted to the VEN's transportAddress is answered with "
      "oadrCanceledPartyRegistration (success, requestID, registrationID)", CANCEL_REGISTRATION, PUSH, model="push")
async def n0_0040(ctx: ListenContext) -> str | None:
    request = _cancel(ctx)
    reply = await push(ctx, "EiRegisterParty", request, CANCEL_REGISTRATION)
    if reply is None:
        got = await ctx.next("oadrCanceledPartyRegistration", rule=CANCEL_REGISTRATION,
                             what="oadrCanceledPartyRegistration")
        ctx.background(got)
        reply = got.message
    return _check_canceled(ctx, reply, request)


async def push(ctx: ListenContext, service: str, message: OadrMessage, rule: object) -> OadrMessage | None:
    """Post ``message`` to the push VEN; its reply (None for an empty body: the answer may follow as a request)."""
    assert ctx.registration is not None
    assert ctx.registration.transport_address
    document = ctx.encode(message)
    address = ctx.registration.transport_address
    ctx.recorder.record("sent", f"POST {address} {service}", document)
    try:
        answer = await ctx.server.push(address, service, document, ctx.options.timeout)
    except OSError as error:
        fail(PUSH, f"cannot post to the VEN's transportAddress {address}: {error}")
    ctx.recorder.record("received", f"answer from {address}", answer.body, answer.status)
    ensure(200 <= answer.status < 300, PUSH, f"the VEN answered the push with HTTP {answer.status}")
    if not answer.body.strip():
        return None
    root = well_formed(answer.body, "the VEN's answer")
    schema_valid(root, "oadr20b", OADR_SCHEMA, "the VEN's answer")
    try:
        return message_of(root)
    except TransactiveError as exc:
        fail(PUSH, f"the VEN's answer is not an OpenADR 2.0b payload: {exc}")
