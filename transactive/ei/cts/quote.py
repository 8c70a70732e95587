"""Quotes: indicative prices, not offers (``ei:eiQuote`` and its payloads)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.ei.cts.responses import CtsPayload, EiResponse
from transactive.emix.base import CtsModel, MarketContext
from transactive.emix.product import EmixBaseMember
from transactive.emix.stream import StreamInterval
from transactive.model import NonEmptyStr, Xml
from transactive.model.registry import message

__all__ = [
    "EiCancelQuote",
    "EiCanceledQuote",
    "EiCreateQuote",
    "EiCreatedQuote",
    "EiQuote",
    "EiReplyQuote",
    "EiRequestQuote",
]


class EiQuote(CtsModel):
    """``ei:eiQuote``: one quote, for one or more EMIX products (typically ``publication`` state)."""

    quote_id: Annotated[NonEmptyStr, Xml("ei:quoteID")]
    items: Annotated[tuple[EmixBaseMember, ...], Xml("*"), Field(min_length=1)]


@message
class EiCreateQuote(CtsPayload):
    """A publisher sends quotes to a subscriber."""

    __tag__ = "pyld:eiCreateQuote"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    publisher_party_id: Annotated[NonEmptyStr, Xml("ei:publisherPartyID")]
    subscriber_party_id: Annotated[NonEmptyStr, Xml("ei:subscriberPartyID")]
    quotes: Annotated[tuple[EiQuote, ...], Xml("ei:eiQuote"), Field(min_length=1)]


@message
class EiCreatedQuote(CtsPayload):
    """The subscriber acknowledges quotes."""

    __tag__ = "pyld:eiCreatedQuote"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    subscriber_party_id: Annotated[NonEmptyStr, Xml("ei:subscriberPartyID")]
    publisher_party_id: Annotated[NonEmptyStr | None, Xml("ei:publisherPartyID")] = None
    quote_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:quoteID")] = ()


@message
class EiCancelQuote(CtsPayload):
    """The publisher withdraws quotes."""

    __tag__ = "pyld:eiCancelQuote"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    subscriber_party_id: Annotated[NonEmptyStr | None, Xml("ei:subscriberPartyID")] = None
    publisher_party_id: Annotated[NonEmptyStr, Xml("ei:publisherPartyID")]
    quote_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:quoteID"), Field(min_length=1)]


@message
class EiCanceledQuote(CtsPayload):
    """Quotes were withdrawn."""

    __tag__ = "pyld:eiCanceledQuote"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    subscriber_party_id: Annotated[NonEmptyStr | None, Xml("ei:subscriberPartyID")] = None
    publisher_party_id: Annotated[NonEmptyStr | None, Xml("ei:publisherPartyID")] = None


@message
class EiRequestQuote(CtsPayload):
    """Ask a publisher for its outstanding quotes."""

    __tag__ = "pyld:eiRequestQuote"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    requestor_party_id: Annotated[NonEmptyStr, Xml("ei:requestorPartyID")]
    publisher_party_id: Annotated[NonEmptyStr, Xml("ei:publisherPartyID")]
    market_contexts: Annotated[tuple[MarketContext, ...], Xml("emix:marketContext")] = ()
    quote_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:quoteID")] = ()
    intervals: Annotated[tuple[StreamInterval, ...], Xml("strm:intervals/strm:streamInterval")] = ()


@message
class EiReplyQuote(CtsPayload):
    """The quotes asked for."""

    __tag__ = "pyld:eiReplyQuote"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    quotes: Annotated[tuple[EiQuote, ...], Xml("ei:eiQuote")] = ()
