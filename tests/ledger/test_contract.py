"""The Ledger contract: one rule for payment statuses, and the same expectations run against every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from transactive.ledger import PaymentStatus, payment_status

DEADLINE = datetime(2026, 3, 1, 12, tzinfo=UTC)
BEFORE, AT, AFTER = DEADLINE - timedelta(hours=1), DEADLINE, DEADLINE + timedelta(microseconds=1)

#: (due, paid, now) -> status: the table of interface.payment_status
PAYMENT_STATUS_TABLE = [
    (Decimal("5"), Decimal("0"), BEFORE, PaymentStatus.PENDING),
    (Decimal("5"), Decimal("0"), AT, PaymentStatus.PENDING),  # the deadline itself is still in time
    (Decimal("5"), Decimal("0"), AFTER, PaymentStatus.EXPIRED),
    (Decimal("5"), Decimal("2"), BEFORE, PaymentStatus.UNDERPAID),
    (Decimal("5"), Decimal("2"), AFTER, PaymentStatus.UNDERPAID),  # partial after the deadline: underpaid
    (Decimal("5"), Decimal("4.99"), AFTER, PaymentStatus.UNDERPAID),
    (Decimal("5"), Decimal("5"), BEFORE, PaymentStatus.PAID),
    (Decimal("5"), Decimal("5.00"), AFTER, PaymentStatus.PAID),  # a late full payment still settles
    (Decimal("5"), Decimal("7"), BEFORE, PaymentStatus.PAID),  # overpaid is paid
    (Decimal("0"), Decimal("0"), AFTER, PaymentStatus.PAID),  # nothing due: nothing owed
    (300_000_000_000, 100_000_000_000, AFTER, PaymentStatus.UNDERPAID),  # in wei, as the EVM adapter counts
    (300_000_000_000, 300_000_000_000, AFTER, PaymentStatus.PAID),
]


@pytest.mark.parametrize(("due", "paid", "now", "expected"), PAYMENT_STATUS_TABLE)
def test_payment_status_follows_its_table(due: Decimal | int, paid: Decimal | int, now: datetime,
                                          expected: PaymentStatus) -> None:
    assert payment_status(due=due, paid=paid, deadline=DEADLINE, now=now) is expected
