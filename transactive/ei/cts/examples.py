"""Realistic, deterministic example instances of every CTS rev 0.4 payload (fixed times, fixed IDs).

They feed round-trip, fuzz, documentation and benchmark tests. The story: a home with a 5 kW PV roof
(``party-pv-roof-17``) trades through a local market (``market-lme``) of the market context
``https://lme.example.com/markets/dayahead``; it sells 2.5 kWh for the 15 minutes from 12:00 UTC at
0.12 USD/kWh, and it buys a 24 x 1 h day-ahead profile.

:data:`XSD_INVALID` lists the examples that cannot be schema-valid against the CTS rev 0.4 XSD as published
(schema set ``cts-upstream``), with the reason (defects of the schema, see :mod:`transactive.ei.cts`); every
example is valid against the set with the errata applied (``cts``, the default).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from transactive.ei.cts.delivery import EiCreatedDelivery, EiCreateDelivery, EiDelivery
from transactive.ei.cts.market_context import (
    EiMarketContext,
    EiReplyEiMarketContext,
    EiRequestEiMarketContext,
    SimpleLevelContext,
)
from transactive.ei.cts.quote import (
    EiCanceledQuote,
    EiCancelQuote,
    EiCreatedQuote,
    EiCreateQuote,
    EiQuote,
    EiReplyQuote,
    EiRequestQuote,
)
from transactive.ei.cts.registration import (
    EiCanceledPartyRegistration,
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
    EiReplyPartyRegistration,
    EiRequestPartyRegistration,
)
from transactive.ei.cts.responses import EiResponse, ResponseTermViolated
from transactive.ei.cts.tender import (
    EiCanceledTender,
    EiCancelTender,
    EiCreatedTender,
    EiCreateTender,
    EiDistributeTender,
    EiReplyTender,
    EiRequestTender,
    EiTender,
)
from transactive.ei.cts.transaction import (
    EiCreatedTransaction,
    EiCreateTransaction,
    EiReplyTransaction,
    EiRequestTransaction,
    EiTransaction,
)
from transactive.emix import (
    Delivery,
    EmixOption,
    EndDeviceAsset,
    EnergyReal,
    MarketGranularity,
    MeterAsset,
    MinimumResponseDuration,
    NonStandardTermsHandling,
    Pnode,
    PowerAttributes,
    PowerReal,
    Price,
    Product,
    Side,
    SiScaleCode,
    StandardTerms,
    StandardTermsSet,
    StreamInterval,
    TemixPower,
    TransactiveState,
    energy_stream_product,
    energy_tender_product,
)
from transactive.model import Model

__all__ = ["MARKET", "XSD_INVALID", "examples", "market_context_example"]

MARKET = "https://lme.example.com/markets/dayahead"
PV = "party-pv-roof-17"
LME = "market-lme"
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
CREATED = datetime(2026, 11, 21, 11, 50, 3, tzinfo=UTC)
QUARTER = timedelta(minutes=15)

#: 24 hourly quantities (kWh) of a household profile and their prices (USD/kWh)
PROFILE_KWH = (0.4, 0.35, 0.3, 0.3, 0.3, 0.35, 0.6, 0.9, 0.8, 0.5, 0.4, 0.35,
               0.3, 0.3, 0.35, 0.45, 0.7, 1.1, 1.4, 1.3, 1.0, 0.8, 0.6, 0.5)
PROFILE_PRICES = tuple(Decimal(p) for p in ("0.081", "0.078", "0.075", "0.074", "0.076", "0.083", "0.104", "0.131",
                                             "0.122", "0.101", "0.094", "0.09", "0.087", "0.085", "0.089", "0.097",
                                             "0.118", "0.152", "0.171", "0.166", "0.139", "0.117", "0.099", "0.088"))

#: message tag → why that example cannot validate against the CTS rev 0.4 XSD *as published*
#: (schema set ``cts-upstream``); with the errata of ``schemas/SOURCES.md`` (set ``cts``) every example is valid
XSD_INVALID: dict[str, str] = {
    tag: "ei:eiTender/eiQuote/eiTransaction require the abstract emix:emixBase, whose substitution group "
    "is empty (emix:product, emix:emixOption, emix:delivery are not declared as its members)"
    for tag in (
        "pyld:eiCreateTender",
        "pyld:eiReplyTender",
        "pyld:eiDistributeTender",
        "pyld:eiCreateQuote",
        "pyld:eiReplyQuote",
        "pyld:eiCreateTransaction",
        "pyld:eiReplyTransaction",
    )
}
XSD_INVALID["pyld:eiCreatePartyRegistration"] = (
    "ei:eiRegistrationInfo has an abstract type from which nothing derives"
)


def _ok(ref: str) -> EiResponse:
    return EiResponse(response_code="200", response_description="OK", ref_id=ref, created_date_time=CREATED)


def _pv_product(uid: str = "pv-17-20261121T1200", state: TransactiveState = TransactiveState.TENDER) -> Product:
    return energy_tender_product(
        side=Side.SELL, quantity_kwh=2.5, price=Decimal("0.12"), currency="USD", market_context=MARKET,
        dtstart=T0, duration=QUARTER, uid=uid, interface=MeterAsset(mrid="meter-7f3a-0017"),
        transactive_state=state, expiration_date=T0 - timedelta(minutes=5),
    )


def _day_ahead_product() -> Product:
    return energy_stream_product(
        side=Side.BUY, quantities_kwh=PROFILE_KWH, prices=PROFILE_PRICES, currency="USD", market_context=MARKET,
        dtstart=DAY, interval=timedelta(hours=1), uid="home-17-da-20261122",
        interface=Pnode(node="LME.NODE.FEEDER-12"),
    )


def _pv_tender() -> EiTender:
    return EiTender(tender_id="tender-pv-17-0001", item=_pv_product())


def _battery_option() -> EmixOption:
    return EmixOption(
        dtstart=T0 + timedelta(hours=6), duration=timedelta(hours=1),
        payload=TemixPower(
            interface=EndDeviceAsset(mrid="battery-17"),
            power_item=PowerReal(si_scale_code=SiScaleCode.KILO,
                                 power_attributes=PowerAttributes(hertz=Decimal(60), voltage=Decimal(240), ac=True)),
            quantity=3.0,
        ),
        uid="opt-battery-17-evening",
        transactive_state=TransactiveState.TENDER,
        integral_only=True,
        option_holder_side=Side.BUY,
        option_premium=Price(value=Decimal("0.35")),
        option_strike_price=Price(value=Decimal("0.25")),
        option_type="x-callOnDischarge",
        side=Side.SELL,
        market_context=MARKET,
        currency="USD",
    )


def _delivery_stream(quantities: tuple[float, ...] | None) -> tuple[TemixPower, tuple[StreamInterval, ...]]:
    item = EnergyReal(si_scale_code=SiScaleCode.KILO)
    if quantities is None:
        return TemixPower(interface=MeterAsset(mrid="meter-7f3a-0017"), energy_item=item), ()
    return (
        TemixPower(interface=MeterAsset(mrid="meter-7f3a-0017"), energy_item=item),
        tuple(StreamInterval(uid=str(n), payload=TemixPower(energy_item=item, quantity=q))
              for n, q in enumerate(quantities)),
    )


def market_context_example() -> EiMarketContext:
    """A market context with its standard terms (not a payload: no CTS payload carries it)."""
    return EiMarketContext(
        schema_version="0.4",
        market_context=MARKET,
        market_name="LME day-ahead and 15-minute energy",
        standard_terms=StandardTerms(
            market_context=MARKET,
            market_context_name="LME day-ahead",
            terms_sets=(StandardTermsSet(
                terms=(MinimumResponseDuration(duration=QUARTER),
                       MarketGranularity(quantity=0.1, item=EnergyReal(si_scale_code=SiScaleCode.KILO))),
                non_standard_terms_handling=NonStandardTermsHandling.REJECT,
            ),),
            product_description=TemixPower(energy_item=EnergyReal(si_scale_code=SiScaleCode.KILO)),
            granularity=QUARTER,
            time_zone="UTC",
            currency="USD",
            non_standard_terms_handling=NonStandardTermsHandling.REJECT,
        ),
        simple_level_context=SimpleLevelContext(level_normal_value=0, level_upper_limit=3),
        created_date_time=CREATED,
    )


def examples() -> list[Model]:
    """One (or more) fully populated instance of every CTS payload message, in schema order."""
    pv = _pv_tender()
    da = EiTender(tender_id="tender-home-17-da-0001", item=_day_ahead_product())
    cleared = _pv_product(state=TransactiveState.TRANSACTION)
    transaction = EiTransaction(transaction_id="txn-lme-20261121-000042", tender_id=pv.tender_id, item=cleared)
    quote = EiQuote(quote_id="quote-lme-20261121T1200",
                    items=(_pv_product(uid="lme-q-20261121T1200", state=TransactiveState.PUBLICATION).replace(
                        side=Side.BUY, expiration_date=None), _battery_option()))
    empty_payload, _ = _delivery_stream(None)
    measured_payload, measured = _delivery_stream((0.61, 0.64, 0.62, 0.63))
    rejected = EiResponse(
        response_code=409, response_description="tender violates the market's minimum response duration",
        ref_id="req-pv-17-0009",
        terms_violated=(ResponseTermViolated(description="minimum response duration is PT15M",
                                             term=MinimumResponseDuration(duration=QUARTER)),),
        created_date_time=CREATED,
    )
    window = (StreamInterval(uid="window", payload=TemixPower(energy_item=EnergyReal(si_scale_code=SiScaleCode.KILO))),)
    return [
        # quotes
        EiCreateQuote(request_id="req-lme-q-0001", publisher_party_id=LME, subscriber_party_id=PV, quotes=(quote,)),
        EiCreatedQuote(response=_ok("req-lme-q-0001"), subscriber_party_id=PV, publisher_party_id=LME,
                       quote_ids=(quote.quote_id,)),
        EiCancelQuote(request_id="req-lme-q-0002", subscriber_party_id=PV, publisher_party_id=LME,
                      quote_ids=(quote.quote_id,)),
        EiCanceledQuote(response=_ok("req-lme-q-0002"), subscriber_party_id=PV, publisher_party_id=LME),
        EiRequestQuote(request_id="req-pv-17-q-0003", requestor_party_id=PV, publisher_party_id=LME,
                       market_contexts=(MARKET,), quote_ids=(quote.quote_id,), intervals=window),
        EiReplyQuote(response=_ok("req-pv-17-q-0003"), quotes=(quote,)),
        # registration
        EiCreatePartyRegistration(request_id="req-pv-17-reg-0001", registree_party_id=PV),
        EiCreatedPartyRegistration(response=_ok("req-pv-17-reg-0001"), registrar_party_id=LME,
                                   registration_id="reg-lme-00017", registree_party_id=PV),
        EiRequestPartyRegistration(request_id="req-pv-17-reg-0002", registree_party_id=PV, registrar_party_id=LME,
                                   requestor_party_id=PV, registration_ids=("reg-lme-00017",)),
        EiReplyPartyRegistration(response=_ok("req-pv-17-reg-0002")),
        EiCancelPartyRegistration(request_id="req-pv-17-reg-0003", registree_party_id=PV, registrar_party_id=LME,
                                  registration_ids=("reg-lme-00017",)),
        EiCanceledPartyRegistration(responding_party_id=LME, registree_party_id=PV, registrar_party_id=LME,
                                    responses=(_ok("req-pv-17-reg-0003"),)),
        # market context
        EiRequestEiMarketContext(request_id="req-pv-17-mc-0001", market_contexts=(MARKET,), party_id=PV),
        EiReplyEiMarketContext(response=_ok("req-pv-17-mc-0001")),
        # tenders
        EiCreateTender(request_id="req-pv-17-0001", party_id=PV, counter_party_id=LME, tenders=(pv,)),
        EiCreateTender(request_id="req-home-17-0002", party_id="party-home-17", counter_party_id=LME, tenders=(da,)),
        EiCreatedTender(response=_ok("req-pv-17-0001"), party_id=PV, counter_party_id=LME,
                        tender_ids=(pv.tender_id,)),
        EiCreatedTender(response=rejected, party_id=PV, counter_party_id=LME),
        EiRequestTender(request_id="req-pv-17-0003", party_id=PV, counter_party_ids=(LME,), requestor_party_id=PV,
                        market_contexts=(MARKET,), tender_ids=(pv.tender_id,), intervals=window),
        EiReplyTender(response=_ok("req-pv-17-0003"), tenders=(pv,)),
        EiCancelTender(request_id="req-pv-17-0004", party_id=PV, counter_party_id=LME, tender_ids=(pv.tender_id,)),
        EiCanceledTender(response=_ok("req-pv-17-0004"), party_id=PV, counter_party_id=LME),
        EiDistributeTender(request_id="req-lme-0005", party_id=LME, tenders=(pv, da)),
        # transactions
        EiCreateTransaction(request_id="req-lme-0006", party_id=LME, counter_party_id=PV, transactions=(transaction,)),
        EiCreatedTransaction(counter_party_id=LME, party_id=PV, response=_ok("req-lme-0006"),
                             transaction_ids=(transaction.transaction_id,)),
        EiRequestTransaction(request_id="req-pv-17-0007", party_id=PV, counter_party_ids=(LME,),
                             requestor_party_id=PV, market_contexts=(MARKET,),
                             transaction_ids=(transaction.transaction_id,), intervals=window),
        EiReplyTransaction(response=_ok("req-pv-17-0007"), transactions=(transaction,)),
        # deliveries
        EiCreateDelivery(request_id="req-lme-0008", requestor_party_id=LME, deliveries=(
            Delivery(dtstart=T0, duration=QUARTER * 4, payload=empty_payload, uid="dlv-pv-17-20261121T12",
                     injection=True),)),
        EiCreatedDelivery(response=_ok("req-lme-0008"), deliveries=(
            EiDelivery(schema_version="0.4", dtstart=T0, duration=QUARTER * 4, payload=measured_payload,
                       intervals=measured, uid="dlv-pv-17-20261121T12", injection=True,
                       delivery_id="eidlv-lme-000318", created_date_time=CREATED + timedelta(hours=1, minutes=10)),)),
    ]
