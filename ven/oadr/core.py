"""The OpenADR 2.0b VEN, sans I/O: its state, the requests it makes, and what it does with each message the
VTN sends it.

:class:`OadrVen` holds what a VEN knows (its venID and registrationID, the VTN's ID and poll frequency, the
events it has with their modification numbers and its answers, its opts, its reports) and never touches a
socket or a clock: requests are built by methods (:meth:`OadrVen.create_registration`, :meth:`OadrVen.poll`,
...), their replies checked by :meth:`OadrVen.expect` and taken in by ``on_*`` methods, and everything the
VTN sends unasked (in answer to a poll) goes through :meth:`OadrVen.receive`, which returns a :class:`Step`:
the messages to send next, the events the device must decide on, and whether to register again.

What :meth:`OadrVen.receive` does, by message (the table is :data:`HANDLERS`):

=============================  ==========================================================================
``oadrResponse``               nothing (a 2xx answer: the VTN has nothing for the VEN)
``oadrDistributeEvent``        an :class:`EventBatch`: new and modified events to decide on, cancelled and
                               completed ones to acknowledge and forget; :meth:`OadrVen.answer` then builds
                               the ``oadrCreatedEvent`` (only for ``responseRequired`` always and a new
                               modification number)
``oadrRequestReregistration``  ``oadrResponse``, then register again (``reregister``)
``oadrCancelPartyRegistration`` ``oadrCanceledPartyRegistration``; the registration is forgotten
``oadrCreateReport``           ``oadrCreatedReport``; the reports are scheduled (:mod:`.reports`)
``oadrCancelReport``           the last data when ``reportToFollow``, then ``oadrCanceledReport``
``oadrRegisterReport``         ``oadrRegisteredReport`` asking for nothing (a VEN takes no reports)
``oadrUpdateReport``           ``oadrUpdatedReport``
=============================  ==========================================================================

A refusal by the VTN (a non-2xx ``eiResponse``) is :class:`~transactive.protocol.errors.RequestRefusedError`
with its code; a message that breaks the protocol (another VTN's ID, a reply of the wrong type) is an
:class:`~transactive.errors.InvalidMessageError` or :class:`~transactive.protocol.errors.InvalidIdError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from transactive.ei.oadr.base import EiResponse, OadrMessage, QualifiedEventID
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.enums import OptReason, OptType
from transactive.ei.oadr.event import EventResponse, OadrCreatedEvent, OadrDistributeEvent, OadrRequestEvent
from transactive.ei.oadr.opt import OadrCanceledOpt, OadrCancelOpt, OadrCreatedOpt, OadrCreateOpt
from transactive.ei.oadr.poll import OadrPoll, OadrResponse
from transactive.ei.oadr.registration import (
    OadrCanceledPartyRegistration,
    OadrCancelPartyRegistration,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrQueryRegistration,
    OadrRequestReregistration,
)
from transactive.ei.oadr.report import (
    OadrCanceledReport,
    OadrCancelReport,
    OadrCreatedReport,
    OadrCreateReport,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrUpdatedReport,
    OadrUpdateReport,
    PendingReports,
    ReportRequest,
)
from transactive.ei.oadr.target import Target
from transactive.errors import InvalidMessageError, ResponseCode
from transactive.protocol.errors import InvalidIdError, NotAllowedError, NotAuthorizedError, RequestRefusedError
from transactive.protocol.oadr import DEFAULT_POLL, Service
from transactive.ven.oadr.events import ENDED, ReceivedEvent
from transactive.ven.oadr.reports import ReportBook

__all__ = ["HANDLERS", "EventBatch", "KnownEvent", "OadrVen", "Outgoing", "Step", "ok"]

M = TypeVar("M", bound=OadrMessage)


def ok(request_id: str, description: str = "OK", code: int = ResponseCode.OK) -> EiResponse:
    """An ``ei:eiResponse`` answering the request ``request_id``."""
    return EiResponse(response_code=int(code), response_description=description, request_id=request_id)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to post to the VTN's ``service`` endpoint."""

    service: Service
    message: OadrMessage


@dataclass(slots=True)
class KnownEvent:
    """An event the VEN holds: the version last received and its answer to it (None: not answered)."""

    received: ReceivedEvent
    opt: OptType | None = None

    @property
    def modification_number(self) -> int:
        return self.received.modification_number


