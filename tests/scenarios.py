"""Scenarios shared by the transport tests: the same market flow over memory, HTTP and MQTT.

Each transport's end-to-end test builds its VTN and client transport, calls :func:`three_ven_trade`, then
checks what is particular to that transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from transactive.ei.cts.quote import EiCreateQuote
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.ledger.settlement import State
from transactive.services import ManualClock, MarketConfig, Settlement, VtnService
from transactive.transport import Subscription, Transport
from transactive.ven import VenClient, join_market

QUARTER = timedelta(minutes=15)


@dataclass
class TradeOutcome:
    interval: datetime
    vens: dict[str, VenClient]
    subscriptions: dict[str, Subscription]
    transactions: dict[str, Any]


async def three_ven_trade(
    transport: Transport,
    service: VtnService,
    settlement: Settlement,
    config: MarketConfig,
    clock: ManualClock,
    *,
    market: str,
    interval: datetime,
    notice_timeout: float = 2.0,
) -> TradeOutcome:
    """Two PV sellers and a home trade one interval: register, read the market context, tender, gate closure,
    each party's transaction notice and the quote pushed to it, metered delivery, settlement to PAID, positions.

    The worked example: pv-1 sells 3 kWh at 0.10, pv-2 2 kWh at 0.14, home-1 buys 4 kWh at 0.20; uniform
    price 0.17, fills 3, 1 and 4; the home pays 0.68.
    """
    vens = {p: await join_market(transport, p, market) for p in ("pv-1", "pv-2", "home-1")}
    assert vens["pv-1"].config == config
    clock.set(interval - timedelta(minutes=10))
    assert config.next_open_interval(clock()) == interval
    subs = {p: await c.notices() for p, c in vens.items()}

    await vens["pv-1"].tender(interval, "sell", 3.0, "0.10")
    await vens["pv-2"].tender(interval, "sell", 2.0, "0.14")
    await vens["home-1"].tender(interval, "buy", 4.0, "0.20")
    assert len(await vens["pv-1"].tenders()) == 1
    clock.set(config.gate_time(interval))
    result = await service.close_gate(interval)  # what the gate scheduler does at the gate time
    assert len(result.transactions) == 3

    got = {}
    for party, sub in subs.items():  # pushed to each party: no request is sent to read them
        notice = await sub.get(timeout=notice_timeout)
        assert isinstance(notice, EiCreateTransaction)
        assert notice.counter_party_id == party
        got[party] = notice.transactions
        quote = await sub.get(timeout=notice_timeout)
        assert isinstance(quote, EiCreateQuote)
        assert quote.subscriber_party_id == party
    assert {p: [t.item.payload.quantity for t in txs] for p, txs in got.items()} == {
        "pv-1": [3.0], "pv-2": [1.0], "home-1": [4.0]}

    clock.set(interval + QUARTER + timedelta(minutes=1))
    for party, metered in (("pv-1", 3.0), ("pv-2", 1.0), ("home-1", 4.0)):
        echoed = await vens[party].report_delivery(got[party][0], metered)
        assert echoed.delivery_id.startswith("dlv-")
    for txs in got.values():
        assert settlement.state(txs[0].transaction_id) is State.PAID

    positions = {p: await c.position(interval, interval + QUARTER) for p, c in vens.items()}
    assert sum(x.net_kwh for x in positions.values()) == 0
    assert sum(x.amount for x in positions.values()) == 0
    assert positions["home-1"].amount == Decimal("0.68")
    return TradeOutcome(interval, vens, subs, got)
