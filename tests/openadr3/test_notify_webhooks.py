"""OpenADR 3.1 webhooks from a real VTN to a receiver on loopback: what a subscription asks for arrives in order
with its bearer token, failures are retried with backoff, deliveries that keep failing become dead letters the
operator sees, pending deliveries survive a restart, and a VEN hears only of what it may read. Every body is a
valid ``notification`` of the specification."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.openadr3.conftest import Oa3Vtn
from tests.vtn.conftest import ROOT
from transactive.schemas.openadr3 import validate_body
from transactive.vtn.app import VtnApp, VtnOptions
from transactive.vtn.openadr3_app import Oa3Config
from transactive.vtn.openadr3_notify import RetryPolicy

FAST = RetryPolicy(first=0.05, maximum=0.2, attempts=4, jitter=0.5, timeout=2.0)


@dataclass
class Receiver:
    """A webhook endpoint: answers ``failures`` with 503 first (or always, ``broken``), then 200."""

    url: str = ""
    failures: int = 0
    broken: bool = False
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    tries: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.tries += 1
        body = await request.json()
        assert validate_body("notification", body) == [], body
        if self.broken or self.failures > 0:
            self.failures -= 1
            return web.Response(status=503)
        self.received.append((request.headers.get("Authorization"), body))
        self.arrived.set()
        return web.Response(status=204)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str | None, dict[str, Any]]]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    app = web.Application()
    app.router.add_post("/hook", made.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    made.url = f"http://127.0.0.1:{port}/hook"
    yield made
    await runner.cleanup()


def _fast(app: VtnApp) -> None:
    assert app.oa3_notifiers is not None
    app.oa3_notifiers.webhooks.policy = FAST


def _subscription(url: str, objects: list[str], operations: list[str], *, token: str | None = "hook-secret",
                  program_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"clientName": "listener", "objectOperations": [
        {"objects": objects, "operations": operations, "callbackUrl": url, "bearerToken": token}]}
    if program_id is not None:
        body["programID"] = program_id
    return body


async def _deliveries(oa3: Oa3Vtn) -> dict[str, Any]:
    async with oa3.session.get(f"{oa3.url}/operator/openadr3/deliveries",
                               headers={"Authorization": f"Bearer {oa3.operator_token}"}) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def test_a_subscriber_hears_create_update_delete_in_order_with_its_bearer_token(
        oa3: Oa3Vtn, receiver: Receiver) -> None:
    _fast(oa3.app)
    bl = await oa3.make_client("bl", "utility")
    status, _ = await oa3.call("POST", "/subscriptions", bl, _subscription(
        receiver.url, ["PROGRAM"], ["CREATE", "UPDATE", "DELETE"]))
    assert status == 201
    _, program = await oa3.call("POST", "/programs", bl, {"programName": "peak", "targets": ["zone-a"]})
    await oa3.call("PUT", f"/programs/{program['id']}", bl, {"programName": "peak", "programLongName": "new"})
    await oa3.call("DELETE", f"/programs/{program['id']}", bl)
    got = await receiver.wait_for(3)
    assert [body["operation"] for _, body in got] == ["CREATE", "UPDATE", "DELETE"]
    assert {auth for auth, _ in got} == {"Bearer hook-secret"}
    assert all(body["objectType"] == "PROGRAM" and body["object"]["id"] == program["id"] for _, body in got)
    assert got[0][1]["targets"] == ["zone-a"]
    assert got[1][1]["object"]["programLongName"] == "new"
    assert (await _deliveries(oa3)) == {"pending": [], "dead": []}


async def test_a_subscription_without_a_token_sends_no_authorization(oa3: Oa3Vtn, receiver: Receiver) -> None:
    bl = await oa3.make_client("bl", "utility")
    await oa3.call("POST", "/subscriptions", bl, _subscription(receiver.url, ["PROGRAM"], ["CREATE"], token=None))
    await oa3.call("POST", "/programs", bl, {"programName": "peak"})
    [(auth, body)] = await receiver.wait_for(1)
    assert auth is None
    assert body["operation"] == "CREATE"


async def test_only_the_operations_and_the_program_asked_for_are_sent(oa3: Oa3Vtn, receiver: Receiver) -> None:
    bl = await oa3.make_client("bl", "utility")
    _, one = await oa3.call("POST", "/programs", bl, {"programName": "one"})
    _, two = await oa3.call("POST", "/programs", bl, {"programName": "two"})
    await oa3.call("POST", "/subscriptions", bl, _subscription(receiver.url, ["EVENT"], ["CREATE"],
                                                               program_id=one["id"]))
    await oa3.post_event(bl, two["id"], None)
    wanted = await oa3.post_event(bl, one["id"], None)
    await oa3.call("PUT", f"/programs/{one['id']}", bl, {"programName": "one", "programLongName": "x"})
    [(_, body)] = await receiver.wait_for(1)
    await asyncio.sleep(0.2)
    assert len(receiver.received) == 1
    assert body["object"]["id"] == wanted["id"]


async def test_a_receiver_that_fails_twice_gets_the_notification_on_a_retry(oa3: Oa3Vtn, receiver: Receiver) -> None:
    _fast(oa3.app)
    receiver.failures = 2
    bl = await oa3.make_client("bl", "utility")
    await oa3.call("POST", "/subscriptions", bl, _subscription(receiver.url, ["PROGRAM"], ["CREATE"]))
    _, program = await oa3.call("POST", "/programs", bl, {"programName": "peak"})
    [(_, body)] = await receiver.wait_for(1)
    assert body["object"]["id"] == program["id"]
    assert receiver.tries == 3
    assert (await _deliveries(oa3)) == {"pending": [], "dead": []}


async def test_a_receiver_that_always_fails_ends_in_the_dead_letters(oa3: Oa3Vtn, receiver: Receiver) -> None:
    _fast(oa3.app)
    receiver.broken = True
    bl = await oa3.make_client("bl", "utility")
    _, subscription = await oa3.call("POST", "/subscriptions", bl, _subscription(receiver.url, ["PROGRAM"],
                                                                                ["CREATE"]))
    _, program = await oa3.call("POST", "/programs", bl, {"programName": "peak"})
    async with asyncio.timeout(5):
        while not (await _deliveries(oa3))["dead"]:
            await asyncio.sleep(0.05)
    listing = await _deliveries(oa3)
    assert listing["pending"] == []
    [dead] = listing["dead"]
    assert dead["subscriptionID"] == subscription["id"]
    assert dead["url"] == receiver.url
    assert dead["object"]["id"] == program["id"]
    assert dead["attempts"] == FAST.attempts == receiver.tries
    assert dead["lastError"] == "HTTP 503"
    assert dead["givenUp"] is not None
    assert "hook-secret" not in str(listing)
    # the operator's command line shows the same (the VTN runs in this process: the command in its own)
    token = oa3.app.options.data_dir / "operator.token"
    for flags in (["--json"], []):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transactive.cli", "vtn", "deliveries", "--vtn", oa3.url, "--operator-token",
            f"@{token}", *flags, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        if flags:
            assert json.loads(out) == listing
        else:
            assert out.decode().startswith("pending 0, given up 1\n")
            assert f"CREATE PROGRAM -> {receiver.url}" in out.decode()
            assert "last error: HTTP 503" in out.decode()


async def test_a_ven_subscription_hears_only_of_objects_it_may_read(oa3: Oa3Vtn, receiver: Receiver) -> None:
    bl = await oa3.make_client("bl", "utility")
    ven = await oa3.make_client("ven", "house-a")
    await oa3.call("POST", "/vens", ven, {"objectType": "VEN_VEN_REQUEST", "venName": "house-a",
                                          "targets": ["zone-a"]})
    _, program = await oa3.call("POST", "/programs", bl, {"programName": "peak"})
    status, _ = await oa3.call("POST", "/subscriptions", ven, _subscription(receiver.url, ["EVENT", "VEN"],
                                                                           ["CREATE"]))
    assert status == 201
    await oa3.post_event(bl, program["id"], ["zone-b"])
    mine = await oa3.post_event(bl, program["id"], ["zone-a"])
    everyone = await oa3.post_event(bl, program["id"], None)
    await oa3.call("POST", "/vens", bl, {"objectType": "BL_VEN_REQUEST", "venName": "house-b",
                                         "clientID": "someone-else"})
    got = await receiver.wait_for(2)
    await asyncio.sleep(0.3)
    assert [body["object"]["id"] for _, body in got] == [mine["id"], everyone["id"]]


async def test_a_pending_delivery_is_sent_after_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    options = VtnOptions(data_dir=tmp_path / "vtn", scheduler=False, openadr3=Oa3Config(webhooks_private=True))
    receiver.broken = True
    app = VtnApp(options)
    await app.start()
    try:
        assert app.oa3_notifiers is not None
        app.oa3_notifiers.webhooks.policy = RetryPolicy(first=0.3, attempts=100, timeout=2.0)
        oa3 = Oa3Vtn(app, app.url, (tmp_path / "vtn" / "operator.token").read_text().strip(),
                     aiohttp.ClientSession())
        try:
            bl = await oa3.make_client("bl", "utility")
            await oa3.call("POST", "/subscriptions", bl, _subscription(receiver.url, ["PROGRAM"], ["CREATE"]))
            _, program = await oa3.call("POST", "/programs", bl, {"programName": "peak"})
            async with asyncio.timeout(5):
                while receiver.tries == 0:
                    await asyncio.sleep(0.02)
            assert len((await _deliveries(oa3))["pending"]) == 1
        finally:
            await oa3.session.close()
    finally:
        await app.stop()
    receiver.broken = False
    again = VtnApp(options)
    await again.start()
    try:
        [(auth, body)] = await receiver.wait_for(1)
        assert auth == "Bearer hook-secret"
        assert body["object"]["id"] == program["id"]
        assert again.oa3_notifiers is not None
        async with asyncio.timeout(2):
            while again.oa3_notifiers.deliveries()["pending"]:
                await asyncio.sleep(0.02)
    finally:
        await again.stop()


async def test_a_deleted_subscription_sends_nothing_more(oa3: Oa3Vtn, receiver: Receiver) -> None:
    assert oa3.app.oa3_notifiers is not None
    oa3.app.oa3_notifiers.webhooks.policy = RetryPolicy(first=0.2, attempts=100, timeout=2.0)
    receiver.broken = True
    bl = await oa3.make_client("bl", "utility")
    _, subscription = await oa3.call("POST", "/subscriptions", bl, _subscription(receiver.url, ["PROGRAM"],
                                                                                ["CREATE"]))
    await oa3.call("POST", "/programs", bl, {"programName": "peak"})
    assert len((await _deliveries(oa3))["pending"]) == 1
    status, _ = await oa3.call("DELETE", f"/subscriptions/{subscription['id']}", bl)
    assert status == 200
    assert (await _deliveries(oa3)) == {"pending": [], "dead": []}


@pytest.mark.parametrize(("host", "why", "tries"), [("127.0.0.1", "127.0.0.1 is not a public address", 1),
                                                   ("localhost", "resolves to no public address", FAST.attempts)])
async def test_by_default_a_vtn_posts_to_no_address_of_its_own_network(
        tmp_path: Path, receiver: Receiver, host: str, why: str, tries: int) -> None:
    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", scheduler=False))  # no --openadr3-webhooks-private
    await app.start()
    try:
        _fast(app)
        async with aiohttp.ClientSession() as session:
            oa3 = Oa3Vtn(app, app.url, (tmp_path / "vtn" / "operator.token").read_text().strip(), session)
            bl = await oa3.make_client("bl", "utility")
            url = receiver.url.replace("127.0.0.1", host)
            await oa3.call("POST", "/subscriptions", bl, _subscription(url, ["PROGRAM"], ["CREATE"]))
            await oa3.call("POST", "/programs", bl, {"programName": "peak"})
            async with asyncio.timeout(5):
                while not (await _deliveries(oa3))["dead"]:
                    await asyncio.sleep(0.05)
            [dead] = (await _deliveries(oa3))["dead"]
    finally:
        await app.stop()
    assert why in dead["lastError"]
    assert dead["attempts"] == tries  # an address is refused for good; a name is looked up again
    assert receiver.tries == 0
