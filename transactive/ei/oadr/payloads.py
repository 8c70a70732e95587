"""Members of the ``ei:payloadBase`` substitution group: the value inside a signal or report payload.

``ei:payloadFloat`` (a number) and ``oadr:oadrPayloadResourceStatus`` (a resource's online/override state and
load-control levels). :data:`PayloadBase` is their union, for ``Xml("*")`` fields.
"""

from __future__ import annotations

from typing import Annotated, Union

from transactive.ei.oadr.base import OadrModel
from transactive.model import Xml

__all__ = [
    "LoadControlLevel",
    "LoadControlState",
    "PayloadBase",
    "PayloadFloat",
    "PayloadResourceStatus",
]


class PayloadFloat(OadrModel):
    """``ei:payloadFloat``: a number (xs:float)."""

    __tag__ = "ei:payloadFloat"
    value: Annotated[float, Xml("ei:value")]


class LoadControlLevel(OadrModel):
    """``oadr:oadrLoadControlStateTypeType``: a load-control quantity's current value and its range."""

    min: Annotated[float | None, Xml("oadr:oadrMin")] = None
    max: Annotated[float | None, Xml("oadr:oadrMax")] = None
    current: Annotated[float, Xml("oadr:oadrCurrent")]
    #: the value when no event is active
    normal: Annotated[float | None, Xml("oadr:oadrNormal")] = None


class LoadControlState(OadrModel):
    """``oadr:oadrLoadControlState``: the state of each kind of load control a resource takes part in."""

    capacity: Annotated[LoadControlLevel | None, Xml("oadr:oadrCapacity")] = None
    level_offset: Annotated[LoadControlLevel | None, Xml("oadr:oadrLevelOffset")] = None
    percent_offset: Annotated[LoadControlLevel | None, Xml("oadr:oadrPercentOffset")] = None
    set_point: Annotated[LoadControlLevel | None, Xml("oadr:oadrSetPoint")] = None


class PayloadResourceStatus(OadrModel):
    """``oadr:oadrPayloadResourceStatus``: whether a resource is online, overridden, and its control state."""

    __tag__ = "oadr:oadrPayloadResourceStatus"
    online: Annotated[bool, Xml("oadr:oadrOnline")]
    manual_override: Annotated[bool, Xml("oadr:oadrManualOverride")]
    load_control_state: Annotated[LoadControlState | None, Xml("oadr:oadrLoadControlState")] = None


#: any member of the ``ei:payloadBase`` substitution group
PayloadBase = Union[PayloadFloat, PayloadResourceStatus]  # noqa: UP007
