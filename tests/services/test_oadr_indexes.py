"""The OpenADR core's VEN indexes (by name, and of the push VENs) always agree with a scan of every VEN, through
registration, renaming, cancellation, re-registration under the same name, pull/push switches and a rebuild
from the store; and one VEN's outbox lookup returns that VEN's messages only, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from transactive.ei.oadr import OadrCancelPartyRegistration, OadrCreatedPartyRegistration, OadrCreatePartyRegistration
from transactive.protocol.clock import ManualClock
from transactive.services.oadr import OadrCore, Peer
from transactive.services.oadr.context import OadrContext
from transactive.services.oadr.records import OutboxRecord, VenRecord
from transactive.services.sqlite_store import MemoryStore, SqliteStore

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
PUSH_URL = "http://ven.example.net:8080/OpenADR2/Simple/2.0b"


@pytest.fixture
def core() -> OadrCore:
    clock = ManualClock(T0)
    return OadrCore(MemoryStore(), clock, wall=clock)


def register(core: OadrCore, name: str, n: int, **fields: object) -> OadrCreatedPartyRegistration:
    reply = core.handle(OadrCreatePartyRegistration(request_id=f"reg-{name}-{n}", ven_name=name, **fields), Peer())
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert reply.response.response_code == 200, reply.response
    return reply


def agrees_with_a_scan(core: OadrCore, names: list[str]) -> None:
    vens = core.ctx.vens().values()
    for name in names:
        scanned = next((v for v in vens if v.active and v.ven_name == name), None)
        assert core.ctx.active_by_name(name) == scanned, name
    push = [v for v in vens if v.active and not v.http_pull_model and v.transport_address]
    assert core.ctx.push_vens() == push
    for fingerprint in {v.fingerprint for v in vens if v.fingerprint is not None}:
        active = [v for v in vens if v.active and v.fingerprint == fingerprint]
        found = core.ctx.active_by_fingerprint(fingerprint)
        assert (found in active) if active else found is None, fingerprint


def test_the_indexes_agree_with_a_scan_of_every_ven(core: OadrCore) -> None:
    names = ["a", "b", "c", "d", "e"]
    a1 = register(core, "a", 1)
    certified = Peer(tls_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33")
    reply = core.handle(OadrCreatePartyRegistration(request_id="reg-e", ven_name="e"), certified)
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert core.ctx.active_by_fingerprint("AA:BB:CC:DD:EE:FF:00:11:22:33") is not None
    register(core, "b", 1, http_pull_model=False, transport_address=PUSH_URL)
    agrees_with_a_scan(core, names)
    assert [v.ven_name for v in core.pushable()] == ["b"]  # registered, so something waits for it
    # a cancelled registration frees its name; registering again under it is another VEN
    core.handle(OadrCancelPartyRegistration(request_id="cancel-a", registration_id=a1.registration_id,
                                            ven_id=a1.ven_id), Peer())
    agrees_with_a_scan(core, names)
    assert core.ctx.active_by_name("a") is None
    a2 = register(core, "a", 2)
    assert a2.ven_id != a1.ven_id
    agrees_with_a_scan(core, names)
    # renaming a registration moves it from one name to the other
    register(core, "c", 3, registration_id=a2.registration_id, ven_id=a2.ven_id)
    agrees_with_a_scan(core, names)
    assert core.ctx.active_by_name("a") is None
    active_c = core.ctx.active_by_name("c")
    assert active_c is not None
    assert active_c.ven_id == a2.ven_id
    # a push VEN that re-registers as a pull VEN leaves the push index; and the other way round
    b = core.ctx.active_by_name("b")
    assert b is not None
    register(core, "b", 2, registration_id=b.registration_id, ven_id=b.ven_id)
    agrees_with_a_scan(core, names)
    assert core.ctx.push_vens() == []
    register(core, "c", 4, registration_id=a2.registration_id, ven_id=a2.ven_id, http_pull_model=False,
             transport_address=PUSH_URL)
    agrees_with_a_scan(core, names)
    # the indexes are rebuilt with the VENs after the caches are dropped (as after a failed transaction)
    before = {name: core.ctx.active_by_name(name) for name in names}
    core.ctx.forget()
    assert {name: core.ctx.active_by_name(name) for name in names} == before
    agrees_with_a_scan(core, names)


def test_a_failed_transaction_leaves_no_trace_in_the_indexes(core: OadrCore) -> None:
    register(core, "a", 1)

    def fails(ctx: OadrContext) -> None:
        ctx.put_ven(VenRecord(ven_id="ven-x", registration_id="reg-x", ven_name="x", registered_at=T0,
                              http_pull_model=False, transport_address=PUSH_URL))
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        core.operate(fails)  # the transaction is rolled back and the caches dropped
    assert core.ctx.active_by_name("x") is None
    assert core.ctx.push_vens() == []
    agrees_with_a_scan(core, ["a", "x"])


def test_one_vens_outbox_is_its_own_messages_in_order(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    store = SqliteStore(tmp_path / "vtn.db")
    try:
        core = OadrCore(store, clock, wall=clock)
        ids = [register(core, f"ven-{i}", i).ven_id for i in range(30)]
        with store.transaction():
            for n in range(3):
                for ven_id in ids:
                    core.ctx.queue(ven_id, f"<m ven='{ven_id}' n='{n}'/>".encode())
        for ven_id in ids:
            queued = [OutboxRecord.load(o.document) for o in store.oadr_objects(OutboxRecord.KIND, ven_id=ven_id)]
            assert {q.ven_id for q in queued} == {ven_id}
            # the three above, in order (the VTN's METADATA report is not queued: metadata_pending)
            assert [q.seq for q in queued] == [1, 2, 3]
            assert [q.document for q in queued] == [f"<m ven='{ven_id}' n='{n}'/>" for n in range(3)]
    finally:
        store.close()
