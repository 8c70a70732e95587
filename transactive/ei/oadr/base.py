"""Bases and building blocks shared by the OpenADR 2.0b messages."""

from __future__ import annotations

from typing import Annotated

from transactive.model import Model, Xml
from transactive.model.namespaces import OADR

__all__ = ["EiResponse", "OadrMessage", "OadrModel"]


class OadrModel(Model):
    """A part of an OpenADR 2.0b message (namespaces of ``schemas/oadr20b``)."""

    __family__ = OADR


class OadrMessage(OadrModel):
    """An OpenADR 2.0b message; on the XML wire it sits inside ``oadrPayload/oadrSignedObject``."""

    __envelope__ = ("oadr:oadrPayload", "oadr:oadrSignedObject")


class EiResponse(OadrModel):
    """``ei:eiResponse``: the outcome of a request, echoing its ``requestID``."""

    response_code: Annotated[int, Xml("ei:responseCode")]
    response_description: Annotated[str | None, Xml("ei:responseDescription")] = None
    request_id: Annotated[str, Xml("pyld:requestID")]
