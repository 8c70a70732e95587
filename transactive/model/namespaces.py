"""The namespace families of the shipped schema sets, with their fixed prefixes.

The prefixes are part of the JSON binding (keys are ``prefix:localName``), so they never change.
"""

from __future__ import annotations

from transactive.model.base import Family

__all__ = ["CTS", "CTS_NS", "OADR", "OADR_NS", "XCAL", "XCAL_NS"]

#: OpenADR 2.0b (OpenADR Alliance), which restricts the EI 1.0, EMIX 1.0 and xCal namespaces
OADR_NS = {
    "oadr": "http://openadr.org/oadr-2.0b/2012/07",
    "ei": "http://docs.oasis-open.org/ns/energyinterop/201110",
    "pyld": "http://docs.oasis-open.org/ns/energyinterop/201110/payloads",
    "emix": "http://docs.oasis-open.org/ns/emix/2011/06",
    "power": "http://docs.oasis-open.org/ns/emix/2011/06/power",
    "scale": "http://docs.oasis-open.org/ns/emix/2011/06/siscale",
    "xcal": "urn:ietf:params:xml:ns:icalendar-2.0",
    "strm": "urn:ietf:params:xml:ns:icalendar-2.0:stream",
    "gml": "http://www.opengis.net/gml/3.2",
    "atom": "http://www.w3.org/2005/Atom",
    "espi": "http://naesb.org/espi",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "dsig11": "http://www.w3.org/2009/xmldsig11#",
    "clm5ISO42173A": "urn:un:unece:uncefact:codelist:standard:5:ISO42173A:2010-04-07",
}
OADR = Family("oadr20b", OADR_NS, schema="oadr20b")

#: Common Transactive Services rev 0.4 (Energy Mashup Lab): EI, EMIX and WS-Calendar-MIN/Streams profiles.
#: The prefixes are those of the CTS JSON Schema (``schemas/cts/json``).
CTS_NS = {
    "pyld": "http://docs.oasis-open.org/ns/energyinterop/201110/payloads/cts.04",
    "ei": "http://docs.oasis-open.org/ns/energyinterop/201110/cts.04",
    "emix": "http://docs.oasis-open.org/ns/emix/2011/06/cts.04",
    "power": "http://docs.oasis-open.org/ns/emix/2011/06/power/cts.04",
    "scale": "http://docs.oasis-open.org/ns/emix/2011/06/siscale",
    "xcal": "http://docs.oasis-open.org/ws-calendar/ns/min-xcal/2015/12",
    "strm": "http://docs.oasis-open.org/ws-calendar/ns/streams/201606",
    "clm5ISO42173A": "urn:un:unece:uncefact:codelist:standard:5:ISO42173A:2010-04-07",
}
CTS = Family("cts04", CTS_NS, schema="cts")

#: iCalendar in XML (RFC 6321) with the WS-Calendar 1.0 extensions
XCAL_NS = {
    "xcal": "urn:ietf:params:xml:ns:icalendar-2.0",
}
XCAL = Family("xcal", XCAL_NS, schema="wscalendar")
