"""``VtnCore``: the sans-I/O VTN. Messages (models) in, reply models out; no sockets, no wall clock.

Every transport drives the same object::

    core = VtnCore(config, SqliteStore("vtn.db"), clock)
    reply = core.handle(request, token=bearer_token)     # raises ProtocolError subclasses (see .errors)
    reply = core.answer(request, token=bearer_token)     # never raises a ProtocolError: error replies instead
    result = core.close_gate(interval_start)             # GateResult: transactions, notices, quote

:data:`HANDLERS` maps each request payload to its handler (and is what the docs list). Mutating requests
(:data:`MUTATING`) are idempotent by ``(party, requestID)``: the reply is stored in the same store
transaction as the request's effects, and a repeated request gets the stored reply (409 if the same id
arrives with different content). Refused requests change nothing and are not remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
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
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.services import deliveries, positions, quotes, registration, tenders, transactions
from transactive.services.clock import Clock
from transactive.services.context import ServiceContext
from transactive.services.errors import NotAllowedError
from transactive.services.gate import GateResult, close_gate, gate_result
from transactive.services.market_config import MarketConfig
from transactive.services.positions import Position, position
from transactive.services.replies import error_reply
from transactive.services.store import Registration, Store, StoreError

__all__ = ["HANDLERS", "MUTATING", "VtnCore"]

Handler = Callable[[ServiceContext, Any, str | None], Model]

#: request payload → handler ``(context, message, token) -> reply``
HANDLERS: dict[type[Model], Handler] = {
    EiCreatePartyRegistration: registration.create_registration,
    EiRequestPartyRegistration: registration.request_registration,
    EiCancelPartyRegistration: registration.cancel_registration,
    EiRequestEiMarketContext: registration.request_market_context,
    EiCreateTender: tenders.create_tender,
    EiCancelTender: tenders.cancel_tender,
    EiRequestTender: tenders.request_tender,
    EiRequestTransaction: transactions.request_transaction,
    EiCreateDelivery: deliveries.create_delivery,
    EiRequestQuote: quotes.request_quote,
    EiRequestPosition: positions.request_position,
}

#: mutating request payload → the field naming the party that owns its ``requestID``
MUTATING: dict[type[Model], str] = {
    EiCreatePartyRegistration: "registree_party_id",
    EiCancelPartyRegistration: "registree_party_id",
    EiCreateTender: "party_id",
    EiCancelTender: "party_id",
    EiCreateDelivery: "requestor_party_id",
}


class VtnCore:
    """The VTN's protocol core over a :class:`Store`, for one :class:`MarketConfig`, reading ``clock``."""

    def __init__(self, config: MarketConfig, store: Store, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._ctx = ServiceContext(config, store, clock)

    def handle(self, message: Model, *, token: str | None = None) -> Model:
        """The reply to a request; refusals raise :class:`~transactive.errors.ProtocolError` subclasses
        carrying the EI response code and the offending field. Durable before it returns."""
        handler = HANDLERS.get(type(message))
        if handler is None:
            raise NotAllowedError(f"{type(message).__tag__} is not a request this VTN accepts", field="/")
        owner_field = MUTATING.get(type(message))
        if owner_field is None:
            return handler(self._ctx, message, token)
        owner = getattr(message, owner_field) or ""
        request_id: str = getattr(message, "request_id")  # noqa: B009  (every mutating payload has one)
        with self.store.transaction():
            replayed = self._ctx.replayed(owner, request_id, message)
            if replayed is not None:
                return replayed
            reply = handler(self._ctx, message, token)
            self._ctx.remember(owner, request_id, message, reply)
        return reply

    def handle_many(self, requests: Sequence[tuple[Model, str | None]]) -> list[Model | Exception]:
        """Handle several requests in **one** store transaction (group commit: one fsync for all), each in its
        own savepoint, in order. Per request: its reply, or the exception :meth:`handle` raised (its writes
        undone, the others unaffected). Nothing is durable before this returns; if the commit fails, every
        entry is that :class:`~.store.StoreError`."""
        results: list[Model | Exception] = []
        try:
            with self.store.transaction():
                for message, token in requests:
                    try:
                        results.append(self.handle(message, token=token))
                    except Exception as exc:  # handed to that request's caller, who re-raises it
                        results.append(exc)
        except StoreError as exc:
            return [exc] * len(requests)
        return results

    def answer(self, message: Model, *, token: str | None = None) -> Model:
        """Like :meth:`handle`, but a refusal comes back as the request's reply payload with the error's
        code and field in its ``ei:eiResponse`` (what a transport sends)."""
        try:
            return self.handle(message, token=token)
        except ProtocolError as error:
            return self.error_reply(message, error)

    def error_reply(self, message: Model | None, error: ProtocolError) -> Model:
        """The reply payload carrying ``error`` for ``message`` (see :func:`.replies.error_reply`)."""
        return error_reply(message, error, market_party_id=self.config.market_party_id, now=self.clock())

    def close_gate(self, interval_start: datetime) -> GateResult:
        """Clear an interval (idempotent); see :mod:`.gate`."""
        return close_gate(self._ctx, interval_start)

    def gate_result(self, interval_start: datetime) -> GateResult:
        """The result of an interval closed before."""
        return gate_result(self._ctx, interval_start)

    def position(self, party_id: str, start: datetime, end: datetime) -> Position:
        """A party's position over ``[start, end)`` (operator view; no token)."""
        return position(self.store, party_id, start, end)

    def authorize(self, token: str | None, party_id: str, field: str = "ei:partyID") -> Registration:
        """The active registration of ``party_id`` if ``token`` is its token, else 463 (for transports)."""
        return self._ctx.authorize(token, party_id, field)

    def registered_parties(self) -> list[str]:
        return self.store.registered_parties()
