"""The settlement workflow of one trade, as a sans-I/O state machine.

A matched trade is settled in steps, each of which leaves an entry on a ledger::

    AGREED --anchor--> ANCHORED --seller_reading / buyer_reading--> SELLER_METERED | BUYER_METERED
           --the other party's reading--> METERED
    METERED --request_payment--> PAYMENT_REQUESTED        (delivery within tolerance)
    METERED --delivery_mismatch--> DISPUTED               (delivery outside tolerance, or meters disagree)
    PAYMENT_REQUESTED --partial_payment--> PAYMENT_REQUESTED
    PAYMENT_REQUESTED --full_payment--> PAID              (also at once when the amount due rounds to zero)
    PAYMENT_REQUESTED --underpayment--> DISPUTED          (policy ``underpaid="dispute-immediately"``)
    PAYMENT_REQUESTED --deadline_passed--> DISPUTED       (not paid in full by the deadline)

Dispute reasons: ``delivery_outside_tolerance``, ``meters_disagree`` (opened by the operator),
``unpaid``, ``underpaid_at_deadline``, ``underpaid`` (opened by the seller, the payee).

The transitions are data (:data:`TRANSITIONS`); :data:`DERIVED_EVENTS` are the ones the machine fires
itself after the second meter reading (``request_payment`` / ``delivery_mismatch``) or after a payment
(``full_payment`` / ``partial_payment`` / ``underpayment``). An event that the table does not allow in the
current state raises :class:`IllegalTransitionError`, naming both.

The machine does no I/O: each input returns the :data:`Effect` s (ledger entries to write,
:mod:`transactive.ledger.effects`) and the state is what the ledger holds once they are written.
:func:`execute` writes effects through any
:class:`~transactive.ledger.interface.Ledger`, :func:`settle` drives a whole scenario, and :func:`replay`
derives the state from a transaction's audit trail (what ``transactive ledger audit`` shows).
:meth:`SettlementMachine.snapshot` and :meth:`SettlementMachine.restore` carry what a machine knows across
a restart (the VTN logs the snapshot with each step).

Parameters (:class:`SettlementParams`) are explicit: the payment window (deadline = time of the request
+ window), the delivery tolerance (absolute kWh and/or a fraction of the agreed quantity; when both are
given the larger allowance applies), which reading counts as delivered (default: the smaller of the
producer's export and the consumer's import), how an underpayment is handled, the rounding of amounts.
The consumer (buyer) pays the producer (seller) the cleared price times the *delivered* energy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from transactive.ledger.effects import (
    AnchorRecord,
    Effect,
    OpenDispute,
    RecordDelivery,
    RecordPayment,
    RequestPayment,
    execute,
)
from transactive.ledger.interface import Ledger, LedgerError, payment_status
from transactive.ledger.records import EntryKind, LedgerEntry, PaymentStatus, Receipt, TransactionRecord

__all__ = [
    "DERIVED_EVENTS",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "AnchorRecord",
    "DeliveredRule",
    "Effect",
    "Event",
    "IllegalTransitionError",
    "InvalidSnapshotError",
    "OpenDispute",
    "Payment",
    "Reading",
    "RecordDelivery",
    "RecordPayment",
    "RequestPayment",
    "SettlementMachine",
    "SettlementParams",
    "SettlementResult",
    "State",
    "Tick",
    "UnderpaidPolicy",
    "execute",
    "replay",
    "settle",
]


class State(StrEnum):
    AGREED = "agreed"  #: matched, not yet on the ledger
    ANCHORED = "anchored"  #: the transaction record is on the ledger
    SELLER_METERED = "seller_metered"  #: the producer's export reading is on the ledger
    BUYER_METERED = "buyer_metered"  #: the consumer's import reading is on the ledger
    METERED = "metered"  #: both readings are on the ledger (transient: a derived event follows)
    PAYMENT_REQUESTED = "payment_requested"  #: the consumer was asked to pay for the delivered energy
    PAID = "paid"  #: paid in full
    DISPUTED = "disputed"  #: unpaid after the deadline, underpaid, or delivery outside tolerance


class Event(StrEnum):
    ANCHOR = "anchor"
    SELLER_READING = "seller_reading"
    BUYER_READING = "buyer_reading"
    REQUEST_PAYMENT = "request_payment"
    DELIVERY_MISMATCH = "delivery_mismatch"
    PARTIAL_PAYMENT = "partial_payment"
    FULL_PAYMENT = "full_payment"
    UNDERPAYMENT = "underpayment"
    DEADLINE_PASSED = "deadline_passed"


#: The whole workflow: (state, event) -> next state. Anything not listed is illegal.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.AGREED, Event.ANCHOR): State.ANCHORED,
    (State.ANCHORED, Event.SELLER_READING): State.SELLER_METERED,
    (State.ANCHORED, Event.BUYER_READING): State.BUYER_METERED,
    (State.SELLER_METERED, Event.BUYER_READING): State.METERED,
    (State.BUYER_METERED, Event.SELLER_READING): State.METERED,
    (State.METERED, Event.REQUEST_PAYMENT): State.PAYMENT_REQUESTED,
    (State.METERED, Event.DELIVERY_MISMATCH): State.DISPUTED,
    (State.PAYMENT_REQUESTED, Event.PARTIAL_PAYMENT): State.PAYMENT_REQUESTED,
    (State.PAYMENT_REQUESTED, Event.FULL_PAYMENT): State.PAID,
    (State.PAYMENT_REQUESTED, Event.UNDERPAYMENT): State.DISPUTED,
    (State.PAYMENT_REQUESTED, Event.DEADLINE_PASSED): State.DISPUTED,
}

#: Events the machine fires itself (the outcome of checking readings or payments), never an input.
DERIVED_EVENTS: frozenset[Event] = frozenset(
    {Event.REQUEST_PAYMENT, Event.DELIVERY_MISMATCH, Event.PARTIAL_PAYMENT, Event.FULL_PAYMENT, Event.UNDERPAYMENT}
)

TERMINAL_STATES: frozenset[State] = frozenset({State.PAID, State.DISPUTED})


class IllegalTransitionError(LedgerError):
    """An event the transition table does not allow in the current state."""

    def __init__(self, state: State, event: Event, transaction_id: str = "") -> None:
        where = f" (transaction {transaction_id})" if transaction_id else ""
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s is state)
        hint = f"; allowed there: {', '.join(allowed)}" if allowed else f"; {state.value} is final"
        super().__init__(f"illegal event {event.value!r} in state {state.value!r}{where}{hint}")
        self.state = state
        self.event = event


class InvalidSnapshotError(LedgerError):
    """A stored settlement snapshot that :meth:`SettlementMachine.restore` cannot accept; names the field."""


class DeliveredRule(StrEnum):
    """Which meter reading counts as the delivered energy."""

    MIN = "min"  #: the smaller of the producer's export and the consumer's import (the default)
    SELLER = "seller"  #: the producer's export meter
    BUYER = "buyer"  #: the consumer's import meter
    MEAN = "mean"  #: the mean of both


class UnderpaidPolicy(StrEnum):
    """What a payment short of the amount does."""

    #: wait for the rest until the deadline; still short then -> dispute (reason "underpaid")
    DISPUTE_AT_DEADLINE = "dispute-at-deadline"
    #: any payment short of the amount is final -> dispute at once
    DISPUTE_IMMEDIATELY = "dispute-immediately"


@dataclass(frozen=True, slots=True)
class SettlementParams:
    """The explicit rules of settlement."""

    #: deadline = time of the payment request + this window
    payment_window: timedelta = timedelta(days=1)
    #: allowed |delivered - agreed| in kWh (None: no absolute allowance)
    tolerance_kwh: Decimal | None = Decimal("0")
    #: allowed |delivered - agreed| as a fraction of the agreed quantity (None: no relative allowance)
    tolerance_rel: Decimal | None = Decimal("0.05")
    #: which reading counts as delivered
    delivered: DeliveredRule = DeliveredRule.MIN
    #: allowed |seller reading - buyer reading| in kWh before the meters count as disagreeing (None: unchecked)
    meter_tolerance_kwh: Decimal | None = None
    underpaid: UnderpaidPolicy = UnderpaidPolicy.DISPUTE_AT_DEADLINE
    #: amounts are rounded to this (half-even); None keeps them exact
    amount_quantum: Decimal | None = Decimal("0.01")
    #: who opens disputes about delivery (unpaid-payment disputes are opened by the payee, the seller)
    operator: str = "settlement"

    def __post_init__(self) -> None:
        if self.payment_window <= timedelta(0):
            raise ValueError("payment_window must be positive")
        for name in ("tolerance_kwh", "tolerance_rel", "meter_tolerance_kwh"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} may not be negative")

    def allowance(self, agreed_kwh: Decimal) -> Decimal:
        """The allowed deviation from the agreed quantity: the larger of the two allowances given."""
        parts = [Decimal(0)]
        if self.tolerance_kwh is not None:
            parts.append(self.tolerance_kwh)
        if self.tolerance_rel is not None:
            parts.append(self.tolerance_rel * agreed_kwh)
        return max(parts)


class SettlementMachine:
    """The settlement of one :class:`TransactionRecord`; feed it inputs, write the effects it returns."""

    def __init__(self, record: TransactionRecord, params: SettlementParams | None = None,
                 *, state: State = State.AGREED) -> None:
        self.record = record
        self.params = params or SettlementParams()
        self.state = state
        self.readings: dict[str, Decimal] = {}
        self.delivered_kwh: Decimal | None = None
        self.amount_due: Decimal | None = None
        self.deadline: datetime | None = None
        self.paid: Decimal = Decimal(0)
        self.history: list[tuple[State, Event, State]] = []

    # -- snapshot and restore -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What the machine knows besides its state and parameters, JSON-ready: ``readings`` (party ->
        kWh), ``delivered_kwh``, ``amount_due``, ``deadline``, ``paid`` (decimals as strings, the deadline as
        ISO 8601, None when not yet known). :meth:`restore` reads it back."""
        return {
            "readings": {party: str(q) for party, q in self.readings.items()},
            "delivered_kwh": None if self.delivered_kwh is None else str(self.delivered_kwh),
            "amount_due": None if self.amount_due is None else str(self.amount_due),
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "paid": str(self.paid),
        }

    @classmethod
    def restore(cls, record: TransactionRecord, params: SettlementParams | None, state: State | str,
                snapshot: Mapping[str, Any]) -> SettlementMachine:
        """The machine of ``record`` in ``state`` with what :meth:`snapshot` wrote; raises
        :class:`InvalidSnapshotError` (naming the field) for a value of the wrong shape, or for one the state
        cannot have (a reading by someone else than the parties, a payment state without an amount due)."""
        where = f"settlement snapshot of {record.transaction_id}"
        try:
            target = State(state)
        except ValueError:
            raise InvalidSnapshotError(f"{where}: state: not a settlement state: {state!r}") from None
        if not isinstance(snapshot, Mapping):
            raise InvalidSnapshotError(f"{where}: not an object: {type(snapshot).__name__}")
        missing = sorted(_SNAPSHOT_KEYS - snapshot.keys())
        if missing:
            raise InvalidSnapshotError(f"{where}: missing {', '.join(missing)}")
        readings = snapshot["readings"]
        if not isinstance(readings, Mapping):
            raise InvalidSnapshotError(f"{where}: readings: not an object")
        machine = cls(record, params, state=target)
        for party, quantity in readings.items():
            if party not in (record.seller, record.buyer):
                raise InvalidSnapshotError(f"{where}: readings: {party!r} is not a party of the transaction")
            machine.readings[party] = _snapshot_decimal(where, f"readings.{party}", quantity)
        machine.delivered_kwh = _snapshot_optional_decimal(where, "delivered_kwh", snapshot["delivered_kwh"])
        machine.amount_due = _snapshot_optional_decimal(where, "amount_due", snapshot["amount_due"])
        machine.paid = _snapshot_decimal(where, "paid", snapshot["paid"])
        deadline = snapshot["deadline"]
        if deadline is not None:
            try:
                machine.deadline = datetime.fromisoformat(deadline)
            except (TypeError, ValueError):
                raise InvalidSnapshotError(f"{where}: deadline: not an ISO 8601 time: {deadline!r}") from None
            if machine.deadline.tzinfo is None:
                raise InvalidSnapshotError(f"{where}: deadline: needs a UTC offset: {deadline!r}")
        parties = {"seller": record.seller, "buyer": record.buyer}
        if set(machine.readings) != {parties[role] for role in _READINGS_IN[target]}:
            raise InvalidSnapshotError(f"{where}: readings: {sorted(machine.readings)} in state {target.value}")
        if target in _REQUESTED_STATES and (machine.amount_due is None or machine.deadline is None):
            raise InvalidSnapshotError(f"{where}: amount_due and deadline are needed in state {target.value}")
        if target is State.PAID and machine.paid < (machine.amount_due or 0):
            raise InvalidSnapshotError(f"{where}: paid: {machine.paid} of {machine.amount_due} in state paid")
        return machine

    # -- the table ----------------------------------------------------------------------------------

    def step(self, event: Event) -> State:
        """Apply one event of the table (no effects); raise :class:`IllegalTransitionError` if not allowed."""
        try:
            target = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransitionError(self.state, event, self.record.transaction_id) from None
        self.history.append((self.state, event, target))
        self.state = target
        return target

    def allowed(self) -> list[Event]:
        return [e for (s, e) in TRANSITIONS if s is self.state]

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    # -- inputs -------------------------------------------------------------------------------------

    def anchor(self) -> list[Effect]:
        """Put the agreed transaction on the ledger."""
        self.step(Event.ANCHOR)
        return [AnchorRecord(self.record)]

    def reading(self, party: str, quantity_kwh: Decimal, *, measured_at: datetime,
                now: datetime | None = None) -> list[Effect]:
        """A meter reading of ``party`` (the seller's export or the buyer's import) for the interval.

        The second reading settles the delivered quantity: within tolerance the payment is requested
        (deadline ``now`` + window; ``now`` defaults to ``measured_at``), outside it a dispute is opened.
        """
        if quantity_kwh < 0:
            raise LedgerError(f"a meter reading may not be negative: {quantity_kwh}")
        if party == self.record.seller:
            event = Event.SELLER_READING
        elif party == self.record.buyer:
            event = Event.BUYER_READING
        else:
            raise LedgerError(
                f"{party!r} is neither the seller ({self.record.seller!r}) nor the buyer ({self.record.buyer!r}) "
                f"of transaction {self.record.transaction_id}"
            )
        self.step(event)
        self.readings[party] = quantity_kwh
        effects: list[Effect] = [RecordDelivery(party, quantity_kwh, measured_at)]
        if self.state is State.METERED:
            effects.extend(self._settle_delivery(now or measured_at))
        return effects

    def payment(self, amount: Decimal, *, now: datetime, reference: str | None = None) -> list[Effect]:
        """The buyer paid ``amount`` against the request."""
        if amount <= 0:
            raise LedgerError(f"a payment must be positive: {amount}")
        if self.state is not State.PAYMENT_REQUESTED:
            # the payment classification needs the request; name the input as the table would
            raise IllegalTransitionError(self.state, Event.FULL_PAYMENT, self.record.transaction_id)
        assert self.amount_due is not None
        self.paid += amount
        effects: list[Effect] = [RecordPayment(amount, now, reference)]
        if self.paid >= self.amount_due:
            self.step(Event.FULL_PAYMENT)
        elif self.params.underpaid is UnderpaidPolicy.DISPUTE_IMMEDIATELY:
            self.step(Event.UNDERPAYMENT)
            effects.append(OpenDispute("underpaid", self.record.seller, self._payment_details()))
        else:
            self.step(Event.PARTIAL_PAYMENT)
        return effects

    def tick(self, now: datetime) -> list[Effect]:
        """The clock moved to ``now``: past the deadline without full payment, a dispute is opened."""
        if self.state is State.PAYMENT_REQUESTED and self.deadline is not None and now > self.deadline:
            self.step(Event.DEADLINE_PASSED)
            reason = "underpaid_at_deadline" if self.paid > 0 else "unpaid"
            return [OpenDispute(reason, self.record.seller, self._payment_details())]
        return []

    def payment_status(self, now: datetime) -> PaymentStatus | None:
        """What :meth:`Ledger.confirm_payment` should say at ``now`` (None before a request)."""
        if self.amount_due is None or self.deadline is None:
            return None
        return payment_status(due=self.amount_due, paid=self.paid, deadline=self.deadline, now=now)

    # -- helpers ------------------------------------------------------------------------------------

    def delivered(self) -> Decimal:
        seller = self.readings[self.record.seller]
        buyer = self.readings[self.record.buyer]
        rule = self.params.delivered
        if rule is DeliveredRule.SELLER:
            return seller
        if rule is DeliveredRule.BUYER:
            return buyer
        if rule is DeliveredRule.MEAN:
            return (seller + buyer) / 2
        return min(seller, buyer)

    def _round(self, amount: Decimal) -> Decimal:
        q = self.params.amount_quantum
        return amount if q is None else amount.quantize(q, rounding=ROUND_HALF_EVEN)

    def _settle_delivery(self, now: datetime) -> list[Effect]:
        record, params = self.record, self.params
        delivered = self.delivered()
        self.delivered_kwh = delivered
        seller, buyer = self.readings[record.seller], self.readings[record.buyer]
        allowance = params.allowance(record.quantity_kwh)
        details: dict[str, Any] = {
            "agreed_kwh": str(record.quantity_kwh),
            "delivered_kwh": str(delivered),
            "seller_kwh": str(seller),
            "buyer_kwh": str(buyer),
            "allowance_kwh": str(allowance),
            "rule": params.delivered.value,
        }
        if params.meter_tolerance_kwh is not None and abs(seller - buyer) > params.meter_tolerance_kwh:
            self.step(Event.DELIVERY_MISMATCH)
            return [OpenDispute("meters_disagree", params.operator, details)]
        if abs(delivered - record.quantity_kwh) > allowance:
            self.step(Event.DELIVERY_MISMATCH)
            return [OpenDispute("delivery_outside_tolerance", params.operator, details)]
        self.step(Event.REQUEST_PAYMENT)
        self.amount_due = self._round(delivered * record.price)
        self.deadline = now + params.payment_window
        request = RequestPayment(self.amount_due, record.currency, record.buyer, record.seller, self.deadline)
        if self.amount_due == 0:
            # a few Wh whose price rounds to nothing: nothing is owed, so nothing can be late
            self.step(Event.FULL_PAYMENT)
        return [request]

    def _payment_details(self) -> dict[str, Any]:
        return {
            "amount_due": str(self.amount_due),
            "paid": str(self.paid),
            "currency": self.record.currency,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


_SNAPSHOT_KEYS = frozenset({"readings", "delivered_kwh", "amount_due", "deadline", "paid"})
#: whose meter readings the machine holds in each state
_READINGS_IN: dict[State, frozenset[str]] = {
    State.AGREED: frozenset(),
    State.ANCHORED: frozenset(),
    State.SELLER_METERED: frozenset({"seller"}),
    State.BUYER_METERED: frozenset({"buyer"}),
    State.METERED: frozenset({"seller", "buyer"}),
    State.PAYMENT_REQUESTED: frozenset({"seller", "buyer"}),
    State.PAID: frozenset({"seller", "buyer"}),
    State.DISPUTED: frozenset({"seller", "buyer"}),
}
#: states in which a payment was requested (an amount due and a deadline exist)
_REQUESTED_STATES = frozenset({State.PAYMENT_REQUESTED, State.PAID})


def _snapshot_decimal(where: str, name: str, value: Any) -> Decimal:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidSnapshotError(f"{where}: {name}: not a decimal string: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidSnapshotError(f"{where}: {name}: not a decimal: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise InvalidSnapshotError(f"{where}: {name}: must be a finite, non-negative number: {value!r}")
    return number


def _snapshot_optional_decimal(where: str, name: str, value: Any) -> Decimal | None:
    return None if value is None else _snapshot_decimal(where, name, value)


# ---- driving it through a ledger ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """Input for :func:`settle`: a party's meter reading, taken at ``at``."""

    party: str
    quantity_kwh: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    """Input for :func:`settle`: the buyer pays ``amount`` at ``at``."""

    amount: Decimal
    at: datetime
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Input for :func:`settle`: the clock reaches ``at`` (deadlines are checked)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class SettlementResult:
    state: State
    receipts: list[Receipt]
    #: the ledger's payment status after each payment or tick once a payment was requested
    statuses: list[PaymentStatus]
    machine: SettlementMachine


async def settle(ledger: Ledger, machine: SettlementMachine,
                 inputs: Sequence[Reading | Payment | Tick]) -> SettlementResult:
    """Anchor the machine's transaction (unless already past AGREED), feed ``inputs`` in order, write every
    effect through ``ledger``; stop early when the settlement is final."""
    txid = machine.record.transaction_id
    receipts: list[Receipt] = []
    statuses: list[PaymentStatus] = []

    async def write(effects: list[Effect]) -> None:
        for result in await execute(ledger, txid, effects):
            if isinstance(result, Receipt):
                receipts.append(result)
            else:
                statuses.append(result)

    if machine.state is State.AGREED:
        await write(machine.anchor())
    for item in inputs:
        if machine.done:
            break
        if isinstance(item, Reading):
            await write(machine.reading(item.party, item.quantity_kwh, measured_at=item.at, now=item.at))
        elif isinstance(item, Payment):
            await write(machine.payment(item.amount, now=item.at, reference=item.reference))
        else:
            await write(machine.tick(item.at))
            if machine.amount_due is not None:
                statuses.append(await ledger.confirm_payment(txid, now=item.at))
    return SettlementResult(machine.state, receipts, statuses, machine)


# ---- the state from an audit trail ----------------------------------------------------------------


def replay(entries: Sequence[LedgerEntry]) -> State:
    """The settlement state an audit trail shows, replayed through :data:`TRANSITIONS`.

    Raises :class:`IllegalTransitionError` when the entries do not follow the workflow.
    """
    state = State.AGREED
    seller = buyer = None
    due: Decimal | None = None
    paid = Decimal(0)

    def go(event: Event) -> State:
        try:
            return TRANSITIONS[(state, event)]
        except KeyError:
            txid = entries[0].transaction_id if entries else ""
            raise IllegalTransitionError(state, event, txid) from None

    for entry in entries:
        data = entry.data
        if entry.kind is EntryKind.ANCHOR:
            seller, buyer = data.get("seller"), data.get("buyer")
            state = go(Event.ANCHOR)
        elif entry.kind is EntryKind.DELIVERY:
            party = data.get("party")
            if party == seller:
                state = go(Event.SELLER_READING)
            elif party == buyer:
                state = go(Event.BUYER_READING)
            else:
                raise LedgerError(f"entry {entry.sequence}: delivery by {party!r}, not a party of the transaction")
        elif entry.kind is EntryKind.PAYMENT_REQUEST:
            state = go(Event.REQUEST_PAYMENT)
            due, paid = Decimal(str(data.get("amount"))), Decimal(0)
            if due == 0:  # nothing to pay (the amount rounds to zero): settled with the request
                state = go(Event.FULL_PAYMENT)
        elif entry.kind is EntryKind.PAYMENT:
            paid += Decimal(str(data.get("amount")))
            state = go(Event.FULL_PAYMENT if due is not None and paid >= due else Event.PARTIAL_PAYMENT)
        elif entry.kind is EntryKind.DISPUTE:
            if state is State.METERED:
                state = go(Event.DELIVERY_MISMATCH)
            elif state is State.PAYMENT_REQUESTED:
                state = go(Event.UNDERPAYMENT if data.get("reason") == "underpaid" else Event.DEADLINE_PASSED)
            else:
                # a dispute opened outside the workflow (e.g. by hand) still marks the settlement disputed
                state = State.DISPUTED
        # RESOLUTION and unknown kinds do not change the derived state
    return state
