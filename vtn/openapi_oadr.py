"""The OpenADR 2.0b part of the VTN's OpenAPI document: the simple-HTTP services (XML documents whose types the
2.0b XSDs define) and the operator's JSON API, as :mod:`transactive.vtn.oadr_http` serves them."""

from __future__ import annotations

from functools import cache
from typing import Any

from transactive.codec import encode_xml
from transactive.ei.oadr.examples import examples as oadr_examples
from transactive.protocol.oadr import BASE_PATH, SERVICES
from transactive.vtn.oadr_http import OPERATOR_PREFIX

__all__ = ["add_openadr"]

_XML_SCHEMA = {"type": "string", "contentMediaType": "application/xml",
               "description": "An OpenADR 2.0b document (oadr:oadrPayload), valid against the shipped 2.0b XSDs "
                              "(schemas/oadr20b); signed (ds:Signature beside oadr:oadrSignedObject) or not."}
_XML = {"application/xml": {"schema": _XML_SCHEMA}}

#: what a VEN posts to each service (the VTN's pull and push replies come back as the reply to a post)
VEN_MESSAGES = {
    "EiRegisterParty": ("oadrQueryRegistration", "oadrCreatePartyRegistration", "oadrCancelPartyRegistration",
                        "oadrCanceledPartyRegistration"),
    "EiEvent": ("oadrRequestEvent", "oadrCreatedEvent"),
    "EiReport": ("oadrRegisterReport", "oadrRegisteredReport", "oadrCreatedReport", "oadrUpdateReport",
                 "oadrCanceledReport"),
    "EiOpt": ("oadrCreateOpt", "oadrCancelOpt"),
    "OadrPoll": ("oadrPoll",),
}
#: what the VTN answers (to a poll: any message it has queued for the VEN, or oadrResponse)
VTN_MESSAGES = ("oadrCreatedPartyRegistration", "oadrCanceledPartyRegistration", "oadrCancelPartyRegistration",
                "oadrRequestReregistration", "oadrDistributeEvent", "oadrCreatedOpt", "oadrCanceledOpt",
                "oadrRegisterReport", "oadrRegisteredReport", "oadrCreateReport", "oadrUpdatedReport",
                "oadrCancelReport", "oadrResponse")


@cache
def _oadr_xml() -> dict[str, str]:
    """One example document of each 2.0b message, by its local name."""
    found: dict[str, str] = {}
    for message in oadr_examples():
        found.setdefault(str(message.__tag__).split(":", 1)[1], encode_xml(message).decode())
    return found


def _xml_examples(names: list[str]) -> dict[str, Any]:
    table = _oadr_xml()
    return {name: {"summary": f"oadr:{name}", "value": table[name]} for name in names}


def _xml_reply(description: str, names: tuple[str, ...] = ("oadrResponse",)) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/xml": {"schema": _XML_SCHEMA, "examples": _xml_examples(list(names))}}}


