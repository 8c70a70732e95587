"""The base of every CTS rev 0.4 wire model, and the simple types EMIX shares.

Units: EMIX states a quantity as a number, a unit (``itemUnits``: ``Wh``, ``W``, ``VAR`` ...) and an SI
scale (``scale:siScaleCode``): ``2.5`` with ``Wh`` and scale ``k`` means 2.5 kWh. Direction is never a sign:
it is :class:`Side` (``buy``/``sell``) on a product, ``injection`` on a delivery. Quantities are therefore
non-negative here; prices (``xs:decimal``) may be negative (negative market prices exist) and are
:class:`~decimal.Decimal`, never binary floating point.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from transactive.emix.currency import check_currency
from transactive.model import Model
from transactive.model.namespaces import CTS
from transactive.model.types import Duration

__all__ = [
    "CtsModel",
    "Currency",
    "ExtensionToken",
    "MarketContext",
    "NonStandardTermsHandling",
    "PositiveDuration",
    "Quantity",
    "Side",
    "SiScaleCode",
    "TransactiveState",
    "UnsignedInt",
]


class CtsModel(Model):
    """A part of a Common Transactive Services rev 0.4 document (namespaces of ``schemas/cts``)."""

    __family__ = CTS


class Side(StrEnum):
    """``emix:side``: whether the party offering the product buys or sells it."""

    BUY = "buy"
    SELL = "sell"


class TransactiveState(StrEnum):
    """``emix:transactiveState``: where in the market life cycle a product description stands."""

    INDICATION_OF_INTEREST = "indicationOfInterest"
    TENDER = "tender"
    TRANSACTION = "transaction"
    EXERCISE = "exercise"
    DELIVERY = "delivery"
    TRANSPORT_COMMITMENT = "transportCommitment"
    PUBLICATION = "publication"


class SiScaleCode(StrEnum):
    """``scale:siScaleCode``: the SI prefix applied to an item's unit (``k`` + ``Wh`` = kWh)."""

    PICO = "p"
    NANO = "n"
    MICRO = "micro"
    MILLI = "m"
    CENTI = "c"
    DECI = "d"
    KILO = "k"
    MEGA = "M"
    GIGA = "G"
    TERA = "T"
    NONE = "none"

    @property
    def factor(self) -> float:
        """The multiplier the prefix stands for (``KILO.factor == 1000.0``)."""
        return _SI_FACTORS[self]

    @property
    def exponent(self) -> int:
        """The power of ten the prefix stands for (``KILO.exponent == 3``)."""
        return _SI_EXPONENTS[self]


_SI_FACTORS = {
    SiScaleCode.PICO: 1e-12,
    SiScaleCode.NANO: 1e-9,
    SiScaleCode.MICRO: 1e-6,
    SiScaleCode.MILLI: 1e-3,
    SiScaleCode.CENTI: 1e-2,
    SiScaleCode.DECI: 1e-1,
    SiScaleCode.KILO: 1e3,
    SiScaleCode.MEGA: 1e6,
    SiScaleCode.GIGA: 1e9,
    SiScaleCode.TERA: 1e12,
    SiScaleCode.NONE: 1.0,
}


_SI_EXPONENTS = {code: round(math.log10(factor)) for code, factor in _SI_FACTORS.items()}


class NonStandardTermsHandling(StrEnum):
    """``emix:nonStandardTermsHandling``: what a market does with terms it did not publish."""

    MUST_ACCEPT = "mustAccept"
    IGNORE = "ignore"
    MUST_UNDERSTAND = "mustUnderstand"
    REJECT = "reject"


# An absolute URI: a scheme, a colon, then no white space (xs:anyURI would allow relative references too,
# but a market context names a market, so it must be absolute).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_EXTENSION = re.compile(r"^x-\S.*$")


def _check_uri(value: str) -> str:
    if not _URI.match(value):
        raise ValueError(f"not an absolute URI (e.g. https://market.example.com/rtm): {value!r}")
    return value


def _check_extension(value: str) -> str:
    if not _EXTENSION.match(value):
        raise ValueError(f"an extension value starts with 'x-': {value!r}")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("duration must be longer than zero")
    return value


def _currency_before(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


#: an ISO 4217 alpha-3 code of the CTS code list (``clm5ISO42173A.xsd``); unknown codes are refused
Currency = Annotated[str, BeforeValidator(_currency_before), AfterValidator(check_currency)]
#: ``emix:marketContext``: the URI that names a market (its rules, products, currency)
MarketContext = Annotated[str, AfterValidator(_check_uri)]
#: ``emix:quantity`` (``xs:float``): a non-negative amount in the item's unit and scale
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False)]
#: a duration longer than zero (a stream or interval length)
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
#: ``xs:unsignedInt``
UnsignedInt = Annotated[int, Field(ge=0, le=4_294_967_295)]
#: ``EmixExtensionType``: a private value, ``x-`` followed by at least one non-space character
ExtensionToken = Annotated[str, AfterValidator(_check_extension)]
