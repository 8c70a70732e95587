"""Settlement on a ledger: one async interface (:class:`Ledger`), an embedded tamper-evident SQLite ledger
(the default), and adapters for real distributed ledgers (EVM JSON-RPC; IOTA Rebased)."""

from transactive.ledger.interface import (
    Capabilities,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    TamperedLedgerError,
    UnknownTransactionError,
)
from transactive.ledger.records import (
    EntryKind,
    LedgerEntry,
    PaymentStatus,
    Receipt,
    TransactionRecord,
    canonical_bytes,
    record_hash,
)

__all__ = [
    "Capabilities",
    "EntryKind",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "LedgerUnavailableError",
    "PaymentStatus",
    "Receipt",
    "TamperedLedgerError",
    "TransactionRecord",
    "UnknownTransactionError",
    "canonical_bytes",
    "record_hash",
]
