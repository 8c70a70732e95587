"""Durable before acknowledged: a writer killed with SIGKILL mid-batch loses nothing it acknowledged, the
chain still verifies, and a new writer continues it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ledger.embedded_helpers import record
from transactive.ledger.embedded import LedgerReader, LedgerStore, NewEntry, canonical_json, verify_file
from transactive.ledger.records import EntryKind

ROOT = Path(__file__).resolve().parent.parent.parent
BATCH = 1500

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def crash_writer(path: Path, start: int, batches_before_kill: int) -> dict[int, tuple[str, str]]:
    """Run a writer, kill it with SIGKILL right after it began a batch; return what it acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.crash_writer", str(path), str(start), str(BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    acked: dict[int, tuple[str, str]] = {}
    begun = 0
    killed_mid_batch = False
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            word, *rest = line.split()
            if word == "ack":
                seq, txid, digest = rest
                acked[int(seq)] = (txid, digest)
            elif word == "begin":
                begun += 1
                if begun > batches_before_kill:
                    proc.send_signal(signal.SIGKILL)  # the batch is being signed and written: not acknowledged
                    killed_mid_batch = True
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        stderr = proc.stderr.read() if proc.stderr else ""
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert killed_mid_batch, f"the writer stopped on its own: {stderr}"
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) == batches_before_kill * BATCH
    return acked


def check_acknowledged(path: Path, acked: dict[int, tuple[str, str]]) -> int:
    """Every acknowledged entry is present, unaltered; the chain verifies; returns the entry count."""
    report = verify_file(path)
    assert report.valid, report.reason
    with LedgerReader(path) as reader:
        for seq, (txid, digest) in acked.items():
            stored = reader.entry(seq)
            assert stored is not None, f"acknowledged entry {seq} was lost"
            assert (stored.transaction_id, stored.entry_hash.hex()) == (txid, digest)
            assert stored.data == canonical_json(record(txid).as_dict())
        count = reader.count()
    # the killed batch is all or nothing (it was not acknowledged; a commit racing the kill is whole)
    assert count == max(acked) or (count - max(acked)) % BATCH == 0
    assert report.entries == count
    return count


def test_sigkill_mid_batch_loses_no_acknowledged_entry_and_a_new_writer_continues(tmp_path: Path) -> None:
    path = tmp_path / "crash.ledger"
    acked = crash_writer(path, 0, batches_before_kill=3)
    count = check_acknowledged(path, acked)

    # a second writer process continues the chain after the crash, and is killed too
    more = crash_writer(path, 100_000, batches_before_kill=2)
    assert min(more) == count + 1, "the new writer continues right after the last committed entry"
    acked.update(more)
    count = check_acknowledged(path, acked)

    # and an in-process writer continues after that
    store = LedgerStore(path)
    try:
        last = store.entry(count)
        assert last is not None
        tail = store.append(NewEntry(EntryKind.ANCHOR, "after-crash", record("after-crash").as_dict()))
    finally:
        store.close()
    assert tail.seq == count + 1
    assert tail.prev_hash == last.entry_hash
    report = verify_file(path)
    assert (report.valid, report.entries) == (True, count + 1)
