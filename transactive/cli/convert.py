"""``transactive convert``: the same message in the other wire format (XML <-> JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from transactive.cli._io import UnreadableFile, looks_like_json, read_input
from transactive.codec import decode_json, decode_xml, encode_json, encode_xml
from transactive.errors import ProtocolError
from transactive.model import Model

__all__ = ["add_parser", "run"]

_EPILOG = """\
The input format is detected (JSON starts with '{'). Converting checks the message on the way: a
document with a missing or wrong field is refused with the field's path and its EI response code.

examples:
  transactive convert tender.xml --to json
  transactive convert event.json --to xml -o event.xml

exit codes: 0 converted, 1 invalid input, 2 usage error or unreadable file.
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a message between XML and JSON",
        description="Convert one message between its XML and JSON wire formats.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="the message to convert ('-' reads standard input)")
    p.add_argument("--to", required=True, choices=("json", "xml"), help="the wire format to write")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        data = read_input(args.path)
    except UnreadableFile as exc:
        print(f"transactive convert: {exc}", file=sys.stderr)
        return 2
    try:
        message: Model = decode_json(data) if looks_like_json(data) else decode_xml(data)
    except ProtocolError as exc:
        print(f"transactive convert: {args.path}: {exc}", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    out = encode_json(message, pretty=True) + b"\n" if args.to == "json" else encode_xml(message) + b"\n"
    if args.output:
        try:
            Path(args.output).write_bytes(out)
        except OSError as exc:
            print(f"transactive convert: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    else:
        sys.stdout.buffer.write(out)
    return 0
