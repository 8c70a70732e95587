"""The EMIX base members: :class:`Product`, :class:`EmixOption` and :class:`Delivery`.

Each is a stream (:class:`~transactive.emix.stream.StreamBase`: start, duration, payload, intervals)
with an ``emix:uid`` and its market facts. In an ``ei:eiTender``, ``ei:eiQuote`` or ``ei:eiTransaction``
one of them stands where the schema names the abstract ``emix:emixBase``, under its own element name
(see :mod:`transactive.ei.cts` for why no XML document of that shape validates against the CTS rev 0.4
XSD).
"""

from __future__ import annotations

from typing import Annotated

from transactive.emix.base import Currency, MarketContext, Side, TransactiveState
from transactive.emix.prices import Price
from transactive.emix.stream import StreamBase
from transactive.model import DateTime, NonEmptyStr, Xml

__all__ = ["Delivery", "DeliveryBase", "EmixBase", "EmixBaseMember", "EmixOption", "Product"]


class EmixBase(StreamBase):
    """The fields of ``emix:EmixBaseType`` (abstract): a stream with an ``emix:uid``."""

    uid: Annotated[NonEmptyStr, Xml("emix:uid")]


class Product(EmixBase):
    """``emix:product``: a product description applied to a schedule, offered on one side of a market."""

    __tag__ = "emix:product"
    transactive_state: Annotated[TransactiveState, Xml("emix:transactiveState")]
    expiration_date: Annotated[DateTime | None, Xml("emix:expirationDate")] = None
    integral_only: Annotated[bool | None, Xml("emix:integralOnly")] = None
    currency: Annotated[Currency | None, Xml("emix:currency")] = None
    market_context: Annotated[MarketContext, Xml("emix:marketContext")]
    side: Annotated[Side, Xml("emix:side")]


class EmixOption(EmixBase):
    """``emix:emixOption``: an option to buy or sell a product (premium now, strike price on exercise)."""

    __tag__ = "emix:emixOption"
    transactive_state: Annotated[TransactiveState, Xml("emix:transactiveState")]
    expiration_date: Annotated[DateTime | None, Xml("emix:expirationDate")] = None
    integral_only: Annotated[bool | None, Xml("emix:integralOnly")] = None
    option_holder_side: Annotated[Side, Xml("emix:optionHolderSide")]
    option_premium: Annotated[Price, Xml("emix:optionPremium")]
    option_strike_price: Annotated[Price, Xml("emix:optionStrikePrice")]
    option_type: Annotated[NonEmptyStr, Xml("emix:optionType")]
    side: Annotated[Side, Xml("emix:side")]
    market_context: Annotated[MarketContext, Xml("emix:marketContext")]
    currency: Annotated[Currency | None, Xml("emix:currency")] = None


class DeliveryBase(EmixBase):
    """The fields of ``emix:DeliveryType``: ``injection`` is true for supply put into the market."""

    injection: Annotated[bool, Xml("emix:injection")]


class Delivery(DeliveryBase):
    """``emix:delivery``: a receipt or report of delivered product."""

    __tag__ = "emix:delivery"


#: the concrete types derived from ``emix:EmixBaseType``
EmixBaseMember = Product | EmixOption | Delivery
