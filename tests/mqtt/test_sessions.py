"""Persistent MQTT sessions (``MqttTransport(session_expiry=..., client_id=...)``) through a real Mosquitto:
the notices published while a VEN is away reach it when it comes back, in a new transport (a restarted
process); without a session they are gone; ``end_session`` discards what the broker kept."""

from __future__ import annotations

import uuid

import pytest

from interop.mosquitto.broker import MosquittoBroker
from tests.mqtt.conftest import bridge
from tests.services.conftest import MARKET, T
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.services import ManualClock, MarketConfig, MemoryStore, VtnCore, VtnService
from transactive.transport import TransportTimeoutError
from transactive.transport.mqtt import MqttTransport
from transactive.ven import VenClient, join_market


async def _trade_while_pv_is_away(service: VtnService, broker: MosquittoBroker, market: str,
                                  pv_transport: MqttTransport) -> str:
    """pv-1 (on ``pv_transport``) and home-1 tender, pv-1 subscribes to its notices and goes away, then the
    gate closes: pv-1's transaction and the quote are published while it is disconnected. pv-1's token."""
    async with MqttTransport(broker.host, broker.port, market=market, timeout=5) as other:
        home = await join_market(other, "home-1", MARKET)
        pv = await join_market(pv_transport, "pv-1", MARKET)
        await pv.notices()
        await pv.tender(T, "sell", 2.0, "0.10")
        await home.tender(T, "buy", 2.0, "0.20")
        await pv_transport.close()
        result = await service.close_gate(T)
        assert len(result.transactions) == 2
    assert pv.token is not None
    return pv.token


async def test_notices_published_while_a_ven_is_away_arrive_when_its_session_comes_back(
        config: MarketConfig, clock: ManualClock, mosquitto: MosquittoBroker) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    client_id = f"ven-pv-1-{uuid.uuid4().hex[:6]}"
    async with bridge(service, mosquitto) as market:
        away = MqttTransport(mosquitto.host, mosquitto.port, market=market, client_id=client_id,
                             session_expiry=60, timeout=5)
        token = await _trade_while_pv_is_away(service, mosquitto, market, away)
        # a new process: a new transport with the same client id finds the session and what it kept
        async with MqttTransport(mosquitto.host, mosquitto.port, market=market, client_id=client_id,
                                 session_expiry=60, timeout=5) as back:
            sub = await VenClient(back, "pv-1", token=token).notices()
            received = [await sub.get(timeout=3), await sub.get(timeout=3)]
            assert sorted(type(n).__name__ for n in received) == ["EiCreateQuote", "EiCreateTransaction"]
            [notice] = [n for n in received if isinstance(n, EiCreateTransaction)]
            assert notice.counter_party_id == "pv-1"
            assert [float(t.item.payload.quantity) for t in notice.transactions] == [2.0]  # type: ignore[union-attr]
            assert sub.pending() == 0
            await back.end_session()
        # the session is gone: nothing is kept for the client id any more
        async with MqttTransport(mosquitto.host, mosquitto.port, market=market, client_id=client_id,
                                 session_expiry=60, timeout=5) as again:
            sub = await VenClient(again, "pv-1", token=token).notices()
            with pytest.raises(TransportTimeoutError):
                await sub.get(timeout=0.5)
            await again.end_session()


async def test_without_a_session_the_notices_of_the_time_away_are_not_delivered(
        config: MarketConfig, clock: ManualClock, mosquitto: MosquittoBroker) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    client_id = f"ven-pv-1-{uuid.uuid4().hex[:6]}"
    async with bridge(service, mosquitto) as market:
        away = MqttTransport(mosquitto.host, mosquitto.port, market=market, client_id=client_id, timeout=5)
        token = await _trade_while_pv_is_away(service, mosquitto, market, away)
        async with MqttTransport(mosquitto.host, mosquitto.port, market=market, client_id=client_id,
                                 timeout=5) as back:
            client = VenClient(back, "pv-1", token=token)
            sub = await client.notices()
            with pytest.raises(TransportTimeoutError):
                await sub.get(timeout=1.0)
            # what was missed is read back with eiRequestTransaction
            assert len(await client.transactions()) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"session_expiry": 60}, "needs a stable client_id"),
    ({"session_expiry": 0, "client_id": "x"}, "positive number of seconds"),
    ({"session_expiry": float("inf"), "client_id": "x"}, "positive number of seconds"),
])
def test_a_session_needs_a_client_id_and_a_positive_expiry(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MqttTransport("127.0.0.1", 1883, market="m", **kwargs)  # type: ignore[arg-type]
