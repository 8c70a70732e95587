"""Party registration (create / request / cancel) and the market-context facet.

Authorization model: registering issues a **bearer token**, which in this reference implementation *is*
the ``ei:registrationID`` (256 random bits, ``secrets.token_urlsafe``): it is returned only to the
registree, in ``eiCreatedPartyRegistration``, and every later request presents it (HTTP
``Authorization: Bearer``, an MQTT user property, the ``token=`` argument in process). Treat it as a
secret. A party that is already registered can re-register only with its token (it gets the same
registration back); anyone else gets 463. Cancelling a registration cancels the party's open tenders.
The market context is public: it needs no token.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import (
    EiCanceledPartyRegistration,
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
    EiRegistration,
    EiReplyPartyRegistration,
    EiRequestPartyRegistration,
)
from transactive.ei.ext import TxReplyEiMarketContext
from transactive.protocol.errors import InvalidIdError, NotAuthorizedError, OutsideLimitsError
from transactive.services.context import ServiceContext
from transactive.services.lifecycle import TenderEvent, TenderStatus, tender_step
from transactive.services.store import Registration

__all__ = ["cancel_registration", "create_registration", "request_market_context", "request_registration"]


def create_registration(ctx: ServiceContext, msg: EiCreatePartyRegistration,
                        token: str | None) -> EiCreatedPartyRegistration:
    party = msg.registree_party_id
    if party is None:
        raise OutsideLimitsError("the party to register is required", field="ei:registreePartyID")
    active = ctx.store.active_registration(party)
    if active is not None and active.token != token:
        raise NotAuthorizedError(f"{party!r} is already registered; re-register with its token",
                                 field="ei:registreePartyID")
    if active is None:
        token = secrets.token_urlsafe(32)
        active = Registration(registration_id=token, party_id=party, token=token, created_at=ctx.now())
        ctx.store.add_registration(active)
    return EiCreatedPartyRegistration(response=ctx.ok(msg.request_id), registrar_party_id=ctx.config.market_party_id,
                                      registration_id=active.registration_id, registree_party_id=party)


def request_registration(ctx: ServiceContext, msg: EiRequestPartyRegistration,
                         token: str | None) -> EiReplyPartyRegistration:
    reg = ctx.authorize(token, msg.requestor_party_id, "ei:requestorPartyID")
    if msg.registree_party_id != reg.party_id:
        raise NotAuthorizedError("a party may only see its own registration", field="ei:registreePartyID")
    for i, rid in enumerate(msg.registration_ids, 1):
        if rid != reg.registration_id:
            raise InvalidIdError(f"unknown registration {rid[:8]}...", field=f"ei:registrationID[{i}]")
    registration = EiRegistration(registree_party_ids=(reg.party_id,), registrar_party_id=ctx.config.market_party_id)
    return EiReplyPartyRegistration(response=ctx.ok(msg.request_id), registrations=(registration,))


def cancel_registration(ctx: ServiceContext, msg: EiCancelPartyRegistration,
                        token: str | None) -> EiCanceledPartyRegistration:
    reg = ctx.authorize(token, msg.registree_party_id, "ei:registreePartyID")
    if msg.registrar_party_id != ctx.config.market_party_id:
        raise InvalidIdError(f"the registrar is {ctx.config.market_party_id!r}", field="ei:registrarPartyID")
    if reg.registration_id not in msg.registration_ids:
        raise InvalidIdError("the party's registration is not named", field="ei:registrationID")
    for row in ctx.store.tenders(party_id=reg.party_id, status=TenderStatus.OPEN):
        ctx.store.update_tender(replace(row, status=tender_step(row.status, TenderEvent.CANCEL)))
    ctx.store.cancel_registration(reg.registration_id, ctx.now())
    return EiCanceledPartyRegistration(responding_party_id=ctx.config.market_party_id,
                                       registree_party_id=reg.party_id, registrar_party_id=ctx.config.market_party_id,
                                       responses=(ctx.ok(msg.request_id),))


def request_market_context(ctx: ServiceContext, msg: EiRequestEiMarketContext,
                           token: str | None) -> TxReplyEiMarketContext:
    for i, uri in enumerate(msg.market_contexts, 1):
        if uri != ctx.config.market_context:
            raise InvalidIdError(f"this VTN runs {ctx.config.market_context}, not {uri}",
                                 field=f"emix:marketContext[{i}]")
    return ctx.config.reply(ctx.ok(msg.request_id))
