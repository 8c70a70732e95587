"""``transactive discover``: the markets (VTNs) announced over DNS-SD (mDNS) on this network."""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import sys
from typing import Any

from transactive.cli.vtn import _OneLineParser

__all__ = ["add_parser", "run"]

PROG = "transactive discover"

_EPILOG = """\
Listens for TIMEOUT seconds for VTNs announcing _transactive._tcp (started with 'transactive vtn serve
--announce') and OpenADR 3 VTNs announcing _openadr3._tcp, and lists each market once (by URL), sorted by
name. An announcement whose TXT record cannot be read is left out with one line on standard error naming
the TXT key at fault. Multicast DNS is unauthenticated: anyone on the link can announce (docs/discovery.md).

output: a table (name, URL, market context, protocols); --json prints a list of objects with the keys
"name", "url", "market_context", "protocols", "interval_seconds", "currency", "vtn_key", "openadr3_url",
"host", "port", "addresses" (null where not announced).

examples:
  transactive discover
  transactive discover --json --timeout 5
  transactive discover --interface 127.0.0.1          markets announced on this machine's loopback only

exit codes: 0 success (also when no market answered: an empty list, and a line on standard error in table
mode), 1 mDNS cannot run here (no usable interface, zeroconf missing), 2 usage error.
"""


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= 60):
        raise argparse.ArgumentTypeError(f"give more than 0 and at most 60 seconds, not {text!r}")
    return value


def _interface(text: str) -> str:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address of this machine: {text!r}") from None
    return str(address)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("discover", help="list the markets (VTNs) announced over DNS-SD (mDNS) on this network",
                       description="List the markets announced over DNS-SD (multicast DNS).", epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.__class__ = _OneLineParser  # a usage error is one line on standard error, as for 'transactive vtn ...'
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--timeout", type=_timeout, default=3.0, metavar="S", help="seconds to listen (default 3)")
    p.add_argument("--interface", type=_interface, action="append", metavar="ADDRESS",
                   help="listen on the interface holding this IPv4 address only (repeatable; default: all)")
    p.set_defaults(run=run)


def _table(rows: list[dict[str, Any]]) -> str:
    columns = ("name", "url", "market_context", "protocols")
    cells = [[str(c).upper() for c in columns]] + [
        [row["name"], row["url"], row["market_context"] or "-", ",".join(row["protocols"])] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
                   for line in cells)


def run(args: argparse.Namespace) -> int:
    from transactive.protocol.discovery import DiscoveryError, browse_with_problems

    try:
        markets, problems = browse_with_problems(args.timeout, args.interface)
    except DiscoveryError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"{PROG}: left out {problem}", file=sys.stderr)
    rows = [m.to_json() for m in markets]
    if args.json:
        print(json.dumps(rows))
    elif rows:
        sys.stdout.write(_table(rows))
    else:
        print(f"{PROG}: no market answered within {args.timeout:g} s", file=sys.stderr)
    return 0
