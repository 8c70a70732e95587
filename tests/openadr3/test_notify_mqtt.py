"""The OpenADR 3.1 MQTT notifier of a real VTN through a real Mosquitto: the changes arrive as ``notification``
JSON on the specification's topics (a VEN's own copy under ``vens/{venID}/``), the notifier bindings and topic
names are answered with the scopes the specification gives, and with per-client ACLs (Dynamic Security) a VEN
client logs in with its access token and may subscribe to its own VEN's topics only."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import orjson
import pytest

from interop.mosquitto.broker import BrokerError, MosquittoBroker, install
from tests.openadr3.conftest import Client, Oa3Vtn
from transactive.schemas.openadr3 import validate_body, validate_operation
from transactive.transport.mqtt import SOCKET_OPTIONS
from transactive.vtn.app import VtnApp, VtnOptions
from transactive.vtn.openadr3_mqtt import PREFIX, MqttNotifier

ADMIN = ("vtn-admin", secrets.token_urlsafe(16))


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    try:
        started = MosquittoBroker(binary=install()).start()
    except BrokerError as error:
        pytest.skip(str(error))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def guarded() -> Iterator[MosquittoBroker]:
    """A broker with the Dynamic Security plugin and no anonymous access."""
    try:
        started = MosquittoBroker(binary=install(), admin=ADMIN).start()
    except BrokerError as error:
        pytest.skip(str(error))
    yield started
    started.stop()


async def _vtn(tmp_path: Path, options: VtnOptions) -> AsyncIterator[Oa3Vtn]:
    app = VtnApp(options)
    await app.start()
    try:
        assert app.oa3_notifiers is not None
        assert app.oa3_notifiers.mqtt is not None
        async with asyncio.timeout(10):
            await app.oa3_notifiers.mqtt.ready.wait()
        token = (options.data_dir / "operator.token").read_text().strip()
        async with aiohttp.ClientSession() as session:
            yield Oa3Vtn(app, app.url, token, session)
    finally:
        await app.stop()


@pytest.fixture
async def vtn(tmp_path: Path, broker: MosquittoBroker) -> AsyncIterator[Oa3Vtn]:
    async for made in _vtn(tmp_path, VtnOptions(data_dir=tmp_path / "vtn", scheduler=False,
                                                mqtt=(broker.host, broker.port))):
        yield made


@pytest.fixture
async def guarded_vtn(tmp_path: Path, guarded: MosquittoBroker) -> AsyncIterator[Oa3Vtn]:
    async for made in _vtn(tmp_path, VtnOptions(data_dir=tmp_path / "vtn", scheduler=False,
                                                mqtt=(guarded.host, guarded.port), mqtt_login=ADMIN,
                                                mqtt_acl=True)):
        yield made


def _notifier(oa3: Oa3Vtn) -> MqttNotifier:
    assert oa3.app.oa3_notifiers is not None
    assert oa3.app.oa3_notifiers.mqtt is not None
    return oa3.app.oa3_notifiers.mqtt


async def _settled(oa3: Oa3Vtn) -> None:
    """Wait until the notifier has sent everything queued."""
    notifier = _notifier(oa3)
    async with asyncio.timeout(10):
        while not notifier.idle:
            await asyncio.sleep(0.02)


def _client(broker: MosquittoBroker, login: tuple[str, str] | None = None) -> aiomqtt.Client:
    username, password = login if login is not None else (None, None)
    return aiomqtt.Client(broker.host, broker.port, identifier=f"test-{uuid.uuid4().hex[:8]}",
                          protocol=aiomqtt.ProtocolVersion.V5, socket_options=SOCKET_OPTIONS,
                          username=username, password=password)


async def _collect(client: aiomqtt.Client, count: int, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
    got: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            body = orjson.loads(message.payload)
            assert validate_body("notification", body) == [], body
            got[message.topic.value] = body
            if len(got) >= count:
                break
    return got


async def test_changes_are_published_on_the_specification_topics(vtn: Oa3Vtn, broker: MosquittoBroker) -> None:
    bl = await vtn.make_client("bl", "utility")
    ven = await vtn.make_client("ven", "house-a")
    _, house = await vtn.call("POST", "/vens", ven, {"objectType": "VEN_VEN_REQUEST", "venName": "house-a",
                                                     "targets": ["zone-a"]})
    async with _client(broker) as spy:
        await spy.subscribe(f"{PREFIX}/#", qos=1)
        _, program = await vtn.call("POST", "/programs", bl, {"programName": "peak"})
        event = await vtn.post_event(bl, program["id"], ["zone-a"])
        await vtn.post_event(bl, program["id"], ["zone-b"])  # house-a gets no copy of this one
        await vtn.call("PUT", f"/programs/{program['id']}", bl, {"programName": "peak", "programLongName": "x"})
        got = await _collect(spy, 8)
    pid, vid = program["id"], house["id"]
    assert set(got) == {
        f"{PREFIX}/programs/create", f"{PREFIX}/vens/{vid}/programs/create",
        f"{PREFIX}/events/create", f"{PREFIX}/programs/{pid}/events/create", f"{PREFIX}/vens/{vid}/events/create",
        f"{PREFIX}/programs/update", f"{PREFIX}/programs/{pid}/update", f"{PREFIX}/vens/{vid}/programs/update"}
    assert got[f"{PREFIX}/vens/{vid}/events/create"]["object"]["id"] == event["id"]
    assert got[f"{PREFIX}/vens/{vid}/events/create"]["targets"] == ["zone-a"]
    assert got[f"{PREFIX}/programs/{pid}/update"]["operation"] == "UPDATE"


async def _topics(oa3: Oa3Vtn, client: Client, path: str, tpl: str) -> tuple[int, Any]:
    """``GET notifiers/mqtt/topics/{path}`` (``tpl``: its template in the specification), reply checked."""
    async with oa3.session.get(f"{oa3.base}/notifiers/mqtt/topics/{path}",
                               headers={"Authorization": f"Bearer {client.token}"}) as response:
        status, reply = response.status, await response.json()
    assert validate_operation("GET", f"/notifiers/mqtt/topics/{tpl}", status, reply) == [], (status, reply)
    return status, reply


async def test_the_bindings_and_topic_names_follow_the_specification_scopes(vtn: Oa3Vtn) -> None:
    bl = await vtn.make_client("bl", "utility")
    ven = await vtn.make_client("ven", "house-a")
    other = await vtn.make_client("ven", "house-b")
    _, house = await vtn.call("POST", "/vens", ven, {"objectType": "VEN_VEN_REQUEST", "venName": "house-a"})
    await vtn.call("POST", "/vens", other, {"objectType": "VEN_VEN_REQUEST", "venName": "house-b"})
    _, program = await vtn.call("POST", "/programs", bl, {"programName": "peak"})
    status, bindings = await vtn.call("GET", "/notifiers", bl)
    assert status == 200
    assert bindings["WEBHOOK"] is True
    assert bindings["MQTT"]["authentication"] == {"method": "ANONYMOUS"}
    status, topics = await vtn.call("GET", "/notifiers/mqtt/topics/programs", bl)
    assert (status, topics["topics"]["CREATE"]) == (200, f"{PREFIX}/programs/create")
    status, topics = await _topics(vtn, bl, f"programs/{program['id']}/events", "programs/{programID}/events")
    assert (status, topics["topics"]["ALL"]) == (200, f"{PREFIX}/programs/{program['id']}/events/+")
    status, topics = await _topics(vtn, ven, f"vens/{house['id']}/events", "vens/{venID}/events")
    assert (status, topics["topics"]["CREATE"]) == (200, f"{PREFIX}/vens/{house['id']}/events/create")
    status, topics = await _topics(vtn, ven, f"vens/{house['id']}", "vens/{venID}")
    assert status == 200
    assert "CREATE" not in topics["topics"]
    status, problem = await vtn.call("GET", "/notifiers/mqtt/topics/programs", ven)  # read_all: BL only
    assert (status, problem["field"]) == (403, "scope")
    status, _ = await _topics(vtn, other, f"vens/{house['id']}/events", "vens/{venID}/events")
    assert status == 404
    status, _ = await _topics(vtn, bl, "programs/nope", "programs/{programID}")
    assert status == 404


async def test_with_acls_a_ven_logs_in_with_its_token_and_reads_only_its_own_topics(
        guarded_vtn: Oa3Vtn, guarded: MosquittoBroker) -> None:
    oa3 = guarded_vtn
    bl = await oa3.make_client("bl", "utility")
    ven_a = await oa3.make_client("ven", "house-a")
    ven_b = await oa3.make_client("ven", "house-b")
    _, house_a = await oa3.call("POST", "/vens", ven_a, {"objectType": "VEN_VEN_REQUEST", "venName": "house-a"})
    _, house_b = await oa3.call("POST", "/vens", ven_b, {"objectType": "VEN_VEN_REQUEST", "venName": "house-b"})
    _, bindings = await oa3.call("GET", "/notifiers", bl)
    assert bindings["MQTT"]["authentication"] == {"method": "OAUTH2_BEARER_TOKEN", "username": "{clientID}"}
    _, program = await oa3.call("POST", "/programs", bl, {"programName": "peak"})
    await _settled(oa3)
    with pytest.raises(aiomqtt.MqttError):  # a login is needed, and a wrong password is refused
        async with _client(guarded, (ven_a.client_id, "not-the-token")):
            pass
    async with _client(guarded, (ven_a.client_id, ven_a.token)) as mine:
        for topic in (f"{PREFIX}/vens/{house_b['id']}/#", f"{PREFIX}/#", f"{PREFIX}/events/create"):
            granted = await mine.subscribe(topic, qos=1)
            assert [code.value for code in granted] == [0x87], topic  # type: ignore[union-attr]
        granted = await mine.subscribe(f"{PREFIX}/vens/{house_a['id']}/#", qos=1)
        assert [code.value for code in granted] == [1]  # type: ignore[union-attr]
        event = await oa3.post_event(bl, program["id"], None)
        got = await _collect(mine, 1)
    assert got == {f"{PREFIX}/vens/{house_a['id']}/events/create": {"objectType": "EVENT", "operation": "CREATE",
                                                                    "object": event}}
    async with _client(guarded, (bl.client_id, bl.token)) as operator:
        granted = await operator.subscribe(f"{PREFIX}/#", qos=1)
        assert [code.value for code in granted] == [1]  # type: ignore[union-attr]
    # a revoked client's broker login goes at once, whatever token it still holds
    async with oa3.session.delete(f"{oa3.url}/operator/openadr3/clients/{ven_a.client_id}",
                                  headers={"Authorization": f"Bearer {oa3.operator_token}"}) as response:
        assert response.status == 200
    await _settled(oa3)
    with pytest.raises(aiomqtt.MqttError):
        async with _client(guarded, (ven_a.client_id, ven_a.token)):
            pass
