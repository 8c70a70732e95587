"""The rules every suite shares. A suite's own rules live beside its cases.

OpenADR 2.0b conformance rules are cited by their number in the 2.0b Profile Specification only where the
number and its wording could be checked here (openleadr's conformance tests quote those rules with their
numbers); other requirements are cited by the section of the specification that states them or by the
schema. The ``text`` is always our own short reading of the requirement, never the specification's wording.
"""

from __future__ import annotations

from transactive.interop.conformance.model import Rule

__all__ = [
    "CTS_SCHEMA",
    "EI_RESPONSE",
    "OADR_HTTP_CODES",
    "OADR_HTTP_ENDPOINTS",
    "OADR_IDS_VALIDATED",
    "OADR_SCHEMA",
    "OADR_SECURITY",
    "SPEC_20B",
    "WELL_FORMED",
]

#: how the OpenADR 2.0b Profile Specification is named in citations
SPEC_20B = "OpenADR 2.0b Profile Specification 1.1"

WELL_FORMED = Rule("W3C XML 1.0", "§2.1", "every document exchanged is a well-formed XML document")

OADR_SCHEMA = Rule(SPEC_20B, "oadr_20b.xsd",
                   "every payload exchanged validates against the OpenADR 2.0b schema (oadrPayload root)")

OADR_HTTP_ENDPOINTS = Rule(SPEC_20B, "§9.1.2",
                           "simple HTTP: each service is POSTed to {VTN URL}/OpenADR2/Simple/2.0b/{service}")

OADR_HTTP_CODES = Rule(SPEC_20B, "§9.1.5",
                       "simple HTTP: a request the application refuses is answered with an error responseCode, "
                       "not a success; transport-level failures use the HTTP status")

OADR_IDS_VALIDATED = Rule(SPEC_20B, "conformance rule 21",
                          "a receiver checks a venID, vtnID or eventID it is sent and answers an unexpected one "
                          "with an error (a VEN does not error on the cancellation of an event it never knew)")

OADR_SECURITY = Rule(SPEC_20B, "§10",
                     "with XML signatures in use, payloads are signed over oadrSignedObject and carry replay "
                     "protection (timestamp and nonce); TLS 1.2 with client and server certificates")

EI_RESPONSE = Rule("OASIS Energy Interoperation 1.0", "eiResponse",
                   "every reply carries an eiResponse whose responseCode follows HTTP: 2xx success, 4xx the "
                   "request was refused, and echoes the requestID it answers")

CTS_SCHEMA = Rule("OASIS Common Transactive Services 1.0", "schema (cts rev 0.4, with the shipped errata)",
                  "every CTS payload validates against the CTS schema")
