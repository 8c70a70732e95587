"""Party registration payloads (``ei:eiRegistration``, ``ei:eiRegistrationInfo``).

In CTS rev 0.4 both ``ei:EiRegistrationInfoType`` and ``ei:EiRegistrationType`` are abstract and nothing
derives from them, so no schema-valid document contains either element (``xsi:type`` could not help:
there is no concrete type to name). :class:`EiRegistrationInfo` is therefore an empty element here, and
``eiCreatePartyRegistration`` (which requires one) cannot be schema-valid; ``eiReplyPartyRegistration``
is valid only without registrations.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.ei.cts.responses import CtsPayload, EiResponse
from transactive.emix.base import CtsModel
from transactive.emix.stream import StreamInterval
from transactive.model import NonEmptyStr, Xml
from transactive.model.registry import message

__all__ = [
    "EiCancelPartyRegistration",
    "EiCanceledPartyRegistration",
    "EiCreatePartyRegistration",
    "EiCreatedPartyRegistration",
    "EiRegistration",
    "EiRegistrationInfo",
    "EiReplyPartyRegistration",
    "EiRequestPartyRegistration",
]


class EiRegistrationInfo(CtsModel):
    """``ei:eiRegistrationInfo``: abstract and empty in CTS rev 0.4 (see the module docstring)."""


class EiRegistration(CtsModel):
    """``ei:eiRegistration``: who registered with whom."""

    registree_party_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:registreePartyID")] = ()
    registrar_party_id: Annotated[NonEmptyStr, Xml("ei:registrarPartyID")]
    info: Annotated[EiRegistrationInfo, Xml("ei:eiRegistrationInfo")] = EiRegistrationInfo()


@message
class EiCreatePartyRegistration(CtsPayload):
    """A party asks to be registered (with a market or another party)."""

    __tag__ = "pyld:eiCreatePartyRegistration"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    registree_party_id: Annotated[NonEmptyStr | None, Xml("ei:registreePartyID")] = None
    info: Annotated[EiRegistrationInfo, Xml("ei:eiRegistrationInfo")] = EiRegistrationInfo()


@message
class EiCreatedPartyRegistration(CtsPayload):
    """The registrar answers a registration, with the registration's ID."""

    __tag__ = "pyld:eiCreatedPartyRegistration"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    registrar_party_id: Annotated[NonEmptyStr | None, Xml("ei:registrarPartyID")] = None
    registration_id: Annotated[NonEmptyStr | None, Xml("ei:registrationID")] = None
    registree_party_id: Annotated[NonEmptyStr | None, Xml("ei:registreePartyID")] = None


@message
class EiRequestPartyRegistration(CtsPayload):
    """Ask for existing registrations."""

    __tag__ = "pyld:eiRequestPartyRegistration"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    registree_party_id: Annotated[NonEmptyStr, Xml("ei:registreePartyID")]
    registrar_party_id: Annotated[NonEmptyStr | None, Xml("ei:registrarPartyID")] = None
    requestor_party_id: Annotated[NonEmptyStr, Xml("ei:requestorPartyID")]
    registration_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:registrationID")] = ()
    intervals: Annotated[tuple[StreamInterval, ...], Xml("strm:intervals/strm:streamInterval")] = ()


@message
class EiReplyPartyRegistration(CtsPayload):
    """The registrations asked for."""

    __tag__ = "pyld:eiReplyPartyRegistration"
    registrations: Annotated[tuple[EiRegistration, ...], Xml("ei:eiRegistration")] = ()
    response: Annotated[EiResponse, Xml("ei:eiResponse")]


@message
class EiCancelPartyRegistration(CtsPayload):
    """End registrations."""

    __tag__ = "pyld:eiCancelPartyRegistration"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    registree_party_id: Annotated[NonEmptyStr, Xml("ei:registreePartyID")]
    registrar_party_id: Annotated[NonEmptyStr, Xml("ei:registrarPartyID")]
    registration_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:registrationID"), Field(min_length=1)]


@message
class EiCanceledPartyRegistration(CtsPayload):
    """Registrations were ended."""

    __tag__ = "pyld:eiCanceledPartyRegistration"
    responding_party_id: Annotated[NonEmptyStr, Xml("ei:respondingPartyID")]
    registree_party_id: Annotated[NonEmptyStr, Xml("ei:registreePartyID")]
    registrar_party_id: Annotated[NonEmptyStr, Xml("ei:registrarPartyID")]
    responses: Annotated[tuple[EiResponse, ...], Xml("ei:eiResponse")] = ()
