"""End to end in process, through the real codecs (XML and JSON): 3 VENs, one interval, settled on a ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.services.conftest import MARKET, NOW, QUARTER, T
from transactive.ei.cts.quote import EiCreateQuote
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.ledger import EmbeddedLedger, verify_file
from transactive.ledger.settlement import State
from transactive.services import (
    ManualClock,
    MarketConfig,
    RequestRefusedError,
    Settlement,
    SqliteStore,
    VtnCore,
    VtnService,
)
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
        vens = {p: await join_market(transport, p, MARKET) for p in ("pv-1", "pv-2", "home-1")}
        assert vens["pv-1"].config == config
        clock.set(T - timedelta(minutes=10))
        interval = config.next_open_interval(clock())
        assert interval == T
        subs = {p: await c.notices() for p, c in vens.items()}

        await vens["pv-1"].tender(interval, "sell", 3.0, "0.10")
        await vens["pv-2"].tender(interval, "sell", 2.0, "0.14")
        await vens["home-1"].tender(interval, "buy", 4.0, "0.20")
        clock.set(config.gate_time(interval))
        await service.close_gate(interval)

        got = {}
        for party, sub in subs.items():
            notice = await sub.get(timeout=1)
            assert isinstance(notice, EiCreateTransaction)
            assert notice.counter_party_id == party
            got[party] = notice.transactions
            quote = await sub.get(timeout=1)
            assert isinstance(quote, EiCreateQuote)
        assert {p: [t.item.payload.quantity for t in txs] for p, txs in got.items()} == {  # type: ignore[union-attr]
            "pv-1": [3.0], "pv-2": [1.0], "home-1": [4.0]}

        clock.set(interval + QUARTER + timedelta(minutes=1))
        for party, metered in (("pv-1", 3.0), ("pv-2", 1.0), ("home-1", 4.0)):
            echoed = await vens[party].report_delivery(got[party][0], metered)
            assert echoed.delivery_id.startswith("dlv-")

        positions = {p: await c.position(interval, interval + QUARTER) for p, c in vens.items()}
        assert sum(x.net_kwh for x in positions.values()) == 0
        assert sum(x.amount for x in positions.values()) == 0
        assert positions["home-1"].amount == Decimal("0.68")
        for txs in got.values():
            assert settlement.state(txs[0].transaction_id) is State.PAID
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


async def test_tender_and_wait_returns_the_matched_transactions(config: MarketConfig, clock: ManualClock) -> None:
    import asyncio

    from transactive.services import MemoryStore

    clock.set(NOW)
    service = VtnService(VtnCore(config, MemoryStore(), clock))
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
