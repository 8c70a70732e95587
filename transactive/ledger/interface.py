"""The one interface every ledger backend implements (embedded SQLite, EVM JSON-RPC, IOTA Rebased).

Backends are async, so the VTN can drive several without blocking; each states honestly what it offers
(:class:`Capabilities`). Everything a backend cannot do raises :class:`LedgerError` (or a subclass), never
a library's own exception: backends map those where they enter.

Rules every backend follows (``tests/ledger/test_contract.py`` runs the same expectations against each):

* a transaction id with no anchor on the ledger raises :class:`UnknownTransactionError` from every method
  that takes one (``audit_trail`` included: it never returns an empty list); :meth:`Ledger.verify` of a
  receipt that names nothing on the ledger is ``False``;
* a second anchor for the same transaction id raises :class:`LedgerError`;
* a payment request's status is :func:`payment_status` of what is due, what was paid, the deadline and now;
* a backend that cannot reach its node, file or database raises :class:`LedgerUnavailableError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from transactive.errors import TransactiveError
from transactive.ledger.records import LedgerEntry, PaymentStatus, Receipt, TransactionRecord

__all__ = [
    "Capabilities",
    "Ledger",
    "LedgerError",
    "LedgerUnavailableError",
    "TamperedLedgerError",
    "UnknownTransactionError",
    "payment_status",
]


class LedgerError(TransactiveError):
    """A ledger operation failed."""


class LedgerUnavailableError(LedgerError):
    """The backend cannot be reached or refused the request (network, node, database locked)."""


class UnknownTransactionError(LedgerError, KeyError):
    """No anchor for this transaction id."""


class TamperedLedgerError(LedgerError):
    """Verification found an entry altered, removed, reordered or inserted; ``index`` is the first bad one."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def payment_status(*, due: Decimal | int, paid: Decimal | int, deadline: datetime, now: datetime) -> PaymentStatus:
    """The status of a payment request at ``now``: the one rule of every backend and of the settlement machine.

    ====================================  ===========
    what was paid (``paid``) by ``now``    status
    ====================================  ===========
    ``paid >= due``                        PAID       (a late full payment still settles)
    ``0 < paid < due``                     UNDERPAID  (before and after the deadline alike)
    nothing, ``now > deadline``            EXPIRED
    nothing, ``now <= deadline``           PENDING
    ====================================  ===========

    ``due`` and ``paid`` are in one unit (the request's currency, or a backend's smallest unit, e.g. wei).
    """
    if paid >= due:
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.UNDERPAID
    return PaymentStatus.EXPIRED if now > deadline else PaymentStatus.PENDING


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend offers, stated honestly."""

    backend: str
    #: the backend moves money itself (EVM value transfer, IOTA coins); otherwise payments are records
    native_payments: bool
    #: "immediate" (durable on return), "probabilistic", "deterministic after N blocks", ...
    finality: str
    #: seconds from submit to durable, typical on the intended deployment
    expected_latency_s: float
    #: entries per second the backend sustains here, when measured (see BENCHMARKS.md)
    measured_throughput: float | None = None
    #: whether several writers can share it (embedded: one writer process at a time)
    multi_writer: bool = False
    notes: str = ""


class Ledger(ABC):
    """Anchor trades, request and confirm payments, open disputes, read the audit trail, verify."""

    @abstractmethod
    async def anchor(self, record: TransactionRecord) -> Receipt:
        """Put a transaction record on the ledger; durable before this returns. A second anchor for the same
        transaction id raises :class:`LedgerError`."""

    @abstractmethod
    async def record_delivery(self, transaction_id: str, party: str, quantity_kwh: Decimal,
                              measured_at: datetime) -> Receipt:
        """A party's meter reading for the transaction's interval."""

    @abstractmethod
    async def request_payment(self, transaction_id: str, *, amount: Decimal, currency: str,
                              payer: str, payee: str, deadline: datetime) -> Receipt:
        """Ask ``payer`` to pay ``payee`` ``amount`` by ``deadline``."""

    @abstractmethod
    async def confirm_payment(self, transaction_id: str, *, now: datetime,
                              paid: Decimal | None = None, reference: str | None = None) -> PaymentStatus:
        """Report the payment request's status at ``now``, after counting a payment if one is given.

        ``paid`` alone: the ledger makes (or records) that payment now — the embedded ledger writes it as an
        entry, a ledger with native payments transfers the value. ``reference``: the backend's identifier of
        a payment already made elsewhere (an EVM transfer's transaction hash), read back and counted; with
        ``paid`` too, its amount must match.

        The status is :func:`payment_status` of the latest request's amount, the payments counted for it, its
        deadline and ``now``: PAID once everything is paid (even late), UNDERPAID while something but not
        everything is paid (before or after the deadline), EXPIRED when nothing was paid by the deadline,
        else PENDING. No payment request: :class:`LedgerError`; no anchor: :class:`UnknownTransactionError`.
        """

    @abstractmethod
    async def open_dispute(self, transaction_id: str, *, reason: str, opened_by: str,
                           details: dict[str, Any] | None = None) -> Receipt:
        """Open a dispute on a transaction."""

    @abstractmethod
    async def audit_trail(self, transaction_id: str) -> list[LedgerEntry]:
        """Every entry about one transaction, in ledger order (the anchor first); :class:`UnknownTransactionError`
        when the transaction is not anchored."""

    @abstractmethod
    async def verify(self, record: TransactionRecord, receipt: Receipt) -> bool:
        """Is this record on the ledger, unaltered, where the receipt says? Any mismatch (another record, an
        altered one, a receipt of another entry or of nothing) is ``False``; an unreachable backend raises
        :class:`LedgerUnavailableError`."""

    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this backend offers."""

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections and files."""
