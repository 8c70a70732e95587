"""Which model class a document's root element decodes into."""

from __future__ import annotations

from typing import TypeVar

from transactive.model.base import Model

__all__ = ["envelope_of", "lookup_clark", "lookup_json", "message", "message_types"]

_BY_CLARK: dict[str, type[Model]] = {}
_BY_JSON: dict[str, type[Model]] = {}
_ENVELOPES: dict[str, tuple[str, ...]] = {}

M = TypeVar("M", bound=type[Model])


def message(cls: M) -> M:
    """Class decorator: register a model as a message that can stand as a document's root."""
    if not cls.__tag__:
        raise TypeError(f"{cls.__name__}: a message needs a __tag__")
    family = cls.__family__
    clark = family.clark(cls.__tag__)
    if clark in _BY_CLARK and _BY_CLARK[clark] is not cls:
        raise TypeError(f"{cls.__tag__} is registered twice ({_BY_CLARK[clark].__name__}, {cls.__name__})")
    _BY_CLARK[clark] = cls
    key = cls.__tag__
    if key in _BY_JSON and _BY_JSON[key] is not cls:
        raise TypeError(f"JSON root key {key} is used by two messages")
    _BY_JSON[key] = cls
    if cls.__envelope__:
        _ENVELOPES[family.clark(cls.__envelope__[0])] = tuple(family.clark(q) for q in cls.__envelope__)
    return cls


_LOADED = False


def _ensure_loaded() -> None:
    """Import the message packages once, so that decoding knows every message without the caller
    having imported them first."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        import transactive.ei  # noqa: F401  (registers the messages)


def lookup_clark(clark: str) -> type[Model] | None:
    found = _BY_CLARK.get(clark)
    if found is None and not _LOADED:
        _ensure_loaded()
        found = _BY_CLARK.get(clark)
    return found


def lookup_json(key: str) -> type[Model] | None:
    found = _BY_JSON.get(key)
    if found is None and not _LOADED:
        _ensure_loaded()
        found = _BY_JSON.get(key)
    return found


def envelope_of(clark: str) -> tuple[str, ...] | None:
    """The envelope path (Clark names) that starts with this root element, if any."""
    _ensure_loaded()
    return _ENVELOPES.get(clark)


def message_types() -> list[type[Model]]:
    """Every registered message class, in registration order."""
    _ensure_loaded()
    return list(_BY_CLARK.values())
