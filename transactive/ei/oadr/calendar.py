"""The WS-Calendar (xCal) parts OpenADR 2.0b uses outside events: intervals and availability.

``xcal:properties`` with a start and a duration appears as ``ei:reportInterval`` (when a report runs)
and as ``xcal:available`` inside ``xcal:vavailability`` (when a resource can take part, in opts).
"""

from __future__ import annotations

from typing import Annotated

from transactive.ei.oadr.base import OadrModel
from transactive.ei.oadr.types import OadrDateTime, OadrDuration
from transactive.model import Xml

__all__ = ["CalendarInterval", "XcalComponents"]


class XcalComponents(OadrModel):
    """The (empty) ``xcal:components`` element an event's active period must carry."""


class CalendarInterval(OadrModel):
    """An ``xcal:WsCalendarIntervalType`` / ``xcal:AvailableType``: ``xcal:properties`` with a start and a length."""

    dtstart: Annotated[OadrDateTime, Xml("xcal:properties/xcal:dtstart/xcal:date-time")]
    duration: Annotated[OadrDuration, Xml("xcal:properties/xcal:duration/xcal:duration")]
    #: how long after ``dtstart`` a participant may start (``xcal:tolerance/xcal:tolerate/xcal:startafter``)
    tolerance_start_after: Annotated[
        OadrDuration | None, Xml("xcal:properties/xcal:tolerance/xcal:tolerate/xcal:startafter")
    ] = None
    notification: Annotated[OadrDuration | None, Xml("xcal:properties/ei:x-eiNotification/xcal:duration")] = None
    ramp_up: Annotated[OadrDuration | None, Xml("xcal:properties/ei:x-eiRampUp/xcal:duration")] = None
    recovery: Annotated[OadrDuration | None, Xml("xcal:properties/ei:x-eiRecovery/xcal:duration")] = None
