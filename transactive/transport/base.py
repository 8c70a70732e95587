"""The one transport interface (HTTP, MQTT and in-memory implement it) and the transport error tree.

A :class:`Transport` moves *models*: ``request`` sends a request payload and returns the reply payload
(whatever its ``ei:eiResponse`` says: policy — raising on refusals — is the client's, see
:func:`transactive.protocol.check_reply`); ``subscribe`` yields the notices the VTN sends a party
(``eiCreateTransaction``, ``eiCreateQuote``). Failures of the underlying library are mapped where they
enter to::

    TransactiveError
    └── TransportError                 the exchange failed (the request may or may not have been processed)
        ├── ConnectionFailedError      could not reach the peer / connection lost
        ├── TransportTimeoutError      no reply in time (also a TimeoutError)
        └── TransportClosedError       used after close()

:class:`WireFormat` (re-exported here) is :class:`transactive.codec.wire.WireFormat`. Protocol errors in the
documents themselves (undecodable replies) stay
:class:`~transactive.errors.ProtocolError` s. Requests are idempotent by ``requestID``, so after a
``TransportError`` the client may resend the *same* request.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable

from transactive.codec.wire import WireFormat, decode_as
from transactive.errors import ProtocolError, TransactiveError
from transactive.model import Model
from transactive.protocol.errors import ForgedNoticeError
from transactive.protocol.identity import PartyKey, verify_notice

__all__ = [
    "MAX_BACKOFF",
    "ConnectionFailedError",
    "QueuedSubscription",
    "RequestSigner",
    "Subscription",
    "Transport",
    "TransportClosedError",
    "TransportError",
    "TransportTimeoutError",
    "WireFormat",
    "backoff",
]


log = logging.getLogger("transactive.transport")

#: ``sign(body) -> Signature`` for the exact bytes of a request (see :mod:`transactive.protocol.identity`)
RequestSigner = Callable[[bytes], str]


#: the longest wait between two attempts to reach a lost VTN (seconds)
MAX_BACKOFF = 5.0


def backoff(failures: int, *, first: float = 0.1, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after ``failures`` failed attempts in a row: exponential from ``first`` up to ``cap``,
    with full jitter (a uniform draw below it), so VENs that lost the same VTN do not come back in step."""
    return random.uniform(0.0, min(cap, first * 2 ** min(failures, 32)))


class TransportError(TransactiveError):
    """A request or subscription could not be carried out by the transport."""


class ConnectionFailedError(TransportError):
    """The peer could not be reached, or the connection was lost."""


class TransportTimeoutError(TransportError, TimeoutError):
    """No reply within the time allowed."""


class TransportClosedError(TransportError):
    """The transport (or subscription) was closed."""


class Subscription(ABC):
    """The notices for one party, as an async iterator; ``close()`` ends it."""

    def __aiter__(self) -> AsyncIterator[Model]:
        return self

    async def __anext__(self) -> Model:
        try:
            return await self.get()
        except TransportClosedError:
            raise StopAsyncIteration from None

    @abstractmethod
    async def get(self, timeout: float | None = None) -> Model:
        """The next notice; :class:`TransportTimeoutError` after ``timeout`` seconds,
        :class:`TransportClosedError` once closed."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving."""

    async def follow(self, retry_after: float = 0.1) -> AsyncIterator[Model]:
        """Every notice until the subscription is closed; other transport errors (a lost connection the
        transport will restore) are waited out, ``retry_after`` seconds at a time; a notice that does not
        decode or verify is logged and skipped (it never reaches the caller)."""
        while True:
            try:
                yield await self.get()
            except TransportClosedError:
                return
            except TransportError:
                await asyncio.sleep(retry_after)
            except ProtocolError as error:
                log.warning("notice dropped: %s", error)


class QueuedSubscription(Subscription):
    """A subscription fed through a queue by its transport: :meth:`receive` a notice as it came (bytes and
    signature) or :meth:`put` a notice or an exception that the next :meth:`get` raises; :meth:`_end` closes it
    and wakes a waiting reader.

    With a ``notice_key`` (the VTN's, from the market rules or pinned), every notice must carry a signature
    by that key over its exact bytes for ``party`` (:func:`transactive.protocol.identity.verify_notice`); one
    that does not is not delivered: :meth:`get` raises :class:`ForgedNoticeError` in its place."""

    def __init__(self, party: str = "*", notice_key: PartyKey | None = None) -> None:
        self._queue: asyncio.Queue[Model | Exception] = asyncio.Queue()
        self._closed = False
        self.party = party
        self.notice_key = notice_key

    def put(self, item: Model | Exception) -> None:
        if not self._closed:
            self._queue.put_nowait(item)

    def receive(self, data: bytes, wire: WireFormat | None, signature: str | None) -> None:
        """A notice as it arrived: decoded, its signature checked (see the class docstring), then queued."""
        try:
            notice = decode_as(wire, data)
        except ProtocolError as error:
            self.put(error)
            return
        if self.notice_key is not None and not verify_notice(self.notice_key, self.party, data, signature):
            state = "carries no signature" if not signature else "has a signature the VTN's key does not verify"
            self.put(ForgedNoticeError(f"a {type(notice).__tag__} notice for {self.party!r} {state}"))
            return
        self.put(notice)

    def pending(self) -> int:
        """Notices waiting to be read."""
        return self._queue.qsize()

    async def get(self, timeout: float | None = None) -> Model:
        if self._closed and self._queue.empty():
            raise TransportClosedError("the subscription is closed")
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            raise TransportTimeoutError(f"no notice within {timeout} s") from None
        if isinstance(item, TransportClosedError):
            raise TransportClosedError("the subscription is closed")
        if isinstance(item, Exception):
            raise item
        return item

    def _end(self) -> bool:
        """Mark closed (False if it already was) and wake a reader waiting in :meth:`get`."""
        if self._closed:
            return False
        self._closed = True
        self._queue.put_nowait(TransportClosedError("the subscription is closed"))
        return True


class Transport(ABC):
    """Carries requests to a VTN and notices back."""

    @abstractmethod
    async def request(self, message: Model, *, token: str | None = None, sign: RequestSigner | None = None) -> Model:
        """Send a request payload (with the party's bearer ``token``; ``sign(body)`` gives the ``Signature``
        for the exact bytes sent, see :mod:`transactive.protocol.identity`), return the reply payload."""

    @abstractmethod
    async def subscribe(self, party_id: str, *, token: str | None = None,
                        notice_key: PartyKey | None = None) -> Subscription:
        """Start receiving the notices addressed to ``party_id`` (only those signed by ``notice_key``, when
        given: see :class:`QueuedSubscription`)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; later calls raise :class:`TransportClosedError`."""

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
