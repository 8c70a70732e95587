"""Verification of a whole embedded ledger file, in parallel for large files.

:func:`verify_file` walks the chain and checks, for every entry, the sequence (no gap), the link to the
previous hash, the hash of its contents and its signature, then the signed head; it reports the first bad
entry (altered, removed, reordered, inserted, wrongly signed, or a row that cannot be an entry: text that is
not UTF-8, a hash that is not a byte string). Large files are checked in ranges of entries by a pool of
worker processes (each opens the file read-only): signature verification dominates the cost, so the work
splits across cores. BENCHMARKS.md has the measured rates.

:func:`verify_tail` is the bounded check a VTN makes at every start: the signed head, the sequence from 1 to
the head without a gap, and hash, link and signature of the last N entries only (an entry altered before
those is found by :func:`verify_file`, not by it).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from transactive.ledger.embedded.format import (
    GENESIS,
    SIGNATURE_DOMAIN,
    entry_preimage_bytes,
    head_message,
    row_problem,
)
from transactive.ledger.embedded.store import COLUMNS, TABLE, NotALedgerError, open_readonly, read_meta, readonly_uri

__all__ = ["VerificationReport", "verify_file", "verify_tail"]


@dataclass(frozen=True, slots=True)
class VerificationReport:
    valid: bool
    entries: int
    first_bad: int | None = None
    reason: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``transactive ledger verify --json`` object."""
        return {"valid": self.valid, "entries": self.entries, "first_bad": self.first_bad, "reason": self.reason}


# (count of rows checked, first bad seq or None, reason or None)
_RangeResult = tuple[int, int | None, str | None]


def _verify_range(uri: str, public_key: bytes, lo: int, hi: int) -> _RangeResult:
    """Check entries with lo <= seq < hi, and their link to the entry before lo (runs in worker processes)."""
    key = Ed25519PublicKey.from_public_bytes(public_key)
    verify = key.verify
    sha256 = hashlib.sha256
    conn = sqlite3.connect(uri, uri=True)
    conn.text_factory = bytes  # text that is not UTF-8 is a bad entry, not a crash
    try:
        before = conn.execute(f"SELECT seq, entry_hash FROM {TABLE} WHERE seq < ? ORDER BY seq DESC LIMIT 1",
                              (lo,)).fetchone()
        expected, prev = (int(before[0]) + 1, bytes(before[1])) if before else (1, GENESIS)
        cur = conn.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE seq >= ? AND seq < ? ORDER BY seq", (lo, hi))
        count = 0
        while True:
            rows = cur.fetchmany(4096)
            if not rows:
                break
            for seq, prev_hash, kind, txid, data, ts, digest, signature in rows:
                count += 1
                if seq != expected:
                    if seq > expected:
                        missing = f"entry {expected} is missing" if seq == expected + 1 else (
                            f"entries {expected}..{seq - 1} are missing")
                        return count, expected, f"{missing} (the chain continues at {seq})"
                    return count, seq, f"entry {seq} is out of sequence (expected {expected})"
                problem = row_problem(seq, (kind, txid, data, ts), (prev_hash, digest, signature))
                if problem is not None:
                    return count, seq, problem
                if prev_hash != prev:
                    return count, seq, f"entry {seq} does not link to entry {seq - 1} (previous hash differs)"
                if sha256(entry_preimage_bytes(seq, prev_hash, kind, txid, data, ts)).digest() != digest:
                    return count, seq, f"entry {seq} was altered (its hash does not match its contents)"
                try:
                    verify(signature, SIGNATURE_DOMAIN + digest)
                except InvalidSignature:
                    return count, seq, f"entry {seq} has an invalid signature"
                expected, prev = seq + 1, bytes(digest)
        return count, None, None
    except sqlite3.DatabaseError as exc:  # the file itself is damaged (truncated, overwritten pages)
        return count, expected, f"the file is damaged from entry {expected} on ({exc})"
    finally:
        conn.close()


def _ranges(lo: int, hi: int, size: int) -> Iterator[tuple[int, int]]:
    start = lo
    while start < hi:
        yield start, min(hi, start + size)
        start += size


def verify_file(path: str | os.PathLike[str], *, public_key: bytes | None = None, workers: int | None = None,
                chunk: int = 50_000, parallel_threshold: int = 100_000,
                progress: Callable[[int, int], None] | None = None) -> VerificationReport:
    """Walk the whole chain of the ledger at ``path``; report the first bad entry.

    ``public_key`` (raw 32 bytes) pins the writer's key; by default the key stored in the file is used.
    ``workers`` processes check ranges of ``chunk`` entries in parallel once the ledger has at least
    ``parallel_threshold`` entries (default: 2, or 1 on a single core). ``progress(done, total)`` is called
    after each range. Raises :class:`NotALedgerError` for a file that is not a ledger.
    """
    head = _Head.read(path, public_key)
    if head.verdict is not None:
        return head.verdict
    p, meta, total, lo, hi, key, report = head.path, head.meta, head.total, head.lo, head.hi, head.key, head.report

    uri = readonly_uri(p)
    spans = list(_ranges(int(lo), int(hi) + 1, max(1, chunk)))
    bad: list[tuple[int, str]] = []
    done = 0
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if n_workers > 1 and total >= parallel_threshold and len(spans) > 1:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=context) as pool:
            futures: dict[Future[_RangeResult], int] = {
                pool.submit(_verify_range, uri, key, a, b): a for a, b in spans
            }
            for future in _completed(futures):
                count, first, reason = future.result()
                done += count
                if first is not None and reason is not None:
                    bad.append((first, reason))
                    first_known = min(bad)[0]
                    for other, start in futures.items():
                        if start > first_known:
                            other.cancel()
                if progress is not None:
                    progress(done, total)
    else:
        for a, b in spans:
            count, first, reason = _verify_range(uri, key, a, b)
            done += count
            if progress is not None:
                progress(done, total)
            if first is not None and reason is not None:
                bad.append((first, reason))
                break
    if bad:
        return report(*min(bad))
    return report(*_check_head(meta.get("head"), key, int(hi), uri))


