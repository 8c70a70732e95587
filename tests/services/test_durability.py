"""The real SqliteStore: everything accepted is there after reopening; a restarted VTN repeats nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.services.conftest import QUARTER, T, create, product
from tests.services.test_deliveries_positions import TX1, delivery
from tests.services.test_gate import _market
from transactive.services import ManualClock, MarketConfig, SqliteStore, StoreError, TenderStatus, VtnCore


def test_everything_accepted_survives_reopening_the_file(tmp_path: Path, config: MarketConfig,
                                                         clock: ManualClock) -> None:
    path = tmp_path / "vtn.db"
    core = VtnCore(config, SqliteStore(path), clock)
    tokens = _market(core)
    before = core.close_gate(T)
    clock.set(T + QUARTER)
    core.handle(delivery("s1", TX1, 3.0), token=tokens["s1"])
    core.store.close()

    reopened = VtnCore(config, SqliteStore(path), clock)  # "the VTN was killed and restarted"
    assert reopened.registered_parties() == ["b", "s1", "s2"]
    assert all(r.status is TenderStatus.CLEARED for r in reopened.store.tenders())
    assert reopened.close_gate(T).transactions == before.transactions  # idempotent across restarts
    assert len(reopened.store.transactions()) == 3
    stored = reopened.store.delivery(TX1)
    assert stored is not None
    assert str(stored.quantity) == "3.0"
    # a VEN resending its request after the restart gets the same answer, no duplicate
    again = reopened.handle(create("s1", "s1-t", product("sell", 3, "0.10")), token=tokens["s1"])
    assert again.response.ok
    assert len(reopened.store.tenders(party_id="s1")) == 1


def test_the_store_uses_wal_and_full_sync(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "vtn.db")
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_refused_request_is_rolled_back(tmp_path: Path, config: MarketConfig, clock: ManualClock) -> None:
    core = VtnCore(config, SqliteStore(tmp_path / "vtn.db"), clock)
    tokens = _market(core)
    bad = create("s1", "ok", product()).replace(tenders=(
        create("s1", "ok", product()).tenders[0], create("s1", "bad", product(quantity=500)).tenders[0]))
    with pytest.raises(Exception, match="quantity"):
        core.handle(bad, token=tokens["s1"])
    assert [r.tender_id for r in core.store.tenders(party_id="s1")] == ["s1-t"]


def test_a_store_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vtn.db"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(path)


def test_a_schema_2_store_is_migrated_to_3_keeping_its_data(tmp_path: Path, config: MarketConfig,
                                                            clock: ManualClock) -> None:
    """A store written before the OpenADR 2.0b role (schema 2) opens with the role's tables added and
    nothing of its own changed."""
    path = tmp_path / "vtn.db"
    core = VtnCore(config, SqliteStore(path), clock)
    tokens = _market(core)
    core.store.close()
    conn = sqlite3.connect(path)
    for table in ("oadr_objects", "oadr_report_values", "oadr_nonces"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert store.registration_by_token(tokens["s1"]) is not None
    assert store.oadr_objects("ven") == []
    assert store.remember_nonce("n", clock(), clock())
    store.close()
