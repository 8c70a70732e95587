"""``VenClient``: a VEN's side of the transactive services, over any :class:`~transactive.transport.Transport`.

Each method is one request/reply round trip; the reply's ``ei:eiResponse`` is checked and a refusal raises
:class:`~transactive.protocol.RequestRefusedError` with the VTN's code and field. Request ids are unique
(``<party>-<uuid>``) unless a ``request_ids`` factory is injected; resend after a transport error with the
same id (``retry_same=``) to get the same answer, never a duplicate. Multi-step procedures are small async
functions over the client (:func:`join_market`, :func:`tender_and_wait`).

>>> client = VenClient(transport, "pv-17")          # doctest: +SKIP
>>> await client.register(); cfg = await client.market_context()
>>> tid = await client.tender(cfg.next_open_interval(now), "sell", 2.5, "0.12")
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from transactive.ei.cts.delivery import EiCreatedDelivery, EiCreateDelivery, EiDelivery
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.quote import EiQuote, EiReplyQuote, EiRequestQuote
from transactive.ei.cts.registration import (
    EiCanceledPartyRegistration,
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
)
from transactive.ei.cts.tender import (
    EiCanceledTender,
    EiCancelTender,
    EiCreatedTender,
    EiCreateTender,
    EiReplyTender,
    EiRequestTender,
    EiTender,
)
from transactive.ei.cts.transaction import EiCreateTransaction, EiReplyTransaction, EiRequestTransaction, EiTransaction
from transactive.ei.ext import EiReplyPosition, EiRequestPosition, TxReplyEiMarketContext
from transactive.emix import (
    Delivery,
    PriceLike,
    Side,
    TemixPower,
    energy_block,
    energy_stream_product,
    energy_tender_product,
    kwh,
)
from transactive.errors import FieldError, InvalidMessageError
from transactive.model import Model
from transactive.protocol.clock import Clock, system_clock
from transactive.protocol.errors import ForgedNoticeError, NotAuthorizedError, RequestRefusedError
from transactive.protocol.identity import PartyIdentity, PartyKey
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import check_reply, reply_response
from transactive.transport.base import Subscription, Transport, TransportTimeoutError

__all__ = ["VenClient", "discover_market_context", "join_market", "tender_and_wait"]


M = TypeVar("M", bound=Model)


def _expect(reply: Model, cls: type[M]) -> M:
    """Check the reply's response, then its type."""
    check_reply(reply)
    if not isinstance(reply, cls):
        raise InvalidMessageError(f"expected {cls.__tag__} in reply, got {type(reply).__tag__}")
    return reply


