"""``ei:eiResponse`` and the base of the CTS payload messages."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from transactive.emix.base import CtsModel
from transactive.emix.terms import BaseTerm
from transactive.model import DateTime, NonEmptyStr, Xml

__all__ = ["CtsPayload", "EiResponse", "ResponseCodeText", "ResponseTermViolated"]


def _code_before(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:03d}"
    return value


#: ``ei:ResponseCodeType``: three digits, HTTP-like (``200``, ``400``); an int is accepted and written as text
ResponseCodeText = Annotated[str, BeforeValidator(_code_before), Field(pattern=r"^[0-9]{3}$")]


class CtsPayload(CtsModel):
    """A CTS rev 0.4 payload message (a root element of ``EiPayloads.xsd``)."""


class ResponseTermViolated(CtsModel):
    """``ei:responseTermViolated``: a term of the request the responder could not accept, and why."""

    description: Annotated[str, Xml("ei:responseDescription")]
    term: Annotated[BaseTerm, Xml("*")]


class EiResponse(CtsModel):
    """``ei:eiResponse``: the outcome of a request; ``ref_id`` echoes the request's ``requestID``."""

    response_code: Annotated[ResponseCodeText, Xml("ei:responseCode")]
    response_description: Annotated[str | None, Xml("ei:responseDescription")] = None
    ref_id: Annotated[NonEmptyStr, Xml("ei:refID")]
    terms_violated: Annotated[
        tuple[ResponseTermViolated, ...], Xml("ei:responseTermsViolated/ei:responseTermViolated")
    ] = ()
    created_date_time: Annotated[DateTime | None, Xml("ei:createdDateTime")] = None

    @property
    def ok(self) -> bool:
        """True for a 2xx code."""
        return self.response_code.startswith("2")
