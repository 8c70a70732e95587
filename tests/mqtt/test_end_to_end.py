"""The end-to-end flow of ``tests/services/test_end_to_end.py`` through a real Mosquitto broker: VENs on
:class:`MqttTransport`, the VTN behind :func:`run_mqtt_bridge`; notices arrive on each party's topic."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from interop.mosquitto.broker import MosquittoBroker
from tests.mqtt.conftest import bridge
from tests.scenarios import three_ven_trade
from tests.services.conftest import MARKET, NOW, QUARTER, T
from transactive.ei.cts.quote import EiCreateQuote
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.ledger import EmbeddedLedger, verify_file
from transactive.services import (
    ManualClock,
    MarketConfig,
    MemoryStore,
    NotAuthorizedError,
    RequestRefusedError,
    Settlement,
    SqliteStore,
    VtnCore,
    VtnService,
)
from transactive.transport import TransportClosedError, TransportTimeoutError, WireFormat
from transactive.transport.mqtt import MqttSubscription, MqttTransport
from transactive.ven import VenClient, join_market, tender_and_wait
from transactive.vtn.mqtt import PUBLIC_SUBSCRIBER


@pytest.mark.parametrize("wire", list(WireFormat))
async def test_three_vens_trade_one_interval_over_mqtt_and_settle(
        tmp_path: Path, config: MarketConfig, clock: ManualClock, mosquitto: MosquittoBroker,
        wire: WireFormat) -> None:
    store = SqliteStore(tmp_path / "vtn.db")
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        async with bridge(service, mosquitto, wire=wire) as market, \
                MqttTransport(mosquitto.host, mosquitto.port, market=market, wire=wire, timeout=5) as transport:
            outcome = await three_ven_trade(transport, service, settlement, config, clock, market=MARKET,
                                            interval=T)
            vens, subs = outcome.vens, outcome.subscriptions
            assert all(isinstance(sub, MqttSubscription) and sub.pending() == 0 for sub in subs.values())
            [quote_model] = await vens["home-1"].quotes()
            assert quote_model.quote_id == "quote-20261121T120000Z"
            assert transport.bytes_out > 0
            assert transport.bytes_in > 0

            # a VEN that connects later gets the last clearing price at once: the retained quote
            async with MqttTransport(mosquitto.host, mosquitto.port, market=market, wire=wire) as late:
                feed = await late.quotes()
                retained = await feed.get(timeout=2)
                assert isinstance(retained, EiCreateQuote)
                assert retained.subscriber_party_id == PUBLIC_SUBSCRIBER
                assert retained.quotes == (quote_model,)
    assert verify_file(tmp_path / "ledger.db", workers=1).valid


async def test_notices_are_published_only_on_each_partys_topic(config: MarketConfig, clock: ManualClock,
                                                               mosquitto: MosquittoBroker) -> None:
    import aiomqtt

    from transactive.codec import decode

    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market, \
            MqttTransport(mosquitto.host, mosquitto.port, market=market) as transport, \
            aiomqtt.Client(mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5) as spy:
        await spy.subscribe(f"transactive/v1/{market}/notices/+", qos=1)
        vens = {p: await join_market(transport, p, MARKET) for p in ("pv-1", "home-1")}
        await vens["pv-1"].tender(T, "sell", 2.0, "0.10")
        await vens["home-1"].tender(T, "buy", 2.0, "0.20")
        await service.close_gate(T)
        seen: list[tuple[str, str, str]] = []
        async with asyncio.timeout(2):
            async for message in spy.messages:
                assert isinstance(message.payload, bytes)
                notice = decode(message.payload)
                addressee = (notice.counter_party_id if isinstance(notice, EiCreateTransaction)
                             else notice.subscriber_party_id)
                seen.append((message.topic.value.rsplit("/", 1)[-1], type(notice).__name__, addressee))
                if len(seen) == 4:
                    break
    assert sorted(seen) == [("home-1", "EiCreateQuote", "home-1"), ("home-1", "EiCreateTransaction", "home-1"),
                            ("pv-1", "EiCreateQuote", "pv-1"), ("pv-1", "EiCreateTransaction", "pv-1")]


@pytest.mark.parametrize("wire", list(WireFormat))
async def test_refusals_reach_the_client_with_code_and_field(config: MarketConfig, clock: ManualClock,
                                                             mosquitto: MosquittoBroker, wire: WireFormat) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto, wire=wire) as market, \
            MqttTransport(mosquitto.host, mosquitto.port, market=market, wire=wire) as transport:
        stranger = VenClient(transport, "pv-9")
        stranger.config = config
        with pytest.raises(RequestRefusedError) as info:
            await stranger.tender(T, "sell", 1.0, "0.1")
        assert (info.value.response_code, info.value.field) == (463, "ei:partyID")
        client = await join_market(transport, "pv-1", MARKET)
        with pytest.raises(RequestRefusedError) as info:
            await client.tender(T, "sell", 1000.0, "0.1")
        assert info.value.response_code == 454
        assert info.value.field == "ei:eiTender[1]/emix:product/emix:quantity"
        with pytest.raises(RequestRefusedError) as info:
            await client.tender(T - QUARTER * 4, "sell", 1.0, "0.1")
        assert info.value.response_code == 450


async def test_subscriptions_need_the_partys_token_and_end_on_close(config: MarketConfig, clock: ManualClock,
                                                                    mosquitto: MosquittoBroker) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        transport = MqttTransport(mosquitto.host, mosquitto.port, market=market)
        with pytest.raises(NotAuthorizedError):
            await transport.subscribe("pv-1")
        client = await join_market(transport, "pv-1", MARKET)
        other = await join_market(transport, "pv-2", MARKET)
        with pytest.raises(NotAuthorizedError):
            await transport.subscribe("pv-1", token=other.token)
        sub = await client.notices()
        with pytest.raises(TransportTimeoutError):
            await sub.get(timeout=0.05)
        await transport.close()
        with pytest.raises(TransportClosedError):
            await sub.get(timeout=0.05)
        with pytest.raises(TransportClosedError):
            await client.market_context()


async def test_tender_and_wait_returns_the_matched_transactions(config: MarketConfig, clock: ManualClock,
                                                                mosquitto: MosquittoBroker) -> None:
    clock.set(NOW)
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market, \
            MqttTransport(mosquitto.host, mosquitto.port, market=market) as transport:
        buyer = await join_market(transport, "home-1", MARKET)
        seller = await join_market(transport, "pv-1", MARKET)
        await seller.tender(T, "sell", 2.0, "0.1")
        sub = await buyer.notices()
        waiting = asyncio.create_task(tender_and_wait(buyer, sub, T, "buy", 2.0, "0.2", timeout=3))
        while not service.core.store.tenders(party_id="home-1"):
            await asyncio.sleep(0.01)
        await service.close_gate(T)
        [tx] = await waiting
        assert tx.item.payload.quantity == 2.0  # type: ignore[union-attr]
