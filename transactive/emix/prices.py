"""Prices (``emix:priceBase`` members): absolute, relative to a market price, or a multiplier of it.

Price values are ``xs:decimal``, held as :class:`~decimal.Decimal` (``Money``); they may be negative.
A price is per unit of the product's item (e.g. per kWh when the item is ``EnergyReal`` with scale ``k``)
in the product's currency.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.emix.base import CtsModel, MarketContext
from transactive.model import Money, Xml

__all__ = ["Price", "PriceBase", "PriceMultiplier", "PriceRelative"]


class Price(CtsModel):
    """``emix:price``: an absolute price per unit."""

    __tag__ = "emix:price"
    value: Annotated[Money, Xml("emix:value")]


class PriceRelative(CtsModel):
    """``emix:priceRelative``: an amount added to the price of a (referenced) market."""

    __tag__ = "emix:priceRelative"
    value: Annotated[Money, Xml("emix:value")]
    market_context: Annotated[MarketContext | None, Xml("emix:marketContext")] = None


class PriceMultiplier(CtsModel):
    """``emix:priceMultiplier``: a factor applied to the price of a (referenced) market."""

    __tag__ = "emix:priceMultiplier"
    multiplier: Annotated[float, Xml("emix:multiplier"), Field(allow_inf_nan=False)]
    market_context: Annotated[MarketContext | None, Xml("emix:marketContext")] = None


#: the members of the ``emix:priceBase`` substitution group
PriceBase = Price | PriceRelative | PriceMultiplier
