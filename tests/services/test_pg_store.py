"""What the PostgreSQL store adds to the store's contract, against a real server (tests/conftest.py starts
it): the server going away and coming back, two stores (two processes' worth) on one database writing the
same keys, interval locks, migrations by processes starting together, notices with LISTEN/NOTIFY, ``meta``.
The store's ordinary semantics run through the whole service suite (the ``store`` fixture's "postgresql")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from interop.postgresql.cluster import PostgresCluster
from tests.services.conftest import NOW, proof_of
from transactive.ei.cts.registration import EiCreatePartyRegistration
from transactive.emix.base import Side
from transactive.services import ManualClock, MarketConfig, MemoryStore, VtnCore
from transactive.services.lifecycle import TenderStatus
from transactive.services.pg_schema import SCHEMA_VERSION
from transactive.services.pg_store import NOTICE_CHANNEL, PgStore
from transactive.services.store import (
    GateRow,
    Registration,
    Store,
    StoreConflictError,
    StoredReply,
    StoreError,
    StoreUnavailableError,
    TenderRow,
)

T = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[PgStore, PgStore]]:
    """Two stores on one database, as two VTN processes have."""
    a, b = PgStore(pg_url, busy_timeout=5.0), PgStore(pg_url, busy_timeout=5.0)
    yield a, b
    a.close()
    b.close()


class Background:
    """A function run on another thread (a second process's request), its result or error kept."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.result = fn()
            except BaseException as exc:  # handed to the test
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait(self) -> Any:
        assert self.done.wait(10), "the background request never finished"
        if self.error is not None:
            raise self.error
        return self.result


def _gate(at: datetime = T) -> GateRow:
    return GateRow(at, at - timedelta(minutes=5), Decimal("0.12"), Decimal("2.5"))


def _registration(registration_id: str, party: str = "ven-1") -> Registration:
    return Registration(registration_id, party, f"token-{registration_id}", T)


# ---- the server goes away and comes back ----


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresCluster]:
    """A server of these tests alone (they stop it), fsync off as the session's."""
    with PostgresCluster(fsync=False) as cluster:
        cluster.create_database("outage")
        yield cluster


def test_the_server_stopping_mid_transaction_is_unavailable_and_the_same_store_works_once_it_is_back(
        own_server: PostgresCluster) -> None:
    store = PgStore(own_server.url("outage"), busy_timeout=1.0)
    try:
        def write_across_the_stop() -> None:
            with store.transaction():
                store.put_gate(_gate(T))
                own_server.stop()  # "fast": the server ends every session, this transaction's too
                store.put_gate(_gate(T + timedelta(minutes=15)))

        with pytest.raises(StoreUnavailableError):
            write_across_the_stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            store.gate(T)  # while it is down, at once rather than after the pool's timeout
        assert time.monotonic() - started < 1.0
        with pytest.raises(StoreUnavailableError), store.transaction():
            store.put_gate(_gate(T))

        own_server.start()
        assert store.gate(T) is None  # nothing of the lost transaction was written
        with store.transaction():
            store.put_gate(_gate(T))
        assert store.gate(T) == _gate(T)
    finally:
        own_server.start()
        store.close()


def test_a_request_after_the_server_went_away_fails_at_once_and_the_next_after_its_return_works(
        own_server: PostgresCluster) -> None:
    store = PgStore(own_server.url("outage"), busy_timeout=5.0)
    try:
        store.put_reply(StoredReply("ven-1", "before", "d", "<r/>"))  # the pool holds a live connection
        own_server.stop("immediate")  # as a crash: no clean shutdown
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            store.reply_for("ven-1", "before")
        with pytest.raises(StoreUnavailableError):
            store.probe()
        assert time.monotonic() - started < 2.0  # not the pool's 5 s timeout, twice
        own_server.start()
        store.probe()
        assert store.reply_for("ven-1", "before") == StoredReply("ven-1", "before", "d", "<r/>")
    finally:
        own_server.start()
        store.close()


def test_a_store_cannot_open_a_database_that_is_not_there(pg_server: PostgresCluster) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        PgStore(pg_server.url("no_such_database"), busy_timeout=3.0)
    assert time.monotonic() - started < 2.0


def test_the_path_names_the_database_without_its_password() -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        PgStore("postgresql://vtn:s3cret@127.0.0.1:1/vtn", busy_timeout=1.0)
    assert "s3cret" not in str(caught.value)
    assert "postgresql://vtn@127.0.0.1:1/vtn" in str(caught.value)


# ---- two processes write the same key ----


def test_a_concurrent_duplicate_reply_is_a_conflict_and_the_retry_sees_the_winner(
        stores: tuple[PgStore, PgStore]) -> None:
    a, b = stores
    winner, loser = StoredReply("ven-1", "req-1", "d1", "<a/>"), StoredReply("ven-1", "req-1", "d1", "<b/>")

    def second() -> None:
        with b.transaction():
            assert b.reply_for("ven-1", "req-1") is None  # not committed yet: both processes go ahead
            b.put_reply(loser)  # waits for the first's commit, then finds the key taken

    with a.transaction():
        a.put_reply(winner)
        other = Background(second)
        assert not other.done.wait(0.1)  # the second waits on the first's uncommitted key
    with pytest.raises(StoreConflictError):
        other.wait()
    assert b.reply_for("ven-1", "req-1") == winner  # what the request sent again is answered from
    assert isinstance(StoreConflictError("x"), StoreUnavailableError)  # the VTN answers 503: try again


