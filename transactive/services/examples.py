"""Deterministic example instances of every extension payload (for round-trip, docs and fuzz tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from transactive.ei.cts.responses import EiResponse
from transactive.ei.ext import (
    EiReplyPosition,
    EiRequestPosition,
    EiResponsePayload,
    PositionInterval,
)
from transactive.model import Model
from transactive.protocol.market import MarketConfig

__all__ = ["EXAMPLE_MARKET", "examples"]

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 11, 21, 11, 50, 3, tzinfo=UTC)
EXAMPLE_MARKET = MarketConfig(market_context="https://lme.example.com/markets/rt15", market_party_id="market-lme",
                              name="LME 15-minute energy")


def examples() -> list[Model]:
    """One fully populated instance of every extension message."""
    ok = EiResponse(response_code="200", response_description="OK", ref_id="req-pv-17-pos-0001",
                    created_date_time=CREATED)
    line = PositionInterval(dtstart=T0, duration=timedelta(minutes=15), bought_kwh=Decimal("0"),
                            sold_kwh=Decimal("2.5"), net_kwh=Decimal("-2.5"), amount=Decimal("-0.3"),
                            delivered_kwh=Decimal("2.45"))
    return [
        EiRequestPosition(request_id="req-pv-17-pos-0001", party_id="party-pv-roof-17", dtstart=T0,
                          duration=timedelta(hours=1)),
        EiReplyPosition(response=ok, party_id="party-pv-roof-17", currency="USD", bought_kwh=Decimal("0"),
                        sold_kwh=Decimal("2.5"), net_kwh=Decimal("-2.5"), amount=Decimal("-0.3"), intervals=(line,)),
        EXAMPLE_MARKET.reply(ok.replace(ref_id="req-pv-17-mc-0001")),
        EiResponsePayload(response=EiResponse(response_code="453", response_description="not a request",
                                              ref_id="unknown", created_date_time=CREATED)),
    ]
