"""OpenADR 2.0b events: ``oadrDistributeEvent`` and the parts of an ``ei:eiEvent``."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import Field

from transactive.codec.registry import message
from transactive.ei.oadr.base import EiResponse, OadrMessage, OadrModel
from transactive.model import DateTime, Duration, Xml

__all__ = [
    "ActivePeriod",
    "Event",
    "EventDescriptor",
    "EventSignal",
    "EventStatus",
    "Interval",
    "OadrDistributeEvent",
    "OadrEvent",
    "PayloadFloat",
    "ResponseRequired",
    "SignalPayload",
    "SignalType",
    "Target",
    "XcalComponents",
]


class EventStatus(str, Enum):
    NONE = "none"
    FAR = "far"
    NEAR = "near"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SignalType(str, Enum):
    DELTA = "delta"
    LEVEL = "level"
    MULTIPLIER = "multiplier"
    PRICE = "price"
    PRICE_MULTIPLIER = "priceMultiplier"
    PRICE_RELATIVE = "priceRelative"
    SETPOINT = "setpoint"
    X_LOAD_CONTROL_CAPACITY = "x-loadControlCapacity"
    X_LOAD_CONTROL_LEVEL_OFFSET = "x-loadControlLevelOffset"
    X_LOAD_CONTROL_PERCENT_OFFSET = "x-loadControlPercentOffset"
    X_LOAD_CONTROL_SETPOINT = "x-loadControlSetpoint"


class ResponseRequired(str, Enum):
    ALWAYS = "always"
    NEVER = "never"


class PayloadFloat(OadrModel):
    __tag__ = "ei:payloadFloat"
    value: Annotated[float, Xml("ei:value")]


class SignalPayload(OadrModel):
    """``ei:signalPayload``: the value of one interval of an event signal."""

    __tag__ = "ei:signalPayload"
    payload: Annotated[PayloadFloat, Xml("*")]


class Interval(OadrModel):
    """``ei:interval``: a WS-Calendar interval carrying signal payloads.

    ``dtstart`` is usually left out: it is inherited from the event's active period (WS-Calendar gluon).
    """

    dtstart: Annotated[DateTime | None, Xml("xcal:dtstart/xcal:date-time")] = None
    duration: Annotated[Duration | None, Xml("xcal:duration/xcal:duration")] = None
    uid: Annotated[str | None, Xml("xcal:uid/xcal:text")] = None
    payloads: Annotated[tuple[SignalPayload, ...], Xml("*"), Field(min_length=1)]


class XcalComponents(OadrModel):
    """The (empty) ``xcal:components`` element an active period must carry."""


class ActivePeriod(OadrModel):
    """``ei:eiActivePeriod``: when the event is active, with optional notification/ramp/recovery."""

    dtstart: Annotated[DateTime, Xml("xcal:properties/xcal:dtstart/xcal:date-time")]
    duration: Annotated[Duration, Xml("xcal:properties/xcal:duration/xcal:duration")]
    tolerance_start_after: Annotated[
        Duration | None, Xml("xcal:properties/xcal:tolerance/xcal:tolerate/xcal:startafter")
    ] = None
    notification: Annotated[Duration | None, Xml("xcal:properties/ei:x-eiNotification/xcal:duration")] = None
    ramp_up: Annotated[Duration | None, Xml("xcal:properties/ei:x-eiRampUp/xcal:duration")] = None
    recovery: Annotated[Duration | None, Xml("xcal:properties/ei:x-eiRecovery/xcal:duration")] = None
    components: Annotated[XcalComponents, Xml("xcal:components")] = XcalComponents()


class Target(OadrModel):
    """``ei:eiTarget``: whom an event or report is for."""

    group_ids: Annotated[tuple[str, ...], Xml("ei:groupID")] = ()
    group_names: Annotated[tuple[str, ...], Xml("ei:groupName")] = ()
    resource_ids: Annotated[tuple[str, ...], Xml("ei:resourceID")] = ()
    ven_ids: Annotated[tuple[str, ...], Xml("ei:venID")] = ()
    party_ids: Annotated[tuple[str, ...], Xml("ei:partyID")] = ()


class EventDescriptor(OadrModel):
    event_id: Annotated[str, Xml("ei:eventID")]
    modification_number: Annotated[int, Xml("ei:modificationNumber"), Field(ge=0)]
    modification_date_time: Annotated[DateTime | None, Xml("ei:modificationDateTime")] = None
    modification_reason: Annotated[str | None, Xml("ei:modificationReason")] = None
    priority: Annotated[int | None, Xml("ei:priority"), Field(ge=0, le=4294967295)] = None
    market_context: Annotated[str, Xml("ei:eiMarketContext/emix:marketContext")]
    created_date_time: Annotated[DateTime, Xml("ei:createdDateTime")]
    event_status: Annotated[EventStatus, Xml("ei:eventStatus")]
    test_event: Annotated[str | None, Xml("ei:testEvent")] = None
    vtn_comment: Annotated[str | None, Xml("ei:vtnComment")] = None


class EventSignal(OadrModel):
    intervals: Annotated[tuple[Interval, ...], Xml("strm:intervals/ei:interval"), Field(min_length=1)]
    target: Annotated[Target | None, Xml("ei:eiTarget")] = None
    signal_name: Annotated[str, Xml("ei:signalName")]
    signal_type: Annotated[SignalType, Xml("ei:signalType")]
    signal_id: Annotated[str, Xml("ei:signalID")]
    current_value: Annotated[float | None, Xml("ei:currentValue/ei:payloadFloat/ei:value")] = None


class Event(OadrModel):
    """``ei:eiEvent``."""

    descriptor: Annotated[EventDescriptor, Xml("ei:eventDescriptor")]
    active_period: Annotated[ActivePeriod, Xml("ei:eiActivePeriod")]
    signals: Annotated[tuple[EventSignal, ...], Xml("ei:eiEventSignals/ei:eiEventSignal"), Field(min_length=1)]
    target: Annotated[Target, Xml("ei:eiTarget")] = Target()


class OadrEvent(OadrModel):
    event: Annotated[Event, Xml("ei:eiEvent")]
    response_required: Annotated[ResponseRequired, Xml("oadr:oadrResponseRequired")] = ResponseRequired.ALWAYS


@message
class OadrDistributeEvent(OadrMessage):
    """The VTN sends its events to a VEN (in reply to ``oadrRequestEvent`` or a poll)."""

    __tag__ = "oadr:oadrDistributeEvent"
    schema_version: Annotated[str | None, Xml("@ei:schemaVersion")] = "2.0b"
    response: Annotated[EiResponse | None, Xml("ei:eiResponse")] = None
    request_id: Annotated[str, Xml("pyld:requestID")]
    vtn_id: Annotated[str, Xml("ei:vtnID")]
    events: Annotated[tuple[OadrEvent, ...], Xml("oadr:oadrEvent")] = ()
