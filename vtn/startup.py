"""What ``transactive vtn serve`` checks in its data directory before it opens anything there for writing
(:func:`startup_problems`; :class:`~transactive.vtn.app.VtnApp` refuses to start on any finding unless it runs
read-only). It opens nothing for writing and creates no file.

* ``vtn.db`` missing although the directory shows the VTN ran there (``clock.json``, ``ledger.db``, its key,
  or ``vtn.db-wal`` present; ``vtn.key`` and ``evm-keys/`` are not traces: they may be made before the first
  start);
* the store's WAL (``vtn.db-wal``) damaged: frames that SQLite would drop although later ones were committed,
  a damaged header (:func:`transactive.ledger.embedded.wal.wal_problem`); the same for ``ledger.db-wal``;
* ``vtn.db-wal`` missing after an unclean shutdown: the store's shutdown marker (kept in its main file) says
  a writer had it open and never closed it, yet there is no WAL: what was written since the last
  checkpoint is gone;
* ``vtn.db`` damaged: ``PRAGMA quick_check`` (every page: b-tree structure, free list, record formats; not a
  value changed inside a well-formed record — SQLite keeps no page checksums);
* ``ledger.db`` (``--ledger embedded``) missing although its key or anchored transactions in the store show
  it existed; its key missing beside it; not a readable ledger; a chain that does not verify by
  :func:`~transactive.ledger.embedded.verify_tail`: the signed head names the last entry and is signed, the
  sequence runs from 1 without a gap, and the last :data:`LEDGER_TAIL_CHECK` entries have the right hash,
  link and signature. Entries before those are not re-hashed at every start (a ledger grows by millions of
  entries; walking it all takes minutes): ``transactive ledger verify`` walks the whole chain;
* the store and the ledger disagree: a transaction the settlement log says is anchored that the ledger does
  not hold, or a transaction on the ledger that the store does not know.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from transactive.ledger import LedgerError
from transactive.ledger.embedded import LedgerReader, verify_tail
from transactive.ledger.embedded.keys import default_key_path
from transactive.ledger.embedded.wal import wal_problem
from transactive.services.sqlite_store import RUNNING, SqliteStore
from transactive.services.store import StoreError
from transactive.vtn.clock import CLOCK_FILE

__all__ = ["LEDGER_FILE", "LEDGER_TAIL_CHECK", "STORE_FILE", "TransactionIds", "beside", "ledger_problems",
           "startup_problems"]

STORE_FILE = "vtn.db"
LEDGER_FILE = "ledger.db"
#: the start-up check re-hashes and verifies the signatures of this many of the ledger's last entries (about
#: a second on the project's 2-core machine); ``transactive ledger verify`` walks the whole chain
LEDGER_TAIL_CHECK = 10_000


def beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def startup_problems(data_dir: Path, ledger: str = "embedded") -> list[str]:
    """What is wrong with a VTN data directory, one ``"FILE: problem"`` per finding (see the module docstring);
    empty when it may be served. Opens nothing for writing and creates no file."""
    store_path, ledger_path = data_dir / STORE_FILE, data_dir / LEDGER_FILE
    problems: list[str] = []
    store: SqliteStore | None = None
    if not store_path.exists():
        traces = [p.name for p in (data_dir / CLOCK_FILE, ledger_path, default_key_path(ledger_path),
                                   beside(store_path, "-wal")) if p.exists()]
        if traces:
            problems.append(f"{store_path}: missing, but this data directory was used before ({', '.join(traces)} "
                            "are there): every acknowledged request is gone")
    else:
        wal_missing = not beside(store_path, "-wal").exists()
        damaged_wal = wal_problem(store_path)
        if damaged_wal is not None:
            problems.append(damaged_wal)
        try:
            store = SqliteStore(store_path, read_only=True)
            damage = store.quick_check()
            if damage:
                problems.append(f"{store_path}: damaged (quick_check: {'; '.join(damage[:3])})")
            elif wal_missing and store.shutdown_marker() == RUNNING:
                problems.append(f"{beside(store_path, '-wal')}: missing after an unclean shutdown (the store was "
                                "not closed by the VTN that wrote it): the writes acknowledged since its last "
                                "checkpoint are gone")
        except StoreError as exc:
            problems.append(f"{store_path}: cannot be read ({exc})")
    try:
        if ledger == "embedded":
            problems += ledger_problems(ledger_path, store)
    finally:
        if store is not None:
            store.close()
    return problems


class TransactionIds(Protocol):
    """What the ledger is compared with: a store's anchored and known transaction ids, each in id order."""

    def anchored_ids(self) -> Iterator[str]: ...
    def transaction_ids(self) -> Iterator[str]: ...


def ledger_problems(path: Path, store: TransactionIds | None) -> list[str]:
    """What is wrong with the embedded ledger at ``path``, and whether it agrees with ``store`` (the checks
    listed in the module docstring); the leader of several VTN processes runs them before it writes the
    ledger (:mod:`.cluster`)."""
    key = default_key_path(path)
    if not path.exists():
        try:
            anchored = next(store.anchored_ids(), None) if store is not None else None
        except StoreError:
            anchored = None
        if key.exists() or anchored is not None:
            why = f"{key.name} is there" if key.exists() else f"the store says {anchored} was anchored on it"
            return [f"{path}: missing, but {why}: every ledger entry is gone"]
        return []
    problems = [p for p in [wal_problem(path)] if p is not None]
    if not key.exists():
        problems.append(f"{key}: missing, but {path.name} is there: the key that signed its entries is gone (the "
                        "ledger still verifies with the public key it holds; no new entry could be signed)")
    try:
        report = verify_tail(path, entries=LEDGER_TAIL_CHECK)
    except (LedgerError, sqlite3.Error) as exc:
        return [*problems, f"{exc}" if str(path) in str(exc) else f"{path}: cannot be read ({exc})"]
    if not report.valid:
        problems.append(f"{path}: does not verify at entry {report.first_bad}: {report.reason}")
    if store is not None:
        try:
            with LedgerReader(path) as reader:
                lost = _missing(store.anchored_ids(), reader.transaction_ids())
                unknown = _missing(reader.transaction_ids(), store.transaction_ids())
        except (LedgerError, StoreError, sqlite3.Error) as exc:
            return [*problems, f"{path}: cannot be compared with {STORE_FILE} ({exc})"]
        if lost[0]:
            problems.append(f"{path}: {lost[0]} transaction(s) that {STORE_FILE} records as anchored are not on "
                            f"the ledger (the first: {lost[1]}): ledger entries were lost")
        if unknown[0]:
            problems.append(f"{path}: holds {unknown[0]} transaction(s) that {STORE_FILE} does not know (the first: "
                            f"{unknown[1]}): the store lost transactions, or the ledger is another store's")
    return problems


def _missing(wanted: Iterator[str], present: Iterator[str]) -> tuple[int, str | None]:
    """How many of ``wanted`` are not in ``present``, and the first of them (both iterate in sorted order)."""
    count, first = 0, None
    other = next(present, None)
    for item in wanted:
        while other is not None and other < item:
            other = next(present, None)
        if other != item:
            count += 1
            first = first if first is not None else item
    return count, first
