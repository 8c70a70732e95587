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

from transactive.codec.gen_json import json_decoder_of, json_encoder_of
from transactive.codec.json_values import MAX_JSON_BYTES, MAX_JSON_DEPTH, member_error
from transactive.codec.registry import lookup_json
from transactive.errors import (
    FieldError,
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
    # the generated decoder: what the plan interpreter (its reference, tests/codec/json_interpreter.py) does,
    # without walking the plan
    fields = json_decoder_of(found)(body, base, 0)
    try:
        return found.__pydantic_validator__.validate_python(fields)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise member_error(found, exc, key, base) from None
