"""XML wire format: ``encode_xml(model) -> bytes`` and ``decode_xml(bytes) -> model``.

Encoding writes text directly from the compiled plan (no intermediate tree); decoding parses with the
hardened parser, walks the tree along the plan into plain field dicts, and lets pydantic-core build and
validate the whole model at once. ``decode_xml(encode_xml(m)) == m`` for every message.
"""

from __future__ import annotations

from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from transactive.codec.errors import field_errors
from transactive.codec.plan import Leaf, Node, Plan, escape_attr, plan_for
from transactive.codec.registry import envelope_of, lookup_clark
from transactive.codec.safe import parse_xml
from transactive.errors import (
    FieldError,
    InvalidMessageError,
    LocalProtocolError,
    UnknownMessageError,
)
from transactive.model.base import Model

__all__ = ["decode_element", "decode_xml", "encode_xml"]

M = TypeVar("M", bound=Model)
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


# ----------------------------------------------------------------------------------------- encoding
def encode_xml(message: Model, *, declaration: bool = True) -> bytes:
    """The message as a UTF-8 XML document (with its envelope, e.g. OpenADR's ``oadrPayload``)."""
    cls = type(message)
    if not cls.__tag__:
        raise LocalProtocolError(f"{cls.__name__} is not a message (it has no element name)")
    plan = plan_for(cls)
    out: list[str] = [_DECL] if declaration else []
    ns = "".join(f' xmlns:{p}="{escape_attr(u)}"' for p, u in sorted(plan.namespaces.items()))
    opened = [cls.__tag__]
    try:
        if cls.__envelope__:
            out.append(f"<{cls.__envelope__[0]}{ns}>")
            out.extend(f"<{q}>" for q in cls.__envelope__[1:])
            ns = ""
        _encode_element(plan, message, cls.__tag__, ns, out)
    except ValueError as exc:
        raise LocalProtocolError(f"cannot encode {cls.__name__}: {exc}") from None
    out.extend(f"</{q}>" for q in reversed(cls.__envelope__))
    del opened
    return "".join(out).encode("utf-8")


def _encode_element(plan: Plan, obj: Any, qname: str, extra: str, out: list[str]) -> None:
    attrs = extra
    for leaf in plan.attrs:
        value = getattr(obj, leaf.name)
        if value is not None:
            attrs += f' {leaf.qname}="{leaf.fmt(value)}"'
    start = len(out)
    out.append(f"<{qname}{attrs}>")
    if plan.text is not None:
        value = getattr(obj, plan.text.name)
        if value is not None:
            out.append(plan.text.fmt(value))
    _encode_children(plan.root.children, obj, out)
    if len(out) == start + 1:
        out[start] = f"<{qname}{attrs}/>"
    else:
        out.append(f"</{qname}>")


def _encode_children(children: list[Leaf | Node], obj: Any, out: list[str]) -> None:
    for item in children:
        if item.is_node:
            assert isinstance(item, Node)
            start = len(out)
            out.append(f"<{item.qname}>")
            _encode_children(item.children, obj, out)
            if len(out) == start + 1:
                out.pop()
            else:
                out.append(f"</{item.qname}>")
            continue
        assert isinstance(item, Leaf)
        value = getattr(obj, item.name)
        if value is None:
            continue
        values = value if item.repeated else (value,)
        kind = item.kind
        if kind == "scalar":
            q = item.qname
            fmt = item.fmt
            for v in values:
                out.append(f"<{q}>{fmt(v)}</{q}>")
        elif kind == "model":
            assert item.model is not None
            sub = plan_for(item.model)
            for v in values:
                _encode_element(sub, v, item.qname, "", out)
        else:  # choice
            for v in values:
                names = item.choice_names.get(type(v))
                if names is None:
                    raise ValueError(f"{type(v).__name__} is not an allowed choice for {item.name}")
                _encode_element(plan_for(type(v)), v, names[0], "", out)


# ----------------------------------------------------------------------------------------- decoding
def decode_xml(data: bytes | str, cls: type[M] | None = None) -> M:
    """Decode a document into its model. With ``cls``, insist on that message type.

    Raises :class:`~transactive.errors.MalformedDocumentError` (not XML, unsafe),
    :class:`~transactive.errors.UnknownMessageError` (a root we do not speak) or
    :class:`~transactive.errors.InvalidMessageError` (a field missing or wrong; ``errors`` names it).
    """
    root = parse_xml(data)
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
                f"{_pretty(element)} must hold exactly one {clark}",
                errors=[FieldError(_path_of(element), f"expected one {clark}", element.sourceline)],
            )
        element = children[0]
    children = [c for c in element if isinstance(c.tag, str)]
    if len(children) != 1:
        raise InvalidMessageError(
            f"{_pretty(element)} must hold exactly one message",
            errors=[FieldError(_path_of(element), "expected exactly one message element", element.sourceline)],
        )
    return children[0]


