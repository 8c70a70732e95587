"""Item bases (``emix:itemBase`` and its power members): *what* a quantity counts, in which unit and scale.

Each item fixes its ``itemDescription`` and ``itemUnits`` (the schema makes them ``fixed`` values), so only
the SI scale is chosen: ``EnergyReal(si_scale_code=SiScaleCode.KILO)`` is kWh, ``PowerReal`` with ``MEGA``
is MW. Power items also carry :class:`PowerAttributes` (frequency, voltage, AC/DC), as ``power.xsd``
requires.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from transactive.emix.base import CtsModel, SiScaleCode
from transactive.model import Xml, XsDecimal

__all__ = [
    "EnergyApparent",
    "EnergyItem",
    "EnergyReactive",
    "EnergyReal",
    "ItemBase",
    "PowerApparent",
    "PowerAttributes",
    "PowerItem",
    "PowerReactive",
    "PowerReal",
    "Voltage",
]


class PowerAttributes(CtsModel):
    """``power:powerAttributes``: the electrical characteristics of delivered power."""

    hertz: Annotated[XsDecimal, Xml("power:hertz"), Field(ge=0, allow_inf_nan=False)]
    voltage: Annotated[XsDecimal, Xml("power:voltage"), Field(ge=0, allow_inf_nan=False)]
    ac: Annotated[bool, Xml("power:ac")]


class EnergyReal(CtsModel):
    """``power:energyReal``: real energy in Wh (scaled: ``k`` = kWh)."""

    __tag__ = "power:energyReal"
    item_description: Annotated[Literal["RealEnergy"], Xml("power:itemDescription")] = "RealEnergy"
    item_units: Annotated[Literal["Wh"], Xml("power:itemUnits")] = "Wh"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]


class EnergyReactive(CtsModel):
    """``power:energyReactive``: reactive energy in VARh."""

    __tag__ = "power:energyReactive"
    item_description: Annotated[Literal["ReactiveEnergy"], Xml("power:itemDescription")] = "ReactiveEnergy"
    item_units: Annotated[Literal["VARh"], Xml("power:itemUnits")] = "VARh"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]


class EnergyApparent(CtsModel):
    """``power:energyApparent``: apparent energy in VAh."""

    __tag__ = "power:energyApparent"
    item_description: Annotated[Literal["ApparentEnergy"], Xml("power:itemDescription")] = "ApparentEnergy"
    item_units: Annotated[Literal["VAh"], Xml("power:itemUnits")] = "VAh"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]


class PowerReal(CtsModel):
    """``power:powerReal``: real power in W (or its synonym J/s)."""

    __tag__ = "power:powerReal"
    item_description: Annotated[Literal["RealPower"], Xml("power:itemDescription")] = "RealPower"
    item_units: Annotated[Literal["W", "J/s"], Xml("power:itemUnits")] = "W"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]
    power_attributes: Annotated[PowerAttributes, Xml("power:powerAttributes")]


class PowerReactive(CtsModel):
    """``power:powerReactive``: reactive power in VAR."""

    __tag__ = "power:powerReactive"
    item_description: Annotated[Literal["ReactivePower"], Xml("power:itemDescription")] = "ReactivePower"
    item_units: Annotated[Literal["VAR"], Xml("power:itemUnits")] = "VAR"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]
    power_attributes: Annotated[PowerAttributes, Xml("power:powerAttributes")]


class PowerApparent(CtsModel):
    """``power:powerApparent``: apparent power in VA."""

    __tag__ = "power:powerApparent"
    item_description: Annotated[Literal["ApparentPower"], Xml("power:itemDescription")] = "ApparentPower"
    item_units: Annotated[Literal["VA"], Xml("power:itemUnits")] = "VA"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]
    power_attributes: Annotated[PowerAttributes, Xml("power:powerAttributes")]


class Voltage(CtsModel):
    """``power:voltage`` (as an item base): voltage in V."""

    __tag__ = "power:voltage"
    item_description: Annotated[Literal["Voltage"], Xml("power:itemDescription")] = "Voltage"
    item_units: Annotated[Literal["V"], Xml("power:itemUnits")] = "V"
    si_scale_code: Annotated[SiScaleCode, Xml("scale:siScaleCode")]


#: the members of the ``power:energyItem`` substitution group
EnergyItem = EnergyReal | EnergyReactive | EnergyApparent
#: the members of the ``power:powerItem`` substitution group
PowerItem = PowerReal | PowerReactive | PowerApparent
#: the concrete members of the ``emix:itemBase`` substitution group
ItemBase = EnergyReal | EnergyReactive | EnergyApparent | PowerReal | PowerReactive | PowerApparent | Voltage