class VenClient:
    """One party's client. ``token`` is the bearer token from registration (set by :meth:`register`).

    ``identity`` is the party's key: registration is signed with it, and the VTN binds the party id to it for
    good, so keep it (:func:`~transactive.protocol.identity.load_or_create_identity`) to come back as the same
    party; a client without one makes a new Ed25519 key (a party that lives as long as the client). Notices
    are accepted only when the VTN's key verifies them: ``vtn_key`` pins that key (``ed25519:...``); without
    it the key the market rules publish is used (learned over the same connection: pin it, or use TLS)."""

    def __init__(self, transport: Transport, party_id: str, *, token: str | None = None,
                 request_ids: Callable[[], str] | None = None, identity: PartyIdentity | None = None,
                 vtn_key: str | None = None, wall: Clock = system_clock) -> None:
        self.transport = transport
        self.party_id = party_id
        self.token = token
        self.registrar: str | None = None
        self.config: MarketConfig | None = None
        self.identity = identity if identity is not None else PartyIdentity.generate()
        self.vtn_key = PartyKey.from_keyid(vtn_key) if vtn_key is not None else None
        self._wall = wall
        self._request_ids = request_ids or (lambda: f"{party_id}-{uuid.uuid4().hex}")

    def new_request_id(self) -> str:
        return self._request_ids()

    async def send(self, message: Model) -> Model:
        """Send any request with this client's token and return the (unchecked) reply."""
        return await self.transport.request(message, token=self.token)

    # -- registration and market context --------------------------------------------------------------

    async def register(self, *, request_id: str | None = None) -> str:
        """Register with the VTN, the request signed with this party's key for this market (asked for first
        when not known yet: the signature names the VTN it is meant for); keeps and returns the token (the
        registration id). A party whose key the VTN knows gets its registration back."""
        if self.config is None:
            await self.market_context(await discover_market_context(self))
        audience = self._market().market_party_id
        msg = EiCreatePartyRegistration(request_id=request_id or self.new_request_id(),
                                        registree_party_id=self.party_id)

        def sign(body: bytes) -> str:
            return self.identity.request_signature(body, audience=audience, created=int(self._wall().timestamp()))

        reply = _expect(await self.transport.request(msg, token=self.token, sign=sign), EiCreatedPartyRegistration)
        if reply.registration_id is None:
            raise InvalidMessageError("the registration reply carries no registration id")
        self.token = reply.registration_id
        self.registrar = reply.registrar_party_id
        return self.token

    async def unregister(self) -> None:
        """Cancel the registration (the VTN cancels the party's open tenders)."""
        if self.token is None or self.registrar is None:
            raise NotAuthorizedError("not registered", field="ei:registrationID")
        msg = EiCancelPartyRegistration(request_id=self.new_request_id(), registree_party_id=self.party_id,
                                        registrar_party_id=self.registrar, registration_ids=(self.token,))
        _expect(await self.send(msg), EiCanceledPartyRegistration)
        self.token = None

    async def market_context(self, market_context: str | None = None) -> MarketConfig:
        """Ask for the market context (public); keeps and returns it as a :class:`MarketConfig`."""
        uri = market_context or (self.config.market_context if self.config else None)
        if uri is None:
            raise ValueError("name the market context the first time")
        msg = EiRequestEiMarketContext(request_id=self.new_request_id(), market_contexts=(uri,),
                                       party_id=self.party_id)
        reply = _expect(await self.send(msg), TxReplyEiMarketContext)
        self.config = MarketConfig.from_reply(reply)
        return self.config

    def _market(self) -> MarketConfig:
        if self.config is None:
            raise ValueError("call market_context() first")
        return self.config

    # -- tenders ----------------------------------------------------------------------------------------

    async def submit(self, tenders: Sequence[EiTender], *, request_id: str | None = None) -> tuple[str, ...]:
        """Send ready-made tenders in one ``eiCreateTender``; returns the accepted tender ids."""
        msg = EiCreateTender(request_id=request_id or self.new_request_id(), party_id=self.party_id,
                             counter_party_id=self._market().market_party_id, tenders=tuple(tenders))
        return _expect(await self.send(msg), EiCreatedTender).tender_ids

    async def tender(self, interval_start: datetime, side: Side | str, quantity_kwh: float, price: PriceLike,
                     *, tender_id: str | None = None, request_id: str | None = None) -> str:
        """Offer to buy or sell ``quantity_kwh`` in one interval at ``price`` per kWh; returns the tender id."""
        cfg = self._market()
        tender_id = tender_id or f"tender-{uuid.uuid4().hex}"
        product = energy_tender_product(side=side, quantity_kwh=quantity_kwh, price=price, currency=cfg.currency,
                                        market_context=cfg.market_context, dtstart=interval_start,
                                        duration=cfg.interval, uid=tender_id)
        await self.submit([EiTender(tender_id=tender_id, item=product)], request_id=request_id)
        return tender_id

    async def tender_stream(self, start: datetime, side: Side | str, quantities_kwh: Sequence[float],
                            prices: Sequence[PriceLike] | PriceLike, *, tender_id: str | None = None,
                            request_id: str | None = None) -> str:
        """One tender over consecutive intervals from ``start`` (one quantity and price per interval)."""
        cfg = self._market()
        tender_id = tender_id or f"tender-{uuid.uuid4().hex}"
        product = energy_stream_product(side=side, quantities_kwh=quantities_kwh, prices=prices,
                                        currency=cfg.currency, market_context=cfg.market_context, dtstart=start,
                                        interval=cfg.interval, uid=tender_id)
        await self.submit([EiTender(tender_id=tender_id, item=product)], request_id=request_id)
        return tender_id

    async def cancel(self, *tender_ids: str) -> None:
        """Withdraw tenders (their open intervals)."""
        msg = EiCancelTender(request_id=self.new_request_id(), party_id=self.party_id,
                             counter_party_id=self._market().market_party_id, tender_ids=tender_ids)
        _expect(await self.send(msg), EiCanceledTender)

    async def tenders(self, *tender_ids: str) -> tuple[EiTender, ...]:
        """The party's tenders as accepted (all, or those named)."""
        msg = EiRequestTender(request_id=self.new_request_id(), party_id=self.party_id,
                              requestor_party_id=self.party_id, tender_ids=tender_ids)
        return _expect(await self.send(msg), EiReplyTender).tenders

    # -- transactions, notices, deliveries, positions, quotes -------------------------------------------

    async def transactions(self, *transaction_ids: str) -> tuple[EiTransaction, ...]:
        """The party's transactions (all, or those named)."""
        msg = EiRequestTransaction(request_id=self.new_request_id(), party_id=self.party_id,
                                   requestor_party_id=self.party_id, transaction_ids=transaction_ids)
        return _expect(await self.send(msg), EiReplyTransaction).transactions

    def notice_key(self) -> PartyKey | None:
        """The key the VTN's notices must verify with: the pinned one, else the market's published one (None:
        the market signs nothing, and no key was pinned). A pinned key the market contradicts is refused."""
        published = self.config.signing_key if self.config is not None else None
        if self.vtn_key is not None:
            if published is not None and published != self.vtn_key.keyid:
                raise ForgedNoticeError("the market publishes another signing key than the one pinned (vtn_key)",
                                        errors=[FieldError("tx:signingKey", "not the pinned key")])
            return self.vtn_key
        return PartyKey.from_keyid(published) if published is not None else None

    async def notices(self) -> Subscription:
        """Subscribe to the party's notices (``eiCreateTransaction``, ``eiCreateQuote``); those not signed by
        the VTN's key (:meth:`notice_key`) are refused by the subscription, never delivered."""
        return await self.transport.subscribe(self.party_id, token=self.token, notice_key=self.notice_key())

    async def report_delivery(self, transaction: EiTransaction | str, quantity_kwh: float, *,
                              request_id: str | None = None) -> EiDelivery:
        """Report the metered kWh for one transaction (``emix:uid`` = transaction id)."""
        if isinstance(transaction, str):
            found = await self.transactions(transaction)
            transaction = found[0]
        try:
            block = energy_block(transaction.item)
        except ValueError as error:
            raise InvalidMessageError(f"transaction {transaction.transaction_id}: {error}") from None
        delivery = Delivery(dtstart=block.start, duration=block.duration, uid=transaction.transaction_id,
                            injection=block.side is Side.SELL,
                            payload=TemixPower(energy_item=kwh(), quantity=quantity_kwh))
        msg = EiCreateDelivery(request_id=request_id or self.new_request_id(), requestor_party_id=self.party_id,
                               deliveries=(delivery,))
        return _expect(await self.send(msg), EiCreatedDelivery).deliveries[0]

    async def position(self, start: datetime, end: datetime) -> EiReplyPosition:
        """The party's position over ``[start, end)`` (**extension** ``tx:eiRequestPosition``)."""
        msg = EiRequestPosition(request_id=self.new_request_id(), party_id=self.party_id, dtstart=start,
                                duration=end - start)
        return _expect(await self.send(msg), EiReplyPosition)

    async def quotes(self) -> tuple[EiQuote, ...]:
        """The market's latest quote (the last clearing price)."""
        msg = EiRequestQuote(request_id=self.new_request_id(), requestor_party_id=self.party_id,
                             publisher_party_id=self._market().market_party_id)
        return _expect(await self.send(msg), EiReplyQuote).quotes


