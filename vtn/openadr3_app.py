"""The OpenADR 3.1 role of ``transactive vtn serve``, on the VTN's store and market.

:func:`open_openadr3` makes the :class:`~transactive.services.openadr3.Oa3Service` over the VTN's store, the
clients and the token key (``DATA_DIR/openadr3-token.key``), and the **market bridge** (:class:`MarketBridge`):

- one program per market context (``programName`` the market context URI), made at the first start, with the
  payload descriptor of what its events carry: ``PRICE`` per kWh in the market's currency;
- every gate closure publishes the interval's price (the cleared price, or the main grid's where nothing cleared
  locally: :func:`~transactive.vtn.oadr_app.interval_price`) as a ``PRICE`` event of one interval, the delivery
  interval, asking (``reportDescriptors``) for a ``USAGE`` report of it in kWh; a price event is deleted a day
  after its interval (:data:`PRICE_RETENTION`: the gates keep the prices, and VENs report within the day);
- a VEN's ``USAGE`` report is metering, as ``eiCreateDelivery`` is for a CTS party: when the VEN's ``venName`` is
  a market party with transactions in the reported interval, the reported energy (kWh; Wh is converted; a
  negative value is energy the VEN put into the grid) becomes their deliveries, shared over them by their
  quantities, and settlement runs on them. A report for an interval without transactions of that party is kept
  as a report only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from transactive.errors import ProtocolError
from transactive.model.types import format_duration
from transactive.services.gate import GateResult
from transactive.services.openadr3 import (
    SYSTEM,
    Clients,
    Oa3Change,
    Oa3Error,
    Oa3Service,
    Tokens,
    event_end,
    load_token_key,
)
from transactive.services.openadr3.metering import meter_usage
from transactive.services.openadr3.tokens import TOKEN_KEY_FILE, TOKEN_LIFETIME, ExternalKeys
from transactive.services.service import VtnService
from transactive.services.store import Store, StoreError
from transactive.vtn.oadr_app import interval_price
from transactive.vtn.openadr3_http import Oa3Options

__all__ = ["Oa3Config", "MarketBridge", "keep_keys", "open_openadr3"]

log = logging.getLogger("transactive.vtn.openadr3")

#: how long after its interval the bridge keeps a price event
PRICE_RETENTION = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Oa3Config:
    """The OpenADR 3 flags of ``vtn serve``."""

    #: how long the VTN's access tokens are valid (seconds)
    token_lifetime: int = TOKEN_LIFETIME
    #: also accept the tokens of an outside identity provider, checked with the keys at this JWKS URL
    jwks_url: str | None = None
    #: the ``iss`` and ``aud`` the outside provider's tokens must carry (None: not checked)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    #: webhooks may go to loopback, private and link-local addresses (refused by default)
    webhooks_private: bool = False


async def keep_keys(keys: ExternalKeys, stop: asyncio.Event, *, ssl: Any = None) -> None:
    """Fetch the outside identity provider's keys now and every ``refresh_seconds`` (sooner, but at most every
    10 s, when a token named a key the set lacks) until ``stop``; a failed fetch is logged and tried again."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(ssl=ssl or True)) as session:
        while not stop.is_set():
            try:
                await keys.refresh(session)
                log.info("identity provider keys from %s: %d", keys.jwks_url, len(keys))
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("identity provider keys not fetched from %s: %s", keys.jwks_url, exc)
            waited = 0.0
            while not stop.is_set() and waited < keys.refresh_seconds and not (keys.wanted and waited >= 10):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                waited += 1.0


