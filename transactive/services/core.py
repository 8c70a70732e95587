"""``VtnCore``: the sans-I/O VTN. Messages (models) in, reply models out; no sockets, no wall clock.

Every transport drives the same object::

    core = VtnCore(config, SqliteStore("vtn.db"), clock)
    reply = core.handle(request, token=bearer_token)     # raises ProtocolError subclasses (protocol.errors)
    reply = core.answer(request, token=bearer_token)     # never raises a ProtocolError: error replies instead
    result = core.close_gate(interval_start)             # GateResult: transactions, notices, quote

:data:`HANDLERS` maps each request payload to its handler, derived like :data:`MUTATING` from the one
table of requests (:data:`transactive.services.requests.REQUESTS`). Writing requests (:data:`MUTATING`) are
idempotent by ``(party, requestID)``: the reply is stored in the same store transaction as the request's
effects, and a repeated request gets the stored reply (409 if the same id arrives with different content).
Refused requests change nothing and are not remembered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.clock import Clock
from transactive.protocol.errors import NotAllowedError, NotAuthorizedError
from transactive.protocol.identity import KeyProof
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import error_reply
from transactive.services.context import ANONYMOUS, Credentials, ServiceContext
from transactive.services.gate import GateResult, close_gate, gate_result, net_position
from transactive.services.lifecycle import TenderStatus
from transactive.services.positions import Position, position
from transactive.services.requests import BY_PAYLOAD, HANDLERS, MUTATING
from transactive.services.store import (
    GateRow,
    Registration,
    Store,
    StoreError,
    StoreUnavailableError,
    TransactionRow,
)

__all__ = ["HANDLERS", "MUTATING", "VtnCore"]


class VtnCore:
    """The VTN's protocol core over a :class:`Store`, for one :class:`MarketConfig`, reading ``clock``."""

    def __init__(self, config: MarketConfig, store: Store, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._ctx = ServiceContext(config, store, clock)

    def handle(self, message: Model, *, token: str | None = None, proof: KeyProof | None = None,
               auth: Credentials | None = None) -> Model:
        """The reply to a request made with ``token`` and/or a checked signature ``proof`` (or both in
        ``auth``); refusals raise :class:`~transactive.errors.ProtocolError` subclasses carrying the EI
        response code and the offending field. Durable before it returns.

        A writing request's requester must first prove it is the party owning the request (its token, or
        for a registration its key): only then is the reply to an earlier request with the same id looked up,
        so a stored reply (a registration's carries the token) goes to its owner only, and a 409 tells no one
        else that an id exists."""
        kind = BY_PAYLOAD.get(type(message))
        if kind is None:
            raise NotAllowedError(f"{type(message).__tag__} is not a request this VTN accepts", field="/")
        if auth is None:
            auth = Credentials(token, proof) if token is not None or proof is not None else ANONYMOUS
        if kind.owner is None:  # a read: it checks its token once
            return kind.handler(self._ctx, message, auth)
        request_id: str = getattr(message, "request_id")  # noqa: B009  (every writing payload has one)
        with self.store.transaction(), self._ctx.request():
            owner = kind.owner_of(self._ctx, message, auth)
            replayed = self._ctx.replayed(owner, request_id, message)
            if replayed is not None:
                return replayed
            reply = kind.handler(self._ctx, message, auth)
            self._ctx.remember(owner, request_id, message, reply)
        return reply

    def handle_many(self, requests: Sequence[tuple[Model, Credentials]]) -> list[Model | Exception]:
        """Handle several requests in **one** store transaction (group commit: one fsync for all), each in its
        own savepoint, in order. Per request: its reply, or the exception :meth:`handle` raised (its writes
        undone, the others unaffected). Nothing is durable before this returns; if the commit fails, every
        entry is that :class:`~.store.StoreError`. So is a :class:`~.store.StoreUnavailableError` inside one
        request (a full disk, an I/O error): the storage failed, not that request, and the database may have
        undone the whole transaction already, so the whole batch is undone and every request gets it."""
        results: list[Model | Exception] = []
        try:
            with self.store.transaction():
                for message, auth in requests:
                    try:
                        results.append(self.handle(message, auth=auth))
                    except StoreUnavailableError:
                        raise
                    except Exception as exc:  # handed to that request's caller, who re-raises it
                        results.append(exc)
        except StoreError as exc:
            return [exc] * len(requests)
        return results

    def answer(self, message: Model, *, token: str | None = None, proof: KeyProof | None = None) -> Model:
        """Like :meth:`handle`, but a refusal comes back as the request's reply payload with the error's
        code and field in its ``ei:eiResponse`` (what a transport sends)."""
        try:
            return self.handle(message, token=token, proof=proof)
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

    def party_of(self, token: str | None, field: str = "Authorization") -> str:
        """The party whose active registration ``token`` is, else 463 naming ``field``."""
        registration = self.store.registration_by_token(token) if token else None
        if registration is None or not registration.active:
            raise NotAuthorizedError("this needs the party's registration token", field=field)
        return registration.party_id

    def registered_parties(self) -> list[str]:
        return self.store.registered_parties()

    def active_registrations(self) -> list[tuple[str, str]]:
        """``(party_id, token)`` of every active registration (for the VTN's own bookkeeping: a broker's
        credentials)."""
        found = []
        for party in self.store.registered_parties():
            registration = self.store.active_registration(party)
            if registration is not None:
                found.append((party, registration.token))
        return found

    # -- what the VTN's scheduler, health check and fractal link read ------------------------------

    def overdue_intervals(self) -> list[datetime]:
        """Intervals that still have open tenders although their gate time has passed (what a restarted VTN
        must close first), in interval order."""
        now = self.clock()
        starts = {row.interval_start for row in self.store.tenders(status=TenderStatus.OPEN)}
        return sorted(s for s in starts if self.config.gate_time(s) <= now)

    def transactions(self) -> list[TransactionRow]:
        """Every transaction (for recovery: anchoring what is not anchored yet)."""
        return self.store.transactions()

    def cleared_gates(self, limit: int) -> list[GateRow]:
        """The ``limit`` most recently cleared intervals (with a price), latest first."""
        return self.store.gates(limit=limit)

    def net_position(self, interval_start: datetime) -> Decimal:
        """The market's net unmatched kWh after the gate of an interval (see :func:`.gate.net_position`)."""
        return net_position(self.store, interval_start)

    def store_ok(self) -> bool:
        """Can the store be read?"""
        try:
            self.store.gates(limit=1)
        except StoreError:
            return False
        return True
