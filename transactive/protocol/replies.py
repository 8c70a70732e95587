"""``ei:eiResponse`` in and out: success responses, the error reply for any request, and the client check.

A refusal travels as the request's own reply payload whose ``ei:eiResponse`` has the error's code and a
description naming the field: ``"<message> [field: <wire path>]"`` (:func:`describe`). :func:`check_reply`
turns such a reply back into :class:`~transactive.protocol.errors.RequestRefusedError` with the same code
and field, so a client raises what the VTN raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from transactive.ei.cts.delivery import EiCreatedDelivery, EiCreateDelivery
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.quote import EiReplyQuote, EiRequestQuote
from transactive.ei.cts.registration import (
    EiCanceledPartyRegistration,
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
    EiReplyPartyRegistration,
    EiRequestPartyRegistration,
)
from transactive.ei.cts.responses import EiResponse
from transactive.ei.cts.tender import (
    EiCanceledTender,
    EiCancelTender,
    EiCreatedTender,
    EiCreateTender,
    EiReplyTender,
    EiRequestTender,
)
from transactive.ei.cts.transaction import EiReplyTransaction, EiRequestTransaction
from transactive.ei.ext import (
    EiReplyPosition,
    EiRequestPosition,
    EiResponsePayload,
    TxReplyEiMarketContext,
)
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.errors import RequestRefusedError

__all__ = ["check_reply", "describe", "error_reply", "ok_response", "reply_response", "request_id_of"]

M = TypeVar("M", bound=Model)
_FIELD = re.compile(r"^(?P<message>.*) \[field: (?P<field>.+)\]$", re.DOTALL)


def ok_response(ref_id: str, now: datetime) -> EiResponse:
    return EiResponse(response_code="200", response_description="OK", ref_id=ref_id, created_date_time=now)


def describe(error: ProtocolError) -> str:
    """The ``ei:responseDescription`` of a refusal: the message and the field it names."""
    return f"{error.message} [field: {error.field}]" if error.field else error.message


def request_id_of(message: Model) -> str:
    """The ``pyld:requestID`` of a request (``"unknown"`` when it has none)."""
    value = getattr(message, "request_id", None)
    return value if isinstance(value, str) and value else "unknown"


def error_reply(request: Model | None, error: ProtocolError, *, market_party_id: str, now: datetime) -> Model:
    """The reply payload for ``request`` that carries ``error`` (code and field) in its ``ei:eiResponse``.

    Requests without a reply type of their own (or no request at all: it could not be decoded) get the
    extension ``tx:eiResponsePayload``.
    """
    ref = request_id_of(request) if request is not None else "unknown"
    response = EiResponse(response_code=f"{error.response_code:03d}", response_description=describe(error),
                          ref_id=ref, created_date_time=now)
    build = _ERROR_REPLIES.get(type(request)) if request is not None else None
    if build is None or request is None:
        return EiResponsePayload(response=response)
    return build(request, response, market_party_id)


def _party(request: Model, name: str, fallback: str = "unknown") -> str:
    value = getattr(request, name, None)
    return value if isinstance(value, str) and value else fallback


_ERROR_REPLIES: dict[type[Model], Callable[[Model, EiResponse, str], Model]] = {
    EiCreatePartyRegistration: lambda r, resp, m: EiCreatedPartyRegistration(
        response=resp, registrar_party_id=m, registree_party_id=_party(r, "registree_party_id", "") or None),
    EiRequestPartyRegistration: lambda r, resp, m: EiReplyPartyRegistration(response=resp),
    EiCancelPartyRegistration: lambda r, resp, m: EiCanceledPartyRegistration(
        responding_party_id=m, registree_party_id=_party(r, "registree_party_id"), registrar_party_id=m,
        responses=(resp,)),
    EiRequestEiMarketContext: lambda r, resp, m: TxReplyEiMarketContext(response=resp),
    EiCreateTender: lambda r, resp, m: EiCreatedTender(response=resp, party_id=_party(r, "party_id"),
                                                       counter_party_id=m),
    EiCancelTender: lambda r, resp, m: EiCanceledTender(response=resp, party_id=_party(r, "party_id"),
                                                        counter_party_id=m),
    EiRequestTender: lambda r, resp, m: EiReplyTender(response=resp),
    EiRequestTransaction: lambda r, resp, m: EiReplyTransaction(response=resp),
    EiCreateDelivery: lambda r, resp, m: EiCreatedDelivery(response=resp),
    EiRequestQuote: lambda r, resp, m: EiReplyQuote(response=resp),
    EiRequestPosition: lambda r, resp, m: EiReplyPosition(response=resp, party_id=_party(r, "party_id")),
}


def reply_response(reply: Model) -> EiResponse | None:
    """The ``ei:eiResponse`` a reply carries (the first one, for payloads with several)."""
    response = getattr(reply, "response", None)
    if isinstance(response, EiResponse):
        return response
    responses = getattr(reply, "responses", ())
    return responses[0] if responses and isinstance(responses[0], EiResponse) else None


def check_reply(reply: M) -> M:
    """Return ``reply`` if its ``ei:eiResponse`` is 2xx, else raise :class:`RequestRefusedError`."""
    response = reply_response(reply)
    if response is None or response.ok:
        return reply
    text = response.response_description or f"refused with {response.response_code}"
    match = _FIELD.match(text)
    message, field = (match["message"], match["field"]) if match else (text, None)
    raise RequestRefusedError(message, response_code=int(response.response_code), field=field, reply=reply)
