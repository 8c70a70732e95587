"""Interfaces (``emix:emixInterface`` members): *where* a product is delivered or measured."""

from __future__ import annotations

from typing import Annotated

from transactive.emix.base import CtsModel
from transactive.model import NonEmptyStr, Xml

__all__ = [
    "AggregatedPnode",
    "EmixInterface",
    "EndDeviceAsset",
    "MeterAsset",
    "Pnode",
    "ServiceArea",
    "ServiceDeliveryPoint",
    "ServiceLocation",
    "TransportInterface",
]


class EndDeviceAsset(CtsModel):
    """``power:endDeviceAsset``: a device (inverter, charger, heat pump) by its CIM master resource ID."""

    __tag__ = "power:endDeviceAsset"
    mrid: Annotated[NonEmptyStr, Xml("power:mrid")]


class MeterAsset(CtsModel):
    """``power:meterAsset``: a meter by its CIM master resource ID."""

    __tag__ = "power:meterAsset"
    mrid: Annotated[NonEmptyStr, Xml("power:mrid")]


class Pnode(CtsModel):
    """``power:pnode``: a pricing node of a market."""

    __tag__ = "power:pnode"
    node: Annotated[NonEmptyStr, Xml("power:node")]


class AggregatedPnode(CtsModel):
    """``power:aggregatedPnode``: an aggregation of pricing nodes (a zone, a hub)."""

    __tag__ = "power:aggregatedPnode"
    node: Annotated[NonEmptyStr, Xml("power:node")]


class ServiceLocation(CtsModel):
    """``power:serviceLocation``: a service location (the CTS profile gives it no content)."""

    __tag__ = "power:serviceLocation"


class ServiceDeliveryPoint(CtsModel):
    """``power:serviceDeliveryPoint``: the point where a utility delivers service to a customer."""

    __tag__ = "power:serviceDeliveryPoint"
    node: Annotated[NonEmptyStr, Xml("power:node")]


class TransportInterface(CtsModel):
    """``power:transportInterface``: a transport path, from receipt to delivery."""

    __tag__ = "power:transportInterface"
    point_of_receipt: Annotated[NonEmptyStr, Xml("power:pointOfReceipt")]
    point_of_delivery: Annotated[NonEmptyStr, Xml("power:pointOfDelivery")]


class ServiceArea(CtsModel):
    """``emix:serviceArea``: a service area (the CTS profile gives it no content)."""

    __tag__ = "emix:serviceArea"


#: the members of the ``emix:emixInterface`` substitution group
EmixInterface = (
    EndDeviceAsset
    | MeterAsset
    | Pnode
    | AggregatedPnode
    | ServiceLocation
    | ServiceDeliveryPoint
    | TransportInterface
    | ServiceArea
)
