"""The position facet (**extension** ``tx:eiRequestPosition`` / ``tx:eiReplyPosition``).

A party's position over ``[start, end)`` is computed from its transactions whose interval starts in that
window: per interval and in total, ``bought_kwh`` and ``sold_kwh`` (agreed quantities), ``net_kwh =
bought - sold`` (positive: net import) and ``amount = sum(bought x price) - sum(sold x price)`` (positive: the
party pays). ``delivered_kwh`` is the metered quantity reported for the interval, when every transaction of
it has a delivery. A party sees only its own position (463 otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from transactive.ei.ext import EiReplyPosition, EiRequestPosition, PositionInterval
from transactive.emix import Side
from transactive.protocol.errors import NotAuthorizedError
from transactive.services.context import Credentials, ServiceContext
from transactive.services.store import Store, TransactionRow

__all__ = ["Position", "position", "request_position"]


@dataclass(frozen=True, slots=True)
class Position:
    """A party's totals over a window, and the per-interval lines."""

    party_id: str
    bought_kwh: Decimal
    sold_kwh: Decimal
    amount: Decimal
    intervals: tuple[PositionInterval, ...]

    @property
    def net_kwh(self) -> Decimal:
        return self.bought_kwh - self.sold_kwh


def _line(start: datetime, duration: timedelta, rows: list[TransactionRow], store: Store) -> PositionInterval:
    bought = sum((r.quantity for r in rows if r.side is Side.BUY), Decimal(0))
    sold = sum((r.quantity for r in rows if r.side is Side.SELL), Decimal(0))
    amount = sum((r.amount if r.side is Side.BUY else -r.amount for r in rows), Decimal(0))
    deliveries = [store.delivery(r.transaction_id) for r in rows]
    delivered = None
    if all(d is not None for d in deliveries):
        delivered = sum((d.quantity for d in deliveries if d is not None), Decimal(0))
    return PositionInterval(dtstart=start, duration=duration, bought_kwh=bought, sold_kwh=sold,
                            net_kwh=bought - sold, amount=amount, delivered_kwh=delivered)


def position(store: Store, party_id: str, start: datetime, end: datetime) -> Position:
    """The position of ``party_id`` over ``[start, end)`` (pure arithmetic over the stored transactions)."""
    by_interval: dict[tuple[datetime, timedelta], list[TransactionRow]] = defaultdict(list)
    for row in store.transactions(party_id=party_id, start=start, end=end):
        by_interval[(row.interval_start, row.interval_duration)].append(row)
    lines = tuple(_line(s, d, rows, store) for (s, d), rows in sorted(by_interval.items()))
    return Position(party_id=party_id,
                    bought_kwh=sum((x.bought_kwh for x in lines), Decimal(0)),
                    sold_kwh=sum((x.sold_kwh for x in lines), Decimal(0)),
                    amount=sum((x.amount for x in lines), Decimal(0)),
                    intervals=lines)


def request_position(ctx: ServiceContext, msg: EiRequestPosition, auth: Credentials) -> EiReplyPosition:
    reg = ctx.authenticate(auth.token)
    if msg.party_id != reg.party_id:
        raise NotAuthorizedError("a party may only see its own position", field="ei:partyID")
    pos = position(ctx.store, reg.party_id, msg.dtstart, msg.dtstart + msg.duration)
    return EiReplyPosition(response=ctx.ok(msg.request_id), party_id=reg.party_id, currency=ctx.config.currency,
                           bought_kwh=pos.bought_kwh, sold_kwh=pos.sold_kwh, net_kwh=pos.net_kwh,
                           amount=pos.amount, intervals=pos.intervals)
