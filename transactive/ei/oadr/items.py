"""Members of the ``emix:itemBase`` substitution group: what a signal, baseline or report data point measures.

The OpenADR 2.0b schema lists, each with its fixed ``itemDescription`` and ``itemUnits``:

* EMIX power (``power:``): ``voltage``, ``energyApparent``, ``energyReactive``, ``energyReal``,
  ``powerApparent``, ``powerReactive``, ``powerReal`` (power items also carry ``power:powerAttributes``);
* OpenADR (``oadr:``): ``customUnit``, ``current``, ``currency``, ``currencyPerKWh``, ``currencyPerKW``,
  ``currencyPerThm``, ``frequency``, ``Therm``, ``temperature``, ``pulseCount``.

:data:`ItemBase` is the union of them all, for ``Xml("*")`` fields. (``oadr:oadrGBDataDescription``, a Green
Button Atom feed, is not modelled.)
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from transactive.ei.oadr.base import OadrModel
from transactive.ei.oadr.enums import CurrencyItemDescription, SiScaleCode, TemperatureUnit
from transactive.ei.oadr.types import CurrencyCode
from transactive.model import Xml, XsDecimal

__all__ = [
    "ApparentEnergy",
    "ApparentPower",
    "Currency",
    "CurrencyPerKW",
    "CurrencyPerKWh",
    "CurrencyPerThm",
    "Current",
    "CustomUnit",
    "Frequency",
    "ItemBase",
    "PowerAttributes",
    "PulseCount",
    "ReactiveEnergy",
    "ReactivePower",
    "RealEnergy",
    "RealPower",
    "Temperature",
    "Therm",
    "Voltage",
]

_Decimal = Annotated[XsDecimal, Field(allow_inf_nan=False)]


class PowerAttributes(OadrModel):
    """``power:powerAttributes``: the electrical conditions a power item is measured under."""

    hertz: Annotated[_Decimal, Xml("power:hertz")]
    voltage: Annotated[_Decimal, Xml("power:voltage")]
    ac: Annotated[bool, Xml("power:ac")]


# ------------------------------------------------------------------------------------------ EMIX power items
class Voltage(OadrModel):
    """``power:voltage`` (V)."""

    __tag__ = "power:voltage"
    item_description: Annotated[Literal["Voltage"], Xml("power:itemDescription")] = "Voltage"
    item_units: Annotated[Literal["V"], Xml("power:itemUnits")] = "V"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class ApparentEnergy(OadrModel):
    """``power:energyApparent`` (VAh)."""

    __tag__ = "power:energyApparent"
    item_description: Annotated[Literal["ApparentEnergy"], Xml("power:itemDescription")] = "ApparentEnergy"
    item_units: Annotated[Literal["VAh"], Xml("power:itemUnits")] = "VAh"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class ReactiveEnergy(OadrModel):
    """``power:energyReactive`` (VARh)."""

    __tag__ = "power:energyReactive"
    item_description: Annotated[Literal["ReactiveEnergy"], Xml("power:itemDescription")] = "ReactiveEnergy"
    item_units: Annotated[Literal["VARh"], Xml("power:itemUnits")] = "VARh"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class RealEnergy(OadrModel):
    """``power:energyReal`` (Wh)."""

    __tag__ = "power:energyReal"
    item_description: Annotated[Literal["RealEnergy"], Xml("power:itemDescription")] = "RealEnergy"
    item_units: Annotated[Literal["Wh"], Xml("power:itemUnits")] = "Wh"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class ApparentPower(OadrModel):
    """``power:powerApparent`` (VA)."""

    __tag__ = "power:powerApparent"
    item_description: Annotated[Literal["ApparentPower"], Xml("power:itemDescription")] = "ApparentPower"
    item_units: Annotated[Literal["VA"], Xml("power:itemUnits")] = "VA"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE
    power_attributes: Annotated[PowerAttributes, Xml("power:powerAttributes")]


class ReactivePower(OadrModel):
    """``power:powerReactive`` (VAR)."""

    __tag__ = "power:powerReactive"
    item_description: Annotated[Literal["ReactivePower"], Xml("power:itemDescription")] = "ReactivePower"
    item_units: Annotated[Literal["VAR"], Xml("power:itemUnits")] = "VAR"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE
    power_attributes: Annotated[PowerAttributes, Xml("power:powerAttributes")]


class RealPower(OadrModel):
    """``power:powerReal`` (W, also written J/s)."""

    __tag__ = "power:powerReal"
    item_description: Annotated[Literal["RealPower"], Xml("power:itemDescription")] = "RealPower"
    item_units: Annotated[Literal["W", "J/s"], Xml("power:itemUnits")] = "W"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE
    power_attributes: Annotated[PowerAttributes, Xml("power:powerAttributes")]


# ------------------------------------------------------------------------------------------ OpenADR items
class CustomUnit(OadrModel):
    """``oadr:customUnit``: a unit of the parties' own choosing (for custom reports)."""

    __tag__ = "oadr:customUnit"
    item_description: Annotated[str, Xml("oadr:itemDescription")]
    item_units: Annotated[str, Xml("oadr:itemUnits")]
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class Current(OadrModel):
    """``oadr:current`` (A)."""

    __tag__ = "oadr:current"
    item_description: Annotated[Literal["Current"], Xml("oadr:itemDescription")] = "Current"
    item_units: Annotated[Literal["A"], Xml("oadr:itemUnits")] = "A"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class _CurrencyItem(OadrModel):
    """``oadr:currencyType``: an amount of money, per unit or not, in an ISO 4217 currency."""

    item_description: Annotated[CurrencyItemDescription, Xml("oadr:itemDescription")]
    #: ISO 4217 alphabetic code (``USD``, ``EUR``, ...)
    item_units: Annotated[CurrencyCode, Xml("oadr:itemUnits")]
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class Currency(_CurrencyItem):
    """``oadr:currency``: an amount of money."""

    __tag__ = "oadr:currency"
    item_description: Annotated[CurrencyItemDescription, Xml("oadr:itemDescription")] = (
        CurrencyItemDescription.CURRENCY
    )


