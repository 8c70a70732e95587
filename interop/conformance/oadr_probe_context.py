"""The suite of ``probe --role vtn --standard openadr20b`` and what its cases share: the VEN the probe plays.

:class:`ProbeContext` keeps the probe's registration (registering on first need, so that any ``--cases``
selection runs), the distributions seen (for the cases that compare them), the report requests, the opts it
made; it answers what a poll brings as a VEN must (report registrations and requests, cancellations) and
never opts in to an event or sends load. :meth:`ProbeContext.cleanup` cancels what the probe created.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from transactive.ei.oadr.base import OadrMessage, QualifiedEventID
from transactive.ei.oadr.enums import OptType, ResponseRequired
from transactive.ei.oadr.event import EventResponse, OadrCreatedEvent, OadrDistributeEvent, OadrRequestEvent
from transactive.ei.oadr.opt import OadrCanceledOpt, OadrCancelOpt
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
    OadrUpdateReport,
    PendingReports,
    ReportRequest,
)
from transactive.errors import TransactiveError
from transactive.interop.conformance.checks import ensure, fail
from transactive.interop.conformance.model import CaseFailed, CaseSkipped, Options, Standard
from transactive.interop.conformance.oadr_probe_events import Seen
from transactive.interop.conformance.oadr_probe_rules import (
    CREATED_EVENT,
    EXCHANGE_PATTERN,
    OPT,
    POLL,
    QUERY_REGISTRATION,
    REGISTRATION,
)
from transactive.interop.conformance.oadr_probe_session import ProbeSession, new_id, tag_of
from transactive.interop.conformance.rules import OADR_HTTP_CODES
from transactive.interop.conformance.suite import Suite
from transactive.protocol.oadr import Service
from transactive.transport.base import TransportError
from transactive.ven.oadr.core import ok

__all__ = ["POLL_ANSWERS", "SUITE", "ProbeContext"]

_log = logging.getLogger("transactive.conformance")

SUITE: Suite[ProbeContext] = Suite(Standard.OPENADR20B, "vtn", "OpenADR 2.0b VTN (the kit plays a pulling VEN)")

#: what a VTN may answer a poll with
POLL_ANSWERS: tuple[type[OadrMessage], ...] = (
    OadrResponse, OadrDistributeEvent, OadrCreateReport, OadrRegisterReport, OadrCancelReport, OadrUpdateReport,
    OadrCancelPartyRegistration, OadrRequestReregistration)
#: the poll interval the probe uses when the VTN asks for none
_DEFAULT_POLL = 10.0


@dataclass
class ProbeContext:
    """The VEN the probe plays, shared by the cases (see the module's description)."""

    session: ProbeSession
    options: Options
    party: str
    vtn_id: str | None = None
    ven_id: str | None = None
    registration_id: str | None = None
    #: oadrRequestedOadrPollFreq, seconds
    poll_seconds: float | None = None
    cancelled: bool = False
    distributions: list[Seen] = field(default_factory=list)
    #: eventID -> the modificationNumber the probe answered
    answered: dict[str, int] = field(default_factory=dict)
    report_requests: list[ReportRequest] = field(default_factory=list)
    #: reportSpecifierID -> its rIDs, as the probe registered them
    offered: dict[str, set[str]] = field(default_factory=dict)
    reports_registered: bool = False
    open_opts: list[str] = field(default_factory=list)
    observed: bool = False
    reregistration_asked: bool = False
    queried: bool = False
    registration_failed: str | None = None
    events_failed: str | None = None

    # -- registration ----------------------------------------------------------------------------------

    async def query(self) -> OadrCreatedPartyRegistration:
        self.queried = True
        request = OadrQueryRegistration(request_id=new_id())
        answer = await self.session.send(Service.REGISTER_PARTY, request)
        reply = self.session.accepted(answer, request, (OadrCreatedPartyRegistration,), QUERY_REGISTRATION)
        assert isinstance(reply, OadrCreatedPartyRegistration)
        self.vtn_id = reply.vtn_id
        self._poll_freq(reply)
        return reply

    def _poll_freq(self, reply: OadrCreatedPartyRegistration) -> None:
        if reply.requested_poll_freq is not None:
            self.poll_seconds = reply.requested_poll_freq.total_seconds()

    def registration_request(self, *, again: bool = False) -> OadrCreatePartyRegistration:
        return OadrCreatePartyRegistration(
            request_id=new_id(), registration_id=self.registration_id if again else None,
            ven_id=self.ven_id if again else None, ven_name=self.party, http_pull_model=True,
            xml_signature=self.session.signer is not None)

    async def register(self) -> OadrCreatedPartyRegistration:
        """Register as the probe's party (query first, as a VEN does). A refused registration fails the case
        that tried; the later cases that need one are skipped, saying why."""
        if self.registration_failed is not None:
            raise CaseSkipped(f"the probe could not register: {self.registration_failed}")
        if not self.queried:  # once: a query that failed fails its case, not every later one
            await self.query()
        try:
            return await self._register()
        except CaseFailed as failed:
            self.registration_failed = failed.detail
            raise

    async def _register(self) -> OadrCreatedPartyRegistration:
        request = self.registration_request()
        answer = await self.session.send(Service.REGISTER_PARTY, request)
        reply = self.session.accepted(answer, request, (OadrCreatedPartyRegistration,), REGISTRATION)
        assert isinstance(reply, OadrCreatedPartyRegistration)
        ensure(reply.ven_id, REGISTRATION, "the accepted registration carries no venID")
        ensure(reply.registration_id, REGISTRATION, "the accepted registration carries no registrationID")
        self.ven_id, self.registration_id = reply.ven_id, reply.registration_id
        self.session.ven_id = reply.ven_id
        self.cancelled = False
        self._poll_freq(reply)
        return reply

    async def registered(self) -> str:
        """The probe's venID, registering first if needed."""
        if self.ven_id is None or self.cancelled:
            await self.register()
        assert self.ven_id is not None
        return self.ven_id

    # -- events ----------------------------------------------------------------------------------------

    async def request_events(self) -> OadrDistributeEvent:
        """oadrRequestEvent, its answer checked and kept. Once an answer failed, the later event cases that
        need one are skipped, saying why (the case that asked has failed)."""
        if self.events_failed is not None:
            raise CaseSkipped(f"the VTN's answer to oadrRequestEvent failed: {self.events_failed}")
        try:
            return await self._request_events()
        except CaseFailed as failed:
            self.events_failed = failed.detail
            raise

    async def _request_events(self) -> OadrDistributeEvent:
        ven_id = await self.registered()
        request = OadrRequestEvent(request_id=new_id(), ven_id=ven_id)
        answer = await self.session.send(Service.EVENT, request)
        reply = self.session.accepted(answer, request, (OadrDistributeEvent,), EXCHANGE_PATTERN)
        assert isinstance(reply, OadrDistributeEvent)
        self.distributions.append(Seen(datetime.now(UTC), f"the reply to oadrRequestEvent {request.request_id}",
                                       reply, answer.body))
        return reply

    async def latest_events(self) -> OadrDistributeEvent:
        """The last distribution seen, asking for one if none was."""
        if not self.distributions:
            await self.request_events()
        return self.distributions[-1].message

    def created_event(self, distribution: OadrDistributeEvent, *, all_events: bool = False) -> OadrCreatedEvent | None:
        """The probe's answer (optOut: it controls no load) to the events of ``distribution`` that ask for one
        and that it did not answer at that version yet (``all_events``: answered or not)."""
        assert self.ven_id is not None
        responses = []
        for item in distribution.events:
            d = item.event.descriptor
            if item.response_required is not ResponseRequired.ALWAYS:
                continue
            if not all_events and self.answered.get(d.event_id) == d.modification_number:
                continue
            responses.append(EventResponse(
                response_code=200, response_description="OK", request_id=distribution.request_id,
                qualified_event_id=QualifiedEventID(event_id=d.event_id, modification_number=d.modification_number),
                opt_type=OptType.OPT_OUT))
        if not responses:
            return None
        # the eiResponse's requestID stays empty: each eventResponse carries the distribution's (2.0b EiEvent)
        return OadrCreatedEvent(response=ok(""), event_responses=tuple(responses),
                                ven_id=self.ven_id)

    async def answer_events(self, distribution: OadrDistributeEvent, *, all_events: bool = False) -> int:
        """Send the probe's oadrCreatedEvent for ``distribution`` (see :meth:`created_event`); how many events
        it answered."""
        message = self.created_event(distribution, all_events=all_events)
        if message is None:
            return 0
        answer = await self.session.send(Service.EVENT, message)
        reply = self.session.accepted(answer, message, (OadrResponse,), CREATED_EVENT)
        assert isinstance(reply, OadrResponse)
        code = reply.response.response_code
        ensure(code == 200, CREATED_EVENT, f"oadrCreatedEvent acknowledged with code {code}, not 200")
        for response in message.event_responses:
            q = response.qualified_event_id
            self.answered[q.event_id] = q.modification_number
        return len(message.event_responses)

    # -- polling ---------------------------------------------------------------------------------------

    async def poll(self) -> OadrMessage | None:
        """One oadrPoll, its answer checked (:data:`POLL_ANSWERS`) and handled as a VEN must."""
        ven_id = await self.registered()
        request = OadrPoll(ven_id=ven_id)
        answer = await self.session.send(Service.POLL, request)
        ensure(answer.status < 500, OADR_HTTP_CODES, f"oadrPoll answered with HTTP {answer.status}")
        ensure(answer.status == 200, POLL, f"oadrPoll answered with HTTP {answer.status}")
        reply = self.session.read(answer, "the reply to oadrPoll")
        message = reply.message
        if message is None:
            return None
        if not isinstance(message, POLL_ANSWERS):
            fail(POLL, f"oadrPoll answered with {tag_of(message)}, not a message a VTN sends a VEN")
        self.session.check_ven_id(message, "the reply to oadrPoll")
        await self.handle(message, answer.body)
        return message

    async def handle(self, message: OadrMessage, document: bytes = b"") -> None:
        """Do what a message a poll brought (in ``document``) asks of a VEN."""
        assert self.ven_id is not None
        if isinstance(message, OadrDistributeEvent):
            label = f"the reply to oadrPoll #{len(self.distributions) + 1}"
            self.distributions.append(Seen(datetime.now(UTC), label, message, document))
            await self.answer_events(message)
        elif isinstance(message, OadrRegisterReport):
            await self._acknowledge(Service.REPORT, OadrRegisteredReport(response=ok(message.request_id),
                                                                         ven_id=self.ven_id))
        elif isinstance(message, OadrCreateReport):
            self.report_requests.extend(message.report_requests)
            await self._acknowledge(Service.REPORT, OadrCreatedReport(
                response=ok(message.request_id), ven_id=self.ven_id,
                pending_reports=PendingReports(report_request_ids=tuple(
                    r.report_request_id for r in self.report_requests))))
        elif isinstance(message, OadrCancelReport):
            gone = set(message.report_request_ids)
            self.report_requests = [r for r in self.report_requests if r.report_request_id not in gone]
            await self._acknowledge(Service.REPORT, OadrCanceledReport(
                response=ok(message.request_id), ven_id=self.ven_id,
                pending_reports=PendingReports(report_request_ids=tuple(
                    r.report_request_id for r in self.report_requests))))
        elif isinstance(message, OadrCancelPartyRegistration):
            await self._acknowledge(Service.REGISTER_PARTY, OadrCanceledPartyRegistration(
                response=ok(message.request_id), registration_id=message.registration_id, ven_id=self.ven_id))
            self.cancelled = True
        elif isinstance(message, OadrRequestReregistration):
            self.reregistration_asked = True

    async def _acknowledge(self, service: Service, message: OadrMessage) -> None:
        answer = await self.session.send(service, message)
        if answer.status == 200 and not answer.body.strip():
            return  # an empty 200 is how some VTNs acknowledge an acknowledgement
        self.session.accepted(answer, message, (OadrResponse,), EXCHANGE_PATTERN)

    async def observe(self) -> int:
        """Poll and ask for events for ``observe_seconds`` at the VTN's poll frequency (bounded so that at least
        three rounds fit); the number of rounds. Done once per run."""
        if self.observed:
            return 0
        self.observed = True
        await self.registered()
        budget = max(self.options.observe_seconds, 0.0)
        every = min(max(self.poll_seconds or _DEFAULT_POLL, 0.2), max(budget / 3, 0.2))
        deadline = time.monotonic() + budget
        rounds = 0
        while rounds < 2 or time.monotonic() < deadline:
            await self.poll()
            await self.request_events()
            rounds += 1
            if time.monotonic() + every > deadline and rounds >= 2:
                break
            await asyncio.sleep(every)
        return rounds

    def evidence_again(self, detail: str) -> None:
        """Record again the distributions ``detail`` names (received earlier in the run, maybe during another
        case), so that the case failing on them carries them as its evidence."""
        for seen in self.distributions:
            if seen.label in detail and seen.document:
                self.session.recorder.record("received", f"{seen.label} (received at {seen.at.isoformat()})",
                                             seen.document)

    # -- the end ----------------------------------------------------------------------------------------

    async def cancel_opt(self, opt_id: str) -> OadrCanceledOpt | None:
        assert self.ven_id is not None
        request = OadrCancelOpt(request_id=new_id(), opt_id=opt_id, ven_id=self.ven_id)
        answer = await self.session.send(Service.OPT, request)
        reply = self.session.accepted(answer, request, (OadrCanceledOpt,), OPT)
        assert isinstance(reply, OadrCanceledOpt)
        if opt_id in self.open_opts:
            self.open_opts.remove(opt_id)
        return reply

    async def cleanup(self) -> None:
        """Cancel what the probe created and the cases left (opts, the registration); failures are logged."""
        try:
            for opt_id in list(self.open_opts):
                await self.cancel_opt(opt_id)
            if self.ven_id is not None and self.registration_id is not None and not self.cancelled:
                request = OadrCancelPartyRegistration(request_id=new_id(), registration_id=self.registration_id,
                                                      ven_id=self.ven_id)
                await self.session.send(Service.REGISTER_PARTY, request)
                self.cancelled = True
        except (TransportError, TransactiveError, CaseFailed) as exc:  # the cases have run: a log line, naming
            left = [f"opt {o}" for o in self.open_opts] + ([] if self.cancelled else ["the registration"])
            _log.warning("conformance probe: cleaning up at the VTN failed (%s); may be left there: %s", exc,
                         ", ".join(left) or "nothing")
