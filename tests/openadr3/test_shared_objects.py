"""The OpenADR 3.1 role of two VTN processes on one shared SQLite file (:mod:`transactive.vtn.shared_objects`):
clients, tokens and every kind of object made, changed or deleted through one process are found, searched,
changed and deleted through the other once it got ``object_changed``; each check first shows the other process
stale without it (the control). The webhooks of both record deliveries, the leader alone sends them; the market
bridge publishes and prunes in the leader only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.vtn.two_processes import MARKET, T0, Process, process_pair
from transactive.services.gate import GateResult
from transactive.services.openadr3 import SYSTEM, Oa3Error, Oa3Service, Principal, Role, TokenError
from transactive.services.store import GateRow
from transactive.vtn.openadr3_mqtt import _Control
from transactive.vtn.openadr3_notify import DELIVERY_KIND, Notifiers, RetryPolicy, make_notifiers
from transactive.vtn.shared_objects import object_changed, set_leader


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    with process_pair(tmp_path) as (a, b):
        for process in (a, b):  # both have been serving: every table is loaded
            for name in ("programs", "events", "reports", "subscriptions", "vens", "resources"):
                process.oa3.service.search(SYSTEM, name, {})
        yield a, b


def ven_principal(process: Process, name: str) -> tuple[Principal, str]:
    """A VEN client made through ``process``, with its principal there (through a token of its own)."""
    issued = process.oa3.clients.create(Role.VEN, name)
    token = process.oa3.tokens.issue(issued.record.client_id, issued.secret)["access_token"]
    return process.oa3.tokens.check(token), issued.record.client_id


def ids(service: Oa3Service, name: str, who: Principal = SYSTEM, **query: str) -> list[str]:
    return [o["id"] for o in service.search(who, name, {k: [v] for k, v in query.items()})]


def test_a_client_made_through_one_process_gets_tokens_from_the_other_until_revoked_there(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    issued = a.oa3.clients.create(Role.VEN, "house")
    client_id = issued.record.client_id
    # the token endpoint of B looks the client up in the store (a client may fetch its token anywhere at once)
    token = b.oa3.tokens.issue(client_id, issued.secret)["access_token"]
    assert b.oa3.tokens.check(token).client_id == client_id
    assert a.oa3.tokens.check(token).client_id == client_id  # one key for both (one data directory)
    with pytest.raises(TokenError):
        b.oa3.tokens.issue(client_id, "not-the-secret")
    a.relay_to(b)
    assert [r.client_id for r in b.oa3.clients.all()] == [client_id]
    a.oa3.clients.revoke(client_id)
    # control: B, not told yet, still takes the token; once told, refuses it and the secret
    assert b.oa3.tokens.check(token).client_id == client_id
    a.relay_to(b)
    with pytest.raises(TokenError, match="revoked"):
        b.oa3.tokens.check(token)
    with pytest.raises(TokenError, match="revoked"):
        b.oa3.tokens.issue(client_id, issued.secret)


def test_every_kind_made_on_one_process_is_found_changed_and_deleted_through_the_other(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    house, house_client = ven_principal(a, "house")
    a.relay_to(b)
    sa, sb = a.oa3.service, b.oa3.service
    program = sa.create(SYSTEM, "programs", {"programName": "demand-response"})
    ven = sa.create(SYSTEM, "vens", {"objectType": "BL_VEN_REQUEST", "clientID": house_client, "venName": "house"})
    resource = sa.create(house, "resources", {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "meter",
                                              "venID": ven["id"], "targets": ["zone-a"]})
    event = sa.create(SYSTEM, "events", {
        "programID": program["id"], "targets": ["zone-a"],
        "intervalPeriod": {"start": "2026-12-04T13:00:00Z", "duration": "PT15M"},
        "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.2]}]}]})
    report = sa.create(house, "reports", {"eventID": event["id"], "clientName": "house", "resources": [
        {"resourceName": "meter", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}]}]})
    subscription = sa.create(house, "subscriptions", {"clientName": "house", "objectOperations": [
        {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": "https://example.com/hook"}]})
    made = {"programs": program, "vens": ven, "resources": resource, "events": event, "reports": report,
            "subscriptions": subscription}
    for name, obj in made.items():
        # control: B's searches do not list it yet; a read by id finds it at once (looked up in the store)
        assert obj["id"] not in ids(sb, name), name
        assert sb.read(SYSTEM, name, obj["id"]) == obj
    a.relay_to(b)
    for name, obj in made.items():
        assert obj["id"] in ids(sb, name), name
    assert ids(sb, "events", programID=program["id"]) == [event["id"]]
    assert ids(sb, "resources", venID=ven["id"]) == [resource["id"]]
    # through B: the VEN client sees the event targeted at its resource's zone (its VEN facts followed)
    assert ids(sb, "events", house) == [event["id"]]
    # updated through B: A serves the old version until told
    renamed = sb.update(SYSTEM, "programs", program["id"], {"programName": "dr-2"})
    assert sa.read(SYSTEM, "programs", program["id"])["programName"] == "demand-response"  # control
    b.relay_to(a)
    assert sa.read(SYSTEM, "programs", program["id"]) == renamed
    assert sa.program_named("dr-2") == renamed
    # the resource moves to another zone on A: the VEN client's view on B follows its VEN facts once told
    sa.update(house, "resources", resource["id"], {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "meter",
                                                   "venID": ven["id"], "targets": ["zone-c"]})
    assert ids(sb, "events", house) == [event["id"]]  # control
    a.relay_to(b)
    assert ids(sb, "events", house) == []
    # the event is retargeted to that zone through B: A shows it to the VEN client once told
    sb.update(SYSTEM, "events", event["id"], {**{k: event[k] for k in ("programID", "intervalPeriod", "intervals")},
                                               "targets": ["zone-c"]})
    assert ids(sa, "events", house) == []  # control
    b.relay_to(a)
    assert ids(sa, "events", house) == [event["id"]]
    # a report changed and deleted through B, seen on A
    sb.update(house, "reports", report["id"], {**{k: report[k] for k in ("eventID", "resources")},
                                               "clientName": "house-2"})
    assert sa.read(SYSTEM, "reports", report["id"])["clientName"] == "house"  # control
    b.relay_to(a)
    assert sa.read(SYSTEM, "reports", report["id"])["clientName"] == "house-2"
    sb.delete(SYSTEM, "reports", report["id"])
    assert report["id"] in ids(sa, "reports")  # control
    b.relay_to(a)
    assert ids(sa, "reports") == []
    # deleted on A (a VEN takes its resources with it, a program its events): B drops them once told
    sa.delete(SYSTEM, "vens", ven["id"])
    sa.delete(SYSTEM, "subscriptions", subscription["id"])
    sa.delete(SYSTEM, "programs", program["id"])
    gone = ("vens", "resources", "subscriptions", "programs", "events")
    for name in gone:
        assert made[name]["id"] in ids(sb, name), name  # control
    a.relay_to(b)
    for name in gone:
        assert made[name]["id"] not in ids(sb, name), name
        with pytest.raises(Oa3Error) as missing:
            sb.read(SYSTEM, name, made[name]["id"])
        assert missing.value.status == 404


def test_listings_stay_in_id_order_when_objects_arrive_from_the_other_process(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    first = a.oa3.service.create(SYSTEM, "programs", {"programName": "first"})  # made first, told late
    time.sleep(0.002)  # (ids order by the millisecond: two processes' ids of one millisecond order by chance)
    second = b.oa3.service.create(SYSTEM, "programs", {"programName": "second"})
    a.relay_to(b)
    market = b.oa3.service.program_named(MARKET)
    assert market is not None
    assert ids(b.oa3.service, "programs") == [market["id"], first["id"], second["id"]]
    assert ids(b.oa3.service, "programs", limit="1", skip="1") == [first["id"]]


async def test_the_webhooks_match_subscriptions_made_elsewhere_and_only_the_leader_sends(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        arrived.set()
        return web.Response(status=204)
    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    notifiers: list[Notifiers] = []

    async def heard(count: int) -> list[str]:
        async with asyncio.timeout(5):
            while len(received) < count:
                arrived.clear()
                await arrived.wait()
        return [n["object"]["programName"] for n in received]

    async def settled(process: Process) -> None:
        async with asyncio.timeout(5):
            while process.store.oadr_objects(DELIVERY_KIND):
                await asyncio.sleep(0.01)
    try:
        for process in (a, b):
            made = make_notifiers(process.oa3, private=True)
            made.webhooks.policy = RetryPolicy(first=0.05, maximum=0.1, timeout=2.0)
            await made.start()
            notifiers.append(made)
        set_leader(a.oadr, a.oa3, False)
        utility = a.oa3.clients.create(Role.BL, "utility")
        principal = a.oa3.tokens.check(a.oa3.tokens.issue(utility.record.client_id, utility.secret)["access_token"])
        a.oa3.service.create(principal, "subscriptions", {"clientName": "utility", "objectOperations": [
            {"objects": ["PROGRAM"], "operations": ["CREATE"], "callbackUrl": url}]})
        # control: B does not know the subscription yet: a program made on B is for nobody
        b.oa3.service.create(SYSTEM, "programs", {"programName": "unheard"})
        assert b.store.oadr_objects(DELIVERY_KIND) == []
        a.relay_to(b)
        b.relay_to(a)
        b.oa3.service.create(SYSTEM, "programs", {"programName": "heard"})
        assert await heard(1) == ["heard"]
        await settled(b)
        # A, not the leader, records the delivery of its own change and does not send it ...
        a.oa3.service.create(SYSTEM, "programs", {"programName": "told"})
        [pending] = a.store.oadr_objects(DELIVERY_KIND)
        assert pending.ven_id == url
        await asyncio.sleep(0.2)
        assert len(received) == 1
        # ... the leader sends it once it hears of it
        a.relay_to(b)
        assert await heard(2) == ["heard", "told"]
        await settled(b)
        # the leader changes: what B, no longer the leader, records waits; A resumes it when it takes over
        set_leader(b.oadr, b.oa3, False)
        b.oa3.service.create(SYSTEM, "programs", {"programName": "late"})
        await asyncio.sleep(0.2)
        assert len(received) == 2
        b.store.written.clear()  # (A is not told: taking over, it finds the pending delivery in the store)
        set_leader(a.oadr, a.oa3, True)
        assert await heard(3) == ["heard", "told", "late"]
    finally:
        for made in notifiers:
            await made.stop()
        await runner.cleanup()


async def test_the_market_bridge_publishes_and_prunes_in_the_leader_only(pair: tuple[Process, Process]) -> None:
    a, b = pair
    assert a.oa3.bridge is not None
    assert b.oa3.bridge is not None
    market = a.oa3.service.program_named(MARKET)
    assert market is not None

    def prices(process: Process) -> list[list[float]]:
        return [e["intervals"][0]["payloads"][0]["values"] for e in process.oa3.service.events_of(market["id"])]

    def closed(interval: datetime, price: str) -> GateResult:
        return GateResult(interval, GateRow(interval, datetime.now(UTC), Decimal(price), Decimal(1)), ())
    set_leader(a.oadr, a.oa3, False)
    first = T0 + timedelta(hours=1)
    await a.oa3.bridge.on_gate(closed(first, "0.21"))
    assert prices(a) == []  # not the leader
    await b.oa3.bridge.on_gate(closed(first, "0.22"))
    b.relay_to(a)
    assert prices(a) == [[0.22]]
    # a day later the old price event goes: not at A's gate, at the leader's
    later = first + timedelta(days=1, hours=1)
    await a.oa3.bridge.on_gate(closed(later, "0.31"))
    assert a.store.written == []
    assert prices(b) == [[0.22]]
    await b.oa3.bridge.on_gate(closed(later, "0.32"))
    b.relay_to(a)
    assert prices(a) == [[0.32]]


async def test_a_newer_broker_password_set_by_the_other_process_outlives_this_ones_token(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    notifiers = {}
    for name, process in (("a", a), ("b", b)):
        process.oa3.tokens.lifetime = 1  # (seconds: the broker password's expiry timer fires within the test)
        # with ACLs the notifier hears every token issued; it is not started (no broker needed for this)
        notifiers[name] = make_notifiers(process.oa3, mqtt=("127.0.0.1", 9), acl=True)
    house = a.oa3.clients.create(Role.VEN, "house")
    shed = a.oa3.clients.create(Role.VEN, "shed")
    for issued in (house, shed):
        a.oa3.tokens.issue(issued.record.client_id, issued.secret)
        b.oa3.tokens.issue(issued.record.client_id, issued.secret)  # newer, through B
    # A is told of B's password for the shed only (the house is the control)
    for kind, key in b.store.written:
        if key == shed.record.client_id:
            object_changed(a.oadr, a.oa3, kind, key)
    await asyncio.sleep(1.3)
    mqtt = notifiers["a"].mqtt
    queued: dict[str, list[str | None]] = {}
    while not mqtt._queue.empty():
        item = mqtt._queue.get_nowait()
        assert isinstance(item, _Control)
        queued.setdefault(item.client_id, []).append(item.password)
    house_passwords = queued[house.record.client_id]
    assert len(house_passwords) == 2  # A's token, then at its expiry a random one over B's newer token
    assert len(queued[shed.record.client_id]) == 1  # A's token only: B's newer password stays
