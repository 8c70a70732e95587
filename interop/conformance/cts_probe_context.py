"""What the CTS suite's cases share: the suite itself, the kit's party (:class:`CtsProbe`: its id, key, token,
the market it learned, the tenders it has open) and the steps several cases need — learn the market context,
register — done once and kept.

A case that needs an earlier step (a tender needs the registration) runs it when it has not been run (a
``--cases`` selection); when that step fails, the case is skipped saying why, and the failure belongs to the
case that checks that step. What the kit learns from a reply (the market's rules, a token) is kept even when
the same reply breaks a rule, so one broken answer does not hide every later case.

Safety (the kit may be pointed at a production market): the party is the kit's own (``conformance-<random>``
unless ``--party`` names one), its only tender is the market's smallest quantity, bought at the market's lowest
price for an interval days ahead (its gate far from closing), cancelled at once; :meth:`CtsProbe.cleanup`
withdraws whatever is still open and cancels the registration, whatever happened.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from transactive.ei.cts.market_context import EiReplyEiMarketContext, EiRequestEiMarketContext
from transactive.ei.cts.registration import (
    EiCanceledPartyRegistration,
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
)
from transactive.ei.cts.tender import EiCancelTender, EiCreateTender, EiTender
from transactive.ei.ext import TxReplyEiMarketContext
from transactive.emix import Side, energy_tender_product
from transactive.errors import TransactiveError
from transactive.interop.conformance.checks import fail
from transactive.interop.conformance.cts_probe_rules import EXCHANGE_PATTERN, REGISTRATION, RULE_MARKET_CONTEXT
from transactive.interop.conformance.cts_probe_wire import Answer, CtsWire, expect_reply, read_document
from transactive.interop.conformance.model import CaseFailed, CaseSkipped, Standard
from transactive.interop.conformance.suite import Suite
from transactive.protocol.identity import PartyIdentity
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import reply_response
from transactive.transport.base import TransportError

_log = logging.getLogger("transactive.conformance")

__all__ = ["DISCOVERY_GUESS", "SUITE", "CtsProbe", "Market", "MarketReply", "cancel_checked", "ensure_market",
           "ensure_registered", "read_market", "register"]

#: the market context asked about when none is given (a transactive VTN's refusal names the one it runs)
DISCOVERY_GUESS = "urn:transactive:conformance:which-market"
_RUNS = re.compile(r"this VTN runs (?P<uri>\S+), not ")
#: the answers to a market context request: the standard one, or transactive's with the market's rules
MarketReply = TxReplyEiMarketContext | EiReplyEiMarketContext


@dataclass(frozen=True, slots=True)
class Market:
    """The market the kit learned: its context URI and, when the reply carried them, its rules."""

    context: str
    config: MarketConfig | None = None

    @property
    def party_id(self) -> str | None:
        return self.config.market_party_id if self.config is not None else None


class CtsProbe:
    """The kit's party against one CTS VTN."""

    def __init__(self, wire: CtsWire, party: str, identity: PartyIdentity, *, market_context: str | None = None
                 ) -> None:
        self.wire = wire
        self.party = party
        self.identity = identity
        self.market_context = market_context
        self.market: Market | None = None
        self.token: str | None = None
        self.registration_id: str | None = None
        self.registrar: str | None = None
        #: the registration request as sent (its id and body), for the case that sends it again
        self.registration_sent: tuple[str, bytes] | None = None
        #: tenders the kit created and has not seen cancelled
        self.open_tenders: list[str] = []
        self._run = uuid.uuid4().hex[:8]
        self._count = 0

    def new_request_id(self) -> str:
        self._count += 1
        return f"{self.party}-{self._run}-{self._count:04d}"

    def counter_party(self) -> str | None:
        """The market's party id: from its rules, else the registrar that answered the registration."""
        return (self.market.party_id if self.market is not None else None) or self.registrar

    def sign(self, body: bytes) -> str | None:
        """The ``Signature`` of a registration body for this market (None: the market named no party id)."""
        audience = self.counter_party()
        if audience is None:
            return None
        return self.identity.request_signature(body, audience=audience, created=int(time.time()))

    # -- the safe tender ----------------------------------------------------------------------------

    def config(self) -> MarketConfig:
        config = self.market.config if self.market is not None else None
        if config is None:
            raise CaseSkipped("the market context carries no market rules (interval grid, quantity and price "
                              "limits): the kit cannot build a tender it knows will not trade")
        return config

    def safe_interval(self) -> datetime:
        """An interval days ahead, on the market's grid, within its horizon: its gate is far from closing."""
        config = self.config()
        ahead = min(config.horizon / 2, timedelta(days=2))
        start = config.interval_containing(datetime.now(UTC) + ahead)
        return max(start, config.next_open_interval(datetime.now(UTC)) + config.interval)

    def safe_tender(self, tender_id: str) -> EiCreateTender:
        """A buy of the market's smallest quantity at its lowest price, for an interval whose gate closes days
        later: only a sell at that very price could meet it, and the kit withdraws it long before."""
        config = self.config()
        counter = self.counter_party()
        product = energy_tender_product(side=Side.BUY, quantity_kwh=float(config.min_quantity_kwh),
                                        price=config.min_price, currency=config.currency,
                                        market_context=config.market_context, dtstart=self.safe_interval(),
                                        duration=config.interval, uid=tender_id)
        return EiCreateTender(request_id=self.new_request_id(), party_id=self.party, counter_party_id=counter,
                              tenders=(EiTender(tender_id=tender_id, item=product),))

    # -- cleaning up --------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        """Withdraw the kit's open tenders and cancel its registration. A failure does not change the report
        (the cases have run) but is logged, naming what may be left at the VTN."""
        if self.token is None:
            return
        try:
            if self.open_tenders:
                await self.wire.send(EiCancelTender(request_id=self.new_request_id(), party_id=self.party,
                                                    counter_party_id=self.counter_party(),
                                                    tender_ids=tuple(self.open_tenders)), token=self.token)
                self.open_tenders.clear()
            if self.registration_id is not None:
                await self.cancel_registration()
        except (TransportError, TransactiveError, CaseFailed, ValueError) as exc:
            left = [f"tender {t}" for t in self.open_tenders] + ([f"registration {self.registration_id}"]
                                                                  if self.registration_id else [])
            _log.warning("conformance probe: cleaning up at the VTN failed (%s); may be left there: %s", exc,
                         ", ".join(left) or "nothing")

    async def cancel_registration(self) -> tuple[str, Answer]:
        registrar = self.registrar or self.counter_party() or "market"
        request = EiCancelPartyRegistration(request_id=self.new_request_id(), registree_party_id=self.party,
                                            registrar_party_id=registrar,
                                            registration_ids=(self.registration_id or "none",))
        answer = await self.wire.send(request, token=self.token)
        self.registration_id = None
        return request.request_id, answer


#: the suite; the cases are registered by :mod:`.cts_vtn_market`, :mod:`.cts_vtn_trade`, :mod:`.cts_vtn_general`
SUITE: Suite[CtsProbe] = Suite(Standard.CTS, "vtn", "the kit plays a CTS party against a CTS VTN (market)")


# ---- steps several cases need -------------------------------------------------------------------------


async def _discover(ctx: CtsProbe) -> str:
    request = EiRequestEiMarketContext(request_id=ctx.new_request_id(), market_contexts=(DISCOVERY_GUESS,),
                                       party_id=ctx.party)
    answer = await ctx.wire.send(request, label="eiRequestEiMarketContext for an unknown context (discovery)")
    message = read_document(answer, "the answer about an unknown market context")
    response = reply_response(message)
    if response is not None and response.ok:
        return DISCOVERY_GUESS
    match = _RUNS.search(response.response_description or "") if response is not None else None
    if match is None:
        raise CaseSkipped("CTS has no discovery of the market context and the VTN did not name the one it runs: "
                          "give the market context URI")
    return match["uri"]


async def read_market(ctx: CtsProbe) -> tuple[Market, MarketReply]:
    """Ask for the market context (found first when not given); keep what the reply teaches, then check it."""
    uri = ctx.market_context or await _discover(ctx)
    request = EiRequestEiMarketContext(request_id=ctx.new_request_id(), market_contexts=(uri,), party_id=ctx.party)
    answer = await ctx.wire.send(request)
    what = "the market context reply"
    message = read_document(answer, what)
    response = reply_response(message)
    if isinstance(message, TxReplyEiMarketContext) and response is not None and response.ok:
        try:
            ctx.market = Market(uri, MarketConfig.from_reply(message))
        except (ValueError, TypeError) as exc:
            ctx.market = Market(uri)
            fail(RULE_MARKET_CONTEXT, f"{what}: its market rules do not read: {exc}")
    elif isinstance(message, EiReplyEiMarketContext) and response is not None and response.ok:
        ctx.market = Market(uri)
    expect_reply(answer, request.request_id, type(message), RULE_MARKET_CONTEXT, what)
    if not isinstance(message, TxReplyEiMarketContext | EiReplyEiMarketContext):
        fail(EXCHANGE_PATTERN, f"{what}: answered with {type(message).__tag__}, expected eiReplyEiMarketContext")
    assert ctx.market is not None
    return ctx.market, message


async def register(ctx: CtsProbe) -> EiCreatedPartyRegistration:
    """Register the kit's party (signed for the market when its party id is known); keep the token."""
    request = EiCreatePartyRegistration(request_id=ctx.new_request_id(), registree_party_id=ctx.party)
    body = ctx.wire.encode(request)
    ctx.registration_sent = (request.request_id, body)
    answer = await ctx.wire.post("eiCreatePartyRegistration", body, signature=ctx.sign(body), token=None)
    what = "the registration reply"
    reply = expect_reply(answer, request.request_id, EiCreatedPartyRegistration, REGISTRATION, what)
    if reply.registration_id:
        ctx.token = ctx.registration_id = reply.registration_id
        ctx.registrar = reply.registrar_party_id
    if not reply.registration_id:
        fail(REGISTRATION, f"{what}: eiCreatedPartyRegistration without an ei:registrationID")
    if not reply.registrar_party_id:
        fail(REGISTRATION, f"{what}: eiCreatedPartyRegistration without an ei:registrarPartyID")
    return reply


async def ensure_market(ctx: CtsProbe) -> Market:
    if ctx.market is not None:
        return ctx.market
    try:
        return (await read_market(ctx))[0]
    except CaseFailed as exc:
        if ctx.market is not None:
            return ctx.market
        raise CaseSkipped(f"needs the market context, which could not be read: {exc.detail}") from None


async def ensure_registered(ctx: CtsProbe) -> str:
    """The kit's token, registering first when needed."""
    await ensure_market(ctx)
    if ctx.token is not None:
        return ctx.token
    try:
        await register(ctx)
    except CaseFailed as exc:
        if ctx.token is None:
            raise CaseSkipped(f"needs a registration, which failed: {exc.detail}") from None
    assert ctx.token is not None
    return ctx.token


async def cancel_checked(ctx: CtsProbe) -> EiCanceledPartyRegistration:
    request_id, answer = await ctx.cancel_registration()
    reply = expect_reply(answer, request_id, EiCanceledPartyRegistration, REGISTRATION,
                         "the reply to the registration's cancellation")
    ctx.token = None
    return reply
