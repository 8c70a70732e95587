"""Builders shared by the OpenADR VEN tests: events, distributions and registration answers, as models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree

from transactive.codec import encode_xml
from transactive.ei.oadr import (
    ActivePeriod,
    EiResponse,
    Event,
    EventDescriptor,
    EventSignal,
    EventStatus,
    Interval,
    OadrCreatedPartyRegistration,
    OadrDistributeEvent,
    OadrEvent,
    OadrMessage,
    PayloadFloat,
    Profile,
    ProfileName,
    ResponseRequired,
    SignalPayload,
    SignalType,
    Transport,
    TransportName,
)
from transactive.schemas import validate

T0 = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
VTN = "vtn-1"
MARKET = "oadr://test/market"


def ok(request_id: str = "", code: int = 200) -> EiResponse:
    return EiResponse(response_code=code, response_description="OK" if code == 200 else "refused",
                      request_id=request_id)


def registered(ven_id: str | None = "ven-1", registration_id: str | None = "reg-1", *, code: int = 200,
               poll: timedelta | None = timedelta(seconds=5), vtn_id: str = VTN) -> OadrCreatedPartyRegistration:
    return OadrCreatedPartyRegistration(
        response=ok("r", code), registration_id=registration_id, ven_id=ven_id, vtn_id=vtn_id,
        profiles=(Profile(profile_name=ProfileName.V2_0B,
                          transports=(Transport(transport_name=TransportName.SIMPLE_HTTP),)),),
        requested_poll_freq=poll)


def event(event_id: str = "ev-1", *, mn: int = 0, status: EventStatus = EventStatus.FAR,
          signal: str = "ELECTRICITY_PRICE", kind: SignalType = SignalType.PRICE,
          values: tuple[float, ...] = (0.1, 0.5, 0.3), step: timedelta = timedelta(minutes=10),
          start: datetime = T0, required: ResponseRequired = ResponseRequired.ALWAYS,
          test: str | None = None) -> OadrEvent:
    intervals = tuple(Interval(duration=step, uid=str(i), payloads=(SignalPayload(payload=PayloadFloat(value=v)),))
                      for i, v in enumerate(values))
    return OadrEvent(
        event=Event(
            descriptor=EventDescriptor(event_id=event_id, modification_number=mn, market_context=MARKET,
                                       created_date_time=T0 - timedelta(hours=1), event_status=status,
                                       test_event=test),
            active_period=ActivePeriod(dtstart=start, duration=step * len(values)),
            signals=(EventSignal(intervals=intervals, signal_name=signal, signal_type=kind, signal_id="s-0"),),
        ),
        response_required=required)


def distribute(*events: OadrEvent, request_id: str = "d-1", vtn_id: str = VTN) -> OadrDistributeEvent:
    return OadrDistributeEvent(request_id=request_id, vtn_id=vtn_id, events=events)


def assert_valid(message: OadrMessage) -> None:
    """The message's document validates against the OpenADR 2.0b schema."""
    report = validate(etree.fromstring(encode_xml(message)))
    assert report.valid, report.errors
