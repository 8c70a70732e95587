"""The OpenAPI 3.1 document of the VTN's HTTP API (served at ``GET /openapi.json``), built from the one table
of requests the server dispatches with (:data:`transactive.services.requests.FACETS`, derived from
``REQUESTS``), so the two cannot drift apart."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from transactive import __version__
from transactive.ei.cts.examples import examples as cts_examples
from transactive.ei.cts.quote import EiCreateQuote
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.ei.ext import EiResponsePayload
from transactive.model import Model
from transactive.services.examples import examples as ext_examples
from transactive.services.requests import FACETS, REQUESTS
from transactive.vtn.notices import NOTICE_HISTORY
from transactive.vtn.openapi_examples import add_examples
from transactive.vtn.openapi_oadr import add_openadr
from transactive.vtn.openapi_openadr3 import add_openadr3
from transactive.vtn.openapi_schemas import Schemas, json_example, xml_example

__all__ = ["openapi_document"]


#: what GET /health answers a VTN on SQLite, in real time
HEALTH_EXAMPLE: dict[str, Any] = {
    "status": "ok", "market": "https://lme.example.com/markets/rt15", "market_party_id": "market-lme",
    "market_time": "2026-11-21T12:03:10Z", "interval": 900, "interval_seconds": None,
    "clock": {"wall_origin": "2026-11-21T12:00:00Z", "market_origin": "2026-11-21T12:00:00Z", "speed": 1},
    "current_interval": "2026-11-21T12:00:00Z", "next_open_interval": "2026-11-21T12:15:00Z",
    "gate_time": "2026-11-21T12:10:00Z", "last_closed_interval": "2026-11-21T11:45:00Z", "store": "ok",
    "ledger": "ok", "faults": {}, "gate_retry": None, "read_only": None, "start_problems": [], "tls": False,
    "client_certificates": False, "event_loop": "asyncio", "cluster": None,
}


def _tags(types: tuple[type[Model], ...]) -> list[str]:
    return [str(t.__tag__) for t in types]


#: every request payload, in the order of the table the VTN dispatches with
_REQUESTS: list[type[Model]] = [kind.payload for kind in REQUESTS]
#: every reply payload a request can get (a refusal too may be an tx:eiResponsePayload)
_REPLIES: list[type[Model]] = list(dict.fromkeys(
    [typing.get_type_hints(kind.handler)["return"] for kind in REQUESTS] + [EiResponsePayload]))
#: what GET /cts/notices hands a party
_NOTICES: list[type[Model]] = [EiCreateTransaction, EiCreateQuote]


@cache
def _examples() -> dict[type[Model], Model]:
    """One example of each payload class (the first the example tables give)."""
    found: dict[type[Model], Model] = {}
    for message in [*cts_examples(), *ext_examples()]:
        found.setdefault(type(message), message)
    return found


def _example_set(classes: list[type[Model]], xml: bool) -> dict[str, Any]:
    table = _examples()
    make = xml_example if xml else json_example
    return {str(cls.__tag__).replace(":", "_"): make(table[cls]) for cls in classes}


_XML = {"type": "string", "description": "A CTS payload as an XML document (schema-valid against the shipped XSDs)."}


def _content(schemas: Schemas, classes: list[type[Model]]) -> dict[str, Any]:
    """JSON (the schema of each payload's document) and XML, each with an example of every payload."""
    return {"application/json": {"schema": schemas.documents(classes), "examples": _example_set(classes, False)},
            "application/xml": {"schema": _XML, "examples": _example_set(classes, True)}}


def _error(schemas: Schemas, description: str) -> dict[str, Any]:
    return {"description": description + " Body: tx:eiResponsePayload with the EI response code.",
            "content": _content(schemas, [EiResponsePayload])}


_REQUEST_ERRORS = {
    "400": "Not decodable: not well-formed (EI 400), unknown message (EI 453) or an invalid field (EI 454).",
    "401": "An Authorization header that is not 'Bearer <token>', or a Signature that does not hold for "
           "the body (EI 463).",
    "406": "Accept names neither JSON nor XML.",
    "408": "The body did not arrive within the VTN's body timeout (EI 400).",
    "413": "The body is larger than the VTN accepts.",
    "415": "Content-Type is neither JSON nor XML.",
    "417": "An Expect header other than 100-continue (EI 400).",
    "429": "Registrations from this address beyond the VTN's rate (EI 429); see Retry-After.",
    "500": "An unexpected error (logged by the VTN; no traceback is sent).",
    "503": "The VTN is at its connection limit (EI 503); see Retry-After.",
}


def _post(schemas: Schemas, summary: str, operation_id: str, parameters: list[dict[str, Any]] | None = None,
          errors: dict[str, str] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "tags": ["cts"],
        "security": [{"bearer": []}, {"signature": []}, {}],
        "requestBody": {"required": True, "content": _content(schemas, _REQUESTS)},
        "responses": {
            "200": {"description": "The reply payload. Refusals too: their EI code (450-463, 409, ...) is in "
                                   "ei:eiResponse/ei:responseCode.",
                    "content": _content(schemas, _REPLIES)},
            **{status: _error(schemas, text) for status, text in sorted({**_REQUEST_ERRORS, **(errors or {})}.items())},
        },
    }
    if parameters:
        op["parameters"] = parameters
    return op


def openapi_document(server_url: str | None = None, *, openadr: bool = False,
                     openadr3: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-ready dict); ``openadr``: with the OpenADR 2.0b services and the
    operator's API (:mod:`transactive.vtn.oadr_http`), ``openadr3``: with the OpenADR 3 operator's API and the
    pointer to the OpenADR 3.1.0 document (:mod:`transactive.vtn.openadr3_http`), as ``vtn serve`` serves them."""
    schemas = Schemas()
    facet_param = {"name": "facet", "in": "path", "required": True,
                   "schema": {"type": "string", "enum": list(FACETS)},
                   "description": "; ".join(f"{name}: {', '.join(_tags(types))}" for name, types in FACETS.items())}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "transactive VTN",
            "version": __version__,
            "description": "Energy Interoperation Common Transactive Services (CTS) over HTTP. Request bodies are "
                           "CTS payloads in XML or JSON (Content-Type decides); replies follow Accept (default: the "
                           "request's format). Every reply the services produce is HTTP 200 with its EI response "
                           "code in ei:eiResponse.",
        },
        "tags": [{"name": "cts", "description": "The transactive services"},
                 {"name": "operations", "description": "Health and this document"}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "The token eiCreatedPartyRegistration returned (its ei:registrationID)."},
            "signature": {"type": "apiKey", "in": "header", "name": "Signature",
                          "description": "The party's signature of the exact body (keyid=\"ed25519:...\" or "
                                         "\"x509:...\", created=UNIX SECONDS, sig=\"...\"; see "
                                         "transactive.protocol.identity). A registration needs it."}}},
        "paths": {
            "/cts": {"post": _post(schemas, "Any CTS request (the payload's root element names the facet)",
                                   "ctsRequest")},
            "/cts/{facet}": {"post": _post(schemas, "A CTS request of one facet (another facet's payload: EI 451)",
                                           "ctsFacetRequest", [facet_param],
                                           {"404": "No such facet (EI 404; the reply names the facets)."})},
            "/cts/notices": {"get": {
                "summary": "Long poll for the caller's notices (eiCreateTransaction, eiCreateQuote)",
                "operationId": "ctsNotices",
                "tags": ["cts"],
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "after", "in": "query", "required": False, "schema": {"type": "integer"},
                     "description": "Return the first notice with a sequence number above this. Without it: 204 "
                                    "at once, the current cursor in X-Notice-Seq."},
                    {"name": "timeout", "in": "query", "required": False,
                     "schema": {"type": "number", "minimum": 0, "maximum": 60, "default": 30},
                     "description": "Seconds to wait for a notice."},
                    {"name": "party", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "The party (default and only allowed value: the token's)."},
                ],
                "responses": {
                    "200": {"description": f"One notice (the VTN keeps the last {NOTICE_HISTORY} per party).",
                            "headers": {"X-Notice-Seq": {"schema": {"type": "integer"},
                                                         "description": "This notice's sequence number."}},
                            "content": _content(schemas, _NOTICES)},
                    "204": {"description": "No notice in time.",
                            "headers": {"X-Notice-Seq": {"schema": {"type": "integer"},
                                                         "description": "The cursor to poll after."}}},
                    "400": _error(schemas, "after or timeout is not a number (EI 454)."),
                    "401": _error(schemas, _REQUEST_ERRORS["401"]),
                    "403": _error(schemas, "No valid token, or the token of another party (EI 463)."),
                    "406": _error(schemas, _REQUEST_ERRORS["406"]),
                },
            }},
            "/health": {"get": {
                "summary": "Liveness, the market and its clock, the store",
                "operationId": "health",
                "tags": ["operations"],
                "responses": {
                    "200": {"description": "Healthy.", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Health"}, "examples": {"ok": {"value": HEALTH_EXAMPLE}}}}},
                    "503": {"description": "The store cannot be read.", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Health"},
                        "examples": {"degraded": {"value": {**HEALTH_EXAMPLE, "status": "degraded",
                                                            "store": "error"}}}}}},
                },
            }},
            "/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi", "tags": ["operations"],
                "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {
                                          "type": "object", "required": ["openapi", "info", "paths"]},
                                          "examples": {"document": {"summary": "Its first members", "value": {
                                              "openapi": "3.1.0", "info": {"title": "transactive VTN",
                                                                           "version": __version__},
                                              "paths": {}}}}}}}},
            }},
        },
    }
    doc["components"]["schemas"] = {"Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "market": {"type": "string", "description": "The market context URI."},
            "market_party_id": {"type": "string"},
            "market_time": {"type": "string", "format": "date-time",
                            "description": "Market time (runs faster than wall time with --interval-seconds)."},
            "interval": {"type": "number", "description": "Market interval length, market seconds."},
            "interval_seconds": {"type": ["number", "null"],
                                 "description": "Wall seconds per market interval (null: real time)."},
            "clock": {
                "type": ["object", "null"],
                "description": "The time mapping: market time = market_origin + (wall time - wall_origin) x speed. "
                               "A child VTN (vtn serve --parent) adopts its parent's.",
                "required": ["wall_origin", "market_origin", "speed"],
                "properties": {"wall_origin": {"type": "string", "format": "date-time"},
                               "market_origin": {"type": "string", "format": "date-time"},
                               "speed": {"type": "number", "exclusiveMinimum": 0,
                                         "description": "Market seconds per wall second."}},
            },
            "current_interval": {"type": "string", "format": "date-time"},
            "next_open_interval": {"type": "string", "format": "date-time"},
            "gate_time": {"type": "string", "format": "date-time",
                          "description": "When tendering for next_open_interval closes (market time)."},
            "last_closed_interval": {"type": ["string", "null"], "format": "date-time"},
            "store": {"type": "string", "enum": ["ok", "error"]},
            "ledger": {"type": "string"},
            "faults": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "The parts of storage whose writes fail now (store, ledger) and why; a "
                                      "failing part is probed when asked, so this clears by itself."},
            "gate_retry": {
                "type": ["object", "null"],
                "description": "What the gate scheduler is retrying after a storage failure (null: nothing).",
                "required": ["what", "interval", "attempts", "error"],
                "properties": {"what": {"type": "string"},
                               "interval": {"type": ["string", "null"], "format": "date-time"},
                               "attempts": {"type": "integer", "minimum": 1},
                               "error": {"type": "string"}},
            },
            "read_only": {"type": ["string", "null"],
                          "description": "Why the VTN refuses every writing request with 503 (vtn serve "
                                         "--read-only), or null."},
            "start_problems": {"type": "array", "items": {"type": "string"},
                               "description": "What the start-up checks found in the data directory (only a "
                                              "read-only VTN starts with any)."},
            "tls": {"type": "boolean", "description": "Whether the VTN serves HTTPS (vtn serve --tls-cert)."},
            "client_certificates": {"type": "boolean",
                                    "description": "Whether clients must present a certificate (--tls-ca)."},
            "event_loop": {"type": "string", "enum": ["uvloop", "asyncio"],
                           "description": "The event loop the VTN runs on (vtn serve --event-loop)."},
            "cluster": {
                "type": ["object", "null"],
                "description": "With vtn serve --store: this process among the VTN processes sharing the "
                               "database (null: one process on SQLite).",
                "properties": {
                    "process": {"type": "string", "description": "This process: vtn@HOST:PID."},
                    "leader": {"type": "boolean",
                               "description": "Whether this process holds the market's duties now (gate closure, "
                                              "ledger, MQTT bridge, parent link)."},
                    "store": {"type": "string", "description": "The database, without its password."},
                    "duties_error": {"type": ["string", "null"],
                                     "description": "Why the market's duties did not start the last time this "
                                                    "process took the leader's lock (e.g. a ledger that does not "
                                                    "verify); the status is then degraded. Null: they did."},
                },
            },
        },
    }}
    if openadr:
        add_openadr(doc)
    if openadr3:
        add_openadr3(doc)
    clash = set(schemas.components) & set(doc["components"]["schemas"])
    if clash:
        raise TypeError(f"payload classes named like the VTN's own schemas: {', '.join(sorted(clash))}")
    doc["components"]["schemas"].update(schemas.components)
    add_examples(doc)
    if server_url is not None:
        doc["servers"] = [{"url": server_url}]
    return doc
