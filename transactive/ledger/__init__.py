"""Settlement on a ledger: one async interface (:class:`Ledger`), an embedded tamper-evident SQLite ledger
(the default), and adapters for real distributed ledgers (EVM JSON-RPC; IOTA Rebased)."""

from transactive.ledger.interface import (
    Capabilities,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    TamperedLedgerError,
    UnknownTransactionError,
    payment_status,
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
    "payment_status",
    "record_hash",
]

# the embedded ledger (the default backend) and the settlement workflow
from transactive.ledger.embedded import EmbeddedLedger, NotALedgerError, VerificationReport, verify_file
from transactive.ledger.settlement import (
    TRANSITIONS,
    IllegalTransitionError,
    SettlementMachine,
    SettlementParams,
    State,
    settle,
)

__all__ += [
    "TRANSITIONS",
    "EmbeddedLedger",
    "IllegalTransitionError",
    "NotALedgerError",
    "SettlementMachine",
    "SettlementParams",
    "State",
    "VerificationReport",
    "settle",
    "verify_file",
]
