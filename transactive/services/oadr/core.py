"""``OadrCore``: the sans-I/O OpenADR 2.0b VTN. A decoded message and what the transport proved about its
sender (:class:`~.context.Peer`) in, the reply model out; durable before it returns.

:data:`REQUESTS` is the one table of what the VTN accepts: each payload's simple-HTTP service (a message
posted to another service is refused with 451, as 2.0b routes each message to one service), its handler,
and for requests that write something a retry must not write twice, the key a repeated ``requestID`` is
recognised by (the stored reply is sent again; the same id with other content is 409). Refusals are
:class:`~transactive.protocol.errors.ServiceError` s naming the field; :meth:`OadrCore.error_reply` turns one
into the reply payload 2.0b pairs with the request, its ``eiResponse`` carrying the code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from transactive.codec import decode_xml, encode_xml
from transactive.ei.oadr import (
    EiResponse,
    OadrCanceledOpt,
    OadrCanceledPartyRegistration,
    OadrCanceledReport,
    OadrCancelOpt,
    OadrCancelPartyRegistration,
    OadrCancelReport,
    OadrCreatedEvent,
    OadrCreatedOpt,
    OadrCreatedReport,
    OadrCreateOpt,
    OadrCreatePartyRegistration,
    OadrCreateReport,
    OadrDistributeEvent,
    OadrPoll,
    OadrQueryRegistration,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrRequestEvent,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
)
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.clock import Clock, system_clock
from transactive.protocol.errors import ConflictError, NotAllowedError, NotAuthorizedError
from transactive.protocol.oadr import Service
from transactive.services.oadr.context import OadrContext, OadrSettings, Peer
from transactive.services.oadr.events import cancel_opt, create_opt, created_event, request_event
from transactive.services.oadr.poll import next_message, quick_poll
from transactive.services.oadr.poll import poll as poll_handler
from transactive.services.oadr.records import VenRecord
from transactive.services.oadr.registration import (
    acknowledged,
    cancel_registration,
    canceled_registration,
    create_registration,
    created_registration,
    query_registration,
)
from transactive.services.oadr.reports import (
    cancel_report,
    canceled_report,
    create_report,
    created_report,
    register_report,
    registered_report,
    update_report,
)
from transactive.services.store import Store, StoredReply, StoreError

__all__ = ["BY_PAYLOAD", "REQUESTS", "OadrCore", "OadrRequest"]

Handler = Callable[[OadrContext, Any, Peer], Model]



def _by_ven(message: Any) -> str | None:
    return None if message.ven_id is None else f"oadr:{message.ven_id}"


@dataclass(frozen=True, slots=True)
class OadrRequest:
    payload: type[Model]
    service: Service
    handler: Handler
    #: for a request a retry must not repeat: the key its ``requestID`` is remembered under (None: none)
    replay_key: Callable[[Any], str | None] | None = None


REQUESTS: tuple[OadrRequest, ...] = (
    OadrRequest(OadrQueryRegistration, Service.REGISTER_PARTY, query_registration),
    OadrRequest(OadrCreatePartyRegistration, Service.REGISTER_PARTY, create_registration),
    OadrRequest(OadrCancelPartyRegistration, Service.REGISTER_PARTY, cancel_registration),
    OadrRequest(OadrCanceledPartyRegistration, Service.REGISTER_PARTY, canceled_registration),
    OadrRequest(OadrResponse, Service.REGISTER_PARTY, acknowledged),
    OadrRequest(OadrRequestEvent, Service.EVENT, request_event),
    OadrRequest(OadrCreatedEvent, Service.EVENT, created_event),
    OadrRequest(OadrCreateOpt, Service.OPT, create_opt),
    OadrRequest(OadrCancelOpt, Service.OPT, cancel_opt),
    OadrRequest(OadrRegisterReport, Service.REPORT, register_report, _by_ven),
    OadrRequest(OadrRegisteredReport, Service.REPORT, registered_report),
    OadrRequest(OadrCreateReport, Service.REPORT, create_report),
    OadrRequest(OadrCreatedReport, Service.REPORT, created_report),
    OadrRequest(OadrUpdateReport, Service.REPORT, update_report, _by_ven),
    OadrRequest(OadrCancelReport, Service.REPORT, cancel_report),
    OadrRequest(OadrCanceledReport, Service.REPORT, canceled_report),
    OadrRequest(OadrPoll, Service.POLL, poll_handler),
)

BY_PAYLOAD: dict[type[Model], OadrRequest] = {r.payload: r for r in REQUESTS}


def _ok(request_id: str) -> EiResponse:
    return EiResponse(response_code=200, response_description="OK", request_id=request_id)


class OadrCore:
    """The OpenADR 2.0b services over a :class:`Store`."""

    def __init__(self, store: Store, clock: Clock, settings: OadrSettings | None = None, *,
                 wall: Clock = system_clock) -> None:
        """``clock`` is the market's (event times); ``wall`` the real time signatures are stamped with."""
        self.ctx = OadrContext(settings or OadrSettings(), store, clock)
        self.wall = wall

    @property
    def settings(self) -> OadrSettings:
        return self.ctx.settings

    @property
    def store(self) -> Store:
        return self.ctx.store

    def kind_of(self, message: Model, service: Service | str | None) -> OadrRequest:
        kind = BY_PAYLOAD.get(type(message))
        if kind is None:
            raise NotAllowedError(f"{type(message).__tag__} is not a message a VEN sends to a VTN",
                                  field="oadr:oadrSignedObject")
        if service is not None and kind.service != service:
            raise NotAllowedError(f"{type(message).__tag__} belongs to {kind.service.value}, not {service}",
                                  field="oadr:oadrSignedObject")
        return kind

    def quick(self, message: Model, peer: Peer, service: Service | str | None = None) -> Model | None:
        """The reply without a store transaction when there is one, else None: a poll with nothing waiting,
        and ``oadrQueryRegistration`` (it writes nothing). Refusals raise as in :meth:`handle`."""
        kind = type(message)
        if (kind is not OadrPoll and kind is not OadrQueryRegistration) or peer.nonce is not None:
            return None  # (a signed message records its nonce: a transaction)
        self.kind_of(message, service)
        self._check_signed(peer)
        if isinstance(message, OadrQueryRegistration):
            return query_registration(self.ctx, message, peer)
        assert isinstance(message, OadrPoll)
        return quick_poll(self.ctx, message, peer)

    def _check_signed(self, peer: Peer) -> None:
        if self.settings.require_signatures and not peer.signed:
            raise NotAuthorizedError("this VTN requires XML signatures: the message is not signed",
                                     field="ds:Signature")

    def handle(self, message: Model, peer: Peer, service: Service | str | None = None) -> Model:
        """The reply; refusals raise :class:`~transactive.errors.ProtocolError` subclasses. Durable before it
        returns."""
        kind = self.kind_of(message, service)
        self._check_signed(peer)
        try:
            with self.store.transaction():
                if peer.nonce is not None:
                    self._record_nonce(peer)
                key = None if kind.replay_key is None else kind.replay_key(message)
                request_id: str = getattr(message, "request_id", "")
                if key is not None:
                    replayed = self._replayed(key, request_id, message, peer)
                    if replayed is not None:
                        return replayed
                reply = kind.handler(self.ctx, message, peer)
                if key is not None:
                    self.store.put_reply(StoredReply(key, request_id, _digest(message), encode_xml(reply).decode()))
                return reply
        except BaseException:
            self.ctx.forget()
            raise

    def _record_nonce(self, peer: Peer) -> None:
        assert peer.nonce is not None
        now = self.wall()
        seen = peer.signed_at or now
        if not self.store.remember_nonce(peer.nonce, seen, min(now, seen) - self.settings.nonce_window):
            raise NotAuthorizedError("the signature's nonce was seen before: a replayed message",
                                     field="ds:Signature//dsp:nonce")

    def _replayed(self, key: str, request_id: str, message: Model, peer: Peer) -> Model | None:
        stored = self.store.reply_for(key, request_id)
        if stored is None:
            return None
        if stored.digest != _digest(message):
            raise ConflictError(f"requestID {request_id!r} was used before with other content", field="pyld:requestID")
        reply: Model = decode_xml(stored.reply)
        ven_id = getattr(reply, "ven_id", None)
        if ven_id:  # only the VEN it was for may see it again
            ven = self.ctx.find_ven(ven_id)
            if ven is not None:
                self.ctx.check_fingerprint(ven, peer)
        return reply

    def handle_many(self, batch: Sequence[tuple[Model, Peer, Service | str | None]]) -> list[Model | Exception]:
        """Several requests in one store transaction (one fsync), each in its own savepoint; per request its
        reply or its exception. A failed commit fails them all with that :class:`StoreError`."""
        results: list[Model | Exception] = []
        try:
            with self.store.transaction():
                for message, peer, service in batch:
                    try:
                        results.append(self.handle(message, peer, service))
                    except StoreError as exc:
                        if type(exc) is not StoreError:  # storage unavailable: the whole batch is lost
                            raise
                        results.append(exc)
                    except Exception as exc:  # handed to that request's caller
                        results.append(exc)
        except StoreError as exc:
            self.ctx.forget()
            return [exc] * len(batch)
        return results

    def error_reply(self, message: Model | None, error: ProtocolError) -> Model:
        """The reply payload 2.0b pairs with ``message`` (an ``oadrResponse`` for a message that did not decode),
        carrying ``error``'s code and description (with the field it names)."""
        request_id = str(getattr(message, "request_id", "") or "")
        if isinstance(message, OadrCreatedEvent | OadrCreatedReport | OadrCanceledReport | OadrRegisteredReport |
                      OadrResponse | OadrCanceledPartyRegistration):
            request_id = message.response.request_id
        description = str(error)
        if error.errors:
            description = f"{description} ({error.errors[0].path})"
        response = EiResponse(response_code=error.response_code, response_description=description[:1000],
                              request_id=request_id)
        ven_id = getattr(message, "ven_id", None)
        try:
            return self._error_reply(message, response, ven_id)
        except (ProtocolError, ValueError):  # the paired reply cannot carry it: the plain answer always can
            return OadrResponse(response=response, ven_id=ven_id if isinstance(ven_id, str) else None)

    def _error_reply(self, message: Model | None, response: EiResponse, ven_id: Any) -> Model:
        request_id = response.request_id
        if isinstance(message, OadrQueryRegistration | OadrCreatePartyRegistration):
            reply = created_registration(self.ctx, request_id, None)
            return reply.model_copy(update={"response": response})
        if isinstance(message, OadrCancelPartyRegistration):
            return OadrCanceledPartyRegistration(response=response, registration_id=message.registration_id,
                                                 ven_id=ven_id)
        if isinstance(message, OadrRequestEvent):
            return OadrDistributeEvent(response=response, request_id=request_id, vtn_id=self.settings.vtn_id)
        if isinstance(message, OadrCreateOpt):
            return OadrCreatedOpt(response=response, opt_id=message.opt_id)
        if isinstance(message, OadrCancelOpt):
            return OadrCanceledOpt(response=response, opt_id=message.opt_id)
        if isinstance(message, OadrRegisterReport):
            return OadrRegisteredReport(response=response, ven_id=ven_id)
        if isinstance(message, OadrCreateReport):
            return OadrCreatedReport(response=response, ven_id=ven_id)
        if isinstance(message, OadrUpdateReport):
            return OadrUpdatedReport(response=response, ven_id=ven_id)
        if isinstance(message, OadrCancelReport):
            return OadrCanceledReport(response=response, ven_id=ven_id)
        return OadrResponse(response=response, ven_id=ven_id)

    # -- what the operator and the market bridge do (each in its own transaction) --

    def operate(self, action: Callable[[OadrContext], Any]) -> Any:
        """Run an operator action in one store transaction (caches dropped if it fails)."""
        try:
            with self.store.transaction():
                return action(self.ctx)
        except BaseException:
            self.ctx.forget()
            raise

    def vens(self) -> list[VenRecord]:
        return sorted(self.ctx.vens().values(), key=lambda v: (v.ven_name, v.registered_at))

    def pushable(self) -> list[VenRecord]:
        """Active push VENs (registered with a transport address and ``oadrHttpPullModel`` false) with
        something waiting."""
        return [v for v in self.ctx.push_vens() if self.ctx.is_dirty(v.ven_id)]

    def next_for(self, ven: VenRecord) -> tuple[Model, Callable[[OadrContext], None]] | None:
        """The next message for a push VEN and what marks it delivered (run it with :meth:`operate` once the
        VEN accepted it); None: nothing waits."""
        found: tuple[Model, Callable[[OadrContext], None]] | None = self.operate(
            lambda ctx: next_message(ctx, ven))
        return found


def _digest(message: Model) -> str:
    return hashlib.sha256(message.model_dump_json().encode()).hexdigest()
