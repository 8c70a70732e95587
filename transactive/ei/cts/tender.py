"""Tenders: offers to buy or sell (``ei:eiTender`` and its payloads)."""

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
    "EiCancelTender",
    "EiCanceledTender",
    "EiCreateTender",
    "EiCreatedTender",
    "EiDistributeTender",
    "EiReplyTender",
    "EiRequestTender",
    "EiTender",
]


class EiTender(CtsModel):
    """``ei:eiTender``: one offer, identified by ``tender_id``, for one EMIX product (or option)."""

    tender_id: Annotated[NonEmptyStr, Xml("ei:tenderID")]
    item: Annotated[EmixBaseMember, Xml("*")]


@message
class EiCreateTender(CtsPayload):
    """A party sends tenders to a counterparty (usually the market)."""

    __tag__ = "pyld:eiCreateTender"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_id: Annotated[NonEmptyStr, Xml("ei:counterPartyID")]
    tenders: Annotated[tuple[EiTender, ...], Xml("ei:eiTender"), Field(min_length=1)]


@message
class EiCreatedTender(CtsPayload):
    """The counterparty acknowledges tenders."""

    __tag__ = "pyld:eiCreatedTender"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_id: Annotated[NonEmptyStr | None, Xml("ei:counterPartyID")] = None
    tender_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:tenderID")] = ()


@message
class EiRequestTender(CtsPayload):
    """Ask for outstanding tenders, optionally limited by counterparty, market, ID or time."""

    __tag__ = "pyld:eiRequestTender"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:counterPartyID")] = ()
    requestor_party_id: Annotated[NonEmptyStr, Xml("ei:requestorPartyID")]
    market_contexts: Annotated[tuple[MarketContext, ...], Xml("emix:marketContext")] = ()
    tender_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:tenderID")] = ()
    intervals: Annotated[tuple[StreamInterval, ...], Xml("strm:intervals/strm:streamInterval")] = ()


@message
class EiReplyTender(CtsPayload):
    """The tenders asked for."""

    __tag__ = "pyld:eiReplyTender"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    tenders: Annotated[tuple[EiTender, ...], Xml("ei:eiTender")] = ()


@message
class EiCancelTender(CtsPayload):
    """Withdraw tenders."""

    __tag__ = "pyld:eiCancelTender"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_id: Annotated[NonEmptyStr | None, Xml("ei:counterPartyID")] = None
    tender_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:tenderID"), Field(min_length=1)]


@message
class EiCanceledTender(CtsPayload):
    """Tenders were withdrawn."""

    __tag__ = "pyld:eiCanceledTender"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_id: Annotated[NonEmptyStr | None, Xml("ei:counterPartyID")] = None


@message
class EiDistributeTender(CtsPayload):
    """Broadcast tenders (e.g. a market publishing its offers)."""

    __tag__ = "pyld:eiDistributeTender"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    tenders: Annotated[tuple[EiTender, ...], Xml("ei:eiTender"), Field(min_length=1)]
