"""The bridge pipelines notice publications (no broker round trip per notice): through a real Mosquitto,
many notices emitted back to back, several windows of MAX_INFLIGHT, all arrive, in order per party, and
none is reported unpublished when the bridge stops right after the last one."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from interop.mosquitto.broker import MosquittoBroker
from tests.mqtt.conftest import bridge
from tests.services.conftest import MARKET
from transactive.codec import decode
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.services import ManualClock, MarketConfig, MemoryStore, VtnCore, VtnService
from transactive.vtn.mqtt import MAX_INFLIGHT


async def test_notices_emitted_back_to_back_all_arrive_in_order(
        config: MarketConfig, clock: ManualClock, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    count = 6 * MAX_INFLIGHT  # several windows of unacknowledged publications
    # any payload will do as a notice: request ids number them
    notices = [EiRequestEiMarketContext(request_id=f"n-{i:04d}", market_contexts=(MARKET,)) for i in range(count)]
    received: dict[str, list[str]] = {"pv-1": [], "home-1": []}
    async with aiomqtt.Client(mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5) as spy:
        async with bridge(service, mosquitto) as market:
            await spy.subscribe(f"transactive/v1/{market}/notices/+", qos=1)
            for i, notice in enumerate(notices):
                await service._emit("pv-1" if i % 2 else "home-1", notice)
        # the bridge has stopped (and disconnected): everything it took was acknowledged first
        async with asyncio.timeout(10):
            async for message in spy.messages:
                assert isinstance(message.payload, bytes)
                received[message.topic.value.rsplit("/", 1)[-1]].append(decode(message.payload).request_id)
                if sum(map(len, received.values())) == count:
                    break
    # stopping right after the last one cut none off (the bridge drains what is unacknowledged first)
    assert not [r for r in caplog.records if "not published" in r.getMessage() or "unacknowledged" in r.getMessage()]
    assert received["home-1"] == [f"n-{i:04d}" for i in range(0, count, 2)]
    assert received["pv-1"] == [f"n-{i:04d}" for i in range(1, count, 2)]
