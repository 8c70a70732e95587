"""What a JSON document may hold: its limits, the check of a simple value, and the errors that name a path.

Both the JSON codec (:mod:`transactive.codec.json`) and the decoders generated for it
(:mod:`transactive.codec.gen_json`) use these, so they live below both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from transactive.codec.errors import field_errors
from transactive.codec.plan import XML_BAD, Leaf
from transactive.errors import FieldError, InvalidMessageError
from transactive.model.base import Model
from transactive.model.types import check_decimal

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "member_error",
    "not_object",
    "other_key",
    "path_error",
    "scalar_value",
]

#: JSON documents larger than this are refused before parsing (16 MiB)
MAX_JSON_BYTES = 16 * 1024 * 1024
#: nesting deeper than this is refused
MAX_JSON_DEPTH = 128


def path_error(path: str, message: str) -> InvalidMessageError:
    """The error about the value at ``path`` (``/pfx:message/pfx:field``)."""
    return InvalidMessageError(f"{path}: {message}", errors=[FieldError(path, message)])


def not_object(path: str, value: Any) -> InvalidMessageError:
    """The value at ``path`` should have been an object."""
    return path_error(path, f"expected an object, got {type(value).__name__}")


def member_error(member: type[Model], exc: ValidationError, key: str, path: str) -> InvalidMessageError:
    """The object under ``key`` (at ``path``) decoded, but ``member`` refused its fields."""
    errors = field_errors(member, exc, path)
    return InvalidMessageError(f"invalid {key}: {errors[0] if errors else exc}", errors=errors)


def other_key(key: Any, parent: str, element: bool) -> None:
    """A key no field of the object at ``parent`` is read from (``element``: the object is an element's own,
    not a wrapper's). An ``xmlns``/``xsi:`` attribute is ignored; anything else is an error."""
    if element:
        if key[:1] == "@":
            attr = key[1:]
            if attr.startswith("xmlns") or attr.startswith("xsi:"):
                return
            raise path_error(f"{parent}/{key}", "attribute is not allowed here")
        if key == "$":
            raise path_error(f"{parent}/{key}", "this element has no text content")
    raise path_error(f"{parent}/{key}", "field is not allowed here")


def scalar_value(leaf: Leaf, value: Any, parent: str, key: str) -> Any:
    """A simple value of ``leaf`` found under ``key`` in the object at ``parent`` (its path)."""
    if isinstance(value, str):
        if XML_BAD.search(value) is not None:
            raise path_error(f"{parent}/{key}",
                             "text holds a character XML cannot carry (a control character or lone surrogate)")
        if leaf.check is not None:
            try:
                return leaf.check(value)
            except ValueError as exc:
                raise path_error(f"{parent}/{key}", str(exc)) from None
        return value
    if isinstance(value, (dict, list)):
        raise path_error(f"{parent}/{key}", f"expected a simple value, got {type(value).__name__}")
    if value is None:
        raise path_error(f"{parent}/{key}", "null is not a value")
    if leaf.is_str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if leaf.scalar is Decimal and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            check_decimal(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
        except (ValueError, ArithmeticError) as exc:
            raise path_error(f"{parent}/{key}", str(exc)) from None
    return value
