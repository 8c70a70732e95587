"""The errors of XML decoding that name an element, raised by :mod:`transactive.codec.xml` and by the decoders
generated for it (:mod:`transactive.codec.gen_xml`): each carries the element's path and source line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from transactive._xmlutil import element_path, line_of, pretty_name
from transactive.codec.errors import field_errors
from transactive.errors import FieldError, InvalidMessageError
from transactive.model.base import Model

__all__ = [
    "bad_attribute",
    "checked",
    "duplicate",
    "element_error",
    "nested",
    "summary",
    "unexpected",
    "validate_member",
]

M = TypeVar("M", bound=Model)


def summary(cls: type[Model], errors: list[FieldError]) -> str:
    """The message of the error about an invalid ``cls``: its first field error, and how many more."""
    first = errors[0] if errors else None
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid {cls.__tag__ or cls.__name__}: {first}{more}" if first else f"invalid {cls.__tag__}"


def element_error(element: etree._Element, message: str) -> InvalidMessageError:
    """The error about ``element``, at its path and line."""
    return InvalidMessageError(message, errors=[FieldError(element_path(element), message, line_of(element))])


def unexpected(child: etree._Element, parent: etree._Element) -> InvalidMessageError:
    return element_error(child, f"element {pretty_name(child)} is not allowed in {pretty_name(parent)}")


def duplicate(child: etree._Element) -> InvalidMessageError:
    return element_error(child, f"{pretty_name(child)} may appear only once here")


def bad_attribute(element: etree._Element, key: str) -> InvalidMessageError:
    return element_error(element, f"attribute {key} is not allowed on {pretty_name(element)}")


def nested(element: etree._Element) -> InvalidMessageError:
    """``element`` holds a value, yet it has a child element."""
    child = element[0]
    message = f"element {pretty_name(child)} is not allowed inside the value of {pretty_name(element)}"
    return element_error(child, message)


def checked(check: Callable[[str], str], text: str, element: etree._Element) -> str:
    """``check(text)``, its ValueError turned into the error about ``element``."""
    try:
        return check(text)
    except ValueError as exc:
        message = str(exc)
        raise InvalidMessageError(
            f"{pretty_name(element)}: {message}", errors=[FieldError(element_path(element), message, line_of(element))]
        ) from None


def validate_member(member: type[M], fields: dict[str, Any], element: etree._Element) -> M:
    """The ``member`` built from the ``fields`` decoded from ``element``, or the error naming the wrong ones."""
    try:
        # the validator itself: model_validate adds a Python frame and keyword handling to every call
        result: M = member.__pydantic_validator__.validate_python(fields)
        return result
    except ValidationError as exc:
        errors = field_errors(member, exc, element_path(element), line_of(element), element)
        raise InvalidMessageError(summary(member, errors), errors=errors) from None
