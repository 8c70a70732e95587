"""Event cases of ``listen --role ven``: the kit distributes events in poll answers (E1_*) or pushes them
(E0_0010) and judges the VEN's oadrCreatedEvent answers — or their absence where none is due."""

from __future__ import annotations

from transactive.ei.oadr import (
    EventStatus,
    OadrCreatedEvent,
    OadrDistributeEvent,
    OadrEvent,
    OadrMessage,
    OadrRequestEvent,
    ResponseRequired,
)
from transactive.interop.conformance.checks import ensure, fail
from transactive.interop.conformance.model import Rule
from transactive.interop.conformance.oadr_listen_context import ListenContext, event_answers
from transactive.interop.conformance.oadr_listen_messages import event
from transactive.interop.conformance.oadr_ven_registration import push
from transactive.interop.conformance.oadr_ven_rules import (
    EVENT_ANSWER,
    EVENT_ANSWER_IDS,
    MODIFICATION,
    PUSH,
    RESPONSE_NEVER,
)
from transactive.interop.conformance.oadr_ven_suite import case
from transactive.interop.conformance.rules import OADR_IDS_VALIDATED

__all__ = ["distribute", "e0_0010", "e0_0020", "e0_0030", "e1_0010", "e1_0020", "e1_0030", "e1_0040", "e1_0050",
           "e1_0060"]

#: the vtnID of a distribution that is not the kit's (E1_0050)
OTHER_VTN_ID = "SOME-OTHER-VTN"


async def distribute(ctx: ListenContext, rule: Rule, *, events: tuple[OadrEvent, ...] | None = None,
                     vtn_id: str | None = None, kinds: tuple[str, ...] = ("oadrPoll",)) -> OadrDistributeEvent:
    """Answer the VEN's next poll (or one of ``kinds``) with a distribution of ``events`` (default: every
    current event)."""
    got = await ctx.next(*kinds, rule=rule, what="oadrPoll to answer with oadrDistributeEvent")
    echo = got.message.request_id if isinstance(got.message, OadrRequestEvent) else None
    distribution = ctx.distribution(echo, events=events, vtn_id=vtn_id)
    ctx.send(got, distribution)
    return distribution


async def _answer(ctx: ListenContext, event_id: str, rule: Rule) -> OadrCreatedEvent:
    got = await ctx.next("oadrCreatedEvent", rule=rule, what=f"oadrCreatedEvent for {event_id}")
    ctx.background(got)
    assert isinstance(got.message, OadrCreatedEvent)
    return got.message


async def _answer_or_silence(ctx: ListenContext, rule: Rule) -> OadrCreatedEvent | None:
    """The VEN's oadrCreatedEvent, or None when it polls again first (it did not answer)."""
    got = await ctx.next("oadrCreatedEvent", "oadrPoll", rule=rule, what="oadrCreatedEvent or the next oadrPoll")
    if not isinstance(got.message, OadrCreatedEvent):
        ctx.hold(got)  # the next case answers this poll
        return None
    ctx.background(got)
    return got.message


def _check_answer(answer: OadrCreatedEvent, distribution: OadrDistributeEvent, event_id: str,
                  modification: int) -> str:
    code = answer.response.response_code
    ensure(200 <= code < 300, EVENT_ANSWER, f"oadrCreatedEvent's eiResponse has code {code}: "
           f"{answer.response.response_description}")
    found = event_answers(answer, event_id)
    ensure(not answer.response.request_id, EVENT_ANSWER_IDS,
           f"oadrCreatedEvent's eiResponse carries requestID {answer.response.request_id!r}; with eventResponses it is "
           "left empty")
    ensure(found, EVENT_ANSWER, f"oadrCreatedEvent has no eventResponse for {event_id}")
    for response_code, number, _opt, request_id in found:
        ensure(200 <= response_code < 300, EVENT_ANSWER, f"the eventResponse for {event_id} has code {response_code}")
        ensure(number == modification, MODIFICATION, f"the eventResponse for {event_id} names modificationNumber "
               f"{number}; the distribution carried {modification}")
        ensure(request_id == distribution.request_id, EVENT_ANSWER_IDS,
               f"the eventResponse for {event_id} carries requestID {request_id!r}, not the distribution's "
               f"{distribution.request_id!r}")
    return f"{event_id} #{modification}: {found[0][2]}"


