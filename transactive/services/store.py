"""Where the VTN keeps what it accepted: the :class:`Store` interface, its rows and its errors. The store in
use is :class:`~transactive.services.sqlite_store.SqliteStore` (or its in-memory twin
:class:`~transactive.services.sqlite_store.MemoryStore`), whose module says how it keeps things durable.

What every store promises: every accepted request is written in *one* transaction (``with store.transaction():
...``) and the services reply only after it committed; a transaction inside another is a savepoint whose
failure undoes only its own writes (how :meth:`~transactive.services.VtnCore.handle_many` commits many requests
at once while a refused one leaves no trace).

Faults: :class:`StoreUnavailableError` (a :class:`StoreError`) is the *storage* failing, not the request or the
code: the disk is full, an I/O error, the database locked past its timeout, a damaged file, a read-only
database. Nothing of the failed transaction was written, so the caller may answer "try again later" (the VTN
answers 503). Any other :class:`StoreError` (a constraint, a statement the schema does not know) is a bug.

Idempotency keys: replies by ``(party_id, request_id)``, tenders by ``(party_id, tender_id)`` (one row per
stream interval, ``seq``), transactions by ``transaction_id``, deliveries by ``transaction_id``, gates by
interval start, settlement steps by ``(transaction_id, seq)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from transactive.emix.base import Side
from transactive.errors import TransactiveError
from transactive.services.lifecycle import TenderStatus

__all__ = [
    "DeliveryRow",
    "GateRow",
    "OadrObject",
    "PartyKeyRow",
    "Registration",
    "ReportValueRow",
    "SettlementStep",
    "Store",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailableError",
    "StoredReply",
    "TenderRow",
    "TransactionRow",
    "url_for_messages",
]


class StoreError(TransactiveError):
    """The store could not read or write (wrong schema version, a constraint, ...; see the subclass)."""


class StoreUnavailableError(StoreError):
    """The storage failed, not the request: disk full, I/O error, database locked past its timeout, a damaged
    or read-only file. Nothing of the failed transaction was written; the same write may succeed later."""


class StoreConflictError(StoreUnavailableError):
    """Another VTN process sharing the database wrote the same key at the same moment (a unique key taken
    between this transaction's read and its write, a serialization failure, a deadlock broken by the
    database). Nothing of this transaction was written; the same request sent again sees the other write
    (a stored reply, a registration) and is answered from it. Only stores shared by several processes raise it."""


# ---- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    """A party's registration; ``token`` is the bearer credential issued with it."""

    registration_id: str
    party_id: str
    token: str
    created_at: datetime
    cancelled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None


@dataclass(frozen=True, slots=True)
class TenderRow:
    """One interval of an accepted tender (a stream tender has one row per interval, ``seq`` 0, 1, ...).

    ``order_no`` is the store's acceptance sequence (time priority at clearing; 0 before insertion).
    """

    party_id: str
    tender_id: str
    seq: int
    interval_start: datetime
    side: Side
    price: Decimal
    quantity: Decimal
    status: TenderStatus
    accepted_at: datetime
    filled: Decimal = Decimal(0)
    order_no: int = 0


@dataclass(frozen=True, slots=True)
class TransactionRow:
    """One transaction: a matched tender interval against the market (``counterparty_id``)."""

    transaction_id: str
    party_id: str
    counterparty_id: str
    tender_id: str
    tender_seq: int
    side: Side
    interval_start: datetime
    interval_duration: timedelta
    quantity: Decimal
    price: Decimal
    currency: str
    document_hash: str
    created_at: datetime

    @property
    def amount(self) -> Decimal:
        """Money for the agreed quantity (positive; who pays follows from ``side``)."""
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A party's metered delivery for one transaction."""

    transaction_id: str
    party_id: str
    quantity: Decimal
    delivery_id: str
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class GateRow:
    """A closed interval: its clearing price (None if nothing matched) and quantity; also the quote."""

    interval_start: datetime
    closed_at: datetime
    price: Decimal | None
    quantity: Decimal
    grid_import: Decimal = Decimal(0)
    grid_export: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SettlementStep:
    """One settlement step of a transaction, with the settlement state after it (``snapshot``)."""

    transaction_id: str
    seq: int
    event: str
    state: str
    at: datetime
    snapshot: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PartyKeyRow:
    """The key a party id is bound to, for good (``key``: how it travels, ``ed25519:...`` or ``x509:...``)."""

    party_id: str
    fingerprint: str
    key: str
    bound_at: datetime


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The reply once sent for ``(party_id, request_id)``; ``digest`` identifies the request's content."""

    party_id: str
    request_id: str
    digest: str
    reply: str


