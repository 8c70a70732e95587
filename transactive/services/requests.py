"""The one table of the requests a VTN accepts: each payload's facet, handler and owner field.

Everything that lists requests derives from :data:`REQUESTS`: the core's dispatch (:data:`HANDLERS`), its
idempotency rule (:data:`MUTATING`: writing requests and the field naming the party that owns their
``pyld:requestID``), the HTTP facets ``/cts/{facet}`` (:data:`FACETS`) and the OpenAPI document built from
them (:mod:`transactive.vtn.openapi`). A new request is one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transactive.ei.cts.delivery import EiCreateDelivery
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.quote import EiRequestQuote
from transactive.ei.cts.registration import (
    EiCancelPartyRegistration,
    EiCreatePartyRegistration,
    EiRequestPartyRegistration,
)
from transactive.ei.cts.tender import EiCancelTender, EiCreateTender, EiRequestTender
from transactive.ei.cts.transaction import EiRequestTransaction
from transactive.ei.ext import EiRequestPosition
from transactive.model import Model
from transactive.services.context import Credentials, ServiceContext
from transactive.services.deliveries import create_delivery
from transactive.services.positions import request_position
from transactive.services.quotes import request_quote
from transactive.services.registration import (
    cancel_registration,
    create_registration,
    registree,
    request_market_context,
    request_registration,
)
from transactive.services.tenders import cancel_tender, create_tender, request_tender
from transactive.services.transactions import request_transaction

__all__ = ["BY_PAYLOAD", "FACETS", "HANDLERS", "MUTATING", "REQUESTS", "Handler", "Identify", "RequestKind"]

#: ``(context, message, credentials) -> reply``; refusals raise ``ProtocolError`` subclasses
Handler = Callable[[ServiceContext, Any, Credentials], Model]
#: ``(context, message, credentials) -> the party owning the request``, after proving the requester is it
Identify = Callable[[ServiceContext, Any, Credentials], str]

#: the wire name of each owner attribute
_WIRE = {"registree_party_id": "ei:registreePartyID", "party_id": "ei:partyID",
         "requestor_party_id": "ei:requestorPartyID"}


@dataclass(frozen=True, slots=True)
class RequestKind:
    """One request payload the VTN accepts."""

    payload: type[Model]
    #: the HTTP facet (``POST /cts/{facet}``)
    facet: str
    handler: Handler
    #: for a writing request, the attribute naming the party that owns its ``requestID`` (idempotency key
    #: ``(party, requestID)``); None for a request that only reads
    owner: str | None = None
    #: for a writing request, how the requester proves it is the owner (default: a token of the owner's, also
    #: a cancelled one: it may read the replies to its own requests); run before the reply to an earlier
    #: request with the same id is looked up, so that reply goes to its owner only
    identify: Identify | None = None

    @property
    def writes(self) -> bool:
        return self.owner is not None

    def owner_of(self, ctx: ServiceContext, message: Model, auth: Credentials) -> str:
        """The party owning this writing request; 463 (naming the owner field) unless the credentials are
        that party's."""
        if self.identify is not None:
            return self.identify(ctx, message, auth)
        assert self.owner is not None
        party = getattr(message, self.owner) or ""
        return ctx.owner(auth.token, party, _WIRE[self.owner]).party_id


#: every request, in the order the documentation lists them
REQUESTS: tuple[RequestKind, ...] = (
    RequestKind(EiCreatePartyRegistration, "registration", create_registration, "registree_party_id", registree),
    RequestKind(EiRequestPartyRegistration, "registration", request_registration),
    RequestKind(EiCancelPartyRegistration, "registration", cancel_registration, "registree_party_id"),
    RequestKind(EiRequestEiMarketContext, "market-context", request_market_context),
    RequestKind(EiCreateTender, "tender", create_tender, "party_id"),
    RequestKind(EiCancelTender, "tender", cancel_tender, "party_id"),
    RequestKind(EiRequestTender, "tender", request_tender),
    RequestKind(EiRequestTransaction, "transaction", request_transaction),
    RequestKind(EiCreateDelivery, "delivery", create_delivery, "requestor_party_id"),
    RequestKind(EiRequestQuote, "quote", request_quote),
    RequestKind(EiRequestPosition, "position", request_position),
)

#: request payload → its row
BY_PAYLOAD: dict[type[Model], RequestKind] = {r.payload: r for r in REQUESTS}

#: request payload → handler ``(context, message, credentials) -> reply``
HANDLERS: dict[type[Model], Handler] = {r.payload: r.handler for r in REQUESTS}

#: writing request payload → the field naming the party that owns its ``requestID``
MUTATING: dict[type[Model], str] = {r.payload: r.owner for r in REQUESTS if r.owner is not None}


def _facets() -> dict[str, tuple[type[Model], ...]]:
    facets: dict[str, list[type[Model]]] = {}
    for r in REQUESTS:
        facets.setdefault(r.facet, []).append(r.payload)
    return {name: tuple(payloads) for name, payloads in facets.items()}


#: ``/cts/{facet}`` → the request payloads that facet accepts
FACETS: dict[str, tuple[type[Model], ...]] = _facets()
