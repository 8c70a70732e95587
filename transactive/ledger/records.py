"""What goes on a ledger: transaction records, settlement entries, receipts.

A :class:`TransactionRecord` is what a matched trade leaves on the ledger: the SHA-256 hash of the
canonical bytes of its EMIX transaction (the ``eiCreateTransaction`` XML as :func:`canonical_bytes` writes
it), the parties, quantity, price and delivery interval. Money is ``Decimal``; quantities are kWh.
Ledgers store the hash and these fields, never the whole document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from transactive.model import Model

__all__ = [
    "EntryKind",
    "LedgerEntry",
    "PaymentStatus",
    "Receipt",
    "TransactionRecord",
    "canonical_bytes",
    "record_hash",
]


def canonical_bytes(message: Model) -> bytes:
    """The bytes a message is anchored by: its XML encoding without declaration (stable: the encoder
    writes fields in schema order with fixed prefixes, and the same model always gives the same bytes)."""
    from transactive.codec import encode_xml

    return encode_xml(message, declaration=False)


def record_hash(data: bytes) -> str:
    """Hex SHA-256 of canonical bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """One matched trade, as anchored: who sells to whom, how much, at what price, when."""

    transaction_id: str
    #: hex SHA-256 of the canonical bytes of the EMIX transaction
    document_hash: str
    seller: str
    buyer: str
    quantity_kwh: Decimal
    price: Decimal  # money per kWh
    currency: str
    interval_start: datetime
    interval_duration: timedelta

    def __post_init__(self) -> None:
        if not self.transaction_id:
            raise ValueError("transaction_id may not be empty")
        if len(self.document_hash) != 64 or any(c not in "0123456789abcdef" for c in self.document_hash):
            raise ValueError("document_hash must be a lower-case hex SHA-256")
        if self.seller == self.buyer:
            raise ValueError("seller and buyer must differ")
        if not self.quantity_kwh > 0:
            raise ValueError("quantity_kwh must be positive")
        if self.price < 0:
            raise ValueError("price may not be negative")
        if self.interval_start.tzinfo is None:
            raise ValueError("interval_start needs a UTC offset")
        if self.interval_duration <= timedelta(0):
            raise ValueError("interval_duration must be positive")

    @property
    def amount(self) -> Decimal:
        """What the buyer owes the seller for the agreed quantity."""
        return self.quantity_kwh * self.price

    def as_dict(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "document_hash": self.document_hash,
            "seller": self.seller,
            "buyer": self.buyer,
            "quantity_kwh": str(self.quantity_kwh),
            "price": str(self.price),
            "currency": self.currency,
            "interval_start": self.interval_start.isoformat(),
            "interval_duration_s": self.interval_duration.total_seconds(),
        }


class EntryKind(StrEnum):
    """The kinds of ledger entry; the settlement workflow writes one per step."""

    ANCHOR = "anchor"  #: a transaction agreed (TransactionRecord)
    DELIVERY = "delivery"  #: a meter reading of one party for one transaction
    PAYMENT_REQUEST = "payment_request"  #: consumer asked to pay producer for the delivered energy
    PAYMENT = "payment"  #: a payment made (or observed) against a request
    DISPUTE = "dispute"  #: unpaid after the deadline, or delivery outside tolerance
    RESOLUTION = "resolution"  #: a dispute closed


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    UNDERPAID = "underpaid"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One entry as a ledger holds it: what kind, about which transaction, with which data."""

    kind: EntryKind
    transaction_id: str
    data: dict[str, Any] = field(default_factory=dict)
    #: position in the ledger (embedded: sequence number; chains: block/checkpoint), once written
    sequence: int | None = None
    #: the backend's own id for it (embedded: entry hash; EVM: tx hash; IOTA: digest)
    reference: str | None = None
    #: when the ledger accepted it (the ledger's clock, injected)
    timestamp: datetime | None = None
    #: SHA-256 (hex) of the entry as the ledger holds it (None for a transfer without an entry in its data)
    entry_hash: str | None = None

    def receipt(self, backend: str) -> Receipt | None:
        """The receipt of this entry as read back from ``backend`` (what its writer got), for
        :meth:`~transactive.ledger.interface.Ledger.verify`; None without a reference or an entry hash."""
        if self.reference is None or self.entry_hash is None:
            return None
        return Receipt(backend, self.reference, self.sequence, self.entry_hash, self.timestamp)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that an entry is on a ledger: enough to find it again and check it."""

    backend: str
    reference: str
    sequence: int | None
    entry_hash: str
    timestamp: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
