"""``OadrVenClient`` over real HTTP to a scripted in-process VTN (aiohttp): the signer and verifier hooks, the
mapping of HTTP failures, re-registration when asked, and the registration kept across restarts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree

from tests.ven.oadr.conftest import VTN, assert_valid, distribute, event, ok, registered
from transactive.codec import decode_xml, encode_xml, parse_xml
from transactive.ei.oadr import (
    OadrCreatedEvent,
    OadrCreatePartyRegistration,
    OadrMessage,
    OadrPoll,
    OadrRequestEvent,
    OadrRequestReregistration,
    OadrResponse,
    OptType,
)
from transactive.protocol.errors import ForgedNoticeError, RequestRefusedError
from transactive.transport.base import ConnectionFailedError, TransportError
from transactive.ven.oadr import OadrVenClient

Reply = Callable[[str, OadrMessage], OadrMessage | web.Response | None]


@dataclass
class FakeVtn:
    """Answers each request with ``reply(service, message)``; keeps every request and raw body."""

    reply: Reply
    requests: list[tuple[str, OadrMessage]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append(body)
        message: OadrMessage = decode_xml(body)
        service = request.match_info["service"]
        self.requests.append((service, message))
        answer = self.reply(service, message)
        if isinstance(answer, web.Response):
            return answer
        return web.Response(body=encode_xml(answer) if answer is not None else b"", content_type="application/xml")


def standard(service: str, message: OadrMessage) -> OadrMessage | web.Response | None:
    if service == "EiRegisterParty":
        return registered()
    if isinstance(message, OadrRequestEvent):
        return distribute(event())
    return OadrResponse(response=ok())


@pytest.fixture
async def vtn() -> AsyncIterator[Callable[[Reply], Any]]:
    servers: list[TestServer] = []

    async def start(reply: Reply) -> tuple[FakeVtn, str]:
        fake = FakeVtn(reply)
        app = web.Application()
        app.router.add_post("/OpenADR2/Simple/2.0b/{service}", fake.handle)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return fake, str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


async def test_register_requests_events_and_answers_them(vtn: Any) -> None:
    fake, url = await vtn(standard)
    client = OadrVenClient(url, "pv-1")
    client.on_event(lambda e: OptType.OPT_IN)
    try:
        await client.register()
        batch = await client.request_events()
    finally:
        await client.close()
    assert batch is not None
    assert [e.event_id for e in batch.to_decide] == ["ev-1"]
    services = [s for s, _m in fake.requests]
    assert services == ["EiRegisterParty", "EiRegisterParty", "EiEvent", "EiEvent"]
    answer = fake.requests[-1][1]
    assert isinstance(answer, OadrCreatedEvent)
    assert answer.event_responses[0].opt_type is OptType.OPT_IN
    for _service, message in fake.requests:
        assert_valid(message)


async def test_a_restarted_ven_re_registers_with_the_kept_ids(vtn: Any, tmp_path: Path) -> None:
    fake, url = await vtn(standard)
    first = OadrVenClient(url, "pv-1", state_dir=tmp_path)
    await first.register()
    await first.close()
    again = OadrVenClient(url, "pv-1", state_dir=tmp_path)
    await again.register()
    await again.close()
    create = [m for _s, m in fake.requests if isinstance(m, OadrCreatePartyRegistration)]
    assert [(m.registration_id, m.ven_id) for m in create] == [(None, None), ("reg-1", "ven-1")]


async def test_an_error_ei_response_is_a_refusal_with_its_code(vtn: Any) -> None:
    _fake, url = await vtn(lambda s, m: registered(code=452))
    client = OadrVenClient(url, "pv-1")
    with pytest.raises(RequestRefusedError) as info:
        await client.register()
    await client.close()
    assert info.value.response_code == 452


@pytest.mark.parametrize(("status", "error"), [(403, RequestRefusedError), (400, RequestRefusedError),
                                               (500, TransportError)])
async def test_http_failures_are_mapped_where_they_enter(vtn: Any, status: int, error: type[Exception]) -> None:
    _fake, url = await vtn(lambda s, m: web.Response(status=status, text="nope\nmore"))
    client = OadrVenClient(url, "pv-1")
    with pytest.raises(error) as info:
        await client.query_registration()
    await client.close()
    if isinstance(info.value, RequestRefusedError):
        assert info.value.response_code == status
        assert f"HTTP {status}: nope" in str(info.value)


async def test_an_unreachable_vtn_is_a_connection_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OadrVenClient(f"http://127.0.0.1:{port}", "pv-1")
    with pytest.raises(ConnectionFailedError):
        await client.query_registration()
    await client.close()


async def test_a_reregistration_request_on_a_poll_is_acknowledged_and_followed(vtn: Any) -> None:
    polls = 0

    def reply(service: str, message: OadrMessage) -> OadrMessage | web.Response | None:
        nonlocal polls
        if isinstance(message, OadrPoll):
            polls += 1
            return OadrRequestReregistration(ven_id="ven-1") if polls == 1 else OadrResponse(response=ok())
        if isinstance(message, OadrResponse):
            return None  # openleadr answers an oadrResponse with an empty body
        return standard(service, message)

    fake, url = await vtn(reply)
    client = OadrVenClient(url, "pv-1")
    await client.register()
    await client.poll()
    await client.close()
    kinds = [type(m).__name__ for _s, m in fake.requests]
    assert kinds[2:] == ["OadrPoll", "OadrResponse", "OadrQueryRegistration", "OadrCreatePartyRegistration",
                         "OadrRequestEvent", "OadrCreatedEvent"]


class MarkSigner:
    """A stand-in for the XML signer: marks the document."""

    def sign(self, document: bytes) -> bytes:
        return document.replace(b"<oadr:oadrSignedObject>", b"<oadr:oadrSignedObject Id=\"signed\">", 1)


@dataclass(frozen=True)
class Verified:
    signed_object: Any


class ElementVerifier:
    """A stand-in for the XML verifier: accepts documents with a marker, returns the signed object's element."""

    def __init__(self) -> None:
        self.fingerprints: list[str | None] = []

    def verify(self, document: bytes, *, expected_fingerprint: str | None = None) -> Verified:
        self.fingerprints.append(expected_fingerprint)
        if b"forged" in document:
            raise ValueError("the signature does not verify")
        root = parse_xml(document)
        return Verified(root.find("{http://openadr.org/oadr-2.0b/2012/07}oadrSignedObject"))


