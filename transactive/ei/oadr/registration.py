"""OpenADR 2.0b registration (EiRegisterParty service): how a VEN registers with a VTN.

``oadrQueryRegistration`` → ``oadrCreatedPartyRegistration`` (what the VTN supports);
``oadrCreatePartyRegistration`` → ``oadrCreatedPartyRegistration`` (the VTN assigns a registration and VEN ID);
``oadrCancelPartyRegistration`` → ``oadrCanceledPartyRegistration``;
``oadrRequestReregistration`` (VTN → VEN: register again).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.ei.oadr.base import EiResponse, OadrMessage, OadrModel
from transactive.ei.oadr.enums import ProfileName, ServiceName, TransportName
from transactive.ei.oadr.types import OadrDuration
from transactive.model import Xml
from transactive.model.registry import message

__all__ = [
    "Extension",
    "Info",
    "OadrCancelPartyRegistration",
    "OadrCanceledPartyRegistration",
    "OadrCreatePartyRegistration",
    "OadrCreatedPartyRegistration",
    "OadrQueryRegistration",
    "OadrRequestReregistration",
    "Profile",
    "Service",
    "Transport",
]


class Transport(OadrModel):
    """``oadr:oadrTransport``: a transport a profile is offered on."""

    transport_name: Annotated[TransportName, Xml("oadr:oadrTransportName")]


class Profile(OadrModel):
    """``oadr:oadrProfile``: an OpenADR profile the VTN supports, and over which transports."""

    profile_name: Annotated[ProfileName, Xml("oadr:oadrProfileName")]
    transports: Annotated[
        tuple[Transport, ...], Xml("oadr:oadrTransports/oadr:oadrTransport"), Field(min_length=1)
    ]


class Info(OadrModel):
    """``oadr:oadrInfo``: one key/value pair of service-specific or extension information."""

    key: Annotated[str, Xml("oadr:oadrKey")]
    value: Annotated[str, Xml("oadr:oadrValue")]


class Service(OadrModel):
    """``oadr:oadrService``: information about one service of the VTN."""

    service_name: Annotated[ServiceName, Xml("oadr:oadrServiceName")]
    infos: Annotated[tuple[Info, ...], Xml("oadr:oadrInfo"), Field(min_length=1)]


class Extension(OadrModel):
    """``oadr:oadrExtension``: a named extension the VTN supports, with its settings."""

    name: Annotated[str, Xml("oadr:oadrExtensionName")]
    infos: Annotated[tuple[Info, ...], Xml("oadr:oadrInfo")] = ()


@message
class OadrQueryRegistration(OadrMessage):
    """``oadr:oadrQueryRegistration``: a VEN asks what the VTN supports, before registering."""

    __tag__ = "oadr:oadrQueryRegistration"
    request_id: Annotated[str, Xml("pyld:requestID")]


@message
class OadrCreatePartyRegistration(OadrMessage):
    """``oadr:oadrCreatePartyRegistration``: a VEN registers (or re-registers, with its ``registration_id``)."""

    __tag__ = "oadr:oadrCreatePartyRegistration"
    request_id: Annotated[str, Xml("pyld:requestID")]
    #: present when re-registering
    registration_id: Annotated[str | None, Xml("ei:registrationID")] = None
    ven_id: Annotated[str | None, Xml("ei:venID")] = None
    profile_name: Annotated[ProfileName, Xml("oadr:oadrProfileName")] = ProfileName.V2_0B
    transport_name: Annotated[TransportName, Xml("oadr:oadrTransportName")] = TransportName.SIMPLE_HTTP
    #: where the VTN can push to the VEN (push model only)
    transport_address: Annotated[str | None, Xml("oadr:oadrTransportAddress")] = None
    #: the VEN only reports and takes no events
    report_only: Annotated[bool, Xml("oadr:oadrReportOnly")] = False
    #: the VEN signs its messages
    xml_signature: Annotated[bool, Xml("oadr:oadrXmlSignature")] = False
    ven_name: Annotated[str | None, Xml("oadr:oadrVenName")] = None
    #: True: the VEN polls (HTTP pull); False: the VTN pushes to ``transport_address``
    http_pull_model: Annotated[bool | None, Xml("oadr:oadrHttpPullModel")] = None


@message
class OadrCreatedPartyRegistration(OadrMessage):
    """``oadr:oadrCreatedPartyRegistration``: the VTN's answer to a registration or a registration query."""

    __tag__ = "oadr:oadrCreatedPartyRegistration"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    registration_id: Annotated[str | None, Xml("ei:registrationID")] = None
    ven_id: Annotated[str | None, Xml("ei:venID")] = None
    vtn_id: Annotated[str, Xml("ei:vtnID")]
    profiles: Annotated[tuple[Profile, ...], Xml("oadr:oadrProfiles/oadr:oadrProfile"), Field(min_length=1)]
    #: how often the VTN wants the VEN to poll
    requested_poll_freq: Annotated[
        OadrDuration | None, Xml("oadr:oadrRequestedOadrPollFreq/xcal:duration")
    ] = None
    service_specific_info: Annotated[
        tuple[Service, ...], Xml("oadr:oadrServiceSpecificInfo/oadr:oadrService")
    ] = ()
    extensions: Annotated[tuple[Extension, ...], Xml("oadr:oadrExtensions/oadr:oadrExtension")] = ()


@message
class OadrCancelPartyRegistration(OadrMessage):
    """``oadr:oadrCancelPartyRegistration``: either party ends a registration."""

    __tag__ = "oadr:oadrCancelPartyRegistration"
    request_id: Annotated[str, Xml("pyld:requestID")]
    registration_id: Annotated[str, Xml("ei:registrationID")]
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrCanceledPartyRegistration(OadrMessage):
    """``oadr:oadrCanceledPartyRegistration``: the answer to ``oadrCancelPartyRegistration``."""

    __tag__ = "oadr:oadrCanceledPartyRegistration"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    registration_id: Annotated[str | None, Xml("ei:registrationID")] = None
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrRequestReregistration(OadrMessage):
    """``oadr:oadrRequestReregistration``: the VTN asks a VEN to register again."""

    __tag__ = "oadr:oadrRequestReregistration"
    ven_id: Annotated[str, Xml("ei:venID")]
