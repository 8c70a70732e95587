"""``HttpTransport``: a VEN's :class:`~.base.Transport` to a VTN over HTTP (aiohttp client).

Requests are ``POST {base}/cts`` with the payload in the transport's wire format (``Content-Type`` and
``Accept`` both name it) and ``Authorization: Bearer <token>``; the reply payload is decoded by its
``Content-Type`` and returned whatever its ``ei:eiResponse`` says (the client's policy decides; a 4xx
carrying a ``tx:eiResponsePayload`` is returned like any reply). Notices are long polls on
``GET {base}/cts/notices`` (see :mod:`transactive.vtn.http`), run by a task per :class:`HttpSubscription`.

HTTPS: an ``https://`` URL is checked against the system's trusted CAs; ``tls=`` an :class:`ssl.SSLContext`
(:func:`transactive.transport.tls.client_context`: a CA file to trust, and a client certificate for a VTN
that asks for one) replaces that.

Errors are mapped where they enter: connection refused/reset/lost → :class:`ConnectionFailedError`, no reply
in ``timeout`` seconds → :class:`TransportTimeoutError`, a reply without an EI payload (a proxy's 502, ...)
→ :class:`TransportError`, use after :meth:`close` → :class:`TransportClosedError`; an undecodable EI body
stays a :class:`~transactive.errors.ProtocolError`. A failed TLS handshake (a server certificate not
trusted, expired or for another host; a client certificate refused) is a :class:`ConnectionFailedError`
whose message starts with ``TLS:`` and says why (:func:`transactive.transport.tls.tls_failure`).

A kept-alive connection the VTN has closed as idle (``vtn serve --idle-timeout``) can still look open to a
client whose event loop was busy when the close arrived; a request on it fails before any reply. Such a
request is sent once more on a new connection (:func:`stale_connection`): the VTN answers a repeated
``requestID`` of a party with its stored reply, so a request that did reach it is not applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

from transactive.codec.wire import decode_as, encode_as, media_type, wire_of
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.errors import NotAuthorizedError
from transactive.protocol.identity import NOTICE_SIGNATURE, REQUEST_SIGNATURE, PartyKey
from transactive.protocol.replies import check_reply
from transactive.transport.base import (
    ConnectionFailedError,
    QueuedSubscription,
    RequestSigner,
    Transport,
    TransportClosedError,
    TransportError,
    TransportTimeoutError,
    WireFormat,
    backoff,
)
from transactive.transport.tls import REFUSED_AFTER_HANDSHAKE, tls_failure

__all__ = ["HttpSubscription", "HttpTransport", "https_failure", "stale_connection"]

log = logging.getLogger("transactive.transport.http")

T = TypeVar("T")

#: request bodies from this size on are streamed
LARGE_BODY = 1024 * 1024

def https_failure(exc: BaseException, *, https: bool = True) -> str | None:
    """What TLS problem an aiohttp error stands for (``"TLS: ..."``), or None. Over ``https``, a connection the
    server closes or resets before it replies is how a server refuses a client certificate
    (:data:`~transactive.transport.tls.REFUSED_AFTER_HANDSHAKE`)."""
    failure = tls_failure(exc)
    if failure is not None or not https:
        return failure
    connected = not isinstance(exc, aiohttp.ClientConnectorError)  # the failure came after the handshake
    reset = isinstance(exc, ConnectionResetError) or (isinstance(exc, OSError) and exc.errno == errno.ECONNRESET)
    closed = isinstance(exc, aiohttp.ServerDisconnectedError)
    return REFUSED_AFTER_HANDSHAKE if connected and (reset or closed) else None


def stale_connection(exc: BaseException) -> bool:
    """Whether a request failed the way one does on a connection the server closed before the request went
    out: the connection dropped, reset or unwritable after it was made (not a connection that could not be
    made, nor a timeout)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return False
    return isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientConnectionResetError)