async def test_the_signer_and_verifier_hooks_see_every_document(vtn: Any) -> None:
    fake, url = await vtn(standard)
    verifier = ElementVerifier()
    client = OadrVenClient(url, "pv-1", signer=MarkSigner(), verifier=verifier, vtn_fingerprint="AA:BB")
    await client.register()
    await client.close()
    assert all(b'oadrSignedObject Id="signed"' in body for body in fake.bodies)
    create = [m for _s, m in fake.requests if isinstance(m, OadrCreatePartyRegistration)]
    assert create[0].xml_signature is True
    assert verifier.fingerprints == ["AA:BB", "AA:BB"]
    assert client.vtn_id == VTN


async def test_a_document_that_does_not_verify_is_a_forged_notice(vtn: Any) -> None:
    def reply(service: str, message: OadrMessage) -> web.Response:
        document = encode_xml(registered()).replace(b"</oadr:oadrPayload>", b"<!--forged--></oadr:oadrPayload>")
        return web.Response(body=document, content_type="application/xml")

    _fake, url = await vtn(reply)
    client = OadrVenClient(url, "pv-1", verifier=ElementVerifier())
    with pytest.raises(ForgedNoticeError) as info:
        await client.query_registration()
    await client.close()
    assert info.value.response_code == 463


async def test_a_signature_beside_the_signed_object_is_accepted(vtn: Any) -> None:
    def reply(service: str, message: OadrMessage) -> web.Response:
        root = etree.fromstring(encode_xml(registered()))
        etree.SubElement(root, "{http://www.w3.org/2000/09/xmldsig#}Signature")
        return web.Response(body=etree.tostring(root), content_type="application/xml")

    _fake, url = await vtn(reply)
    client = OadrVenClient(url, "pv-1")
    answer = await client.query_registration()
    await client.close()
    assert answer.vtn_id == VTN


async def test_run_registers_reports_and_stops_when_asked(vtn: Any) -> None:
    fake, url = await vtn(standard)
    client = OadrVenClient(url, "pv-1", poll_seconds=0.05)
    client.on_event(lambda e: OptType.OPT_OUT)
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    while sum(isinstance(m, OadrPoll) for _s, m in fake.requests) < 3:
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    await client.close()
    assert client.registration_id == "reg-1"
