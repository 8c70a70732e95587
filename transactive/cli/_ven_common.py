"""What the VEN commands share (``ven run`` in its three protocols, ``community run``): the one-line failure,
the TLS flags, the VTN's ``GET /health`` and the market clock it publishes."""

from __future__ import annotations

import argparse
import ssl
import sys
from datetime import datetime
from typing import Any

__all__ = ["CTS_ONLY", "fail", "market_clock", "say", "tls_context", "vtn_health"]

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


async def market_clock(url: str, tls: ssl.SSLContext | None) -> Any:
    """The clock an OpenADR VEN reads event times against: the wall clock, or the market clock of a
    transactive VTN that runs faster than real time (a simulation: its ``GET /health`` says so). Any other
    OpenADR VTN has no such resource, and an unreachable one is retried by the client itself."""
    from transactive.protocol.clock import MarketClock, TimeMapping, system_clock

    try:
        health = await vtn_health(url, tls)
    except ConnectionError:
        return system_clock
    if not health or not health.get("interval_seconds") or not health.get("market_time"):
        return system_clock
    try:
        speed = float(health["interval"]) / float(health["interval_seconds"])
        return MarketClock(TimeMapping(system_clock(), datetime.fromisoformat(health["market_time"]), speed))
    except (TypeError, ValueError, ZeroDivisionError):
        return system_clock


def say(line: str) -> None:
    """A progress line, flushed at once (a supervisor reads it as it comes)."""
    print(line, flush=True)