@dataclass(frozen=True, slots=True)
class OadrObject:
    """One object of the OpenADR 2.0b services (:mod:`transactive.services.oadr`): a VEN's registration, an
    event, an opt, a report registration or request, an outgoing message; ``document`` is its JSON, ``kind``
    and ``key`` identify it, ``ven_id`` (None: not one VEN's) lets the VTN list one VEN's objects."""

    kind: str
    key: str
    ven_id: str | None
    document: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReportValueRow:
    """One value an OpenADR VEN reported: data point ``r_id`` of report request ``report_request_id``, for the
    interval starting at ``start`` (None: the report's own start) of ``duration_seconds``; ``value`` is the
    payload as JSON (a number, or a resource status object)."""

    ven_id: str
    report_request_id: str
    r_id: str
    start: datetime | None
    duration_seconds: float | None
    value: str
    received_at: datetime


# ---- the interface -------------------------------------------------------------------------------


class Store(ABC):
    """What the services need from persistence. Writes made inside :meth:`transaction` commit together."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """One atomic, durable unit of work (re-entrant: an inner block joins the outer one)."""

    # registrations
    @abstractmethod
    def add_registration(self, registration: Registration) -> None: ...
    @abstractmethod
    def registration_by_token(self, token: str) -> Registration | None: ...
    @abstractmethod
    def active_registration(self, party_id: str) -> Registration | None: ...
    @abstractmethod
    def cancel_registration(self, registration_id: str, at: datetime) -> None: ...
    @abstractmethod
    def registered_parties(self) -> list[str]: ...

    # party keys (identity: a party id is bound to one key for good)
    @abstractmethod
    def party_key(self, party_id: str) -> PartyKeyRow | None: ...
    @abstractmethod
    def bind_party_key(self, row: PartyKeyRow) -> None: ...

    # request replies (idempotency)
    @abstractmethod
    def reply_for(self, party_id: str, request_id: str) -> StoredReply | None: ...
    @abstractmethod
    def put_reply(self, reply: StoredReply) -> None: ...

    # tenders
    @abstractmethod
    def tender_document(self, party_id: str, tender_id: str) -> tuple[str, str] | None:
        """``(digest, document)`` of an accepted tender."""
    @abstractmethod
    def add_tender(self, party_id: str, tender_id: str, digest: str, document: str, rows: list[TenderRow]) -> None: ...
    @abstractmethod
    def tenders(self, *, party_id: str | None = None, tender_id: str | None = None,
                interval_start: datetime | None = None, status: TenderStatus | None = None) -> list[TenderRow]:
        """Matching rows in acceptance order."""
    @abstractmethod
    def tender_count(self, interval_start: datetime) -> int:
        """How many tender rows the interval has (any status)."""
    @abstractmethod
    def tender_ids(self, party_id: str) -> list[str]: ...
    @abstractmethod
    def update_tender(self, row: TenderRow) -> None:
        """Write ``status`` and ``filled`` of an existing row."""
    def update_tenders(self, rows: Sequence[TenderRow]) -> None:
        """:meth:`update_tender` of each row, all or none. A store overrides it to save round trips (a gate
        closure writes a row per tender); this default writes them one by one."""
        with self.transaction():
            for row in rows:
                self.update_tender(row)

    # transactions
    @abstractmethod
    def add_transaction(self, row: TransactionRow) -> None: ...
    def add_transactions(self, rows: Sequence[TransactionRow]) -> None:
        """:meth:`add_transaction` of each row, in order, all or none (a gate's transactions); a store
        overrides it to save round trips, this default writes them one by one."""
        with self.transaction():
            for row in rows:
                self.add_transaction(row)
    @abstractmethod
    def transaction_by_id(self, transaction_id: str) -> TransactionRow | None: ...
    def transactions_by_id(self, transaction_ids: Iterable[str]) -> dict[str, TransactionRow]:
        """The stored transactions among ``transaction_ids``, by id (an unknown id is left out). A store
        overrides it to ask once for all; this default reads them one by one."""
        found = {txid: self.transaction_by_id(txid) for txid in dict.fromkeys(transaction_ids)}
        return {txid: row for txid, row in found.items() if row is not None}
    @abstractmethod
    def transactions(self, *, party_id: str | None = None, interval_start: datetime | None = None,
                     start: datetime | None = None, end: datetime | None = None) -> list[TransactionRow]: ...

    # deliveries
    @abstractmethod
    def put_delivery(self, row: DeliveryRow) -> None: ...
    @abstractmethod
    def delivery(self, transaction_id: str) -> DeliveryRow | None: ...

    # gates and quotes
    @abstractmethod
    def put_gate(self, row: GateRow) -> None: ...
    @abstractmethod
    def gate(self, interval_start: datetime) -> GateRow | None: ...
    @abstractmethod
    def gates(self, *, limit: int = 1) -> list[GateRow]:
        """The most recently *cleared intervals*, latest interval first."""

    # settlement
    @abstractmethod
    def add_settlement_step(self, step: SettlementStep) -> None: ...
    @abstractmethod
    def settlement_steps(self, transaction_id: str) -> list[SettlementStep]: ...
    def add_settlement_steps(self, steps: Sequence[SettlementStep]) -> None:
        """:meth:`add_settlement_step` of each step, in order, all or none (the steps logged together); a
        store overrides it to save round trips, this default writes them one by one."""
        with self.transaction():
            for step in steps:
                self.add_settlement_step(step)
    def settlement_step_counts(self, transaction_ids: Iterable[str]) -> dict[str, int]:
        """How many steps each transaction has logged (0 for none), for every id given: the next step's
        ``seq`` is one more. A store overrides it to ask once for all; this default reads each log."""
        return {txid: len(self.settlement_steps(txid)) for txid in dict.fromkeys(transaction_ids)}

    # OpenADR 2.0b objects, values and signature nonces (services/oadr)
    @abstractmethod
    def oadr_object(self, kind: str, key: str) -> OadrObject | None: ...
    @abstractmethod
    def put_oadr_object(self, obj: OadrObject) -> None:
        """Insert or replace the object ``(kind, key)``."""
    @abstractmethod
    def delete_oadr_object(self, kind: str, key: str) -> None: ...
    @abstractmethod
    def oadr_objects(self, kind: str, *, ven_id: str | None = None) -> list[OadrObject]:
        """Every object of ``kind`` (of one VEN when ``ven_id`` is given), in key order."""
    @abstractmethod
    def add_report_values(self, rows: list[ReportValueRow]) -> None: ...
    @abstractmethod
    def report_values(self, *, ven_id: str | None = None, limit: int | None = None) -> list[ReportValueRow]:
        """The reported values in arrival order (the latest ``limit`` when given)."""
    @abstractmethod
    def report_value_count(self) -> int: ...
    @abstractmethod
    def remember_nonce(self, nonce: str, at: datetime, forget_before: datetime) -> bool:
        """Record a signature's nonce seen at ``at``; False if it was recorded before (a replay). Nonces seen
        before ``forget_before`` are forgotten (their timestamps are refused as stale anyway)."""

    # several processes on one database
    def hold_interval(self, interval_start: datetime, *, exclusive: bool = False) -> None:  # noqa: B027
        """Inside a transaction: keep tender acceptance (shared) and gate closure (``exclusive``) of one
        interval apart until the transaction ends, so that a tender accepted by one process is either seen
        by the gate that another process closes or refused because that gate is closed. A store that one
        process writes (SQLite: one writer at a time, ``BEGIN IMMEDIATE``) needs nothing here."""

    # health
    @abstractmethod
    def probe(self) -> None:
        """One small durable write (its own transaction): returns once writes work, raises
        :class:`StoreUnavailableError` while they do not."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the database."""

    def reader(self) -> Store | None:
        """A store to read from in worker threads, one thread at a time, while this one goes on writing: it
        sees committed data only (this store itself when its reads already work so; a second connection
        otherwise; the caller closes it if it is not this store). None: this store has none (a database in
        memory), so reads go through this store, on its own thread."""
        return None


def url_for_messages(url: str) -> str:
    """A database URL as messages and logs show it: any password left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
