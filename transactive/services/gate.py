"""Gate closure: clear one interval's open tenders and write the transactions, durably and idempotently.

:func:`close_gate` takes the interval's open tender rows in acceptance order (time priority), clears them
with :func:`transactive.market.clear` (mechanism and reserve prices from the :class:`MarketConfig`), and in
*one* store transaction writes: a transaction per matched row (the market is the counterparty; the fill
rounded half-even to ``quantity_scale``, the price to ``price_scale``), each tender row's new status from
the lifecycle table (``match`` → cleared with ``filled``, ``no_match`` → expired), and the gate row (the
quote). Transaction ids are deterministic: ``txn-<interval>-<nnnn>`` in acceptance order.

Closing an interval again returns the same :class:`GateResult`, read back from the store: nothing is
cleared twice, so a VTN restarted mid-way simply closes the gate again. Closing before the gate time is
allowed (the scheduler decides); tenders for a closed interval are refused (450) from then on.

With reserve prices, the unmatched remainder (``grid_import``/``grid_export``) is recorded on the gate but
not turned into transactions in this phase.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from transactive.ei.cts.quote import EiCreateQuote, EiQuote
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.emix import Side
from transactive.market import Orders, clear
from transactive.protocol.errors import OutsideLimitsError
from transactive.protocol.market import MarketConfig
from transactive.services.context import ServiceContext
from transactive.services.lifecycle import TenderEvent, TenderStatus, tender_step
from transactive.services.quotes import quote_message, quote_model, stamp
from transactive.services.store import GateRow, Store, TenderRow, TransactionRow
from transactive.services.transactions import document_hash, notice

__all__ = ["GateResult", "close_gate", "gate_result", "net_position"]


@dataclass(frozen=True, slots=True)
class GateResult:
    """What closing one interval produced: the gate (price, quantity), the transactions, what to send."""

    interval_start: datetime
    gate: GateRow
    transactions: tuple[TransactionRow, ...]
    #: the quote to publish (None when nothing cleared)
    quote: EiQuote | None = None
    config: MarketConfig | None = None
    #: the interval's tender rows (one per tender, one per interval of a stream tender), any status
    tenders: int = 0
    _notices: dict[str, EiCreateTransaction] | None = field(default=None, compare=False, repr=False)

    @property
    def notices(self) -> dict[str, EiCreateTransaction]:
        """Party id → the ``eiCreateTransaction`` notice for that party (only parties with transactions).
        Built on first use: a caller that wants only the transactions (anchoring) does not pay for them."""
        if self._notices is None:
            if self.config is None:
                raise ValueError("a GateResult without its market config cannot build notices")
            by_party: dict[str, list[TransactionRow]] = defaultdict(list)
            for tx in self.transactions:
                by_party[tx.party_id].append(tx)
            built = {party: notice(self.config, party, rows, f"notice-{stamp(self.interval_start)}-{party}")
                     for party, rows in sorted(by_party.items())}
            object.__setattr__(self, "_notices", built)
            return built
        return self._notices

    @property
    def price(self) -> Decimal | None:
        return self.gate.price

    @property
    def quantity(self) -> Decimal:
        return self.gate.quantity

    def quote_message(self, subscriber: str) -> EiCreateQuote | None:
        """``eiCreateQuote`` of this interval's quote for one subscriber."""
        if self.quote is None or self.config is None:
            return None
        return quote_message(self.config, self.quote, subscriber)


def _q(value: float, scale: Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(scale, rounding=ROUND_HALF_EVEN)


def close_gate(ctx: ServiceContext, interval_start: datetime) -> GateResult:
    """Clear the interval starting at ``interval_start`` (idempotent; see the module docstring)."""
    cfg = ctx.config
    if not cfg.is_aligned(interval_start):
        raise OutsideLimitsError(f"intervals start on the market's {cfg.interval} grid", field="interval_start")
    with ctx.store.transaction():
        ctx.store.hold_interval(interval_start, exclusive=True)  # tenders accepted elsewhere are all in, or refused
        if ctx.store.gate(interval_start) is None:
            _clear(ctx, interval_start)
    return gate_result(ctx, interval_start)


def _clear(ctx: ServiceContext, interval_start: datetime) -> None:
    cfg, store, now = ctx.config, ctx.store, ctx.now()
    rows = store.tenders(interval_start=interval_start, status=TenderStatus.OPEN)
    price: Decimal | None = None
    quantity = Decimal(0)
    grid_import = grid_export = Decimal(0)
    if rows:
        orders = Orders.from_columns(
            is_buy=[r.side is Side.BUY for r in rows], price=[float(r.price) for r in rows],
            quantity=[float(r.quantity) for r in rows], time=[r.order_no for r in rows],
        )
        result = clear(orders, mechanism=cfg.mechanism, reserve=cfg.reserve)
        if result.price is not None:
            price = _q(result.price, cfg.price_scale)
        quantity = _q(result.quantity, cfg.quantity_scale)
        grid_import = _q(result.grid_import, cfg.quantity_scale)
        grid_export = _q(result.grid_export, cfg.quantity_scale)
        transactions: list[TransactionRow] = []
        updated: list[TenderRow] = []
        for i, row in enumerate(rows):
            fill = _q(float(result.fills[i]), cfg.quantity_scale)
            if fill <= 0:
                updated.append(replace(row, status=tender_step(row.status, TenderEvent.NO_MATCH)))
                continue
            tx = TransactionRow(
                transaction_id=f"txn-{stamp(interval_start)}-{len(transactions) + 1:04d}", party_id=row.party_id,
                counterparty_id=cfg.market_party_id, tender_id=row.tender_id, tender_seq=row.seq, side=row.side,
                interval_start=interval_start, interval_duration=cfg.interval, quantity=fill,
                price=_q(float(result.prices[i]), cfg.price_scale), currency=cfg.currency,
                document_hash="", created_at=now,
            )
            transactions.append(replace(tx, document_hash=document_hash(cfg, tx)))
            updated.append(replace(row, status=tender_step(row.status, TenderEvent.MATCH), filled=fill))
        # written together (a few statements, not two per row: on a database server each is a round trip);
        # the gate's transaction makes them all or none as before
        store.add_transactions(transactions)
        store.update_tenders(updated)
    store.put_gate(GateRow(interval_start=interval_start, closed_at=now, price=price, quantity=quantity,
                           grid_import=grid_import, grid_export=grid_export))


def gate_result(ctx: ServiceContext, interval_start: datetime) -> GateResult:
    """The result of an already closed interval, read from the store."""
    cfg = ctx.config
    gate = ctx.store.gate(interval_start)
    if gate is None:
        raise OutsideLimitsError("the interval is not closed yet", field="interval_start")
    transactions = tuple(ctx.store.transactions(interval_start=interval_start))
    return GateResult(interval_start=interval_start, gate=gate, transactions=transactions,
                      quote=quote_model(cfg, gate), config=cfg, tenders=ctx.store.tender_count(interval_start))


def net_position(store: Store, interval_start: datetime) -> Decimal:
    """The market's net unmatched kWh after the gate of an interval: the unfilled kWh of its buy tenders minus
    those of its sell tenders (positive = short: the members must import; negative = long). Cancelled
    tenders do not count. A microgrid's VTN tenders this upward (:mod:`transactive.vtn.fractal`)."""
    net = Decimal(0)
    for row in store.tenders(interval_start=interval_start):
        if row.status in (TenderStatus.CLEARED, TenderStatus.EXPIRED):
            unfilled = row.quantity - row.filled
            net += unfilled if row.side is Side.BUY else -unfilled
    return net
