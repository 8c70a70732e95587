"""The VTN's limits against the real server (``transactive vtn serve`` in its own process, loopback): slow and
idle connections are closed, a connection flood gets 503 while a connected client is still answered,
registrations are rate-limited, a slow body is 408, oversized and far-off tenders are refused with 454, a
large document does not hold up other clients, and inputs that used to crash with 500 get their EI code."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.codec import decode_json, encode_json
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import EiCreatePartyRegistration
from transactive.ei.cts.tender import EiCreateTender, EiTender
from transactive.emix import energy_stream_product, energy_tender_product
from transactive.model import Model
from transactive.protocol import RequestRefusedError
from transactive.protocol.identity import PartyIdentity
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import reply_response
from transactive.services.quotes import quote_message, quote_model
from transactive.services.store import GateRow
from transactive.transport.base import ConnectionFailedError
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT
from transactive.vtn.notices import NoticeBoard

JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


async def _context(url: str) -> int:
    """A no-op request on a fresh connection: its HTTP status."""
    body = encode_json(EiRequestEiMarketContext(request_id="ping", market_contexts=(DEFAULT_MARKET_CONTEXT,)))
    async with aiohttp.ClientSession() as http, http.post(url + "/cts", data=body, headers=JSON) as response:
        await response.read()
        return response.status


def _code(data: bytes) -> str:
    response = reply_response(decode_json(data))
    assert response is not None
    return response.response_code


@contextlib.contextmanager
def _sockets(url: str, n: int) -> Iterator[list[socket.socket]]:
    opened = []
    try:
        for _ in range(n):
            opened.append(socket.create_connection(_host_port(url), timeout=5))
        yield opened
    finally:
        for s in opened:
            s.close()


def _closed_by_peer(s: socket.socket, within: float) -> bool:
    """Does the server close ``s`` within ``within`` seconds (reading EOF or a reset)?"""
    s.settimeout(within)
    try:
        while s.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


@pytest.fixture
def vtn(tmp_path: Path, vtn_processes: list[VtnProcess], vtn_store: str | None) -> VtnProcess:
    process = start_vtn(tmp_path / "vtn", "--idle-timeout", "1", "--body-timeout", "1", "--max-connections", "20",
                        "--registrations-per-minute", "60", store=vtn_store)
    vtn_processes.append(process)
    return process


def test_a_slowloris_connection_is_closed_while_others_are_answered(vtn: VtnProcess) -> None:
    with _sockets(vtn.url, 1) as (slow,):
        slow.sendall(b"POST /cts HTTP/1.1\r\nHost: x\r\n")
        begun = time.monotonic()
        answered = []
        while time.monotonic() - begun < 3:
            with contextlib.suppress(OSError):
                slow.sendall(b"X-Slow: 1\r\n")  # a header line every 0.3 s, never the end of the headers
            answered.append(asyncio.run(_context(vtn.url)))
            time.sleep(0.3)
        assert _closed_by_peer(slow, 2)
    assert set(answered) == {200}


async def test_a_connection_flood_gets_503_and_a_connected_client_is_still_answered(
        tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    vtn = start_vtn(tmp_path / "flood", "--idle-timeout", "4", "--max-connections", "20")
    vtn_processes.append(vtn)
    body = encode_json(EiRequestEiMarketContext(request_id="ping", market_contexts=(DEFAULT_MARKET_CONTEXT,)))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
        async with http.post(vtn.url + "/cts", data=body, headers=JSON) as response:
            assert response.status == 200  # the client's keep-alive connection is open
        with _sockets(vtn.url, 25) as flood:  # more than --max-connections with the client's
            await asyncio.sleep(0.3)
            refused = 0
            for s in flood:
                s.setblocking(False)
                with contextlib.suppress(BlockingIOError, OSError):
                    if s.recv(200).startswith(b"HTTP/1.1 503"):
                        refused += 1
            assert refused >= 5  # those beyond the cap were answered 503 and closed
            async with http.post(vtn.url + "/cts", data=body, headers=JSON) as response:
                assert response.status == 200  # the connected client is still answered
            # the idle ones are closed after --idle-timeout: new clients are served again
            assert all(_closed_by_peer(s, 8) for s in flood)
    assert await _context(vtn.url) == 200


async def test_registrations_beyond_the_rate_get_429_with_retry_after(vtn: VtnProcess) -> None:
    statuses = []
    async with aiohttp.ClientSession() as http:
        for i in range(40):  # the burst is 30
            me = PartyIdentity.generate()
            msg = EiCreatePartyRegistration(request_id=f"r-{i}", registree_party_id=f"p-{i}")
            data = encode_json(msg)
            headers = {**JSON, "Signature": me.request_signature(data, audience="market", created=int(time.time()))}
            async with http.post(vtn.url + "/cts", data=data, headers=headers) as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert int(response.headers["Retry-After"]) >= 1
                    assert _code(await response.read()) == "429"
    assert statuses.count(200) >= 30
    assert 429 in statuses


def test_a_body_that_does_not_arrive_in_time_is_408(vtn: VtnProcess) -> None:
    with _sockets(vtn.url, 1) as (s,):
        s.sendall(b"POST /cts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        s.settimeout(5)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408")


async def _tender(client: VenClient, item: object) -> int:
    try:
        await client.submit([EiTender(tender_id="t-1", item=item)])  # type: ignore[arg-type]
    except RequestRefusedError as error:
        return error.response_code
    return 200


async def test_tenders_beyond_the_market_rules_are_454_and_the_year_1_is_450(vtn: VtnProcess) -> None:
    async with HttpTransport(vtn.url) as transport:
        client = VenClient(transport, "pv-1")
        config = await client.market_context(DEFAULT_MARKET_CONTEXT)
        await client.register()

        def product(start: datetime) -> object:
            return energy_tender_product(side="sell", quantity_kwh=1, price="0.1", currency="USD",
                                         market_context=config.market_context, dtstart=start, duration=config.interval)

        far = datetime(9999, 12, 31, 23, 45, tzinfo=UTC)
        assert await _tender(client, product(far)) == 454  # beyond the horizon
        assert await _tender(client, product(datetime(1, 1, 1, tzinfo=UTC))) == 450  # long closed, not a 500
        stream = energy_stream_product(side="sell", quantities_kwh=[1.0] * 10_000, prices="0.1", currency="USD",
                                       market_context=config.market_context,
                                       dtstart=config.next_open_interval(datetime.now(UTC)), interval=config.interval)
        assert await _tender(client, stream) == 454  # 10,000 intervals
        many = tuple(EiTender(tender_id=f"t-{i}", item=product(config.next_open_interval(datetime.now(UTC))))
                     for i in range(101))
        with pytest.raises(RequestRefusedError) as caught:
            await client.submit(many)
        assert (caught.value.response_code, caught.value.field) == (454, "ei:eiTender[101]")


@pytest.mark.parametrize("intervals", [1, 10_000], ids=["small", "streamed"])
async def test_a_request_on_a_connection_the_vtn_closed_while_the_client_was_busy_is_sent_again(
        vtn: VtnProcess, intervals: int, caplog: pytest.LogCaptureFixture) -> None:
    """The VTN closes a kept-alive connection after --idle-timeout (1 s here); a VEN whose event loop is busy
    longer than that has not seen the close and reuses the connection: the request goes again on a new one."""
    async with HttpTransport(vtn.url) as transport:
        client = VenClient(transport, "pv-1")
        config = await client.market_context(DEFAULT_MARKET_CONTEXT)
        await client.register()
        time.sleep(1.6)  # busy (not awaiting): the loop cannot see the VTN close the idle connection
        start = config.next_open_interval(datetime.now(UTC))
        stream = energy_stream_product(side="sell", quantities_kwh=[1.0] * intervals, prices="0.1", currency="USD",
                                       market_context=config.market_context, dtstart=start,
                                       interval=config.interval)
        with caplog.at_level(logging.DEBUG, logger="transactive.transport.http"):
            code = await _tender(client, stream)
        assert code == (200 if intervals == 1 else 454)  # answered, not a ConnectionFailedError
        assert "sent again on a new connection" in caplog.text


async def test_a_connection_that_cannot_be_made_is_not_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens on it
    async with HttpTransport(f"http://127.0.0.1:{port}") as transport:
        with caplog.at_level(logging.DEBUG, logger="transactive.transport.http"), \
                pytest.raises(ConnectionFailedError, match="ClientConnectorError"):
            await VenClient(transport, "pv-1").market_context(DEFAULT_MARKET_CONTEXT)
    assert "sent again" not in caplog.text


async def test_a_large_document_does_not_hold_up_other_clients(vtn: VtnProcess) -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    item = energy_tender_product(side="sell", quantity_kwh=1, price="0.1", currency="USD",
                                 market_context=DEFAULT_MARKET_CONTEXT, dtstart=start, duration=timedelta(minutes=15))
    big = encode_json(EiCreateTender(request_id="big", party_id="nobody", counter_party_id="market",
                                     tenders=tuple(EiTender(tender_id=f"t-{i}", item=item) for i in range(7000))))
    order: list[str] = []

    async def post_big() -> None:
        async with aiohttp.ClientSession() as http, \
                http.post(vtn.url + "/cts", data=io.BytesIO(big), headers=JSON) as r:
            await r.read()
            order.append("big")

    async def ping() -> None:
        await asyncio.sleep(0.05)  # the big one is on its way
        assert await _context(vtn.url) == 200
        order.append("ping")

    await asyncio.gather(post_big(), ping())
    assert order == ["ping", "big"]


async def test_a_poll_timeout_that_is_not_a_number_is_400_with_454(vtn: VtnProcess) -> None:
    async with HttpTransport(vtn.url) as transport:
        client = VenClient(transport, "pv-1")
        await client.market_context(DEFAULT_MARKET_CONTEXT)
        token = await client.register()
    async with aiohttp.ClientSession() as http:
        for timeout in ("nan", "inf", "soon"):
            async with http.get(vtn.url + "/cts/notices", params={"after": "0", "timeout": timeout},
                                headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 400
                assert _code(await response.read()) == "454"


def test_the_notice_board_keeps_bounded_memory_per_party() -> None:
    config = MarketConfig(market_context="urn:m")
    gate = GateRow(interval_start=datetime(2026, 6, 21, 12, tzinfo=UTC), closed_at=datetime(2026, 6, 21, 11, 55,
                   tzinfo=UTC), price=Decimal("0.1"), quantity=Decimal("1"))
    quote_model_ = quote_model(config, gate)
    assert quote_model_ is not None
    quote = quote_message(config, quote_model_, "pv-1")
    other: Model = EiRequestEiMarketContext(request_id="n", market_contexts=("urn:m",))
    board = NoticeBoard(boot=0, history=8)
    for _ in range(1000):
        board.post("pv-1", quote)  # odd sequence numbers
        board.post("pv-1", other)  # even ones
    assert board.pending("pv-1") == 8 + 1  # the last 8 notices and the latest quote, not 2,000
    assert board.next_after("pv-1", 0) == (1986, other)  # the oldest kept: 1986, 1988, ..., 2000
    assert board.next_after("pv-1", 1998) == (1999, quote)  # the latest quote in its place in the sequence
    assert board.next_after("pv-1", 1999) == (2000, other)
    assert board.next_after("pv-1", 2000) is None
