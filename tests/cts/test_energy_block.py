"""``energy_block``: the one typed way to read the terms of a single-interval energy product back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from transactive.emix import (
    Delivery,
    EnergyReal,
    Price,
    Side,
    SiScaleCode,
    TemixPower,
    energy_block,
    energy_stream_product,
    energy_tender_product,
    kwh,
)

T = datetime(2026, 6, 21, 12, tzinfo=UTC)
Q = timedelta(minutes=15)


def test_the_terms_of_a_tender_product_come_back_as_built() -> None:
    product = energy_tender_product(side="sell", quantity_kwh=2.5, price="0.12", currency="USD",
                                    market_context="urn:m", dtstart=T, duration=Q, uid="t-1")
    block = energy_block(product)
    assert (block.start, block.duration, block.end) == (T, Q, T + Q)
    assert (block.side, block.quantity_kwh, block.price) == (Side.SELL, 2.5, Decimal("0.12"))


def test_other_scales_are_converted_to_kwh_and_price_per_kwh() -> None:
    wh = TemixPower(energy_item=EnergyReal(si_scale_code=SiScaleCode.NONE), quantity=2500.0,
                    price=Price(value=Decimal("0.00012")))
    product = energy_tender_product(side="buy", quantity_kwh=1, price="1", currency="USD", market_context="urn:m",
                                    dtstart=T, duration=Q).replace(payload=wh)
    block = energy_block(product)
    assert block.quantity_kwh == pytest.approx(2.5)
    assert block.price == Decimal("0.12")


def test_a_deliverys_direction_is_its_side() -> None:
    def delivery(injection: bool) -> Delivery:
        return Delivery(dtstart=T, duration=Q, uid="tx-1", injection=injection,
                        payload=TemixPower(energy_item=kwh(), quantity=1.5))
    assert energy_block(delivery(True)).side is Side.SELL
    assert energy_block(delivery(False)).side is Side.BUY
    assert energy_block(delivery(False)).price is None


def test_what_is_not_one_block_of_energy_is_refused_by_name() -> None:
    stream = energy_stream_product(side="buy", quantities_kwh=[1.0, 2.0], prices="0.1", currency="USD",
                                   market_context="urn:m", dtstart=T, interval=Q)
    with pytest.raises(ValueError, match="stream of 2 intervals"):
        energy_block(stream)
    undated = energy_tender_product(side="buy", quantity_kwh=1, price="1", currency="USD", market_context="urn:m",
                                    dtstart=T, duration=Q).replace(dtstart=None)
    with pytest.raises(ValueError, match="xcal:dtStart"):
        energy_block(undated)
