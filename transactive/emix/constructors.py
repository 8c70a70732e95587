"""Convenience constructors for the EMIX products a device or a market agent sends most, and
:func:`energy_block`, which reads the terms of such a product back (typed, in kWh).

Units are explicit in the names: ``quantity_kwh`` is kilowatt-hours, written on the wire as
``emix:quantity`` with ``power:energyReal`` (``itemUnits`` ``Wh``, ``scale:siScaleCode`` ``k``); ``price``
is money per kWh in ``currency``. Prices are :class:`~decimal.Decimal`; a ``float`` argument is converted
through its shortest text (``0.12`` becomes ``Decimal("0.12")``, not the binary expansion).

>>> from datetime import datetime, timedelta, timezone
>>> p = energy_tender_product(side="sell", quantity_kwh=2.5, price="0.12", currency="USD",
...                           market_context="https://market.example.com/rtm",
...                           dtstart=datetime(2026, 11, 21, 12, tzinfo=timezone.utc),
...                           duration=timedelta(minutes=15), uid="pv-1")
>>> p.payload.quantity, str(p.payload.price.value), p.payload.energy_item.si_scale_code.value
(2.5, '0.12', 'k')
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from transactive.emix.base import Side, SiScaleCode, TransactiveState
from transactive.emix.interfaces import EmixInterface
from transactive.emix.items import EnergyReal
from transactive.emix.prices import Price
from transactive.emix.product import Delivery, EmixBaseMember, Product
from transactive.emix.products import TemixPower
from transactive.emix.stream import StreamInterval

__all__ = ["EnergyBlock", "PriceLike", "energy_block", "energy_stream_product", "energy_tender_product", "kwh",
           "to_decimal"]

#: what the constructors accept as a price
PriceLike = Decimal | str | int | float


def to_decimal(value: PriceLike) -> Decimal:
    """A price as a Decimal; floats go through their shortest repr (``0.1`` → ``Decimal('0.1')``)."""
    if isinstance(value, bool):
        raise TypeError("a price is a number, not a bool")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def kwh() -> EnergyReal:
    """The item for kilowatt-hours: real energy, ``Wh`` scaled by ``k``."""
    return EnergyReal(si_scale_code=SiScaleCode.KILO)


def energy_tender_product(
    *,
    side: Side | str,
    quantity_kwh: float,
    price: PriceLike,
    currency: str,
    market_context: str,
    dtstart: datetime,
    duration: timedelta,
    uid: str | None = None,
    interface: EmixInterface | None = None,
    transactive_state: TransactiveState | str = TransactiveState.TENDER,
    expiration_date: datetime | None = None,
) -> Product:
    """One block of energy: ``quantity_kwh`` kWh delivered evenly over ``[dtstart, dtstart + duration)``
    at ``price`` per kWh, bought or sold (``side``) in the market ``market_context``.

    ``uid`` identifies the product (a random UUID when left out). ``interface`` says where (a meter,
    a device, a pricing node). ``transactive_state`` is ``tender`` for offers, ``transaction`` once cleared.
    """
    return Product(
        dtstart=dtstart,
        duration=duration,
        payload=TemixPower(interface=interface, price=Price(value=to_decimal(price)), energy_item=kwh(),
                           quantity=quantity_kwh),
        uid=uid if uid is not None else str(uuid.uuid4()),
        transactive_state=TransactiveState(transactive_state),
        expiration_date=expiration_date,
        currency=currency,
        market_context=market_context,
        side=Side(side),
    )


def energy_stream_product(
    *,
    side: Side | str,
    quantities_kwh: Sequence[float],
    prices: Sequence[PriceLike] | PriceLike,
    currency: str,
    market_context: str,
    dtstart: datetime,
    interval: timedelta = timedelta(hours=1),
    uid: str | None = None,
    interface: EmixInterface | None = None,
    transactive_state: TransactiveState | str = TransactiveState.TENDER,
    expiration_date: datetime | None = None,
) -> Product:
    """A schedule of energy blocks: one stream interval per entry of ``quantities_kwh``, each ``interval``
    long (24 entries with the default 1 h make a day-ahead profile), starting at ``dtstart``.

    ``prices`` is one price per interval (same length as ``quantities_kwh``), or a single price for all.
    The stream payload names the item (kWh) and the interface; each ``strm:streamInterval`` (uid
    ``"0"``, ``"1"``, ...) carries its quantity and price. The stream's ``duration`` is the total length.
    """
    if not quantities_kwh:
        raise ValueError("a stream needs at least one interval")
    if isinstance(prices, (str, bytes)) or not isinstance(prices, Sequence):
        price_list = [to_decimal(prices)] * len(quantities_kwh)  # type: ignore[arg-type]
    else:
        price_list = [to_decimal(p) for p in prices]
    if len(price_list) != len(quantities_kwh):
        raise ValueError(f"{len(quantities_kwh)} quantities but {len(price_list)} prices")
    intervals = tuple(
        StreamInterval(uid=str(n), payload=TemixPower(price=Price(value=p), energy_item=kwh(), quantity=q))
        for n, (q, p) in enumerate(zip(quantities_kwh, price_list, strict=True))
    )
    return Product(
        dtstart=dtstart,
        duration=interval * len(intervals),
        payload=TemixPower(interface=interface, energy_item=kwh()),
        intervals=intervals,
        uid=uid if uid is not None else str(uuid.uuid4()),
        transactive_state=TransactiveState(transactive_state),
        expiration_date=expiration_date,
        currency=currency,
        market_context=market_context,
        side=Side(side),
    )


@dataclass(frozen=True, slots=True)
class EnergyBlock:
    """The terms of a single-interval energy product (a tender, transaction, quote or delivery item):
    ``quantity_kwh`` kWh over ``[start, start + duration)`` on ``side`` at ``price`` per kWh (None when the
    product names no price, as a delivery does). A delivery's side is its direction: ``injection`` is a sale."""

    start: datetime
    duration: timedelta
    side: Side
    quantity_kwh: float
    price: Decimal | None

    @property
    def end(self) -> datetime:
        return self.start + self.duration


def energy_block(item: EmixBaseMember) -> EnergyBlock:
    """Read the terms of ``item`` (what :func:`energy_tender_product` builds; any ``power:energyReal`` scale is
    converted to kWh). ``ValueError`` naming the element when the item is not a single block of real energy:
    no ``xcal:dtStart`` or ``xcal:duration``, stream intervals, or a payload other than ``power:temixPower``
    counting ``power:energyReal``."""
    tag = type(item).__tag__
    if item.dtstart is None or item.duration is None:
        raise ValueError(f"{tag}: an energy block needs xcal:dtStart and xcal:duration")
    if item.intervals:
        raise ValueError(f"{tag}: a stream of {len(item.intervals)} intervals is not one energy block")
    payload = item.payload
    if not isinstance(payload, TemixPower) or not isinstance(payload.energy_item, EnergyReal):
        raise ValueError(f"{tag}: the payload must be power:temixPower counting power:energyReal")
    shift = payload.energy_item.si_scale_code.exponent - SiScaleCode.KILO.exponent  # item units -> kWh
    quantity = (payload.quantity or 0.0) * 10.0 ** shift
    price = None if payload.price is None else payload.price.value.scaleb(-shift)
    side = (Side.SELL if item.injection else Side.BUY) if isinstance(item, Delivery) else item.side
    return EnergyBlock(start=item.dtstart, duration=item.duration, side=side, quantity_kwh=quantity, price=price)
