"""Helpers shared by the OpenADR 2.0b tests."""

from __future__ import annotations

from typing import Any

from lxml import etree

NS = {
    "oadr": "http://openadr.org/oadr-2.0b/2012/07",
    "ei": "http://docs.oasis-open.org/ns/energyinterop/201110",
    "pyld": "http://docs.oasis-open.org/ns/energyinterop/201110/payloads",
    "emix": "http://docs.oasis-open.org/ns/emix/2011/06",
    "power": "http://docs.oasis-open.org/ns/emix/2011/06/power",
    "scale": "http://docs.oasis-open.org/ns/emix/2011/06/siscale",
    "xcal": "urn:ietf:params:xml:ns:icalendar-2.0",
    "strm": "urn:ietf:params:xml:ns:icalendar-2.0:stream",
}
XMLNS = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items())


def shape(element: Any) -> tuple[Any, ...]:
    """An element as (tag, attributes, text, children), ignoring prefixes and layout whitespace."""
    return (
        element.tag,
        tuple(sorted(element.attrib.items())),
        (element.text or "").strip(),
        tuple(shape(child) for child in element if isinstance(child.tag, str)),
    )


def message_element(document: bytes) -> Any:
    """The message element inside ``oadrPayload/oadrSignedObject``."""
    root = etree.fromstring(document)
    assert root.tag == f"{{{NS['oadr']}}}oadrPayload"
    signed = root[0]
    assert signed.tag == f"{{{NS['oadr']}}}oadrSignedObject"
    assert len(signed) == 1
    return signed[0]


def envelope(inner: str) -> bytes:
    """A full document around a message element written without namespace declarations."""
    return (
        f'<oadr:oadrPayload {XMLNS}><oadr:oadrSignedObject>{inner}</oadr:oadrSignedObject></oadr:oadrPayload>'
    ).encode()
