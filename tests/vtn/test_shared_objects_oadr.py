"""The OpenADR 2.0b role of two VTN processes on one shared SQLite file (:mod:`transactive.vtn.shared_objects`):
what a VEN did through one process and what the operator did through one is seen through the other once that
one got ``object_changed`` for it, and each check first shows the other process stale without it (the control:
the test would fail if the memory did not need bringing in line). Pushes run in the leader only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.vtn.two_processes import T0, Process, process_pair
from transactive.ei.oadr import (
    EiResponse,
    EventResponse,
    OadrCancelPartyRegistration,
    OadrCreatedEvent,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrPoll,
    OadrQueryRegistration,
    OadrRegisterReport,
    OadrResponse,
    QualifiedEventID,
)
from transactive.model import Model
from transactive.protocol.errors import NotAuthorizedError
from transactive.services.oadr import Peer
from transactive.services.oadr.context import OadrContext
from transactive.services.oadr.events import EventSpec, create_event, list_events, modify_event
from transactive.services.oadr.records import EventRecord, VenRecord
from transactive.services.oadr.registration import vtn_cancel_registration
from transactive.services.oadr.service import Pusher
from transactive.vtn.shared_objects import set_leader

PLAIN = Peer()
CERT = Peer(tls_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    with process_pair(tmp_path) as (a, b):
        for process in (a, b):  # both have been serving: their caches are loaded
            process.oadr.service.core.ctx.vens()
            process.oadr.service.core.ctx.events()
        yield a, b


async def send(process: Process, message: Model, peer: Peer = PLAIN) -> Model:
    return await process.oadr.service.handle(message, peer)


async def register(process: Process, name: str, peer: Peer = PLAIN, **extra: object) -> str:
    reply = await send(process, OadrCreatePartyRegistration(request_id=f"reg-{name}", ven_name=name, **extra), peer)
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert reply.response.response_code == 200
    assert reply.ven_id is not None
    return reply.ven_id


async def drain(process: Process, ven_id: str, peer: Peer = PLAIN) -> list[Model]:
    """Poll ``process`` until it has nothing more for the VEN; what it sent."""
    sent: list[Model] = []
    for _ in range(10):
        reply = await send(process, OadrPoll(ven_id=ven_id), peer)
        if isinstance(reply, OadrResponse):
            return sent
        sent.append(reply)
    raise AssertionError("the VTN never ran out of messages")


def spec(**extra: object) -> EventSpec:
    base: dict[str, object] = {"signal_name": "SIMPLE", "start": T0 + timedelta(minutes=5),
                               "intervals": ((timedelta(minutes=10), 1.0),)}
    base.update(extra)
    return EventSpec(**base)  # type: ignore[arg-type]


def names(process: Process) -> list[str]:
    return [v.ven_name for v in process.oadr.service.core.vens()]


async def test_a_ven_registered_through_one_process_is_known_to_the_other(pair: tuple[Process, Process]) -> None:
    a, b = pair
    ven_id = await register(a, "ven-1", CERT)
    # control: B answers a registration query (from memory, by the certificate) and lists its VENs stale
    query = await send(b, OadrQueryRegistration(request_id="q1"), CERT)
    assert isinstance(query, OadrCreatedPartyRegistration)
    assert query.ven_id is None
    assert names(b) == []
    assert a.relay_to(b) >= 1
    query = await send(b, OadrQueryRegistration(request_id="q2"), CERT)
    assert isinstance(query, OadrCreatedPartyRegistration)
    assert query.ven_id == ven_id
    assert names(b) == ["ven-1"]
    # the VEN, registering again through B with its certificate, gets its registration back (not a new one)
    again = await send(b, OadrCreatePartyRegistration(request_id="reg-again", ven_name="ven-1"), CERT)
    assert isinstance(again, OadrCreatedPartyRegistration)
    assert again.ven_id == ven_id
    # and its first poll through B brings the VTN's METADATA report, once
    sent = await drain(b, ven_id, CERT)
    assert [type(m) for m in sent] == [OadrRegisterReport]


async def test_a_ven_polls_another_process_before_the_notice_arrives(pair: tuple[Process, Process]) -> None:
    a, b = pair
    ven_id = await register(a, "ven-2")
    # B was not told: the venID is looked up in the store, and the VEN's first poll gets what waits for it
    sent = await drain(b, ven_id)
    assert [type(m) for m in sent] == [OadrRegisterReport]
    assert names(b) == ["ven-2"]
    # A hears that B handed out the METADATA report: A does not send it again
    b.relay_to(a)
    assert await drain(a, ven_id) == []


async def test_an_event_the_operator_made_on_one_process_reaches_a_ven_polling_the_other(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    ven_id = await register(a, "ven-3")
    a.relay_to(b)
    await drain(b, ven_id)  # B now knows nothing waits for the VEN: its polls are answered from memory
    b.relay_to(a)
    event: EventRecord = await a.oadr.service.operate(lambda ctx: create_event(ctx, spec(vens=("ven-3",))))
    # control: without the notice B still answers "nothing waits"
    assert isinstance(await send(b, OadrPoll(ven_id=ven_id)), OadrResponse)
    a.relay_to(b)
    reply = await send(b, OadrPoll(ven_id=ven_id))
    assert isinstance(reply, OadrDistributeEvent)
    assert [(e.event.descriptor.event_id, e.event.descriptor.modification_number) for e in reply.events] == [
        (event.event_id, 0)]
    # the VEN opts in through B; the operator's listing on A shows it (opts are read from the store)
    answer = OadrCreatedEvent(response=EiResponse(response_code=200, response_description="OK", request_id=""),
                              ven_id=ven_id, event_responses=(EventResponse(
                                  response_code=200, response_description="OK", request_id=reply.request_id,
                                  qualified_event_id=QualifiedEventID(event_id=event.event_id,
                                                                      modification_number=0),
                                  opt_type="optIn"),))
    assert isinstance(await send(b, answer), OadrResponse)
    b.relay_to(a)
    listed = a.oadr.service.read(list_events)
    assert [(e.event_id, opts) for e, opts in listed] == [(event.event_id, {"ven-3": "optIn"})]
    # the operator modifies it on A: B distributes the new version once told
    await a.oadr.service.operate(lambda ctx: modify_event(ctx, event.event_id, priority=3))
    assert isinstance(await send(b, OadrPoll(ven_id=ven_id)), OadrResponse)  # control
    a.relay_to(b)
    reply = await send(b, OadrPoll(ven_id=ven_id))
    assert isinstance(reply, OadrDistributeEvent)
    assert [e.event.descriptor.modification_number for e in reply.events] == [1]


async def test_a_registration_cancelled_through_one_process_is_refused_by_the_other(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    ven_id = await register(a, "ven-4")
    await drain(a, ven_id)

    def cancel(ctx: OadrContext) -> None:
        ven = ctx.active_by_name("ven-4")
        assert ven is not None
        vtn_cancel_registration(ctx, ven)
    await a.oadr.service.operate(cancel)  # the operator, on A: the cancellation waits in the VEN's outbox
    a.relay_to(b)
    # B hands the cancellation out (it learnt of the outbox message) and ends the registration as it does
    assert isinstance(await send(b, OadrPoll(ven_id=ven_id)), OadrCancelPartyRegistration)
    with pytest.raises(NotAuthorizedError):
        await send(b, OadrPoll(ven_id=ven_id))
    # control: A, not told yet, still takes the VEN's poll
    assert isinstance(await send(a, OadrPoll(ven_id=ven_id)), OadrResponse)
    b.relay_to(a)
    with pytest.raises(NotAuthorizedError):
        await send(a, OadrPoll(ven_id=ven_id))
    # and the name is free again on A: a new VEN may take it
    assert await register(a, "ven-4") != ven_id


async def test_a_ven_whose_record_is_deleted_elsewhere_is_dropped_from_every_index(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    ven_id = await register(a, "ven-5", CERT)
    a.relay_to(b)
    assert isinstance(await send(b, OadrPoll(ven_id=ven_id), CERT), OadrRegisterReport)
    with a.store.transaction():
        a.store.delete_oadr_object(VenRecord.KIND, ven_id)
    assert names(b) == ["ven-5"]  # control
    a.relay_to(b)
    assert names(b) == []
    query = await send(b, OadrQueryRegistration(request_id="q"), CERT)
    assert isinstance(query, OadrCreatedPartyRegistration)
    assert query.ven_id is None
    with pytest.raises(NotAuthorizedError):
        await send(b, OadrPoll(ven_id=ven_id), CERT)


async def _until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_only_the_leader_pushes_to_push_vens(pair: tuple[Process, Process]) -> None:
    a, b = pair
    pushed: dict[str, list[str]] = {"a": [], "b": []}

    def pusher(name: str) -> Pusher:
        async def push(ven: VenRecord, message: Model) -> None:
            pushed[name].append(type(message).__name__)
        return push
    a.oadr.service.pusher = pusher("a")
    b.oadr.service.pusher = pusher("b")
    set_leader(a.oadr, a.oa3, False)
    await register(a, "pushed", http_pull_model=False, transport_address="http://127.0.0.1:9/")
    await asyncio.sleep(0.05)
    assert pushed == {"a": [], "b": []}  # A wrote, but does not push; B does not know yet
    a.relay_to(b)
    await _until(lambda: pushed["b"] == ["OadrRegisterReport"])
    b.relay_to(a)
    await a.oadr.service.operate(lambda ctx: create_event(ctx, spec(vens=("pushed",))))
    await asyncio.sleep(0.05)
    assert pushed["a"] == []
    a.relay_to(b)
    await _until(lambda: pushed["b"] == ["OadrRegisterReport", "OadrDistributeEvent"])
    b.relay_to(a)
    # the leader changes: B stops, A takes over and sends what waits (here: an event made on B)
    set_leader(b.oadr, b.oa3, False)
    set_leader(a.oadr, a.oa3, True)
    await b.oadr.service.operate(lambda ctx: create_event(ctx, spec(vens=("pushed",), signal_name="LOAD_DISPATCH")))
    await asyncio.sleep(0.05)
    assert pushed["b"] == ["OadrRegisterReport", "OadrDistributeEvent"]
    b.relay_to(a)
    await _until(lambda: pushed["a"] == ["OadrDistributeEvent"])
    assert pushed["b"] == ["OadrRegisterReport", "OadrDistributeEvent"]
