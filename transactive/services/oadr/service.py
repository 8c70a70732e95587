"""``OadrService``: the async shell the OpenADR 2.0b edge drives, beside :class:`~transactive.services.VtnService`.

* :meth:`OadrService.answer` — the reply to a message (refusals become the 2.0b error reply). A poll with
  nothing waiting and an unsigned ``oadrQueryRegistration`` (which writes nothing) are answered from memory,
  without waiting for a commit; every other message is handled with **group commit**: the
  messages of one turn of the event loop share one store transaction and one fsync, each in its own
  savepoint, and each is answered after that commit.
* :meth:`OadrService.publish_price` — the market bridge: when the VTN closes a gate with a price, an
  ``ELECTRICITY_PRICE`` event (signal type ``price``, one interval: the delivery interval, the cleared price
  in the market's currency per kWh) for every OpenADR VEN of the market context; its eventID names the
  interval, so publishing again changes nothing.
* :meth:`OadrService.operate` — an operator action (create, modify, cancel an event; cancel or ask a VEN to
  re-register) in its own transaction; then a push VEN is sent what waits for it (:meth:`pushes`).
* Pushes run in one process only: :attr:`OadrService.leader` (True unless the VTN runs several processes on
  one store and this one is not the leader; :mod:`transactive.vtn.shared_objects`).
* Storage faults are reported like the CTS services': 503 naming the part, remembered in the VTN's
  ``faults`` (``/health``) until a write succeeds again; ``read_only`` refuses every writing message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from transactive.ei.oadr import OadrPoll
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.oadr import Service
from transactive.services.batching import TurnBatcher
from transactive.services.oadr.context import OadrContext, Peer
from transactive.services.oadr.core import OadrCore
from transactive.services.oadr.events import EventSpec, create_event
from transactive.services.oadr.records import EventRecord, VenRecord
from transactive.services.service import StorageUnavailableError, VtnService
from transactive.services.store import StoreUnavailableError

__all__ = ["OadrService", "Pusher"]

log = logging.getLogger("transactive.vtn.oadr")

#: ``pusher(ven, message)``: send a message to a push VEN's transport address; returns when it was accepted
Pusher = Callable[[VenRecord, Model], Awaitable[None]]


class OadrService:
    """An :class:`OadrCore` with group commit, the market's price events and pushes to push VENs."""

    def __init__(self, core: OadrCore, vtn: VtnService | None = None, *, group_commit: bool = True) -> None:
        self.core = core
        self.vtn = vtn
        self.group_commit = group_commit
        self.pusher: Pusher | None = None
        self._commits: TurnBatcher[tuple[Model, Peer, Service | str | None], Model] = TurnBatcher(
            self.core.handle_many, name="transactive-oadr-commit")
        self._pushing: set[str] = set()
        #: whether this process sends to push VENs (of several processes on one store, the leader only: two
        #: senders would send a VEN its messages twice); set by :meth:`lead`
        self.leader = True

    def lead(self, leader: bool) -> None:
        """Become (or stop being) the process that pushes. A new leader looks at every VEN once (dirty) and
        sends what waits, e.g. what a leader that died had not sent yet; a former leader's senders stop after
        the message in hand."""
        was, self.leader = self.leader, leader
        if leader and not was:
            self.core.ctx.dirty = None
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return  # not serving yet: the first request schedules them
            self.schedule_pushes()

    @property
    def read_only(self) -> str | None:
        return None if self.vtn is None else self.vtn.read_only

    def _failed(self, exc: StoreUnavailableError, consequence: str) -> StorageUnavailableError:
        if self.vtn is not None:
            return self.vtn.storage_failed("store", exc, consequence)
        return StorageUnavailableError(f"storage unavailable (store: {exc}); {consequence}", part="store")

    async def handle(self, message: Model, peer: Peer, service: Service | str | None = None) -> Model:
        """The reply; refusals raise (see :meth:`OadrCore.handle`)."""
        try:
            quick = self.core.quick(message, peer, service)
            if quick is not None:
                return quick
            if self.read_only is not None and type(message) is not OadrPoll:
                raise StorageUnavailableError(f"storage unavailable: this VTN runs read-only ({self.read_only}); "
                                              "messages that write are refused", part="store")
            if self.group_commit:
                reply = await self._commits.submit((message, peer, service))
            else:
                reply = self.core.handle(message, peer, service)
        except StoreUnavailableError as exc:
            raise self._failed(exc, "nothing of this message was stored; send it again later") from exc
        if self.vtn is not None:
            self.vtn.storage_recovered("store")
        self.schedule_pushes()
        return reply

    async def answer(self, message: Model, peer: Peer, service: Service | str | None = None) -> Model:
        """The reply, refusals as the 2.0b error reply."""
        try:
            return await self.handle(message, peer, service)
        except ProtocolError as error:
            return self.core.error_reply(message, error)

    def error_reply(self, message: Model | None, error: ProtocolError) -> Model:
        return self.core.error_reply(message, error)

    async def operate(self, action: Callable[[OadrContext], Any]) -> Any:
        """Run an operator action in its own transaction (503 if the store fails, read-only refused)."""
        if self.read_only is not None:
            raise StorageUnavailableError(f"this VTN runs read-only ({self.read_only})", part="store")
        try:
            result = self.core.operate(action)
        except StoreUnavailableError as exc:
            raise self._failed(exc, "nothing was changed; try again later") from exc
        self.schedule_pushes()
        return result

    def read(self, action: Callable[[OadrContext], Any]) -> Any:
        """Run a read-only view (no transaction)."""
        return action(self.core.ctx)

    # -- the market bridge --

    async def publish_price(self, interval_start: datetime, seconds: int, price: Decimal | None) -> EventRecord | None:
        """The ELECTRICITY_PRICE event of a cleared interval (None: no price, or no OpenADR VEN to tell)."""
        if price is None or not any(v.active for v in self.core.ctx.vens().values()):
            return None
        event_id = f"price-{interval_start.strftime('%Y%m%dT%H%M%SZ')}"
        if self.core.ctx.get(EventRecord, event_id) is not None:
            return None
        spec = EventSpec(signal_name="ELECTRICITY_PRICE", signal_type="price", start=interval_start,
                         intervals=((timedelta(seconds=seconds), float(price)),), response_required="never")
        record: EventRecord = await self.operate(
            lambda ctx: create_event(ctx, spec, event_id=event_id, origin="market"))
        return record

    # -- push VENs --

    def schedule_pushes(self) -> None:
        """Start sending what waits for push VENs (one sender per VEN at a time)."""
        if self.pusher is None or not self.leader:
            return
        for ven in self.core.pushable():
            if ven.ven_id not in self._pushing:
                self._pushing.add(ven.ven_id)
                asyncio.get_running_loop().create_task(self._push(ven), name=f"oadr-push-{ven.ven_id}")

    async def _push(self, ven: VenRecord) -> None:
        assert self.pusher is not None
        try:
            delay = 0.5
            while self.leader:
                # the VEN as it is now (the record changes as messages are delivered, e.g. its METADATA report
                # is no longer pending, and another process may have changed it)
                current = self.core.ctx.find_ven(ven.ven_id)
                if current is None or not current.active:
                    return
                ven = current
                found = self.core.next_for(ven)
                if found is None:
                    return
                message, delivered = found
                while self.leader:
                    try:
                        await self.pusher(ven, message)
                        self.core.operate(delivered)
                        break
                    except Exception as exc:  # the VEN is unreachable: keep it, try again with backoff
                        log.warning("push to VEN %s at %s failed (%s); retrying in %.1f s", ven.ven_name,
                                    ven.transport_address, exc, delay)
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 60.0)
        except StoreUnavailableError as exc:
            log.warning("push to VEN %s stopped: %s", ven.ven_name, exc)
        finally:
            self._pushing.discard(ven.ven_id)
