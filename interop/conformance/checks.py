"""Checks every exchanged document goes through, whatever the standard: well-formed, schema-valid against
the shipped XSDs; and the small assertion helpers cases are written with. A failed check raises
:class:`~.model.CaseFailed` naming the rule it broke and quoting what was wrong."""

from __future__ import annotations

from typing import NoReturn

from lxml import etree

from transactive.codec import parse_xml
from transactive.errors import ProtocolError
from transactive.interop.conformance.model import CaseFailed, Rule
from transactive.interop.conformance.rules import WELL_FORMED
from transactive.schemas import validate

__all__ = ["ensure", "fail", "schema_valid", "well_formed"]

#: at most this many schema errors are quoted in a failure
MAX_QUOTED_ERRORS = 5


def fail(rule: Rule, detail: str) -> NoReturn:
    raise CaseFailed(rule, detail)


def ensure(condition: object, rule: Rule, detail: str) -> None:
    """Fail ``rule`` with ``detail`` unless ``condition`` holds."""
    if not condition:
        raise CaseFailed(rule, detail)


def well_formed(document: bytes, what: str) -> etree._Element:
    """Parse ``document`` (an untrusted peer's bytes, with the codec's safe parser) or fail the XML rule."""
    if not document.strip():
        fail(WELL_FORMED, f"{what}: the body is empty where a document was expected")
    try:
        return parse_xml(document)
    except ProtocolError as exc:
        fail(WELL_FORMED, f"{what}: not a well-formed XML document: {exc.message}")


def schema_valid(root: etree._Element, schema: str, rule: Rule, what: str) -> None:
    """Validate against the shipped schema set ``schema`` (``oadr20b``, ``cts``, ...) or fail ``rule``,
    quoting the first errors with their lines and paths."""
    report = validate(root, schema)
    if report.valid:
        return
    quoted = "; ".join(f"line {e.line or '?'} {e.path}: {e.message}" for e in report.errors[:MAX_QUOTED_ERRORS])
    more = len(report.errors) - MAX_QUOTED_ERRORS
    fail(rule, f"{what} is not valid against {schema}: {quoted}" + (f" (and {more} more)" if more > 0 else ""))
