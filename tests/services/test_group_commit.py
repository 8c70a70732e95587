"""Group commit: writing requests handled in the same turn of the event loop share one store transaction
(one fsync); each sits in its own savepoint, so a refused one leaves no trace and the others stand; nobody is
answered before the commit, and a failed commit fails them all with nothing written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services.conftest import create, product, register
from transactive.errors import ProtocolError
from transactive.services import ManualClock, MarketConfig, SqliteStore, StoreError, VtnCore, VtnService
from transactive.services.store import Store, StoredReply


class CommitFails(SqliteStore):
    """A real SQLite store whose outermost COMMIT fails (as on a full or failing disk) while ``failing``."""

    failing = False
    commits = 0

    @contextmanager
    def _tx(self) -> Iterator[None]:
        if self._depth:
            with super()._tx():
                yield
            return
        if not self.failing:
            with super()._tx():
                yield
            self.commits += 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._conn.execute("ROLLBACK")
        raise StoreError("commit failed: disk I/O error (simulated)")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CommitFails]:
    store = CommitFails(tmp_path / "vtn.db")
    yield store
    store.close()


def _service(config: MarketConfig, store: Store, clock: ManualClock) -> tuple[VtnService, dict[str, str]]:
    core = VtnCore(config, store, clock)
    tokens = {party: register(core, party) for party in ("s1", "s2", "b")}
    return VtnService(core), tokens


async def test_concurrent_tenders_share_one_commit_and_all_are_stored(config: MarketConfig, clock: ManualClock,
                                                                      sqlite_store: CommitFails) -> None:
    service, tokens = _service(config, sqlite_store, clock)
    before = sqlite_store.commits
    requests = [create(party, f"{party}-t{i}", product("sell" if party != "b" else "buy", 1.0, "0.10", uid=f"u{i}"))
                for i in range(20) for party in ("s1", "s2", "b")]
    replies = await asyncio.gather(*(service.handle(m, token=tokens[m.party_id]) for m in requests))
    assert all(r.response.ok for r in replies)  # type: ignore[attr-defined]
    assert len(sqlite_store.tenders()) == 60
    assert service.batches == 1
    assert service.batched == 60
    assert sqlite_store.commits - before == 1  # one transaction, one fsync, for 60 tenders


async def test_a_refused_request_in_a_batch_leaves_no_trace_and_the_others_stand(
        config: MarketConfig, clock: ManualClock, sqlite_store: CommitFails) -> None:
    service, tokens = _service(config, sqlite_store, clock)
    good = create("s1", "ok-1", product("sell", 2.0, "0.10"))
    too_dear = create("s2", "dear", product("sell", 2.0, "5.00"))  # above the market's max price
    conflict = create("s1", "ok-2", product("sell", 1.0, "0.10", uid="other"), request_id="req-ok-1")
    not_theirs = create("s2", "theft", product("sell", 1.0, "0.10"))
    results = await asyncio.gather(
        service.handle(good, token=tokens["s1"]),
        service.handle(too_dear, token=tokens["s2"]),
        service.handle(conflict, token=tokens["s1"]),  # same requestID as `good`, other content: 409
        service.handle(not_theirs, token=tokens["s1"]),  # s1's token for s2's tender: refused
        return_exceptions=True)
    assert service.batches == 1
    assert results[0].response.ok  # type: ignore[union-attr]
    codes = [r.response_code for r in results[1:]]  # type: ignore[union-attr]
    assert all(isinstance(r, ProtocolError) for r in results[1:])
    assert codes[1] == 409
    assert [(t.party_id, t.tender_id) for t in sqlite_store.tenders()] == [("s1", "ok-1")]
    assert sqlite_store.tender_document("s2", "dear") is None
    assert sqlite_store.reply_for("s2", "req-dear") is None  # a refusal is not remembered as an answer
    # the accepted one is remembered: sent again, the same reply, still one tender
    again = await service.handle(good, token=tokens["s1"])
    assert again == results[0]
    assert len(sqlite_store.tenders()) == 1


async def test_a_failed_commit_fails_every_request_of_the_batch_and_writes_nothing(
        config: MarketConfig, clock: ManualClock, sqlite_store: CommitFails) -> None:
    service, tokens = _service(config, sqlite_store, clock)
    sqlite_store.failing = True
    results = await asyncio.gather(
        *(service.handle(create("s1", f"t{i}", product("sell", 1.0, "0.10", uid=f"u{i}")), token=tokens["s1"])
          for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results)
    sqlite_store.failing = False
    assert sqlite_store.tenders() == []
    assert sqlite_store.reply_for("s1", "req-t0") is None
    # and the service goes on: the same requests succeed once the disk is back
    replies = await asyncio.gather(
        *(service.handle(create("s1", f"t{i}", product("sell", 1.0, "0.10", uid=f"u{i}")), token=tokens["s1"])
          for i in range(5)))
    assert all(r.response.ok for r in replies)  # type: ignore[attr-defined]
    assert len(sqlite_store.tenders()) == 5


async def test_a_caller_that_goes_away_does_not_undo_or_break_the_batch(
        config: MarketConfig, clock: ManualClock, sqlite_store: CommitFails) -> None:
    service, tokens = _service(config, sqlite_store, clock)
    leaving = asyncio.ensure_future(service.handle(create("s1", "gone", product("sell", 1.0, "0.10")),
                                                   token=tokens["s1"]))
    staying = asyncio.ensure_future(service.handle(create("s2", "here", product("sell", 1.0, "0.10")),
                                                   token=tokens["s2"]))
    await asyncio.sleep(0)  # both queued
    leaving.cancel()
    reply = await staying
    assert reply.response.ok  # type: ignore[attr-defined]
    assert leaving.cancelled()
    # the write of the caller that left stands, as a retry of its request would find it
    assert {t.tender_id for t in sqlite_store.tenders()} == {"gone", "here"}


async def test_without_group_commit_each_request_commits_alone(config: MarketConfig, clock: ManualClock,
                                                               sqlite_store: CommitFails) -> None:
    core = VtnCore(config, sqlite_store, clock)
    token = register(core, "s1")
    service = VtnService(core, group_commit=False)
    before = sqlite_store.commits
    await asyncio.gather(*(service.handle(create("s1", f"t{i}", product("sell", 1.0, "0.10", uid=f"u{i}")),
                                          token=token) for i in range(4)))
    assert sqlite_store.commits - before == 4
    assert service.batches == 0


def test_a_nested_transaction_is_a_savepoint(sqlite_store: CommitFails, config: MarketConfig,
                                             clock: ManualClock) -> None:
    core = VtnCore(config, sqlite_store, clock)
    token = register(core, "s1")
    with sqlite_store.transaction():
        core.handle(create("s1", "kept", product("sell", 1.0, "0.10")), token=token)
        with pytest.raises(ProtocolError):
            core.handle(create("s1", "refused", product("sell", 1.0, "9.00")), token=token)
        with pytest.raises(RuntimeError, match="undo this block only"):
            _write_then_fail(sqlite_store)
    assert [t.tender_id for t in sqlite_store.tenders()] == ["kept"]
    assert sqlite_store.reply_for("x", "y") is None
    assert sqlite_store.reply_for("s1", "req-kept") is not None


def _write_then_fail(store: SqliteStore) -> None:
    with store.transaction():
        store.put_reply(StoredReply("x", "y", "d", "{}"))
        raise RuntimeError("undo this block only")


async def test_a_flush_cancelled_before_it_ran_does_not_stop_later_writes(
        config: MarketConfig, clock: ManualClock, sqlite_store: CommitFails) -> None:
    service, tokens = _service(config, sqlite_store, clock)
    first = asyncio.ensure_future(service.handle(create("s1", "lost", product("sell", 1.0, "0.10")),
                                                 token=tokens["s1"]))
    await asyncio.sleep(0)  # queued; its flush task created, not yet run
    assert service._commits.task is not None
    service._commits.task.cancel()  # as when the loop shuts down
    first.cancel()
    await asyncio.sleep(0)
    reply = await service.handle(create("s2", "later", product("sell", 1.0, "0.10")), token=tokens["s2"])
    assert reply.response.ok  # type: ignore[attr-defined]
    assert "later" in {t.tender_id for t in sqlite_store.tenders()}
