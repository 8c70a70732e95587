"""Validation against the shipped XSD sets (``transactive/xsd``, copied from the project's ``schemas/``).

Two engines, one answer:

* :func:`validate` — the fast path, libxml2 through ``lxml.etree.XMLSchema`` (compiled once, cached);
* :func:`explain` — a detailed, human-readable conformance report through ``xmlschema``
  (slower; use it when something is invalid and a person has to understand why).

The standard is detected from the root element's namespace (:func:`detect`). The CTS rev 0.4 set is
loaded through its ``cts-load-order.xsd`` driver (see ``SOURCES.md``: the upstream files do not load on
their own). Set ``cts`` is the published set with two errata applied (``cts/xsd-errata``: the EMIX
products join the ``emix:emixBase`` substitution group, and the registration types are not abstract);
without them no tender, quote or transaction can be valid. ``cts-upstream`` is the set as published.

The OpenADR 3.1.0 OpenAPI document (JSON bodies, not XML) has its own module: :mod:`transactive.schemas.openadr3`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from lxml import etree

from transactive._xmlutil import element_path, line_of
from transactive.errors import FieldError, SchemaError

__all__ = [
    "SCHEMA_SETS",
    "SchemaSet",
    "ValidationReport",
    "detect",
    "explain",
    "lxml_schema",
    "schema_path",
    "validate",
]


@dataclass(frozen=True, slots=True)
class SchemaSet:
    key: str
    title: str
    entry: str  # path below transactive/xsd
    namespaces: tuple[str, ...]
    #: chosen automatically for documents in these namespaces (False: only when asked for by name)
    detect: bool = True


_CTS04_NAMESPACES = (
    "http://docs.oasis-open.org/ns/energyinterop/201110/payloads/cts.04",
    "http://docs.oasis-open.org/ns/energyinterop/201110/cts.04",
    "http://docs.oasis-open.org/ns/emix/2011/06/cts.04",
    "http://docs.oasis-open.org/ns/emix/2011/06/power/cts.04",
    "http://docs.oasis-open.org/ws-calendar/ns/min-xcal/2015/12",
    "http://docs.oasis-open.org/ws-calendar/ns/streams/201606",
)
SCHEMA_SETS: dict[str, SchemaSet] = {
    s.key: s
    for s in (
        SchemaSet(
            "oadr20b",
            "OpenADR 2.0b",
            "oadr20b/oadr_20b.xsd",
            (
                "http://openadr.org/oadr-2.0b/2012/07",
                "http://docs.oasis-open.org/ns/energyinterop/201110",
                "http://docs.oasis-open.org/ns/energyinterop/201110/payloads",
                "http://docs.oasis-open.org/ns/emix/2011/06",
                "http://docs.oasis-open.org/ns/emix/2011/06/power",
            ),
        ),
        SchemaSet(
            "cts",
            "Common Transactive Services rev 0.4, with the errata of schemas/SOURCES.md",
            "cts/xsd-errata/cts-load-order.xsd",
            _CTS04_NAMESPACES,
        ),
        SchemaSet(
            "cts-upstream",
            "Common Transactive Services rev 0.4, as published (tenders, quotes, transactions cannot validate)",
            "cts/xsd/cts-load-order.xsd",
            _CTS04_NAMESPACES,
            detect=False,
        ),
        SchemaSet(
            "cts01",
            "Common Transactive Services v0.1 (NIST CTS agents)",
            "cts01-nist/EiPayloads.xsd",
            (
                "http://docs.oasis-open.org/ns/energyinterop/201110/payloads/cts.01",
                "http://docs.oasis-open.org/ns/energyinterop/201110/cts.01",
                "http://docs.oasis-open.org/ns/emix/2011/06/cts.01",
                "http://docs.oasis-open.org/ns/emix/2011/06/power/cts.01",
            ),
        ),
        SchemaSet(
            "cts01-enroll",
            "Common Transactive Services v0.1 enrollment",
            "cts01-nist/EiEnrollment.xsd",
            ("http://docs.oasis-open.org/ns/energyinterop/201110/enroll/cts.01",),
        ),
        SchemaSet(
            "wscalendar",
            "iCalendar in XML (RFC 6321) with the WS-Calendar 1.0 extensions",
            "wscalendar10-xcal-bedework/iCalendar.xsd",
            ("urn:ietf:params:xml:ns:icalendar-2.0",),
        ),
    )
}
_BY_NAMESPACE = {ns: s.key for s in SCHEMA_SETS.values() if s.detect for ns in s.namespaces}
_LOCK = threading.Lock()


def schema_path(key: str) -> Path:
    """The file system path of a schema set's entry XSD."""
    try:
        entry = SCHEMA_SETS[key].entry
    except KeyError:
        raise SchemaError(f"unknown schema set {key!r}; known: {', '.join(SCHEMA_SETS)}") from None
    path = Path(str(resources.files("transactive") / "xsd" / entry))
    if not path.is_file():
        raise SchemaError(f"schema file {path} is missing: the transactive installation is incomplete")
    return path


