"""``VtnService``: the async shell every VTN transport drives (HTTP, MQTT, in-memory).

It adds to :class:`~.core.VtnCore` what needs awaiting or fan-out, and nothing that touches a socket:

* :meth:`VtnService.answer` — the reply to a request (errors become error replies); after an accepted
  ``eiCreateDelivery`` it runs the settlement steps, so they are durable before the reply is returned;
* **group commit**: requests that write (registrations, tenders, deliveries; ``core.MUTATING``) and arrive
  together — handled in the same turn of the event loop — are written in one store transaction with one
  fsync (:meth:`VtnCore.handle_many`), each in its own savepoint; every one of them is answered after that
  commit, so an acknowledged request is durable exactly as before, only many share the cost of the disk;
* :meth:`VtnService.close_gate` — clears an interval (once), anchors its transactions on the ledger (by
  concurrent workers, so the ledger can group-commit them), then sends each party its ``eiCreateTransaction``
  notice and every registered party the quote (``eiCreateQuote``);
* what a transport needs besides answering: :meth:`~VtnService.error_reply` (for a document that never
  became a request), :meth:`~VtnService.authorize` and :meth:`~VtnService.party_of` (tokens); and what the
  VTN application reads (:meth:`~VtnService.overdue_intervals`, :meth:`~VtnService.anchor_pending`,
  :meth:`~VtnService.cleared_gates`, :meth:`~VtnService.net_position`, :meth:`~VtnService.store_ok`): the edge
  never reaches into the store;
* :meth:`VtnService.listen` — register ``callback(party_id, message)`` for outgoing notices; a transport
  turns them into MQTT publications, HTTP pushes or in-memory queues.

Storage faults: when the store or the ledger cannot write (a full disk, an I/O error, a file locked past
its timeout) a request is answered with :class:`StorageUnavailableError` — EI code **503**, a description
that names the part (``store``, ``ledger``) and the cause — instead of an internal error; nothing it did
not acknowledge is half written (see :mod:`.store`). The failing part is remembered in :attr:`VtnService.faults`
(what ``GET /health`` reports) and forgotten when a write to it succeeds again: the next request or gate,
or the probe (one small durable write, at most once a second per part) that :meth:`storage_faults` makes
while a part is failing. ``read_only`` (``vtn serve --read-only``) answers reads and refuses every writing
request with 503.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from transactive.ei.cts.delivery import EiCreateDelivery
from transactive.ei.cts.registration import (
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
)
from transactive.errors import ProtocolError
from transactive.ledger import LedgerUnavailableError
from transactive.model import Model
from transactive.protocol.clock import Clock, system_clock
from transactive.protocol.identity import KeyProof, PartyIdentity, verify_request
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import reply_response
from transactive.services.batching import TurnBatcher
from transactive.services.context import ANONYMOUS, Credentials
from transactive.services.core import MUTATING, VtnCore
from transactive.services.gate import GateResult
from transactive.services.settlement import Settlement
from transactive.services.store import GateRow, Registration, StoreUnavailableError

__all__ = ["STORAGE_UNAVAILABLE", "NoticeListener", "RegistrationWatcher", "StorageUnavailableError", "VtnService"]

#: ``callback(party_id, notice)``; may be async
NoticeListener = Callable[[str, Model], Awaitable[None] | None]
#: ``callback(party_id, token)`` on a registration (``token`` None: cancelled); may be async
RegistrationWatcher = Callable[[str, str | None], Awaitable[None] | None]

#: the EI response code of a request the VTN could not serve because its storage failed (HTTP's 503: Energy
#: Interoperation's codes outside 450-469 follow HTTP); HTTP sends it with status 503 too
STORAGE_UNAVAILABLE = 503
#: a failing part is probed at most this often (seconds); a ledger probe waits at most PROBE_TIMEOUT
PROBE_INTERVAL = 1.0
PROBE_TIMEOUT = 1.0


class StorageUnavailableError(ProtocolError):
    """The VTN could not serve a request because its storage failed (``part``: ``"store"`` or ``"ledger"``)
    or because it runs read-only: EI 503. Not the request's fault; the same request may succeed later."""

    def __init__(self, message: str, *, part: str) -> None:
        super().__init__(message, response_code=STORAGE_UNAVAILABLE)
        self.part = part


