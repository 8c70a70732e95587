"""OpenADR 2.0b events (EiEvent service): ``oadrRequestEvent``, ``oadrDistributeEvent``, ``oadrCreatedEvent``,
and the parts of an ``ei:eiEvent`` (descriptor, active period, signals with intervals, baseline, targets)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.ei.oadr.base import EiResponse, OadrMessage, OadrModel, QualifiedEventID
from transactive.ei.oadr.calendar import CalendarInterval, XcalComponents
from transactive.ei.oadr.enums import EventStatus, OptType, ResponseRequired, SignalType
from transactive.ei.oadr.items import ItemBase
from transactive.ei.oadr.payloads import PayloadBase
from transactive.ei.oadr.target import Target
from transactive.ei.oadr.types import (
    OadrDateTime,
    OadrDuration,
    ResponseCodeValue,
    SignalNameValue,
    UnsignedInt,
)
from transactive.model import Xml
from transactive.model.registry import message

__all__ = [
    "ActivePeriod",
    "Event",
    "EventBaseline",
    "EventDescriptor",
    "EventResponse",
    "EventSignal",
    "Interval",
    "OadrCreatedEvent",
    "OadrDistributeEvent",
    "OadrEvent",
    "OadrRequestEvent",
    "SignalPayload",
]


class SignalPayload(OadrModel):
    """``ei:signalPayload``: the value of one interval of an event signal or baseline."""

    __tag__ = "ei:signalPayload"
    payload: Annotated[PayloadBase, Xml("*")]


class Interval(OadrModel):
    """``ei:interval`` of an event signal or baseline: a WS-Calendar interval carrying signal payloads.

    ``dtstart`` is usually left out: it is inherited from the event's active period (WS-Calendar gluon);
    ``uid`` numbers the intervals (``"0"``, ``"1"``, ...).
    """

    dtstart: Annotated[OadrDateTime | None, Xml("xcal:dtstart/xcal:date-time")] = None
    duration: Annotated[OadrDuration | None, Xml("xcal:duration/xcal:duration")] = None
    uid: Annotated[str | None, Xml("xcal:uid/xcal:text")] = None
    payloads: Annotated[tuple[SignalPayload, ...], Xml("*"), Field(min_length=1)]


class ActivePeriod(CalendarInterval):
    """``ei:eiActivePeriod``: when the event is active, with optional start tolerance, notification,
    ramp-up and recovery periods."""

    components: Annotated[XcalComponents, Xml("xcal:components")] = XcalComponents()


class EventDescriptor(OadrModel):
    """``ei:eventDescriptor``: identity, version and status of an event."""

    event_id: Annotated[str, Xml("ei:eventID")]
    #: incremented by the VTN each time it changes the event
    modification_number: Annotated[UnsignedInt, Xml("ei:modificationNumber")]
    modification_date_time: Annotated[OadrDateTime | None, Xml("ei:modificationDateTime")] = None
    modification_reason: Annotated[str | None, Xml("ei:modificationReason")] = None
    #: 0 is "no priority"; 1 is the highest, larger numbers are lower
    priority: Annotated[UnsignedInt | None, Xml("ei:priority")] = None
    market_context: Annotated[str, Xml("ei:eiMarketContext/emix:marketContext")]
    created_date_time: Annotated[OadrDateTime, Xml("ei:createdDateTime")]
    event_status: Annotated[EventStatus, Xml("ei:eventStatus")]
    #: ``"true"`` (or free text) marks a test event that should not be acted on
    test_event: Annotated[str | None, Xml("ei:testEvent")] = None
    vtn_comment: Annotated[str | None, Xml("ei:vtnComment")] = None


class EventSignal(OadrModel):
    """``ei:eiEventSignal``: one signal of an event, as a series of intervals."""

    intervals: Annotated[tuple[Interval, ...], Xml("strm:intervals/ei:interval"), Field(min_length=1)]
    #: narrows the event's target for this signal
    target: Annotated[Target | None, Xml("ei:eiTarget")] = None
    #: ``SIMPLE``, ``ELECTRICITY_PRICE``, ... (:class:`~transactive.ei.oadr.enums.SignalName`) or ``x-...``
    signal_name: Annotated[SignalNameValue, Xml("ei:signalName")]
    signal_type: Annotated[SignalType, Xml("ei:signalType")]
    signal_id: Annotated[str, Xml("ei:signalID")]
    #: the unit of the payload values (e.g. currency per kWh for a price signal)
    item_base: Annotated[ItemBase | None, Xml("*")] = None
    #: the payload value in force now
    current_value: Annotated[float | None, Xml("ei:currentValue/ei:payloadFloat/ei:value")] = None


class EventBaseline(OadrModel):
    """``ei:eiEventBaseline``: what the load would have been without the event."""

    dtstart: Annotated[OadrDateTime, Xml("xcal:dtstart/xcal:date-time")]
    duration: Annotated[OadrDuration, Xml("xcal:duration/xcal:duration")]
    intervals: Annotated[tuple[Interval, ...], Xml("strm:intervals/ei:interval"), Field(min_length=1)]
    baseline_id: Annotated[str, Xml("ei:baselineID")]
    resource_ids: Annotated[tuple[str, ...], Xml("ei:resourceID")] = ()
    baseline_name: Annotated[str, Xml("ei:baselineName")]
    item_base: Annotated[ItemBase | None, Xml("*")] = None


class Event(OadrModel):
    """``ei:eiEvent``."""

    descriptor: Annotated[EventDescriptor, Xml("ei:eventDescriptor")]
    active_period: Annotated[ActivePeriod, Xml("ei:eiActivePeriod")]
    signals: Annotated[tuple[EventSignal, ...], Xml("ei:eiEventSignals/ei:eiEventSignal"), Field(min_length=1)]
    baseline: Annotated[EventBaseline | None, Xml("ei:eiEventSignals/ei:eiEventBaseline")] = None
    target: Annotated[Target, Xml("ei:eiTarget")] = Target()


class OadrEvent(OadrModel):
    """``oadr:oadrEvent``: an event and whether the VEN must answer it."""

    event: Annotated[Event, Xml("ei:eiEvent")]
    response_required: Annotated[ResponseRequired, Xml("oadr:oadrResponseRequired")] = ResponseRequired.ALWAYS


@message
class OadrDistributeEvent(OadrMessage):
    """``oadr:oadrDistributeEvent``: the VTN sends its events to a VEN (in reply to ``oadrRequestEvent``
    or a poll). It lists every active or pending event; an empty list cancels them all."""

    __tag__ = "oadr:oadrDistributeEvent"
    response: Annotated[EiResponse | None, Xml("ei:eiResponse")] = None
    request_id: Annotated[str, Xml("pyld:requestID")]
    vtn_id: Annotated[str, Xml("ei:vtnID")]
    events: Annotated[tuple[OadrEvent, ...], Xml("oadr:oadrEvent")] = ()


@message
class OadrRequestEvent(OadrMessage):
    """``oadr:oadrRequestEvent`` (``pyld:eiRequestEvent``): a VEN asks for its events."""

    __tag__ = "oadr:oadrRequestEvent"
    request_id: Annotated[str, Xml("pyld:eiRequestEvent/pyld:requestID")]
    ven_id: Annotated[str, Xml("pyld:eiRequestEvent/ei:venID")]
    #: at most this many events in the answer
    reply_limit: Annotated[UnsignedInt | None, Xml("pyld:eiRequestEvent/pyld:replyLimit")] = None


class EventResponse(OadrModel):
    """``ei:eventResponse``: a VEN's opt-in or opt-out for one version of one event."""

    response_code: Annotated[ResponseCodeValue, Xml("ei:responseCode")]
    response_description: Annotated[str | None, Xml("ei:responseDescription")] = None
    #: the ``requestID`` of the ``oadrDistributeEvent`` that carried the event
    request_id: Annotated[str, Xml("pyld:requestID")]
    qualified_event_id: Annotated[QualifiedEventID, Xml("ei:qualifiedEventID")]
    opt_type: Annotated[OptType, Xml("ei:optType")]


@message
class OadrCreatedEvent(OadrMessage):
    """``oadr:oadrCreatedEvent`` (``pyld:eiCreatedEvent``): a VEN answers events it was sent."""

    __tag__ = "oadr:oadrCreatedEvent"
    response: Annotated[EiResponse, Xml("pyld:eiCreatedEvent/ei:eiResponse")]
    event_responses: Annotated[
        tuple[EventResponse, ...], Xml("pyld:eiCreatedEvent/ei:eventResponses/ei:eventResponse")
    ] = ()
    ven_id: Annotated[str, Xml("pyld:eiCreatedEvent/ei:venID")]
