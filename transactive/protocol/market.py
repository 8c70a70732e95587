"""The market a VTN runs (:class:`MarketConfig`) and how it is told to VENs.

Mapping onto the wire (the answer to ``pyld:eiRequestEiMarketContext`` is the extension payload
``tx:eiReplyEiMarketContext``, see :mod:`transactive.ei.ext`; :meth:`MarketConfig.standard_reply` gives the
plain CTS ``pyld:eiReplyEiMarketContext`` for peers that want only the standard):

=========================  =====================================================================================
``MarketConfig``           on the wire
=========================  =====================================================================================
``market_context``         ``ei:eiMarketContext/emix:marketContext`` and ``emix:standardTerms/emix:marketContext``
``name``                   ``ei:marketName`` and ``emix:marketContextName``
``currency``               ``emix:standardTerms/emix:currency`` (ISO 4217)
units                      ``emix:standardTerms/power:temixPower/power:energyReal`` (``Wh``, scale ``k``: kWh);
                           prices are ``currency`` per kWh
``interval``               ``emix:standardTerms/xcal:granularity`` and the term ``emix:minimumResponseDuration``
``quantity_scale``         the term ``emix:marketGranularity`` (``emix:quantity`` in kWh) — and ``tx:quantityScale``
time zone                  ``xcal:timeZone`` ``UTC``; tenders for non-standard terms are rejected
                           (``emix:nonStandardTermsHandling`` ``reject``)
**extension**              ``tx:marketRules``: ``tx:marketPartyID``, ``tx:mechanism`` (``uniform`` |
                           ``pay-as-bid``), ``tx:interval``, ``tx:gateClosure`` (lead time before an interval
                           starts), ``tx:quantityScale``, ``tx:priceScale``, ``tx:minQuantityKWh``,
                           ``tx:maxQuantityKWh``, ``tx:minPrice``, ``tx:maxPrice`` (the reserve band),
                           ``tx:gridBuyPrice``/``tx:gridSellPrice`` when the main grid is the reserve, the
                           request limits ``tx:maxTendersPerRequest``, ``tx:maxStreamIntervals`` and
                           ``tx:horizon``, and ``tx:signingKey`` (what the VTN's notices are signed with)
=========================  =====================================================================================

:meth:`MarketConfig.from_reply` reads the configuration back, so a VEN learns the market from the reply;
:meth:`MarketConfig.snap_quantity` and :meth:`MarketConfig.snap_price` put a bid on the market's scales the way
the VTN's tender checks expect (so a VEN's tender is never refused for its rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from transactive.codec import pin
from transactive.ei.cts.market_context import EiMarketContext, EiReplyEiMarketContext
from transactive.ei.cts.responses import EiResponse
from transactive.ei.ext import MarketRules, TxReplyEiMarketContext
from transactive.emix import (
    EnergyReal,
    MarketGranularity,
    MinimumResponseDuration,
    NonStandardTermsHandling,
    Side,
    SiScaleCode,
    StandardTerms,
    StandardTermsSet,
    TemixPower,
    check_currency,
)
from transactive.market import Mechanism, ReservePrices

__all__ = ["EPOCH", "MarketConfig"]

#: intervals are aligned to this instant (a multiple of the interval length after it)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """One energy market: what is traded, in which intervals, within which limits, cleared how.

    Quantities are kWh, prices ``currency`` per kWh, both :class:`~decimal.Decimal`. Tenders must be
    multiples of ``quantity_scale`` and ``price_scale``; intervals start at multiples of ``interval`` after
    :data:`EPOCH`; tenders for an interval close ``gate_closure`` before it starts.
    """

    market_context: str
    market_party_id: str = "market"
    name: str = "transactive reference market"
    currency: str = "USD"
    interval: timedelta = timedelta(minutes=15)
    gate_closure: timedelta = timedelta(minutes=5)
    quantity_scale: Decimal = Decimal("0.001")
    price_scale: Decimal = Decimal("0.0001")
    min_quantity_kwh: Decimal = Decimal("0.001")
    max_quantity_kwh: Decimal = Decimal("1000")
    min_price: Decimal = Decimal("0")
    max_price: Decimal = Decimal("10")
    mechanism: Mechanism = Mechanism.UNIFORM
    reserve: ReservePrices | None = field(default=None)
    #: the most tenders one ``eiCreateTender`` may carry
    max_tenders: int = 100
    #: the most intervals one stream tender may span (a week of 15-minute intervals)
    max_stream_intervals: int = 672
    #: how far ahead of now a tendered interval may start
    horizon: timedelta = timedelta(days=7)
    #: the key the VTN signs its notices with (``ed25519:<base64url>``; None: notices are not signed)
    signing_key: str | None = None
    # the immutable parts of the market-context reply, built once (every VEN asks for them)
    _terms: StandardTerms = field(init=False, repr=False, compare=False)
    _context: EiMarketContext = field(init=False, repr=False, compare=False)
    _rules: MarketRules = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_currency(self.currency)
        if self.interval <= timedelta(0) or self.gate_closure <= timedelta(0):
            raise ValueError("interval and gate_closure must be positive")
        if not (self.quantity_scale > 0 and self.price_scale > 0):
            raise ValueError("quantity_scale and price_scale must be positive")
        if not 0 < self.min_quantity_kwh <= self.max_quantity_kwh:
            raise ValueError("need 0 < min_quantity_kwh <= max_quantity_kwh")
        if self.max_tenders < 1 or self.max_stream_intervals < 1 or self.horizon <= self.interval:
            raise ValueError("need max_tenders >= 1, max_stream_intervals >= 1 and a horizon longer than an interval")
        if not 0 <= self.min_price <= self.max_price:
            raise ValueError("need 0 <= min_price <= max_price (ledger records refuse negative prices)")
        reserve = self.reserve
        if reserve is not None and (self.max_price > Decimal(repr(reserve.grid_buy))
                                    or self.min_price < Decimal(repr(reserve.grid_sell))):
            raise ValueError("with reserve prices, [min_price, max_price] must lie within [grid_sell, grid_buy]")
        object.__setattr__(self, "mechanism", Mechanism(self.mechanism))
        # every market-context reply carries these unchanged: pinned, they are encoded once
        object.__setattr__(self, "_terms", pin(self._standard_terms()))
        object.__setattr__(self, "_context", pin(self._market_context(None)))
        object.__setattr__(self, "_rules", pin(self._market_rules()))

    # -- intervals ---------------------------------------------------------------------------------

    def is_aligned(self, start: datetime) -> bool:
        """Does an interval of this market start at ``start``?"""
        return start.tzinfo is not None and (start - EPOCH) % self.interval == timedelta(0)

    def interval_containing(self, when: datetime) -> datetime:
        """The start of the interval ``when`` falls in."""
        return when - (when - EPOCH) % self.interval

    def gate_time(self, interval_start: datetime) -> datetime:
        """When tendering for the interval closes."""
        return interval_start - self.gate_closure

    def next_open_interval(self, now: datetime) -> datetime:
        """The first interval whose gate is still open at ``now``."""
        start = self.interval_containing(now) + self.interval
        while self.gate_time(start) <= now:
            start += self.interval
        return start

    # -- tenders on the market's scales -------------------------------------------------------------

    def band(self) -> ReservePrices:
        """The price band bidders work in: the main grid's prices when the market has them (``grid_sell`` =
        what the grid pays a producer, ``grid_buy`` = the retail price), else ``[min_price, max_price]``."""
        if self.reserve is not None:
            return self.reserve
        return ReservePrices(grid_buy=float(self.max_price), grid_sell=float(self.min_price))

    def snap_price(self, price: float | Decimal, side: Side) -> Decimal:
        """A price on the market's scale, rounded to the bidder's safe side (buyers down, sellers up) and
        clipped into ``[min_price, max_price]``."""
        rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        value = (_decimal(price) / self.price_scale).to_integral_value(rounding) * self.price_scale
        return min(max(value, self.min_price), self.max_price)

    def snap_quantity(self, kwh: float | Decimal) -> Decimal | None:
        """kWh a tender may carry: on the market's scale (rounded down), at most ``max_quantity_kwh``; None
        when that is below ``min_quantity_kwh`` (nothing to tender)."""
        value = min(self.floor_quantity(kwh), self.max_quantity_kwh)
        return value if value >= self.min_quantity_kwh else None

    def floor_quantity(self, kwh: float | Decimal) -> Decimal:
        """kWh on the market's scale, rounded down; negative amounts are nothing (a delivery may be zero)."""
        value = max(_decimal(kwh), Decimal(0))
        return (value / self.quantity_scale).to_integral_value(ROUND_FLOOR) * self.quantity_scale

    # -- the wire ----------------------------------------------------------------------------------

    def market_context_model(self, *, created: datetime | None = None) -> EiMarketContext:
        """The standard ``ei:eiMarketContext`` part (see the module's mapping table); ``created`` is its
        ``ei:createdDateTime`` (when the context was made; :meth:`reply` leaves it out)."""
        return self._context if created is None else self._market_context(created)

    def _market_context(self, created: datetime | None) -> EiMarketContext:
        return EiMarketContext(schema_version="0.4", market_context=self.market_context, market_name=self.name,
                               standard_terms=self._terms, created_date_time=created)

    def _standard_terms(self) -> StandardTerms:
        kwh = EnergyReal(si_scale_code=SiScaleCode.KILO)
        return StandardTerms(
            market_context=self.market_context,
            market_context_name=self.name,
            terms_sets=(StandardTermsSet(
                terms=(MinimumResponseDuration(duration=self.interval),
                       MarketGranularity(quantity=float(self.quantity_scale), item=kwh)),
                non_standard_terms_handling=NonStandardTermsHandling.REJECT,
            ),),
            product_description=TemixPower(energy_item=kwh),
            granularity=self.interval,
            time_zone="UTC",
            currency=self.currency,
            non_standard_terms_handling=NonStandardTermsHandling.REJECT,
        )

    def rules(self) -> MarketRules:
        """The **extension** part ``tx:marketRules``."""
        return self._rules

    def _market_rules(self) -> MarketRules:
        return MarketRules(
            market_party_id=self.market_party_id,
            mechanism=self.mechanism.value,
            interval=self.interval,
            gate_closure=self.gate_closure,
            quantity_scale=self.quantity_scale,
            price_scale=self.price_scale,
            min_quantity_kwh=self.min_quantity_kwh,
            max_quantity_kwh=self.max_quantity_kwh,
            min_price=self.min_price,
            max_price=self.max_price,
            grid_buy_price=Decimal(repr(self.reserve.grid_buy)) if self.reserve else None,
            grid_sell_price=Decimal(repr(self.reserve.grid_sell)) if self.reserve else None,
            max_tenders=self.max_tenders,
            max_stream_intervals=self.max_stream_intervals,
            horizon=self.horizon,
            signing_key=self.signing_key,
        )

    def reply(self, response: EiResponse) -> TxReplyEiMarketContext:
        """The answer to ``eiRequestEiMarketContext``: standard part plus extension."""
        return TxReplyEiMarketContext(response=response, market_context=self._context, rules=self._rules)

    @staticmethod
    def standard_reply(response: EiResponse) -> EiReplyEiMarketContext:
        """The CTS rev 0.4 answer (a response only: the standard has no place for the context)."""
        return EiReplyEiMarketContext(response=response)

    @classmethod
    def from_reply(cls, reply: TxReplyEiMarketContext) -> MarketConfig:
        """Read a market's configuration back from its ``tx:eiReplyEiMarketContext``."""
        context, rules = reply.market_context, reply.rules
        if context is None or rules is None or context.standard_terms is None:
            raise ValueError("the reply carries no market context (an error reply?)")
        terms = context.standard_terms
        # the request limits, when the market states them (else this side's defaults)
        limits: dict[str, Any] = {name: value for name, value in (
            ("max_tenders", rules.max_tenders), ("max_stream_intervals", rules.max_stream_intervals),
            ("horizon", rules.horizon)) if value is not None}
        reserve = None
        if rules.grid_buy_price is not None and rules.grid_sell_price is not None:
            reserve = ReservePrices(grid_buy=float(rules.grid_buy_price), grid_sell=float(rules.grid_sell_price))
        return cls(
            market_context=context.market_context,
            market_party_id=rules.market_party_id,
            name=context.market_name or "",
            currency=terms.currency or "USD",
            interval=rules.interval,
            gate_closure=rules.gate_closure,
            quantity_scale=rules.quantity_scale,
            price_scale=rules.price_scale,
            min_quantity_kwh=rules.min_quantity_kwh,
            max_quantity_kwh=rules.max_quantity_kwh,
            min_price=rules.min_price,
            max_price=rules.max_price,
            mechanism=Mechanism(rules.mechanism),
            reserve=reserve,
            signing_key=rules.signing_key,
            **limits,
        )


def _decimal(value: float | Decimal) -> Decimal:
    # floats through repr: 0.1 is Decimal("0.1"), not its binary expansion
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))
