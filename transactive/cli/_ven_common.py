"""What the VEN commands share (``ven run`` in its three protocols, ``community run``): the one-line failure,
the TLS flags, the VTN's ``GET /health`` and the market clock it publishes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["CTS_ONLY", "fail", "grid_band", "health_clock", "market_clock", "parse_time", "say", "stop_on_signals",
           "tls_context", "vtn_health"]

#: the flags of the CTS mode an OpenADR VEN has no use for (their defaults, to tell whether they were given)
CTS_ONLY = {"strategy": "fixed", "intervals": None, "start": None, "sim_start": None, "grid_prices": None,
            "wire": "json", "market": None, "vtn_key": None}


def fail(message: str, code: int) -> int:
    """Print ``message`` as ``ven run``'s one-line error; return ``code``."""
    print(f"transactive ven run: {message}", file=sys.stderr)
    return code


def tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The client context the --tls-* flags ask for (None without them); ValueError for flags that do not go
    together, CertificateError (a ValueError) for a file that cannot be used."""
    from transactive.transport.tls import client_context

    if args.tls_ca is None and args.tls_cert is None and args.tls_key is None:
        return None
    if not args.vtn.lower().startswith("https://"):
        raise ValueError(f"--tls-* are for an https:// VTN, not {args.vtn}")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    return client_context(args.tls_ca, cert=args.tls_cert, key=args.tls_key)


async def vtn_health(url: str, tls: ssl.SSLContext | None) -> dict[str, Any] | None:
    """The VTN's GET /health, None if it has none; ConnectionError if it cannot be reached."""
    import aiohttp

    from transactive.transport.http import https_failure

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                session.get(url.rstrip("/") + "/health", ssl=tls or True) as response:
            if response.status != 200:
                return None
            data: dict[str, Any] = await response.json()
            return data
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        why = https_failure(error, https=url.lower().startswith("https://"))
        raise ConnectionError(why or f"{error.__class__.__name__}: {error}") from error


def health_clock(health: dict[str, Any] | None) -> tuple[Any, float]:
    """(clock, speed) of the market a VTN's ``GET /health`` describes: its market clock and market seconds per
    wall-clock second when it runs faster than real time (``interval_seconds``), else the wall clock and 1."""
    from transactive.protocol.clock import MarketClock, TimeMapping, system_clock

    if not health or not health.get("interval_seconds") or not health.get("market_time"):
        return system_clock, 1.0
    try:
        speed = float(health["interval"]) / float(health["interval_seconds"])
        return MarketClock(TimeMapping(system_clock(), datetime.fromisoformat(health["market_time"]), speed)), speed
    except (TypeError, ValueError, ZeroDivisionError):
        return system_clock, 1.0


async def market_clock(url: str, tls: ssl.SSLContext | None) -> Any:
    """The clock an OpenADR VEN reads event times against (:func:`health_clock`). Any other OpenADR VTN has no
    ``GET /health``, and an unreachable one is retried by the client itself: the wall clock."""
    from transactive.protocol.clock import system_clock

    try:
        health = await vtn_health(url, tls)
    except ConnectionError:
        return system_clock
    return health_clock(health)[0]


def parse_time(text: str | None, flag: str) -> datetime | None:
    """An ISO time with a zone given to ``flag``, in UTC (None for None); ``ValueError`` naming the flag."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{flag}: not an ISO time: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"{flag}: give a time zone (e.g. 2026-06-21T00:00:00Z)")
    return value.astimezone(UTC)


def grid_band(text: str | None) -> Any:
    """``--grid-prices BUY,SELL`` as a :class:`~transactive.market.ReservePrices` (None for None);
    ``ValueError`` naming the flag."""
    from transactive.market import ReservePrices

    if not text:
        return None
    try:
        buy, sell = (float(x) for x in text.split(","))
        return ReservePrices(grid_buy=buy, grid_sell=sell)
    except ValueError:  # a wrong count, not numbers, or sell >= buy (MarketError is a ValueError)
        raise ValueError(f"--grid-prices: expected BUY,SELL with SELL < BUY, not {text!r}") from None


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (where the loop can handle signals): how a run is stopped cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def say(line: str) -> None:
    """A progress line, flushed at once (a supervisor reads it as it comes)."""
    print(line, flush=True)
