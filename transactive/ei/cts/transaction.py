"""Transactions: cleared tenders, binding on both parties (``ei:eiTransaction`` and its payloads)."""

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
    "EiCreateTransaction",
    "EiCreatedTransaction",
    "EiReplyTransaction",
    "EiRequestTransaction",
    "EiTransaction",
]


class EiTransaction(CtsModel):
    """``ei:eiTransaction``: an agreed trade of one EMIX product, optionally naming the tender it clears."""

    transaction_id: Annotated[NonEmptyStr, Xml("ei:transactionID")]
    tender_id: Annotated[NonEmptyStr | None, Xml("ei:tenderID")] = None
    item: Annotated[EmixBaseMember, Xml("*")]


@message
class EiCreateTransaction(CtsPayload):
    """Report transactions to a party (e.g. the market tells a party its tender cleared)."""

    __tag__ = "pyld:eiCreateTransaction"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_id: Annotated[NonEmptyStr, Xml("ei:counterPartyID")]
    transactions: Annotated[tuple[EiTransaction, ...], Xml("ei:eiTransaction"), Field(min_length=1)]


@message
class EiCreatedTransaction(CtsPayload):
    """Acknowledge transactions."""

    __tag__ = "pyld:eiCreatedTransaction"
    counter_party_id: Annotated[NonEmptyStr, Xml("ei:counterPartyID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    transaction_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:transactionID")] = ()


@message
class EiRequestTransaction(CtsPayload):
    """Ask for existing transactions, optionally limited by counterparty, market, ID or time."""

    __tag__ = "pyld:eiRequestTransaction"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    counter_party_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:counterPartyID")] = ()
    requestor_party_id: Annotated[NonEmptyStr, Xml("ei:requestorPartyID")]
    market_contexts: Annotated[tuple[MarketContext, ...], Xml("emix:marketContext")] = ()
    transaction_ids: Annotated[tuple[NonEmptyStr, ...], Xml("ei:transactionID")] = ()
    intervals: Annotated[tuple[StreamInterval, ...], Xml("strm:intervals/strm:streamInterval")] = ()


@message
class EiReplyTransaction(CtsPayload):
    """The transactions asked for."""

    __tag__ = "pyld:eiReplyTransaction"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    transactions: Annotated[tuple[EiTransaction, ...], Xml("ei:eiTransaction")] = ()
