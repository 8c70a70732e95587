"""The documents the kit sends when it plays a VTN: registration answers, events, report requests, and the
small helpers that read what a VEN sent (the message element inside ``oadrPayload``, a message's venIDs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree

from transactive.ei.oadr import (
    ActivePeriod,
    Event,
    EventDescriptor,
    EventSignal,
    EventStatus,
    Interval,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrEvent,
    OadrMessage,
    OadrRequestEvent,
    PayloadFloat,
    Profile,
    ReportDescription,
    ReportRequest,
    ReportSpecifier,
    ResponseRequired,
    SignalName,
    SignalPayload,
    SignalType,
    SpecifierPayload,
    Target,
    Transport,
)
from transactive.ei.oadr.enums import ProfileName, TransportName
from transactive.ei.oadr.event import OadrCreatedEvent
from transactive.ven.oadr.core import ok

__all__ = [
    "MARKET",
    "POLL_SECONDS",
    "SERVICE_OF",
    "event",
    "message_element",
    "registration_answer",
    "report_request",
    "ven_ids_of",
]

#: how often the kit asks the VEN to poll (oadrRequestedOadrPollFreq): a run stays short
POLL_SECONDS = 1
#: the market context of the kit's events
MARKET = "http://conformance.transactive.invalid/market"

_OADR = "http://openadr.org/oadr-2.0b/2012/07"

#: the service each VEN payload is posted to (simple HTTP, §9.1.2)
SERVICE_OF = {
    "oadrQueryRegistration": "EiRegisterParty", "oadrCreatePartyRegistration": "EiRegisterParty",
    "oadrCancelPartyRegistration": "EiRegisterParty", "oadrCanceledPartyRegistration": "EiRegisterParty",
    "oadrRequestEvent": "EiEvent", "oadrCreatedEvent": "EiEvent",
    "oadrRegisterReport": "EiReport", "oadrRegisteredReport": "EiReport", "oadrCreatedReport": "EiReport",
    "oadrUpdateReport": "EiReport", "oadrCanceledReport": "EiReport", "oadrCreateReport": "EiReport",
    "oadrCancelReport": "EiReport", "oadrUpdatedReport": "EiReport",
    "oadrCreateOpt": "EiOpt", "oadrCancelOpt": "EiOpt",
    "oadrPoll": "OadrPoll",
}


def message_element(root: etree._Element) -> etree._Element:
    """The message inside ``oadrPayload/oadrSignedObject`` (or ``root`` itself when it is not a payload)."""
    if root.tag == f"{{{_OADR}}}oadrPayload":
        signed = root.find(f"{{{_OADR}}}oadrSignedObject")
        if signed is not None:
            children = [c for c in signed if isinstance(c.tag, str)]
            if children:
                return children[0]
    return root


def ven_ids_of(message: OadrMessage) -> list[str]:
    """Every venID a VEN's payload carries (a registration's is checked by the registration cases)."""
    if isinstance(message, OadrCreatePartyRegistration):
        return []
    if isinstance(message, OadrRequestEvent | OadrCreatedEvent):
        return [message.ven_id]
    found = getattr(message, "ven_id", None)
    return [found] if isinstance(found, str) else []


def registration_answer(request_id: str, vtn_id: str, *, registration_id: str | None = None,
                        ven_id: str | None = None) -> OadrCreatedPartyRegistration:
    """The answer to a query (no IDs) or to a registration (the IDs assigned), asking for a poll every
    :data:`POLL_SECONDS`."""
    return OadrCreatedPartyRegistration(
        response=ok(request_id), registration_id=registration_id, ven_id=ven_id, vtn_id=vtn_id,
        profiles=(Profile(profile_name=ProfileName.V2_0B,
                          transports=(Transport(transport_name=TransportName.SIMPLE_HTTP),)),),
        requested_poll_freq=timedelta(seconds=POLL_SECONDS))


def event(event_id: str, ven_id: str | None, *, modification: int = 0, status: EventStatus = EventStatus.FAR,
          response_required: ResponseRequired = ResponseRequired.ALWAYS, value: float = 1.0,
          comment: str | None = None, now: datetime | None = None) -> OadrEvent:
    """One SIMPLE event starting an hour from now, for an hour (currentValue 0: not active yet)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    start = now.replace(minute=0, second=0) + timedelta(hours=2)
    descriptor = EventDescriptor(event_id=event_id, modification_number=modification, priority=1,
                                 market_context=MARKET, created_date_time=now, event_status=status,
                                 test_event="false", vtn_comment=comment,
                                 modification_reason="changed by the conformance kit" if modification else None)
    signal = EventSignal(
        intervals=(Interval(duration=timedelta(hours=1), uid="0",
                            payloads=(SignalPayload(payload=PayloadFloat(value=value)),)),),
        signal_name=SignalName.SIMPLE, signal_type=SignalType.LEVEL, signal_id="kit-simple-0", current_value=0.0)
    target = Target(ven_ids=(ven_id,)) if ven_id else Target()
    return OadrEvent(event=Event(descriptor=descriptor, active_period=ActivePeriod(dtstart=start,
                                                                                    duration=timedelta(hours=1)),
                                 signals=(signal,), target=target),
                     response_required=response_required)


def report_request(report_request_id: str, specifier_id: str, description: ReportDescription) -> ReportRequest:
    """A request for one data point, sampled and reported at the fastest rate the VEN offers (at least a
    second), so that its first oadrUpdateReport comes within seconds."""
    granularity = timedelta(seconds=1)
    rate = description.sampling_rate
    if rate is not None:
        granularity = max(rate.min_period, min(rate.max_period, granularity))
        granularity = max(granularity, timedelta(seconds=1))
    return ReportRequest(report_request_id=report_request_id, report_specifier=ReportSpecifier(
        report_specifier_id=specifier_id, granularity=granularity, report_back_duration=granularity,
        specifier_payloads=(SpecifierPayload(r_id=description.r_id, item_base=description.item_base,
                                             reading_type=description.reading_type),)))
