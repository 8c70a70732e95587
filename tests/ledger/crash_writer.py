"""The writer process of the crash test: appends batches forever, acknowledging each entry after its commit.

    python -m tests.ledger.crash_writer LEDGER START BATCH

Before each batch it prints ``begin N`` (the batch is being signed and written); after the batch committed it
prints ``ack SEQ TRANSACTION_ID ENTRY_HASH`` for each entry, flushed. Only acknowledged entries must survive.
"""

from __future__ import annotations

import sys

from tests.ledger.embedded_helpers import record
from transactive.ledger.embedded import LedgerStore, NewEntry, StoredEntry
from transactive.ledger.records import EntryKind


def main(path: str, start: int, batch: int) -> None:
    store = LedgerStore(path)
    out = sys.stdout
    i = start
    number = 0
    while True:
        items = [NewEntry(EntryKind.ANCHOR, f"crash-{j}", record(f"crash-{j}").as_dict()) for j in range(i, i + batch)]
        out.write(f"begin {number}\n")
        out.flush()
        results = store.append_many(items)
        for result in results:
            assert isinstance(result, StoredEntry)
            out.write(f"ack {result.seq} {result.transaction_id} {result.entry_hash.hex()}\n")
        out.flush()
        i += batch
        number += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
