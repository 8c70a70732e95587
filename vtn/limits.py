"""The VTN's resource limits, with defaults a small market runs with and flags to change them.

=========================  ==================================================================================
limit                      what happens at it
=========================  ==================================================================================
``idle_timeout``           a connection that has not completed a request's headers this long after it opened
                           or after its previous reply is closed: idle keep-alive connections and slow
                           headers (slowloris) alike (aiohttp's keep-alive timer, which also runs from the
                           connection's start); a long poll in progress is a request, not idle
``body_timeout``           a request body that has not arrived in full this long after its headers: HTTP 408
                           (EI 400), the connection closed
``max_connections``        beyond it, a new connection is answered 503 (EI 503, ``Retry-After``) and closed
                           before it can take a file descriptor the VTN needs; default: the process's open
                           file limit (raised to its hard limit at start) less a reserve for the store, the
                           ledger and the logs
``registrations``          registrations per minute from one source address (a token bucket, with a burst):
                           beyond it HTTP 429 (EI 429, ``Retry-After``)
``decode_off_loop``        request bodies larger than this many bytes are decoded in a worker thread, so a
                           large document does not hold up every other client
=========================  ==================================================================================

Request sizes (tenders per request, stream length, how far ahead) are market rules, published with the
market context and refused with 454 (:class:`~transactive.protocol.MarketConfig`); the body size is
``max_body`` (413); notices kept per party are bounded by :class:`~.notices.NoticeBoard`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

__all__ = ["DESCRIPTOR_RESERVE", "GuardedServer", "Limits", "RateLimiter", "raise_open_file_limit"]

log = logging.getLogger("transactive.vtn.limits")

#: file descriptors kept for everything but client connections (store, WAL, ledger, logs, the broker link)
DESCRIPTOR_RESERVE = 64


@dataclass(frozen=True, slots=True)
class Limits:
    """See the module docstring; every field has a ``vtn serve`` flag of the same name."""

    idle_timeout: float = 15.0
    body_timeout: float = 30.0
    #: None: from the open file limit (see :func:`raise_open_file_limit`)
    max_connections: int | None = None
    registrations_per_minute: float = 60.0
    registration_burst: int = 30
    decode_off_loop: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "body_timeout", "registrations_per_minute"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {self.max_connections}")
        if self.registration_burst < 1 or self.decode_off_loop < 0:
            raise ValueError("registration_burst must be at least 1 and decode_off_loop not negative")

    def connection_cap(self) -> int:
        """The connection cap in force: the given one, else the open file limit less the reserve."""
        if self.max_connections is not None:
            return self.max_connections
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return max(1, soft - DESCRIPTOR_RESERVE)


def raise_open_file_limit(target: int = 65_536) -> int:
    """Raise this process's soft open-file limit towards its hard limit (at most ``target``); the soft limit in
    force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(target, hard) if hard != resource.RLIM_INFINITY else target
    if wanted > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:  # not allowed here: keep what we have
            log.warning("cannot raise the open file limit to %d: %s", wanted, error)
    return soft


class RateLimiter:
    """A token bucket per key (a source address): ``rate`` per second, up to ``burst`` at once. Remembers at
    most ``keys`` keys (the least recently seen are forgotten: a forgotten key starts with a full bucket)."""

    def __init__(self, rate: float, burst: int, *, keys: int = 10_000,
                 clock: object = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._keys = keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0 when allowed, else the seconds until one is there."""
        now: float = self._clock()  # type: ignore[operator]
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self._keys:
            self._buckets.popitem(last=False)
        return wait


def _overloaded(retry_after: int) -> bytes:
    body = (b'{"tx:eiResponsePayload": {"ei:eiResponse": {"ei:responseCode": "503", '
            b'"ei:responseDescription": "the VTN is at its connection limit: try again shortly"}}}')
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Retry-After: " + str(retry_after).encode() + b"\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


class GuardedServer(web.Server):
    """aiohttp's low-level server with a connection cap: beyond ``cap`` open connections a new one gets a 503
    and is closed at once (see the module docstring)."""

    def __init__(self, *args: object, cap: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cap = cap
        #: connections turned away so far
        self.refused = 0

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        if len(self._connections) >= self.cap:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning("connection limit (%d) reached: %d connections turned away so far", self.cap,
                            self.refused)
            transport.write(_overloaded(1))
            transport.close()
            return
        super().connection_made(handler, transport)

