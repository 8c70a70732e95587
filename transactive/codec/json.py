"""JSON wire format, following the CTS JSON binding (the XMLSpy XML-to-JSON convention).

The JSON form mirrors the XML form element for element, so one plan serves both:

* a document is ``{"<prefix>:<message>": {...}}``; keys are the prefixed element names of the family
  (``"pyld:requestID"``, ``"ei:eiTender"``), always with the family's fixed prefixes;
* an element that repeats (``maxOccurs > 1``) is an array; wrappers are nested objects;
* attributes are ``"@name"`` keys, an element's own text beside attributes is ``"$"``;
* simple values are JSON strings, numbers or booleans; decimals (prices) are numbers when a double
  holds them exactly, else strings; date-times and durations are their XML text;
* a member of a substitution group appears under its own element name (``"emix:product"``), not
  under the abstract head that the XMLSpy-generated CTS JSON Schema names (``"emix:emixBase"``);
* OpenADR's XML envelope (``oadrPayload``/``oadrSignedObject``) is an XML-signature artifact and is
  not part of the JSON form.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from transactive.codec._gen import json_decoder_of, json_encoder_of
from transactive.codec.errors import field_errors
from transactive.codec.json_values import MAX_JSON_BYTES, MAX_JSON_DEPTH, member_error, path_error, scalar_value
from transactive.codec.plan import Leaf, Node, Plan, plan_for
from transactive.codec.registry import lookup_json
from transactive.errors import (
    FieldError,
    InvalidMessageError,
    LocalProtocolError,
    MalformedDocumentError,
    UnknownMessageError,
)
from transactive.model.base import Model

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "decode_json", "encode_json", "from_json_obj", "to_json_obj"]

M = TypeVar("M", bound=Model)


def to_json_obj(message: Model) -> dict[str, Any]:
    """The message as a JSON-ready dict (``{"pfx:message": {...}}``), a new one on every call."""
    result: dict[str, Any] = orjson.loads(encode_json(message))
    return result


def _json_obj(message: Model) -> dict[str, Any]:
    """The message as a dict for ``orjson.dumps`` (may hold the kept text of pinned parts)."""
    cls = type(message)
    if not cls.__tag__:
        raise LocalProtocolError(f"{cls.__name__} is not a message (it has no element name)")
    try:
        return {cls.__tag__: json_encoder_of(cls)(message)}
    except ValueError as exc:
        raise LocalProtocolError(f"cannot encode {cls.__name__}: {exc}") from None


def encode_json(message: Model, *, pretty: bool = False) -> bytes:
    """The message as UTF-8 JSON text (compact; ``pretty=True`` indents by two spaces)."""
    # str values were checked for characters XML cannot carry (lone surrogates among them): UTF-8 is safe
    text = orjson.dumps(_json_obj(message))
    # kept text of pinned parts is compact: indent the whole document from the parsed text
    return orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2) if pretty else text


def decode_json(data: bytes | str, cls: type[M] | None = None) -> M:
    """Decode a JSON document into its message model (errors as for :func:`decode_xml`)."""
    if len(data) > MAX_JSON_BYTES:
        raise MalformedDocumentError(f"document is {len(data)} bytes, more than the {MAX_JSON_BYTES} allowed",
                                     response_code=413)
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = _lenient_loads(data)
    return from_json_obj(obj, cls)


def _lenient_loads(data: bytes | str) -> Any:
    """orjson refuses some texts the standard library reads (NaN and Infinity literals, integers beyond 64
    bits, lone surrogates in strings). Those are read here so the field holding them is named in an
    :class:`InvalidMessageError` (response code 454) like any other bad value; text that is not JSON at all
    is a :class:`MalformedDocumentError`."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise MalformedDocumentError(f"not valid JSON: {exc}", errors=[FieldError("/", str(exc))]) from None


