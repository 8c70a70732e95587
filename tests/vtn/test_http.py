"""The VTN over real HTTP on loopback, in process (manual market clock): the whole trade, refusals with
their codes, content negotiation, /health and /openapi.json."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import aiohttp
import pytest
from openapi_spec_validator import validate

from tests.scenarios import three_ven_trade
from tests.services.conftest import identity_of
from tests.vtn.conftest import MARKET, QUARTER, Server, T
from transactive.codec import decode_json, decode_xml, encode_json, encode_xml
from transactive.codec.wire import negotiate
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import EiCreatePartyRegistration
from transactive.ei.cts.tender import EiCreatedTender, EiCreateTender, EiTender
from transactive.ei.ext import EiResponsePayload, TxReplyEiMarketContext
from transactive.emix import energy_tender_product
from transactive.ledger import verify_file
from transactive.model import Model
from transactive.protocol.replies import reply_response
from transactive.services import NotAuthorizedError, RequestRefusedError, check_reply
from transactive.transport import TransportTimeoutError, WireFormat
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient, join_market
from transactive.vtn import openapi_document

JSON = "application/json"
XML = "application/xml"


def _tender(party: str, tender_id: str = "t-1", quantity: float = 2.0) -> EiCreateTender:
    item = energy_tender_product(side="sell", quantity_kwh=quantity, price="0.12", currency="USD",
                                 market_context=MARKET, dtstart=T, duration=QUARTER, uid=tender_id)
    return EiCreateTender(request_id=f"req-{tender_id}", party_id=party, counter_party_id="market-lme",
                          tenders=(EiTender(tender_id=tender_id, item=item),))


def _context_request() -> EiRequestEiMarketContext:
    return EiRequestEiMarketContext(request_id="ctx-1", market_contexts=(MARKET,))


async def _post(http: aiohttp.ClientSession, server: Server, body: bytes, content_type: str, *,
                accept: str | None = None, token: str | None = None, path: str = "/cts",
                headers: dict[str, str] | None = None) -> tuple[int, str, Model]:
    hdrs = {"Content-Type": content_type, **(headers or {})}
    if accept is not None:
        hdrs["Accept"] = accept
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    async with http.post(server.url + path, data=body, headers=hdrs) as response:
        data = await response.read()
        ct = response.content_type
        model = decode_json(data) if ct == JSON else decode_xml(data)
        return response.status, ct, model


def _code(reply: Model) -> int:
    response = reply_response(reply)
    assert response is not None
    return int(response.response_code)


def _signed(party: str, body: bytes, audience: str = "market-lme") -> dict[str, str]:
    """The Signature header of ``party``'s request ``body`` (its key from the tests' key ring)."""
    return {"Signature": identity_of(party).request_signature(body, audience=audience, created=int(time.time()))}


async def _register(http: aiohttp.ClientSession, server: Server, party: str) -> str:
    msg = EiCreatePartyRegistration(request_id=f"reg-{party}", registree_party_id=party)
    body = encode_json(msg)
    status, _, reply = await _post(http, server, body, JSON, headers=_signed(party, body))
    assert status == 200
    token = check_reply(reply).registration_id  # type: ignore[attr-defined]
    assert isinstance(token, str)
    return token


# ---- the whole trade -------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", list(WireFormat))
async def test_three_vens_trade_clear_get_notices_deliver_and_settle_over_http(server: Server,
                                                                                wire: WireFormat) -> None:
    transport = HttpTransport(server.url, wire=wire, poll_seconds=2)
    try:
        outcome = await three_ven_trade(transport, server.service, server.settlement, server.config, server.clock,
                                        market=MARKET, interval=T, notice_timeout=5)
        subs = outcome.subscriptions
        with pytest.raises(TransportTimeoutError):
            await subs["pv-1"].get(timeout=0.2)
    finally:
        await transport.close()
    assert verify_file(server.ledger_path, workers=1).valid


async def test_subscribing_needs_the_partys_own_token(server: Server) -> None:
    async with HttpTransport(server.url) as transport:
        client = await join_market(transport, "pv-1", MARKET)
        with pytest.raises(NotAuthorizedError) as info:
            await transport.subscribe("pv-1", token="forged")
        assert info.value.response_code == 463
        with pytest.raises(NotAuthorizedError):
            await transport.subscribe("pv-2", token=client.token)


async def test_a_refusal_reaches_the_http_client_with_code_and_field(server: Server) -> None:
    async with HttpTransport(server.url, wire=WireFormat.XML) as transport:
        client = VenClient(transport, "pv-1")
        with pytest.raises(RequestRefusedError) as info:
            await client.market_context("https://other.example.com/market")
        assert info.value.response_code == 452
        assert info.value.field == "emix:marketContext[1]"


# ---- refusals, each with its code -----------------------------------------------------------------


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [
    (b"this is not JSON", JSON, 400, 400),
    (b"<not-closed>", XML, 400, 400),
    (b'{"pyld:eiCreateTender": ', JSON, 400, 400),
    (b'{"foo:bar": {}}', JSON, 400, 453),
    (b'<x:unknown xmlns:x="urn:example:nothing"/>', XML, 400, 453),
    (b"hello", "text/plain", 415, 415),
    (b"{}", "application/octet-stream", 415, 415),
], ids=["json-garbage", "xml-not-well-formed", "json-truncated", "json-unknown-message", "xml-unknown-message",
        "text-plain", "octet-stream"])
async def test_an_undecodable_request_gets_an_ei_error_reply_not_a_500(server: Server, http: aiohttp.ClientSession,
                                                                      body: bytes, content_type: str, status: int,
                                                                      code: int) -> None:
    got_status, _, reply = await _post(http, server, body, content_type)
    assert got_status == status
    assert isinstance(reply, EiResponsePayload)
    assert _code(reply) == code


@pytest.mark.parametrize("wire", list(WireFormat))
async def test_an_invalid_field_is_refused_with_454_naming_it(server: Server, http: aiohttp.ClientSession,
                                                             wire: WireFormat) -> None:
    msg = _tender("pv-1")
    if wire is WireFormat.JSON:
        doc = json.loads(encode_json(msg))
        doc["pyld:eiCreateTender"]["pyld:requestID"] = {"not": "a string"}
        status, _, reply = await _post(http, server, json.dumps(doc).encode(), JSON)
    else:
        body = encode_xml(msg).replace(b"<pyld:requestID>req-t-1</pyld:requestID>",
                                       b"<pyld:requestID><x/></pyld:requestID>")
        status, _, reply = await _post(http, server, body, XML)
    assert status == 400
    assert _code(reply) == 454
    assert "requestID" in (reply_response(reply).response_description or "")  # type: ignore[union-attr]


async def test_a_body_over_the_size_limit_is_refused_with_413(server: Server, http: aiohttp.ClientSession) -> None:
    body = b'{"pyld:eiCreateTender": {"pyld:requestID": "' + b"x" * (128 * 1024) + b'"}}'
    status, _, reply = await _post(http, server, body, JSON)
    assert status == 413
    assert _code(reply) == 413


async def test_tendering_without_a_token_or_with_a_wrong_one_is_463(server: Server,
                                                                   http: aiohttp.ClientSession) -> None:
    await _register(http, server, "pv-1")
    other = await _register(http, server, "pv-2")
    server.clock.set(T - timedelta(minutes=20))
    for token in (None, "not-a-token", other):
        status, _, reply = await _post(http, server, encode_json(_tender("pv-1")), JSON, token=token)
        assert status == 200
        assert isinstance(reply, EiCreatedTender)
        assert _code(reply) == 463


async def test_an_authorization_header_of_another_scheme_is_401(server: Server, http: aiohttp.ClientSession) -> None:
    status, _, reply = await _post(http, server, encode_json(_tender("pv-1")), JSON,
                                   headers={"Authorization": "Basic cHYtMTpzZWNyZXQ="})
    assert status == 401
    assert _code(reply) == 463


async def test_a_valid_token_tenders(server: Server, http: aiohttp.ClientSession) -> None:
    token = await _register(http, server, "pv-1")
    server.clock.set(T - timedelta(minutes=20))
    status, _, reply = await _post(http, server, encode_json(_tender("pv-1")), JSON, token=token)
    assert (status, _code(reply)) == (200, 200)


async def test_a_reply_payload_sent_as_a_request_is_451(server: Server, http: aiohttp.ClientSession) -> None:
    reply_as_request = server.service.core.answer(_context_request())
    status, _, reply = await _post(http, server, encode_json(reply_as_request), JSON)
    assert (status, _code(reply)) == (200, 451)


async def test_facet_endpoints_accept_their_own_payloads_only(server: Server, http: aiohttp.ClientSession) -> None:
    body = encode_json(_context_request())
    status, _, reply = await _post(http, server, body, JSON, path="/cts/market-context")
    assert (status, _code(reply)) == (200, 200)
    status, _, reply = await _post(http, server, body, JSON, path="/cts/tender")
    assert (status, _code(reply)) == (200, 451)
    status, _, reply = await _post(http, server, body, JSON, path="/cts/nonsense")
    assert (status, _code(reply)) == (404, 404)


async def test_wrong_methods_and_paths_get_ei_payloads(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url + "/cts") as response:
        assert response.status == 405
        assert _code(decode_json(await response.read())) == 405
    async with http.get(server.url + "/nothing-here") as response:
        assert response.status == 404
        assert _code(decode_json(await response.read())) == 404


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/cts", "POST"), ("PUT", "/cts", "POST"), ("GET", "/cts/tender", "POST"),
    ("DELETE", "/cts/notices", "GET, HEAD"), ("POST", "/health", "GET, HEAD"), ("PATCH", "/openapi.json", "GET, HEAD"),
])
async def test_a_wrong_method_is_405_naming_the_allowed_ones(server: Server, http: aiohttp.ClientSession,
                                                              method: str, path: str, allow: str) -> None:
    async with http.request(method, server.url + path, headers={"Accept": XML}) as response:
        assert response.status == 405
        assert response.headers["Allow"] == allow
        reply = decode_xml(await response.read())
        assert _code(reply) == 405
        assert method in _description(reply)


def _description(reply: Model) -> str:
    response = reply_response(reply)
    assert response is not None
    assert response.response_description is not None
    return response.response_description


@pytest.mark.parametrize("path", ["/", "/cts/", "/cts/tender/extra", "/health/", "/CTS"])
async def test_paths_outside_the_api_are_404(server: Server, http: aiohttp.ClientSession, path: str) -> None:
    body = encode_json(_context_request())
    async with http.post(server.url + path, data=body, headers={"Content-Type": JSON}) as response:
        assert response.status == 404
        assert _code(decode_json(await response.read())) == 404


async def _raw_post(server: Server, headers: dict[str, str], body: bytes, *,
                    send_body_after_continue: bool) -> tuple[bytes | None, int, Model]:
    """POST /cts over a bare socket: (the interim line, if any, the final status, the decoded reply)."""
    from urllib.parse import urlsplit

    where = urlsplit(server.url)
    assert where.hostname is not None
    assert where.port is not None
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "vtn", "Content-Length": str(len(body)),
                                                     **headers}.items())
        writer.write(f"POST /cts HTTP/1.1\r\n{head}\r\n".encode())
        await writer.drain()
        interim = None
        line = await asyncio.wait_for(reader.readline(), 2)
        if line.startswith(b"HTTP/1.1 100"):
            interim = line
            assert await reader.readline() == b"\r\n"
            if send_body_after_continue:
                writer.write(body)
                await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 2)
        status = int(line.split()[1])
        length = 0
        while (header := await reader.readline()) != b"\r\n":
            name, _, value = header.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return interim, status, decode_json(await reader.readexactly(length))
    finally:
        writer.close()


async def test_expect_100_continue_is_answered_before_the_body_is_sent(server: Server) -> None:
    body = encode_json(_context_request())
    interim, status, reply = await _raw_post(server, {"Content-Type": JSON, "Expect": "100-continue"}, body,
                                             send_body_after_continue=True)
    assert interim == b"HTTP/1.1 100 Continue\r\n"
    assert (status, _code(reply)) == (200, 200)
    # headers already refused: the final answer comes at once, no body is asked for
    interim, status, reply = await _raw_post(server, {"Content-Type": "text/plain", "Expect": "100-continue"}, body,
                                             send_body_after_continue=True)
    assert interim is None
    assert (status, _code(reply)) == (415, 415)
    interim, status, reply = await _raw_post(server, {"Content-Type": JSON, "Expect": "something-else"}, body,
                                             send_body_after_continue=True)
    assert interim is None
    assert (status, _code(reply)) == (417, 400)


async def test_head_of_health_has_the_headers_and_no_body(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.head(server.url + "/health") as response:
        assert response.status == 200
        assert response.content_type == JSON
        assert await response.read() == b""


async def test_the_api_as_an_application_mounted_in_a_larger_one(server: Server,
                                                                 http: aiohttp.ClientSession) -> None:
    from aiohttp import web

    from tests.vtn.conftest import start_site
    from transactive.vtn import NoticeBoard, create_app

    board = NoticeBoard()
    parent = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    parent.router.add_get("/hello", hello)
    parent.add_subapp("/vtn/", create_app(server.service, board=board))
    runner, url = await start_site(parent)
    try:
        async with http.get(url + "/hello") as response:
            assert await response.text() == "hello"
        async with http.post(url + "/vtn/cts", data=encode_json(_context_request()),
                             headers={"Content-Type": JSON}) as response:
            assert response.status == 200
            assert isinstance(decode_json(await response.read()), TxReplyEiMarketContext)
        async with http.get(url + "/vtn/cts") as response:
            assert (response.status, response.headers["Allow"]) == (405, "POST")
        async with http.get(url + "/vtn/nothing") as response:
            assert response.status == 404
            assert _code(decode_json(await response.read())) == 404
        # the application subscribes its board to the service while it runs
        token = await _register(http, server, "pv-9")
        async with http.get(url + "/vtn/cts/notices", headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 204
        notice = server.service.core.answer(_context_request())
        await server.service._emit("pv-9", notice)
        assert board.posted == 1
    finally:
        await runner.cleanup()
    await server.service._emit("pv-9", notice)
    assert board.posted == 1  # unsubscribed on cleanup


async def test_notices_without_a_valid_token_are_403_with_463(server: Server, http: aiohttp.ClientSession) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        async with http.get(server.url + "/cts/notices", headers=headers) as response:
            assert response.status == 403
            assert _code(decode_json(await response.read())) == 463
    token = await _register(http, server, "pv-1")
    async with http.get(server.url + "/cts/notices?after=abc",
                        headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 400
        assert _code(decode_json(await response.read())) == 454


# ---- content negotiation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "accept", "expected"), [
    (JSON, None, JSON),
    (XML, None, XML),
    (JSON, XML, XML),
    (XML, JSON, JSON),
    ("text/xml", "*/*", XML),
    (JSON, "application/xml;q=0.5, application/json;q=0.9", JSON),
    (JSON, "application/json;q=0.1, application/xml", XML),
    (XML, "text/html, application/*", XML),
], ids=["json", "xml", "json-in-xml-out", "xml-in-json-out", "text-xml-wildcard", "q-json", "q-xml",
        "app-wildcard"])
async def test_content_type_decodes_and_accept_picks_the_reply_format(server: Server, http: aiohttp.ClientSession,
                                                                     content_type: str, accept: str | None,
                                                                     expected: str) -> None:
    msg = _context_request()
    body = encode_xml(msg) if "xml" in content_type else encode_json(msg)
    status, ct, reply = await _post(http, server, body, content_type, accept=accept)
    assert (status, ct) == (200, expected)
    assert isinstance(reply, TxReplyEiMarketContext)
    assert _code(reply) == 200


async def test_an_unacceptable_accept_is_406(server: Server, http: aiohttp.ClientSession) -> None:
    status, ct, reply = await _post(http, server, encode_json(_context_request()), JSON, accept="text/html")
    assert (status, ct, _code(reply)) == (406, JSON, 406)


def test_negotiate_rules() -> None:
    assert negotiate(None, WireFormat.XML) is WireFormat.XML
    assert negotiate("application/json;q=0", WireFormat.XML) is None
    assert negotiate("application/vnd.x+json", WireFormat.XML) is WireFormat.JSON
    assert negotiate("text/*", WireFormat.JSON) is WireFormat.XML


# ---- /health and /openapi.json ------------------------------------------------------------------------


async def test_health_of_the_bare_app_is_ok(http: aiohttp.ClientSession,
                                          server: Server) -> None:
    async with http.get(server.url + "/health") as response:
        assert response.status == 200
        body = await response.json()
    assert body == {"status": "ok"}  # the bare app; the runnable VTN adds the market facts (see test_serve)


async def test_openapi_document_is_valid_openapi_31_and_lists_every_endpoint(server: Server,
                                                                            http: aiohttp.ClientSession) -> None:
    async with http.get(server.url + "/openapi.json") as response:
        assert response.status == 200
        doc = await response.json()
    validate(doc)  # raises on an invalid document
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/cts", "/cts/{facet}", "/cts/notices", "/health", "/openapi.json"}
    assert doc == json.loads(json.dumps(openapi_document()))
