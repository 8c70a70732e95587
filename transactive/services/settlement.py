"""Settlement of the market's transactions on a :class:`~transactive.ledger.Ledger` (async driver).

Flow, per transaction (the state table is :data:`transactive.ledger.settlement.TRANSITIONS`):

1. after gate closure, :meth:`Settlement.anchor` puts the :class:`~transactive.ledger.TransactionRecord`
   on the ledger (seller and buyer are the party and the market, by the party's side; the document hash is
   the transaction's, see :func:`.transactions.document_hash`);
2. when the VEN reports its delivery (``eiCreateDelivery``), :meth:`Settlement.on_delivery` writes *both*
   readings: the VEN's metered kWh, and the market's, which — the market being a pool without a meter of
   its own — is deemed to be the agreed quantity. The delivered quantity is the VEN's reading
   (``DeliveredRule.SELLER`` for a selling party, ``BUYER`` for a buying one); within the tolerance of
   :class:`~transactive.ledger.SettlementParams` the buyer is asked to pay price x delivered kWh, outside it
   a dispute is opened (``delivery_outside_tolerance``);
3. payment: in this reference implementation the VTN confirms the payment **on the payer's behalf**
   (``auto_pay=True``: the pool collects from buyers and pays sellers outside the protocol), so a
   settlement within tolerance ends ``paid``. With ``auto_pay=False`` the request stays open until
   :meth:`Settlement.pay` records a payment, and :meth:`Settlement.tick` opens ``unpaid`` disputes after the
   deadline.

Durability: each step is written to the ledger (durable on return) and then logged in the store
(``settlement_steps``, with a snapshot of the machine; steps logged in the same turn of the event loop share
one store transaction) before the caller replies; a restarted VTN resumes
each transaction from its last logged step. An anchor that reached the ledger but not the log (a crash in
between) is recognised from the ledger's audit trail and not written twice. A step that failed part way in
a running VTN (the ledger or the store unavailable: a full disk, a locked file) is resumed when it is tried
again: the entries it already wrote are not written twice (a crash in the middle of a step other than the
anchor is not covered: its entries may be written again after the restart).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

from transactive.emix import Side
from transactive.ledger import Ledger, LedgerError, TransactionRecord, UnknownTransactionError
from transactive.ledger.settlement import (
    DeliveredRule,
    Effect,
    SettlementMachine,
    SettlementParams,
    State,
    execute,
)
from transactive.protocol.clock import Clock
from transactive.protocol.errors import InvalidIdError
from transactive.protocol.market import MarketConfig
from transactive.services.batching import TurnBatcher
from transactive.services.store import SettlementStep, Store, StoreUnavailableError, TransactionRow

__all__ = ["Settlement", "transaction_record"]

#: transactions whose stored rows and step counts :meth:`Settlement.anchor` reads at once
_PREFETCH = 512



def transaction_record(config: MarketConfig, row: TransactionRow) -> TransactionRecord:
    """The ledger record of a stored transaction (the market is the other side)."""
    seller, buyer = (row.party_id, config.market_party_id) if row.side is Side.SELL else \
        (config.market_party_id, row.party_id)
    return TransactionRecord(
        transaction_id=row.transaction_id, document_hash=row.document_hash, seller=seller, buyer=buyer,
        quantity_kwh=row.quantity, price=row.price, currency=row.currency, interval_start=row.interval_start,
        interval_duration=row.interval_duration,
    )


@dataclass
class _TransactionLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  #: holders and waiters
    logged: int = 0  #: steps submitted to the log while the entry lived (see :meth:`Settlement.anchor`)


class Settlement:
    """Drives every transaction of a market through the settlement table, on ``ledger``."""

    def __init__(self, store: Store, ledger: Ledger, *, config: MarketConfig, clock: Clock,
                 params: SettlementParams | None = None, auto_pay: bool = True) -> None:
        self.store = store
        self.ledger = ledger
        self.config = config
        self.clock = clock
        self.params = params or SettlementParams()
        self.auto_pay = auto_pay
        #: one lock per transaction while someone holds or awaits it (then dropped: the dict stays small)
        self._locks: dict[str, _TransactionLock] = {}
        #: transaction id -> (steps logged, effects of the next step already on the ledger) after a step that
        #: failed part way (see :meth:`_write`)
        self._partial: dict[str, tuple[int, int]] = {}
        #: the steps logged in one turn of the event loop, committed together
        self._log_batches: TurnBatcher[SettlementStep, None] = TurnBatcher(self._write_steps,
                                                                          name="transactive-settlement-log")

    # -- reading the log ---------------------------------------------------------------------------

    def _row(self, transaction_id: str) -> TransactionRow:
        row = self.store.transaction_by_id(transaction_id)
        if row is None:
            raise InvalidIdError(f"no transaction {transaction_id!r}", field="ei:transactionID")
        return row

    def machine(self, transaction_id: str) -> SettlementMachine:
        """The settlement machine of a transaction, restored from its last logged step."""
        row = self._row(transaction_id)
        steps = self.store.settlement_steps(transaction_id)
        if not steps:
            return self._new_machine(row)
        last = steps[-1]
        return SettlementMachine.restore(transaction_record(self.config, row), self._params(row), last.state,
                                         last.snapshot)

    def _params(self, row: TransactionRow) -> SettlementParams:
        rule = DeliveredRule.SELLER if row.side is Side.SELL else DeliveredRule.BUYER
        return replace(self.params, delivered=rule, meter_tolerance_kwh=None)

    def _new_machine(self, row: TransactionRow) -> SettlementMachine:
        """The machine of a transaction without a logged step."""
        return SettlementMachine(transaction_record(self.config, row), self._params(row))

    def state(self, transaction_id: str) -> State:
        steps = self.store.settlement_steps(transaction_id)
        return State(steps[-1].state) if steps else State.AGREED

    @property
    def log_commits(self) -> int:
        """Store transactions the settlement log has committed (steps logged in one loop turn share one)."""
        return self._log_batches.batches

    async def _log(self, machine: SettlementMachine, event: str) -> None:
        """Log a step in the store, durably, before returning. Steps logged in the same turn of the event
        loop (the anchors of a gate's transactions, by concurrent workers) are group-committed: one store
        transaction and one fsync for all (see :meth:`_write_steps`: a refused step fails alone)."""
        entry = self._locks.get(machine.record.transaction_id)  # (there: the caller holds the lock)
        if entry is not None:
            entry.logged += 1  # counted when submitted: it may be written even if its submitter is cancelled
        await self._log_batches.submit(SettlementStep(machine.record.transaction_id, 0, event, machine.state.value,
                                                      self.clock(), machine.snapshot()))  # seq: given when written

    def _write_steps(self, steps: list[SettlementStep]) -> list[Exception | None]:
        """Log a batch of steps in one store transaction. First all at once (one query for their ``seq``, one
        statement for the rows: a few round trips on a database server, not four per step); if that fails
        for a reason other than the storage, step by step, each in its own savepoint, so that the failing
        step fails alone as it always did."""
        try:
            with self.store.transaction():
                try:
                    with self.store.transaction():
                        self._write_batch(steps)
                    results: list[Exception | None] = [None] * len(steps)
                except StoreUnavailableError:
                    raise  # the storage failed, not a step: nothing of the batch stands
                except Exception:  # some step is refused: find which (the batch's savepoint is undone)
                    results = self._write_one_by_one(steps)
        except Exception as exc:  # the commit: nothing of the batch was written
            return [exc] * len(steps)
        return results

    def _write_batch(self, steps: list[SettlementStep]) -> None:
        seqs = self.store.settlement_step_counts(step.transaction_id for step in steps)
        numbered = []
        for step in steps:  # (two steps of one transaction in a batch follow each other)
            seqs[step.transaction_id] += 1
            numbered.append(replace(step, seq=seqs[step.transaction_id]))
        self.store.add_settlement_steps(numbered)

    def _write_one_by_one(self, steps: list[SettlementStep]) -> list[Exception | None]:
        results: list[Exception | None] = []
        for step in steps:
            try:
                with self.store.transaction():
                    seq = len(self.store.settlement_steps(step.transaction_id)) + 1
                    self.store.add_settlement_step(replace(step, seq=seq))
                results.append(None)
            except StoreUnavailableError:
                raise  # the storage failed, not this step: nothing of the batch stands
            except Exception as exc:  # this step only (its savepoint is undone); handed to its caller
                results.append(exc)
        return results

    async def _write(self, machine: SettlementMachine, effects: list[Effect], event: str) -> None:
        """Write a step's effects on the ledger, one by one, then log the step. If a write or the log fails
        part way (the ledger or the store unavailable), what reached the ledger is remembered, and the same
        step tried again from the same logged state skips it: an entry is never written twice."""
        txid = machine.record.transaction_id
        logged = len(self.store.settlement_steps(txid))
        partial = self._partial.get(txid)
        done = partial[1] if partial is not None and partial[0] == logged else 0
        try:
            for effect in effects[done:]:
                await execute(self.ledger, txid, [effect])
                done += 1
            await self._log(machine, event)
        except BaseException:
            self._partial[txid] = (logged, done)
            raise
        self._partial.pop(txid, None)

    def _enter(self, transaction_id: str) -> _TransactionLock:
        """Become a user of the transaction's lock entry (kept while it has users)."""
        entry = self._locks.get(transaction_id)
        if entry is None:
            entry = self._locks[transaction_id] = _TransactionLock()
        entry.users += 1
        return entry

    def _leave(self, transaction_id: str, entry: _TransactionLock) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._locks[transaction_id]

    @asynccontextmanager
    async def _lock(self, transaction_id: str) -> AsyncIterator[None]:
        """Hold the transaction's lock (one step of a transaction at a time); the lock is forgotten when
        nobody holds or awaits it any more."""
        entry = self._enter(transaction_id)
        try:
            async with entry.lock:
                yield
        finally:
            self._leave(transaction_id, entry)

    # -- steps -------------------------------------------------------------------------------------

    async def anchor(self, transactions: Iterable[TransactionRow]) -> dict[str, State]:
        """Anchor each transaction not anchored yet (idempotent)."""
        out: dict[str, State] = {}
        rows = list(transactions)
        for i in range(0, len(rows), _PREFETCH):
            await self._anchor_some(rows[i:i + _PREFETCH], out)
        return out

    async def _anchor_some(self, rows: list[TransactionRow], out: dict[str, State]) -> None:
        """Anchor ``rows`` one by one, each under its lock, as :meth:`machine` would restore it; but the stored
        rows and the step counts of all are read at once first (two queries, not two per transaction: each a
        round trip on a database server). What was read holds for a transaction under its lock if nobody else
        used its lock when it was read, and no step of it was submitted to the log since; else it is read again
        under the lock, as before."""
        entries: list[tuple[str, _TransactionLock]] = []
        fresh: dict[str, int] = {}  # transaction id -> its entry's log mark, for those nobody else was using
        try:
            for row in rows:
                txid = row.transaction_id
                entry = self._enter(txid)
                entries.append((txid, entry))
                if entry.users == 1:
                    fresh[txid] = entry.logged
            stored = self.store.transactions_by_id(fresh)
            counts = self.store.settlement_step_counts(fresh)
            for txid, entry in entries:
                async with entry.lock:
                    found = stored.get(txid)
                    if found is not None and counts[txid] == 0 and entry.logged == fresh.get(txid):
                        machine = self._new_machine(found)  # no step logged: what machine() would build
                    else:
                        machine = self.machine(txid)
                    if machine.state is State.AGREED:
                        await self._anchor(machine)
                    out[txid] = machine.state
        finally:
            for txid, entry in entries:
                self._leave(txid, entry)

    async def _anchor(self, machine: SettlementMachine) -> None:
        effects = machine.anchor()
        try:
            await execute(self.ledger, machine.record.transaction_id, effects)
        except LedgerError:
            try:
                anchored = bool(await self.ledger.audit_trail(machine.record.transaction_id))
            except UnknownTransactionError:
                anchored = False
            if not anchored:
                raise  # the anchor's own error (not the audit trail's "unknown transaction")
            # already on the ledger (a crash between the ledger write and the log): just log it
        await self._log(machine, "anchor")

    async def on_delivery(self, transaction_id: str) -> State:
        """The party's delivery is in the store: write both readings, then request (and, with
        ``auto_pay``, confirm) payment or open a dispute. Idempotent."""
        async with self._lock(transaction_id):
            machine = self.machine(transaction_id)
            delivery = self.store.delivery(transaction_id)
            if delivery is None:
                return machine.state
            if machine.state is State.AGREED:
                await self._anchor(machine)
            record = machine.record
            measured_at = record.interval_start + record.interval_duration
            if machine.state is State.ANCHORED:
                now = self.clock()
                effects = machine.reading(delivery.party_id, delivery.quantity, measured_at=measured_at, now=now)
                market = self.config.market_party_id
                effects += machine.reading(market, record.quantity_kwh, measured_at=measured_at, now=now)
                await self._write(machine, effects, "delivery")
            if self.auto_pay and machine.state is State.PAYMENT_REQUESTED and machine.amount_due:
                # no reference: the ledger makes the payment itself (the embedded ledger records it, an EVM
                # ledger transfers the value); a reference would name a payment already made elsewhere
                effects = machine.payment(machine.amount_due - machine.paid, now=self.clock())
                await self._write(machine, effects, "payment")
            return machine.state

    async def pay(self, transaction_id: str, amount: Decimal, *, reference: str | None = None) -> State:
        """Record a payment by the buyer (when ``auto_pay`` is off)."""
        async with self._lock(transaction_id):
            machine = self.machine(transaction_id)
            await self._write(machine, machine.payment(amount, now=self.clock(), reference=reference), "payment")
            return machine.state

    async def tick(self, transaction_ids: Iterable[str]) -> dict[str, State]:
        """Check payment deadlines at the clock's time: unpaid past the deadline → dispute."""
        out: dict[str, State] = {}
        for txid in transaction_ids:
            async with self._lock(txid):
                machine = self.machine(txid)
                effects = machine.tick(self.clock())
                if effects:
                    await self._write(machine, effects, "deadline")
                out[txid] = machine.state
        return out
