"""The market's rules as a VEN reads them: the price band, and bids snapped to the market's scales the way
the VTN's tender checks expect."""

from __future__ import annotations

from decimal import Decimal

import pytest

from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.protocol import MarketConfig


def market(**overrides: object) -> MarketConfig:
    fields: dict[str, object] = {"market_context": "urn:test:m", "quantity_scale": Decimal("0.01"),
                                 "price_scale": Decimal("0.001"), "min_quantity_kwh": Decimal("0.05"),
                                 "max_quantity_kwh": Decimal("10"), "min_price": Decimal("0.02"),
                                 "max_price": Decimal("0.5")}
    fields.update(overrides)
    return MarketConfig(**fields)  # type: ignore[arg-type]


def test_the_band_is_the_grid_prices_when_the_market_has_them_else_its_price_limits() -> None:
    assert market().band() == ReservePrices(grid_buy=0.5, grid_sell=0.02)
    grid = ReservePrices(grid_buy=0.30, grid_sell=0.05)
    assert market(reserve=grid, min_price=Decimal("0.05"), max_price=Decimal("0.3")).band() is grid


@pytest.mark.parametrize(("price", "side", "expected"), [
    (0.1234, Side.BUY, Decimal("0.123")),    # a buyer rounds down: never more than it meant to pay
    (0.1234, Side.SELL, Decimal("0.124")),   # a seller rounds up: never less than it meant to get
    (0.123, Side.BUY, Decimal("0.123")),     # already on the scale: unchanged (0.123 is not 0.12299...)
    (9.0, Side.BUY, Decimal("0.5")),         # clipped into the market's limits
    (0.0, Side.SELL, Decimal("0.02")),
    (Decimal("0.1005"), Side.SELL, Decimal("0.101")),
])
def test_a_price_is_snapped_to_the_bidders_safe_side_and_clipped(price: float | Decimal, side: Side,
                                                                  expected: Decimal) -> None:
    snapped = market().snap_price(price, side)
    assert snapped == expected
    assert snapped % Decimal("0.001") == 0


@pytest.mark.parametrize(("kwh", "expected"), [
    (1.239, Decimal("1.23")),
    (0.1, Decimal("0.10")),
    (25.0, Decimal("10")),         # at most the market's maximum
    (0.049, None),                 # below the minimum: nothing to tender
    (-1.0, None),
    (Decimal("2.555"), Decimal("2.55")),
])
def test_a_quantity_is_rounded_down_within_the_limits(kwh: float | Decimal, expected: Decimal | None) -> None:
    assert market().snap_quantity(kwh) == expected


def test_a_delivered_quantity_may_be_anything_down_to_zero() -> None:
    cfg = market()
    assert cfg.floor_quantity(0.049) == Decimal("0.04")
    assert cfg.floor_quantity(-0.5) == Decimal("0")
    assert cfg.floor_quantity(123.456) == Decimal("123.45")  # no maximum on what was metered
