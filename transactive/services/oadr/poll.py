"""OadrPoll: what a pulling VEN is sent next.

In order: its events, when any changed for it since it was last sent them (one ``oadrDistributeEvent`` with
every event it is to know); else the oldest message in its outbox (a report request or cancellation, a
re-registration or cancellation request, the VTN's METADATA report), removed as it is handed out; else a
plain ``oadrResponse``. A VEN with nothing waiting is answered from memory, without a store transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from transactive.codec import decode_xml
from transactive.ei.oadr import EiResponse, OadrCancelPartyRegistration, OadrPoll, OadrResponse
from transactive.model import Model
from transactive.services.oadr.context import OadrContext, Peer
from transactive.services.oadr.events import changed_for, distribution, sent_versions
from transactive.services.oadr.records import DeliveredRecord, OutboxRecord, VenRecord
from transactive.services.oadr.reports import vtn_metadata

__all__ = ["next_message", "nothing", "poll", "quick_poll"]


def nothing(ven: VenRecord) -> OadrResponse:
    return OadrResponse(response=EiResponse(response_code=200, response_description="OK", request_id=""),
                        ven_id=ven.ven_id)


def quick_poll(ctx: OadrContext, message: OadrPoll, peer: Peer) -> Model | None:
    """The answer to a poll when nothing waits for the VEN (no transaction needed), else None. The answer is
    the same object for every such poll of a VEN (``ctx.plain_replies``), so the edge encodes it once."""
    ven = ctx.ven(message.ven_id, peer)
    if ctx.is_dirty(ven.ven_id):
        return None
    reply = ctx.plain_replies.get(ven.ven_id)
    if reply is None:
        reply = ctx.plain_replies[ven.ven_id] = nothing(ven)
    return reply


def next_message(ctx: OadrContext, ven: VenRecord) -> tuple[Model, Callable[[OadrContext], None]] | None:
    """The next message for the VEN (its events first, then the VTN's METADATA report after its registration,
    then its outbox) and what marks it delivered (run in the
    same transaction for a poll, after the VEN accepted it for a push); None when nothing waits."""
    if changed_for(ctx, ven):
        message = distribution(ctx, ven)
        versions = sent_versions(ctx, ven)
        return message, lambda c: c.put(DeliveredRecord(ven_id=ven.ven_id, versions=versions, at=c.now()),
                                        ven.ven_id, ven.ven_id)
    if ven.metadata_pending:
        def sent_metadata(c: OadrContext) -> None:
            current = c.vens().get(ven.ven_id)
            if current is not None and current.metadata_pending:
                c.put_ven(current.model_copy(update={"metadata_pending": False}))
        return vtn_metadata(ven), sent_metadata
    waiting = ctx.store.oadr_objects(OutboxRecord.KIND, ven_id=ven.ven_id)
    if waiting:
        obj = waiting[0]
        queued: Model = decode_xml(OutboxRecord.load(obj.document).document)

        def delivered(c: OadrContext) -> None:
            c.store.delete_oadr_object(obj.kind, obj.key)
            current = c.vens().get(ven.ven_id)
            if isinstance(queued, OadrCancelPartyRegistration) and current is not None and current.active:
                c.put_ven(current.model_copy(update={"cancelled_at": c.now()}))
        return queued, delivered
    ctx.clean(ven.ven_id)
    return None


def poll(ctx: OadrContext, message: OadrPoll, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    found = next_message(ctx, ven)
    if found is None:
        return nothing(ven)
    reply, delivered = found
    delivered(ctx)
    return reply
