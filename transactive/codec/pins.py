"""Pinned models: immutable parts sent again and again, encoded once.

A VTN answers every ``eiRequestEiMarketContext`` with the same market terms and rules; only the response
around them changes. :func:`pin` marks such a (frozen) model instance: the first time it is encoded below a
message's root, its XML text (per element name) and its JSON text are kept, and every later encoding of
*that instance* reuses them. Models are immutable, so the kept text cannot go stale; equal but distinct
instances are not affected (the cache is by identity). A pin holds its instance alive; at most
:data:`MAX_PINS` are kept (the oldest is forgotten first, which only makes it slower).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from transactive.model.base import Model

__all__ = ["MAX_PINS", "pin", "pinned", "unpin"]

#: pins kept at most (a cache: forgetting one only costs speed)
MAX_PINS = 4096


class Pin:
    """One pinned instance and its kept encodings."""

    __slots__ = ("_json", "obj", "xml")

    def __init__(self, obj: Model) -> None:
        self.obj = obj
        self.xml: dict[str, str] = {}
        self._json: orjson.Fragment | None = None

    def json(self, encode: Callable[[Any], dict[str, Any]]) -> orjson.Fragment:
        """The instance's JSON object as already serialised text (``encode`` is its class's encoder)."""
        if self._json is None:
            self._json = orjson.Fragment(orjson.dumps(encode(self.obj)))
        return self._json

    def xml_text(self, encode: Callable[[Any, list[str], str, str], None], qname: str) -> str:
        """The instance's element named ``qname`` as XML text (``encode`` is its class's encoder)."""
        text = self.xml.get(qname)
        if text is None:
            out: list[str] = []
            encode(self.obj, out, qname, "")
            text = self.xml[qname] = "".join(out)
        return text


#: ``id(instance) -> Pin``; the generated encoders look here (``PINS.get(id(x))``, then ``pin.obj is x``)
PINS: dict[int, Pin] = {}


def pin(model: Model) -> Model:
    """Keep ``model``'s encodings for reuse wherever it is encoded below a message's root; returns it."""
    if not isinstance(model, Model):
        raise TypeError(f"only models can be pinned, not {type(model).__name__}")
    key = id(model)
    if key not in PINS:
        while len(PINS) >= MAX_PINS:
            del PINS[next(iter(PINS))]
        PINS[key] = Pin(model)
    return model


def unpin(model: Model) -> None:
    """Forget ``model``'s kept encodings (no error if it was not pinned)."""
    found = PINS.get(id(model))
    if found is not None and found.obj is model:
        del PINS[id(model)]


def pinned(model: Model) -> bool:
    """Is this instance pinned?"""
    found = PINS.get(id(model))
    return found is not None and found.obj is model