@dataclass
class _Head:
    """What both checks read first: the meta rows, the entry count and range, the writer's key, and the verdict
    when that already decides (no key, or no entries)."""

    path: Path
    meta: dict[str, bytes]
    total: int
    lo: int
    hi: int
    key: bytes
    started: float
    verdict: VerificationReport | None = None

    def report(self, first_bad: int | None, reason: str | None) -> VerificationReport:
        return VerificationReport(first_bad is None and reason is None, self.total, first_bad, reason,
                                  time.perf_counter() - self.started)

    @classmethod
    def read(cls, path: str | os.PathLike[str], public_key: bytes | None) -> _Head:
        started = time.perf_counter()
        p = Path(path)
        meta, total, lo, hi = _read_head(p)
        key = public_key if public_key is not None else meta.get("public_key")
        head = cls(p, meta, total, lo, hi, key or b"", started)
        if key is None or len(key) != 32:
            head.verdict = head.report(1 if total else None, "the writer's public key is missing from ledger_meta")
        elif total == 0:
            head.verdict = head.report(1, "the ledger is empty but its signed head names entries: all were "
                                          "removed") if "head" in meta else head.report(None, None)
        return head


def _read_head(p: Path) -> tuple[dict[str, bytes], int, int, int]:
    """``ledger_meta``, the number of entries and the first and last sequence, from one snapshot."""
    conn = open_readonly(p)
    try:  # one read transaction: the signed head and the range of entries from the same snapshot
        conn.execute("BEGIN")
        meta = read_meta(conn)
        total, lo, hi = conn.execute(f"SELECT count(*), min(seq), max(seq) FROM {TABLE}").fetchone()
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise NotALedgerError(f"{p}: not a ledger ({exc})") from None
    finally:
        conn.close()
    return meta, int(total), int(lo or 0), int(hi or 0)


def verify_tail(path: str | os.PathLike[str], *, entries: int, public_key: bytes | None = None) -> VerificationReport:
    """The bounded check of a ledger (what a VTN runs at every start): the writer's key is there, the
    sequence runs from 1 to the last entry without a gap (counted, not walked), the last ``entries`` entries
    have the right hash, link and signature, and the signed head names the last entry. Entries before the
    last ``entries`` are not re-hashed: an entry altered there is found by :func:`verify_file` only. Raises
    :class:`NotALedgerError` for a file that is not a ledger."""
    head = _Head.read(path, public_key)
    if head.verdict is not None:
        return head.verdict
    p, meta, total, lo, hi, key, report = head.path, head.meta, head.total, head.lo, head.hi, head.key, head.report
    uri = readonly_uri(p)
    if lo != 1:
        return report(1, f"entries 1..{lo - 1} are missing (the chain starts at {lo})")
    if total != hi - lo + 1:
        conn = sqlite3.connect(uri, uri=True)
        try:
            gap = conn.execute(f"SELECT seq + 1 FROM {TABLE} AS e WHERE seq < ? AND NOT EXISTS "
                               f"(SELECT 1 FROM {TABLE} WHERE seq = e.seq + 1) ORDER BY seq LIMIT 1",
                               (hi,)).fetchone()
        finally:
            conn.close()
        first = int(gap[0]) if gap else 1
        return report(first, f"{hi - total} entries are missing, the first of them entry {first}")
    _count, first_bad, reason = _verify_range(uri, key, max(lo, hi - max(1, entries) + 1), hi + 1)
    if first_bad is not None and reason is not None:
        return report(first_bad, reason)
    return report(*_check_head(meta.get("head"), key, hi, uri))


def _completed(futures: dict[Future[_RangeResult], int]) -> Iterator[Future[_RangeResult]]:
    from concurrent.futures import as_completed

    for future in as_completed(futures):
        if not future.cancelled():
            yield future


def _check_head(head: bytes | None, key: bytes, last: int, uri: str) -> tuple[int | None, str | None]:
    """The signed head must name the last entry (a removal at the end of the chain shows here)."""
    if head is None or len(head) != 8 + 32 + 64:
        return last, "the signed head is missing or malformed"
    seq, digest, signature = int.from_bytes(head[:8], "big", signed=True), head[8:40], head[40:]
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, head_message(seq, digest))
    except InvalidSignature:
        return last, "the signed head has an invalid signature"
    if seq > last:
        missing = f"entry {last + 1} was" if seq == last + 1 else f"entries {last + 1}..{seq} were"
        return last + 1, f"{missing} removed from the end (the signed head names entry {seq})"
    if seq < last:
        return seq + 1, f"entry {seq + 1} is not covered by the signed head (which names entry {seq})"
    conn = sqlite3.connect(uri, uri=True)
    conn.text_factory = bytes
    try:
        row = conn.execute(f"SELECT entry_hash FROM {TABLE} WHERE seq=?", (seq,)).fetchone()
    finally:
        conn.close()
    if row is None or bytes(row[0]) != digest:
        return seq, f"entry {seq} differs from the one the signed head names"
    return None, None
