"""The embedded ledger (the default backend): an append-only, hash-chained, signed SQLite file.

One concern per module:

* :mod:`~transactive.ledger.embedded.format` -- the entry format: canonical JSON, the entry preimage and
  hash, the domain tags, new and stored entries;
* :mod:`~transactive.ledger.embedded.keys` -- the writer's Ed25519 key (``FILE.key``, or injected);
* :mod:`~transactive.ledger.embedded.lock` -- one writer at a time (``FILE.lock``);
* :mod:`~transactive.ledger.embedded.store` -- the SQLite file: :class:`LedgerReader` and the synchronous
  writer :class:`LedgerStore` (what is durable when);
* :mod:`~transactive.ledger.embedded.verify` -- :func:`verify_file`, the whole chain, in parallel;
  :func:`verify_tail`, the bounded check a VTN makes at every start;
* :mod:`~transactive.ledger.embedded.wal` -- :func:`~transactive.ledger.embedded.wal.wal_problem`: is an
  SQLite WAL intact (SQLite itself silently drops what follows a damaged frame);
* :mod:`~transactive.ledger.embedded.ledger` -- :class:`EmbeddedLedger`, the async :class:`Ledger` with
  group commit.
"""

from transactive.ledger.embedded.format import (
    BACKEND,
    ENTRY_DOMAIN,
    FORMAT,
    GENESIS,
    HEAD_DOMAIN,
    SIGNATURE_DOMAIN,
    NewEntry,
    StoredEntry,
    canonical_json,
    entry_hash,
    entry_preimage,
)
from transactive.ledger.embedded.ledger import MEASURED_ENTRIES_PER_S, EmbeddedLedger, request_status
from transactive.ledger.embedded.store import TABLE, LedgerReader, LedgerStore, NotALedgerError
from transactive.ledger.embedded.verify import VerificationReport, verify_file, verify_tail

__all__ = [
    "BACKEND",
    "ENTRY_DOMAIN",
    "FORMAT",
    "GENESIS",
    "HEAD_DOMAIN",
    "MEASURED_ENTRIES_PER_S",
    "SIGNATURE_DOMAIN",
    "TABLE",
    "EmbeddedLedger",
    "LedgerReader",
    "LedgerStore",
    "NewEntry",
    "NotALedgerError",
    "StoredEntry",
    "VerificationReport",
    "canonical_json",
    "entry_hash",
    "entry_preimage",
    "request_status",
    "verify_file",
    "verify_tail",
]