@runtime_checkable
class _Probed(Protocol):
    """A ledger that can check its writes (the embedded one); others recover on their next write."""

    async def probe(self) -> None: ...


class VtnService:
    """A :class:`VtnCore` plus settlement and notice fan-out."""

    def __init__(self, core: VtnCore, *, settlement: Settlement | None = None, group_commit: bool = True,
                 identity: PartyIdentity | None = None, wall: Clock = system_clock,
                 read_only: str | None = None) -> None:
        """``identity`` is the VTN's key: it signs the notices and must be the key the market rules publish
        (``MarketConfig.signing_key``; without an identity notices go unsigned). ``wall`` is the clock request
        signatures are checked for freshness against (the wall clock, not market time). ``read_only`` says why
        the VTN refuses writes (None: it writes)."""
        key = core.config.signing_key
        if identity is not None and key is not None and identity.public.keyid != key:
            raise ValueError("the market rules publish another signing key than the VTN's identity")
        if identity is None and key is not None:
            raise ValueError("the market rules publish a signing key but the service has no identity to sign with")
        self.core = core
        self.settlement = settlement
        self.identity = identity
        self.wall = wall
        #: why the VTN runs read-only (None: it writes)
        self.read_only = read_only
        #: the parts of storage whose latest write failed, and why
        self.faults: dict[str, str] = {}
        self._probed: dict[str, float] = {}
        self._listeners: list[NoticeListener] = []
        self._watchers: list[RegistrationWatcher] = []
        self._gate_watchers: list[Callable[[GateResult], Awaitable[None] | None]] = []
        self.group_commit = group_commit
        #: the writing requests of one turn of the event loop, committed together
        self._commits: TurnBatcher[tuple[Model, Credentials], Model] = TurnBatcher(
            self._commit, name="transactive-group-commit")

    @property
    def config(self) -> MarketConfig:
        return self.core.config

    @property
    def clock(self) -> Clock:
        """The market's clock (market time)."""
        return self.core.clock

    def listen(self, callback: NoticeListener) -> Callable[[], None]:
        """Receive every outgoing notice; returns the function that stops it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    async def _emit(self, party_id: str, message: Model) -> None:
        for listener in list(self._listeners):
            result = listener(party_id, message)
            if inspect.isawaitable(result):
                await result

    async def handle(self, message: Model, *, token: str | None = None, proof: KeyProof | None = None) -> Model:
        """The reply to a request; refusals raise (see :meth:`VtnCore.handle`), a storage fault raises
        :class:`StorageUnavailableError`."""
        auth = Credentials(token, proof) if token is not None or proof is not None else ANONYMOUS
        writes = type(message) in MUTATING
        if writes and self.read_only is not None:
            raise StorageUnavailableError(f"storage unavailable: this VTN runs read-only ({self.read_only}); "
                                          "writing requests are refused", part="store")
        try:
            if self.group_commit and writes:
                reply = await self._commits.submit((message, auth))
            else:
                reply = self.core.handle(message, auth=auth)
        except StoreUnavailableError as exc:
            consequence = "nothing of this request was stored" if writes else "it could not be read"
            raise self._failed("store", exc, f"{consequence}; send it again later") from exc
        if writes:
            self._recovered("store")
        if self.settlement is not None and isinstance(message, EiCreateDelivery):
            response = reply_response(reply)
            if response is None or response.ok:
                try:
                    for delivery in message.deliveries:
                        await self.settlement.on_delivery(delivery.uid)
                except (StoreUnavailableError, LedgerUnavailableError) as exc:
                    part = "store" if isinstance(exc, StoreUnavailableError) else "ledger"
                    raise self._failed(part, exc, "the delivery is stored, its settlement is not complete; send "
                                                  "the request again to complete it") from exc
                self._recovered("ledger")
        if self._watchers and isinstance(message, EiCreatePartyRegistration | EiCancelPartyRegistration):
            await self._registration_changed(message, reply)
        return reply

    def watch_registrations(self, callback: RegistrationWatcher) -> Callable[[], None]:
        """Call ``callback(party_id, token)`` after every accepted registration (``token``: its bearer token)
        and cancellation (``token`` None), e.g. to keep a broker's credentials in step; returns the function
        that stops it. :meth:`active_registrations` gives the state to start from."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback) if callback in self._watchers else None

    def watch_gates(self, callback: Callable[[GateResult], Awaitable[None] | None]) -> Callable[[], None]:
        """Call ``callback(result)`` after every gate closed (before its notices go out), e.g. to publish the
        price to the OpenADR VENs; returns the function that stops it."""
        self._gate_watchers.append(callback)
        return lambda: self._gate_watchers.remove(callback) if callback in self._gate_watchers else None

    def storage_failed(self, part: str, exc: Exception, consequence: str) -> StorageUnavailableError:
        """Remember that ``part`` of storage failed (what ``/health`` shows); the error to answer with."""
        return self._failed(part, exc, consequence)

    def storage_recovered(self, part: str) -> None:
        self._recovered(part)

    def active_registrations(self) -> list[tuple[str, str]]:
        """``(party_id, token)`` of every active registration."""
        return self.core.active_registrations()

    async def _registration_changed(self, message: Model, reply: Model) -> None:
        response = reply_response(reply)
        if response is not None and not response.ok:
            return
        if isinstance(reply, EiCreatedPartyRegistration) and reply.registree_party_id and reply.registration_id:
            change: tuple[str, str | None] = (reply.registree_party_id, reply.registration_id)
        elif isinstance(message, EiCancelPartyRegistration):
            change = (message.registree_party_id, None)
        else:
            return
        for watcher in list(self._watchers):
            result = watcher(*change)
            if inspect.isawaitable(result):
                await result

    # -- storage faults --

    def _failed(self, part: str, exc: Exception, consequence: str) -> StorageUnavailableError:
        """Remember that ``part`` failed; the error to answer with."""
        self.faults[part] = str(exc)
        return StorageUnavailableError(f"storage unavailable ({part}: {exc}); {consequence}", part=part)

    def _recovered(self, part: str) -> None:
        self.faults.pop(part, None)

    def _note(self, exc: BaseException) -> None:
        """Remember the part of storage a fault came from (the caller raises it on)."""
        if isinstance(exc, StoreUnavailableError):
            self.faults["store"] = str(exc)
        elif isinstance(exc, LedgerUnavailableError):
            self.faults["ledger"] = str(exc)

    async def storage_faults(self) -> dict[str, str]:
        """The parts of storage whose writes fail now (``"store"``, ``"ledger"`` → why); empty when they
        work. A failing part is probed first (one small durable write, at most once per
        :data:`PROBE_INTERVAL`), so the answer recovers by itself once the storage does."""
        loop = asyncio.get_running_loop()
        for part in list(self.faults):
            if loop.time() - self._probed.get(part, float("-inf")) < PROBE_INTERVAL:
                continue
            self._probed[part] = loop.time()
            try:
                if part == "store":
                    self.core.store.probe()
                else:
                    ledger = self.settlement.ledger if self.settlement is not None else None
                    if not isinstance(ledger, _Probed):
                        continue  # it recovers with its next successful write
                    await asyncio.wait_for(ledger.probe(), PROBE_TIMEOUT)
            except (StoreUnavailableError, LedgerUnavailableError) as exc:
                self.faults[part] = str(exc)
                continue
            except TimeoutError:
                continue
            self._recovered(part)
        return dict(self.faults)

    def _commit(self, batch: list[tuple[Model, Credentials]]) -> list[Model | Exception]:
        return self.core.handle_many(batch)

    @property
    def batches(self) -> int:
        """Group commits so far (for tests and benchmarks)."""
        return self._commits.batches

    @property
    def batched(self) -> int:
        """Requests written through them."""
        return self._commits.items

    async def answer(self, message: Model, *, token: str | None = None, proof: KeyProof | None = None) -> Model:
        """The reply to a request, with refusals as error replies (what a transport sends)."""
        try:
            return await self.handle(message, token=token, proof=proof)
        except ProtocolError as error:
            return self.core.error_reply(message, error)

    def error_reply(self, message: Model | None, error: ProtocolError) -> Model:
        """The reply payload carrying ``error`` for ``message`` (None: a document that did not decode)."""
        return self.core.error_reply(message, error)

    def authorize(self, token: str | None, party_id: str, field: str = "ei:partyID") -> Registration:
        """The active registration of ``party_id`` if ``token`` is its token, else 463 naming ``field``
        (503 if the store cannot be read)."""
        try:
            return self.core.authorize(token, party_id, field)
        except StoreUnavailableError as exc:
            raise self._failed("store", exc, "the token could not be checked") from exc

    def party_of(self, token: str | None, field: str = "Authorization") -> str:
        """The party whose active registration ``token`` is, else 463 naming ``field`` (503 if the store
        cannot be read)."""
        try:
            return self.core.party_of(token, field)
        except StoreUnavailableError as exc:
            raise self._failed("store", exc, "the token could not be checked") from exc

    def verify_request(self, signature: str, body: bytes) -> KeyProof:
        """Check a request's ``Signature`` (header or MQTT property) against the bytes it came with, for this
        market and now (wall clock); the proof a transport hands to :meth:`answer`, or 463 naming it."""
        return verify_request(signature, body, audience=self.core.config.market_party_id, now=self.wall())

    def sign_notice(self, party_id: str, body: bytes) -> str | None:
        """The signature of a notice's bytes for ``party_id`` (``*``: the public quote), or None when this VTN
        has no identity."""
        return None if self.identity is None else self.identity.notice_signature(party_id, body)

    async def close_gate(self, interval_start: datetime, *, concurrency: int = 64) -> GateResult:
        """Clear the interval, anchor its transactions, send notices and the quote. Idempotent: an interval
        is cleared once, a transaction anchored once; notices are sent again when called again (receivers
        treat a repeated ``requestID`` as a duplicate).

        The anchoring is shared by up to ``concurrency`` concurrent workers, so a ledger that group-commits
        (the embedded one) writes many anchors per commit.

        A storage fault (:class:`~.store.StoreUnavailableError`, :class:`~transactive.ledger.LedgerUnavailableError`)
        is raised as it is, and remembered in :attr:`faults`: calling again later resumes where it stopped."""
        if self.read_only is not None:
            raise StorageUnavailableError(f"this VTN runs read-only ({self.read_only}): no gate is closed",
                                          part="store")
        try:
            result = self.core.close_gate(interval_start)
            self._recovered("store")
            if self.settlement is not None and result.transactions:
                rows = result.transactions
                step = max(1, -(-len(rows) // max(1, concurrency)))
                # every worker runs to its end (no write is abandoned half way); the first error is raised
                outcomes = await asyncio.gather(*(self.settlement.anchor(rows[i:i + step])
                                                  for i in range(0, len(rows), step)), return_exceptions=True)
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
                self._recovered("ledger")
        except (StoreUnavailableError, LedgerUnavailableError) as exc:
            self._note(exc)
            raise
        for watcher in list(self._gate_watchers):
            watched = watcher(result)
            if inspect.isawaitable(watched):
                await watched
        for party, notice in result.notices.items():
            await self._emit(party, notice)
        if result.quote is not None:
            for party in self.core.registered_parties():
                message = result.quote_message(party)
                if message is not None:
                    await self._emit(party, message)
        return result

    def overdue_intervals(self) -> list[datetime]:
        """Intervals with open tenders whose gate time has passed (what a restarted VTN closes first)."""
        return self.core.overdue_intervals()

    async def anchor_pending(self) -> None:
        """Anchor every transaction not anchored yet (after a crash between clearing and anchoring)."""
        if self.settlement is not None and self.read_only is None:
            try:
                await self.settlement.anchor(self.core.transactions())
            except (StoreUnavailableError, LedgerUnavailableError) as exc:
                self._note(exc)
                raise

    def cleared_gates(self, limit: int) -> list[GateRow]:
        """The ``limit`` most recently cleared intervals, latest first."""
        return self.core.cleared_gates(limit)

    def net_position(self, interval_start: datetime) -> Decimal:
        """The net unmatched kWh after the interval's gate (positive: short)."""
        return self.core.net_position(interval_start)

    def store_ok(self) -> bool:
        """Can the store be read?"""
        return self.core.store_ok()
