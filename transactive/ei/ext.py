"""**Extensions** to CTS rev 0.4: payloads the standard does not define, in a namespace of our own.

Namespace ``urn:transactive:ext:2026``, prefix ``tx`` (family ``transactive-ext``; the CTS prefixes keep
their CTS namespaces inside these documents, so standard parts stay standard). They are registered with
the codecs like any message (``decode(encode(m)) == m`` in XML and JSON), but no schema ships for them:
:func:`transactive.schemas.validate` reports a ``tx:`` root as *no shipped schema for namespace*
``urn:transactive:ext:2026``. A peer that speaks only CTS rev 0.4 will not understand them.

=================================  ==========================================================================
extension payload                  why
=================================  ==========================================================================
``tx:eiRequestPosition``           CTS rev 0.4 has no position service; asks for a party's position over a
                                   bounding interval (``xcal:dtStart`` + ``xcal:duration``)
``tx:eiReplyPosition``             the position: per interval and in total, bought / sold / net kWh, money
``tx:eiReplyEiMarketContext``      ``pyld:eiReplyEiMarketContext`` carries only an ``ei:eiResponse``; this
                                   reply adds the standard ``ei:eiMarketContext`` (what fits in EMIX
                                   standard terms) and ``tx:marketRules`` (what does not)
``tx:eiResponsePayload``           a bare ``ei:eiResponse``, the answer to a document that is not a request
                                   the VTN knows (so a transport can always answer with a code)
=================================  ==========================================================================
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from transactive.ei.cts.market_context import EiMarketContext
from transactive.ei.cts.responses import EiResponse
from transactive.emix.base import Currency, PositiveDuration
from transactive.model import DateTime, Family, Model, NonEmptyStr, Xml, XsDecimal
from transactive.model.namespaces import CTS_NS
from transactive.model.registry import message

#: a count of at least one (``xs:positiveInteger``, bounded like ``xs:unsignedInt``)
PositiveInt = Annotated[int, Field(ge=1, le=4_294_967_295)]

__all__ = [
    "TX",
    "TX_NS",
    "EiReplyPosition",
    "EiRequestPosition",
    "EiResponsePayload",
    "MarketRules",
    "PositionInterval",
    "TxModel",
    "TxReplyEiMarketContext",
]

#: the extension namespace
TX_NS = "urn:transactive:ext:2026"
#: the extension family: the CTS prefixes plus ``tx``
TX = Family("transactive-ext", {**CTS_NS, "tx": TX_NS}, schema="transactive-ext")


class TxModel(Model):
    """A part of an extension document (family :data:`TX`)."""

    __family__ = TX


class PositionInterval(TxModel):
    """One interval of a position: energy bought and sold (kWh) and money (positive: the party pays)."""

    dtstart: Annotated[DateTime, Xml("xcal:dtStart/xcal:dateTime")]
    duration: Annotated[PositiveDuration, Xml("xcal:duration")]
    bought_kwh: Annotated[XsDecimal, Xml("tx:boughtKWh")]
    sold_kwh: Annotated[XsDecimal, Xml("tx:soldKWh")]
    net_kwh: Annotated[XsDecimal, Xml("tx:netKWh")]
    amount: Annotated[XsDecimal, Xml("tx:amount")]
    delivered_kwh: Annotated[XsDecimal | None, Xml("tx:deliveredKWh")] = None


@message
class EiRequestPosition(TxModel):
    """**Extension.** Ask for a party's position over ``[dtstart, dtstart + duration)``."""

    __tag__ = "tx:eiRequestPosition"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    dtstart: Annotated[DateTime, Xml("xcal:dtStart/xcal:dateTime")]
    duration: Annotated[PositiveDuration, Xml("xcal:duration")]


@message
class EiReplyPosition(TxModel):
    """**Extension.** A party's position: totals and one :class:`PositionInterval` per traded interval.

    ``net_kwh = bought_kwh - sold_kwh`` (positive: net import); ``amount`` is money, positive when the
    party pays, in ``currency``.
    """

    __tag__ = "tx:eiReplyPosition"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    party_id: Annotated[NonEmptyStr, Xml("ei:partyID")]
    currency: Annotated[Currency | None, Xml("emix:currency")] = None
    bought_kwh: Annotated[XsDecimal, Xml("tx:boughtKWh")] = Decimal(0)
    sold_kwh: Annotated[XsDecimal, Xml("tx:soldKWh")] = Decimal(0)
    net_kwh: Annotated[XsDecimal, Xml("tx:netKWh")] = Decimal(0)
    amount: Annotated[XsDecimal, Xml("tx:amount")] = Decimal(0)
    intervals: Annotated[tuple[PositionInterval, ...], Xml("tx:intervals/tx:interval")] = ()


class MarketRules(TxModel):
    """**Extension.** The market parameters EMIX standard terms have no element for."""

    market_party_id: Annotated[NonEmptyStr, Xml("tx:marketPartyID")]
    mechanism: Annotated[NonEmptyStr, Xml("tx:mechanism")]
    interval: Annotated[PositiveDuration, Xml("tx:interval")]
    gate_closure: Annotated[PositiveDuration, Xml("tx:gateClosure")]
    quantity_scale: Annotated[XsDecimal, Xml("tx:quantityScale")]
    price_scale: Annotated[XsDecimal, Xml("tx:priceScale")]
    min_quantity_kwh: Annotated[XsDecimal, Xml("tx:minQuantityKWh")]
    max_quantity_kwh: Annotated[XsDecimal, Xml("tx:maxQuantityKWh")]
    min_price: Annotated[XsDecimal, Xml("tx:minPrice")]
    max_price: Annotated[XsDecimal, Xml("tx:maxPrice")]
    grid_buy_price: Annotated[XsDecimal | None, Xml("tx:gridBuyPrice")] = None
    grid_sell_price: Annotated[XsDecimal | None, Xml("tx:gridSellPrice")] = None
    #: the most tenders one ``eiCreateTender`` may carry
    max_tenders: Annotated[PositiveInt | None, Xml("tx:maxTendersPerRequest")] = None
    #: the most intervals one stream tender may span
    max_stream_intervals: Annotated[PositiveInt | None, Xml("tx:maxStreamIntervals")] = None
    #: how far ahead of now a tendered interval may start
    horizon: Annotated[PositiveDuration | None, Xml("tx:horizon")] = None
    #: the key the VTN signs its notices with (``ed25519:<base64url>``, see transactive.protocol.identity)
    signing_key: Annotated[NonEmptyStr | None, Xml("tx:signingKey")] = None


@message
class TxReplyEiMarketContext(TxModel):
    """**Extension.** ``pyld:eiReplyEiMarketContext`` plus the market context asked for.

    ``market_context`` is the standard ``ei:eiMarketContext``; ``rules`` the extension part. Both are
    absent in an error reply.
    """

    __tag__ = "tx:eiReplyEiMarketContext"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    market_context: Annotated[EiMarketContext | None, Xml("ei:eiMarketContext")] = None
    rules: Annotated[MarketRules | None, Xml("tx:marketRules")] = None


@message
class EiResponsePayload(TxModel):
    """**Extension.** A bare ``ei:eiResponse``: the answer to something that is not a known request."""

    __tag__ = "tx:eiResponsePayload"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
