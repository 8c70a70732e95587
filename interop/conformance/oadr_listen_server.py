"""The kit's HTTP side when it plays a VTN: it serves ``/OpenADR2/Simple/2.0b/{service}`` and queues every
request for the cases, which decide the answer; and it pushes requests to a push VEN.

A request is held open until a case (or the context's background answers, :mod:`.oadr_listen_context`)
settles its :class:`Incoming` with the bytes and status to send back. With ``--tls-cert``/``--tls-key``/
``--tls-ca`` the server speaks HTTPS and requires a client certificate signed by that CA. Anything else than
a POST to a 2.0b service (a ``GET /health``, a typo) is answered 404 without reaching the cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from transactive.interop.conformance.model import EndpointUnreachable, Options
from transactive.protocol.oadr import BASE_PATH, service_url
from transactive.transport.tls import client_context, server_context

__all__ = ["HOLD_LIMIT", "Incoming", "ListenServer", "Pushed"]

#: the longest a VEN's request is held open waiting for the kit's answer (then 503)
HOLD_LIMIT = 120.0
_XML = "application/xml"


@dataclass(eq=False)
class Incoming:
    """One request of the VEN: the service it was posted to, its body, when it came (monotonic seconds), and
    the answer the kit will send (``settle``)."""

    service: str
    body: bytes
    at: float
    answer: asyncio.Future[tuple[bytes, int]] = field(repr=False)

    def settle(self, body: bytes, status: int = 200) -> None:
        if not self.answer.done():
            self.answer.set_result((body, status))


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a push VEN answered: the HTTP status and the body."""

    status: int
    body: bytes


class ListenServer:
    """The listening VTN endpoint (``start``/``stop``) and the push client."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue()
        self.tls = options.tls_cert is not None and options.tls_key is not None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.closing = False

    def _server_ssl(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        assert self.options.tls_cert is not None
        assert self.options.tls_key is not None
        return server_context(self.options.tls_cert, self.options.tls_key, client_ca=self.options.tls_ca)

    async def start(self, host: str, port: int) -> str:
        """Listen; the URL a VEN is given (``{scheme}://{host}:{port}/OpenADR2/Simple/2.0b``). A port that
        cannot be bound or TLS files that cannot be used raise :class:`EndpointUnreachable`."""
        try:
            context = self._server_ssl()
        except (OSError, ValueError) as error:
            raise EndpointUnreachable(f"cannot set up TLS: {error}") from None
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", BASE_PATH + "/{service}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=context)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise EndpointUnreachable(f"cannot listen on {host}:{port}: {error}") from None
        bound = port
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        for sock in sockets:
            bound = sock.getsockname()[1]
            break
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else ("[::1]" if host == "::" else host)
        return f"{'https' if self.tls else 'http'}://{shown}:{bound}{BASE_PATH}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST" or self.closing:
            return web.Response(status=405 if not self.closing else 503, text="the conformance kit takes POSTs")
        body = await request.read()
        loop = asyncio.get_running_loop()
        item = Incoming(request.match_info["service"], body, time.monotonic(), loop.create_future())
        await self.queue.put(item)
        try:
            answer, status = await asyncio.wait_for(asyncio.shield(item.answer), HOLD_LIMIT)
        except TimeoutError:
            item.settle(b"", 503)
            return web.Response(status=503)
        return web.Response(body=answer, status=status, content_type=_XML)

    async def push(self, address: str, service: str, document: bytes, timeout: float) -> Pushed:
        """POST ``document`` to a push VEN's ``{address}/OpenADR2/Simple/2.0b/{service}``; a connection
        failure raises :class:`OSError` with the reason."""
        if self._session is None:
            context: ssl.SSLContext | bool = True
            if self.tls:
                context = client_context(self.options.tls_ca, cert=self.options.tls_cert, key=self.options.tls_key)
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
        try:
            async with self._session.post(service_url(address, service), data=document,
                                          headers={"Content-Type": _XML},
                                          timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                return Pushed(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as error:
            raise OSError(f"{type(error).__name__}: {error}") from None

    def drain(self, answer: bytes) -> None:
        """Settle every request still queued with ``answer`` (the run is over)."""
        while True:
            try:
                item = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            item.settle(answer)

    async def stop(self) -> None:
        self.closing = True
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
