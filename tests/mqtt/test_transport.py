"""``MqttTransport`` failure behaviour: error mapping from aiomqtt/paho, broker down, a broker that dies and
comes back, timeouts, closing; and the topic levels."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from interop.mosquitto.broker import MosquittoBroker, free_port
from tests.mqtt.conftest import bridge
from tests.services.conftest import MARKET, T
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.services import ManualClock, MarketConfig, MemoryStore, TxReplyEiMarketContext, VtnCore, VtnService
from transactive.transport import (
    ConnectionFailedError,
    TransportClosedError,
    TransportError,
    TransportTimeoutError,
)
from transactive.transport.mqtt import (
    ERROR_MAP,
    MqttTransport,
    map_mqtt_error,
    notices_topic,
    request_topic,
    segment,
    unsegment,
)
from transactive.ven import join_market


def all_subclasses(cls: type) -> set[type]:
    found = {cls}
    sub: type
    for sub in cls.__subclasses__():
        found |= all_subclasses(sub)
    return found


def test_every_aiomqtt_error_class_is_mapped() -> None:
    raised = {c for c in all_subclasses(aiomqtt.MqttError) if c.__module__.startswith("aiomqtt")}
    assert raised <= set(ERROR_MAP)
    assert all(issubclass(target, TransportError) for target in ERROR_MAP.values())


@pytest.mark.parametrize(("error", "expected"), [
    (aiomqtt.exceptions.MqttConnectError(5), ConnectionFailedError),
    (aiomqtt.MqttCodeError(4, "Could not publish message"), ConnectionFailedError),
    (aiomqtt.MqttCodeError(7, "Unexpected disconnection"), ConnectionFailedError),
    (aiomqtt.MqttReentrantError("reentrant"), TransportError),
    (aiomqtt.MqttError("Operation timed out"), TransportTimeoutError),
    (aiomqtt.MqttError("[Errno 111] Connection refused"), ConnectionFailedError),
    (aiomqtt.MqttError("Disconnected during message iteration"), ConnectionFailedError),
])
def test_aiomqtt_errors_map_to_the_transport_error_tree(error: aiomqtt.MqttError,
                                                        expected: type[TransportError]) -> None:
    mapped = map_mqtt_error(error)
    assert type(mapped) is expected
    assert str(error) in str(mapped)


def test_topic_levels_are_percent_encoded_so_a_party_cannot_escape_its_level() -> None:
    assert segment("pv-1") == "pv-1"
    assert segment("a/b+c#") == "a%2Fb%2Bc%23"
    assert unsegment(segment("a/b+c# %")) == "a/b+c# %"
    assert request_topic("market-lme", "x/+") == "transactive/v1/market-lme/request/x%2F%2B"
    assert notices_topic("m", "pv-1") == "transactive/v1/m/notices/pv-1"
    with pytest.raises(ValueError, match="empty"):
        segment("")


async def test_a_broker_that_is_down_raises_connection_failed() -> None:
    transport = MqttTransport("127.0.0.1", free_port(), market="m", connect_timeout=1)
    request = EiRequestEiMarketContext(request_id="r", market_contexts=(MARKET,), party_id="pv-1")
    with pytest.raises(ConnectionFailedError):
        await transport.request(request)
    with pytest.raises(ConnectionFailedError):
        await transport.quotes()
    await transport.close()
    with pytest.raises(TransportClosedError):
        await transport.request(request)


async def test_the_bridge_raises_connection_failed_when_the_broker_is_down(config: MarketConfig,
                                                                          clock: ManualClock) -> None:
    from transactive.vtn.mqtt import run_mqtt_bridge

    service = VtnService(VtnCore(config, MemoryStore(), clock))
    with pytest.raises(ConnectionFailedError):
        await run_mqtt_bridge(service, "127.0.0.1", free_port(), stop=asyncio.Event())


async def test_no_reply_in_time_raises_transport_timeout(mosquitto: MosquittoBroker) -> None:
    # nobody serves this market: the request goes out and nothing comes back
    async with MqttTransport(mosquitto.host, mosquitto.port, market="nobody-here", timeout=0.2) as transport:
        request = EiRequestEiMarketContext(request_id="r", market_contexts=(MARKET,), party_id="pv-1")
        with pytest.raises(TransportTimeoutError):
            await transport.request(request)


async def test_a_request_naming_no_party_needs_the_transports_party(config: MarketConfig, clock: ManualClock,
                                                                    mosquitto: MosquittoBroker) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    request = EiRequestEiMarketContext(request_id="r", market_contexts=(MARKET,))
    async with bridge(service, mosquitto) as market:
        async with MqttTransport(mosquitto.host, mosquitto.port, market=market) as anonymous:
            with pytest.raises(ValueError, match="names no party"):
                await anonymous.request(request)
        async with MqttTransport(mosquitto.host, mosquitto.port, market=market, party="guest") as guest:
            reply = await guest.request(request)
            assert isinstance(reply, TxReplyEiMarketContext)
            assert reply.market_context is not None
            assert reply.market_context.market_context == MARKET


async def test_after_the_broker_comes_back_requests_and_notices_work_again(config: MarketConfig,
                                                                           clock: ManualClock) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    broker = MosquittoBroker().start()
    try:
        async with bridge(service, broker, reconnect_delay=0.1) as market, \
                MqttTransport(broker.host, broker.port, market=market, timeout=0.5, connect_timeout=1) as transport:
            seller = await join_market(transport, "pv-1", MARKET)
            buyer = await join_market(transport, "home-1", MARKET)
            sub = await seller.notices()

            broker.stop()
            with pytest.raises(ConnectionFailedError):
                await sub.get(timeout=2)  # the loss reaches a waiting subscriber
            with pytest.raises(ConnectionFailedError):
                await seller.market_context()
            assert not transport.connected

            broker.start()  # same port
            for _ in range(100):  # the bridge reconnects on its own
                try:
                    await seller.market_context()
                    break
                except (ConnectionFailedError, TransportTimeoutError):
                    await asyncio.sleep(0.05)
            assert transport.connected
            await seller.tender(T, "sell", 2.0, "0.10")
            await buyer.tender(T, "buy", 2.0, "0.20")
            await service.close_gate(T)
            notice = await sub.get(timeout=2)  # subscribed again on reconnect
            assert isinstance(notice, EiCreateTransaction)
            assert notice.counter_party_id == "pv-1"
    finally:
        broker.stop()
