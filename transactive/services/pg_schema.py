"""The schema of the PostgreSQL store (:mod:`transactive.services.pg_store`) and how psycopg's errors map to
the store's; how values are written and read back (and a URL as the store's messages show it).

Schema: :data:`MIGRATIONS`, ``(version, statements)`` in order, applied by the store at start (each once,
recorded in ``schema_migrations``); a version once released is never edited, only followed by a new one.
Ordered text columns use the ``"C"`` collation (byte order, as SQLite sorts), whatever the database's locale.

Errors (:func:`mapped_error`): a unique key taken, a serialization failure, a deadlock:
:class:`~transactive.services.store.StoreConflictError`; the server unreachable, shut down, out of space or
read-only, a lost connection, a timeout (connection, lock): :class:`~transactive.services.store.StoreUnavailableError`;
anything else: a plain :class:`~transactive.services.store.StoreError` (a bug).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import psycopg.errors
from psycopg_pool import PoolClosed, PoolTimeout

from transactive.services.store import StoreConflictError, StoreError, StoreUnavailableError, url_for_messages

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "dt", "mapped_error", "time_text", "ts",
           "url_for_messages"]

_C = 'COLLATE "C"'

#: (version, statements), in order; a version once released is never changed, only followed
MIGRATIONS: list[tuple[int, str]] = [
    (1, f"""
CREATE TABLE registrations (registration_id TEXT {_C} PRIMARY KEY, party_id TEXT {_C} NOT NULL,
    token TEXT {_C} NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL, cancelled_at TIMESTAMPTZ);
CREATE INDEX registrations_party ON registrations (party_id);
CREATE UNIQUE INDEX registrations_one_active ON registrations (party_id) WHERE cancelled_at IS NULL;
CREATE TABLE replies (party_id TEXT {_C} NOT NULL, request_id TEXT {_C} NOT NULL, digest TEXT NOT NULL,
    reply TEXT NOT NULL, PRIMARY KEY (party_id, request_id));
CREATE TABLE tender_documents (doc_no BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, party_id TEXT {_C} NOT NULL,
    tender_id TEXT {_C} NOT NULL, digest TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (party_id, tender_id));
CREATE TABLE tenders (order_no BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, party_id TEXT {_C} NOT NULL,
    tender_id TEXT {_C} NOT NULL, seq INTEGER NOT NULL, interval_start TIMESTAMPTZ NOT NULL, side TEXT NOT NULL,
    price TEXT NOT NULL, quantity TEXT NOT NULL, status TEXT NOT NULL, accepted_at TIMESTAMPTZ NOT NULL,
    filled TEXT NOT NULL, UNIQUE (party_id, tender_id, seq));
CREATE INDEX tenders_interval ON tenders (interval_start, status);
CREATE TABLE transactions (transaction_id TEXT {_C} PRIMARY KEY, party_id TEXT {_C} NOT NULL,
    counterparty_id TEXT {_C} NOT NULL, tender_id TEXT {_C} NOT NULL, tender_seq INTEGER NOT NULL,
    side TEXT NOT NULL, interval_start TIMESTAMPTZ NOT NULL, interval_seconds BIGINT NOT NULL,
    quantity TEXT NOT NULL, price TEXT NOT NULL, currency TEXT NOT NULL, document_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL);
CREATE INDEX transactions_party ON transactions (party_id, interval_start);
CREATE INDEX transactions_interval ON transactions (interval_start, transaction_id);
CREATE TABLE deliveries (transaction_id TEXT {_C} PRIMARY KEY, party_id TEXT {_C} NOT NULL, quantity TEXT NOT NULL,
    delivery_id TEXT NOT NULL, reported_at TIMESTAMPTZ NOT NULL);
CREATE TABLE gates (interval_start TIMESTAMPTZ PRIMARY KEY, closed_at TIMESTAMPTZ NOT NULL, price TEXT,
    quantity TEXT NOT NULL, grid_import TEXT NOT NULL, grid_export TEXT NOT NULL);
CREATE TABLE settlement_steps (transaction_id TEXT {_C} NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (transaction_id, seq));
CREATE INDEX settlement_steps_event ON settlement_steps (event, transaction_id);
CREATE TABLE party_keys (party_id TEXT {_C} PRIMARY KEY, fingerprint TEXT NOT NULL, key TEXT NOT NULL,
    bound_at TIMESTAMPTZ NOT NULL);
CREATE TABLE oadr_objects (kind TEXT {_C} NOT NULL, key TEXT {_C} NOT NULL, ven_id TEXT {_C}, document TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (kind, key));
CREATE INDEX oadr_objects_ven ON oadr_objects (kind, ven_id, key);
CREATE TABLE oadr_report_values (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ven_id TEXT {_C} NOT NULL,
    report_request_id TEXT NOT NULL, r_id TEXT NOT NULL, start TIMESTAMPTZ, duration DOUBLE PRECISION,
    value TEXT NOT NULL, received_at TIMESTAMPTZ NOT NULL);
CREATE INDEX oadr_report_values_ven ON oadr_report_values (ven_id, seq);
CREATE TABLE oadr_nonces (nonce TEXT {_C} PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL);
CREATE INDEX oadr_nonces_seen ON oadr_nonces (seen_at);
CREATE TABLE meta (key TEXT {_C} PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE notices (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, party_id TEXT {_C} NOT NULL,
    document TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())
"""),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

_CONFLICT = (psycopg.errors.UniqueViolation, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
#: not OperationalErrors in psycopg's classes, but the server's state rather than the statement
_UNAVAILABLE = (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.DiskFull, psycopg.errors.InsufficientResources,
                psycopg.errors.OutOfMemory, psycopg.errors.TooManyConnections, psycopg.errors.CannotConnectNow)


def mapped_error(what: str, exc: Exception) -> StoreError:
    """The store's error for a psycopg (or pool) error (see the module docstring), on one line (libpq puts its
    hints on lines of their own)."""
    error = _mapped(what, exc)
    error.args = (" ".join(str(error).split()),)
    return error


def _mapped(what: str, exc: Exception) -> StoreError:
    if isinstance(exc, _CONFLICT):
        return StoreConflictError(f"{what}: another writer got there first: {exc}")
    if isinstance(exc, (PoolTimeout, PoolClosed, psycopg.OperationalError, *_UNAVAILABLE)):
        return StoreUnavailableError(f"{what}: {exc}")
    if isinstance(exc, psycopg.InterfaceError):  # the connection closed under us
        return StoreUnavailableError(f"{what}: {exc}")
    if isinstance(exc, psycopg.IntegrityError):
        return StoreError(f"constraint violated: {exc}")
    return StoreError(f"{what}: {exc}")


def ts(value: datetime) -> datetime:
    """A time as it is written (``timestamptz``, UTC); a naive one is refused."""
    if value.tzinfo is None:
        raise StoreError("naive datetimes are not stored")
    return value.astimezone(UTC)


def time_text(value: datetime) -> str:
    """The time as SQLite stores it (fixed-width UTC text): what
    :meth:`~transactive.services.pg_store.PgStore.hold_interval` hashes."""
    return ts(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def dt(value: datetime) -> datetime:
    """A time as it is read: UTC-aware."""
    # the session's TimeZone is UTC, so the server sends UTC; normalise the tzinfo object itself too
    return value.astimezone(UTC)