def test_a_party_has_at_most_one_active_registration_across_processes(stores: tuple[PgStore, PgStore]) -> None:
    a, b = stores

    def second() -> None:
        with b.transaction():
            assert b.active_registration("ven-1") is None
            b.add_registration(_registration("r-b"))

    with a.transaction():
        a.add_registration(_registration("r-a"))
        other = Background(second)
        assert not other.done.wait(0.1)
    with pytest.raises(StoreConflictError):
        other.wait()
    active = b.active_registration("ven-1")
    assert active is not None
    assert active.registration_id == "r-a"
    # once cancelled, a new registration is allowed
    with b.transaction():
        b.cancel_registration("r-a", T + timedelta(hours=1))
        b.add_registration(_registration("r-c"))
    assert a.registered_parties() == ["ven-1"]
    assert a.active_registration("ven-1") == _registration("r-c")


def test_two_vtn_processes_registering_one_party_at_once_give_it_one_registration(
        stores: tuple[PgStore, PgStore], config: MarketConfig) -> None:
    a, b = stores
    core_a, core_b = VtnCore(config, a, ManualClock(NOW)), VtnCore(config, b, ManualClock(NOW))
    request = EiCreatePartyRegistration(request_id="reg-ven-9", registree_party_id="ven-9")
    with a.transaction():  # process A's request, not committed yet
        first = core_a.handle(request, proof=proof_of("ven-9"))
        other = Background(lambda: core_b.handle(request, proof=proof_of("ven-9")))
        assert not other.done.wait(0.1)
    with pytest.raises(StoreConflictError):  # the VTN answers 503; the VEN sends the request again
        other.wait()
    again = core_b.handle(request, proof=proof_of("ven-9"))
    assert again.registration_id == first.registration_id  # type: ignore[attr-defined]
    assert b.registered_parties() == ["ven-9"]


# ---- transactions ----


def test_a_failed_nested_block_undoes_only_itself(pg_url: str) -> None:
    store = PgStore(pg_url)
    try:
        store.put_reply(StoredReply("ven-1", "taken", "d", "<r/>"))
        def refused_request() -> None:
            with store.transaction():
                store.put_gate(_gate(T + timedelta(minutes=15)))
                store.put_reply(StoredReply("ven-1", "taken", "d", "<again/>"))

        with store.transaction():
            store.put_gate(_gate(T))
            with pytest.raises(StoreConflictError):
                refused_request()
            store.put_gate(_gate(T + timedelta(minutes=30)))
        assert [g.interval_start for g in store.gates(limit=10)] == [T + timedelta(minutes=30), T]
    finally:
        store.close()


def test_an_error_caught_inside_a_transaction_does_not_commit_the_rest_quietly(pg_url: str) -> None:
    """PostgreSQL aborts the whole transaction at a failed statement (SQLite undoes only the statement):
    the store refuses to commit it rather than let COMMIT roll it back without a word."""
    store = PgStore(pg_url)
    try:
        store.put_reply(StoredReply("ven-1", "taken", "d", "<r/>"))
        def swallow_an_error() -> None:
            with store.transaction():
                store.put_gate(_gate(T))
                with pytest.raises(StoreConflictError):
                    store.put_reply(StoredReply("ven-1", "taken", "d", "<again/>"))

        with pytest.raises(StoreError, match="nothing written"):
            swallow_an_error()
        assert store.gate(T) is None
    finally:
        store.close()


def test_a_transaction_belongs_to_its_thread(pg_url: str) -> None:
    """Another thread's read goes through a connection of its own: it sees committed data only, and the
    transaction goes on undisturbed."""
    store = PgStore(pg_url)
    try:
        with store.transaction():
            store.put_gate(_gate(T))
            assert Background(lambda: store.gate(T)).wait() is None
            assert store.gate(T) == _gate(T)
        assert Background(lambda: store.gate(T)).wait() == _gate(T)
    finally:
        store.close()


def test_values_read_back_exactly_and_text_sorts_by_bytes_as_in_sqlite(pg_url: str) -> None:
    pg = PgStore(pg_url)
    try:
        sqlite: Store = MemoryStore()
        at = datetime(2026, 11, 21, 13, 0, 0, 123456, tzinfo=UTC)
        parties = ["b", "B", "a", "Z", "é", "ven-10", "ven-2", "_x"]
        for s in (pg, sqlite):
            with s.transaction():
                s.add_tender("ven-1", "t-1", "digest", "<doc/>", [TenderRow(
                    "ven-1", "t-1", 0, T, Side.SELL, Decimal("0.120"), Decimal("1E+2"), TenderStatus.OPEN, at,
                    Decimal("0.00"))])
                for n, party in enumerate(parties):
                    s.add_registration(_registration(f"r{n}", party))
        pg_row, = pg.tenders()
        assert pg_row == sqlite.tenders()[0]
        assert (str(pg_row.price), str(pg_row.quantity), str(pg_row.filled)) == ("0.120", "1E+2", "0.00")
        assert pg_row.accepted_at == at
        assert pg_row.accepted_at.utcoffset() == timedelta(0)
        assert pg.registered_parties() == sqlite.registered_parties() == sorted(parties)
    finally:
        pg.close()