class MarketBridge:
    """The market's program, its PRICE events and USAGE metering (see the module docstring)."""

    def __init__(self, oa3: Oa3Service, vtn: VtnService, *, market_context: str, currency: str,
                 interval: timedelta, retention: timedelta = PRICE_RETENTION) -> None:
        """``retention``: how long after its interval a price event is kept (then the bridge deletes it)."""
        self.oa3 = oa3
        self.vtn = vtn
        self.market_context = market_context
        self.currency = currency
        self.interval = interval
        self.retention = retention
        self._tasks: set[asyncio.Task[Any]] = set()
        #: whether this process publishes the prices and prunes (of several processes on one store, the leader
        #: only: each would make its own PRICE event of an interval; :mod:`transactive.vtn.shared_objects`)
        self.leader = True

    def program(self) -> dict[str, Any]:
        """The market's program (made when missing)."""
        found = self.oa3.program_named(self.market_context)
        if found is not None:
            return found
        return self.oa3.create(SYSTEM, "programs", {
            "programName": self.market_context,
            "programLongName": f"transactive market {self.market_context}",
            # only the event payload: openadr3-client 2.4.2 cannot read a program that lists a report payload
            # descriptor (the specification allows it); each price event asks for the USAGE report instead
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE",
                                    "units": "KWH", "currency": self.currency}]})

    def publish_price(self, interval_start: datetime, price: Decimal) -> dict[str, Any]:
        """The PRICE event of one delivery interval."""
        program = self.program()
        start = interval_start.isoformat().replace("+00:00", "Z")
        return self.oa3.create(SYSTEM, "events", {
            "programID": program["id"],
            "eventName": f"price {start}",
            "intervalPeriod": {"start": start, "duration": format_duration(self.interval)},
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE",
                                    "units": "KWH", "currency": self.currency}],
            "reportDescriptors": [{"payloadType": "USAGE", "readingType": "DIRECT_READ", "units": "KWH",
                                   "historical": True}],
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [float(price)]}]}]})

    async def on_gate(self, result: GateResult) -> None:
        price = interval_price(result)
        if price is None or not self.leader:
            return
        try:
            event = self.publish_price(result.interval_start, price)
        except (Oa3Error, StoreError) as exc:
            log.warning("OpenADR 3 price event for %s not published: %s", result.interval_start.isoformat(), exc)
            return
        log.info("OpenADR 3 price event %s: %s %s/kWh for %s", event["id"], price, self.currency,
                 result.interval_start.isoformat())
        try:
            self.prune(result.interval_start - self.retention)
        except (Oa3Error, StoreError) as exc:  # tried again at the next gate
            log.warning("OpenADR 3 price events before %s not deleted: %s", result.interval_start.isoformat(), exc)

    def prune(self, before: datetime) -> int:
        """Delete the bridge's price events whose interval ended before ``before`` (the gates keep the prices; the
        VENs no longer need them, and every search would otherwise walk a month of them); how many went."""
        gone = 0
        for event in self.oa3.events_of(str(self.program()["id"])):
            start = (event.get("intervalPeriod") or {}).get("start")
            end = event_end(event)
            if event.get("eventName") == f"price {start}" and end is not None and end <= before:
                self.oa3.delete(SYSTEM, "events", str(event["id"]))
                gone += 1
        return gone

    # ---- USAGE reports as metering ----

    def on_change(self, change: Oa3Change) -> None:
        if change.object_type != "REPORT" or change.operation == "DELETE":
            return
        try:
            settled = self.meter(change.object)
        except (StoreError, Oa3Error, ProtocolError) as exc:
            log.warning("USAGE report %s not metered: %s", change.object.get("id"), exc)
            return
        settlement = self.vtn.settlement
        if settlement is None:
            return
        for transaction_id in settled:
            task = asyncio.get_running_loop().create_task(settlement.on_delivery(transaction_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def meter(self, report: dict[str, Any]) -> list[str]:
        """Record the report's USAGE as deliveries of the VEN's transactions; the ids of those recorded."""
        recorded = meter_usage(self.oa3, report, self.interval)
        if recorded:
            log.info("USAGE report %s: %d deliveries", report["id"], len(recorded))
        return recorded


def open_openadr3(vtn: VtnService, store: Store, data_dir: Path, *, wall: Callable[[], datetime],
                  market_time: Callable[[], datetime], operator_token: str | None, market_context: str,
                  currency: str, interval: timedelta, read_only: str | None = None,
                  config: Oa3Config | None = None) -> Oa3Options:
    """The OpenADR 3 role over the VTN's store; with a writable VTN, the market bridge watches the gates."""
    service = Oa3Service(store, wall=wall, now=market_time, read_only=read_only)
    clients = Clients(store, wall=wall)
    try:
        key = load_token_key(data_dir / TOKEN_KEY_FILE, create=read_only is None)
    except FileNotFoundError:  # read-only without a key: tokens of this run only (nothing is written anyway)
        key = Ed25519PrivateKey.generate()
    config = config or Oa3Config()
    external = None if config.jwks_url is None else ExternalKeys(config.jwks_url, issuer=config.jwt_issuer,
                                                                 audience=config.jwt_audience)
    tokens = Tokens(clients, key, lifetime=config.token_lifetime, external=external)
    bridge = None
    if read_only is None:
        bridge = MarketBridge(service, vtn, market_context=market_context, currency=currency, interval=interval)
        bridge.program()
        vtn.watch_gates(bridge.on_gate)
        service.listen(bridge.on_change)
    return Oa3Options(service, clients, tokens, operator_token, bridge=bridge)
