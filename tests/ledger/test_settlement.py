"""The settlement workflow: the transition table, then whole settlements written through the embedded ledger."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.embedded_helpers import T0, Clock, record
from transactive.ledger.embedded import EmbeddedLedger
from transactive.ledger.interface import LedgerError
from transactive.ledger.records import EntryKind, PaymentStatus
from transactive.ledger.settlement import (
    DERIVED_EVENTS,
    TERMINAL_STATES,
    TRANSITIONS,
    DeliveredRule,
    Event,
    IllegalTransitionError,
    InvalidSnapshotError,
    OpenDispute,
    Payment,
    Reading,
    RequestPayment,
    SettlementMachine,
    SettlementParams,
    State,
    Tick,
    UnderpaidPolicy,
    replay,
    settle,
)

ILLEGAL = [(s, e) for s, e in itertools.product(State, Event) if (s, e) not in TRANSITIONS]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


# ---- the table -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "event", "target"), [(s, e, t) for (s, e), t in TRANSITIONS.items()])
def test_every_allowed_transition_reaches_its_table_target(state: State, event: Event, target: State) -> None:
    machine = SettlementMachine(record(), state=state)
    assert machine.step(event) is target
    assert machine.state is target
    assert machine.history == [(state, event, target)]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_every_illegal_event_raises_naming_state_and_event(state: State, event: Event) -> None:
    machine = SettlementMachine(record("tx-illegal"), state=state)
    with pytest.raises(IllegalTransitionError) as info:
        machine.step(event)
    message = str(info.value)
    assert repr(event.value) in message
    assert repr(state.value) in message
    assert "tx-illegal" in message
    assert (info.value.state, info.value.event) == (state, event)
    assert machine.state is state, "an illegal event leaves the state as it was"


def test_the_table_covers_every_state_and_event() -> None:
    assert len(TRANSITIONS) + len(ILLEGAL) == len(State) * len(Event)
    assert {t for t in TRANSITIONS.values()} | {s for s, _ in TRANSITIONS} == set(State)
    assert {e for _, e in TRANSITIONS} == set(Event)


def test_terminal_states_have_no_way_out_and_every_other_state_has_one() -> None:
    sources = {s for s, _ in TRANSITIONS}
    assert {State.PAID, State.DISPUTED} == TERMINAL_STATES
    assert sources == set(State) - TERMINAL_STATES


def test_every_state_is_reachable_from_agreed() -> None:
    reached, frontier = {State.AGREED}, [State.AGREED]
    while frontier:
        state = frontier.pop()
        for (s, _), target in TRANSITIONS.items():
            if s is state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(State)


def test_derived_events_are_the_outcomes_of_checks() -> None:
    assert {Event.REQUEST_PAYMENT, Event.DELIVERY_MISMATCH} <= DERIVED_EVENTS
    assert Event.ANCHOR not in DERIVED_EVENTS
    assert Event.DEADLINE_PASSED not in DERIVED_EVENTS


# ---- the machine without a ledger (effects) --------------------------------------------------------


def test_second_reading_within_tolerance_requests_payment_for_the_delivered_energy() -> None:
    machine = SettlementMachine(record(quantity="10", price="0.20"))
    machine.anchor()
    first = machine.reading("producer", Decimal("10.0"), measured_at=T0)
    assert machine.history[-1][2] is State.SELLER_METERED
    assert len(first) == 1
    effects = machine.reading("consumer", Decimal("9.6"), measured_at=T0 + HOUR)
    assert machine.state is State.PAYMENT_REQUESTED
    request = effects[-1]
    assert isinstance(request, RequestPayment)
    assert request.amount == Decimal("1.92")  # min(10.0, 9.6) kWh x 0.20
    assert (request.payer, request.payee) == ("consumer", "producer")
    assert request.deadline == T0 + HOUR + DAY


@pytest.mark.parametrize(
    ("rule", "amount"),
    [(DeliveredRule.MIN, "1.92"), (DeliveredRule.SELLER, "2.00"), (DeliveredRule.BUYER, "1.92"),
     (DeliveredRule.MEAN, "1.96")],
)
def test_delivered_rule_picks_the_reading_that_is_paid_for(rule: DeliveredRule, amount: str) -> None:
    machine = SettlementMachine(record(), SettlementParams(delivered=rule))
    machine.anchor()
    machine.reading("consumer", Decimal("9.6"), measured_at=T0)
    effects = machine.reading("producer", Decimal("10.0"), measured_at=T0)
    assert isinstance(effects[-1], RequestPayment)
    assert effects[-1].amount == Decimal(amount)


@pytest.mark.parametrize(
    ("tolerance_kwh", "tolerance_rel", "delivered", "state"),
    [
        ("0", "0.05", "9.5", State.PAYMENT_REQUESTED),  # exactly 5 % short: within
        ("0", "0.05", "9.49", State.DISPUTED),
        ("1", None, "9.0", State.PAYMENT_REQUESTED),  # absolute allowance only
        ("1", None, "8.99", State.DISPUTED),
        ("0.2", "0.01", "9.8", State.PAYMENT_REQUESTED),  # both given: the larger allowance (0.2 kWh) applies
        ("0.2", "0.01", "10.21", State.DISPUTED),
        (None, None, "10", State.PAYMENT_REQUESTED),  # no allowance: exact delivery only
        (None, None, "10.001", State.DISPUTED),
    ],
)
def test_delivery_tolerance_is_absolute_and_or_relative(
    tolerance_kwh: str | None, tolerance_rel: str | None, delivered: str, state: State
) -> None:
    params = SettlementParams(
        tolerance_kwh=Decimal(tolerance_kwh) if tolerance_kwh else None,
        tolerance_rel=Decimal(tolerance_rel) if tolerance_rel else None,
    )
    machine = SettlementMachine(record(quantity="10"), params)
    machine.anchor()
    machine.reading("producer", Decimal(delivered), measured_at=T0)
    effects = machine.reading("consumer", Decimal(delivered), measured_at=T0)
    assert machine.state is state
    if state is State.DISPUTED:
        assert isinstance(effects[-1], OpenDispute)
        assert effects[-1].reason == "delivery_outside_tolerance"


def test_a_reading_by_someone_else_is_refused() -> None:
    machine = SettlementMachine(record())
    machine.anchor()
    with pytest.raises(LedgerError, match="neither the seller"):
        machine.reading("mallory", Decimal(1), measured_at=T0)
    assert machine.state is State.ANCHORED


def test_the_same_party_reading_twice_is_illegal() -> None:
    machine = SettlementMachine(record())
    machine.anchor()
    machine.reading("producer", Decimal(10), measured_at=T0)
    with pytest.raises(IllegalTransitionError, match="'seller_reading' in state 'seller_metered'"):
        machine.reading("producer", Decimal(10), measured_at=T0)


def test_payment_before_both_readings_is_illegal() -> None:
    machine = SettlementMachine(record())
    machine.anchor()
    machine.reading("producer", Decimal(10), measured_at=T0)
    with pytest.raises(IllegalTransitionError, match="state 'seller_metered'"):
        machine.payment(Decimal(2), now=T0)
    assert machine.tick(T0 + 10 * DAY) == [], "no deadline runs before a payment was requested"
    assert machine.state is State.SELLER_METERED


def test_params_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="payment_window"):
        SettlementParams(payment_window=timedelta(0))
    with pytest.raises(ValueError, match="tolerance_kwh"):
        SettlementParams(tolerance_kwh=Decimal(-1))


# ---- snapshot and restore --------------------------------------------------------------------------


def _agreed(m: SettlementMachine) -> None:
    pass


def _anchored(m: SettlementMachine) -> None:
    m.anchor()


def _seller_metered(m: SettlementMachine) -> None:
    m.anchor()
    m.reading("producer", Decimal("10.0"), measured_at=T0)


def _buyer_metered(m: SettlementMachine) -> None:
    m.anchor()
    m.reading("consumer", Decimal("9.6"), measured_at=T0)


def _requested(m: SettlementMachine) -> None:
    _seller_metered(m)
    m.reading("consumer", Decimal("9.6"), measured_at=T0 + HOUR)


def _partly_paid(m: SettlementMachine) -> None:
    _requested(m)
    m.payment(Decimal("0.50"), now=T0 + 2 * HOUR)


def _paid(m: SettlementMachine) -> None:
    _partly_paid(m)
    m.payment(Decimal("1.42"), now=T0 + 3 * HOUR)


def _disputed_delivery(m: SettlementMachine) -> None:
    _seller_metered(m)
    m.reading("consumer", Decimal("5"), measured_at=T0 + HOUR)


def _disputed_unpaid(m: SettlementMachine) -> None:
    _partly_paid(m)
    m.tick(T0 + 3 * DAY)


SNAPSHOT_SCENARIOS: dict[str, tuple[Callable[[SettlementMachine], None], State]] = {
    "agreed": (_agreed, State.AGREED),
    "anchored": (_anchored, State.ANCHORED),
    "seller metered": (_seller_metered, State.SELLER_METERED),
    "buyer metered": (_buyer_metered, State.BUYER_METERED),
    "payment requested": (_requested, State.PAYMENT_REQUESTED),
    "partly paid": (_partly_paid, State.PAYMENT_REQUESTED),
    "paid": (_paid, State.PAID),
    "disputed delivery": (_disputed_delivery, State.DISPUTED),
    "disputed unpaid": (_disputed_unpaid, State.DISPUTED),
}


@pytest.mark.parametrize("scenario", SNAPSHOT_SCENARIOS)
def test_snapshot_restore_round_trips_through_json(scenario: str) -> None:
    drive, state = SNAPSHOT_SCENARIOS[scenario]
    machine = SettlementMachine(record())
    drive(machine)
    assert machine.state is state
    stored = json.loads(json.dumps(machine.snapshot()))
    assert set(stored) == {"readings", "delivered_kwh", "amount_due", "deadline", "paid"}
    restored = SettlementMachine.restore(record(), machine.params, machine.state.value, stored)
    assert restored.state is machine.state
    assert restored.readings == machine.readings
    assert restored.delivered_kwh == machine.delivered_kwh
    assert restored.amount_due == machine.amount_due
    assert restored.deadline == machine.deadline
    assert restored.paid == machine.paid
    assert restored.snapshot() == machine.snapshot()
    assert restored.payment_status(T0 + 2 * DAY) == machine.payment_status(T0 + 2 * DAY)


def test_a_restored_machine_carries_on_where_it_stopped() -> None:
    machine = SettlementMachine(record())
    _partly_paid(machine)
    restored = SettlementMachine.restore(record(), None, State.PAYMENT_REQUESTED, machine.snapshot())
    assert machine.snapshot() == {"readings": {"producer": "10.0", "consumer": "9.6"}, "delivered_kwh": "9.6",
                                  "amount_due": "1.92", "deadline": (T0 + HOUR + DAY).isoformat(), "paid": "0.50"}
    assert restored.payment_status(T0 + 2 * HOUR) is PaymentStatus.UNDERPAID
    restored.payment(Decimal("1.42"), now=T0 + 3 * HOUR)
    assert restored.state is State.PAID
    assert restored.paid == Decimal("1.92")


def _valid_snapshot() -> dict[str, Any]:
    machine = SettlementMachine(record())
    _partly_paid(machine)
    return machine.snapshot()


@pytest.mark.parametrize(("state", "changes", "named"), [
    ("nonsense", {}, "state"),
    ("payment_requested", {"paid": "lots"}, "paid"),
    ("payment_requested", {"paid": "-1"}, "paid"),
    ("payment_requested", {"paid": "NaN"}, "paid"),
    ("payment_requested", {"paid": 0.5}, "paid"),  # a float is not a stored decimal
    ("payment_requested", {"amount_due": True}, "amount_due"),
    ("payment_requested", {"amount_due": None}, "amount_due"),
    ("payment_requested", {"deadline": "tomorrow"}, "deadline"),
    ("payment_requested", {"deadline": "2025-06-02T13:00:00"}, "deadline"),  # no UTC offset
    ("payment_requested", {"deadline": None}, "deadline"),
    ("payment_requested", {"delivered_kwh": "x"}, "delivered_kwh"),
    ("payment_requested", {"readings": ["producer"]}, "readings"),
    ("payment_requested", {"readings": {"producer": "10", "mallory": "1"}}, "mallory"),
    ("payment_requested", {"readings": {"producer": "10"}}, "readings"),  # a reading missing for the state
    ("payment_requested", {"readings": {"producer": "10", "consumer": "-2"}}, "readings.consumer"),
    ("anchored", {}, "readings"),  # readings before any meter was read
    ("paid", {}, "paid"),  # 0.50 of 1.92 is not paid
    ("payment_requested", {"paid": None}, "paid"),
])
def test_restore_refuses_a_snapshot_it_cannot_trust(state: str, changes: dict[str, Any], named: str) -> None:
    snapshot = {**_valid_snapshot(), **changes}
    with pytest.raises(InvalidSnapshotError, match=named) as info:
        SettlementMachine.restore(record("tx-snap"), None, state, snapshot)
    assert "tx-snap" in str(info.value)
    assert isinstance(info.value, LedgerError)


def test_restore_names_missing_keys_and_refuses_what_is_not_an_object() -> None:
    snapshot = _valid_snapshot()
    del snapshot["paid"], snapshot["deadline"]
    with pytest.raises(InvalidSnapshotError, match="missing deadline, paid"):
        SettlementMachine.restore(record(), None, State.PAYMENT_REQUESTED, snapshot)
    with pytest.raises(InvalidSnapshotError, match="not an object"):
        SettlementMachine.restore(record(), None, State.PAYMENT_REQUESTED, ["paid"])  # type: ignore[arg-type]


# ---- whole settlements through the embedded ledger --------------------------------------------------


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[EmbeddedLedger]:
    led = EmbeddedLedger(tmp_path / "settle.ledger", now=Clock())
    try:
        yield led
    finally:
        await led.close()


async def test_an_amount_that_rounds_to_nothing_is_settled_with_its_request(ledger: EmbeddedLedger) -> None:
    # 7 Wh at 0.2078/kWh is 0.0015: nothing is owed at a cent's quantum, so nothing can be late either
    machine = SettlementMachine(record(quantity="0.007", price="0.2078"))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("0.007"), T0 + HOUR),
        Reading("consumer", Decimal("0.007"), T0 + HOUR),
        Tick(T0 + 3 * DAY),
    ])
    assert machine.amount_due == Decimal("0.00")
    assert result.state is State.PAID
    assert await kinds(ledger, "tx-1") == ["anchor", "delivery", "delivery", "payment_request"]
    assert replay(await ledger.audit_trail("tx-1")) is State.PAID


async def kinds(ledger: EmbeddedLedger, txid: str) -> list[str]:
    return [e.kind.value for e in await ledger.audit_trail(txid)]


async def test_paid_on_time_ends_paid_with_one_entry_per_step(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record(quantity="10", price="0.20"))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("10.0"), T0 + HOUR),
        Reading("consumer", Decimal("9.9"), T0 + HOUR),
        Payment(Decimal("1.98"), T0 + 2 * HOUR, "bank-ref-1"),
        Tick(T0 + 3 * DAY),  # after PAID nothing more happens
    ])
    assert result.state is State.PAID
    assert result.statuses == [PaymentStatus.PAID]
    assert await kinds(ledger, "tx-1") == ["anchor", "delivery", "delivery", "payment_request", "payment"]
    trail = await ledger.audit_trail("tx-1")
    assert trail[3].data["amount"] == "1.98"
    assert trail[4].data["reference"] == "bank-ref-1"
    assert replay(trail) is State.PAID
    assert len(result.receipts) == 4  # anchor, two deliveries, request (the payment returns a status)
    assert (await ledger.verify_chain()).valid


async def test_underpaid_at_the_deadline_is_disputed(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record(quantity="10", price="0.20"))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("10"), T0),
        Reading("consumer", Decimal("10"), T0),
        Payment(Decimal("1.50"), T0 + HOUR),
        Tick(T0 + 2 * HOUR),
        Tick(T0 + DAY + HOUR),
    ])
    assert result.state is State.DISPUTED
    assert result.statuses == [PaymentStatus.UNDERPAID, PaymentStatus.UNDERPAID, PaymentStatus.UNDERPAID]
    trail = await ledger.audit_trail("tx-1")
    assert [e.kind for e in trail][-2:] == [EntryKind.PAYMENT, EntryKind.DISPUTE]
    assert trail[-1].data["reason"] == "underpaid_at_deadline"
    assert trail[-1].data["opened_by"] == "producer"
    assert trail[-1].data["details"]["paid"] == "1.50"
    assert replay(trail) is State.DISPUTED


async def test_underpaid_with_immediate_policy_is_disputed_at_once(ledger: EmbeddedLedger) -> None:
    params = SettlementParams(underpaid=UnderpaidPolicy.DISPUTE_IMMEDIATELY)
    machine = SettlementMachine(record(quantity="10", price="0.20"), params)
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("10"), T0),
        Reading("consumer", Decimal("10"), T0),
        Payment(Decimal("1.99"), T0 + HOUR),
    ])
    assert result.state is State.DISPUTED
    trail = await ledger.audit_trail("tx-1")
    assert trail[-1].data["reason"] == "underpaid"
    assert replay(trail) is State.DISPUTED


async def test_partial_payments_adding_up_before_the_deadline_are_paid(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record(quantity="10", price="0.20"))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("10"), T0),
        Reading("consumer", Decimal("10"), T0),
        Payment(Decimal("1.00"), T0 + HOUR),
        Payment(Decimal("1.00"), T0 + 2 * HOUR),
    ])
    assert result.state is State.PAID
    assert result.statuses == [PaymentStatus.UNDERPAID, PaymentStatus.PAID]
    assert replay(await ledger.audit_trail("tx-1")) is State.PAID


async def test_unpaid_after_the_deadline_expires_into_a_dispute(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record(), SettlementParams(payment_window=timedelta(hours=6)))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("10"), T0),
        Reading("consumer", Decimal("10"), T0),
        Tick(T0 + timedelta(hours=5)),
        Tick(T0 + timedelta(hours=7)),
    ])
    assert result.statuses == [PaymentStatus.PENDING, PaymentStatus.EXPIRED]
    assert result.state is State.DISPUTED
    trail = await ledger.audit_trail("tx-1")
    assert trail[-1].kind is EntryKind.DISPUTE
    assert trail[-1].data["reason"] == "unpaid"
    assert replay(trail) is State.DISPUTED


async def test_delivery_outside_tolerance_is_disputed_without_a_payment_request(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record(quantity="10"))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("8"), T0),
        Reading("consumer", Decimal("7.9"), T0),
        Payment(Decimal("1"), T0 + HOUR),  # ignored: the settlement is final
    ])
    assert result.state is State.DISPUTED
    assert await kinds(ledger, "tx-1") == ["anchor", "delivery", "delivery", "dispute"]
    dispute = (await ledger.audit_trail("tx-1"))[-1]
    assert dispute.data["reason"] == "delivery_outside_tolerance"
    assert dispute.data["opened_by"] == "settlement"
    assert dispute.data["details"]["delivered_kwh"] == "7.9"
    assert replay(await ledger.audit_trail("tx-1")) is State.DISPUTED


async def test_meters_disagreeing_beyond_their_tolerance_is_disputed(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record(quantity="10"), SettlementParams(meter_tolerance_kwh=Decimal("0.1")))
    result = await settle(ledger, machine, [
        Reading("producer", Decimal("10.2"), T0),
        Reading("consumer", Decimal("10.0"), T0),
    ])
    assert result.state is State.DISPUTED
    assert (await ledger.audit_trail("tx-1"))[-1].data["reason"] == "meters_disagree"


async def test_both_parties_readings_are_needed_before_payment_is_requested(ledger: EmbeddedLedger) -> None:
    machine = SettlementMachine(record())
    result = await settle(ledger, machine, [
        Reading("consumer", Decimal("10"), T0),
        Tick(T0 + 30 * DAY),
    ])
    assert result.state is State.BUYER_METERED
    assert await kinds(ledger, "tx-1") == ["anchor", "delivery"]
    assert replay(await ledger.audit_trail("tx-1")) is State.BUYER_METERED
    with pytest.raises(LedgerError, match="no payment was requested"):
        await ledger.confirm_payment("tx-1", now=T0)


def test_replay_refuses_a_trail_that_breaks_the_workflow() -> None:
    from transactive.ledger.records import LedgerEntry

    entries = [LedgerEntry(EntryKind.ANCHOR, "tx-1", {"seller": "p", "buyer": "c"}, 1),
               LedgerEntry(EntryKind.PAYMENT_REQUEST, "tx-1", {"amount": "1"}, 2)]
    with pytest.raises(IllegalTransitionError, match="'request_payment' in state 'anchored'"):
        replay(entries)
