"""OpenADR 2.0b opt schedules (EiOpt service): a VEN says when it will or will not take part.

``oadrCreateOpt`` → ``oadrCreatedOpt``; ``oadrCancelOpt`` → ``oadrCanceledOpt``.
"""

from __future__ import annotations

from typing import Annotated

from transactive.ei.oadr.base import EiResponse, OadrMessage, QualifiedEventID
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.enums import OptType
from transactive.ei.oadr.target import Target
from transactive.ei.oadr.types import OadrDateTime, OptReasonValue
from transactive.model import Xml
from transactive.model.registry import message

__all__ = ["OadrCancelOpt", "OadrCanceledOpt", "OadrCreateOpt", "OadrCreatedOpt"]


@message
class OadrCreateOpt(OadrMessage):
    """``oadr:oadrCreateOpt`` (an ``ei:EiOptType``): an opt-in or opt-out schedule, for an event or for
    periods of availability (``available``)."""

    __tag__ = "oadr:oadrCreateOpt"
    opt_id: Annotated[str, Xml("ei:optID")]
    opt_type: Annotated[OptType, Xml("ei:optType")]
    #: ``economic``, ``emergency``, ... (:class:`~transactive.ei.oadr.enums.OptReason`) or ``x-...``
    opt_reason: Annotated[OptReasonValue, Xml("ei:optReason")]
    market_context: Annotated[str | None, Xml("emix:marketContext")] = None
    ven_id: Annotated[str, Xml("ei:venID")]
    #: the periods the opt covers (``xcal:vavailability/xcal:components/xcal:available``)
    available: Annotated[
        tuple[CalendarInterval, ...], Xml("xcal:vavailability/xcal:components/xcal:available")
    ] = ()
    created_date_time: Annotated[OadrDateTime, Xml("ei:createdDateTime")]
    request_id: Annotated[str, Xml("pyld:requestID")]
    #: the event this opt is about (for an event opt, rather than a schedule)
    qualified_event_id: Annotated[QualifiedEventID | None, Xml("ei:qualifiedEventID")] = None
    target: Annotated[Target, Xml("ei:eiTarget")] = Target()
    #: the kind of device the opt applies to
    device_class: Annotated[Target | None, Xml("oadr:oadrDeviceClass")] = None


@message
class OadrCreatedOpt(OadrMessage):
    """``oadr:oadrCreatedOpt``: the VTN acknowledges an opt."""

    __tag__ = "oadr:oadrCreatedOpt"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    opt_id: Annotated[str, Xml("ei:optID")]


@message
class OadrCancelOpt(OadrMessage):
    """``oadr:oadrCancelOpt``: a VEN withdraws an opt schedule."""

    __tag__ = "oadr:oadrCancelOpt"
    request_id: Annotated[str, Xml("pyld:requestID")]
    opt_id: Annotated[str, Xml("ei:optID")]
    ven_id: Annotated[str, Xml("ei:venID")]


@message
class OadrCanceledOpt(OadrMessage):
    """``oadr:oadrCanceledOpt``: the VTN acknowledges a withdrawn opt."""

    __tag__ = "oadr:oadrCanceledOpt"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    opt_id: Annotated[str | None, Xml("ei:optID")] = None
