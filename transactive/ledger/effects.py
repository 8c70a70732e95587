"""What the settlement machine asks to be written: one ledger entry per step, as frozen effects, and
:func:`execute`, which writes them through any :class:`~transactive.ledger.interface.Ledger` in order.

The machine (:mod:`transactive.ledger.settlement`) decides; this module only carries out. An effect maps to
one call of the interface: :class:`AnchorRecord` → ``anchor``, :class:`RecordDelivery` → ``record_delivery``,
:class:`RequestPayment` → ``request_payment``, :class:`RecordPayment` → ``confirm_payment`` (with the amount
paid), :class:`OpenDispute` → ``open_dispute``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from transactive.ledger.interface import Ledger
from transactive.ledger.records import PaymentStatus, Receipt, TransactionRecord

__all__ = ["AnchorRecord", "Effect", "OpenDispute", "RecordDelivery", "RecordPayment", "RequestPayment", "execute"]


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    record: TransactionRecord


@dataclass(frozen=True, slots=True)
class RecordDelivery:
    party: str
    quantity_kwh: Decimal
    measured_at: datetime


@dataclass(frozen=True, slots=True)
class RequestPayment:
    amount: Decimal
    currency: str
    payer: str
    payee: str
    deadline: datetime


@dataclass(frozen=True, slots=True)
class RecordPayment:
    amount: Decimal
    now: datetime
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class OpenDispute:
    reason: str
    opened_by: str
    details: dict[str, Any] = field(default_factory=dict)


Effect = AnchorRecord | RecordDelivery | RequestPayment | RecordPayment | OpenDispute


async def execute(ledger: Ledger, transaction_id: str, effects: Iterable[Effect]) -> list[Receipt | PaymentStatus]:
    """Write effects through ``ledger``, in order; one receipt (or payment status) per effect."""
    out: list[Receipt | PaymentStatus] = []
    for effect in effects:
        if isinstance(effect, AnchorRecord):
            out.append(await ledger.anchor(effect.record))
        elif isinstance(effect, RecordDelivery):
            out.append(await ledger.record_delivery(transaction_id, effect.party, effect.quantity_kwh,
                                                    effect.measured_at))
        elif isinstance(effect, RequestPayment):
            out.append(await ledger.request_payment(transaction_id, amount=effect.amount, currency=effect.currency,
                                                    payer=effect.payer, payee=effect.payee, deadline=effect.deadline))
        elif isinstance(effect, RecordPayment):
            out.append(await ledger.confirm_payment(transaction_id, now=effect.now, paid=effect.amount,
                                                    reference=effect.reference))
        else:
            out.append(await ledger.open_dispute(transaction_id, reason=effect.reason, opened_by=effect.opened_by,
                                                 details=effect.details))
    return out
