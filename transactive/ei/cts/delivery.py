"""Deliveries: how much was actually delivered (``ei:eiDelivery`` and its payloads).

``eiCreateDelivery`` sends "empty" ``emix:delivery`` streams (the schedule and item, no measured
quantities) as a request; ``eiCreatedDelivery`` returns them as ``ei:eiDelivery`` with the quantities,
a delivery ID and a creation time.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.ei.cts.responses import CtsPayload, EiResponse
from transactive.emix.product import Delivery, DeliveryBase
from transactive.model import DateTime, NonEmptyStr, Xml
from transactive.model.registry import message

__all__ = ["EiCreateDelivery", "EiCreatedDelivery", "EiDelivery"]


class EiDelivery(DeliveryBase):
    """``ei:eiDelivery``: an EMIX delivery with its ID and creation time."""

    schema_version: Annotated[str | None, Xml("@ei:schemaVersion")] = None
    delivery_id: Annotated[NonEmptyStr, Xml("ei:eiDeliveryID")]
    created_date_time: Annotated[DateTime, Xml("ei:createdDateTime")]


@message
class EiCreateDelivery(CtsPayload):
    """Ask for the delivered quantities of one or more delivery streams."""

    __tag__ = "pyld:eiCreateDelivery"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    requestor_party_id: Annotated[NonEmptyStr, Xml("ei:requestorPartyID")]
    deliveries: Annotated[tuple[Delivery, ...], Xml("emix:delivery"), Field(min_length=1)]


@message
class EiCreatedDelivery(CtsPayload):
    """The deliveries, with quantities filled in."""

    __tag__ = "pyld:eiCreatedDelivery"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    deliveries: Annotated[tuple[EiDelivery, ...], Xml("ei:eiDelivery")] = ()
