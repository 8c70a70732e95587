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
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ssl

import aiohttp

from transactive.codec.wire import decode_as, encode_as, media_type, wire_of
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.errors import NotAuthorizedError
from transactive.protocol.replies import check_reply
from transactive.transport.base import (
    ConnectionFailedError,
    QueuedSubscription,
    Transport,
    TransportClosedError,
    TransportError,
    TransportTimeoutError,
    WireFormat,
)
from transactive.transport.tls import REFUSED_AFTER_HANDSHAKE, tls_failure

__all__ = ["HttpSubscription", "HttpTransport", "https_failure"]


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

    async def request(self, message: Model, *, token: str | None = None) -> Model:
        data = encode_as(self.wire, message)
        headers = self._headers(token)
        headers["Content-Type"] = media_type(self.wire)
        what = f"POST {self.base_url}/cts"
        try:
            async with self._client().post(f"{self.base_url}/cts", data=data, headers=headers, ssl=self._ssl,
                                           timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                body = await response.read()
                return self._decode(body, response.content_type, response.status, what)
        except (ProtocolError, TransportError):
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _map(exc, what, https=self.https) from exc

    async def poll(self, *, token: str | None, after: int | None, timeout: float,
                   party_id: str | None = None) -> tuple[int, Model | None]:
        """One long poll: ``(seq, notice)``, or ``(cursor, None)`` when no notice came."""
        params: dict[str, str] = {"timeout": str(timeout)}
        if after is not None:
            params["after"] = str(after)
        if party_id is not None:
            params["party"] = party_id
        what = f"GET {self.base_url}/cts/notices"
        try:
            async with self._client().get(f"{self.base_url}/cts/notices", params=params,
                                          headers=self._headers(token), ssl=self._ssl,
                                          timeout=aiohttp.ClientTimeout(total=timeout + self.timeout)) as response:
                body = await response.read()
                seq = int(response.headers.get("X-Notice-Seq", after or 0))
                if response.status == 204:
                    return seq, None
                notice = self._decode(body, response.content_type, response.status, what)
                if response.status != 200:
                    check_reply(notice)
                    raise TransportError(f"{what}: HTTP {response.status}")
                return seq, notice
        except (ProtocolError, TransportError):
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise _map(exc, what, https=self.https) from exc

    async def subscribe(self, party_id: str, *, token: str | None = None) -> HttpSubscription:
        """Start long-polling ``party_id``'s notices (463 raised here when the token is not the party's)."""
        try:
            cursor, _ = await self.poll(token=token, after=None, timeout=0, party_id=party_id)
        except ProtocolError as error:
            raise NotAuthorizedError(error.message, field="Authorization",
                                     response_code=error.response_code) from None
        sub = HttpSubscription(self, party_id, token, cursor)
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
    """One party's notices, fetched by a background long-poll task into a queue."""

    def __init__(self, transport: HttpTransport, party_id: str, token: str | None, cursor: int) -> None:
        super().__init__()
        self.transport = transport
        self.party_id = party_id
        self.cursor = cursor
        self._token = token
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"notices-{party_id}")

    async def _run(self) -> None:
        failures = 0
        while not self._closed:
            try:
                seq, notice = await self.transport.poll(token=self._token, after=self.cursor,
                                                        timeout=self.transport.poll_seconds, party_id=self.party_id)
            except (ConnectionFailedError, TransportTimeoutError) as exc:
                failures += 1
                if failures > 5:
                    self.put(exc)
                    return
                await asyncio.sleep(min(0.1 * 2 ** failures, 2.0))
                continue
            except Exception as exc:  # protocol refusals, closed transport: end the subscription
                self.put(exc)
                return
            failures = 0
            self.cursor = max(self.cursor, seq)
            if notice is not None:
                self.put(notice)

    async def close(self) -> None:
        if self._closed:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._end()
        if self in self.transport._subscriptions:
            self.transport._subscriptions.remove(self)
