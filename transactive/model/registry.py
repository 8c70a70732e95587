"""The message registry: which model class stands for which root element.

Message packages register their root classes with :func:`message` as they are defined; the codecs
(:mod:`transactive.codec.registry`) look them up. Keeping the registry here, in the lowest layer, lets
``calendar``, ``emix`` and ``ei`` declare messages without depending on the codecs.
"""

from __future__ import annotations

from typing import TypeVar

from transactive.model.base import Model

__all__ = ["BY_CLARK", "BY_JSON", "ENVELOPES", "message"]

#: Clark name of the root element → message class
BY_CLARK: dict[str, type[Model]] = {}
#: JSON root key (``prefix:localName``) → message class
BY_JSON: dict[str, type[Model]] = {}
#: Clark name of an envelope's outer element → the envelope path (Clark names)
ENVELOPES: dict[str, tuple[str, ...]] = {}

M = TypeVar("M", bound=type[Model])


def message(cls: M) -> M:
    """Class decorator: register a model as a message that can stand as a document's root."""
    if not cls.__tag__:
        raise TypeError(f"{cls.__name__}: a message needs a __tag__")
    family = cls.__family__
    clark = family.clark(cls.__tag__)
    if clark in BY_CLARK and BY_CLARK[clark] is not cls:
        raise TypeError(f"{cls.__tag__} is registered twice ({BY_CLARK[clark].__name__}, {cls.__name__})")
    key = cls.__tag__
    if key in BY_JSON and BY_JSON[key] is not cls:
        raise TypeError(f"JSON root key {key} is used by two messages ({BY_JSON[key].__name__}, {cls.__name__})")
    BY_CLARK[clark] = cls
    BY_JSON[key] = cls
    if cls.__envelope__:
        ENVELOPES[family.clark(cls.__envelope__[0])] = tuple(family.clark(q) for q in cls.__envelope__)
    return cls
