"""A small OpenADR 2.0b VTN for the probe's own tests: correct as it stands (every case of ``probe --role vtn``
passes against it), and broken on purpose in exactly one way when given a :class:`Breakage`, so that a test
can show the one case that checks that rule fails.

It keeps one VEN's registration in memory, distributes two SIMPLE events to every VEN (one active since a
minute ago, one an hour ahead), requests the first report a VEN registers, takes opts, answers polls with
``oadrResponse``, and refuses (HTTP 400) what is not well-formed or not valid against the 2.0b schema. With a
signer and a verifier it signs its replies and refuses (463) documents whose signature, replay protection or
freshness fails."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web
from lxml import etree

from transactive import schemas
from transactive.codec import decode_element, encode_xml, parse_xml
from transactive.ei.oadr import (
    ActivePeriod,
    EiResponse,
    Event,
    EventDescriptor,
    EventSignal,
    Interval,
    OadrCanceledOpt,
    OadrCanceledPartyRegistration,
    OadrCancelOpt,
    OadrCancelPartyRegistration,
    OadrCreatedEvent,
    OadrCreatedOpt,
    OadrCreatedPartyRegistration,
    OadrCreatedReport,
    OadrCreateOpt,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrEvent,
    OadrPoll,
    OadrQueryRegistration,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrRequestEvent,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
    PayloadFloat,
    Profile,
    SignalPayload,
    Transport,
)
from transactive.ei.oadr.enums import EventStatus, ProfileName, SignalType, TransportName
from transactive.ei.oadr.report import ReportRequest, ReportSpecifier, SpecifierPayload
from transactive.errors import ProtocolError
from transactive.model import Model

__all__ = ["Breakage", "StandIn"]

BASE = "/OpenADR2/Simple/2.0b/"
VTN_ID = "STANDIN-VTN"
_OADR = "http://openadr.org/oadr-2.0b/2012/07"


class Breakage(StrEnum):
    """One way the stand-in breaks 2.0b (its value names the case that must fail)."""

    QUERY_REQUEST_ID = "query-request-id"            # N1_0010: oadrCreatedPartyRegistration echoes another requestID
    QUERY_NO_SIMPLE_HTTP = "query-no-simple-http"    # N1_0010: offers 2.0b over xmpp only
    REGISTRATION_REFUSED = "registration-refused"    # N1_0020: every new registration refused (463)
    REREGISTRATION_NEW_VEN = "reregistration-new-ven"  # N1_0030: registering again gives another venID
    UNKNOWN_VEN_ACCEPTED = "unknown-ven-accepted"    # N1_0040: oadrRequestEvent for an unknown venID: 200
    STATUS_WRONG = "status-wrong"                    # E1_0010: the active event says it is far
    SIMPLE_VALUE = "simple-value"                    # E1_0010: a SIMPLE value of 7 (rule 9)
    UIDS = "uids"                                    # E1_0010: interval uids from 1 (rule 2)
    DURATIONS = "durations"                          # E1_0010: intervals shorter than the active period (rule 8)
    CURRENT_VALUE = "current-value"                  # E1_0010: the pending SIMPLE event's currentValue 2 (rule 14)
    CREATED_EVENT_REFUSED = "created-event-refused"  # E1_0020: oadrCreatedEvent for real events: 452
    NUMBER_DOWN = "number-down"                      # E1_0030: modificationNumber 3, then 2
    SILENT_CHANGE = "silent-change"                  # E1_0030: values change, same modificationNumber
    EVENT_DROPPED = "event-dropped"                  # E1_0040: the active event missing after the first time
    UNKNOWN_EVENT_ACCEPTED = "unknown-event-accepted"  # E1_0050: oadrCreatedEvent about any eventID: 200
    OPT_ID = "opt-id"                                # P1_0010: oadrCreatedOpt names another optID
    CANCELED_OPT_INVALID = "canceled-opt-invalid"    # P1_0020: oadrCanceledOpt not valid against the schema
    REPORT_UNKNOWN_RID = "report-unknown-rid"        # R1_0010: the report request names an rID never offered
    UPDATE_REFUSED = "update-refused"                # R1_0020: oadrUpdateReport for the requested report: 452
    MALFORMED_500 = "malformed-500"                  # G1_0020: a malformed document: HTTP 500
    SCHEMA_INVALID_ACCEPTED = "schema-invalid-accepted"  # G1_0030: a schema-invalid poll answered 200
    UNKNOWN_SERVICE_200 = "unknown-service-200"      # G1_0040: any path answered like the poll service
    UNSIGNED = "unsigned"                            # G1_0050: replies never signed
    REPLAY_ACCEPTED = "replay-accepted"              # G1_0060: no replay memory
    TAMPER_ACCEPTED = "tamper-accepted"              # G1_0070: a digest that does not match is let through
    NO_CLIENT_CERTIFICATE = "no-client-certificate"  # G1_0080: TLS without a client certificate accepted
    CANCELED_VEN_ID = "canceled-ven-id"              # N1_0090: oadrCanceledPartyRegistration names another venID
    CANCELED_STILL_POLLS = "canceled-still-polls"    # N1_0090: a cancelled venID's poll answered 200
    POLL_WRONG_PAYLOAD = "poll-wrong-payload"        # G1_0010: a poll answered with a registration reply


@dataclass
class _Ven:
    ven_id: str
    registration_id: str
    name: str | None
    active: bool = True
    distributions: int = 0


@dataclass
class StandIn:
    """The stand-in VTN (see the module's description); :meth:`app` is its aiohttp application."""

    breakage: Breakage | None = None
    signer: Any = None
    verifier: Any = None
    vens: dict[str, _Ven] = field(default_factory=dict)
    opts: set[str] = field(default_factory=set)
    report_requests: dict[str, str] = field(default_factory=dict)
    count: int = 0
    #: the events' times are fixed from this moment (a VTN's event does not move between distributions)
    epoch: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/OpenADR2/Simple/2.0b/{service}", self.handle)
        return app

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def _reply(self, message: Model, status: int = 200) -> web.Response:
        body = encode_xml(message)
        if self.signer is not None and self.breakage is not Breakage.UNSIGNED:
            body = self.signer.sign(body)
        if self.breakage is Breakage.CANCELED_OPT_INVALID and isinstance(message, OadrCanceledOpt):
            body = body.replace(b"</oadr:oadrCanceledOpt>", b"<oadr:notInTheSchema/></oadr:oadrCanceledOpt>")
        return web.Response(body=body, status=status, content_type="application/xml")

    def _error(self, code: int, text: str, request_id: str = "", ven_id: str | None = None) -> web.Response:
        return self._reply(OadrResponse(response=EiResponse(response_code=code, response_description=text,
                                                            request_id=request_id), ven_id=ven_id))

    async def handle(self, request: web.Request) -> web.Response:
        service = request.match_info["service"]
        if service not in ("EiRegisterParty", "EiEvent", "EiOpt", "EiReport", "OadrPoll") and \
                self.breakage is not Breakage.UNKNOWN_SERVICE_200:
            return web.Response(status=404, text="no such service")
        data = await request.read()
        try:
            root = parse_xml(data)
        except ProtocolError:
            if self.breakage is Breakage.MALFORMED_500:
                return web.Response(status=500, text="internal error")
            return web.Response(status=400, text="not well-formed")
        if not schemas.validate(root).valid and self.breakage is not Breakage.SCHEMA_INVALID_ACCEPTED:
            return web.Response(status=400, text="not valid against the 2.0b schema")
        if self.verifier is not None:
            try:
                verified = self.verifier.verify(root)
                element = verified.message_element
            except Exception as exc:
                problem = str(getattr(exc, "problem", ""))
                if not (self.breakage is Breakage.TAMPER_ACCEPTED and problem == "digest mismatch"):
                    return self._error(463, f"signature refused: {exc}")
                element = self._message_element(root)
        else:
            element = self._message_element(root)
        try:
            message: Model = decode_element(element)
        except ProtocolError:
            if self.breakage is Breakage.SCHEMA_INVALID_ACCEPTED:
                return self._reply(OadrResponse(response=EiResponse(response_code=200, request_id=""), ven_id=None))
            return web.Response(status=400, text="not an OpenADR message")
        return self.answer(message)

    @staticmethod
    def _message_element(root: etree._Element) -> etree._Element:
        holder = root.find(f"{{{_OADR}}}oadrSignedObject")
        assert holder is not None
        return next(c for c in holder if isinstance(c.tag, str))

    # -- the services --

    def _ven(self, ven_id: str | None) -> _Ven | None:
        ven = self.vens.get(ven_id or "")
        return ven if ven is not None and ven.active else None

    def _registration(self, request_id: str, ven: _Ven | None) -> OadrCreatedPartyRegistration:
        transport = TransportName.XMPP if self.breakage is Breakage.QUERY_NO_SIMPLE_HTTP else TransportName.SIMPLE_HTTP
        return OadrCreatedPartyRegistration(
            response=EiResponse(response_code=200, response_description="OK", request_id=request_id),
            registration_id=None if ven is None else ven.registration_id, ven_id=None if ven is None else ven.ven_id,
            vtn_id=VTN_ID, profiles=(Profile(profile_name=ProfileName.V2_0B,
                                             transports=(Transport(transport_name=transport),)),),
            requested_poll_freq=timedelta(seconds=1))

    def answer(self, message: Model) -> web.Response:
        b = self.breakage
        if isinstance(message, OadrQueryRegistration):
            echoed = "someone-else" if b is Breakage.QUERY_REQUEST_ID else message.request_id
            return self._reply(self._registration(echoed, None))
        if isinstance(message, OadrCreatePartyRegistration):
            if message.registration_id is not None:
                ven = next((v for v in self.vens.values() if v.registration_id == message.registration_id), None)
                if ven is None:
                    return self._error(452, "unknown registrationID", message.request_id)
                if b is Breakage.REREGISTRATION_NEW_VEN:
                    ven = _Ven(self._id("ven-"), self._id("reg-"), message.ven_name)
                    self.vens[ven.ven_id] = ven
                return self._reply(self._registration(message.request_id, ven))
            if b is Breakage.REGISTRATION_REFUSED:
                return self._error(463, "registration refused", message.request_id)
            ven = _Ven(self._id("ven-"), self._id("reg-"), message.ven_name)
            self.vens[ven.ven_id] = ven
            return self._reply(self._registration(message.request_id, ven))
        if isinstance(message, OadrRequestEvent):
            ven = self._ven(message.ven_id)
            if ven is None and b is Breakage.UNKNOWN_VEN_ACCEPTED:
                return self._reply(self._distribution(message.request_id, _Ven(message.ven_id, "", None)))
            if ven is None:
                return self._error(463, "unknown venID", message.request_id)
            return self._reply(self._distribution(message.request_id, ven))
        ven_id = getattr(message, "ven_id", None)
        ven = self._ven(ven_id)
        if ven is None and not (isinstance(message, OadrPoll) and b is Breakage.CANCELED_STILL_POLLS):
            return self._error(463, "unknown venID", str(getattr(message, "request_id", "") or ""))
        ok = EiResponse(response_code=200, response_description="OK", request_id="")
        if isinstance(message, OadrPoll):
            if b is Breakage.POLL_WRONG_PAYLOAD and ven is not None:
                return self._reply(self._registration("", ven))
            return self._reply(OadrResponse(response=ok, ven_id=ven_id))
        if isinstance(message, OadrCreatedEvent):
            known = {"event-active", "event-pending"}
            unknown = [r for r in message.event_responses if r.qualified_event_id.event_id not in known]
            if (unknown and b is not Breakage.UNKNOWN_EVENT_ACCEPTED) or (not unknown and b is
                                                                           Breakage.CREATED_EVENT_REFUSED):
                return self._error(452, "no such event", message.response.request_id, ven_id)
            return self._reply(OadrResponse(response=ok.model_copy(update={"request_id": message.response.request_id}),
                                            ven_id=ven_id))
        if isinstance(message, OadrCreateOpt):
            self.opts.add(message.opt_id)
            opt_id = "another-opt" if b is Breakage.OPT_ID else message.opt_id
            return self._reply(OadrCreatedOpt(response=ok.model_copy(update={"request_id": message.request_id}),
                                              opt_id=opt_id))
        if isinstance(message, OadrCancelOpt):
            if message.opt_id not in self.opts:
                return self._error(452, "no such opt", message.request_id, ven_id)
            self.opts.discard(message.opt_id)
            return self._reply(OadrCanceledOpt(response=ok.model_copy(update={"request_id": message.request_id}),
                                               opt_id=message.opt_id))
        if isinstance(message, OadrRegisterReport):
            return self._reply(OadrRegisteredReport(
                response=ok.model_copy(update={"request_id": message.request_id}), ven_id=ven_id,
                report_requests=self._requests(message)))
        if isinstance(message, OadrCreatedReport):
            return self._reply(OadrResponse(response=ok.model_copy(update={"request_id": message.response.request_id}),
                                            ven_id=ven_id))
        if isinstance(message, OadrUpdateReport):
            if b is Breakage.UPDATE_REFUSED or any(r.report_request_id not in self.report_requests
                                                   for r in message.reports):
                return self._error(452, "no such report request", message.request_id, ven_id)
            return self._reply(OadrUpdatedReport(response=ok.model_copy(update={"request_id": message.request_id}),
                                                 ven_id=ven_id))
        if isinstance(message, OadrCancelPartyRegistration):
            assert ven is not None
            ven.active = False
            named = "ven-someone-else" if b is Breakage.CANCELED_VEN_ID else ven.ven_id
            return self._reply(OadrCanceledPartyRegistration(
                response=ok.model_copy(update={"request_id": message.request_id}),
                registration_id=ven.registration_id, ven_id=named))
        return self._error(450, f"{type(message).__name__} is not taken here", "", ven_id)

    def _requests(self, message: OadrRegisterReport) -> tuple[ReportRequest, ...]:
        if not message.reports:
            return ()
        report = message.reports[0]
        rids = [d.r_id for d in report.descriptions]
        if self.breakage is Breakage.REPORT_UNKNOWN_RID:
            rids = ["never-offered"]
        request_id = self._id("rr-")
        self.report_requests[request_id] = report.report_specifier_id
        return (ReportRequest(report_request_id=request_id, report_specifier=ReportSpecifier(
            report_specifier_id=report.report_specifier_id, granularity=timedelta(minutes=1),
            report_back_duration=timedelta(minutes=1),
            specifier_payloads=tuple(SpecifierPayload(r_id=r, reading_type="Direct Read") for r in rids))),)

    # -- events --

    def _distribution(self, request_id: str, ven: _Ven) -> OadrDistributeEvent:
        ven.distributions += 1
        now = self.epoch
        first = ven.distributions == 1
        b = self.breakage
        active_number = (3 if first else 2) if b is Breakage.NUMBER_DOWN else 0
        active_values = (1.0, 2.0) if first or b is not Breakage.SILENT_CHANGE else (2.0, 3.0)
        events = []
        if first or b is not Breakage.EVENT_DROPPED:
            status = EventStatus.FAR if b is Breakage.STATUS_WRONG else EventStatus.ACTIVE
            values = (7.0, 2.0) if b is Breakage.SIMPLE_VALUE else active_values
            events.append(self._event("event-active", active_number, now - timedelta(minutes=1), status, values,
                                      current=values[0], ven=ven))
        current = 2.0 if b is Breakage.CURRENT_VALUE else 0.0
        events.append(self._event("event-pending", 0, now + timedelta(hours=1), EventStatus.FAR, (1.0, 1.0),
                                  current=current, ven=ven))
        return OadrDistributeEvent(
            response=EiResponse(response_code=200, response_description="OK", request_id=request_id),
            request_id=request_id, vtn_id=VTN_ID, events=tuple(events))

    def _event(self, event_id: str, number: int, start: datetime, status: EventStatus, values: tuple[float, ...],
               *, current: float, ven: _Ven) -> OadrEvent:
        b = self.breakage
        step = timedelta(minutes=10)
        first_uid = 1 if b is Breakage.UIDS else 0
        intervals = tuple(Interval(duration=step, uid=str(first_uid + n),
                                   payloads=(SignalPayload(payload=PayloadFloat(value=v)),))
                          for n, v in enumerate(values))
        length = step * len(values) + (timedelta(minutes=5) if b is Breakage.DURATIONS else timedelta())
        created = datetime(2026, 1, 1, tzinfo=UTC)
        descriptor = EventDescriptor(event_id=event_id, modification_number=number, market_context="oadr://standin",
                                     created_date_time=created, event_status=status)
        signal = EventSignal(intervals=intervals, signal_name="SIMPLE", signal_type=SignalType.LEVEL,
                             signal_id=f"{event_id}-signal", current_value=current)
        return OadrEvent(event=Event(descriptor=descriptor, active_period=ActivePeriod(dtstart=start, duration=length),
                                     signals=(signal,)))


def no_client_certificate_context(context: ssl.SSLContext) -> ssl.SSLContext:
    """``context`` asking for a client certificate without requiring one (:attr:`Breakage.NO_CLIENT_CERTIFICATE`)."""
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
