"""Storage faults in the store and the service, on real files: a write the store cannot make (locked past its
timeout by another connection, a full disk) is :class:`StoreUnavailableError` and never half written; the
service answers it with EI 503 naming the part, remembers the part and forgets it once a write or its probe
succeeds; a settlement step that failed part way writes no ledger entry twice; a read-only store writes
nothing; the shutdown marker and ``quick_check`` that the VTN's start-up checks read."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.disk import fill, small_tmpfs
from tests.services.conftest import NOW, QUARTER, T, create, product, register
from tests.services.test_deliveries_positions import TX1, delivery
from tests.services.test_gate import _market
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ledger import EmbeddedLedger, EntryKind
from transactive.ledger.settlement import State
from transactive.protocol.replies import reply_response
from transactive.services import ManualClock, MarketConfig, MemoryStore, Settlement, SqliteStore, VtnCore, VtnService
from transactive.services import service as service_module
from transactive.services.context import Credentials
from transactive.services.sqlite_store import CLEAN, RUNNING
from transactive.services.store import GateRow, StoreError, StoreUnavailableError


@pytest.fixture
def no_probe_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "PROBE_INTERVAL", 0.0)


class WriteLock:
    """Another connection holding the database's write lock (what a second writer, or a backup tool, does)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.conn.execute("ROLLBACK")
            self.conn.close()


@pytest.fixture
def locked_later(tmp_path: Path) -> Iterator[list[WriteLock]]:
    held: list[WriteLock] = []
    yield held
    for lock in held:
        lock.release()


def response(reply: object) -> tuple[str, str]:
    got = reply_response(reply)  # type: ignore[arg-type]
    assert got is not None
    return got.response_code, got.response_description or ""


def test_a_store_locked_past_its_timeout_is_unavailable_and_a_constraint_is_a_plain_store_error(
        tmp_path: Path, locked_later: list[WriteLock]) -> None:
    path = tmp_path / "vtn.db"
    store = SqliteStore(path, busy_timeout=0.1)
    gate = GateRow(T, NOW, None, 0)  # type: ignore[arg-type]
    locked_later.append(lock := WriteLock(path))
    with pytest.raises(StoreUnavailableError, match="locked"), store.transaction():
        store.put_gate(gate)
    lock.release()
    with store.transaction():
        store.put_gate(gate)
    with pytest.raises(StoreError, match="constraint") as refused, store.transaction():
        store.put_gate(gate)  # the same interval again: a bug, not the storage
    assert not isinstance(refused.value, StoreUnavailableError)
    assert not store._conn.in_transaction
    store.close()


async def test_a_tender_the_store_cannot_write_is_refused_with_503_naming_the_store_and_nothing_is_stored(
        tmp_path: Path, config: MarketConfig, clock: ManualClock, locked_later: list[WriteLock],
        no_probe_wait: None) -> None:
    path = tmp_path / "vtn.db"
    service = VtnService(VtnCore(config, SqliteStore(path, busy_timeout=0.1), clock))
    token = register(service.core, "s1")
    request = create("s1", "s1-t", product("sell", 3, "0.10"))
    locked_later.append(lock := WriteLock(path))

    code, description = response(await service.answer(request, token=token))
    assert code == "503"
    assert description.startswith("storage unavailable (store: ")
    assert "locked" in description
    assert service.core.store.tenders(party_id="s1") == []  # nothing of it
    assert set(service.faults) == {"store"}
    assert response(await service.answer(EiRequestEiMarketContext(request_id="r", market_contexts=(
        config.market_context,))))[0] == "200"  # reads keep working
    assert set(await service.storage_faults()) == {"store"}  # the probe fails while the lock is held

    lock.release()
    assert await service.storage_faults() == {}  # the probe wrote: recovered by itself
    assert response(await service.answer(request, token=token))[0] == "200"  # the same request, now stored
    assert [r.tender_id for r in service.core.store.tenders(party_id="s1")] == ["s1-t"]


async def test_a_delivery_whose_ledger_write_fails_is_503_naming_the_ledger_and_completes_when_sent_again(
        tmp_path: Path, config: MarketConfig, clock: ManualClock, locked_later: list[WriteLock],
        no_probe_wait: None) -> None:
    store = MemoryStore()
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock, busy_timeout=0.1) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        tokens = _market(service.core)
        await service.close_gate(T)
        clock.set(T + QUARTER)
        locked_later.append(lock := WriteLock(tmp_path / "ledger.db"))
        code, description = response(await service.answer(delivery("s1", TX1, 3.0), token=tokens["s1"]))
        assert code == "503"
        assert description.startswith("storage unavailable (ledger: ")
        assert "the delivery is stored" in description
        assert set(await service.storage_faults()) == {"ledger"}
        lock.release()
        assert await service.storage_faults() == {}  # the ledger's probe wrote
        assert response(await service.answer(delivery("s1", TX1, 3.0), token=tokens["s1"]))[0] == "200"
        assert settlement.state(TX1) is State.PAID
        assert [e.kind for e in await ledger.audit_trail(TX1)] == [
            EntryKind.ANCHOR, EntryKind.DELIVERY, EntryKind.DELIVERY, EntryKind.PAYMENT_REQUEST, EntryKind.PAYMENT]


