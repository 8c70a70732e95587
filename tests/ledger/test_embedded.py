"""The embedded ledger: every interface method, receipts, group commit, keys, durability settings, and
tamper detection (each kind of tampering named by its first bad entry)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.ledger.embedded_helpers import T0, Clock, fill, record, row, sql
from transactive.ledger.embedded import (
    SIGNATURE_DOMAIN,
    EmbeddedLedger,
    LedgerReader,
    LedgerStore,
    NewEntry,
    NotALedgerError,
    canonical_json,
    entry_hash,
    entry_preimage,
    verify_file,
)
from transactive.ledger.interface import LedgerError, LedgerUnavailableError, UnknownTransactionError
from transactive.ledger.records import EntryKind, PaymentStatus, Receipt

DAY = timedelta(days=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ledger(tmp_path: Path, clock: Clock) -> AsyncIterator[EmbeddedLedger]:
    led = EmbeddedLedger(tmp_path / "test.ledger", now=clock)
    try:
        yield led
    finally:
        await led.close()


# ---- the interface ---------------------------------------------------------------------------------


async def test_anchor_returns_a_receipt_that_verifies(ledger: EmbeddedLedger, clock: Clock) -> None:
    receipt = await ledger.anchor(record("tx-1"))
    assert receipt.backend == "embedded"
    assert receipt.sequence == 1
    assert len(receipt.entry_hash) == 64
    assert receipt.reference == receipt.entry_hash
    assert receipt.timestamp == clock.t
    assert receipt.extra["previous_hash"] == "00" * 32
    assert bytes.fromhex(receipt.extra["public_key"]) == ledger.public_key
    assert await ledger.verify(record("tx-1"), receipt)


async def test_receipt_does_not_verify_another_record_or_place(ledger: EmbeddedLedger) -> None:
    first = await ledger.anchor(record("tx-1"))
    second = await ledger.anchor(record("tx-2"))
    assert second.sequence == 2
    assert second.extra["previous_hash"] == first.entry_hash
    assert not await ledger.verify(record("tx-1", quantity="11"), first)
    assert not await ledger.verify(record("tx-2"), first)
    assert not await ledger.verify(record("tx-1"), second)
    moved = Receipt("embedded", first.reference, 7, first.entry_hash)
    assert not await ledger.verify(record("tx-1"), moved)
    assert not await ledger.verify(record("tx-1"), Receipt("evm", first.reference, 1, first.entry_hash))


async def test_receipt_no_longer_verifies_once_the_entry_is_altered(ledger: EmbeddedLedger) -> None:
    receipt = await ledger.anchor(record("tx-1"))
    sql(ledger.path, "UPDATE ledger_entries SET ts='2030-01-01T00:00:00.000000+00:00' WHERE seq=1")
    assert not await ledger.verify(record("tx-1"), receipt)


async def test_a_transaction_is_anchored_once(ledger: EmbeddedLedger) -> None:
    await ledger.anchor(record("tx-1"))
    with pytest.raises(LedgerError, match="already anchored"):
        await ledger.anchor(record("tx-1"))


async def test_concurrent_duplicate_anchors_in_one_batch_keep_only_the_first(ledger: EmbeddedLedger) -> None:
    results = await asyncio.gather(*(ledger.anchor(record("tx-dup")) for _ in range(3)), return_exceptions=True)
    assert isinstance(results[0], Receipt)
    assert all(isinstance(r, LedgerError) for r in results[1:])
    assert len(await ledger.audit_trail("tx-dup")) == 1


async def test_entries_about_an_unknown_transaction_are_refused(ledger: EmbeddedLedger) -> None:
    with pytest.raises(UnknownTransactionError):
        await ledger.record_delivery("nope", "producer", Decimal(1), T0)
    with pytest.raises(UnknownTransactionError):
        await ledger.request_payment("nope", amount=Decimal(1), currency="EUR", payer="c", payee="p", deadline=T0)
    with pytest.raises(UnknownTransactionError):
        await ledger.open_dispute("nope", reason="x", opened_by="p")
    with pytest.raises(UnknownTransactionError):
        await ledger.audit_trail("nope")
    with pytest.raises(UnknownTransactionError):
        await ledger.confirm_payment("nope", now=T0)


async def test_delivery_only_from_a_party_of_the_transaction(ledger: EmbeddedLedger) -> None:
    await ledger.anchor(record("tx-1"))
    with pytest.raises(LedgerError, match="not a party"):
        await ledger.record_delivery("tx-1", "mallory", Decimal(1), T0)
    with pytest.raises(LedgerError, match="negative"):
        await ledger.record_delivery("tx-1", "producer", Decimal(-1), T0)
    with pytest.raises(LedgerError, match="UTC offset"):
        await ledger.record_delivery("tx-1", "producer", Decimal(1), datetime(2025, 1, 1))
    receipt = await ledger.record_delivery("tx-1", "producer", Decimal("9.75"), T0)
    assert receipt.sequence == 2
    (_, delivery) = await ledger.audit_trail("tx-1")
    assert delivery.data == {"party": "producer", "quantity_kwh": "9.75", "measured_at": T0.isoformat()}


async def request(ledger: EmbeddedLedger, amount: str = "2.00", deadline: datetime = T0 + DAY) -> None:
    await ledger.anchor(record("tx-1"))
    await ledger.request_payment("tx-1", amount=Decimal(amount), currency="EUR", payer="consumer",
                                 payee="producer", deadline=deadline)


async def test_confirm_payment_is_pending_before_anything_is_paid(ledger: EmbeddedLedger) -> None:
    await request(ledger)
    assert await ledger.confirm_payment("tx-1", now=T0) is PaymentStatus.PENDING


async def test_confirm_payment_is_expired_when_nothing_was_paid_by_the_deadline(ledger: EmbeddedLedger) -> None:
    await request(ledger)
    assert await ledger.confirm_payment("tx-1", now=T0 + DAY + timedelta(seconds=1)) is PaymentStatus.EXPIRED


async def test_confirm_payment_is_underpaid_then_paid_as_payments_add_up(ledger: EmbeddedLedger) -> None:
    await request(ledger, "2.00")
    assert await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("0.50"), reference="r1") is (
        PaymentStatus.UNDERPAID)
    assert await ledger.confirm_payment("tx-1", now=T0 + 2 * DAY) is PaymentStatus.UNDERPAID
    assert await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("1.50"), reference="r2") is PaymentStatus.PAID
    payments = [e for e in await ledger.audit_trail("tx-1") if e.kind is EntryKind.PAYMENT]
    assert [(p.data["amount"], p.data["reference"], p.data["currency"]) for p in payments] == [
        ("0.50", "r1", "EUR"), ("1.50", "r2", "EUR")]


async def test_confirm_payment_refuses_a_non_positive_payment(ledger: EmbeddedLedger) -> None:
    await request(ledger)
    with pytest.raises(LedgerError, match="positive"):
        await ledger.confirm_payment("tx-1", now=T0, paid=Decimal(0))


async def test_open_dispute_is_in_the_audit_trail(ledger: EmbeddedLedger) -> None:
    await ledger.anchor(record("tx-1"))
    await ledger.open_dispute("tx-1", reason="unpaid", opened_by="producer",
                              details={"due": Decimal("2.00"), "since": T0})
    trail = await ledger.audit_trail("tx-1")
    assert [e.kind for e in trail] == [EntryKind.ANCHOR, EntryKind.DISPUTE]
    assert trail[1].data == {"reason": "unpaid", "opened_by": "producer",
                             "details": {"due": "2.00", "since": T0.isoformat()}}
    assert trail[1].sequence == 2


async def test_audit_trail_holds_only_that_transaction_in_ledger_order(ledger: EmbeddedLedger) -> None:
    await ledger.anchor(record("tx-1"))
    await ledger.anchor(record("tx-2"))
    await ledger.record_delivery("tx-1", "producer", Decimal(1), T0)
    await ledger.record_delivery("tx-2", "consumer", Decimal(2), T0)
    trail = await ledger.audit_trail("tx-1")
    assert [(e.sequence, e.kind.value) for e in trail] == [(1, "anchor"), (3, "delivery")]
    assert trail[0].data == record("tx-1").as_dict()
    assert all(e.reference and len(e.reference) == 64 for e in trail)


async def test_timestamps_come_from_the_injected_clock(ledger: EmbeddedLedger, clock: Clock) -> None:
    clock.advance(timedelta(days=100))
    receipt = await ledger.anchor(record("tx-1"))
    assert receipt.timestamp == clock.t
    assert (await ledger.audit_trail("tx-1"))[0].timestamp == clock.t


def test_capabilities_are_honest(tmp_path: Path) -> None:
    async def go() -> None:
        async with EmbeddedLedger(tmp_path / "c.ledger") as led:
            caps = led.capabilities()
            assert caps.backend == "embedded"
            assert caps.native_payments is False
            assert caps.finality == "immediate"
            assert caps.multi_writer is False
            assert "synchronous=FULL" in caps.notes

    asyncio.run(go())


async def test_a_closed_ledger_refuses_calls(tmp_path: Path) -> None:
    led = EmbeddedLedger(tmp_path / "closed.ledger")
    await led.anchor(record("tx-1"))
    await led.close()
    await led.close()  # idempotent
    with pytest.raises(LedgerError, match="closed"):
        await led.anchor(record("tx-2"))
    with pytest.raises(LedgerError, match="closed"):
        await led.audit_trail("tx-1")


# ---- group commit, durability settings, keys, single writer -----------------------------------------


async def test_concurrent_calls_are_group_committed_with_consecutive_sequences(tmp_path: Path) -> None:
    async with EmbeddedLedger(tmp_path / "g.ledger", max_batch=256) as led:
        receipts = await asyncio.gather(*(led.anchor(record(f"tx-{i}")) for i in range(1000)))
        assert sorted(r.sequence for r in receipts) == list(range(1, 1001))  # type: ignore[type-var]
        assert 4 <= led.batches < 100, "1000 concurrent calls share a few commits, at most 256 entries each"
        report = await led.verify_chain()
    assert (report.valid, report.entries) == (True, 1000)


async def test_the_database_is_wal_with_full_sync(ledger: EmbeddedLedger) -> None:
    conn = ledger.store._conn  # (it reads text as bytes: a row that is not UTF-8 is reported, not a crash)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == b"wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync at every commit


def test_append_many_acknowledges_only_committed_entries(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "a.ledger")
    results = store.append_many([
        NewEntry(EntryKind.ANCHOR, "tx-1", record("tx-1").as_dict()),
        NewEntry(EntryKind.DELIVERY, "tx-unknown", {"party": "p"}),
        NewEntry(EntryKind.DELIVERY, "tx-1", {"party": "producer", "quantity_kwh": "1"}),
    ])
    assert isinstance(results[1], UnknownTransactionError)
    assert [r.seq for r in (results[0], results[2])] == [1, 2]  # type: ignore[union-attr]
    store.close()
    with LedgerReader(tmp_path / "a.ledger") as reader:  # a fresh connection sees both
        assert reader.count() == 2


def test_the_key_is_created_beside_the_ledger_readable_by_the_owner_only(tmp_path: Path) -> None:
    LedgerStore(tmp_path / "k.ledger").close()
    key_file = tmp_path / "k.ledger.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    store = LedgerStore(tmp_path / "k.ledger")  # the same key is read back
    store.close()


def test_an_injected_key_is_used_and_not_written(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    store = LedgerStore(tmp_path / "i.ledger", key=key)
    store.append(NewEntry(EntryKind.ANCHOR, "tx-1", record().as_dict()))
    store.close()
    assert not (tmp_path / "i.ledger.key").exists()
    with LedgerReader(tmp_path / "i.ledger") as reader:
        stored = reader.entry(1)
        assert stored is not None
        assert stored.signature_valid(key.public_key())


def test_a_different_key_cannot_write_to_the_ledger(tmp_path: Path) -> None:
    LedgerStore(tmp_path / "d.ledger").close()
    with pytest.raises(LedgerError, match="did not write this ledger"):
        LedgerStore(tmp_path / "d.ledger", key=Ed25519PrivateKey.generate())


def test_only_one_writer_at_a_time(tmp_path: Path) -> None:
    first = LedgerStore(tmp_path / "w.ledger")
    with pytest.raises(LedgerUnavailableError, match="another writer"):
        LedgerStore(tmp_path / "w.ledger")
    with LedgerReader(tmp_path / "w.ledger") as reader:  # readers are welcome
        assert reader.count() == 0
    first.close()
    LedgerStore(tmp_path / "w.ledger").close()


def test_opening_something_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 2000)
    with pytest.raises(NotALedgerError, match="not an SQLite database"):
        LedgerStore(text)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(NotALedgerError, match="no ledger_entries table"):
        LedgerStore(other)
    with pytest.raises(NotALedgerError, match="no such file"):
        LedgerReader(tmp_path / "missing.ledger")


def test_entry_hash_covers_every_field() -> None:
    ts = "2025-01-01T00:00:00.000000+00:00"
    base: tuple[Any, ...] = (5, b"\x01" * 32, "anchor", "tx-1", canonical_json({"a": 1}), ts)
    digest = entry_hash(*base)
    for i in range(len(base)):
        changed: list[Any] = list(base)
        changed[i] = 6 if i == 0 else (b"\x02" * 32 if i == 1 else str(base[i]) + "x")
        assert entry_hash(*changed) != digest, f"field {i} is not covered"
    # length prefixes: moving a character between fields changes the hash
    assert entry_hash(5, b"\x01" * 32, "anchorx", "tx-1", "{}", "t") != entry_hash(5, b"\x01" * 32, "anchor",
                                                                                  "xtx-1", "{}", "t")
    assert entry_preimage(*base).startswith(b"transactive-ledger/1 entry\n")


def test_canonical_json_is_sorted_compact_and_refuses_nan() -> None:
    assert canonical_json({"b": Decimal("1.50"), "a": "é"}) == '{"a":"é","b":"1.50"}'
    with pytest.raises(LedgerError):
        canonical_json({"x": float("nan")})


# ---- verification and tampering ----------------------------------------------------------------------


@pytest.fixture
def twenty(tmp_path: Path) -> Path:
    path = tmp_path / "twenty.ledger"
    assert fill(path, 20) == list(range(1, 21))
    return path


def test_an_untouched_chain_verifies(twenty: Path) -> None:
    report = verify_file(twenty)
    assert (report.valid, report.entries, report.first_bad, report.reason) == (True, 20, None, None)


def test_an_empty_ledger_verifies(tmp_path: Path) -> None:
    LedgerStore(tmp_path / "e.ledger").close()
    assert verify_file(tmp_path / "e.ledger").as_dict() == {"valid": True, "entries": 0, "first_bad": None,
                                                              "reason": None}


def test_an_altered_field_is_named(twenty: Path) -> None:
    sql(twenty, "UPDATE ledger_entries SET data=replace(data, '\"quantity_kwh\":\"10\"', "
                "'\"quantity_kwh\":\"99\"') WHERE seq=7")
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 7)
    assert report.reason == "entry 7 was altered (its hash does not match its contents)"


def test_an_altered_field_with_a_recomputed_hash_fails_its_signature(twenty: Path) -> None:
    _, prev, kind, txid, data, ts, _, _ = row(twenty, 7)
    forged = str(data).replace('"price":"0.20"', '"price":"0.02"')
    digest = entry_hash(7, bytes(prev), str(kind), str(txid), forged, str(ts))
    sql(twenty, "UPDATE ledger_entries SET data=?, entry_hash=? WHERE seq=7", params=(forged, digest))
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 7)
    assert report.reason == "entry 7 has an invalid signature"


def test_a_deleted_row_is_named(twenty: Path) -> None:
    sql(twenty, "DELETE FROM ledger_entries WHERE seq=5")
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 5)
    assert report.reason == "entry 5 is missing (the chain continues at 6)"


def test_a_deleted_row_with_the_rest_renumbered_is_named(twenty: Path) -> None:
    sql(twenty, "DELETE FROM ledger_entries WHERE seq=5",
        "UPDATE ledger_entries SET seq=-(seq-1) WHERE seq>5", "UPDATE ledger_entries SET seq=-seq WHERE seq<0")
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 5)
    assert "does not link to entry 4" in str(report.reason)


def test_rows_deleted_at_the_end_are_named_by_the_signed_head(twenty: Path) -> None:
    sql(twenty, "DELETE FROM ledger_entries WHERE seq>=19")
    report = verify_file(twenty)
    assert (report.valid, report.entries, report.first_bad) == (False, 18, 19)
    assert report.reason == "entries 19..20 were removed from the end (the signed head names entry 20)"


def test_every_row_deleted_is_detected(twenty: Path) -> None:
    sql(twenty, "DELETE FROM ledger_entries")
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 1)


def test_two_swapped_rows_are_named_by_the_earlier(twenty: Path) -> None:
    sql(twenty,  # the whole rows move, hash and signature included
        "UPDATE ledger_entries SET seq=-8 WHERE seq=8", "UPDATE ledger_entries SET seq=8 WHERE seq=12",
        "UPDATE ledger_entries SET seq=12 WHERE seq=-8")
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 8)
    assert "entry 8 does not link to entry 7" in str(report.reason)


def test_a_forged_row_inserted_in_the_middle_is_named(twenty: Path) -> None:
    sql(twenty, "UPDATE ledger_entries SET seq=-(seq+1) WHERE seq>=10",
        "UPDATE ledger_entries SET seq=-seq WHERE seq<0")
    prev = bytes(row(twenty, 9)[6])
    data = canonical_json(record("tx-forged").as_dict())
    ts = "2025-06-01T12:00:00.000100+00:00"
    digest = entry_hash(10, prev, "anchor", "tx-forged", data, ts)
    signature = Ed25519PrivateKey.generate().sign(SIGNATURE_DOMAIN + digest)  # the attacker's own key
    sql(twenty, "INSERT INTO ledger_entries VALUES (10, ?, 'anchor', 'tx-forged', ?, ?, ?, ?)",
        params=(prev, data, ts, digest, signature))
    report = verify_file(twenty)
    assert (report.valid, report.entries, report.first_bad) == (False, 21, 10)
    assert report.reason == "entry 10 has an invalid signature"


def test_a_forged_row_appended_at_the_end_is_named(twenty: Path) -> None:
    prev = bytes(row(twenty, 20)[6])
    data = canonical_json(record("tx-forged").as_dict())
    ts = "2025-06-01T12:00:00.000100+00:00"
    digest = entry_hash(21, prev, "anchor", "tx-forged", data, ts)
    signature = Ed25519PrivateKey.generate().sign(SIGNATURE_DOMAIN + digest)
    sql(twenty, "INSERT INTO ledger_entries VALUES (21, ?, 'anchor', 'tx-forged', ?, ?, ?, ?)",
        params=(prev, data, ts, digest, signature))
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 21)


def test_a_wrong_signature_is_named(twenty: Path) -> None:
    other = bytes(row(twenty, 4)[7])
    sql(twenty, "UPDATE ledger_entries SET signature=? WHERE seq=3", params=(other,))
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 3)
    assert report.reason == "entry 3 has an invalid signature"


def test_a_replaced_public_key_is_caught_by_pinning_the_expected_one(twenty: Path, tmp_path: Path) -> None:
    with LedgerReader(twenty) as reader:
        genuine = reader.public_key()
    assert genuine is not None
    impostor = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    sql(twenty, "UPDATE ledger_entries SET signature=signature")  # no-op: the entries stay as they were
    sql(twenty, "UPDATE ledger_meta SET value=? WHERE key='public_key'", params=(impostor,))
    assert verify_file(twenty).first_bad == 1, "the stored key no longer matches the signatures"
    assert verify_file(twenty, public_key=genuine).valid, "pinning the genuine key still verifies"


def test_a_tampered_signed_head_is_detected(twenty: Path) -> None:
    conn = sqlite3.connect(twenty)
    (head,) = conn.execute("SELECT value FROM ledger_meta WHERE key='head'").fetchone()
    conn.close()
    sql(twenty, "UPDATE ledger_meta SET value=? WHERE key='head'", params=(bytes(head)[:40] + bytes(64),))
    report = verify_file(twenty)
    assert (report.valid, report.first_bad) == (False, 20)
    assert report.reason == "the signed head has an invalid signature"


def test_parallel_verification_names_the_same_first_bad_entry(twenty: Path) -> None:
    assert verify_file(twenty, workers=2, chunk=4, parallel_threshold=0).valid
    sql(twenty, "DELETE FROM ledger_entries WHERE seq=13",
        "UPDATE ledger_entries SET ts='x' WHERE seq=17")
    report = verify_file(twenty, workers=2, chunk=4, parallel_threshold=0)
    assert (report.valid, report.first_bad) == (False, 13)
    assert report.reason == "entry 13 is missing (the chain continues at 14)"


def test_progress_reports_every_range(twenty: Path) -> None:
    seen: list[tuple[int, int]] = []
    verify_file(twenty, chunk=8, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(8, 20), (16, 20), (20, 20)]


def test_verify_file_refuses_what_is_not_a_ledger(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ledger"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(NotALedgerError):
        verify_file(junk)
    with pytest.raises(NotALedgerError):
        verify_file(tmp_path / "missing.ledger")


def test_stored_data_is_canonical_json(twenty: Path) -> None:
    data = str(row(twenty, 1)[4])
    assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
