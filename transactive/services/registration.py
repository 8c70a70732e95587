"""Party registration (create / request / cancel) and the market-context facet.

Identity: a party id is bound for good to the key that first registered it (:mod:`transactive.protocol.
identity`: the registration request is signed, the transport checks the signature and hands the core a
:class:`~transactive.protocol.identity.KeyProof`). Creating a registration needs that proof:

* an id nobody holds: it is bound to the key, and a registration is created;
* an id bound to this key: the party's active registration comes back (a device that restarted and lost
  its token is the same party), or, after a cancellation, a new registration for the same party;
* an id bound to another key: 463, whatever else the request carries;
* a party re-registering with its active token and no signature gets the same registration back.

Ids must read as party ids, and the market's own id and ``*`` are reserved (454 naming the field).

Registering issues a **bearer token**, which in this reference implementation *is* the
``ei:registrationID`` (256 random bits, :func:`~transactive.protocol.identity.new_secret`): it is returned
only to the registree, in ``eiCreatedPartyRegistration``, and every later request presents it (HTTP
``Authorization: Bearer``, an MQTT user property, the ``token=`` argument in process). Treat it as a secret.
Cancelling a registration cancels the party's open tenders; the id stays bound to its key. The market context
is public: it needs no token.
"""

from __future__ import annotations

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
from transactive.protocol.identity import check_party_id, new_secret
from transactive.services.context import Credentials, ServiceContext
from transactive.services.lifecycle import TenderEvent, TenderStatus, tender_step
from transactive.services.store import PartyKeyRow, Registration

__all__ = ["cancel_registration", "create_registration", "registree", "request_market_context",
           "request_registration"]


def registree(ctx: ServiceContext, msg: EiCreatePartyRegistration, auth: Credentials) -> str:
    """The party a registration request may be answered for: the requester proves it is that party (its key,
    or its active registration's token), else 463. Checked before anything is looked up or stored, replies
    to earlier requests included (see :meth:`transactive.services.VtnCore.handle`)."""
    party = msg.registree_party_id
    if party is None:
        raise OutsideLimitsError("the party to register is required", field="ei:registreePartyID")
    check_party_id(party, ctx.config.market_party_id)
    bound = ctx.store.party_key(party)
    if auth.proof is not None:
        if bound is not None and bound.fingerprint != auth.proof.fingerprint:
            raise NotAuthorizedError(f"{party!r} is bound to another key", field="ei:registreePartyID")
        return party
    active = ctx.store.active_registration(party)
    if active is not None and auth.token is not None and active.token == auth.token:
        return party
    raise NotAuthorizedError("registration needs the party's key: sign the request (the Signature header, see "
                             "transactive.protocol.identity)", field="ei:registreePartyID")


def create_registration(ctx: ServiceContext, msg: EiCreatePartyRegistration,
                        auth: Credentials) -> EiCreatedPartyRegistration:
    party = registree(ctx, msg, auth)
    if auth.proof is not None and ctx.store.party_key(party) is None:
        ctx.store.bind_party_key(PartyKeyRow(party, auth.proof.fingerprint, auth.proof.key.keyid, ctx.now()))
    active = ctx.store.active_registration(party)
    if active is None:
        token = new_secret()
        active = Registration(registration_id=token, party_id=party, token=token, created_at=ctx.now())
        ctx.store.add_registration(active)
    return EiCreatedPartyRegistration(response=ctx.ok(msg.request_id), registrar_party_id=ctx.config.market_party_id,
                                      registration_id=active.registration_id, registree_party_id=party)


def request_registration(ctx: ServiceContext, msg: EiRequestPartyRegistration,
                         auth: Credentials) -> EiReplyPartyRegistration:
    reg = ctx.authorize(auth.token, msg.requestor_party_id, "ei:requestorPartyID")
    if msg.registree_party_id != reg.party_id:
        raise NotAuthorizedError("a party may only see its own registration", field="ei:registreePartyID")
    for i, rid in enumerate(msg.registration_ids, 1):
        if rid != reg.registration_id:
            raise InvalidIdError(f"unknown registration {rid[:8]}...", field=f"ei:registrationID[{i}]")
    registration = EiRegistration(registree_party_ids=(reg.party_id,), registrar_party_id=ctx.config.market_party_id)
    return EiReplyPartyRegistration(response=ctx.ok(msg.request_id), registrations=(registration,))


def cancel_registration(ctx: ServiceContext, msg: EiCancelPartyRegistration,
                        auth: Credentials) -> EiCanceledPartyRegistration:
    reg = ctx.authorize(auth.token, msg.registree_party_id, "ei:registreePartyID")
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
                           auth: Credentials) -> TxReplyEiMarketContext:
    for i, uri in enumerate(msg.market_contexts, 1):
        if uri != ctx.config.market_context:
            raise InvalidIdError(f"this VTN runs {ctx.config.market_context}, not {uri}",
                                 field=f"emix:marketContext[{i}]")
    return ctx.config.reply(ctx.ok(msg.request_id))
