"""The event cases of ``probe --role vtn`` (EiEvent): the distribution and each event in it, the probe's
answer (always optOut: the probe controls no load), versions and the list of events across the distributions
seen while it watches, and an answer about an event the VTN never sent.

The cases need an event for the probe's VEN: without one they are skipped, saying so (create one that
targets every VEN, or the probe's ``--party``, before the run)."""

from __future__ import annotations

from transactive.ei.oadr.base import EiResponse, QualifiedEventID
from transactive.ei.oadr.enums import OptType, ResponseRequired
from transactive.ei.oadr.event import EventResponse, OadrCreatedEvent
from transactive.interop.conformance import oadr_vtn_registration  # noqa: F401  (its cases run before these)
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.model import CaseFailed, CaseSkipped
from transactive.interop.conformance.oadr_probe_context import SUITE, ProbeContext
from transactive.interop.conformance.oadr_probe_events import check_event, check_lists, check_versions
from transactive.interop.conformance.oadr_probe_rules import (
    CREATED_EVENT,
    EVENT_LIST,
    EVENT_STATUS,
    EVENT_VERSION,
    EXCHANGE_PATTERN,
    RULE_2,
    RULE_8,
    RULE_9,
    RULE_14,
)
from transactive.interop.conformance.oadr_probe_session import new_id
from transactive.interop.conformance.rules import EI_RESPONSE, OADR_IDS_VALIDATED, OADR_SCHEMA
from transactive.protocol.oadr import Service

__all__ = ["answer_events", "distribution", "event_lists", "event_versions", "unknown_event"]

_NO_EVENT = ("the VTN has no event for this VEN: create one that targets it (or every VEN) before the run to "
             "check events")


@SUITE.case("E1_0010", "oadrRequestEvent is answered with oadrDistributeEvent; each event is well formed",
            EXCHANGE_PATTERN, OADR_SCHEMA, EI_RESPONSE, OADR_IDS_VALIDATED, RULE_2, RULE_8, RULE_9, RULE_14,
            EVENT_STATUS)
async def distribution(ctx: ProbeContext) -> str:
    reply = await ctx.request_events()
    seen = ctx.distributions[-1]
    if ctx.vtn_id is not None:
        ensure(reply.vtn_id == ctx.vtn_id, OADR_IDS_VALIDATED,
               f"oadrDistributeEvent names vtnID {reply.vtn_id!r}, the registration {ctx.vtn_id!r}")
    if not reply.events:
        raise CaseSkipped(_NO_EVENT)
    for item in reply.events:
        check_event(item, seen.at)
    listed = ", ".join(f"{e.event.descriptor.event_id} #{e.event.descriptor.modification_number} "
                       f"({e.event.descriptor.event_status.value})" for e in reply.events)
    return f"{len(reply.events)} event(s): {listed}"


@SUITE.case("E1_0020", "oadrCreatedEvent for the events that ask for an answer is acknowledged with 200",
            CREATED_EVENT, EXCHANGE_PATTERN, OADR_SCHEMA)
async def answer_events(ctx: ProbeContext) -> str:
    latest = await ctx.latest_events()
    if not latest.events:
        raise CaseSkipped(_NO_EVENT)
    if not any(e.response_required is ResponseRequired.ALWAYS for e in latest.events):
        raise CaseSkipped("no event of the VTN asks for an answer (oadrResponseRequired always)")
    answered = await ctx.answer_events(latest, all_events=True)
    return f"optOut for {answered} event(s) acknowledged"


@SUITE.case("E1_0030", "modificationNumber never goes down; content changes only with a higher number",
            EVENT_VERSION)
async def event_versions(ctx: ProbeContext) -> str:
    rounds = await ctx.observe()
    if not any(seen.message.events for seen in ctx.distributions):
        raise CaseSkipped(_NO_EVENT)
    try:
        versions = check_versions(ctx.distributions)
    except CaseFailed as failed:
        ctx.evidence_again(failed.detail)
        raise
    return f"{versions} event version(s) over {len(ctx.distributions)} distributions ({rounds} rounds watched)"


@SUITE.case("E1_0040", "every pending or active event is in each later distribution until it ends or is cancelled",
            EVENT_LIST)
async def event_lists(ctx: ProbeContext) -> str:
    await ctx.observe()
    if not any(seen.message.events for seen in ctx.distributions):
        raise CaseSkipped(_NO_EVENT)
    try:
        compared = check_lists(ctx.distributions)
    except CaseFailed as failed:
        ctx.evidence_again(failed.detail)
        raise
    return f"{compared} distributions compared"


@SUITE.case("E1_0050", "oadrCreatedEvent about an eventID the VTN never sent is refused", OADR_IDS_VALIDATED)
async def unknown_event(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    latest = await ctx.latest_events()
    if not latest.events:
        raise CaseSkipped(_NO_EVENT)
    stranger = new_id("conformance-unknown-event-")
    message = OadrCreatedEvent(
        response=EiResponse(response_code=200, response_description="OK", request_id=""), ven_id=ven_id,
        event_responses=(EventResponse(response_code=200, response_description="OK", request_id=latest.request_id,
                                       qualified_event_id=QualifiedEventID(event_id=stranger, modification_number=0),
                                       opt_type=OptType.OPT_OUT),))
    answer = await ctx.session.send(Service.EVENT, message)
    return ctx.session.refusal(answer, None, OADR_IDS_VALIDATED, f"oadrCreatedEvent for eventID {stranger!r}")
