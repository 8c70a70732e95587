"""The fractal model: a microgrid's VTN is itself a VEN of the containing grid's VTN.

:func:`run_upstream` makes a running :class:`~transactive.services.VtnService` a party of a parent market
through the ordinary :class:`~transactive.ven.VenClient` (the same register → market context → tender →
transaction → delivery procedure a device VEN uses). After each local gate closure it tenders the
microgrid's **net unmatched position** upward as *one* tender: the unfilled kWh of the interval's buy
tenders minus the unfilled kWh of its sell tenders (what the local auction could not match; with reserve
prices this is the gate's ``grid_import - grid_export``), a buy if the microgrid is short and a sell if it
is long, for the same interval. Only that aggregate leaves the microgrid: the parent never sees the members.

Prices: the microgrid buys upward at most at its own ``grid_buy`` and sells at least at its own
``grid_sell`` (what its members would otherwise pay or be paid by the main grid, i.e. the local reserve
prices; without reserve prices the local ``max_price`` / ``min_price``), clipped into the parent's band and
snapped to the parent's price scale (buys down, sells up). The quantity is snapped down to the parent's
quantity scale; a net below the parent's minimum quantity is not tendered.

Timing: the gate times must nest — the parent's gate for an interval closes *after* the child's (a shorter
``gate_closure`` upstream), otherwise the parent refuses the tender (450) and the interval is skipped with
a log line. The child asks its service for newly cleared gates (so it needs no hook in the gate scheduler),
every tenth of its interval on the wall clock (at least 50 ms, at most 1 s).

Clock: parent and child must agree which interval is open. ``transactive vtn serve --parent URL`` therefore
runs the child on the parent's market time: it reads the parent's time mapping from its ``GET /health``
(``clock``) at start (see :class:`transactive.vtn.app.VtnApp`).

After the parent's transaction for an interval is agreed and the interval is over, the child reports its
delivery upward as the agreed quantity (the microgrid has no meter of its own at the boundary in this
reference implementation; the parent's settlement then proceeds as for any VEN).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from decimal import Decimal

from transactive.ei.cts.transaction import EiCreateTransaction, EiTransaction
from transactive.emix import Side, energy_block
from transactive.protocol.errors import RequestRefusedError
from transactive.protocol.identity import PartyIdentity
from transactive.protocol.market import MarketConfig
from transactive.services.service import VtnService
from transactive.transport.base import Subscription, Transport, TransportError
from transactive.ven.client import VenClient, discover_market_context

__all__ = ["run_upstream", "upstream_tender"]

log = logging.getLogger("transactive.vtn.fractal")


def upstream_tender(local: MarketConfig, parent: MarketConfig, net: Decimal) -> tuple[Side, Decimal, Decimal] | None:
    """(side, kWh, price) of the one tender for a net position at the parent, or None (nothing to send:
    balanced, or below the parent's minimum quantity)."""
    if net == 0:
        return None
    side = Side.BUY if net > 0 else Side.SELL
    kwh = parent.snap_quantity(abs(net))
    if kwh is None:
        return None
    band = local.band()
    return side, kwh, parent.snap_price(band.grid_buy if side is Side.BUY else band.grid_sell, side)


async def run_upstream(service: VtnService, config: MarketConfig, parent: Transport, party_id: str, *,
                       stop: asyncio.Event, poll: float | None = None, identity: PartyIdentity | None = None) -> None:
    """Act as ``party_id`` in the parent market until ``stop`` is set (see the module docstring); the service is
    looked at for closed gates every ``poll`` wall-clock seconds (default: a tenth of the interval, at least
    50 ms and at most 1 s — right for a market on real time; an accelerated one passes its own)."""
    client = VenClient(parent, party_id, identity=identity)
    parent_config = await client.market_context(await discover_market_context(client))
    await client.register()
    subscription = await client.notices()
    agreed: dict[str, EiTransaction] = {}
    reader = asyncio.create_task(_read(subscription, agreed))
    seen = {g.interval_start for g in service.cleared_gates(10_000)}
    if poll is None:
        poll = min(max(config.interval.total_seconds() / 10, 0.05), 1.0)
    try:
        while not stop.is_set():
            for gate in sorted(service.cleared_gates(16), key=lambda g: g.interval_start):
                if gate.interval_start in seen:
                    continue
                seen.add(gate.interval_start)
                await _send(client, config, parent_config, gate.interval_start,
                            service.net_position(gate.interval_start))
            await _deliver(client, agreed, service.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
    finally:
        await subscription.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, TransportError):
            await reader


async def _send(client: VenClient, local: MarketConfig, parent: MarketConfig, interval_start: datetime,
                net: Decimal) -> None:
    tender = upstream_tender(local, parent, net)
    if tender is None:
        return
    side, kwh, price = tender
    try:
        tender_id = await client.tender(interval_start, side, float(kwh), price,
                                        tender_id=f"net-{client.party_id}-{interval_start:%Y%m%dT%H%M%SZ}")
    except RequestRefusedError as error:
        log.warning("upstream tender for %s refused: %s", interval_start.isoformat(), error)
        return
    except TransportError as error:
        log.warning("upstream tender for %s not sent: %s", interval_start.isoformat(), error)
        return
    log.info("upstream %s %s kWh @ %s for %s (%s)", side.value, kwh, price, interval_start.isoformat(),
             tender_id)


async def _read(subscription: Subscription, agreed: dict[str, EiTransaction]) -> None:
    async for notice in subscription.follow():
        if isinstance(notice, EiCreateTransaction):
            for tx in notice.transactions:
                agreed.setdefault(tx.transaction_id, tx)


async def _deliver(client: VenClient, agreed: dict[str, EiTransaction], now: datetime) -> None:
    """Report the agreed quantity of each parent transaction whose interval is over."""
    for txid, tx in list(agreed.items()):
        try:
            block = energy_block(tx.item)
        except ValueError as error:
            log.warning("upstream transaction %s is not one block of energy: %s", txid, error)
            del agreed[txid]
            continue
        if now < block.end:
            continue
        try:
            await client.report_delivery(tx, block.quantity_kwh)
        except RequestRefusedError as error:
            if error.response_code == 450:  # the parent's clock is not past the interval yet
                continue
            log.warning("upstream delivery for %s refused: %s", txid, error)
        except TransportError as error:
            log.warning("upstream delivery for %s not sent: %s", txid, error)
            continue
        del agreed[txid]
