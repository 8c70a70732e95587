"""``VenRuntime``: a VEN that trades every market interval for one personality, over a :class:`VenClient`.

Per market interval ``X`` (length ``I``, gate closure ``G`` before it starts) the runtime:

1. at ``gate_time(X) - lead`` (``lead`` = 30 % of ``I``): asks the personality for its needs
   (:meth:`Personality.plan` with the market's price band), prices each with the strategy
   (:class:`Pricing`), snaps kWh and price to the market's scales and limits, and sends one
   ``eiCreateTender`` per need;
2. meanwhile reads its notices (subscription): ``eiCreateTransaction`` (the agreed transactions, booked
   with :meth:`Personality.on_transaction` at once) and ``eiCreateQuote`` (the clearing prices, for the
   battery's price history and the AA reference price);
3. at ``X + I + margin``: reads the personality's meter (forecast plus noise), reports one delivery per
   transaction (``eiCreateDelivery``: the metered energy in the transaction's direction, up to the agreed
   kWh; the VTN then settles it on its ledger — anchor, readings, payment request and, in the reference
   VTN, payment confirmed on the payer's behalf, :mod:`transactive.services.settlement`), and books the rest
   of the metered energy as imbalance with the main grid (import at ``grid_buy``, export at ``grid_sell``);
4. logs one line and hands an :class:`IntervalRecord` to ``record``.

If a transaction notice did not arrive, the runtime asks for its position in the interval and, when it
shows trades, fetches its transactions (so a lost notice never loses a delivery).

**Strategies** (:mod:`transactive.ven.pricing`) turn a need's limit price into the tendered price; the
runtime snaps it and the quantity to the market's scales (:meth:`MarketConfig.snap_price`,
:meth:`MarketConfig.snap_quantity`) and reports each outcome back to the strategy.

**Time**: the market runs on ``clock`` (the VTN's time); personalities see *simulated* time through a
:class:`TimeMap` (an accelerated demo maps a 1-second market interval to 15 simulated minutes; quantities
are then the energy of the simulated interval). ``sleep_until`` waits for a clock time (default: real
sleeping; tests pass a function that moves a :class:`~transactive.protocol.ManualClock` and closes gates).
Per-interval lines go to ``log`` (default: the ``transactive.ven.runtime`` logger at INFO).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from transactive.ei.cts.quote import EiCreateQuote
from transactive.ei.cts.transaction import EiCreateTransaction, EiTransaction
from transactive.emix import EmixBaseMember, EnergyBlock, Side, energy_block
from transactive.market import ReservePrices
from transactive.protocol.clock import Clock
from transactive.protocol.errors import RequestRefusedError
from transactive.protocol.market import MarketConfig
from transactive.transport.base import Subscription, TransportError, backoff
from transactive.ven.client import VenClient, discover_market_context
from transactive.ven.personalities import Personality
from transactive.ven.pricing import STRATEGIES, AaPricing, FixedPricing, Pricing, ZicPricing, create_pricing

__all__ = [
    "STRATEGIES",
    "AaPricing",
    "FixedPricing",
    "IntervalRecord",
    "Pricing",
    "SentTender",
    "TimeMap",
    "VenRuntime",
    "ZicPricing",
    "create_pricing",
]

_log = logging.getLogger("transactive.ven.runtime")


# ---- time ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeMap:
    """Market time -> simulated time: the market interval starting ``start`` is the simulated interval
    starting ``sim_start``; each further market interval is ``sim_interval`` later."""

    start: datetime
    interval: timedelta
    sim_start: datetime
    sim_interval: timedelta

    @classmethod
    def identity(cls, start: datetime, interval: timedelta) -> TimeMap:
        return cls(start, interval, start, interval)

    def __call__(self, interval_start: datetime) -> datetime:
        return self.sim_start + self.sim_interval * ((interval_start - self.start) / self.interval)


# ---- records --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentTender:
    """One tender the runtime sent for an interval: ``kwh`` on ``side`` at ``price`` (the need's limit was
    ``limit``), accepted as ``tender_id``."""

    side: Side
    kwh: float
    price: Decimal
    limit: float
    tender_id: str


@dataclass(slots=True)
class IntervalRecord:
    """What happened to one party in one interval (money in the market's currency; positive = pays)."""

    party: str
    interval_start: datetime
    sim_start: datetime
    tenders: list[SentTender] = field(default_factory=list)
    bought_kwh: float = 0.0
    sold_kwh: float = 0.0
    local_amount: float = 0.0
    metered_bought_kwh: float = 0.0
    metered_sold_kwh: float = 0.0
    delivered_kwh: float = 0.0
    grid_import_kwh: float = 0.0
    grid_export_kwh: float = 0.0
    grid_amount: float = 0.0
    clearing_price: float | None = None
    transactions: list[str] = field(default_factory=list)
    state_of_charge: float | None = None

    @property
    def bill(self) -> float:
        return self.local_amount + self.grid_amount

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tenders"] = [{**t, "side": t["side"].value, "price": float(t["price"])} for t in out["tenders"]]
        out["interval_start"] = self.interval_start.isoformat()
        out["sim_start"] = self.sim_start.isoformat()
        out["bill"] = self.bill
        return out

    def line(self, currency: str) -> str:
        """The progress line."""
        asked = " ".join(f"{t.side.value} {t.kwh:.3f}@{t.price:.4f}" for t in self.tenders) or "no tender"
        traded = []
        if self.bought_kwh:
            traded.append(f"bought {self.bought_kwh:.3f}")
        if self.sold_kwh:
            traded.append(f"sold {self.sold_kwh:.3f}")
        price = "-" if self.clearing_price is None else f"{self.clearing_price:.4f}"
        soc = "" if self.state_of_charge is None else f"  soc {self.state_of_charge:.0%}"
        return (f"{self.party:<10} {self.sim_start:%H:%M}  {asked:<34} -> {', '.join(traded) or 'no trade':<24} "
                f"mcp {price:<7} metered +{self.metered_bought_kwh:.3f}/-{self.metered_sold_kwh:.3f} "
                f"grid +{self.grid_import_kwh:.3f}/-{self.grid_export_kwh:.3f}  bill {self.bill:+.4f} "
                f"{currency}{soc}")


# ---- the runtime ----------------------------------------------------------------------------------------


def _block(item: EmixBaseMember, what: str) -> EnergyBlock | None:
    """The terms of a notice's product, or None (logged) when it is not one block of energy."""
    try:
        return energy_block(item)
    except ValueError as error:
        _log.warning("%s ignored: %s", what, error)
        return None


class VenRuntime:
    """One VEN: ``personality`` decides, ``strategy`` prices, ``client`` talks to the VTN, ``clock`` is the
    market's time. See the module docstring for the cycle."""

    def __init__(self, client: VenClient, personality: Personality, strategy: Pricing, clock: Clock, *,
                 market_context: str | None = None, time_map: TimeMap | None = None,
                 sleep_until: Callable[[datetime], Awaitable[None]] | None = None,
                 log: Callable[[str], None] | None = _log.info,
                 record: Callable[[IntervalRecord], None] | None = None,
                 lead: float = 0.3, margin: float = 0.05, speed: float = 1.0,
                 band: ReservePrices | None = None) -> None:
        self.client = client
        self.personality = personality
        self.strategy = strategy
        self.clock = clock
        self.market_context = market_context
        self.time_map = time_map
        self._sleep_until = sleep_until or self._real_sleep_until
        self.log = log
        self.record = record
        self.lead = lead
        self.margin = margin
        #: market seconds per wall-clock second (for the default ``sleep_until``)
        self.speed = speed
        #: the price band to bid in, when not the market's (see :meth:`MarketConfig.band`)
        self.band = band
        self.records: list[IntervalRecord] = []
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        #: interval start -> transaction id -> (the transaction, its terms)
        self._transactions: dict[datetime, dict[str, tuple[EiTransaction, EnergyBlock]]] = {}
        self._prices: dict[datetime, float] = {}
        self._tendered: dict[datetime, list[SentTender]] = {}
        #: the tender ids the VTN has acknowledged (of intervals not settled yet)
        self._accepted: set[str] = set()
        self._arrived = asyncio.Event()

    # -- set-up and tear-down -------------------------------------------------------------------------

    @property
    def config(self) -> MarketConfig:
        if self.client.config is None:
            raise RuntimeError("call start() first")
        return self.client.config

    async def start(self) -> MarketConfig:
        """Read the market context, register (signed for that market), subscribe to the notices."""
        uri = self.market_context or await discover_market_context(self.client)
        config = await self.client.market_context(uri)
        await self.client.register()
        self._subscription = await self.client.notices()
        self._reader = asyncio.create_task(self._read_notices(self._subscription))
        return config

    async def close(self) -> None:
        """Stop reading notices (the registration stays: the VEN may come back with its token)."""
        if self._subscription is not None:
            with contextlib.suppress(TransportError):
                await self._subscription.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, TransportError):
                await self._reader
        self._reader = None
        self._subscription = None

    async def _read_notices(self, subscription: Subscription) -> None:
        async for notice in subscription.follow():
            if isinstance(notice, EiCreateTransaction):
                for tx in notice.transactions:
                    self._book(tx)
            elif isinstance(notice, EiCreateQuote):
                for quote in notice.quotes:
                    for item in quote.items:
                        block = _block(item, f"quote {quote.quote_id}")
                        if block is not None and block.price is not None and block.start not in self._prices:
                            self._prices[block.start] = float(block.price)
                            self.personality.on_price(self._sim(block.start), float(block.price))
            self._arrived.set()

    def _book(self, tx: EiTransaction) -> None:
        block = _block(tx.item, f"transaction {tx.transaction_id}")
        if block is None:
            return
        seen = self._transactions.setdefault(block.start, {})
        if tx.transaction_id in seen:
            return  # a repeated notice
        seen[tx.transaction_id] = (tx, block)
        price = float(block.price) if block.price is not None else 0.0
        self.personality.on_transaction(self._sim(block.start), block.side, block.quantity_kwh, price)

    # -- time -------------------------------------------------------------------------------------------

    def _sim(self, interval_start: datetime) -> datetime:
        return interval_start if self.time_map is None else self.time_map(interval_start)

    def _sim_duration(self) -> timedelta:
        return self.config.interval if self.time_map is None else self.time_map.sim_interval

    async def _real_sleep_until(self, when: datetime) -> None:
        while (delay := (when - self.clock()).total_seconds()) > 0:
            await asyncio.sleep(min(delay / self.speed, 1.0))

    # -- one interval -----------------------------------------------------------------------------------

    def plan_interval(self, interval_start: datetime) -> list[SentTender]:
        """The tenders for one interval: the personality's needs, priced by the strategy, snapped to the
        market's scales. Planned once per interval; their ids are the party's, the interval's and the need's,
        so sending one again (after a lost reply) is the same tender, never a second one."""
        planned = self._tendered.get(interval_start)
        if planned is not None:
            return planned
        cfg = self.config
        band = self.band or cfg.band()
        sim = self._sim(interval_start)
        planned = []
        for k, need in enumerate(self.personality.plan(sim, self._sim_duration(), band)):
            kwh = cfg.snap_quantity(need.quantity_kwh)
            if kwh is None:
                continue
            price = cfg.snap_price(self.strategy.price(need, band, sim), need.side)
            tender_id = f"{self.client.party_id}-{interval_start:%Y%m%dT%H%M%SZ}-{k}"
            planned.append(SentTender(side=need.side, kwh=float(kwh), price=price, limit=need.limit_price,
                                      tender_id=tender_id))
        self._tendered[interval_start] = planned
        return planned

    async def tender_interval(self, interval_start: datetime) -> list[str]:
        """Send the interval's tenders (:meth:`plan_interval`) that the VTN has not accepted yet; returns the
        tender ids. Safe to call again after a transport error."""
        ids: list[str] = []
        for tender in self.plan_interval(interval_start):
            if tender.tender_id not in self._accepted:
                await self.client.tender(interval_start, tender.side, tender.kwh, tender.price,
                                         tender_id=tender.tender_id, request_id=f"{tender.tender_id}-create")
                self._accepted.add(tender.tender_id)
            ids.append(tender.tender_id)
        return ids

    async def _transactions_of(self, interval_start: datetime) -> list[tuple[EiTransaction, EnergyBlock]]:
        booked = self._transactions.get(interval_start)
        if booked is None and self._tendered.get(interval_start):
            # no notice: ask the position, and fetch the transactions only if it shows trades
            pos = await self.client.position(interval_start, interval_start + self.config.interval)
            if pos.bought_kwh or pos.sold_kwh:
                for tx in await self.client.transactions():
                    if tx.item.dtstart == interval_start:
                        self._book(tx)
            booked = self._transactions.get(interval_start)
        return list((booked or {}).values())

    async def settle_interval(self, interval_start: datetime) -> IntervalRecord:
        """After the interval: meter, report deliveries, book the imbalance with the grid, log. Safe to call
        again after a transport error (the meter reads the same, a delivery reported twice is the same one);
        the interval is forgotten only once it is done."""
        cfg = self.config
        band = self.band or cfg.band()
        sim = self._sim(interval_start)
        rec = IntervalRecord(party=self.client.party_id, interval_start=interval_start, sim_start=sim,
                             tenders=list(self._tendered.get(interval_start, [])),
                             clearing_price=self._prices.get(interval_start))
        transactions = await self._transactions_of(interval_start)
        meter = self.personality.metered(sim, self._sim_duration())
        rec.metered_bought_kwh, rec.metered_sold_kwh = meter.bought_kwh, meter.sold_kwh
        left = {Side.BUY: meter.bought_kwh, Side.SELL: meter.sold_kwh}
        for tx, block in transactions:
            agreed, side = block.quantity_kwh, block.side
            price = float(block.price) if block.price is not None else 0.0
            delivered = float(cfg.floor_quantity(min(left[side], agreed)))
            left[side] -= delivered
            await self.client.report_delivery(tx, delivered)
            rec.transactions.append(tx.transaction_id)
            rec.delivered_kwh += delivered
            if side is Side.BUY:
                rec.bought_kwh += agreed
                rec.local_amount += delivered * price
            else:
                rec.sold_kwh += agreed
                rec.local_amount -= delivered * price
        rec.grid_import_kwh = max(left[Side.BUY], 0.0)
        rec.grid_export_kwh = max(left[Side.SELL], 0.0)
        rec.grid_amount = rec.grid_import_kwh * band.grid_buy - rec.grid_export_kwh * band.grid_sell
        for sent in rec.tenders:
            matched = rec.bought_kwh > 0 if sent.side is Side.BUY else rec.sold_kwh > 0
            self.strategy.observe(sent.side, matched, rec.clearing_price)
        rec.state_of_charge = self.personality.state_of_charge_after(sim)  # not what is booked an interval ahead
        self._transactions.pop(interval_start, None)
        for sent in self._tendered.pop(interval_start, []):
            self._accepted.discard(sent.tender_id)
        self.records.append(rec)
        if self.log is not None:
            self.log(rec.line(cfg.currency))
        if self.record is not None:
            self.record(rec)
        return rec

    # -- the loop ---------------------------------------------------------------------------------------

    def tender_time(self, interval_start: datetime) -> datetime:
        return self.config.gate_time(interval_start) - self.config.interval * self.lead

    def settle_time(self, interval_start: datetime) -> datetime:
        return interval_start + self.config.interval * (1 + self.margin)

    async def run(self, *, intervals: int | None = None, first: datetime | None = None,
                  stop: asyncio.Event | None = None) -> list[IntervalRecord]:
        """Trade ``intervals`` intervals (forever if None) from ``first`` (default: the next interval whose
        tender time is still ahead), until ``stop`` is set; settles what it tendered before returning."""
        if self.client.config is None:
            await self.start()
        cfg = self.config
        now = self.clock()
        nxt = first or cfg.next_open_interval(now)
        while self.tender_time(nxt) < now and first is None:
            nxt += cfg.interval
        pending: list[datetime] = []
        done = 0
        planned = 0
        stop = stop or asyncio.Event()
        while not stop.is_set() and (intervals is None or done < intervals):
            tender_due = self.tender_time(nxt) if intervals is None or planned < intervals else None
            if pending and (tender_due is None or self.settle_time(pending[0]) <= tender_due):
                if await self._wait(self.settle_time(pending[0]), stop):
                    break
                start = pending[0]
                if not await self._persist(f"settling {start.isoformat()}", partial(self.settle_interval, start),
                                           stop=stop):
                    break  # stopped while the VTN was away: the interval stays unsettled (its deliveries too)
                pending.pop(0)
                done += 1
                continue
            if tender_due is None:
                break
            if await self._wait(tender_due, stop):
                break
            if self.clock() < cfg.gate_time(nxt):
                try:
                    await self._persist(f"tendering for {nxt.isoformat()}", partial(self.tender_interval, nxt),
                                        stop=stop, until=cfg.gate_time(nxt))
                except RequestRefusedError as error:
                    _log.warning("%s: tender for %s refused: %s", self.client.party_id, nxt.isoformat(), error)
            pending.append(nxt)
            planned += 1
            nxt += cfg.interval
        return self.records

    async def _persist(self, what: str, step: Callable[[], Awaitable[object]], *, stop: asyncio.Event,
                       until: datetime | None = None) -> bool:
        """Run ``step``; while the VTN cannot be reached (a :class:`~transactive.transport.TransportError`), try
        again after a backoff with jitter (0.1 s doubling up to 5 s, wall time), logging once per outage, until
        it succeeds (True), ``stop`` is set or the market clock passes ``until`` (False: given up). Refusals
        are not retried: they propagate."""
        failures = 0
        while True:
            try:
                await step()
            except TransportError as error:
                failures += 1
                if failures == 1:
                    _log.warning("%s: %s: the VTN is unreachable (%s); retrying", self.client.party_id, what, error)
                if until is not None and self.clock() >= until:
                    _log.warning("%s: %s: given up, its time has passed", self.client.party_id, what)
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff(failures))
                if stop.is_set():
                    return False
                continue
            if failures:
                _log.warning("%s: %s: the VTN is back after %d attempts", self.client.party_id, what, failures + 1)
            return True

    async def _wait(self, when: datetime, stop: asyncio.Event) -> bool:
        """Wait until ``when`` on the clock; True if ``stop`` was set first."""
        waiter = asyncio.ensure_future(self._sleep_until(when))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, stopper):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if waiter.done() and not waiter.cancelled() and waiter.exception() is not None:
            raise waiter.exception()  # type: ignore[misc]
        return stop.is_set()

