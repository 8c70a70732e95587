"""Fixtures for the MQTT tests: one Mosquitto broker per session on a free loopback port, a bridge per test.

Each test's bridge serves its own ``{market}`` topic level, so retained quotes never leak between tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from interop.mosquitto.broker import BrokerError, MosquittoBroker, install
from tests.services.conftest import clock, config  # noqa: F401  (fixtures shared with the service tests)
from tests.vtn.conftest import vtn_processes  # noqa: F401  (a fixture: the VTN processes a test starts)
from transactive.services import VtnService
from transactive.transport import WireFormat
from transactive.transport.mqtt import SOCKET_OPTIONS, reply_topic, request_topic
from transactive.vtn.mqtt import run_mqtt_bridge


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """A Mosquitto broker on 127.0.0.1 (installed with apt-get if missing; skipped only if that fails)."""
    try:
        binary = install()
    except BrokerError as error:
        pytest.skip(str(error))
    broker = MosquittoBroker(binary=binary).start()
    yield broker
    broker.stop()


@contextlib.asynccontextmanager
async def bridge(service: VtnService, broker: MosquittoBroker, *, wire: WireFormat = WireFormat.JSON,
                 market: str | None = None, reconnect_delay: float = 0.5,
                 tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run :func:`run_mqtt_bridge` for ``service`` (over TLS with ``tls``) until the block ends; yields the market
    topic level."""
    market = market or f"market-{uuid.uuid4().hex[:8]}"
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_mqtt_bridge(service, broker.host, broker.port, stop=stop, market=market,
                                               wire=wire, ready=ready, reconnect_delay=reconnect_delay, tls=tls))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    assert ready.is_set(), "the bridge did not connect"
    try:
        yield market
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def raw_request(broker: MosquittoBroker, market: str, party: str, payload: bytes, *,
                      content_type: str | None = "application/json", token: str | None = None,
                      authorization: str | None = None, response_topic: str | bool | None = True,
                      timeout: float = 2.0, signature: str | None = None) -> tuple[bytes, Properties | None] | None:
    """Publish ``payload`` on ``party``'s request topic as a bare MQTT 5 client; the reply (payload,
    properties) or None if none arrives within ``timeout``. ``response_topic=True``: the party's own."""
    client_id = f"raw-{uuid.uuid4().hex[:8]}"
    own = reply_topic(market, party, client_id)
    topic = own if response_topic is True else response_topic
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if content_type is not None:
        props.ContentType = content_type
    if isinstance(topic, str):
        props.ResponseTopic = topic
    props.CorrelationData = b"corr-1"
    if token is not None:
        authorization = f"Bearer {token}"
    users = []
    if authorization is not None:
        users.append(("authorization", authorization))
    if signature is not None:
        users.append(("signature", signature))
    if users:
        props.UserProperty = users
    async with aiomqtt.Client(broker.host, broker.port, identifier=client_id,
                              protocol=aiomqtt.ProtocolVersion.V5, socket_options=SOCKET_OPTIONS) as client:
        await client.subscribe(f"transactive/v1/{market}/reply/#", qos=1)
        await client.publish(request_topic(market, party), payload, qos=1, properties=props)
        try:
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    return message.payload, message.properties
        except TimeoutError:
            return None
    return None
