"""Product descriptions (``emix:productDescription`` members from ``power-products.xsd``): *what* is traded.

A product description is the payload of an EMIX stream: it stands once for the whole stream
(``strm:streamPayloadBase`` of the product) and once per interval. :class:`TemixPower` is the simple
transactive-energy product (a block of energy at a price); the ``powerProductDescription`` family
describes tariffs and transport.

``emix:measurement`` is not modelled: its element type is the abstract ``strm:StreamPayloadBaseType``,
so no document can contain it without ``xsi:type``, which the codec does not produce.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from transactive.emix.base import CtsModel, Quantity
from transactive.emix.interfaces import EmixInterface, Pnode, TransportInterface
from transactive.emix.items import EnergyItem, PowerItem
from transactive.emix.prices import Price, PriceBase
from transactive.model import Xml, XsDecimal

__all__ = [
    "PRODUCT_TYPES",
    "CongestionCharge",
    "CongestionRevenueRights",
    "ConversionLoss",
    "FullRequirementsPower",
    "MarginalLoss",
    "MarginalLossCharge",
    "PowerProductDescription",
    "ProductDescription",
    "ProductTypeCode",
    "TemixPower",
    "TransportAccessFee",
    "TransportCharge",
    "TransportProductDescription",
    "UnitEnergyPrice",
]

#: ``power:ProductTypeType``: the enumerated product types (plus the power option types)
PRODUCT_TYPES = frozenset(
    {
        "energy",
        "transport",
        "energyOption",
        "transportOption",
        "fullRequirementsPower",
        "fullRequirementsPowerBlockPricing",
        "fullRequirementsPowerWithDemandCharge",
        "fullRequirementsPowerWithMaximumAndMinimum",
        "hourlyDayAhead",
        "exAnteRealTimePrice",
        "timeOfUsePricing",
        "congestionRevenueRights",
        "SpinningReserve",
        "NonSpinningReserve",
        "OperatingReserve",
        "DemandResponse",
    }
)
_EXTENSION = re.compile(r"^x-\S.*$")


def _check_product_type(value: str) -> str:
    if value not in PRODUCT_TYPES and not _EXTENSION.match(value):
        raise ValueError(f"unknown product type {value!r} (one of {sorted(PRODUCT_TYPES)}, or x-...)")
    return value


#: ``power:productType``: a known product type, or an ``x-`` extension
ProductTypeCode = Annotated[str, AfterValidator(_check_product_type)]
#: ``power:lossFactor``: at most 1
LossFactor = Annotated[float, Field(le=1, allow_inf_nan=False)]


class UnitEnergyPrice(CtsModel):
    """``power:unitEnergyPrice``: a price per unit of an energy item."""

    price: Annotated[PriceBase, Xml("*")]
    energy_item: Annotated[EnergyItem, Xml("*")]


# ---------------------------------------------------------------------------------- transport charges
class CongestionRevenueRights(CtsModel):
    __tag__ = "power:congestionRevenueRights"
    transport_interface: Annotated[TransportInterface, Xml("power:transportInterface")]
    transport_congestion_fee: Annotated[XsDecimal, Xml("power:transportCongestionFee"), Field(allow_inf_nan=False)]


class CongestionCharge(CtsModel):
    __tag__ = "power:congestionCharge"
    transport_interface: Annotated[TransportInterface, Xml("power:transportInterface")]
    transport_congestion_fee: Annotated[XsDecimal, Xml("power:transportCongestionFee"), Field(allow_inf_nan=False)]


class MarginalLossCharge(CtsModel):
    __tag__ = "power:marginalLossCharge"
    marginal_loss_fee: Annotated[XsDecimal, Xml("power:marginalLossFee"), Field(allow_inf_nan=False)]


class MarginalLoss(CtsModel):
    __tag__ = "power:marginalLoss"
    loss_factor: Annotated[LossFactor, Xml("power:lossFactor")]


class ConversionLoss(CtsModel):
    __tag__ = "power:conversionLoss"
    pnode: Annotated[Pnode, Xml("power:pnode")]
    loss_factor: Annotated[LossFactor, Xml("power:lossFactor")]


class TransportAccessFee(CtsModel):
    __tag__ = "power:transportAccessFee"
    transport_interface: Annotated[TransportInterface, Xml("power:transportInterface")]
    price: Annotated[Price, Xml("emix:price")]


#: the concrete members of ``power:baseCharge`` / ``power:baseTransportCharge``
TransportCharge = (
    CongestionRevenueRights | CongestionCharge | MarginalLossCharge | MarginalLoss | ConversionLoss | TransportAccessFee
)


# ---------------------------------------------------------------------------------- product descriptions
class TemixPower(CtsModel):
    """``power:temixPower``: a block of power or energy, at a price, at an interface.

    ``quantity`` is counted in ``energy_item`` (or ``power_item``) units at their SI scale; ``price`` is
    per one such unit. Example: ``quantity=2.5``, ``EnergyReal(si_scale_code="k")``, ``price=0.12`` is
    2.5 kWh at 0.12 per kWh.
    """

    __tag__ = "power:temixPower"
    interface: Annotated[EmixInterface | None, Xml("*")] = None
    price: Annotated[Price | None, Xml("emix:price")] = None
    power_item: Annotated[PowerItem | None, Xml("*")] = None
    energy_item: Annotated[EnergyItem | None, Xml("*")] = None
    quantity: Annotated[Quantity | None, Xml("emix:quantity")] = None


class _PowerProductFields(CtsModel):
    product_type: Annotated[ProductTypeCode, Xml("power:productType")]
    interface: Annotated[EmixInterface, Xml("*")]
    unit_energy_price: Annotated[UnitEnergyPrice | None, Xml("power:unitEnergyPrice")] = None
    power_item: Annotated[PowerItem | None, Xml("*")] = None
    charges: Annotated[tuple[TransportCharge, ...], Xml("power:charges/*")] = ()


class PowerProductDescription(_PowerProductFields):
    """``power:powerProductDescription``: a power product (tariff) at an interface."""

    __tag__ = "power:powerProductDescription"


class FullRequirementsPower(_PowerProductFields):
    """``power:fullRequirementsPower``: all the power a customer needs, optionally within limits."""

    __tag__ = "power:fullRequirementsPower"
    price: Annotated[PriceBase | None, Xml("*")] = None
    maximum_power: Annotated[Quantity | None, Xml("power:maximumPower")] = None
    minimum_power: Annotated[Quantity | None, Xml("power:minimumPower")] = None


class TransportProductDescription(_PowerProductFields):
    """``power:transportProductDescription``: transport of power between two points.

    ``transport_charges`` needs at least one charge: the codec omits an empty wrapper, and the schema
    requires the ``power:transportCharges`` element.
    """

    __tag__ = "power:transportProductDescription"
    transport_price: Annotated[Price, Xml("emix:price")]
    transport_charges: Annotated[tuple[TransportCharge, ...], Xml("power:transportCharges/*"), Field(min_length=1)]


#: the concrete members of ``emix:productDescription`` (the stream payloads of EMIX)
ProductDescription = TemixPower | PowerProductDescription | FullRequirementsPower | TransportProductDescription