# ---- interval locks ----


def test_a_gate_closure_waits_for_a_tender_transaction_holding_its_interval(stores: tuple[PgStore, PgStore],
                                                                            pg_url: str) -> None:
    a, b = stores
    c = PgStore(pg_url)  # a third process (a store is used by one thread at a time)

    def close_gate() -> float:
        with b.transaction():
            b.hold_interval(T, exclusive=True)
            held = time.monotonic()
            b.put_gate(_gate(T))
        return held

    with a.transaction():
        a.hold_interval(T)  # a tender being accepted for T
        with c.transaction():  # another tender for T (shared) and the next interval's gate do not wait
            c.hold_interval(T)
            c.hold_interval(T + timedelta(minutes=15), exclusive=True)
        closing = Background(close_gate)
        assert not closing.done.wait(0.1)
        committed = time.monotonic()
    assert closing.wait() >= committed
    assert a.gate(T) == _gate(T)
    c.close()


def test_an_interval_lock_not_granted_in_time_is_unavailable_and_needs_a_transaction(pg_url: str) -> None:
    a, b = PgStore(pg_url), PgStore(pg_url, busy_timeout=0.1)
    try:
        with pytest.raises(StoreError, match="transaction"):
            a.hold_interval(T)
        with a.transaction():
            a.hold_interval(T, exclusive=True)
            with pytest.raises(StoreUnavailableError), b.transaction():
                b.hold_interval(T)
    finally:
        a.close()
        b.close()


# ---- migrations ----


def test_stores_opening_together_apply_each_migration_once(pg_url: str) -> None:
    start = threading.Barrier(3)

    def open_store() -> PgStore:
        start.wait()
        return PgStore(pg_url)

    openers = [Background(open_store) for _ in range(3)]
    opened = [o.wait() for o in openers]
    for store in opened:
        store.close()
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_database_of_a_newer_schema_is_refused(pg_url: str) -> None:
    PgStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (%s, now())", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError) as caught:
        PgStore(pg_url)
    assert not isinstance(caught.value, StoreUnavailableError)
    assert f"version {SCHEMA_VERSION + 1}" in str(caught.value)
    assert f"speaks {SCHEMA_VERSION}" in str(caught.value)


# ---- notices and meta ----


def test_notices_are_numbered_read_after_a_seq_and_pruned(pg_url: str) -> None:
    store = PgStore(pg_url)
    try:
        assert store.last_notice_seq() == 0
        with store.transaction():
            first = store.add_notices([("ven-1", "<n1/>"), ("ven-2", "<n2/>")])
        second = store.add_notices([("ven-1", "<n3/>")])
        assert len(first) == 2
        assert first[0] < first[1] < second[0]
        assert store.last_notice_seq() == second[0]
        assert store.notices_after(0) == [(first[0], "ven-1", "<n1/>"), (first[1], "ven-2", "<n2/>"),
                                          (second[0], "ven-1", "<n3/>")]
        assert store.notices_after(first[0], limit=1) == [(first[1], "ven-2", "<n2/>")]
        assert store.prune_notices(second[0]) == 2
        assert store.notices_after(0) == [(second[0], "ven-1", "<n3/>")]
        def fail_after_a_notice() -> None:
            with store.transaction():
                store.add_notices([("ven-1", "<lost/>")])
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):  # rolled back: no notice
            fail_after_a_notice()
        assert store.last_notice_seq() == second[0]
    finally:
        store.close()


def test_a_listener_is_notified_at_commit_not_before(pg_url: str) -> None:
    store = PgStore(pg_url)
    try:
        with psycopg.connect(pg_url, autocommit=True) as listener:
            listener.execute(f"LISTEN {NOTICE_CHANNEL}")
            with store.transaction():
                store.add_notices([("ven-1", "<n/>")])
                assert list(listener.notifies(timeout=0.1, stop_after=1)) == []
            heard = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in heard] == [NOTICE_CHANNEL]
    finally:
        store.close()


def test_meta_keeps_the_first_writers_value(stores: tuple[PgStore, PgStore]) -> None:
    a, b = stores
    assert a.meta_get("leader-epoch") is None
    with a.transaction():
        assert a.meta_put_if_absent("leader-epoch", "a") == "a"
        other = Background(lambda: b.meta_put_if_absent("leader-epoch", "b"))
        assert not other.done.wait(0.1)  # waits for the first writer's commit
    assert other.wait() == "a"
    assert b.meta_put_if_absent("leader-epoch", "c") == "a"
    assert b.meta_get("leader-epoch") == "a"
