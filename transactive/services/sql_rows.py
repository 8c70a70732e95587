"""The rows of the VTN's store as SQL, once for both databases: :class:`SqlRows` is the part of
:class:`~transactive.services.sqlite_store.SqliteStore` and :class:`~transactive.services.pg_store.PgStore` that
is the same statement on either, written with ``?`` placeholders (the PostgreSQL store turns them into
``%s``). What differs stays in each store: connections and transactions, the schema, times (SQLite keeps fixed
width UTC text, PostgreSQL ``timestamptz``: the hooks :meth:`SqlRows._t` and :meth:`SqlRows._d`), and the
statements whose SQL differs (insertion order, arrays, upserts with notifications, index hints).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from transactive.emix.base import Side
from transactive.services.lifecycle import TenderStatus
from transactive.services.store import (
    DeliveryRow,
    GateRow,
    OadrObject,
    PartyKeyRow,
    Registration,
    ReportValueRow,
    SettlementStep,
    Store,
    StoredReply,
    TenderRow,
    TransactionRow,
)

__all__ = ["DLV", "GATE", "KEY", "OBJ", "REG", "REPLY", "STEP", "TDOC", "TENDER", "TX", "VALUE", "SqlRows"]

# the columns each query reads and writes, by name (never by the table's column order)
REG = "registration_id, party_id, token, created_at, cancelled_at"
REPLY = "party_id, request_id, digest, reply"
TDOC = "party_id, tender_id, digest, document"
TENDER = "order_no, party_id, tender_id, seq, interval_start, side, price, quantity, status, accepted_at, filled"
TX = ("transaction_id, party_id, counterparty_id, tender_id, tender_seq, side, interval_start, interval_seconds, "
      "quantity, price, currency, document_hash, created_at")
DLV = "transaction_id, party_id, quantity, delivery_id, reported_at"
GATE = "interval_start, closed_at, price, quantity, grid_import, grid_export"
STEP = "transaction_id, seq, event, state, at, snapshot"
KEY = "party_id, fingerprint, key, bound_at"
OBJ = "kind, key, ven_id, document, updated_at"
VALUE = "ven_id, report_request_id, r_id, start, duration, value, received_at"

_ADD_TENDER_ROW = ("INSERT INTO tenders (party_id, tender_id, seq, interval_start, side, price, quantity, status, "
                   "accepted_at, filled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_UPDATE_TENDER = "UPDATE tenders SET status = ?, filled = ? WHERE party_id = ? AND tender_id = ? AND seq = ?"
_ADD_TRANSACTION = f"INSERT INTO transactions ({TX}) VALUES ({', '.join(['?'] * 13)})"
_ADD_STEP = f"INSERT INTO settlement_steps ({STEP}) VALUES (?, ?, ?, ?, ?, ?)"


class SqlRows(Store):
    """The statements both stores share (see the module docstring); a store supplies how a statement runs
    (:meth:`_exec`, :meth:`_one`, :meth:`_all`, :meth:`_many`, :meth:`_atomic`) and how times are kept."""

    # ---- what a store supplies ----
    @staticmethod
    @abstractmethod
    def _t(value: datetime) -> Any:
        """A time as the database keeps it (a naive one is refused)."""

    @staticmethod
    @abstractmethod
    def _d(value: Any) -> datetime:
        """A time as the database gave it back, UTC-aware."""

    @abstractmethod
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    @abstractmethod
    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    @abstractmethod
    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...
    @abstractmethod
    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement for many rows, all or none."""
    @abstractmethod
    def _atomic(self) -> AbstractContextManager[None]:
        """The current transaction (no savepoint: the caller's block decides), or one of its own."""

    def _opt_t(self, value: datetime | None) -> Any:
        return None if value is None else self._t(value)

    def _opt_d(self, value: Any) -> datetime | None:
        return None if value is None else self._d(value)

    # ---- registrations ----
    def _registration(self, row: Sequence[Any]) -> Registration:
        return Registration(row[0], row[1], row[2], self._d(row[3]), self._opt_d(row[4]))

    def add_registration(self, registration: Registration) -> None:
        r = registration
        self._exec(f"INSERT INTO registrations ({REG}) VALUES (?, ?, ?, ?, ?)",
                   (r.registration_id, r.party_id, r.token, self._t(r.created_at), self._opt_t(r.cancelled_at)))

    def registration_by_token(self, token: str) -> Registration | None:
        row = self._one(f"SELECT {REG} FROM registrations WHERE token = ?", (token,))
        return None if row is None else self._registration(row)

    def active_registration(self, party_id: str) -> Registration | None:
        row = self._one(f"SELECT {REG} FROM registrations WHERE party_id = ? AND cancelled_at IS NULL", (party_id,))
        return None if row is None else self._registration(row)

    def cancel_registration(self, registration_id: str, at: datetime) -> None:
        self._exec("UPDATE registrations SET cancelled_at = ? WHERE registration_id = ? AND cancelled_at IS NULL",
                   (self._t(at), registration_id))

    def registered_parties(self) -> list[str]:
        rows = self._all("SELECT DISTINCT party_id FROM registrations WHERE cancelled_at IS NULL ORDER BY party_id")
        return [r[0] for r in rows]

    # ---- party keys ----
    def party_key(self, party_id: str) -> PartyKeyRow | None:
        r = self._one(f"SELECT {KEY} FROM party_keys WHERE party_id = ?", (party_id,))
        return None if r is None else PartyKeyRow(r[0], r[1], r[2], self._d(r[3]))

    def bind_party_key(self, row: PartyKeyRow) -> None:
        self._exec(f"INSERT INTO party_keys ({KEY}) VALUES (?, ?, ?, ?)",
                   (row.party_id, row.fingerprint, row.key, self._t(row.bound_at)))

    # ---- replies ----
    def reply_for(self, party_id: str, request_id: str) -> StoredReply | None:
        row = self._one(f"SELECT {REPLY} FROM replies WHERE party_id = ? AND request_id = ?", (party_id, request_id))
        return None if row is None else StoredReply(*row)

    def put_reply(self, reply: StoredReply) -> None:
        self._exec(f"INSERT INTO replies ({REPLY}) VALUES (?, ?, ?, ?)",
                   (reply.party_id, reply.request_id, reply.digest, reply.reply))

    # ---- tenders ----
    def tender_document(self, party_id: str, tender_id: str) -> tuple[str, str] | None:
        row = self._one("SELECT digest, document FROM tender_documents WHERE party_id = ? AND tender_id = ?",
                        (party_id, tender_id))
        return None if row is None else (row[0], row[1])

    def add_tender(self, party_id: str, tender_id: str, digest: str, document: str, rows: list[TenderRow]) -> None:
        with self._atomic():  # the document and its rows together, also outside a transaction
            self._exec(f"INSERT INTO tender_documents ({TDOC}) VALUES (?, ?, ?, ?)",
                       (party_id, tender_id, digest, document))
            self._many(_ADD_TENDER_ROW, [
                (r.party_id, r.tender_id, r.seq, self._t(r.interval_start), r.side.value, str(r.price),
                 str(r.quantity), r.status.value, self._t(r.accepted_at), str(r.filled)) for r in rows])

    def tenders(self, *, party_id: str | None = None, tender_id: str | None = None,
                interval_start: datetime | None = None, status: TenderStatus | None = None) -> list[TenderRow]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("party_id", party_id), ("tender_id", tender_id),
                              ("interval_start", self._t(interval_start) if interval_start else None),
                              ("status", status.value if status else None)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {TENDER} FROM tenders" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._all(sql + " ORDER BY order_no", params)
        d = self._d
        return [TenderRow(party_id=r[1], tender_id=r[2], seq=r[3], interval_start=d(r[4]), side=Side(r[5]),
                          price=Decimal(r[6]), quantity=Decimal(r[7]), status=TenderStatus(r[8]),
                          accepted_at=d(r[9]), filled=Decimal(r[10]), order_no=int(r[0])) for r in rows]

    def tender_count(self, interval_start: datetime) -> int:
        row = self._one("SELECT count(*) FROM tenders WHERE interval_start = ?", (self._t(interval_start),))
        return int(row[0]) if row else 0

    def update_tender(self, row: TenderRow) -> None:
        self._exec(_UPDATE_TENDER, (row.status.value, str(row.filled), row.party_id, row.tender_id, row.seq))

    def update_tenders(self, rows: Sequence[TenderRow]) -> None:
        self._many(_UPDATE_TENDER, [(r.status.value, str(r.filled), r.party_id, r.tender_id, r.seq) for r in rows])

    # ---- transactions ----
    def _transaction(self, r: Sequence[Any]) -> TransactionRow:
        return TransactionRow(
            transaction_id=r[0], party_id=r[1], counterparty_id=r[2], tender_id=r[3], tender_seq=r[4],
            side=Side(r[5]), interval_start=self._d(r[6]), interval_duration=timedelta(seconds=r[7]),
            quantity=Decimal(r[8]), price=Decimal(r[9]), currency=r[10], document_hash=r[11],
            created_at=self._d(r[12]))

    def _transaction_values(self, r: TransactionRow) -> tuple[Any, ...]:
        return (r.transaction_id, r.party_id, r.counterparty_id, r.tender_id, r.tender_seq, r.side.value,
                self._t(r.interval_start), int(r.interval_duration.total_seconds()), str(r.quantity), str(r.price),
                r.currency, r.document_hash, self._t(r.created_at))

    def add_transaction(self, row: TransactionRow) -> None:
        self._exec(_ADD_TRANSACTION, self._transaction_values(row))

    def add_transactions(self, rows: Sequence[TransactionRow]) -> None:
        self._many(_ADD_TRANSACTION, [self._transaction_values(r) for r in rows])

    def transaction_by_id(self, transaction_id: str) -> TransactionRow | None:
        row = self._one(f"SELECT {TX} FROM transactions WHERE transaction_id = ?", (transaction_id,))
        return None if row is None else self._transaction(row)

    def transactions(self, *, party_id: str | None = None, interval_start: datetime | None = None,
                     start: datetime | None = None, end: datetime | None = None) -> list[TransactionRow]:
        where: list[str] = []
        params: list[Any] = []
        for clause, value in (("party_id = ?", party_id),
                              ("interval_start = ?", self._t(interval_start) if interval_start else None),
                              ("interval_start >= ?", self._t(start) if start else None),
                              ("interval_start < ?", self._t(end) if end else None)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT {TX} FROM transactions" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._all(sql + " ORDER BY interval_start, transaction_id", params)
        return [self._transaction(r) for r in rows]

    # ---- deliveries ----
    def put_delivery(self, row: DeliveryRow) -> None:
        self._exec(f"INSERT INTO deliveries ({DLV}) VALUES (?, ?, ?, ?, ?)",
                   (row.transaction_id, row.party_id, str(row.quantity), row.delivery_id, self._t(row.reported_at)))

    def delivery(self, transaction_id: str) -> DeliveryRow | None:
        r = self._one(f"SELECT {DLV} FROM deliveries WHERE transaction_id = ?", (transaction_id,))
        return None if r is None else DeliveryRow(r[0], r[1], Decimal(r[2]), r[3], self._d(r[4]))

    # ---- gates ----
    def _gate(self, r: Sequence[Any]) -> GateRow:
        return GateRow(self._d(r[0]), self._d(r[1]), None if r[2] is None else Decimal(r[2]), Decimal(r[3]),
                       Decimal(r[4]), Decimal(r[5]))

    def put_gate(self, row: GateRow) -> None:
        self._exec(f"INSERT INTO gates ({GATE}) VALUES (?, ?, ?, ?, ?, ?)",
                   (self._t(row.interval_start), self._t(row.closed_at), None if row.price is None else str(row.price),
                    str(row.quantity), str(row.grid_import), str(row.grid_export)))

    def gate(self, interval_start: datetime) -> GateRow | None:
        r = self._one(f"SELECT {GATE} FROM gates WHERE interval_start = ?", (self._t(interval_start),))
        return None if r is None else self._gate(r)

    def gates(self, *, limit: int = 1) -> list[GateRow]:
        rows = self._all(f"SELECT {GATE} FROM gates WHERE price IS NOT NULL ORDER BY interval_start DESC LIMIT ?",
                         (limit,))
        return [self._gate(r) for r in rows]

    # ---- settlement ----
    def _step_values(self, step: SettlementStep) -> tuple[Any, ...]:
        return (step.transaction_id, step.seq, step.event, step.state, self._t(step.at),
                json.dumps(step.snapshot, sort_keys=True))

    def add_settlement_step(self, step: SettlementStep) -> None:
        self._exec(_ADD_STEP, self._step_values(step))

    def add_settlement_steps(self, steps: Sequence[SettlementStep]) -> None:
        self._many(_ADD_STEP, [self._step_values(s) for s in steps])

    def settlement_steps(self, transaction_id: str) -> list[SettlementStep]:
        rows = self._all(f"SELECT {STEP} FROM settlement_steps WHERE transaction_id = ? ORDER BY seq",
                         (transaction_id,))
        return [SettlementStep(r[0], r[1], r[2], r[3], self._d(r[4]), json.loads(r[5])) for r in rows]

    # ---- OpenADR 2.0b ----
    def _object(self, r: Sequence[Any]) -> OadrObject:
        return OadrObject(r[0], r[1], r[2], r[3], self._d(r[4]))

    def oadr_object(self, kind: str, key: str) -> OadrObject | None:
        row = self._one(f"SELECT {OBJ} FROM oadr_objects WHERE kind = ? AND key = ?", (kind, key))
        return None if row is None else self._object(row)

    def add_report_values(self, rows: list[ReportValueRow]) -> None:
        self._many(f"INSERT INTO oadr_report_values ({VALUE}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(r.ven_id, r.report_request_id, r.r_id, self._opt_t(r.start), r.duration_seconds, r.value,
                     self._t(r.received_at)) for r in rows])

    def report_values(self, *, ven_id: str | None = None, limit: int | None = None) -> list[ReportValueRow]:
        where, params = ("WHERE ven_id = ?", [ven_id]) if ven_id is not None else ("", [])
        if limit is None:
            rows = self._all(f"SELECT {VALUE} FROM oadr_report_values {where} ORDER BY seq", params)
        else:
            rows = self._all(f"SELECT {VALUE} FROM oadr_report_values {where} ORDER BY seq DESC LIMIT ?",
                             [*params, limit])[::-1]
        return [ReportValueRow(r[0], r[1], r[2], self._opt_d(r[3]), r[4], r[5], self._d(r[6])) for r in rows]

    def report_value_count(self) -> int:
        row = self._one("SELECT count(*) FROM oadr_report_values")
        return int(row[0]) if row else 0
