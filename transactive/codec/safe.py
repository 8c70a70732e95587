"""Hardened XML parsing: no DTDs, no entities, no network, bounded size and depth.

Everything that reaches the codecs from outside goes through :func:`parse_xml`; every failure is a
:class:`~transactive.errors.MalformedDocumentError` with an EI response code, never an lxml exception.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from transactive.errors import FieldError, MalformedDocumentError, ResponseCode

__all__ = ["MAX_BYTES", "MAX_DEPTH", "parse_xml"]

#: documents larger than this are refused before parsing (16 MiB)
MAX_BYTES = 16 * 1024 * 1024
#: deeper nesting than this is refused by libxml2 itself (without ``huge_tree``); real OpenADR and CTS
#: documents nest about 15 levels
MAX_DEPTH = 256

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse an untrusted document and return its root element."""
    if isinstance(data, str):
        data = data.encode("utf-8") if not data.lstrip().startswith("<?xml") else _strip_decl(data)
    if len(data) > MAX_BYTES:
        raise MalformedDocumentError(
            f"document is {len(data)} bytes, more than the {MAX_BYTES} allowed",
            response_code=ResponseCode.PAYLOAD_TOO_LARGE,
        )
    if b"<!DOCTYPE" in data or b"<!doctype" in data or b"<!ENTITY" in data:
        raise MalformedDocumentError(
            "document type declarations (DTDs) and entities are not allowed",
            errors=[FieldError("/", "DOCTYPE/ENTITY declaration")],
        )
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise MalformedDocumentError(
            f"not well-formed XML: {exc.msg}", errors=[FieldError("/", str(exc.msg), line)]
        ) from None
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise MalformedDocumentError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise MalformedDocumentError("empty document")
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:
        # the byte scan above misses a DTD in UTF-16/UTF-32 documents; libxml2 saw it
        raise MalformedDocumentError(
            "document type declarations (DTDs) and entities are not allowed",
            errors=[FieldError("/", "DOCTYPE/ENTITY declaration")],
        )
    return root


def _strip_decl(text: str) -> bytes:
    # a str carries no encoding: drop the declaration that may name one, encode as UTF-8
    end = text.find("?>")
    return text[end + 2 :].encode("utf-8") if end != -1 else text.encode("utf-8")
