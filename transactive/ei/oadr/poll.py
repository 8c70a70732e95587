"""OpenADR 2.0b polling and the generic answer: ``oadrPoll`` and ``oadrResponse``."""

from __future__ import annotations

from typing import Annotated

from transactive.ei.oadr.base import EiResponse, OadrMessage
from transactive.model import Xml
from transactive.model.registry import message

__all__ = ["OadrPoll", "OadrResponse"]


@message
class OadrPoll(OadrMessage):
    """``oadr:oadrPoll``: a VEN (HTTP pull) asks the VTN whether it has anything for it."""

    __tag__ = "oadr:oadrPoll"
    ven_id: Annotated[str, Xml("ei:venID")]


@message
class OadrResponse(OadrMessage):
    """``oadr:oadrResponse``: a plain acknowledgement (also: "nothing for you" in answer to a poll)."""

    __tag__ = "oadr:oadrResponse"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    ven_id: Annotated[str | None, Xml("ei:venID")] = None