def _event_id(oadr_event: OadrEvent) -> str:
    return oadr_event.event.descriptor.event_id


def _first(ctx: ListenContext) -> OadrEvent:
    found = [e for e in ctx.events.values() if e.response_required is ResponseRequired.ALWAYS]
    if not found:
        fail(EVENT_ANSWER, "the kit has no event to change: E1_0010 did not run")
    return found[0]


@case("E1_0010", "A new event (responseRequired always): the VEN answers oadrCreatedEvent naming the eventID, "
      "modificationNumber 0 and an optType, with the distribution's requestID", EVENT_ANSWER, EVENT_ANSWER_IDS)
async def e1_0010(ctx: ListenContext) -> str | None:
    new = event(ctx.new_id("event"), ctx.ven_id)
    ctx.events[_event_id(new)] = new
    distribution = await distribute(ctx, EVENT_ANSWER, kinds=("oadrPoll", "oadrRequestEvent"))
    return _check_answer(await _answer(ctx, _event_id(new), EVENT_ANSWER), distribution, _event_id(new), 0)


def _changed(old: OadrEvent, *, status: EventStatus | None = None, value: float = 2.0) -> OadrEvent:
    """The next version of ``old``: modificationNumber + 1, the same period and creation time."""
    before = old.event.descriptor
    new = event(before.event_id, None, modification=before.modification_number + 1,
                status=status or before.event_status, value=value, response_required=old.response_required)
    descriptor = new.event.descriptor.model_copy(update={"created_date_time": before.created_date_time})
    return new.model_copy(update={"event": new.event.model_copy(update={
        "descriptor": descriptor, "active_period": old.event.active_period, "target": old.event.target})})


@case("E1_0020", "The event modified (modificationNumber + 1): the VEN's oadrCreatedEvent names the new "
      "modificationNumber", MODIFICATION, EVENT_ANSWER, EVENT_ANSWER_IDS)
async def e1_0020(ctx: ListenContext) -> str | None:
    modified = _changed(_first(ctx))
    ctx.events[_event_id(modified)] = modified
    distribution = await distribute(ctx, MODIFICATION)
    number = modified.event.descriptor.modification_number
    return _check_answer(await _answer(ctx, _event_id(modified), MODIFICATION), distribution, _event_id(modified),
                         number)


@case("E1_0030", "The event cancelled (status cancelled, modificationNumber + 1): the VEN answers without an "
      "error", EVENT_ANSWER, MODIFICATION)
async def e1_0030(ctx: ListenContext) -> str | None:
    cancelled = _changed(_first(ctx), status=EventStatus.CANCELLED, value=0.0)
    ctx.events[_event_id(cancelled)] = cancelled
    distribution = await distribute(ctx, EVENT_ANSWER)
    del ctx.events[_event_id(cancelled)]
    number = cancelled.event.descriptor.modification_number
    return _check_answer(await _answer(ctx, _event_id(cancelled), EVENT_ANSWER), distribution,
                         _event_id(cancelled), number)


@case("E1_0040", "A cancelled event the VEN never knew: the VEN does not answer it with an error",
      OADR_IDS_VALIDATED)
async def e1_0040(ctx: ListenContext) -> str | None:
    unknown = event(ctx.new_id("unknown-event"), ctx.ven_id, modification=1, status=EventStatus.CANCELLED)
    distribution = await distribute(ctx, OADR_IDS_VALIDATED, events=(*ctx.events.values(), unknown))
    answer = await _answer_or_silence(ctx, OADR_IDS_VALIDATED)
    if answer is None:
        return "the VEN did not answer (no error)"
    code = answer.response.response_code
    ensure(200 <= code < 300, OADR_IDS_VALIDATED, f"the VEN answered a cancelled unknown event with eiResponse code "
           f"{code} ({answer.response.response_description})")
    bad = [c for c, *_ in event_answers(answer, _event_id(unknown)) if not 200 <= c < 300]
    ensure(not bad, OADR_IDS_VALIDATED,
           f"the eventResponse for the cancelled unknown event {distribution.events[-1].event.descriptor.event_id} "
           f"has code {bad[0] if bad else ''}")
    return f"answered without an error ({code})"


