"""``transactive ven run --protocol openadr3``: an OpenADR 3.1 VEN (the flags, then the run); see the
``ven run`` help for what it does."""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
from pathlib import Path
from typing import Any, TextIO

from transactive.cli._ven_common import CTS_ONLY, fail, grid_band, market_clock, say, stop_on_signals, tls_context

__all__ = ["run_openadr3"]

#: the flags of the other modes an OpenADR 3.1 VEN has no use for (their defaults, to tell whether they were given)
_NOT_OPENADR3 = {**{k: v for k, v in CTS_ONLY.items() if k != "grid_prices"},  # a band: openadr3 reads it too
                 "state_dir": None, "vtn_fingerprint": None, "sign_cert": None, "sign_key": None}


def _client_secret(value: str | None) -> str:
    """--client-secret SECRET or @FILE (the first line of FILE); ValueError naming the flag."""
    if not value:
        raise ValueError("--client-secret SECRET (or @FILE) is required with --protocol openadr3")
    if value.startswith("@"):
        try:
            value = Path(value[1:]).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"--client-secret {value}: cannot read ({getattr(error, 'strerror', None) or error})") \
                from None
        if not value:
            raise ValueError("--client-secret: the file is empty")
    return value


def run_openadr3(args: argparse.Namespace, device: Any) -> int:
    """``ven run --protocol openadr3``: check the flags (exit 2, naming the flag), then run the VEN."""
    for flag, default in _NOT_OPENADR3.items():
        if getattr(args, flag) != default:
            return fail(f"--{flag.replace('_', '-')} does not apply to --protocol openadr3", 2)
    try:
        if not args.client_id:
            raise ValueError("--client-id ID is required with --protocol openadr3")
        secret = _client_secret(args.client_secret)
        for flag in ("poll_seconds", "duration"):
            if getattr(args, flag) is not None and not getattr(args, flag) > 0:
                raise ValueError(f"--{flag.replace('_', '-')} must be positive")
        if not args.vtn.lower().startswith(("http://", "https://")):
            raise ValueError(f"--vtn: expected an http:// or https:// URL, not {args.vtn!r}")
        band = grid_band(args.grid_prices)
        tls = tls_context(args)
    except ValueError as error:  # CertificateError too: it names the file
        return fail(str(error), 2)
    try:
        return asyncio.run(_openadr3_main(args, device, secret, band, tls))
    except KeyboardInterrupt:  # pragma: no cover (the signal handler normally stops first)
        return 0


async def _openadr3_main(args: argparse.Namespace, personality: Any, secret: str, band: Any,
                         tls: ssl.SSLContext | None) -> int:
    from urllib.parse import urlsplit

    from transactive.ven.openadr3 import (
        Oa3AuthError,
        Oa3Behaviour,
        Oa3Client,
        Oa3ConnectionError,
        Oa3Error,
        Oa3VenRuntime,
    )
    from transactive.ven.openadr3.client import api_base
    from transactive.ven.openadr3.runtime import DEFAULT_POLL_SECONDS

    parts = urlsplit(args.vtn)
    clock = await market_clock(f"{parts.scheme}://{parts.netloc}", tls)
    ven_name = args.party or args.client_id
    out: TextIO | None = open(args.record, "a", encoding="utf-8") if args.record else None  # noqa: SIM115

    def record(fields: dict[str, Any]) -> None:
        if out is not None:
            out.write(json.dumps(fields) + "\n")
            out.flush()

    stop = stop_on_signals()
    base = api_base(args.vtn)
    client = Oa3Client(base, args.client_id, secret, tls=tls)
    runtime = Oa3VenRuntime(client, Oa3Behaviour(personality, band=band), ven_name=ven_name, clock=clock,
                            poll_seconds=args.poll_seconds or DEFAULT_POLL_SECONDS,
                            log=None if args.quiet else say, record=record)
    try:
        try:
            ven = await runtime.start()
        except Oa3AuthError as error:
            return fail(f"the VTN at {args.vtn} refused the credentials (--client-id {args.client_id!r}, "
                         f"--client-secret): {error}", 2)
        except Oa3ConnectionError as error:
            return fail(f"cannot reach the VTN at {args.vtn} ({error})", 2)
        if not args.quiet:
            say(f"{ven_name}: {personality.describe()}, OpenADR 3.1 ven {ven.id} of {base}, resource "
                f"{runtime.resource_name}")
        await runtime.run(stop, duration=args.duration)
    except Oa3AuthError as error:
        return fail(f"the VTN at {args.vtn} no longer accepts --client-id {args.client_id!r}: {error}", 1)
    except Oa3Error as error:
        return fail(f"the VTN refused: {error}", 1)
    finally:
        await client.close()
        if out is not None:
            out.close()
    return 0
