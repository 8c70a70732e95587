"""``ei:EiTargetType``: whom an event, opt or report is about (``ei:eiTarget``, ``ei:reportSubject``,
``ei:reportDataSource``, ``oadr:oadrDeviceClass``), with the EMIX power interfaces it may name."""

from __future__ import annotations

from typing import Annotated

from transactive.ei.oadr.base import OadrModel
from transactive.ei.oadr.types import GmlId, PosList
from transactive.model import Xml

__all__ = [
    "AssetRef",
    "FeatureCollection",
    "NodeRef",
    "Polygon",
    "ServiceArea",
    "Target",
    "TransportInterface",
]


class NodeRef(OadrModel):
    """A grid node by name (``power:pnode``, ``power:aggregatedPnode``, ``power:serviceDeliveryPoint``)."""

    node: Annotated[str, Xml("power:node")]


class AssetRef(OadrModel):
    """A device by its IEC 61968 mRID (``power:endDeviceAsset``, ``power:meterAsset``)."""

    mrid: Annotated[str, Xml("power:mrid")]


class TransportInterface(OadrModel):
    """``power:transportInterface``: the nodes where energy is received and delivered."""

    point_of_receipt: Annotated[str, Xml("power:pointOfReceipt")]
    point_of_delivery: Annotated[str, Xml("power:pointOfDelivery")]


class Polygon(OadrModel):
    """``gml:Polygon``: an area bounded by a closed ring of coordinates."""

    id: Annotated[GmlId | None, Xml("@gml:id")] = None
    #: the ring's coordinates, whitespace-separated (``gml:exterior/gml:LinearRing/gml:posList``)
    pos_list: Annotated[PosList, Xml("gml:exterior/gml:LinearRing/gml:posList")]


class FeatureCollection(OadrModel):
    """``gml:FeatureCollection`` as OpenADR restricts it: one polygon location."""

    id: Annotated[GmlId | None, Xml("@gml:id")] = None
    polygon: Annotated[Polygon, Xml("gml:location/gml:Polygon")]


class ServiceArea(OadrModel):
    """An area on the map (``emix:serviceArea``, ``power:serviceLocation``)."""

    feature_collection: Annotated[FeatureCollection, Xml("gml:FeatureCollection")]


class Target(OadrModel):
    """``ei:eiTarget`` (``ei:EiTargetType``): the resources, groups, parties or places something is for.

    An empty target (no member) is allowed and means "everything the addressee has".
    """

    aggregated_pnodes: Annotated[tuple[NodeRef, ...], Xml("power:aggregatedPnode")] = ()
    end_device_assets: Annotated[tuple[AssetRef, ...], Xml("power:endDeviceAsset")] = ()
    meter_assets: Annotated[tuple[AssetRef, ...], Xml("power:meterAsset")] = ()
    pnodes: Annotated[tuple[NodeRef, ...], Xml("power:pnode")] = ()
    service_areas: Annotated[tuple[ServiceArea, ...], Xml("emix:serviceArea")] = ()
    service_delivery_points: Annotated[tuple[NodeRef, ...], Xml("power:serviceDeliveryPoint")] = ()
    service_locations: Annotated[tuple[ServiceArea, ...], Xml("power:serviceLocation")] = ()
    transport_interfaces: Annotated[tuple[TransportInterface, ...], Xml("power:transportInterface")] = ()
    group_ids: Annotated[tuple[str, ...], Xml("ei:groupID")] = ()
    group_names: Annotated[tuple[str, ...], Xml("ei:groupName")] = ()
    resource_ids: Annotated[tuple[str, ...], Xml("ei:resourceID")] = ()
    ven_ids: Annotated[tuple[str, ...], Xml("ei:venID")] = ()
    party_ids: Annotated[tuple[str, ...], Xml("ei:partyID")] = ()
