"""End to end in process, through the real codecs (XML and JSON): 3 VENs, one interval, settled on a ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios import three_ven_trade
from tests.services.conftest import MARKET, NOW, QUARTER, T
from transactive.ledger import EmbeddedLedger, verify_file
from transactive.services import (
    ManualClock,
    MarketConfig,
    RequestRefusedError,
    Settlement,
    SqliteStore,
    VtnCore,
    VtnService,
)
from transactive.services.store import Store
from transactive.transport import MemoryTransport, TransportClosedError, TransportTimeoutError, WireFormat
from transactive.ven import VenClient, join_market, tender_and_wait


@pytest.mark.parametrize("wire", list(WireFormat))
async def test_three_vens_trade_one_interval_and_settle(tmp_path: Path, config: MarketConfig, clock: ManualClock,
                                                        wire: WireFormat) -> None:
    store = SqliteStore(tmp_path / "vtn.db")
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        transport = MemoryTransport(service, wire=wire)
        outcome = await three_ven_trade(transport, service, settlement, config, clock, market=MARKET, interval=T,
                                        notice_timeout=1)
        vens = outcome.vens
        [quote] = await vens["home-1"].quotes()
        assert quote.quote_id == "quote-20261121T120000Z"
        await transport.close()
    assert verify_file(tmp_path / "ledger.db", workers=1).valid


@pytest.mark.parametrize("wire", list(WireFormat))
async def test_refusals_reach_the_client_with_code_and_field(config: MarketConfig, clock: ManualClock,
                                                             wire: WireFormat) -> None:
    from transactive.services import MemoryStore

    service = VtnService(VtnCore(config, MemoryStore(), clock))
    transport = MemoryTransport(service, wire=wire)
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


@pytest.mark.parametrize(("data", "code"), [(b"<not xml", "400"), (b"<x:unknown xmlns:x='urn:x'/>", "453"),
                                             (b'{"pyld:eiCreateTender": {}}', "454")])
async def test_an_undecodable_document_gets_a_response_code(config: MarketConfig, clock: ManualClock, data: bytes,
                                                            code: str) -> None:
    from transactive.codec import decode
    from transactive.services import EiResponsePayload, MemoryStore

    transport = MemoryTransport(VtnService(VtnCore(config, MemoryStore(), clock)), wire=WireFormat.XML)
    reply = decode(await transport.exchange(data))
    assert isinstance(reply, EiResponsePayload)
    assert reply.response.response_code == code


async def test_subscriptions_need_the_partys_token_and_end_on_close(config: MarketConfig, clock: ManualClock) -> None:
    from transactive.services import MemoryStore, NotAuthorizedError

    service = VtnService(VtnCore(config, MemoryStore(), clock))
    transport = MemoryTransport(service)
    with pytest.raises(NotAuthorizedError):
        await transport.subscribe("pv-1")
    client = await join_market(transport, "pv-1", MARKET)
    sub = await client.notices()
    with pytest.raises(TransportTimeoutError):
        await sub.get(timeout=0.01)
    await transport.close()
    with pytest.raises(TransportClosedError):
        await sub.get(timeout=0.01)
    with pytest.raises(TransportClosedError):
        await client.market_context()


async def test_tender_and_wait_returns_the_matched_transactions(config: MarketConfig, clock: ManualClock,
                                                               store: Store) -> None:
    import asyncio

    clock.set(NOW)
    service = VtnService(VtnCore(config, store, clock))
    transport = MemoryTransport(service)
    buyer = await join_market(transport, "home-1", MARKET)
    seller = await join_market(transport, "pv-1", MARKET)
    await seller.tender(T, "sell", 2.0, "0.1")
    sub = await buyer.notices()
    waiting = asyncio.create_task(tender_and_wait(buyer, sub, T, "buy", 2.0, "0.2"))
    while not service.core.store.tenders(party_id="home-1"):
        await asyncio.sleep(0)
    await service.close_gate(T)
    [tx] = await waiting
    assert tx.item.payload.quantity == 2.0  # type: ignore[union-attr]
