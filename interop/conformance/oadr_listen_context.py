"""What the ``listen --role ven`` cases share: the VEN as the kit knows it, and :meth:`ListenContext.next`,
the one way a case gets the VEN's next request.

Every request goes through the same checks before a case sees it, each finding kept for the case it
belongs to, so that one broken rule fails one case:

* well-formed (else the case fails at once, the VEN answered 400) and valid against the ``oadr20b`` schema,
  posted to its service's endpoint, and decodable — findings of the case running;
* signed, verifying, with a fresh nonce (when the kit verifies signatures) — findings of ``G1_0050``;
* the venID the kit assigned, wherever a payload carries one — findings of ``N1_0020``;
* the time of each poll — judged by ``G1_0010``.

The kit is lenient where a VTN would refuse: a request with a wrong venID or a bad signature is still
answered (the finding is kept), so that one broken rule does not derail the cases after it; only a
document that is not well-formed or cannot be read is refused (HTTP 400) and fails its case at once.

A request of a kind the case does not wait for is answered as a VTN would (a poll with ``oadrResponse``, a
request for events with every current event, report data with ``oadrUpdatedReport``, ...): the VEN may poll
and report at any time. A case that waits for a request which does not come within ``--timeout`` seconds
fails saying what it awaited; the kit then takes the VEN for gone, and later waits fail at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from transactive.codec import decode_element, encode_xml
from transactive.ei.oadr import (
    OadrCanceledOpt,
    OadrCanceledPartyRegistration,
    OadrCancelOpt,
    OadrCancelPartyRegistration,
    OadrCreatedEvent,
    OadrCreatedOpt,
    OadrCreateOpt,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrEvent,
    OadrMessage,
    OadrQueryRegistration,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrRequestEvent,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
)
from transactive.errors import ProtocolError
from transactive.interop.conformance.checks import schema_valid, well_formed
from transactive.interop.conformance.model import CaseFailed, Exchange, Options, Rule
from transactive.interop.conformance.oadr_listen_messages import (
    POLL_SECONDS,
    SERVICE_OF,
    message_element,
    registration_answer,
    ven_ids_of,
)
from transactive.interop.conformance.oadr_listen_server import Incoming, ListenServer
from transactive.interop.conformance.oadr_ven_rules import EXCHANGE_PATTERN, REGISTER_PARTY
from transactive.interop.conformance.rules import OADR_SCHEMA
from transactive.interop.conformance.suite import Recorder
from transactive.ven.oadr.core import ok

if TYPE_CHECKING:
    from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier

__all__ = ["DEFAULT_VTN_ID", "ListenContext", "Received", "Signing", "event_answers"]

#: the kit's vtnID unless --party names one
DEFAULT_VTN_ID = "TRANSACTIVE-CONFORMANCE-VTN"


#: the VEN's opt payloads (judged over the run by P1_0010)
_OPT_KINDS = frozenset({"oadrCreateOpt", "oadrCancelOpt"})


@dataclass(frozen=True, slots=True)
class Received:
    """A request of the VEN that passed the checks far enough to be decoded."""

    incoming: Incoming
    kind: str
    message: OadrMessage
    exchange: Exchange

    @property
    def at(self) -> float:
        return self.incoming.at


@dataclass(slots=True)
class Signing:
    """The kit's signer (its answers) and verifier (the VEN's requests), when --sign-cert/--sign-key are given."""

    signer: OadrSigner
    verifier: OadrVerifier


@dataclass(slots=True)
class _Poll:
    at: float
    exchange: Exchange
    #: the kit's answer to it was an empty oadrResponse (nothing queued): the next poll must wait its turn
    empty: bool = True


@dataclass
class ListenContext:
    """The run's state (see the module's description)."""

    server: ListenServer
    recorder: Recorder
    options: Options
    signing: Signing | None = None
    vtn_id: str = DEFAULT_VTN_ID
    ven_id: str | None = None
    registration_id: str | None = None
    registration: OadrCreatePartyRegistration | None = None
    #: the VEN registered for push (httpPullModel false, a transportAddress)
    push: bool = False
    #: the kit's events (listed in every distribution), by eventID
    events: dict[str, OadrEvent] = field(default_factory=dict)
    #: reportRequestID -> the rIDs the kit asked for
    report_requests: dict[str, set[str]] = field(default_factory=dict)
    #: the requestID of the VEN's oadrRegisterReport whose answer asked for a report, and that report's id
    report_register_id: str | None = None
    report_request_id: str | None = None
    #: findings of the case running
    findings: list[CaseFailed] = field(default_factory=list)
    #: (what was wrong, the document) for N1_0020 and G1_0050
    ven_id_findings: list[tuple[str, Exchange]] = field(default_factory=list)
    sign_findings: list[tuple[str, Exchange]] = field(default_factory=list)
    #: (what was wrong, the document) of the VEN's opts, for P1_0010; and the opts it created and cancelled
    opt_findings: list[tuple[str, Exchange]] = field(default_factory=list)
    opts: dict[str, str] = field(default_factory=dict)
    #: every (eventID, modificationNumber) the kit distributed
    distributed: set[tuple[str, int]] = field(default_factory=set)
    #: the documents whose signature verified (ids of their exchanges)
    verified: set[int] = field(default_factory=set)
    polls: list[_Poll] = field(default_factory=list)
    #: why the kit takes the VEN for gone (None: it is not)
    gone: str | None = None
    #: requests taken and not answered yet (settled with a plain answer when a case ends without answering)
    unanswered: list[Incoming] = field(default_factory=list)
    #: a request a case took and left for the next one (a poll that showed the VEN did not answer)
    held: Received | None = None
    _ids: int = 0

    # -- ids and answers -------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"kit-{prefix}-{self._ids}"

    def encode(self, message: OadrMessage) -> bytes:
        document = encode_xml(message)
        if self.signing is not None:
            document = self.signing.signer.sign(document)
        return bytes(document)

    def send(self, got: Received | Incoming, message: OadrMessage | bytes, status: int = 200) -> None:
        """Answer a request with ``message`` (a model, encoded and signed; or the bytes to send)."""
        incoming = got.incoming if isinstance(got, Received) else got
        body = message if isinstance(message, bytes) else self.encode(message)
        if incoming in self.unanswered:
            self.unanswered.remove(incoming)
        self.recorder.record("sent", f"answer to POST {incoming.service}", body, status)
        incoming.settle(body, status)
        if isinstance(got, Received) and got.kind == "oadrPoll" and self.polls:
            self.polls[-1].empty = isinstance(message, OadrResponse)

    # -- receiving -------------------------------------------------------------------------------------

    async def next(self, *kinds: str, rule: Rule, what: str) -> Received:
        """The VEN's next request of one of ``kinds`` (message element names), answering the others as a VTN
        would. No such request within ``--timeout`` seconds: a failure of ``rule`` naming ``what``."""
        limit = self.options.timeout
        deadline = time.monotonic() + limit
        others = 0
        while True:
            held, self.held = self.held, None
            if held is not None:
                if held.kind in kinds:
                    return held
                self.background(held)
                continue
            if self.gone is not None and self.server.queue.empty():
                raise CaseFailed(rule, f"no {what}: {self.gone}")
            try:
                incoming = await asyncio.wait_for(self.server.queue.get(), max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                if not others:
                    self.gone = f"the VEN has sent nothing since {what} was awaited for {limit:g} s"
                    raise CaseFailed(rule, f"no {what} within {limit:g} s (no request at all)") from None
                raise CaseFailed(rule, f"no {what} within {limit:g} s ({others} other request(s) meanwhile, "
                                 "answered as a VTN would)") from None
            got = self._take(incoming)
            if got is None:
                raise self.findings.pop()
            if got.kind in kinds:
                return got
            others += 1
            self.background(got)

    def _take(self, incoming: Incoming) -> Received | None:
        label = f"POST {incoming.service}"
        self.gone = None
        self.unanswered.append(incoming)
        self.recorder.record("received", label, incoming.body)
        exchange = self.recorder.exchanges[-1]
        try:
            root = well_formed(incoming.body, f"the VEN's request to {incoming.service}")
        except CaseFailed as failure:
            self.findings.append(failure)
            self._refuse(incoming, "not well-formed")
            return None
        element = message_element(root)
        kind = etree.QName(element).localname if isinstance(element.tag, str) else "?"
        decoded = self._verify(root, exchange)
        try:
            schema_valid(root, "oadr20b", OADR_SCHEMA, f"the VEN's {kind}")
        except CaseFailed as failure:
            if kind in _OPT_KINDS:  # the VEN opts when it likes: judged by P1_0010, not the case running
                self.opt_findings.append((failure.detail, exchange))
            else:
                self.findings.append(failure)
        try:
            message = decoded if decoded is not None else decode_element(element)
        except ProtocolError as error:
            self.findings.append(CaseFailed(OADR_SCHEMA, f"the VEN's {kind} cannot be read: {error}"))
            self._refuse(incoming, f"cannot read {kind}")
            return None
        if not isinstance(message, OadrMessage):
            self.findings.append(CaseFailed(EXCHANGE_PATTERN, f"{kind} is not an OpenADR 2.0b payload"))
            self._refuse(incoming, f"{kind} is not an OpenADR 2.0b payload")
            return None
        expected = SERVICE_OF.get(kind)
        if expected is not None and expected != incoming.service:
            self.findings.append(CaseFailed(EXCHANGE_PATTERN, f"{kind} was posted to .../{incoming.service}; its "
                                            f"service endpoint is .../{expected}"))
        if self.ven_id is not None:
            for ven_id in ven_ids_of(message):
                if ven_id != self.ven_id:
                    self.ven_id_findings.append((f"{kind} carries venID {ven_id!r}, not the assigned "
                                                 f"{self.ven_id!r}", exchange))
        if kind == "oadrPoll":
            self.polls.append(_Poll(incoming.at, exchange))
        return Received(incoming, kind, message, exchange)

    def _verify(self, root: etree._Element, exchange: Exchange) -> OadrMessage | None:
        """Check the signature (when the kit verifies); the signed message when it verified."""
        if self.signing is None:
            return None
        from transactive.protocol.oadr_sign import SignatureError, is_signed

        if not is_signed(root):
            self.sign_findings.append(("the payload is not signed", exchange))
            return None
        try:
            verified = self.signing.verifier.verify(root)
        except (SignatureError, ProtocolError, ValueError) as error:
            self.sign_findings.append((f"the signature does not verify: {error}", exchange))
            return None
        self.verified.add(id(exchange))
        message = verified.decode()
        return message if isinstance(message, OadrMessage) else None

    def _refuse(self, incoming: Incoming, why: str) -> None:
        answer = OadrResponse(response=ok("", why, code=400), ven_id=self.ven_id)
        self.send(incoming, answer, 400)

    def hold(self, got: Received) -> None:
        """Leave ``got`` unanswered for the next case's :meth:`next` (a poll it can answer at once)."""
        if got.incoming in self.unanswered:
            self.unanswered.remove(got.incoming)
        self.held = got

    def answer_the_rest(self) -> None:
        """Settle what a case took and left unanswered (it failed half-way) with a plain answer."""
        for incoming in list(self.unanswered):
            self.send(incoming, self.plain_answer())

    def take_findings(self) -> list[CaseFailed]:
        found, self.findings = self.findings, []
        return found

    # -- what a VTN answers anyway -----------------------------------------------------------------------

    def distribution(self, request_id: str | None = None, *, events: tuple[OadrEvent, ...] | None = None,
                     vtn_id: str | None = None) -> OadrDistributeEvent:
        """An oadrDistributeEvent listing ``events`` (default: every current event of the kit)."""
        listed = tuple(self.events.values()) if events is None else events
        self.distributed.update((e.event.descriptor.event_id, e.event.descriptor.modification_number) for e in listed)
        return OadrDistributeEvent(response=ok(request_id) if request_id is not None else None,
                                   request_id=self.new_id("distribution"), vtn_id=vtn_id or self.vtn_id,
                                   events=listed)

    def background(self, got: Received) -> None:
        """Answer a request no case waits for, as a VTN would."""
        m = got.message
        if self.registration_id is None and self.registration is None and not isinstance(
                m, OadrQueryRegistration | OadrCreatePartyRegistration):
            self.findings.append(CaseFailed(REGISTER_PARTY, f"the VEN sent {got.kind} before registering"))
        echo = getattr(m, "request_id", None) or getattr(getattr(m, "response", None), "request_id", "") or ""
        answer: OadrMessage
        if isinstance(m, OadrQueryRegistration):
            answer = registration_answer(m.request_id, self.vtn_id)
        elif isinstance(m, OadrCreatePartyRegistration):
            answer = self.register(m)
        elif isinstance(m, OadrRequestEvent):
            answer = self.distribution(m.request_id)
        elif isinstance(m, OadrUpdateReport):
            answer = OadrUpdatedReport(response=ok(m.request_id), ven_id=self.ven_id)
        elif isinstance(m, OadrRegisterReport):
            answer = OadrRegisteredReport(response=ok(m.request_id), ven_id=self.ven_id)
        elif isinstance(m, OadrCreateOpt):
            self._judge_opt(m, got.exchange)
            answer = OadrCreatedOpt(response=ok(m.request_id), opt_id=m.opt_id)
        elif isinstance(m, OadrCancelOpt):
            if m.opt_id not in self.opts:
                self.opt_findings.append((f"oadrCancelOpt names optID {m.opt_id!r}, which the VEN never created",
                                          got.exchange))
            answer = OadrCanceledOpt(response=ok(m.request_id), opt_id=m.opt_id)
        elif isinstance(m, OadrCancelPartyRegistration):
            answer = OadrCanceledPartyRegistration(response=ok(m.request_id), registration_id=m.registration_id,
                                                   ven_id=self.ven_id)
            self.registration_id = None
        elif got.kind in SERVICE_OF and got.kind != "oadrCreateReport":
            # acknowledgements (oadrCreatedEvent, oadrCreatedReport, oadrResponse, ...) and polls
            answer = OadrResponse(response=ok(echo), ven_id=self.ven_id)
        elif isinstance(m, OadrResponse):
            answer = OadrResponse(response=ok(echo), ven_id=self.ven_id)
        else:
            self.findings.append(CaseFailed(EXCHANGE_PATTERN, f"{got.kind} is not a request a VEN sends a VTN"))
            answer = OadrResponse(response=ok(echo, f"{got.kind} is not a VEN's request", code=400), ven_id=self.ven_id)
        self.send(got, answer)

    def _judge_opt(self, m: OadrCreateOpt, exchange: Exchange) -> None:
        self.opts[m.opt_id] = m.request_id
        q = m.qualified_event_id
        if q is not None and (q.event_id, q.modification_number) not in self.distributed:
            self.opt_findings.append((f"oadrCreateOpt names event {q.event_id} #{q.modification_number}, which the "
                                      "kit never sent", exchange))
        if q is None and not m.available:
            self.opt_findings.append(("oadrCreateOpt names neither an event nor an availability schedule", exchange))

    def register(self, m: OadrCreatePartyRegistration) -> OadrMessage:
        """Take a registration (the first assigns the IDs; later ones keep them) and answer it."""
        if self.registration_id is None:
            self.registration_id = self.registration_id or self.new_id("registration")
        if self.ven_id is None:
            self.ven_id = self.new_id("ven")
        self.registration = m
        self.push = m.http_pull_model is False and bool(m.transport_address)
        return registration_answer(m.request_id, self.vtn_id, registration_id=self.registration_id,
                                   ven_id=self.ven_id)

    def plain_answer(self) -> OadrResponse:
        """What a request gets once the run is over."""
        return OadrResponse(response=ok(""), ven_id=self.ven_id)

    def poll_gaps(self) -> list[tuple[float, Exchange]]:
        """The gaps (seconds) between polls that followed an empty answer — the VEN's own rhythm — each with
        the later poll."""
        return [(b.at - a.at, b.exchange) for a, b in zip(self.polls, self.polls[1:], strict=False) if a.empty]

    @property
    def poll_seconds(self) -> int:
        return POLL_SECONDS

    def now(self) -> datetime:
        return datetime.now(UTC)


def event_answers(message: OadrCreatedEvent, event_id: str) -> list[tuple[int, int, str, str]]:
    """(responseCode, modificationNumber, optType, requestID) of each eventResponse naming ``event_id``."""
    return [(r.response_code, r.qualified_event_id.modification_number, str(r.opt_type), r.request_id)
            for r in message.event_responses if r.qualified_event_id.event_id == event_id]

