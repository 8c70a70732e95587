"""The wire formats every transport speaks: XML and JSON, their media types, and encode/decode by format.

One module for the HTTP server and client, the MQTT bridge and client and the in-memory transport, so they
agree on which media types mean what:

=====================  =========================================================================================
``Content-Type``       ``application/json`` and any ``*+json`` → JSON; ``application/xml``, ``text/xml`` and any
                       ``*+xml`` → XML; parameters (``; charset=utf-8``) are ignored; anything else → None
                       (:func:`wire_of`; a server answers 415)
``Accept``             the acceptable format with the highest ``q``; ties, ``*/*`` and ``application/*`` go to
                       the default (the request's format); ``text/*`` is XML; nothing acceptable → None
                       (:func:`negotiate`; a server answers 406)
no media type at all   the first non-blank byte tells: ``{`` is JSON, anything else XML (:func:`sniff`; MQTT
                       publications without a content type)
=====================  =========================================================================================

What a transport sends is always :data:`MEDIA_TYPES` (``application/json``, ``application/xml``).
"""

from __future__ import annotations

import functools
from enum import StrEnum

from transactive.codec.json import decode_json, encode_json
from transactive.codec.xml import decode_xml, encode_xml
from transactive.model import Model

__all__ = ["MEDIA_TYPES", "WireFormat", "decode_as", "encode_as", "media_type", "negotiate", "sniff", "wire_of"]


class WireFormat(StrEnum):
    XML = "xml"
    JSON = "json"


#: the media type a transport sends for each format
MEDIA_TYPES: dict[WireFormat, str] = {WireFormat.JSON: "application/json", WireFormat.XML: "application/xml"}


def media_type(wire: WireFormat) -> str:
    """The media type sent for ``wire``."""
    return MEDIA_TYPES[wire]


# peers send a handful of distinct Content-Type and Accept values: each meaning is computed once (bounded:
# the values come from peers)
@functools.lru_cache(maxsize=256)
def wire_of(content_type: str | None) -> WireFormat | None:
    """The wire format a ``Content-Type`` value names (its parameters ignored), or None for anything else."""
    if not content_type:
        return None
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct == "application/json" or ct.endswith("+json"):
        return WireFormat.JSON
    if ct in ("application/xml", "text/xml") or ct.endswith("+xml"):
        return WireFormat.XML
    return None


@functools.lru_cache(maxsize=256)
def negotiate(accept: str | None, default: WireFormat) -> WireFormat | None:
    """The reply format for an ``Accept`` header: the acceptable format with the highest ``q`` (``default``
    on ties, wildcards and absence); None when the header accepts neither JSON nor XML."""
    if accept is None or not accept.strip():
        return default
    best: tuple[float, int, WireFormat] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        media = media.lower()
        if media in ("*/*", "application/*"):
            candidates = [(default, 0)]
        elif media == "text/*":
            candidates = [(WireFormat.XML, 1)]
        else:
            wire = wire_of(media)
            candidates = [] if wire is None else [(wire, 2)]
        for wire, specificity in candidates:
            rank = (q, specificity + (1 if wire is default else 0), wire)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return None if best is None else best[2]


def sniff(data: bytes | str) -> WireFormat:
    """The format of a document without a media type: JSON if its first non-blank character is ``{``."""
    return WireFormat.JSON if data.lstrip()[:1] in (b"{", "{") else WireFormat.XML


def encode_as(wire: WireFormat, message: Model) -> bytes:
    """``message`` in ``wire`` format."""
    return encode_xml(message) if wire is WireFormat.XML else encode_json(message)


def decode_as(wire: WireFormat | None, data: bytes | str) -> Model:
    """The message in ``data``, read as ``wire`` (None: :func:`sniff` it); raises
    :class:`~transactive.errors.ProtocolError` subclasses with their EI response codes."""
    if (wire or sniff(data)) is WireFormat.XML:
        result: Model = decode_xml(data)
    else:
        result = decode_json(data)
    return result