def decode_element(element: etree._Element, cls: type[M] | None = None) -> M:
    """Decode an already parsed (trusted-parser) element into its message model."""
    tag = element.tag
    found = lookup_clark(tag) if isinstance(tag, str) else None
    if found is None:
        raise UnknownMessageError(
            f"unknown message element {tag}",
            errors=[FieldError("/" + _pretty(element), "not a message transactive knows", element.sourceline)],
        )
    if cls is not None and found is not cls:
        raise UnknownMessageError(
            f"expected {cls.__tag__}, got {found.__tag__}",
            errors=[FieldError("/" + _pretty(element), f"expected {cls.__tag__}", element.sourceline)],
        )
    plan = plan_for(found)
    fields = _decode_fields(plan, element)
    try:
        return found.model_validate(fields)  # type: ignore[return-value]
    except ValidationError as exc:
        errors = field_errors(found, exc, "/" + (found.__tag__ or ""))
        raise InvalidMessageError(_summary(found, errors), errors=errors) from None


def _summary(cls: type[Model], errors: list[FieldError]) -> str:
    first = errors[0] if errors else None
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid {cls.__tag__}: {first}{more}" if first else f"invalid {cls.__tag__}"


def _decode_fields(plan: Plan, element: etree._Element) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if element.attrib:
        by_clark = plan.attr_by_clark
        for key, value in element.attrib.items():
            leaf = by_clark.get(key)
            if leaf is not None:
                fields[leaf.name] = value.strip() if leaf.strip else value
            elif not key.startswith(_XSI):
                raise _unexpected(element, f"attribute {key} is not allowed here")
    if plan.text is not None:
        text = element.text or ""
        fields[plan.text.name] = text.strip() if plan.text.strip else text
    _decode_into(plan.root, element, fields)
    return fields


def _decode_into(node: Node, element: etree._Element, fields: dict[str, Any]) -> None:
    by_clark = node.by_clark
    for child in element:
        tag = child.tag
        if tag.__class__ is not str:
            continue
        item = by_clark.get(tag)
        if item is None:
            raise _unexpected(child, f"element {_pretty(child)} is not allowed in {_pretty(element)}")
        if item.is_node:
            assert isinstance(item, Node)
            _decode_into(item, child, fields)
            continue
        assert isinstance(item, Leaf)
        kind = item.kind
        if kind == "scalar":
            text = child.text or ""
            value: Any = text.strip() if item.strip else text
        elif kind == "model":
            assert item.model is not None
            value = _decode_fields(plan_for(item.model), child)
        else:
            member = item.choices[tag]
            sub = _decode_fields(plan_for(member), child)
            try:
                value = member.model_validate(sub)
            except ValidationError as exc:
                errors = field_errors(member, exc, _path_of(child), child.sourceline)
                raise InvalidMessageError(_summary(member, errors), errors=errors) from None
        name = item.name
        if item.repeated:
            existing = fields.get(name)
            if existing is None:
                fields[name] = [value]
            else:
                existing.append(value)
        elif name in fields:
            raise _unexpected(child, f"{_pretty(child)} may appear only once here")
        else:
            fields[name] = value


def _unexpected(element: etree._Element, message: str) -> InvalidMessageError:
    return InvalidMessageError(message, errors=[FieldError(_path_of(element), message, element.sourceline)])


def _pretty(element: etree._Element) -> str:
    tag = element.tag if isinstance(element.tag, str) else "?"
    local = etree.QName(tag).localname if tag.startswith("{") else tag
    return f"{element.prefix}:{local}" if element.prefix else local


def _path_of(element: etree._Element) -> str:
    parts = []
    el: etree._Element | None = element
    while el is not None:
        parent = el.getparent()
        name = _pretty(el)
        if parent is not None:
            same = [c for c in parent if c.tag == el.tag]
            if len(same) > 1:
                name += f"[{same.index(el) + 1}]"
        parts.append(name)
        el = parent
    return "/" + "/".join(reversed(parts))