def detect(root: etree._Element) -> str | None:
    """The schema set a document belongs to, from its root element's namespace (None if unknown)."""
    tag = root.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return _BY_NAMESPACE.get(tag[1:].split("}", 1)[0])


@cache
def lxml_schema(key: str) -> etree.XMLSchema:
    """The compiled libxml2 schema of a set (loaded once; never touches the network)."""
    path = schema_path(key)
    with _LOCK:
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        try:
            return etree.XMLSchema(etree.parse(str(path), parser))
        except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
            raise SchemaError(f"cannot load schema {path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one document."""

    valid: bool
    schema: str | None
    errors: tuple[FieldError, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "schema": self.schema,
            "errors": [{"line": e.line, "path": e.path, "message": e.message} for e in self.errors],
        }


def validate(document: etree._Element | etree._ElementTree, schema: str | None = None) -> ValidationReport:
    """Validate a parsed document with libxml2 (the fast path).

    ``schema`` names a set from :data:`SCHEMA_SETS`; by default it is detected from the root namespace.
    """
    root = document.getroot() if isinstance(document, etree._ElementTree) else document
    key = schema or detect(root)
    if key is None:
        ns = etree.QName(root).namespace if isinstance(root.tag, str) else None
        return ValidationReport(
            False, None, (FieldError("/" + _local(root), f"no shipped schema for namespace {ns!r}", line_of(root)),)
        )
    xsd = lxml_schema(key)
    if xsd.validate(root):
        return ValidationReport(True, key, ())
    log = cast("list[Any]", xsd.error_log)
    errors = tuple(FieldError(_prefixed_path(root, e.path), _clean(e.message), e.line or None) for e in log)
    return ValidationReport(False, key, errors)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else "?"


def _prefixed_path(root: etree._Element, xpath: str | None) -> str:
    """libxml2 reports paths like ``/*/*[2]/*``; name the elements with their prefixes instead."""
    if not xpath:
        return "/"
    try:
        found = root.getroottree().xpath(xpath)
    except etree.XPathError:
        return xpath
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return xpath
    return element_path(found[0])


def _clean(message: str) -> str:
    # libxml2 writes "{uri}local" names; keep the message but shorten the namespace noise
    out = message
    for ns in sorted(_BY_NAMESPACE, key=len, reverse=True):
        out = out.replace("{" + ns + "}", "")
    return out


@cache
def _xmlschema(key: str) -> Any:
    import xmlschema  # slow to import: only for detailed reports

    return xmlschema.XMLSchema(str(schema_path(key)), allow="local")


def explain(document: etree._Element | etree._ElementTree, schema: str | None = None) -> list[str]:
    """A detailed conformance report (one paragraph per error) from the ``xmlschema`` engine."""
    root = document.getroot() if isinstance(document, etree._ElementTree) else document
    key = schema or detect(root)
    if key is None:
        return [f"no shipped schema for the root element {root.tag}"]
    xs = _xmlschema(key)
    return [str(err) for err in xs.iter_errors(root)]