async def test_a_settlement_step_whose_log_failed_after_its_ledger_writes_writes_none_of_them_twice(
        tmp_path: Path, config: MarketConfig, clock: ManualClock, locked_later: list[WriteLock]) -> None:
    path = tmp_path / "vtn.db"
    store = SqliteStore(path, busy_timeout=0.1)
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        tokens = _market(service.core)
        await service.close_gate(T)
        clock.set(T + QUARTER)
        service.core.handle(delivery("s1", TX1, 3.0), token=tokens["s1"])  # stored; settlement not run yet
        locked_later.append(lock := WriteLock(path))
        with pytest.raises(StoreUnavailableError):
            await settlement.on_delivery(TX1)  # both readings and the request reach the ledger, the log fails
        assert len(await ledger.audit_trail(TX1)) == 4
        lock.release()
        assert await settlement.on_delivery(TX1) is State.PAID
        assert [e.kind for e in await ledger.audit_trail(TX1)] == [
            EntryKind.ANCHOR, EntryKind.DELIVERY, EntryKind.DELIVERY, EntryKind.PAYMENT_REQUEST, EntryKind.PAYMENT]
        assert [s.state for s in store.settlement_steps(TX1)] == ["anchored", "payment_requested", "paid"]
    store.close()


async def test_a_full_disk_undoes_the_whole_group_commit_and_writes_work_again_once_space_is_free(
        tmp_path: Path, config: MarketConfig, clock: ManualClock) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        store = SqliteStore(disk / "vtn.db")
        core = VtnCore(config, store, clock)
        tokens = {p: register(core, p) for p in ("s1", "s2", "b")}
        batch = [(create("s1", "s1-t", product("sell", 3, "0.10")), Credentials(tokens["s1"])),
                 (create("s2", "s2-t", product("sell", 2, "0.14")), Credentials(tokens["s2"])),
                 (create("b", "b-t", product("buy", 4, "0.20")), Credentials(tokens["b"]))]
        filler = fill(disk)
        results = core.handle_many(batch)
        assert all(isinstance(r, StoreUnavailableError) for r in results), results
        assert "full" in str(results[0])
        assert store.tenders() == []
        assert not store._conn.in_transaction
        with pytest.raises(StoreUnavailableError):
            store.probe()
        filler.unlink()
        store.probe()
        assert [response(r)[0] for r in core.handle_many(batch)] == ["200", "200", "200"]
        assert len(store.tenders()) == 3
        store.close()


async def test_a_read_only_store_reads_refuses_writes_and_creates_no_file(tmp_path: Path, config: MarketConfig,
                                                                          clock: ManualClock) -> None:
    path = tmp_path / "vtn.db"
    writer = SqliteStore(path)
    register(VtnCore(config, writer, clock), "s1")
    writer.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert before == ["vtn.db"]

    store = SqliteStore(path, read_only=True)
    assert store.registered_parties() == ["s1"]
    with pytest.raises(StoreUnavailableError, match="read-only"), store.transaction():
        pass
    service = VtnService(VtnCore(config, store, clock), read_only="--read-only")
    code, description = response(await service.answer(create("s1", "t", product())))
    assert code == "503"
    assert "read-only" in description
    assert response(await service.answer(EiRequestEiMarketContext(request_id="r", market_contexts=(
        config.market_context,))))[0] == "200"
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_shutdown_marker_is_in_the_main_file_while_a_writer_runs_and_clean_after_it_stopped(
        tmp_path: Path) -> None:
    path = tmp_path / "vtn.db"
    store = SqliteStore(path)
    assert store.shutdown_marker() is None
    store.mark_running()
    copy = tmp_path / "copy" / "vtn.db"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)  # the main file alone, as if the WAL were deleted
    assert SqliteStore(copy, read_only=True).shutdown_marker() == RUNNING
    store.mark_clean()
    store.close()
    assert not path.with_name("vtn.db-wal").exists()
    assert SqliteStore(path, read_only=True).shutdown_marker() == CLEAN


def test_quick_check_finds_a_damaged_page(tmp_path: Path, config: MarketConfig, clock: ManualClock) -> None:
    path = tmp_path / "vtn.db"
    store = SqliteStore(path)
    _market(VtnCore(config, store, clock))
    store.close()
    assert SqliteStore(path, read_only=True).quick_check() == []
    damage_table_page(path, "tenders")
    found = SqliteStore(path, read_only=True).quick_check()
    assert found
    assert any("page" in line or "malformed" in line for line in found), found


def damage_table_page(path: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with bytes that are no b-tree page."""
    conn = sqlite3.connect(path)
    root, size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0], \
        conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * size)
        fh.write(bytes([0xEE]) * size)
