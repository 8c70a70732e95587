"""Oa3Client against an in-process stub VTN: client credentials, token refresh, paging, query filters, and the
mapping of every failure to Oa3Error (with the HTTP status and the problem's words)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.pki import Pki
from tests.ven.openadr3.stub import BASE, StubVtn, serve
from transactive.transport.tls import ClientTls, server_context
from transactive.ven.openadr3 import Oa3AuthError, Oa3Client, Oa3ConnectionError, Oa3Error
from transactive.ven.openadr3.models import (
    Event,
    Interval,
    ReportRequest,
    ReportResource,
    ValuesMap,
    VenResourceRequest,
    VenVenRequest,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def stub() -> AsyncIterator[StubVtn]:
    vtn = StubVtn()
    async with serve(vtn):
        yield vtn


def _client(stub: StubVtn, **options: object) -> Oa3Client:
    return Oa3Client(stub.url, "ven-client", "s3cret", **options)  # type: ignore[arg-type]


def _event(stub: StubVtn, n: int, program: str = "program-a") -> None:
    stub.add("events", {"programID": program, "eventName": f"e{n}", "intervals": [
        {"id": 0, "payloads": [{"type": "PRICE", "values": [n / 100]}]}]})


# -- tokens ------------------------------------------------------------------------------------------------


async def test_the_token_is_asked_for_by_client_credentials_in_a_form_and_sent_as_a_bearer(stub: StubVtn) -> None:
    async with _client(stub) as client:
        assert await client.programs() == []
    assert stub.token_forms == [{"grant_type": "client_credentials", "client_id": "ven-client",
                                 "client_secret": "s3cret"}]
    assert stub.requests[0][:2] == ("GET", f"{BASE}/programs")


async def test_the_token_is_fetched_again_shortly_before_it_expires(stub: StubVtn) -> None:
    stub.expires_in = 100
    clock = FakeClock()
    async with _client(stub, clock=clock, refresh_margin=30.0) as client:
        await client.programs()
        clock.now += 69  # 31 s left: still good
        await client.programs()
        assert client.tokens_fetched == 1
        clock.now += 2  # 29 s left: inside the margin
        await client.programs()
        assert client.tokens_fetched == 2


async def test_a_short_lived_token_is_renewed_half_way(stub: StubVtn) -> None:
    stub.expires_in = 10
    clock = FakeClock()
    async with _client(stub, clock=clock, refresh_margin=30.0) as client:
        await client.programs()
        clock.now += 4
        await client.programs()
        clock.now += 2
        await client.programs()
        assert client.tokens_fetched == 2


async def test_a_refused_token_is_fetched_again_once_and_the_call_repeated(stub: StubVtn) -> None:
    async with _client(stub) as client:
        await client.programs()
        stub.forget_tokens()
        assert await client.programs() == []
        assert client.tokens_fetched == 2


async def test_a_second_401_is_the_callers(stub: StubVtn) -> None:
    stub.fail = [(401, '{"title": "Unauthorized", "status": 401}')] * 2
    async with _client(stub) as client:
        with pytest.raises(Oa3Error) as info:
            await client.programs()
    assert info.value.status == 401
    assert info.value.title == "Unauthorized"


async def test_bad_credentials_are_an_auth_error_with_the_oauth_words(stub: StubVtn) -> None:
    async with Oa3Client(stub.url, "ven-client", "wrong") as client:
        with pytest.raises(Oa3AuthError) as info:
            await client.programs()
    assert (info.value.status, info.value.title, info.value.detail) == (401, "invalid_client",
                                                                        "unknown client or secret")


@pytest.mark.parametrize(("status", "text", "kind", "title"), [
    (500, "", Oa3Error, "Internal Server Error"),
    (200, '{"access_token": "t", "token_type": "MAC"}', Oa3AuthError, "invalid reply"),
    (200, "<html>", Oa3AuthError, "invalid reply"),
    (400, '{"error": "unsupported_grant_type"}', Oa3AuthError, "unsupported_grant_type"),
])
async def test_a_token_endpoint_failing_or_answering_nonsense_is_an_error(stub: StubVtn, status: int, text: str,
                                                                         kind: type[Oa3Error], title: str) -> None:
    stub.token_fail = [(status, text)]
    async with _client(stub) as client:
        with pytest.raises(kind) as info:
            await client.programs()
    assert type(info.value) is kind
    assert (info.value.status, info.value.title) == (status, title)


async def test_a_token_without_expiry_is_kept_until_refused(stub: StubVtn) -> None:
    stub.expires_in = None
    clock = FakeClock()
    async with _client(stub, clock=clock) as client:
        await client.programs()
        clock.now += 10**6
        await client.programs()
        assert client.tokens_fetched == 1


# -- paging and filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "skips"), [(0, [0]), (49, [0]), (50, [0, 50]), (120, [0, 50, 100]),
                                              (100, [0, 50, 100])])
async def test_lists_are_read_page_by_page_until_a_short_page(stub: StubVtn, count: int, skips: list[int]) -> None:
    for n in range(count):
        _event(stub, n)
    async with _client(stub) as client:
        events = await client.events()
    assert [e.event_name for e in events] == [f"e{n}" for n in range(count)]
    assert all(isinstance(e, Event) for e in events)
    asked = [dict(q) for method, path, q in stub.requests if path.endswith("/events")]
    assert [int(q["skip"]) for q in asked] == skips
    assert {q["limit"] for q in asked} == {"50"}


async def test_a_smaller_page_size_is_used_as_the_limit(stub: StubVtn) -> None:
    for n in range(7):
        _event(stub, n)
    async with _client(stub, page_size=3) as client:
        assert len(await client.events()) == 7
    assert [dict(q)["skip"] for _m, _p, q in stub.requests] == ["0", "3", "6"]


async def test_query_filters_use_the_specifications_names(stub: StubVtn) -> None:
    _event(stub, 1, "program-a")
    _event(stub, 2, "program-b")
    async with _client(stub) as client:
        events = await client.events(program_id="program-b", active=True, targets=["g1", "g2"])
    assert [e.event_name for e in events] == ["e2"]
    query = stub.requests[-1][2]
    assert ("programID", "program-b") in query
    assert ("active", "true") in query
    assert [v for k, v in query if k == "targets"] == ["g1", "g2"]


# -- typed calls -------------------------------------------------------------------------------------------


async def test_a_ven_registers_finds_itself_and_writes_resources_and_reports(stub: StubVtn) -> None:
    async with _client(stub) as client:
        assert await client.find_ven("ven-1") is None
        ven = await client.create_ven(VenVenRequest(ven_name="ven-1"))
        assert ven.object_type == "VEN"
        assert ven.client_id == "ven-client"
        assert await client.find_ven("ven-1") == ven
        resource = await client.create_resource(VenResourceRequest(resource_name="pv", ven_id=ven.id))
        assert (await client.resources(ven_id=ven.id)) == [resource]
        request = ReportRequest(event_id="event-9", client_name="ven-1", resources=[ReportResource(
            resource_name="pv", intervals=[Interval(id=0, payloads=[ValuesMap(type="USAGE", values=[1.5])])])])
        report = await client.create_report(request)
        assert report.client_id == "ven-client"
        assert report.resources == request.resources
        wider = request.model_copy(update={"report_name": "second"})
        updated = await client.update_report(report.id, wider)
        assert updated.id == report.id
        assert updated.report_name == "second"
        assert await client.reports(event_id="event-9", client_name="ven-1") == [updated]
        assert (await client.delete_report(report.id)).id == report.id
        assert (await client.delete_resource(resource.id)).id == resource.id
        assert (await client.delete_ven(ven.id)).id == ven.id
    posted = stub.requests[1]
    assert posted[:2] == ("POST", f"{BASE}/vens")


# -- errors --------------------------------------------------------------------------------------------------


async def test_a_problem_answer_is_an_error_with_its_status_title_and_detail(stub: StubVtn) -> None:
    async with _client(stub) as client:
        with pytest.raises(Oa3Error) as info:
            await client.event("event-404")
    error = info.value
    assert (error.status, error.title, error.detail) == (404, "Not Found", "no event event-404")
    assert error.problem is not None
    assert error.problem.status == 404
    assert str(error) == "HTTP 404 Not Found: no event event-404"


@pytest.mark.parametrize(("status", "text", "title", "detail"), [
    (500, "database on fire", "Internal Server Error", "database on fire"),
    (503, "", "Service Unavailable", None),
    (409, '{"title": "Conflict", "detail": "venName taken"}', "Conflict", "venName taken"),
    (400, '{"status": 400}', "Bad Request", '{"status": 400}'),
    (422, '{"status": "not a number"}', "Unprocessable Entity", '{"status": "not a number"}'),
    (404, '["a list"]', "Not Found", '["a list"]'),
    (200, "not json", "invalid reply", "the body is not JSON"),
    (200, '{"a": 1}', "invalid reply", "GET /programs: expected a list"),
    (200, '[{"programName": "no metadata"}]', "invalid reply", None),
])
async def test_every_kind_of_bad_answer_is_an_oa3_error(stub: StubVtn, status: int, text: str, title: str,
                                                        detail: str | None) -> None:
    stub.fail = [(status, text)]
    async with _client(stub) as client:
        with pytest.raises(Oa3Error) as info:
            await client.programs()
    assert info.value.status == status
    assert info.value.title == title
    if detail is not None:
        assert info.value.detail == detail
    else:
        assert title != "invalid reply" or "not a Program" in (info.value.detail or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_vtn_is_a_connection_error_without_status() -> None:
    async with Oa3Client(f"http://127.0.0.1:{_free_port()}{BASE}", "c", "s") as client:
        with pytest.raises(Oa3ConnectionError) as info:
            await client.programs()
    assert info.value.status is None
    assert "cannot reach" in info.value.title


async def test_a_vtn_that_does_not_answer_in_time_is_a_connection_error() -> None:
    async def slow(request: web.Request) -> web.Response:
        import asyncio

        await asyncio.sleep(1)
        return web.Response()

    app = web.Application()
    app.router.add_post(f"{BASE}/auth/token", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Oa3Client(f"http://127.0.0.1:{port}{BASE}", "c", "s", timeout=0.2) as client:
            with pytest.raises(Oa3ConnectionError, match="in time"):
                await client.programs()
    finally:
        await runner.cleanup()


# -- TLS -----------------------------------------------------------------------------------------------------


async def test_https_with_a_private_ca_and_a_client_certificate(pki: Pki) -> None:
    cert, key = pki.pair("vtn")
    stub = StubVtn()
    async with serve(stub, tls=server_context(cert, key, client_ca=pki.ca)):
        ven_cert, ven_key = pki.pair("ven-1")
        async with Oa3Client(stub.url, "ven-client", "s3cret",
                             tls=ClientTls(ca=pki.ca, cert=ven_cert, key=ven_key)) as client:
            assert await client.programs() == []
        async with Oa3Client(stub.url, "ven-client", "s3cret", tls=ClientTls(ca=pki.other_ca)) as client:
            with pytest.raises(Oa3ConnectionError) as info:
                await client.programs()
    assert info.value.status is None
    assert "TLS" in (info.value.detail or "")


def test_the_page_size_is_at_most_the_specifications_limit() -> None:
    with pytest.raises(ValueError, match="page_size"):
        Oa3Client("http://127.0.0.1/x", "c", "s", page_size=51)

