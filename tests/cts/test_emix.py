"""Rules of the EMIX models: the currency list is the schema's, the constructors say what they mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree

from transactive.codec import encode_xml
from transactive.ei.cts import EiCreateTender, EiTender
from transactive.emix import (
    ISO4217_CODES,
    EnergyReal,
    PowerAttributes,
    PowerReal,
    Product,
    Side,
    SiScaleCode,
    TemixPower,
    TransactiveState,
    energy_stream_product,
    energy_tender_product,
    to_decimal,
)
from transactive.errors import InvalidModelError
from transactive.schemas import validate

T0 = datetime(2026, 11, 21, 12, tzinfo=UTC)
MARKET = "https://lme.example.com/markets/rt"


def test_currency_codes_equal_the_enumeration_of_the_shipped_code_list() -> None:
    root = etree.parse("schemas/cts/xsd/clm5ISO42173A.xsd").getroot()
    xs = "{http://www.w3.org/2001/XMLSchema}"
    codes = {e.get("value") for e in root.iter(f"{xs}enumeration")}
    assert codes == ISO4217_CODES
    assert {"USD", "EUR", "JPY"} <= ISO4217_CODES


def test_energy_tender_product_is_kwh_at_a_decimal_price() -> None:
    product = energy_tender_product(side="sell", quantity_kwh=2.5, price=0.12, currency="USD",
                                    market_context=MARKET, dtstart=T0, duration=timedelta(minutes=15), uid="p1")
    assert product.side is Side.SELL
    assert product.transactive_state is TransactiveState.TENDER
    assert product.payload == TemixPower(price=product.payload.price, quantity=2.5,
                                         energy_item=EnergyReal(si_scale_code=SiScaleCode.KILO))
    assert product.payload.price is not None
    assert product.payload.price.value == Decimal("0.12")
    assert product.payload.energy_item is not None
    assert (product.payload.energy_item.item_units, product.payload.energy_item.si_scale_code.factor) == ("Wh", 1000.0)


def test_energy_tender_product_without_uid_gets_a_fresh_one() -> None:
    kwargs = dict(side="buy", quantity_kwh=1.0, price="0.1", currency="EUR", market_context=MARKET, dtstart=T0,
                  duration=timedelta(hours=1))
    assert energy_tender_product(**kwargs).uid != energy_tender_product(**kwargs).uid  # type: ignore[arg-type]


def test_energy_stream_product_has_one_interval_per_slot_and_validates() -> None:
    product = energy_stream_product(side=Side.BUY, quantities_kwh=[1.0] * 24, prices="0.10", currency="USD",
                                    market_context=MARKET, dtstart=T0, uid="da")
    assert len(product.intervals) == 24
    assert product.duration == timedelta(hours=24)
    assert all(i.payload.price is not None and i.payload.price.value == Decimal("0.10") for i in product.intervals)
    assert validate(etree.fromstring(encode_xml(product))).valid


def test_energy_stream_product_refuses_mismatched_prices() -> None:
    with pytest.raises(ValueError, match="3 quantities but 2 prices"):
        energy_stream_product(side="buy", quantities_kwh=[1, 2, 3], prices=["0.1", "0.2"], currency="USD",
                              market_context=MARKET, dtstart=T0)
    with pytest.raises(ValueError, match="at least one interval"):
        energy_stream_product(side="buy", quantities_kwh=[], prices="0.1", currency="USD", market_context=MARKET,
                              dtstart=T0)


def test_to_decimal_uses_the_shortest_float_text() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("-12.50") == Decimal("-12.50")
    with pytest.raises(TypeError):
        to_decimal(True)


def test_unknown_currency_and_bad_quantity_are_refused_on_construction() -> None:
    with pytest.raises(InvalidModelError, match="ISO 4217"):
        energy_tender_product(side="sell", quantity_kwh=1, price=1, currency="usd", market_context=MARKET,
                              dtstart=T0, duration=timedelta(minutes=15))
    with pytest.raises(InvalidModelError):
        TemixPower(quantity=-1.0)
    with pytest.raises(InvalidModelError):
        Product(payload=TemixPower(), uid="x", transactive_state="tender", market_context=MARKET, side="sell",
                duration=timedelta(0))


def test_power_real_needs_power_attributes_and_fixes_its_description() -> None:
    item = PowerReal(si_scale_code=SiScaleCode.MEGA,
                     power_attributes=PowerAttributes(hertz=Decimal(50), voltage=Decimal(230), ac=True))
    assert (item.item_description, item.item_units) == ("RealPower", "W")
    with pytest.raises(InvalidModelError):
        PowerReal(si_scale_code=SiScaleCode.MEGA)  # type: ignore[call-arg]


def test_an_emix_product_inside_an_ei_tender_needs_the_errata() -> None:
    """The CTS rev 0.4 defect documented in transactive.ei.cts: emix:product is no emixBase member as
    published (set cts-upstream); the errata set (cts, the default) accepts the tender."""
    product = energy_tender_product(side="sell", quantity_kwh=2.5, price="0.12", currency="USD",
                                    market_context=MARKET, dtstart=T0, duration=timedelta(minutes=15), uid="p1")
    assert validate(etree.fromstring(encode_xml(product))).valid
    message = EiCreateTender(request_id="r", party_id="a", counter_party_id="b",
                             tenders=(EiTender(tender_id="t", item=product),))
    assert validate(etree.fromstring(encode_xml(message))).valid
    report = validate(etree.fromstring(encode_xml(message)), "cts-upstream")
    assert [(e.path, e.message) for e in report.errors] == [
        ("/pyld:eiCreateTender/ei:eiTender/emix:product", "Element 'product': This element is not expected.")]
