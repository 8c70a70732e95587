"""Bases and building blocks shared by the OpenADR 2.0b messages (``ei:eiResponse``, ``ei:qualifiedEventID``)."""

from __future__ import annotations

from typing import Annotated

from transactive.ei.oadr.types import ResponseCodeValue, SchemaVersionValue, UnsignedInt
from transactive.model import Model, Xml
from transactive.model.namespaces import OADR

__all__ = ["EiResponse", "OadrMessage", "OadrModel", "QualifiedEventID"]


class OadrModel(Model):
    """A part of an OpenADR 2.0b message (namespaces of ``schemas/oadr20b``)."""

    __family__ = OADR


class OadrMessage(OadrModel):
    """An OpenADR 2.0b message; on the XML wire it sits inside ``oadrPayload/oadrSignedObject``.

    Every OpenADR 2.0b payload type carries the optional ``ei:schemaVersion`` attribute.
    """

    __envelope__ = ("oadr:oadrPayload", "oadr:oadrSignedObject")

    schema_version: Annotated[SchemaVersionValue | None, Xml("@ei:schemaVersion")] = "2.0b"


class EiResponse(OadrModel):
    """``ei:eiResponse``: the outcome of a request, echoing its ``requestID``."""

    #: HTTP-like status: 200 OK, 4xx/5xx errors, 450-469 OpenADR application codes
    response_code: Annotated[ResponseCodeValue, Xml("ei:responseCode")]
    response_description: Annotated[str | None, Xml("ei:responseDescription")] = None
    #: the ``requestID`` of the request this answers (may be empty for unsolicited answers)
    request_id: Annotated[str, Xml("pyld:requestID")]


class QualifiedEventID(OadrModel):
    """``ei:qualifiedEventID``: one version of an event (its ID and modification number)."""

    event_id: Annotated[str, Xml("ei:eventID")]
    modification_number: Annotated[UnsignedInt, Xml("ei:modificationNumber")]
