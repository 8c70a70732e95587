"""``VtnService``: the async shell every VTN transport drives (HTTP, MQTT, in-memory).

It adds to :class:`~.core.VtnCore` what needs awaiting or fan-out, and nothing that touches a socket:

* :meth:`VtnService.answer` — the reply to a request (errors become error replies); after an accepted
  ``eiCreateDelivery`` it runs the settlement steps, so they are durable before the reply is returned;
* **group commit**: requests that write (registrations, tenders, deliveries; ``core.MUTATING``) and arrive
  together — handled in the same turn of the event loop — are written in one store transaction with one
  fsync (:meth:`VtnCore.handle_many`), each in its own savepoint; every one of them is answered after that
  commit, so an acknowledged request is durable exactly as before, only many share the cost of the disk;
* :meth:`VtnService.close_gate` — clears an interval, anchors its transactions on the ledger, then sends
  each party its ``eiCreateTransaction`` notice and every registered party the quote (``eiCreateQuote``);
* :meth:`VtnService.listen` — register ``callback(party_id, message)`` for outgoing notices; a transport
  turns them into MQTT publications, HTTP pushes or in-memory queues.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime

from transactive.ei.cts.delivery import EiCreateDelivery
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.services.core import MUTATING, VtnCore
from transactive.services.gate import GateResult
from transactive.services.replies import reply_response
from transactive.services.settlement import Settlement

__all__ = ["NoticeListener", "VtnService"]

#: ``callback(party_id, notice)``; may be async
NoticeListener = Callable[[str, Model], Awaitable[None] | None]


class VtnService:
    """A :class:`VtnCore` plus settlement and notice fan-out."""

    def __init__(self, core: VtnCore, *, settlement: Settlement | None = None, group_commit: bool = True) -> None:
        self.core = core
        self.settlement = settlement
        self._listeners: list[NoticeListener] = []
        self.group_commit = group_commit
        self._pending: list[tuple[Model, str | None, asyncio.Future[Model]]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self.batches = 0  #: group commits so far (for tests and benchmarks)
        self.batched = 0  #: requests written through them

    def listen(self, callback: NoticeListener) -> Callable[[], None]:
        """Receive every outgoing notice; returns the function that stops it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    async def _emit(self, party_id: str, message: Model) -> None:
        for listener in list(self._listeners):
            result = listener(party_id, message)
            if inspect.isawaitable(result):
                await result

    async def handle(self, message: Model, *, token: str | None = None) -> Model:
        """The reply to a request; refusals raise (see :meth:`VtnCore.handle`)."""
        if self.group_commit and type(message) in MUTATING:
            reply = await self._write(message, token)
        else:
            reply = self.core.handle(message, token=token)
        if self.settlement is not None and isinstance(message, EiCreateDelivery):
            response = reply_response(reply)
            if response is None or response.ok:
                for delivery in message.deliveries:
                    await self.settlement.on_delivery(delivery.uid)
        return reply

    def _write(self, message: Model, token: str | None) -> asyncio.Future[Model]:
        """Queue a writing request for the next group commit; its future is done once that committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Model] = loop.create_future()
        self._pending.append((message, token, future))
        if self._flush_task is None or self._flush_task.done():  # (done: cancelled before it ran)
            # a task runs on a later turn of the loop: every request handled in this turn joins the batch
            self._flush_task = loop.create_task(self._flush(), name="transactive-group-commit")
        return future

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._flush_task = None
        try:
            results = self.core.handle_many([(message, token) for message, token, _f in batch])
        except BaseException as exc:  # a bug in the core: nobody may wait forever
            for _m, _t, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("group commit stopped"))
            raise
        self.batches += 1
        self.batched += len(batch)
        for (_m, _t, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller went away (cancelled); the write stands, as a retry would find
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def answer(self, message: Model, *, token: str | None = None) -> Model:
        """The reply to a request, with refusals as error replies (what a transport sends)."""
        try:
            return await self.handle(message, token=token)
        except ProtocolError as error:
            return self.core.error_reply(message, error)

    async def close_gate(self, interval_start: datetime) -> GateResult:
        """Clear the interval, anchor its transactions, send notices and the quote. Idempotent (notices
        are sent again when called again: receivers treat a repeated ``requestID`` as a duplicate)."""
        result = self.core.close_gate(interval_start)
        if self.settlement is not None:
            await self.settlement.anchor(result.transactions)
        for party, notice in result.notices.items():
            await self._emit(party, notice)
        if result.quote is not None:
            for party in self.core.registered_parties():
                message = result.quote_message(party)
                if message is not None:
                    await self._emit(party, message)
        return result