@case("E1_0050", "A distribution with another vtnID: the VEN does not take it (an error code, or no answer)",
      OADR_IDS_VALIDATED)
async def e1_0050(ctx: ListenContext) -> str | None:
    foreign = event(ctx.new_id("foreign-event"), ctx.ven_id)
    distribution = await distribute(ctx, OADR_IDS_VALIDATED, events=(*ctx.events.values(), foreign),
                                    vtn_id=OTHER_VTN_ID)
    answer = await _answer_or_silence(ctx, OADR_IDS_VALIDATED)
    if answer is None:
        return "the VEN did not answer the foreign distribution"
    code = answer.response.response_code
    taken = [c for c, *_ in event_answers(answer, _event_id(foreign)) if 200 <= c < 300]
    ensure(not (200 <= code < 300 and taken), OADR_IDS_VALIDATED,
           f"the VEN answered a distribution from vtnID {OTHER_VTN_ID!r} (it registered with {ctx.vtn_id!r}) with "
           f"success ({code}), opting {event_answers(answer, _event_id(foreign))[0][2]} of its event "
           f"(requestID {distribution.request_id})")
    return f"refused with {code}"


@case("E1_0060", "An event with responseRequired never: the VEN sends no oadrCreatedEvent for it",
      RESPONSE_NEVER)
async def e1_0060(ctx: ListenContext) -> str | None:
    quiet = event(ctx.new_id("never-event"), ctx.ven_id, response_required=ResponseRequired.NEVER)
    ctx.events[_event_id(quiet)] = quiet
    await distribute(ctx, RESPONSE_NEVER)
    answer = await _answer_or_silence(ctx, RESPONSE_NEVER)
    named = [] if answer is None else event_answers(answer, _event_id(quiet))
    ensure(not named, RESPONSE_NEVER, f"the VEN answered {_event_id(quiet)} (responseRequired never) with "
           f"oadrCreatedEvent ({named[0][2] if named else ''})")
    return "no answer, as asked"


@case("E0_0010", "Push: an event posted to the VEN's transportAddress is answered with oadrCreatedEvent "
      "(eventID, modificationNumber, optType, requestID)", PUSH, EVENT_ANSWER, EVENT_ANSWER_IDS, model="push")
async def e0_0010(ctx: ListenContext) -> str | None:
    new = event(ctx.new_id("event"), ctx.ven_id)
    ctx.events[_event_id(new)] = new
    return await _pushed(ctx, new, EVENT_ANSWER)


async def _pushed(ctx: ListenContext, version: OadrEvent, rule: Rule) -> str:
    """Push every current event (``version`` among them) and check the VEN's answer about ``version``: in the
    reply to the push, or as a request of its own right after."""
    distribution = ctx.distribution()
    if version.event.descriptor.event_status is EventStatus.CANCELLED:
        del ctx.events[_event_id(version)]
    reply: OadrMessage | None = await push(ctx, "EiEvent", distribution, PUSH)
    if not isinstance(reply, OadrCreatedEvent):
        reply = await _answer(ctx, _event_id(version), rule)
    return _check_answer(reply, distribution, _event_id(version), version.event.descriptor.modification_number)


@case("E0_0020", "Push: the event modified (modificationNumber + 1) and posted again: the VEN's oadrCreatedEvent "
      "names the new modificationNumber", PUSH, MODIFICATION, EVENT_ANSWER_IDS, model="push")
async def e0_0020(ctx: ListenContext) -> str | None:
    modified = _changed(_first(ctx))
    ctx.events[_event_id(modified)] = modified
    return await _pushed(ctx, modified, MODIFICATION)


@case("E0_0030", "Push: the event cancelled and posted again: the VEN answers without an error", PUSH,
      EVENT_ANSWER, MODIFICATION, model="push")
async def e0_0030(ctx: ListenContext) -> str | None:
    cancelled = _changed(_first(ctx), status=EventStatus.CANCELLED, value=0.0)
    ctx.events[_event_id(cancelled)] = cancelled
    return await _pushed(ctx, cancelled, EVENT_ANSWER)