def _json(ref: str, *, array: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{ref}"}
    return {"application/json": {"schema": {"type": "array", "items": schema} if array else schema}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json("OperatorError")}


_OPERATOR_ERRORS = {
    "400": _problem("The body is not what the operation takes (EI 454 or 400, the field named)."),
    "401": _problem("No operator token, or a wrong one (EI 463)."),
    "404": _problem("No such event or VEN (EI 452), or no such operator resource (404)."),
    "409": _problem("The event is cancelled or completed (EI 450)."),
    "503": _problem("The store cannot write, or the VTN runs read-only (EI 503); see Retry-After."),
}


def _operation(summary: str, operation_id: str, responses: dict[str, Any], *, body: str | None = None,
               parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "operationId": operation_id, "tags": ["openadr-operator"],
                          "security": [{"operator": []}], "responses": {**responses, **_OPERATOR_ERRORS}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if parameters:
        op["parameters"] = parameters
    return op


def _path_param(name: str, description: str, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


_INTERVALS = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["duration", "value"],
    "properties": {"duration": {"type": "string", "description": "ISO 8601 duration, whole seconds (PT15M)."},
                   "value": {"type": "number"}}}}

_SCHEMAS: dict[str, Any] = {
    "OperatorError": {"type": "object", "required": ["error", "code", "field"], "properties": {
        "error": {"type": "string"}, "code": {"type": "integer", "description": "The EI response code."},
        "field": {"type": ["string", "null"], "description": "The field the refusal names."}}},
    "EventRequest": {"type": "object", "required": ["signal_name", "start", "intervals"], "properties": {
        "signal_name": {"type": "string", "description": "SIMPLE, ELECTRICITY_PRICE, LOAD_DISPATCH, ... or x-..."},
        "signal_type": {"type": "string", "description": "level, price, setpoint, delta, ... (default: from the "
                                                         "signal name)"},
        "start": {"type": "string", "description": "ISO 8601 with a time zone (market time), or now / "
                                                   "now+DURATION on the market clock."},
        "intervals": _INTERVALS,
        "vens": {"type": "array", "items": {"type": "string"}, "description": "VEN names (none: every VEN)."},
        "priority": {"type": "integer", "minimum": 0, "maximum": 4294967295},
        "response_required": {"type": "string", "enum": ["always", "never"]},
        "start_after": {"type": "string", "description": "Start randomisation: ISO 8601 duration."},
        "test_event": {"type": "boolean"}}},
    "EventChange": {"type": "object", "minProperties": 1, "properties": {
        "intervals": _INTERVALS, "start": {"type": "string"},
        "priority": {"type": "integer", "minimum": 0, "maximum": 4294967295}}},
    "EventSummary": {"type": "object", "required": ["event_id", "modification_number", "status", "targets"],
                     "properties": {
                         "event_id": {"type": "string"}, "modification_number": {"type": "integer", "minimum": 0},
                         "status": {"type": "string", "enum": ["far", "active", "completed", "cancelled"]},
                         "targets": {"type": "array", "items": {"type": "string"},
                                     "description": "VEN names (every registered VEN when the event has none)."}}},
    "Event": {"type": "object", "required": ["event_id", "status", "modification_number", "signals", "targets",
                                             "opts"],
              "properties": {
                  "event_id": {"type": "string"}, "modification_number": {"type": "integer", "minimum": 0},
                  "status": {"type": "string", "enum": ["far", "active", "completed", "cancelled"]},
                  "targets": {"type": "array", "items": {"type": "string"}},
                  "all_vens": {"type": "boolean"}, "start": {"type": "string", "format": "date-time"},
                  "priority": {"type": ["integer", "null"]},
                  "response_required": {"type": "string", "enum": ["always", "never"]},
                  "origin": {"type": "string", "enum": ["operator", "market"]},
                  "signals": {"type": "array", "items": {
                      "type": "object", "required": ["name", "type", "intervals"],
                      "properties": {"name": {"type": "string"}, "type": {"type": "string"},
                                     "currency": {"type": ["string", "null"]}, "intervals": _INTERVALS}}},
                  "opts": {"type": "object", "additionalProperties": {"enum": ["optIn", "optOut", None]},
                           "description": "VEN name -> its answer to the event (null: none yet)."}}},
    "Ven": {"type": "object", "required": ["ven_name", "ven_id", "registration_id", "active"], "properties": {
        "ven_name": {"type": "string"}, "ven_id": {"type": "string"}, "registration_id": {"type": "string"},
        "active": {"type": "boolean"}, "fingerprint": {"type": ["string", "null"]},
        "http_pull_model": {"type": "boolean"}, "transport_address": {"type": ["string", "null"]},
        "xml_signature": {"type": "boolean"}, "registered_at": {"type": "string", "format": "date-time"}}},
}


def add_openadr(doc: dict[str, Any]) -> None:
    """Add the OpenADR 2.0b paths, tags, security scheme and schemas to ``doc``."""
    doc["tags"] += [{"name": "openadr", "description": "OpenADR 2.0b simple HTTP (pull and push)"},
                    {"name": "openadr-operator", "description": "The operator's OpenADR events and VENs"}]
    doc["components"]["securitySchemes"]["operator"] = {
        "type": "http", "scheme": "bearer", "description": "The operator token in DATA_DIR/operator.token."}
    doc["components"]["schemas"].update(_SCHEMAS)
    event_id = _path_param("event_id", "The event's eiEvent eventID.")
    doc["paths"].update({
        f"{BASE_PATH}/{{service}}": {"post": {
            "summary": "An OpenADR 2.0b message to one of the VTN's services",
            "operationId": "openadrService", "tags": ["openadr"],
            "parameters": [_path_param("service", "The 2.0b service the message belongs to (another's: EI 451).",
                                       list(SERVICES))],
            "requestBody": {"required": True, "content": {"application/xml": {
                "schema": _XML_SCHEMA,
                "examples": _xml_examples([name for names in VEN_MESSAGES.values() for name in names])}}},
            "responses": {
                "200": _xml_reply("The 2.0b reply (a refusal carries its EI code in ei:eiResponse: 463 not "
                                  "registered, another certificate, a signature that does not hold or a replayed "
                                  "nonce; 451 wrong service or role; 452 unknown id; 454 invalid data).", VTN_MESSAGES),
                "400": _xml_reply("Not decodable: not well-formed, a DTD or entities, not OpenADR (oadrResponse "
                                  "with the EI code)."),
                "404": _xml_reply("No such service."),
                "405": _xml_reply("Not POST."),
                "413": _xml_reply("The body is larger than the VTN accepts."),
                "429": _xml_reply("Registrations from this address beyond the VTN's rate; see Retry-After."),
                "503": _xml_reply("The store cannot write (EI 503): nothing was stored; see Retry-After."),
            }}},
        f"{OPERATOR_PREFIX}/events": {
            "get": _operation("Every event with its signals, targets and the VENs' opts", "listEvents",
                              {"200": {"description": "Newest first.", "content": _json("Event", array=True)}}),
            "post": _operation("Create an event", "createEvent",
                               {"201": {"description": "Created.", "content": _json("EventSummary")}},
                               body="EventRequest"),
        },
        f"{OPERATOR_PREFIX}/events/{{event_id}}/modify": {"post": _operation(
            "Change an event's intervals, start or priority (modificationNumber + 1)", "modifyEvent",
            {"200": {"description": "Modified.", "content": _json("EventSummary")}}, body="EventChange",
            parameters=[event_id])},
        f"{OPERATOR_PREFIX}/events/{{event_id}}/cancel": {"post": _operation(
            "Cancel an event (modificationNumber + 1)", "cancelEvent",
            {"200": {"description": "Cancelled.", "content": _json("EventSummary")}}, parameters=[event_id])},
        f"{OPERATOR_PREFIX}/vens": {"get": _operation(
            "The registered VENs", "listVens",
            {"200": {"description": "Every VEN.", "content": _json("Ven", array=True)}})},
        f"{OPERATOR_PREFIX}/vens/{{name}}/{{action}}": {"post": _operation(
            "End a VEN's registration, or ask it to register again (on its next poll or push)", "venAction",
            {"200": {"description": "Done.", "content": _json("Ven")}},
            parameters=[_path_param("name", "The VEN's name."),
                        _path_param("action", "What to do.", ["cancel", "reregister"])])},
    })
