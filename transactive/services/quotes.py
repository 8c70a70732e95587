"""The quote facet: the VTN publishes the last clearing prices (``ei:eiQuote``, state ``publication``).

One quote per cleared interval, id ``quote-<interval start, UTC basic format>``: an ``emix:product`` for
that interval with the clearing price (uniform; pay-as-bid: the buyers' volume-weighted average) and the
cleared quantity. ``eiRequestQuote`` returns the latest quote, or the quotes named by ``ei:quoteID``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from transactive.ei.cts.quote import EiCreateQuote, EiQuote, EiReplyQuote, EiRequestQuote
from transactive.emix import Side, TransactiveState, energy_tender_product
from transactive.protocol.errors import InvalidIdError
from transactive.protocol.market import MarketConfig
from transactive.services.context import Credentials, ServiceContext
from transactive.services.store import GateRow

__all__ = ["QUOTE_HISTORY", "quote_id", "quote_message", "quote_model", "request_quote", "stamp"]

#: how many cleared intervals ``eiRequestQuote`` looks back for named quotes
QUOTE_HISTORY = 96


def stamp(interval_start: datetime) -> str:
    """``20261121T120000Z``: an interval start in ids."""
    return interval_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def quote_id(interval_start: datetime) -> str:
    return f"quote-{stamp(interval_start)}"


def quote_model(config: MarketConfig, gate: GateRow) -> EiQuote | None:
    """The quote of a closed interval (None when nothing cleared)."""
    if gate.price is None:
        return None
    product = energy_tender_product(
        side=Side.SELL, quantity_kwh=float(gate.quantity), price=gate.price, currency=config.currency,
        market_context=config.market_context, dtstart=gate.interval_start, duration=config.interval,
        uid=quote_id(gate.interval_start), transactive_state=TransactiveState.PUBLICATION,
    )
    return EiQuote(quote_id=quote_id(gate.interval_start), items=(product,))


def quote_message(config: MarketConfig, quote: EiQuote, subscriber: str) -> EiCreateQuote:
    """``eiCreateQuote`` publishing ``quote`` to one subscriber."""
    return EiCreateQuote(request_id=f"{quote.quote_id}-{subscriber}", publisher_party_id=config.market_party_id,
                         subscriber_party_id=subscriber, quotes=(quote,))


def request_quote(ctx: ServiceContext, msg: EiRequestQuote, auth: Credentials) -> EiReplyQuote:
    ctx.authorize(auth.token, msg.requestor_party_id, "ei:requestorPartyID")
    if msg.publisher_party_id != ctx.config.market_party_id:
        raise InvalidIdError(f"the publisher is {ctx.config.market_party_id!r}", field="ei:publisherPartyID")
    for i, uri in enumerate(msg.market_contexts, 1):
        if uri != ctx.config.market_context:
            raise InvalidIdError(f"this VTN runs {ctx.config.market_context}", field=f"emix:marketContext[{i}]")
    gates = ctx.store.gates(limit=QUOTE_HISTORY if msg.quote_ids else 1)
    quotes = [q for q in (quote_model(ctx.config, g) for g in gates) if q is not None]
    if msg.quote_ids:
        by_id = {q.quote_id: q for q in quotes}
        for i, qid in enumerate(msg.quote_ids, 1):
            if qid not in by_id:
                raise InvalidIdError(f"no quote {qid!r}", field=f"ei:quoteID[{i}]")
        quotes = [by_id[q] for q in msg.quote_ids]
    return EiReplyQuote(response=ctx.ok(msg.request_id), quotes=tuple(quotes))