class CurrencyPerKWh(_CurrencyItem):
    """``oadr:currencyPerKWh``: a price per kWh (energy)."""

    __tag__ = "oadr:currencyPerKWh"
    item_description: Annotated[CurrencyItemDescription, Xml("oadr:itemDescription")] = (
        CurrencyItemDescription.CURRENCY_PER_KWH
    )


class CurrencyPerKW(_CurrencyItem):
    """``oadr:currencyPerKW``: a price per kW (demand)."""

    __tag__ = "oadr:currencyPerKW"
    item_description: Annotated[CurrencyItemDescription, Xml("oadr:itemDescription")] = (
        CurrencyItemDescription.CURRENCY_PER_KW
    )


class CurrencyPerThm(_CurrencyItem):
    """``oadr:currencyPerThm``: a price per therm (gas).

    The schema's ``currencyItemDescriptionType`` has no ``currencyPerThm`` value, so the description is one
    of ``currency``, ``currencyPerKW``, ``currencyPerKWh``.
    """

    __tag__ = "oadr:currencyPerThm"
    item_description: Annotated[CurrencyItemDescription, Xml("oadr:itemDescription")] = (
        CurrencyItemDescription.CURRENCY
    )


class Frequency(OadrModel):
    """``oadr:frequency`` (Hz)."""

    __tag__ = "oadr:frequency"
    item_description: Annotated[Literal["Frequency"], Xml("oadr:itemDescription")] = "Frequency"
    item_units: Annotated[Literal["Hz"], Xml("oadr:itemUnits")] = "Hz"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class Therm(OadrModel):
    """``oadr:Therm`` (thm)."""

    __tag__ = "oadr:Therm"
    item_description: Annotated[Literal["Therm"], Xml("oadr:itemDescription")] = "Therm"
    item_units: Annotated[Literal["thm"], Xml("oadr:itemUnits")] = "thm"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class Temperature(OadrModel):
    """``oadr:temperature`` (degrees Celsius or Fahrenheit)."""

    __tag__ = "oadr:temperature"
    item_description: Annotated[Literal["temperature"], Xml("oadr:itemDescription")] = "temperature"
    item_units: Annotated[TemperatureUnit, Xml("oadr:itemUnits")]
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")] = SiScaleCode.NONE


class PulseCount(OadrModel):
    """``oadr:pulseCount``: meter pulses; ``pulse_factor`` is how much one pulse stands for."""

    __tag__ = "oadr:pulseCount"
    item_description: Annotated[Literal["pulse count"], Xml("oadr:itemDescription")] = "pulse count"
    item_units: Annotated[Literal["count"], Xml("oadr:itemUnits")] = "count"
    pulse_factor: Annotated[float, Xml("oadr:pulseFactor")]


#: any member of the ``emix:itemBase`` substitution group
ItemBase = Union[  # noqa: UP007  (a runtime union of classes, used in annotations)
    Voltage,
    ApparentEnergy,
    ReactiveEnergy,
    RealEnergy,
    ApparentPower,
    ReactivePower,
    RealPower,
    CustomUnit,
    Current,
    Currency,
    CurrencyPerKWh,
    CurrencyPerKW,
    CurrencyPerThm,
    Frequency,
    Therm,
    Temperature,
    PulseCount,
]
