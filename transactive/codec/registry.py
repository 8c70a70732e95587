"""Which model class a document's root element decodes into (lookups over :mod:`transactive.model.registry`)."""

from __future__ import annotations

from transactive.model.base import Model
from transactive.model.registry import BY_CLARK, BY_JSON, ENVELOPES, message

__all__ = ["envelope_of", "lookup_clark", "lookup_json", "message", "message_types"]

_LOADED = False


def _ensure_loaded() -> None:
    """Import the message packages once, so that decoding knows every message without the caller
    having imported them first."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        import transactive.calendar
        import transactive.ei  # noqa: F401  (importing registers the messages)


def lookup_clark(clark: str) -> type[Model] | None:
    found = BY_CLARK.get(clark)
    if found is None and not _LOADED:
        _ensure_loaded()
        found = BY_CLARK.get(clark)
    return found


def lookup_json(key: str) -> type[Model] | None:
    found = BY_JSON.get(key)
    if found is None and not _LOADED:
        _ensure_loaded()
        found = BY_JSON.get(key)
    return found


def envelope_of(clark: str) -> tuple[str, ...] | None:
    """The envelope path (Clark names) that starts with this root element, if any."""
    _ensure_loaded()
    return ENVELOPES.get(clark)


def message_types() -> list[type[Model]]:
    """Every registered message class, in registration order."""
    _ensure_loaded()
    return list(BY_CLARK.values())
