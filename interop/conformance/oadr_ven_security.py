"""Cases of ``listen --role ven`` judged over the whole run (N1_0020 venID, G1_0010 poll frequency, G1_0050
signatures) and the forged-signature case (G1_0060).

The whole-run cases run last, after the registration is cancelled, so that they cover every request; their
evidence is a copy of the offending documents (at most :data:`QUOTED`), recorded again under the case.
"""

from __future__ import annotations

import re

from transactive.ei.oadr import OadrRequestReregistration
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.model import CaseSkipped, Exchange, Rule
from transactive.interop.conformance.oadr_listen_context import ListenContext
from transactive.interop.conformance.oadr_listen_messages import event
from transactive.interop.conformance.oadr_ven_rules import (
    OPTS,
    POLL_FREQUENCY,
    REPLAY_NOT_ACTED_ON,
    SIGNED_REQUESTS,
    UNSIGNED_NOT_ACTED_ON,
    VEN_ID_USED,
)
from transactive.interop.conformance.oadr_ven_suite import case

__all__ = ["QUOTED", "TOLERANCE", "g1_0010", "g1_0050", "g1_0060", "g1_0070", "n1_0020", "p1_0010"]

#: at most this many offending documents are quoted as a whole-run case's evidence
QUOTED = 3
#: a poll gap shorter than this share of the requested frequency is too early (clocks, scheduling jitter)
TOLERANCE = 0.5
_MARK, _FORGED = b">kit-signed<", b">kit-forged<"


def _judge(ctx: ListenContext, found: list[tuple[str, Exchange]], rule: Rule, *, count: bool = True) -> None:
    for _, exchange in found[:QUOTED]:
        ctx.recorder.record(exchange.direction, f"{exchange.label} (quoted)", exchange.document, exchange.status)
    more = f" (and {len(found) - 1} more)" if len(found) > 1 and count else ""
    ensure(not found, rule, (found[0][0] + more) if found else "")


@case("N1_0020", "The VEN uses the venID the kit assigned in every later payload that carries one",
      VEN_ID_USED, model="any")
async def n1_0020(ctx: ListenContext) -> str | None:
    if ctx.ven_id is None:
        raise CaseSkipped("the VEN never registered: no venID was assigned")
    _judge(ctx, ctx.ven_id_findings, VEN_ID_USED)
    return f"venID {ctx.ven_id} throughout"


@case("G1_0010", "The VEN polls no more often than oadrRequestedOadrPollFreq (a poll right after one that "
      "brought a message excepted)", POLL_FREQUENCY)
async def g1_0010(ctx: ListenContext) -> str | None:
    gaps = ctx.poll_gaps()
    if not gaps:
        raise CaseSkipped("the VEN polled fewer than twice after an empty answer: nothing to judge")
    least = ctx.poll_seconds * TOLERANCE
    early = [(g, e) for g, e in gaps if g < least]
    shortest = min(g for g, _ in gaps)
    why = (f"{len(early)} of {len(gaps)} polls came less than {least:g} s after an empty answer to the previous "
           f"one (the shortest gap {shortest:.2f} s); the kit asked for a poll every {ctx.poll_seconds} s")
    _judge(ctx, [(why, e) for _, e in early], POLL_FREQUENCY, count=False)
    return f"{len(gaps)} gaps, the shortest {shortest:.2f} s (asked: {ctx.poll_seconds} s)"


@case("G1_0050", "Every payload the VEN sends is signed, verifies and carries a fresh nonce", SIGNED_REQUESTS,
      needs=("sign",), model="any")
async def g1_0050(ctx: ListenContext) -> str | None:
    if not ctx.verified and not ctx.sign_findings:
        raise CaseSkipped("the VEN sent nothing")
    _judge(ctx, ctx.sign_findings, SIGNED_REQUESTS)
    return f"{len(ctx.verified)} signed payloads verified"


@case("G1_0060", "A distribution whose signature does not verify is not acted on: no oadrCreatedEvent for its "
      "event", UNSIGNED_NOT_ACTED_ON, needs=("sign",))
async def g1_0060(ctx: ListenContext) -> str | None:
    forged = event(ctx.new_id("forged-event"), ctx.ven_id, comment="kit-signed")
    distribution = ctx.distribution(events=(*ctx.events.values(), forged))
    signed = ctx.encode(distribution)
    if signed.count(_MARK) != 1:
        raise RuntimeError("the mark to forge is not in the signed distribution")  # a kit error, not a finding
    got = await ctx.next("oadrPoll", rule=UNSIGNED_NOT_ACTED_ON, what="oadrPoll to answer with a forged distribution")
    ctx.send(got, signed.replace(_MARK, _FORGED))
    event_id = forged.event.descriptor.event_id
    answer = await ctx.next("oadrCreatedEvent", "oadrPoll", rule=UNSIGNED_NOT_ACTED_ON,
                            what="oadrCreatedEvent or the next oadrPoll")
    if answer.kind == "oadrPoll":
        ctx.hold(answer)
    else:
        ctx.background(answer)
    named = re.search(re.escape(event_id).encode(), answer.exchange.document) is not None
    ensure(not (answer.kind == "oadrCreatedEvent" and named), UNSIGNED_NOT_ACTED_ON,
           f"the VEN answered the event {event_id} of a distribution whose signature does not verify")
    return "the VEN did not act on the forged distribution"


@case("G1_0070", "A replayed signed payload (an oadrRequestReregistration the VEN already acted on, sent again "
      "byte for byte) is not acted on", REPLAY_NOT_ACTED_ON, needs=("sign",))
async def g1_0070(ctx: ListenContext) -> str | None:
    if ctx.ven_id is None:
        raise CaseSkipped("the VEN is not registered")
    got = await ctx.next("oadrPoll", rule=REPLAY_NOT_ACTED_ON, what="oadrPoll to answer with oadrRequestReregistration")
    signed = ctx.encode(OadrRequestReregistration(ven_id=ctx.ven_id))
    ctx.send(got, signed)
    fresh = await ctx.next("oadrCreatePartyRegistration", rule=REPLAY_NOT_ACTED_ON,
                           what="oadrCreatePartyRegistration after a fresh oadrRequestReregistration")
    ctx.background(fresh)
    got = await ctx.next("oadrPoll", rule=REPLAY_NOT_ACTED_ON, what="oadrPoll to answer with the replay")
    ctx.send(got, signed)
    after = await ctx.next("oadrPoll", "oadrResponse", "oadrQueryRegistration", "oadrCreatePartyRegistration",
                           rule=REPLAY_NOT_ACTED_ON, what="the next oadrPoll after the replay")
    if after.kind == "oadrPoll":
        ctx.hold(after)
    else:
        ctx.background(after)
    ensure(after.kind == "oadrPoll", REPLAY_NOT_ACTED_ON, f"the VEN acted on the replayed oadrRequestReregistration "
           f"(it sent {after.kind})")
    return "the replay was ignored; the fresh request was acted on"


@case("P1_0010", "The VEN's opts, if it sends any: each names an event version it was sent or an availability "
      "schedule; each cancellation names an opt it created", OPTS, model="any")
async def p1_0010(ctx: ListenContext) -> str | None:
    if not ctx.opts and not ctx.opt_findings:
        raise CaseSkipped("the VEN sent no oadrCreateOpt during the run (a VEN opts when it likes)")
    _judge(ctx, ctx.opt_findings, OPTS)
    return f"{len(ctx.opts)} opt(s), each well-formed and about something the VEN knew"
