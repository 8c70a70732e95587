"""The VTN over HTTP (aiohttp): the CTS payloads in XML or JSON, notices by long poll, health, OpenAPI.

:func:`create_server` is what ``transactive vtn serve`` listens with: aiohttp's low-level server (its HTTP/1.1
parser, keep-alive, limits and flow control) around one dispatcher that routes by path and method itself, so
a ``POST /cts`` passes no router or middleware (their cost per request is in BENCHMARKS.md).
:func:`create_app` wraps the same dispatcher in an :class:`aiohttp.web.Application` to mount inside another
aiohttp application.

Endpoints (the OpenAPI document, :mod:`.openapi`, is served at ``GET /openapi.json``):

==============================  ===================================================================================
``POST /cts``                   any CTS request payload; its root element names the facet
``POST /cts/{facet}``           the same, restricted to one facet (``registration``, ``market-context``,
                                ``tender``, ``transaction``, ``delivery``, ``quote``, ``position``: the facets of
                                :data:`transactive.services.requests.REQUESTS`); another facet's payload is 451
``GET /cts/notices``            long poll for the caller's notices (``eiCreateTransaction``, ``eiCreateQuote``):
                                ``?after=SEQ&timeout=SECONDS``; one notice per reply, its sequence number in the
                                ``X-Notice-Seq`` header; 204 when none arrived in time. Without ``after`` the reply
                                is 204 at once with the current cursor in ``X-Notice-Seq`` (where a new subscriber
                                starts)
``GET /health``                 JSON: status, market, market time, current / next open interval, store check
``GET /openapi.json``           the OpenAPI 3.1 document of this API
``GET /ui/...``                 the read-only dashboard (HTML, and its JSON under ``/ui/api/``), when the server is
                                made with one (:mod:`transactive.vtn.ui`; ``vtn serve`` does)
==============================  ===================================================================================

Content negotiation (the rules of :mod:`transactive.codec.wire`, which every transport shares): the request's
``Content-Type`` decides how its body is decoded (``application/json`` or ``*+json``; ``application/xml``,
``text/xml`` or ``*+xml``; anything else is 415); ``Accept`` decides the reply's format (``q`` values
honoured; absent or ``*/*`` = the request's format; nothing acceptable = 406).

Authentication: ``Authorization: Bearer <token>``, the token registration issued (see
:mod:`transactive.services.registration`); a header of another scheme is 401. A registration is signed
(``Signature``, see :mod:`transactive.protocol.identity`): the signature is checked against the body's exact
bytes before the services see the request; one that does not hold is 401 with EI 463. Each notice carries the
VTN's signature in ``X-Notice-Signature``.

Status codes: **200 for every reply the services produced, refusals included** — the EI response code is
in the reply's ``ei:eiResponse`` (as OpenADR 2.0b does). A request that never reached the services gets a
4xx whose body is ``tx:eiResponsePayload`` with the same code: 400 not well-formed (EI 400), 400 unknown
message (EI 453), 400 invalid field (EI 454), 401, 404, 405 (with ``Allow``), 406, 408 (the body did not
arrive within the body timeout, EI 400), 413 (body over ``client_max_size``), 415, 417 (an ``Expect`` other
than ``100-continue``, EI 400), 429 (registrations from one address beyond the limit, with ``Retry-After``),
503 (the connection cap, see :mod:`.limits`). Anything unexpected
is a 500 with EI code 500 and no traceback (it is logged). ``Expect: 100-continue`` is answered once the
headers are acceptable, so a refused request's body is never sent.

Storage faults: a request the VTN could not serve because its store or ledger cannot write (a full disk, an
I/O error, a file locked past its timeout) or because it runs read-only is answered with **HTTP 503**
(``Retry-After: 1``) and the request's reply payload whose ``ei:eiResponse`` carries EI code 503 and a
description naming the part of storage (``tx:eiResponsePayload`` when the request has no reply type or
never reached the services). Nothing of such a request was acknowledged; sending it again later is safe.
``GET /health`` answers 503 with ``"status": "degraded"`` and the failing part in ``faults`` meanwhile.

Notices are kept by a :class:`~transactive.vtn.notices.NoticeBoard` (sequence numbers, history).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from transactive.codec.wire import WireFormat, decode_as, encode_as, media_type, negotiate, wire_of
from transactive.ei.cts.registration import EiCreatePartyRegistration
from transactive.errors import ProtocolError, RemoteProtocolError, ResponseCode
from transactive.model import Model
from transactive.protocol.errors import NotAllowedError, NotAuthorizedError
from transactive.protocol.identity import NOTICE_SIGNATURE, REQUEST_SIGNATURE, KeyProof
from transactive.protocol.replies import reply_response
from transactive.services.requests import FACETS
from transactive.services.service import STORAGE_UNAVAILABLE, StorageUnavailableError, VtnService
from transactive.vtn.limits import GuardedServer, Limits, RateLimiter
from transactive.vtn.notices import NoticeBoard
from transactive.vtn.oadr_http import OadrEdge, OadrOptions
from transactive.vtn.openadr3_http import Oa3Edge, Oa3Options
from transactive.vtn.openapi import openapi_document
from transactive.vtn.ui import Dashboard

__all__ = [
    "BOARD",
    "DEFAULT_MAX_BODY",
    "HealthProbe",
    "create_app",
    "create_server",
]

log = logging.getLogger("transactive.vtn.http")

#: request bodies larger than this are refused with 413 (aiohttp ``client_max_size``)
DEFAULT_MAX_BODY = 4 * 1024 * 1024
#: the longest a long poll may wait
MAX_POLL_SECONDS = 60.0

#: the application's :class:`NoticeBoard` (``app[BOARD]``)
BOARD: web.AppKey[NoticeBoard] = web.AppKey("transactive.board")

#: ``() -> (market facts for /health, store ok)``; built by the application
HealthProbe = Callable[[], Awaitable[dict[str, Any]]]


# ---- handlers -------------------------------------------------------------------------------------


class _Refusal(Exception):
    """A request that does not reach the services: HTTP ``status``, EI ``error``."""

    def __init__(self, status: int, error: ProtocolError, headers: dict[str, str] | None = None) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.headers = headers or {}


def _error(status: int, message: str, code: int | None = None) -> _Refusal:
    return _Refusal(status, RemoteProtocolError(message, response_code=code if code is not None else status))


class _Vtn:
    """The handlers and their dispatcher; one per server."""

    def __init__(self, service: VtnService, board: NoticeBoard, health: HealthProbe | None,
                 openapi: dict[str, Any] | None, max_body: int, limits: Limits,
                 oadr: OadrOptions | None = None, openadr3: Oa3Options | None = None,
                 dashboard: Dashboard | None = None) -> None:
        self.service = service
        self.dashboard = dashboard
        self.limits = limits
        self.registrations = RateLimiter(limits.registrations_per_minute / 60.0, limits.registration_burst)
        self.oadr = None if oadr is None else OadrEdge(oadr, read_body=self.read_body,
                                                       registration_rate=self._check_registration_rate)
        self.openadr3 = None if openadr3 is None else Oa3Edge(openadr3, read_body=self.read_body)
        self.max_body = max_body
        self.board = board
        self.health_probe = health
        self.openapi = openapi

    # -- the dispatcher (the whole API; no router, no middleware) --

    async def dispatch(self, request: web.BaseRequest, path: str | None = None) -> web.StreamResponse:
        """Answer any request: route by ``path`` (default: the request's) and method, turn every failure into
        an EI error payload."""
        try:
            path, method = path if path is not None else request.path, request.method
            if path == "/cts":
                if method == "POST":
                    return await self.cts(request, None)
                raise _not_allowed(method, path, "POST")
            if path.startswith("/cts/"):
                facet = path[5:]
                if facet == "notices" and method in _GET:
                    return await self.notices(request)
                if "/" not in facet and facet:
                    if method == "POST":
                        return await self.cts(request, facet)
                    raise _not_allowed(method, path, "GET, HEAD" if facet == "notices" else "POST")
            elif self.openadr3 is not None and self.openadr3.handles(path):
                try:
                    return await self.openadr3.dispatch(request, path)
                except _Refusal as refusal:  # the body's limits (413, 408, 417)
                    return self.openadr3.refusal(refusal.status, refusal.error.message, refusal.headers, path)
            elif self.oadr is not None and self.oadr.handles(path):
                try:
                    return await self.oadr.dispatch(request, path)
                except _Refusal as refusal:
                    return self.oadr.refusal(refusal.status, refusal.error, refusal.headers)
            elif path == "/health":
                if method in _GET:
                    return await self.health(request)
                raise _not_allowed(method, path, "GET, HEAD")
            elif path == "/openapi.json":
                if method in _GET:
                    return await self.openapi_json(request)
                raise _not_allowed(method, path, "GET, HEAD")
            elif self.dashboard is not None and self.dashboard.handles(path):
                return await self.dashboard.dispatch(request, path)
            raise _error(404, f"no resource {path!r}: see GET /openapi.json")
        except _Refusal as refusal:
            return self._refusal_response(request, refusal)
        except StorageUnavailableError as error:
            return self._refusal_response(request, _Refusal(503, error, dict(_RETRY)))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return self._refusal_response(request, _error(exc.status, exc.reason))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.path)
            return self._refusal_response(request, _error(500, "internal error (logged by the VTN)"))

    def make_request(self, message: Any, payload: Any, protocol: Any, writer: Any,
                     task: asyncio.Task[None]) -> web.BaseRequest:
        """The request factory of the low-level server: bodies over ``max_body`` are refused with 413."""
        return web.BaseRequest(message, payload, protocol, writer, task, task.get_loop(),
                               client_max_size=self.max_body)

    # -- helpers --

    def _reply(self, message: Model, wire: WireFormat, status: int = 200,
               headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(body=encode_as(wire, message), status=status, content_type=media_type(wire),
                            headers=headers)

    def _refusal_response(self, request: web.BaseRequest, refusal: _Refusal,
                          wire: WireFormat | None = None) -> web.Response:
        fallback = wire or wire_of(request.headers.get("Content-Type", "")) or WireFormat.JSON
        chosen = negotiate(request.headers.get("Accept"), fallback) or fallback
        body = self.service.error_reply(None, refusal.error)
        return self._reply(body, chosen, refusal.status, refusal.headers)

    @staticmethod
    def _token(request: web.BaseRequest) -> str | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(401, NotAuthorizedError("the Authorization header must be 'Bearer <token>'",
                                                   field="Authorization"),
                           {"WWW-Authenticate": 'Bearer realm="transactive"'})
        return token.strip()

    async def read_body(self, request: web.BaseRequest) -> bytes:
        """The request's body, within the limits: 413 over ``max_body``, 408 when it does not arrive within the
        body timeout (``Expect: 100-continue`` answered first: the headers were acceptable)."""
        if "Expect" in request.headers:  # the headers are acceptable: ask for the body (a router would have)
            await _continue(request)
        try:
            if request.content.is_eof():  # the whole body came with the headers (most requests): no timer
                return await request.read()
            async with asyncio.timeout(self.limits.body_timeout):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _error(413, f"request body over the {self.max_body} bytes allowed") from None
        except TimeoutError:
            raise _Refusal(408, RemoteProtocolError(
                f"the request body did not arrive within {self.limits.body_timeout:g} s",
                response_code=ResponseCode.BAD_REQUEST), {"Connection": "close"}) from None

    # -- POST /cts, /cts/{facet} --

    async def cts(self, request: web.BaseRequest, facet: str | None) -> web.Response:
        allowed = None
        if facet is not None:
            allowed = FACETS.get(facet)
            if allowed is None:
                return self._refusal_response(request, _error(404, f"no facet {facet!r}; facets: "
                                                                   f"{', '.join(FACETS)}"))
        headers = request.headers
        content_type = headers.get("Content-Type", "")
        wire = wire_of(content_type)
        if wire is None:
            return self._refusal_response(request, _error(
                415, f"unsupported content type {content_type!r}: send application/json or application/xml"))
        reply_wire = negotiate(headers.get("Accept"), wire)
        if reply_wire is None:
            return self._refusal_response(request, _error(406, "Accept names neither application/json nor "
                                                               "application/xml"), wire)
        try:
            token = self._token(request)
            data = await self.read_body(request)
            try:
                if len(data) > self.limits.decode_off_loop:  # a large document: off the event loop
                    message = await asyncio.to_thread(decode_as, wire, data)
                else:
                    message = decode_as(wire, data)
            except ProtocolError as error:
                raise _Refusal(400, error) from None
            proof = self._proof(request, data)
            if isinstance(message, EiCreatePartyRegistration):
                self._check_registration_rate(request)
        except _Refusal as refusal:
            return self._refusal_response(request, refusal, reply_wire)
        if allowed is not None and not isinstance(message, allowed):
            refused = NotAllowedError(f"{type(message).__tag__} is not a request of the {facet} facet", field="/")
            return self._reply(self.service.error_reply(message, refused), reply_wire)
        reply = await self.service.answer(message, token=token, proof=proof)
        response = reply_response(reply)
        if response is not None and response.response_code == f"{STORAGE_UNAVAILABLE:03d}":
            return self._reply(reply, reply_wire, 503, dict(_RETRY))  # storage failed: nothing acknowledged
        return self._reply(reply, reply_wire)

    def _check_registration_rate(self, request: web.BaseRequest) -> None:
        """429 when the source address registers faster than the limits allow."""
        wait = self.registrations.take(request.remote or "unknown")
        if wait > 0:
            raise _Refusal(429, RemoteProtocolError(
                f"too many registrations from {request.remote}: at most {self.limits.registrations_per_minute:g} "
                "a minute", response_code=ResponseCode.TOO_MANY_REQUESTS),
                {"Retry-After": str(max(1, math.ceil(wait)))})

    def _proof(self, request: web.BaseRequest, body: bytes) -> KeyProof | None:
        """The checked ``Signature`` of the request (None without one); 401 with EI 463 if it does not hold."""
        header = request.headers.get(REQUEST_SIGNATURE)
        if header is None:
            return None
        try:
            return self.service.verify_request(header, body)
        except NotAuthorizedError as error:
            raise _Refusal(401, error, {"WWW-Authenticate": 'Signature realm="transactive"'}) from None

    # -- GET /cts/notices --

    async def notices(self, request: web.BaseRequest) -> web.Response:
        wire = negotiate(request.headers.get("Accept"), WireFormat.JSON)
        if wire is None:
            return self._refusal_response(request, _error(406, "Accept names neither application/json nor "
                                                               "application/xml"))
        try:
            token = self._token(request)
            try:
                owner = self.service.party_of(token, "Authorization")
                party = request.query.get("party", owner)
                if party != owner:
                    raise NotAuthorizedError(f"the token belongs to {owner!r}, not {party!r}", field="party")
            except NotAuthorizedError as error:
                raise _Refusal(403, error) from None
            after_text = request.query.get("after")
            timeout_text = request.query.get("timeout", "30")
            try:
                after = None if after_text is None else int(after_text)
                timeout = float(timeout_text)
                if not math.isfinite(timeout):
                    raise ValueError("timeout must be finite")
                timeout = min(max(timeout, 0.0), MAX_POLL_SECONDS)
            except ValueError:
                raise _error(400, "after must be an integer and timeout a number of seconds",
                             ResponseCode.INVALID_DATA) from None
        except _Refusal as refusal:
            return self._refusal_response(request, refusal, wire)
        if after is None:
            return web.Response(status=204, headers={"X-Notice-Seq": str(self.board.cursor)})
        found = await self.board.wait(party, after, timeout)
        if found is None:
            return web.Response(status=204, headers={"X-Notice-Seq": str(after)})
        seq, data = found  # (kept JSON-encoded: sent as it is, or once more in XML)
        if wire is not WireFormat.JSON:
            data = encode_as(wire, decode_as(WireFormat.JSON, data))
        headers = {"X-Notice-Seq": str(seq)}
        signature = self.service.sign_notice(party, data)
        if signature is not None:
            headers[NOTICE_SIGNATURE] = signature
        return web.Response(body=data, content_type=media_type(wire), headers=headers)

    # -- GET /health, /openapi.json --

    async def health(self, request: web.BaseRequest) -> web.Response:
        body: dict[str, Any] = {"status": "ok"}
        if self.health_probe is not None:
            body.update(await self.health_probe())
        status = 200 if body.get("status") == "ok" else 503
        return web.json_response(body, status=status)

    async def openapi_json(self, request: web.BaseRequest) -> web.Response:
        if self.openapi is None:
            self.openapi = openapi_document(openadr=self.oadr is not None, openadr3=self.openadr3 is not None)
        return web.json_response(self.openapi)


_GET = frozenset({"GET", "HEAD"})
#: sent with every 503: storage faults are expected to pass
_RETRY = {"Retry-After": "1"}


async def _continue(request: web.BaseRequest) -> None:
    """Answer ``Expect: 100-continue`` (curl sends it with bodies over 1 kB and waits a second for it);
    any other expectation is 417."""
    expect = request.headers.get("Expect", "")
    if expect.strip().lower() != "100-continue":
        raise _error(417, f"unknown expectation {expect!r}: only 100-continue is supported", ResponseCode.BAD_REQUEST)
    if request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the reply's own size starts after the interim response


def _not_allowed(method: str, path: str, allow: str) -> _Refusal:
    return _Refusal(405, RemoteProtocolError(f"{method} is not allowed on {path}: {allow}", response_code=405),
                    {"Allow": allow})


def create_server(service: VtnService, *, board: NoticeBoard | None = None, health: HealthProbe | None = None,
                  openapi: dict[str, Any] | None = None, max_body: int = DEFAULT_MAX_BODY,
                  limits: Limits | None = None, oadr: OadrOptions | None = None,
                  openadr3: Oa3Options | None = None, dashboard: Dashboard | None = None) -> GuardedServer:
    """The VTN's HTTP server: aiohttp's low-level :class:`~aiohttp.web.Server` (the protocol factory a
    :class:`~aiohttp.web.ServerRunner` listens with) around one dispatcher, no router or middleware in the
    way of ``POST /cts``, within ``limits`` (:mod:`.limits`: idle and body timeouts, a connection cap,
    the registration rate). Notices are read from ``board``; the caller subscribes it to ``service``
    (``stop = service.listen(board.post)``) for as long as the server runs. ``oadr``: also serve the OpenADR
    2.0b services and the operator's API (:mod:`.oadr_http`); ``openadr3``: the OpenADR 3.1 API
    (:mod:`.openadr3_http`); ``dashboard``: the read-only dashboard at ``/ui`` (:mod:`.ui`)."""
    limits = limits or Limits()
    vtn = _Vtn(service, board if board is not None else NoticeBoard(), health, openapi, max_body, limits, oadr,
               openadr3, dashboard)
    return GuardedServer(vtn.dispatch, request_factory=vtn.make_request, access_log=None,
                         keepalive_timeout=limits.idle_timeout, cap=limits.connection_cap())


def create_app(service: VtnService, *, board: NoticeBoard | None = None, health: HealthProbe | None = None,
               openapi: dict[str, Any] | None = None, max_body: int = DEFAULT_MAX_BODY,
               limits: Limits | None = None, dashboard: Dashboard | None = None) -> web.Application:
    """The same API as an :class:`aiohttp.web.Application`, to mount in a larger aiohttp application
    (``parent.add_subapp("/vtn/", app)``) or to run behind aiohttp's middlewares: every path below where it
    is mounted goes to the dispatcher :func:`create_server` uses. Notices go to ``board`` (a new one by
    default), subscribed to ``service`` while the application runs; ``dashboard``: also the dashboard (its
    pages link to ``/ui/...``: mount the application at the root to follow them)."""
    board = board if board is not None else NoticeBoard()
    vtn = _Vtn(service, board, health, openapi, max_body, limits or Limits(), dashboard=dashboard)
    app = web.Application(client_max_size=max_body)
    app[BOARD] = board

    async def route(request: web.Request) -> web.StreamResponse:  # the path below where the app is mounted
        return await vtn.dispatch(request, "/" + request.match_info["path"])

    app.router.add_route("*", "/{path:.*}", route)

    async def listen(app: web.Application) -> AsyncIterator[None]:
        stop = service.listen(board.post)
        yield
        stop()

    app.cleanup_ctx.append(listen)
    return app