def from_json_obj(obj: Any, cls: type[M] | None = None) -> M:
    """Decode an already parsed JSON value (``{"pfx:message": {...}}``)."""
    if not isinstance(obj, dict):
        raise UnknownMessageError("a JSON message is an object with one key, the message name")
    keys = [k for k in obj if not k.startswith("@")]
    if len(keys) != 1:
        raise UnknownMessageError(
            "a JSON message is an object with exactly one key, the message name",
            errors=[FieldError("/", f"found keys {sorted(keys)}")],
        )
    key = keys[0]
    found = lookup_json(key)
    if found is None:
        raise UnknownMessageError(f"unknown message {key!r}", errors=[FieldError("/" + key, "unknown message")])
    if cls is not None and found is not cls:
        raise UnknownMessageError(f"expected {cls.__tag__}, got {key}",
                                  errors=[FieldError("/" + key, f"expected {cls.__tag__}")])
    body = obj[key]
    base = "/" + key
    # the generated decoder: what _decode (the plan interpreter, its reference) does, without walking the plan
    fields = json_decoder_of(found)(body, base, 0)
    try:
        return found.__pydantic_validator__.validate_python(fields)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise member_error(found, exc, key, base) from None


def _decode(plan: Plan, body: Any, path: str, depth: int) -> dict[str, Any]:
    if depth > MAX_JSON_DEPTH:
        raise MalformedDocumentError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(body, dict):
        if plan.text is not None and not plan.attrs and not plan.root.children:
            body = {"$": body}
        else:
            raise path_error(path, f"expected an object, got {type(body).__name__}")
    fields: dict[str, Any] = {}
    _decode_into(plan, plan.root, body, fields, path, depth)
    return fields


def _decode_into(
    plan: Plan | None, node: Node, body: dict[str, Any], fields: dict[str, Any], path: str, depth: int
) -> None:
    # paths are built only when they are needed (an error, a nested object): most keys need none
    for key, value in body.items():
        if plan is not None and key[:1] == "@":
            attr = key[1:]
            leaf = next((a for a in plan.attrs if a.qname == attr), None)
            if leaf is not None:
                fields[leaf.name] = scalar_value(leaf, value, path, key)
            elif not (attr.startswith("xmlns") or attr.startswith("xsi:")):
                raise path_error(f"{path}/{key}", "attribute is not allowed here")
            continue
        if plan is not None and key == "$":
            if plan.text is None:
                raise path_error(f"{path}/{key}", "this element has no text content")
            fields[plan.text.name] = scalar_value(plan.text, value, path, key)
            continue
        item = node.by_json.get(key)
        if item is None:
            raise path_error(f"{path}/{key}", "field is not allowed here")
        if item.is_node:
            assert isinstance(item, Node)
            if not isinstance(value, dict):
                raise path_error(f"{path}/{key}", f"expected an object, got {type(value).__name__}")
            _decode_into(None, item, value, fields, f"{path}/{key}", depth + 1)
            continue
        assert isinstance(item, Leaf)
        if item.kind == "scalar" and not item.repeated:
            if isinstance(value, list):
                raise path_error(f"{path}/{key}", "may appear only once here (got an array)")
            if item.name in fields:
                raise path_error(f"{path}/{key}", "may appear only once here")
            fields[item.name] = scalar_value(item, value, path, key)
            continue
        values = value if isinstance(value, list) else [value]
        if not item.repeated and isinstance(value, list):
            raise path_error(f"{path}/{key}", "may appear only once here (got an array)")
        decoded = []
        for n, v in enumerate(values):
            if item.kind == "scalar":  # repeated (a single scalar was handled above)
                decoded.append(scalar_value(item, v, path, f"{key}[{n + 1}]"))
                continue
            p = f"{path}/{key}[{n + 1}]" if item.repeated else f"{path}/{key}"
            if item.kind == "model":
                assert item.model is not None
                decoded.append(_decode(plan_for(item.model), v, p, depth + 1))
            else:
                member = item.json_choices[key]
                sub = _decode(plan_for(member), v, p, depth + 1)
                try:
                    decoded.append(member.__pydantic_validator__.validate_python(sub))
                except ValidationError as exc:
                    errors = field_errors(member, exc, p)
                    raise InvalidMessageError(f"invalid {key}: {errors[0] if errors else exc}",
                                              errors=errors) from None
        if item.repeated:
            fields.setdefault(item.name, []).extend(decoded)
        elif item.name in fields:
            raise path_error(f"{path}/{key}", "may appear only once here")
        else:
            fields[item.name] = decoded[0]
