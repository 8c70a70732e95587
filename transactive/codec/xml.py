"""XML wire format: ``encode_xml(model) -> bytes`` and ``decode_xml(bytes) -> model``.

Encoding writes text directly from the compiled plan (no intermediate tree); decoding parses with the
hardened parser, walks the tree along the plan into plain field dicts, and lets pydantic-core build and
validate the whole model at once. ``decode_xml(encode_xml(m)) == m`` for every message.
"""

from __future__ import annotations

from typing import TypeVar

from lxml import etree

from transactive._xmlutil import element_path, line_of, pretty_name
from transactive.codec.gen_xml import decoder_of, encoder_of
from transactive.codec.plan import escape_attr, plan_for
from transactive.codec.registry import envelope_of, lookup_clark
from transactive.codec.safe import parse_xml
from transactive.codec.xml_errors import validate_member
from transactive.errors import (
    FieldError,
    InvalidMessageError,
    LocalProtocolError,
    UnknownMessageError,
)
from transactive.model.base import Model
from transactive.schemas import validate

__all__ = ["decode_element", "decode_xml", "encode_xml"]

M = TypeVar("M", bound=Model)
_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
#: the root's namespace declarations, per message class
_NS_DECLS: dict[type[Model], str] = {}


# ----------------------------------------------------------------------------------------- encoding
def encode_xml(message: Model, *, declaration: bool = True) -> bytes:
    """The message as a UTF-8 XML document (with its envelope, e.g. OpenADR's ``oadrPayload``)."""
    cls = type(message)
    if not cls.__tag__:
        raise LocalProtocolError(f"{cls.__name__} is not a message (it has no element name)")
    out: list[str] = [_DECL] if declaration else []
    ns = _NS_DECLS.get(cls)
    if ns is None:
        ns = _NS_DECLS[cls] = "".join(f' xmlns:{p}="{escape_attr(u)}"'
                                      for p, u in sorted(plan_for(cls).namespaces.items()))
    try:
        if cls.__envelope__:
            out.append(f"<{cls.__envelope__[0]}{ns}>")
            out.extend(f"<{q}>" for q in cls.__envelope__[1:])
            ns = ""
        encoder_of(cls)(message, out, cls.__tag__, ns)
    except ValueError as exc:
        raise LocalProtocolError(f"cannot encode {cls.__name__}: {exc}") from None
    out.extend(f"</{q}>" for q in reversed(cls.__envelope__))
    return "".join(out).encode("utf-8")


# ----------------------------------------------------------------------------------------- decoding
def decode_xml(data: bytes | str, cls: type[M] | None = None, *, schema_validate: bool = False) -> M:
    """Decode a document into its model. With ``cls``, insist on that message type.

    Decoding always checks every field (presence, type, range, enumeration) and the element structure;
    ``schema_validate=True`` also validates the document against its shipped XSD first (libxml2), and
    reports schema errors with their line and element path.

    Raises :class:`~transactive.errors.MalformedDocumentError` (not XML, unsafe),
    :class:`~transactive.errors.UnknownMessageError` (a root we do not speak) or
    :class:`~transactive.errors.InvalidMessageError` (a field missing or wrong; ``errors`` names it).
    """
    root = parse_xml(data)
    if schema_validate:
        report = validate(root)
        if not report.valid:
            first = report.errors[0] if report.errors else None
            raise InvalidMessageError(f"not valid against the {report.schema} schema: {first}", errors=report.errors)
    element = _unwrap(root)
    return decode_element(element, cls)


def _unwrap(root: etree._Element) -> etree._Element:
    envelope = envelope_of(root.tag) if isinstance(root.tag, str) else None
    if envelope is None:
        return root
    element = root
    for clark in envelope[1:]:
        children = [c for c in element if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag != clark:
            raise InvalidMessageError(
                f"{pretty_name(element)} must hold exactly one {clark}",
                errors=[FieldError(element_path(element), f"expected one {clark}", line_of(element))],
            )
        element = children[0]
    children = [c for c in element if isinstance(c.tag, str)]
    if len(children) != 1:
        raise InvalidMessageError(
            f"{pretty_name(element)} must hold exactly one message",
            errors=[FieldError(element_path(element), "expected exactly one message element", line_of(element))],
        )
    return children[0]


def decode_element(element: etree._Element, cls: type[M] | None = None) -> M:
    """Decode an already parsed (trusted-parser) element into its message model."""
    tag = element.tag
    found = lookup_clark(tag) if isinstance(tag, str) else None
    if found is None:
        raise UnknownMessageError(
            f"unknown message element {tag}",
            errors=[FieldError("/" + pretty_name(element), "not a message transactive knows", line_of(element))],
        )
    if cls is not None and found is not cls:
        raise UnknownMessageError(
            f"expected {cls.__tag__}, got {found.__tag__}",
            errors=[FieldError("/" + pretty_name(element), f"expected {cls.__tag__}", line_of(element))],
        )
    return validate_member(found, decoder_of(found)(element), element)  # type: ignore[return-value]