@dataclass(frozen=True, slots=True)
class EventBatch:
    """What one ``oadrDistributeEvent`` changed.

    ``to_decide``: new events and new versions of known ones, for the device's handler; ``ended``: new
    versions whose status is cancelled or completed, acknowledged with the VEN's previous answer and then
    forgotten; ``gone``: known events the VTN no longer lists, forgotten without a word."""

    request_id: str
    to_decide: tuple[ReceivedEvent, ...] = ()
    ended: tuple[ReceivedEvent, ...] = ()
    gone: tuple[ReceivedEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """What to do after a message: ``send`` these in order, ask the device about ``events`` (then send
    :meth:`OadrVen.answer`'s reply), register again when ``reregister``; ``cancelled`` says the VTN ended the
    registration."""

    send: tuple[Outgoing, ...] = ()
    events: EventBatch | None = None
    reregister: bool = False
    cancelled: bool = False


@dataclass(slots=True)
class OadrVen:
    """The state of one VEN and its protocol rules (see the module's description).

    ``ven_name`` is how the VEN introduces itself; ``ven_id``/``registration_id`` come from the VTN (keep them
    across restarts to re-register as the same VEN); ``signed`` says the VEN signs its messages
    (``oadrXmlSignature`` in its registration). ``ids`` makes request, opt and report ids (default: UUIDs)."""

    ven_name: str
    ven_id: str | None = None
    registration_id: str | None = None
    vtn_id: str | None = None
    poll_interval: timedelta | None = None
    signed: bool = False
    events: dict[str, KnownEvent] = field(default_factory=dict)
    opts: dict[str, OadrCreateOpt] = field(default_factory=dict)
    reports: ReportBook = field(default_factory=ReportBook)
    ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    # -- checking replies ------------------------------------------------------------------------------

    @staticmethod
    def expect(reply: OadrMessage | None, *types: type[M]) -> M:
        """``reply`` if it is one of ``types`` with a 2xx ``eiResponse``: a refusal is
        :class:`RequestRefusedError` (with the VTN's code and the whole reply), another message
        :class:`InvalidMessageError` (an ``oadrRequestReregistration`` is a 463 refusal: register first)."""
        if isinstance(reply, OadrRequestReregistration):
            raise RequestRefusedError("the VTN asks this VEN to register again", reply=reply,
                                      response_code=ResponseCode.NOT_AUTHORIZED)
        response = getattr(reply, "response", None)
        if isinstance(response, EiResponse) and not 200 <= response.response_code < 300:
            text = response.response_description or f"refused with {response.response_code}"
            raise RequestRefusedError(text, response_code=response.response_code, reply=reply)
        if not isinstance(reply, types):
            got = "an empty body" if reply is None else type(reply).__tag__
            wanted = " or ".join(str(t.__tag__) for t in types)
            raise InvalidMessageError(f"expected {wanted} in reply, got {got}")
        return reply

    def _ven_id(self) -> str:
        if self.ven_id is None:
            raise NotAuthorizedError("not registered: the VTN has not given this VEN a venID yet", field="ei:venID")
        return self.ven_id

    def _check_vtn(self, vtn_id: str | None) -> None:
        if vtn_id and self.vtn_id and vtn_id != self.vtn_id:
            raise InvalidIdError(f"a message from VTN {vtn_id!r}; this VEN is registered with {self.vtn_id!r}",
                                 field="ei:vtnID")

    # -- registration ------------------------------------------------------------------------------

    def query_registration(self) -> OadrQueryRegistration:
        return OadrQueryRegistration(request_id=self.ids())

    def on_query(self, reply: OadrMessage | None) -> OadrCreatedPartyRegistration:
        """Take in the VTN's answer to a registration query: its ID and poll frequency."""
        answer = self.expect(reply, OadrCreatedPartyRegistration)
        self.vtn_id = answer.vtn_id
        self.poll_interval = answer.requested_poll_freq or self.poll_interval
        return answer

    def create_registration(self) -> OadrCreatePartyRegistration:
        """Register (pull model, simple HTTP); with the registrationID and venID kept from before, this is a
        re-registration as the same VEN."""
        return OadrCreatePartyRegistration(request_id=self.ids(), registration_id=self.registration_id,
                                           ven_id=self.ven_id, ven_name=self.ven_name, http_pull_model=True,
                                           xml_signature=self.signed)

    def on_registered(self, reply: OadrMessage | None) -> OadrCreatedPartyRegistration:
        """Take in the registration: venID, registrationID, the VTN's ID and poll frequency. An answer without
        a registrationID (how a VTN turns a VEN away) is a 463 refusal."""
        answer = self.expect(reply, OadrCreatedPartyRegistration)
        if not answer.registration_id:
            raise RequestRefusedError("the VTN did not register this VEN (its answer has no registrationID)",
                                      response_code=ResponseCode.NOT_AUTHORIZED, field="ei:registrationID",
                                      reply=answer)
        self.registration_id = answer.registration_id
        self.ven_id = answer.ven_id or self.ven_id
        self.vtn_id = answer.vtn_id
        self.poll_interval = answer.requested_poll_freq or self.poll_interval
        return answer

    def cancel_registration(self) -> OadrCancelPartyRegistration:
        if self.registration_id is None:
            raise NotAuthorizedError("not registered", field="ei:registrationID")
        return OadrCancelPartyRegistration(request_id=self.ids(), registration_id=self.registration_id,
                                           ven_id=self.ven_id)

    def on_canceled(self, reply: OadrMessage | None) -> None:
        self.expect(reply, OadrCanceledPartyRegistration, OadrResponse)
        self.forget_registration()

    def forget_registration(self) -> None:
        """Drop the registration (the venID is kept: a VTN may give it back)."""
        self.registration_id = None
        self.reports.active.clear()

    @property
    def poll_every(self) -> timedelta:
        """The VTN's requested poll frequency (the profile's default until it says one)."""
        return self.poll_interval or DEFAULT_POLL

    # -- events ------------------------------------------------------------------------------------

    def poll(self) -> OadrPoll:
        return OadrPoll(ven_id=self._ven_id())

    def request_events(self, reply_limit: int | None = None) -> OadrRequestEvent:
        return OadrRequestEvent(request_id=self.ids(), ven_id=self._ven_id(), reply_limit=reply_limit)

    def distribute(self, message: OadrDistributeEvent) -> EventBatch:
        """Compare the distributed events with the known ones (nothing changes until :meth:`answer`).

        The list is complete (the VTN sends every active and pending event), so a known event it leaves out
        has ended. A version older than the known one is ignored; the same version needs no answer."""
        self._check_vtn(message.vtn_id)
        if message.response is not None:
            self.expect(message, OadrDistributeEvent)
        to_decide: list[ReceivedEvent] = []
        ended: list[ReceivedEvent] = []
        gone: list[ReceivedEvent] = []
        listed: set[str] = set()
        for oadr_event in message.events:
            descriptor = oadr_event.event.descriptor
            listed.add(descriptor.event_id)
            known = self.events.get(descriptor.event_id)
            received = ReceivedEvent(oadr_event, message.request_id,
                                     previous=known.received.oadr_event if known else None,
                                     previous_opt=known.opt if known else None)
            if known is not None and descriptor.modification_number <= known.modification_number:
                if descriptor.modification_number == known.modification_number and descriptor.event_status in ENDED:
                    gone.append(received)  # completed in time: the same version, so no answer
                continue
            (ended if descriptor.event_status in ENDED else to_decide).append(received)
        gone.extend(k.received for eid, k in self.events.items() if eid not in listed)
        return EventBatch(message.request_id, tuple(to_decide), tuple(ended), tuple(gone))

    def answer(self, batch: EventBatch, opts: Mapping[str, OptType]) -> OadrCreatedEvent | None:
        """Record the device's decisions (``opts``: event ID → opt; a missing one is optOut), forget the
        events that ended, and build the ``oadrCreatedEvent`` for the changes the VTN wants answered (None
        when there are none)."""
        responses: list[EventResponse] = []
        for received in batch.to_decide:
            opt = opts.get(received.event_id, OptType.OPT_OUT)
            self.events[received.event_id] = KnownEvent(received, opt)
            if received.response_required:
                responses.append(self._event_response(batch.request_id, received, opt))
        for received in batch.ended:
            self.events.pop(received.event_id, None)
            if received.response_required:
                acknowledged = received.previous_opt or OptType.OPT_IN
                responses.append(self._event_response(batch.request_id, received, acknowledged))
        for received in batch.gone:
            self.events.pop(received.event_id, None)
        if not responses:
            return None
        # the eiResponse's requestID stays empty: each eventResponse carries the distribution's (2.0b, oadrCreatedEvent)
        return OadrCreatedEvent(response=ok(""), event_responses=tuple(responses),
                                ven_id=self._ven_id())

    @staticmethod
    def _event_response(request_id: str, received: ReceivedEvent, opt: OptType) -> EventResponse:
        qualified = QualifiedEventID(event_id=received.event_id, modification_number=received.modification_number)
        return EventResponse(response_code=ResponseCode.OK, response_description="OK", request_id=request_id,
                             qualified_event_id=qualified, opt_type=opt)

    def created_event(self, event_id: str, opt: OptType, *, request_id: str | None = None) -> OadrCreatedEvent:
        """An ``oadrCreatedEvent`` changing the VEN's answer to a known event (recorded here)."""
        known = self.events.get(event_id)
        if known is None:
            raise InvalidIdError(f"no event {event_id!r} is known", field="ei:eventID")
        known.opt = opt
        rid = request_id or known.received.request_id
        return OadrCreatedEvent(response=ok(""), event_responses=(self._event_response(rid, known.received, opt),),
                                ven_id=self._ven_id())

    # -- opts ------------------------------------------------------------------------------------------

    def create_opt(self, opt_type: OptType, now: datetime, *, reason: OptReason | str = OptReason.ECONOMIC,
                   event_id: str | None = None, available: Sequence[CalendarInterval] = (),
                   market_context: str | None = None, target: Target | None = None,
                   opt_id: str | None = None) -> OadrCreateOpt:
        """An opt: for one known event (``event_id``: its current version), or a schedule of periods
        (``available``) in or out of which the VEN takes part."""
        if (event_id is None) == (not available):
            raise ValueError("an opt is either about an event (event_id) or a schedule (available periods)")
        qualified = None
        if event_id is not None:
            known = self.events.get(event_id)
            if known is None:
                raise InvalidIdError(f"no event {event_id!r} is known", field="ei:eventID")
            qualified = QualifiedEventID(event_id=event_id, modification_number=known.modification_number)
        opt = OadrCreateOpt(opt_id=opt_id or self.ids(), opt_type=opt_type, opt_reason=reason,
                            market_context=market_context, ven_id=self._ven_id(), available=tuple(available),
                            created_date_time=now, request_id=self.ids(), qualified_event_id=qualified,
                            target=target or Target(ven_ids=(self._ven_id(),)))
        self.opts[opt.opt_id] = opt
        return opt

    def on_created_opt(self, opt: OadrCreateOpt, reply: OadrMessage | None) -> None:
        try:
            self.expect(reply, OadrCreatedOpt)
        except Exception:
            self.opts.pop(opt.opt_id, None)
            raise

    def cancel_opt(self, opt_id: str) -> OadrCancelOpt:
        if opt_id not in self.opts:
            raise InvalidIdError(f"no opt {opt_id!r} was created", field="ei:optID")
        return OadrCancelOpt(request_id=self.ids(), opt_id=opt_id, ven_id=self._ven_id())

    def on_canceled_opt(self, opt_id: str, reply: OadrMessage | None) -> None:
        self.expect(reply, OadrCanceledOpt)
        self.opts.pop(opt_id, None)

    # -- reports -----------------------------------------------------------------------------------------

    def register_reports(self, now: datetime) -> OadrRegisterReport:
        return self.reports.register_report(self.ids(), self.ven_id, now)

    def on_registered_reports(self, reply: OadrMessage | None, now: datetime) -> Step:
        """Start what the VTN asked for in its ``oadrRegisteredReport``; the step sends ``oadrCreatedReport``
        when it asked for anything."""
        answer = self.expect(reply, OadrRegisteredReport)
        if not answer.report_requests:
            return Step()
        return Step(send=(self._created_report(answer.report_requests, answer.response.request_id, now),))

    def _created_report(self, requests: Sequence[ReportRequest], request_id: str, now: datetime) -> Outgoing:
        _accepted, refused = self.reports.accept(requests, now)
        response = ok(request_id) if not refused else ok(
            request_id, f"no such report: {', '.join(refused)}", ResponseCode.INVALID_ID)
        message = OadrCreatedReport(response=response, pending_reports=PendingReports(
            report_request_ids=self.reports.pending()), ven_id=self.ven_id)
        return Outgoing(Service.REPORT, message)

    def due_updates(self, now: datetime) -> list[OadrUpdateReport]:
        return self.reports.due_updates(now, self.ven_id, iter(self.ids, None))

    def on_updated_report(self, reply: OadrMessage | None) -> Step:
        """An ``oadrUpdatedReport`` may cancel reports: then the step answers ``oadrCanceledReport``."""
        answer = self.expect(reply, OadrUpdatedReport, OadrResponse)
        if isinstance(answer, OadrUpdatedReport) and answer.cancel_report is not None:
            return self._cancel_report(answer.cancel_report, None)
        return Step()

    # -- messages the VTN sends unasked -------------------------------------------------------------

    def receive(self, message: OadrMessage | None, now: datetime) -> Step:
        """What to do with a message the VTN sent (a poll's answer); see :data:`HANDLERS`."""
        if message is None:
            return Step()
        handler = HANDLERS.get(type(message))
        if handler is None:
            raise NotAllowedError(f"{type(message).__tag__} is not a message a VTN sends a VEN",
                                  field=type(message).__tag__)
        return handler(self, message, now)

    def _on_response(self, message: OadrMessage, now: datetime) -> Step:
        self.expect(message, OadrResponse)
        return Step()

    def _on_distribute(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrDistributeEvent)
        return Step(events=self.distribute(message))

    def _on_reregistration(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrRequestReregistration)
        reply = OadrResponse(response=ok(""), ven_id=self.ven_id)
        return Step(send=(Outgoing(Service.REGISTER_PARTY, reply),), reregister=True)

    def _on_cancel_registration(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrCancelPartyRegistration)
        if self.registration_id is not None and message.registration_id != self.registration_id:
            reply = OadrCanceledPartyRegistration(
                response=ok(message.request_id, "not this VEN's registration", ResponseCode.INVALID_ID),
                registration_id=message.registration_id, ven_id=self.ven_id)
            return Step(send=(Outgoing(Service.REGISTER_PARTY, reply),))
        reply = OadrCanceledPartyRegistration(response=ok(message.request_id),
                                              registration_id=message.registration_id, ven_id=self.ven_id)
        self.forget_registration()
        return Step(send=(Outgoing(Service.REGISTER_PARTY, reply),), cancelled=True)

    def _on_create_report(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrCreateReport)
        return Step(send=(self._created_report(message.report_requests, message.request_id, now),))

    def _on_cancel_report(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrCancelReport)
        return self._cancel_report(message, now)

    def _cancel_report(self, message: OadrCancelReport, now: datetime | None) -> Step:
        stopped = self.reports.cancel(message.report_request_ids)
        send: list[Outgoing] = []
        if message.report_to_follow and now is not None:
            send.extend(Outgoing(Service.REPORT, self.reports.flush(r, now, self.ven_id, self.ids()))
                        for r in stopped if r.collected)
        send.append(Outgoing(Service.REPORT, OadrCanceledReport(
            response=ok(message.request_id), pending_reports=PendingReports(report_request_ids=self.reports.pending()),
            ven_id=self.ven_id)))
        return Step(send=tuple(send))

    def _on_register_report(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrRegisterReport)
        reply = OadrRegisteredReport(response=ok(message.request_id), ven_id=self.ven_id)
        return Step(send=(Outgoing(Service.REPORT, reply),))

    def _on_update_report(self, message: OadrMessage, now: datetime) -> Step:
        assert isinstance(message, OadrUpdateReport)
        reply = OadrUpdatedReport(response=ok(message.request_id), ven_id=self.ven_id)
        return Step(send=(Outgoing(Service.REPORT, reply),))


#: message the VTN sends → what the VEN does with it (:meth:`OadrVen.receive`)
HANDLERS: dict[type[OadrMessage], Callable[[OadrVen, OadrMessage, datetime], Step]] = {
    OadrResponse: OadrVen._on_response,
    OadrDistributeEvent: OadrVen._on_distribute,
    OadrRequestReregistration: OadrVen._on_reregistration,
    OadrCancelPartyRegistration: OadrVen._on_cancel_registration,
    OadrCreateReport: OadrVen._on_create_report,
    OadrCancelReport: OadrVen._on_cancel_report,
    OadrRegisterReport: OadrVen._on_register_report,
    OadrUpdateReport: OadrVen._on_update_report,
}