def _map(exc: BaseException, what: str, *, https: bool = False) -> TransportError:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return TransportTimeoutError(f"{what}: no reply in time")
    failure = https_failure(exc, https=https)
    if failure is not None:
        return ConnectionFailedError(f"{what}: {failure}")
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return ConnectionFailedError(f"{what}: {exc.__class__.__name__}: {exc}")
    return TransportError(f"{what}: {exc.__class__.__name__}: {exc}")


class HttpTransport(Transport):
    """Talks to the VTN at ``base_url`` (e.g. ``http://127.0.0.1:8080``) in ``wire`` format.

    ``timeout`` bounds each request (seconds); ``poll_seconds`` is how long one notice long poll waits;
    ``session`` may be shared (it is then not closed here); ``tls`` is the context an ``https://`` URL is
    connected with (default: the system's trusted CAs, no client certificate).
    """

    def __init__(self, base_url: str, *, wire: WireFormat | str = WireFormat.JSON, timeout: float = 30.0,
                 poll_seconds: float = 20.0, session: aiohttp.ClientSession | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.https = base_url.lower().startswith("https://")
        if tls is not None and not self.https:
            raise ValueError(f"tls= is for an https:// URL, not {base_url!r}")
        #: aiohttp's ``ssl`` argument: the context, or True (verify with the system's CAs)
        self._ssl: ssl.SSLContext | bool = tls if tls is not None else True
        self.base_url = base_url.rstrip("/")
        self.wire = WireFormat(wire)
        self.timeout = timeout
        self.poll_seconds = poll_seconds
        self._session = session
        self._own_session = session is None
        self._subscriptions: list[HttpSubscription] = []
        self._closed = False

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    def _headers(self, token: str | None) -> dict[str, str]:
        headers = {"Accept": media_type(self.wire)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    @staticmethod
    def _decode(body: bytes, content_type: str, status: int, what: str) -> Model:
        wire = wire_of(content_type)
        if wire is None:
            raise TransportError(f"{what}: HTTP {status} without an EI payload ({content_type or 'no body'})")
        return decode_as(wire, body)

    async def _send(self, attempt: Callable[[], Awaitable[T]], what: str) -> T:
        """``attempt()``, once more if it failed on a stale kept-alive connection (:func:`stale_connection`);
        aiohttp's errors mapped to the transport's."""
        try:
            try:
                return await attempt()
            except (aiohttp.ClientError, OSError) as exc:
                if not stale_connection(exc):
                    raise
                log.debug("%s: %s: %s; sent again on a new connection", what, exc.__class__.__name__, exc)
            return await attempt()
        except (ProtocolError, TransportError):
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise _map(exc, what, https=self.https) from exc

    async def request(self, message: Model, *, token: str | None = None, sign: RequestSigner | None = None) -> Model:
        data = encode_as(self.wire, message)
        headers = self._headers(token)
        headers["Content-Type"] = media_type(self.wire)
        if sign is not None:
            headers[REQUEST_SIGNATURE] = sign(data)
        what = f"POST {self.base_url}/cts"

        async def attempt() -> Model:
            # a large body goes as a stream (aiohttp warns that raw bytes of over 1 MiB could hold up the loop)
            payload = data if len(data) < LARGE_BODY else io.BytesIO(data)
            async with self._client().post(f"{self.base_url}/cts", data=payload, headers=headers, ssl=self._ssl,
                                           timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                body = await response.read()
                return self._decode(body, response.content_type, response.status, what)

        return await self._send(attempt, what)

    async def poll(self, *, token: str | None, after: int | None, timeout: float,
                   party_id: str | None = None) -> tuple[int, Model | None]:
        """One long poll: ``(seq, notice)``, or ``(cursor, None)`` when no notice came (its signature is not
        checked here: a subscription does that)."""
        seq, raw = await self.poll_raw(token=token, after=after, timeout=timeout, party_id=party_id)
        return seq, None if raw is None else decode_as(raw[1], raw[0])

    async def poll_raw(self, *, token: str | None, after: int | None, timeout: float, party_id: str | None = None
                       ) -> tuple[int, tuple[bytes, WireFormat, str | None] | None]:
        """One long poll: ``(seq, (body, format, notice signature))``, or ``(cursor, None)``; a refusal (a 4xx
        with an EI payload) raises its :class:`~transactive.protocol.RequestRefusedError`."""
        params: dict[str, str] = {"timeout": str(timeout)}
        if after is not None:
            params["after"] = str(after)
        if party_id is not None:
            params["party"] = party_id
        what = f"GET {self.base_url}/cts/notices"

        async def attempt() -> tuple[int, tuple[bytes, WireFormat, str | None] | None]:
            async with self._client().get(f"{self.base_url}/cts/notices", params=params,
                                          headers=self._headers(token), ssl=self._ssl,
                                          timeout=aiohttp.ClientTimeout(total=timeout + self.timeout)) as response:
                body = await response.read()
                seq = int(response.headers.get("X-Notice-Seq", after or 0))
                if response.status == 204:
                    return seq, None
                wire = wire_of(response.content_type)
                if response.status != 200 or wire is None:
                    check_reply(self._decode(body, response.content_type, response.status, what))
                    raise TransportError(f"{what}: HTTP {response.status}")
                return seq, (body, wire, response.headers.get(NOTICE_SIGNATURE))

        return await self._send(attempt, what)

    async def subscribe(self, party_id: str, *, token: str | None = None,
                        notice_key: PartyKey | None = None) -> HttpSubscription:
        """Start long-polling ``party_id``'s notices (463 raised here when the token is not the party's)."""
        try:
            cursor, _ = await self.poll_raw(token=token, after=None, timeout=0, party_id=party_id)
        except ProtocolError as error:
            raise NotAuthorizedError(error.message, field="Authorization",
                                     response_code=error.response_code) from None
        sub = HttpSubscription(self, party_id, token, cursor, notice_key)
        self._subscriptions.append(sub)
        return sub

    async def close(self) -> None:
        if self._closed:
            return
        for sub in list(self._subscriptions):
            await sub.close()
        self._closed = True
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None


class HttpSubscription(QueuedSubscription):
    """One party's notices, fetched by a background long-poll task into a queue.

    A lost VTN (connection refused or reset, no answer) does not end it: the task retries with exponential
    backoff and jitter (0.1 s doubling up to :data:`MAX_BACKOFF`) for as long as the subscription is open, and
    the reader sees one :class:`~.base.ConnectionFailedError` per outage (``follow`` waits it out). A refusal
    (the token is no longer valid) or a closed transport ends it."""

    def __init__(self, transport: HttpTransport, party_id: str, token: str | None, cursor: int,
                 notice_key: PartyKey | None = None) -> None:
        super().__init__(party_id, notice_key)
        self.transport = transport
        self.party_id = party_id
        self.cursor = cursor
        self._token = token
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"notices-{party_id}")

    async def _run(self) -> None:
        failures = 0
        while not self._closed:
            try:
                seq, raw = await self.transport.poll_raw(token=self._token, after=self.cursor,
                                                         timeout=self.transport.poll_seconds, party_id=self.party_id)
            except (ConnectionFailedError, TransportTimeoutError) as exc:
                if failures == 0:
                    self.put(exc)  # once per outage: the reader knows, and carries on when notices come again
                failures += 1
                await asyncio.sleep(backoff(failures))
                continue
            except Exception as exc:  # protocol refusals, closed transport: end the subscription
                self.put(exc)
                return
            failures = 0
            self.cursor = max(self.cursor, seq)
            if raw is not None:
                self.receive(*raw)

    async def close(self) -> None:
        if self._closed:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._end()
        if self in self.transport._subscriptions:
            self.transport._subscriptions.remove(self)
