"""``transactive validate``: check documents against the shipped OASIS / OpenADR schemas."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from transactive.cli._io import UnreadableFile, looks_like_json, read_input
from transactive.codec import decode_json, decode_xml, encode_xml, parse_xml
from transactive.errors import FieldError, ProtocolError, UnknownMessageError
from transactive.model import Model
from transactive.schemas import SCHEMA_SETS, ValidationReport, detect, explain, validate

__all__ = ["add_parser", "check_document", "run"]

_EPILOG = """\
The standard is detected from the root element's namespace (OpenADR 2.0b, CTS rev 0.4, CTS 0.1,
xCal/WS-Calendar). JSON documents (the CTS JSON binding) are decoded, then their XML form is validated.
A document the schema accepts is also decoded as 'transactive convert' and the VTN read it: what the decoder
refuses (a duration of 10^20 hours, an end before its start, ...) makes it invalid too, its reason reported.
Documents with no message type in the library (a bare xCal calendar) are checked against the schema only.

examples:
  transactive validate oadr_event.xml
  transactive validate --json *.xml *.json > report.json
  transactive validate --explain tender.xml          detailed report from the xmlschema engine

exit codes: 0 all valid, 1 any invalid, 2 usage error or an unreadable file.
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="validate XML/JSON documents against the shipped schemas",
        description="Validate documents against the shipped OASIS / OpenADR XSDs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="documents to check ('-' reads standard input)")
    p.add_argument("--json", action="store_true", help="print a JSON array of reports instead of text")
    p.add_argument(
        "--schema",
        choices=sorted(SCHEMA_SETS),
        help="validate against this schema set instead of detecting it from the namespace",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="for invalid documents, add the detailed reasons of the xmlschema engine (slower)",
    )
    p.set_defaults(run=run)


def check_document(data: bytes, schema: str | None = None, detailed: bool = False) -> ValidationReport:
    """Validate one document's bytes (XML or JSON) and report."""
    if looks_like_json(data):
        try:
            message: Model = decode_json(data)
        except ProtocolError as exc:
            errors = exc.errors or (FieldError("/", exc.message),)
            family = None
            return ValidationReport(False, family, tuple(errors))
        data = encode_xml(message)
    try:
        root = parse_xml(data)
    except ProtocolError as exc:
        errors = exc.errors or (FieldError("/", exc.message),)
        return ValidationReport(False, schema, tuple(FieldError(e.path, exc.message, e.line) for e in errors))
    report = validate(root, schema)
    if report.valid:
        try:
            decode_xml(data)
        except UnknownMessageError:  # no message type for it here: the schema is all there is to check
            pass
        except ProtocolError as exc:  # what convert and the VTN would refuse is not valid either
            errors = exc.errors or (FieldError("/", exc.message),)
            return ValidationReport(False, report.schema, tuple(
                FieldError(e.path, f"the decoder refuses it: {e.message}", e.line) for e in errors))
    if detailed and not report.valid and (schema or detect(root)):
        extra = tuple(FieldError("/", text) for text in explain(root, schema))
        report = ValidationReport(False, report.schema, report.errors + extra)
    return report


def run(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    unreadable = False
    for path in args.paths:
        try:
            data = read_input(path)
        except UnreadableFile as exc:
            print(f"transactive validate: {exc}", file=sys.stderr)
            unreadable = True
            continue
        report = check_document(data, args.schema, args.explain)
        results.append({"path": path, **report.as_dict()})
        if not args.json:
            _print_text(path, report)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if unreadable:
        return 2
    return 0 if all(r["valid"] for r in results) else 1


def _print_text(path: str, report: ValidationReport) -> None:
    schema = f" ({SCHEMA_SETS[report.schema].title})" if report.schema in SCHEMA_SETS else ""
    if report.valid:
        print(f"{path}: valid{schema}")
        return
    print(f"{path}: invalid{schema}")
    for err in report.errors:
        where = f"line {err.line}" if err.line else "line ?"
        print(f"  {where}: {err.path}: {err.message}")