# ---- multi-step procedures ------------------------------------------------------------------------


async def join_market(transport: Transport, party_id: str, market_context: str, *,
                      identity: PartyIdentity | None = None) -> VenClient:
    """Read the market context, then register (signed for that market): a client ready to tender."""
    client = VenClient(transport, party_id, identity=identity)
    await client.market_context(market_context)
    await client.register()
    return client


_RUNS = re.compile(r"this VTN runs (?P<uri>\S+), not ")


async def discover_market_context(client: VenClient, guess: str = "urn:transactive:discover") -> str:
    """The VTN's market context URI when it is not known: ask about ``guess`` and, if the VTN says which
    context it runs instead (its 452 refusal names it), take that one. An **extension** of the procedure:
    CTS has no discovery of the market context."""
    msg = EiRequestEiMarketContext(request_id=client.new_request_id(), market_contexts=(guess,),
                                   party_id=client.party_id)
    reply = await client.send(msg)
    response = reply_response(reply)
    if response is None or response.ok:
        return guess
    match = _RUNS.search(response.response_description or "")
    if match is None:
        raise RequestRefusedError("the VTN did not name its market context; pass it explicitly",
                                  response_code=int(response.response_code), reply=reply)
    return match["uri"]


async def tender_and_wait(client: VenClient, subscription: Subscription, interval_start: datetime,
                          side: Side | str, quantity_kwh: float, price: PriceLike, *,
                          timeout: float = 5.0) -> tuple[EiTransaction, ...]:
    """Tender for one interval, then wait for the notice of that interval's transactions for the tender
    (empty if the notices seen before ``timeout`` do not mention it: not matched)."""
    tender_id = await client.tender(interval_start, side, quantity_kwh, price)
    try:
        while True:
            notice = await subscription.get(timeout)
            if isinstance(notice, EiCreateTransaction):
                mine = tuple(t for t in notice.transactions if t.tender_id == tender_id)
                if mine:
                    return mine
    except TransportTimeoutError:
        return ()

