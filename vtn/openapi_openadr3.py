"""The OpenADR 3.1 part of the VTN's own OpenAPI document (``GET /openapi.json``): the operator's client and
delivery resources, and where the OpenADR 3.1.0 API itself is described (the repaired specification, served at
``GET /openadr3/3.1.0/openapi.json``: the document as released cannot be used to generate a client)."""

from __future__ import annotations

from typing import Any

from transactive.vtn.openadr3_http import BASE, OPERATOR_PREFIX

__all__ = ["add_openadr3"]

_ROLE = {"type": "string", "enum": ["bl", "ven"], "description": "bl: the business logic; ven: a device."}
_SCOPES = {"type": "array", "items": {"type": "string"}, "description": "The OAuth2 scopes of the role."}
_WHEN = {"type": "string", "format": "date-time"}

_SCHEMAS: dict[str, Any] = {
    "Oa3Problem": {"type": "object", "required": ["title", "status", "detail"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "responseCode": {"type": "integer", "description": "The EI response code."},
        "field": {"type": "string", "description": "The field the refusal names."}}},
    "Oa3ClientRequest": {"type": "object", "required": ["role", "name"], "properties": {
        "role": _ROLE, "name": {"type": "string", "minLength": 1, "maxLength": 128}}},
    "Oa3NewClient": {"type": "object", "required": ["client_id", "client_secret", "role", "scopes", "name"],
                     "properties": {"client_id": {"type": "string"}, "role": _ROLE, "scopes": _SCOPES,
                                    "name": {"type": "string"},
                                    "client_secret": {"type": "string", "description": "Shown this once."}}},
    "Oa3Client": {"type": "object", "required": ["client_id", "name", "role", "scopes", "created", "revoked"],
                  "properties": {"client_id": {"type": "string"}, "name": {"type": "string"}, "role": _ROLE,
                                 "scopes": _SCOPES, "created": _WHEN,
                                 "revoked": {"type": ["string", "null"], "format": "date-time"}}},
    "Oa3Delivery": {"type": "object", "required": ["id", "subscriptionID", "url", "attempts"], "properties": {
        "id": {"type": "string"}, "subscriptionID": {"type": "string"}, "clientID": {"type": "string"},
        "url": {"type": "string"}, "objectType": {"type": "string"}, "operation": {"type": "string"},
        "object": {"type": "object"}, "attempts": {"type": "integer", "minimum": 0},
        "lastError": {"type": ["string", "null"]}, "created": _WHEN,
        "nextAttempt": {"type": ["string", "null"], "format": "date-time"},
        "givenUp": {"type": ["string", "null"], "format": "date-time"}}},
}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _errors(*statuses: str) -> dict[str, Any]:
    said = {"400": "The body is not what the operation takes (the field named).",
            "401": "No operator token, or a wrong one (EI 463).", "404": "No such client.",
            "503": "The store cannot write, or the VTN runs read-only (EI 503)."}
    return {s: {"description": said[s], "content": _json("Oa3Problem")} for s in statuses}


def _operation(summary: str, operation_id: str, responses: dict[str, Any], *statuses: str,
               body: str | None = None, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "operationId": operation_id, "tags": ["openadr3-operator"],
                          "security": [{"operator": []}], "responses": {**responses, **_errors("401", *statuses)}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if parameters:
        op["parameters"] = parameters
    return op


def add_openadr3(doc: dict[str, Any]) -> None:
    """Add the OpenADR 3 operator paths, the pointer to the OpenADR 3.1.0 document, tags and schemas to ``doc``."""
    doc["tags"] += [{"name": "openadr3", "description": f"OpenADR 3.1.0, under {BASE}: its own document is at "
                                                        f"{BASE}/openapi.json"},
                    {"name": "openadr3-operator", "description": "The operator's OpenADR 3 clients and webhooks"}]
    doc["components"]["securitySchemes"].setdefault("operator", {
        "type": "http", "scheme": "bearer", "description": "The operator token in DATA_DIR/operator.token."})
    doc["components"]["schemas"].update(_SCHEMAS)
    client_id = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"},
                 "description": "The client's id."}
    doc["paths"].update({
        f"{BASE}/openapi.json": {"get": {
            "summary": "The OpenADR 3.1.0 document this VTN serves: the specification with its errata repaired "
                       "(OpenAPI 3.0), its server this VTN's base URL",
            "operationId": "openadr3Document", "tags": ["openadr3"],
            "responses": {"200": {"description": "The document.", "content": {"application/json": {
                "schema": {"type": "object", "required": ["openapi", "info", "paths"]},
                "examples": {"document": {"summary": "Its first members", "value": {
                    "openapi": "3.0.0", "info": {"title": "OpenADR 3 API", "version": "3.1.0"},
                    "servers": [{"url": f"https://vtn.example.com{BASE}"}], "paths": {}}}}}}}}}},
        f"{OPERATOR_PREFIX}/clients": {
            "get": _operation("Every OpenADR 3 client (never a secret)", "listOpenadr3Clients",
                              {"200": {"description": "The clients.", "content": {"application/json": {"schema": {
                                  "type": "object", "required": ["clients"], "properties": {"clients": {
                                      "type": "array", "items": {"$ref": "#/components/schemas/Oa3Client"}}}}}}}}),
            "post": _operation("Make an OpenADR 3 client for a role", "createOpenadr3Client",
                               {"201": {"description": "Made; the secret is in this answer only.",
                                        "content": _json("Oa3NewClient")}}, "400", "503", body="Oa3ClientRequest"),
        },
        f"{OPERATOR_PREFIX}/clients/{{client_id}}": {"delete": _operation(
            "Revoke a client: its secret and every token it holds are refused from now on", "revokeOpenadr3Client",
            {"200": {"description": "Revoked (revoking again keeps the first time).", "content": _json("Oa3Client")}},
            "404", "503", parameters=[client_id])},
        f"{OPERATOR_PREFIX}/deliveries": {"get": _operation(
            "The webhook deliveries waiting to be sent again, and those given up (dead letters)",
            "listOpenadr3Deliveries",
            {"200": {"description": "Pending and given up.", "content": {"application/json": {"schema": {
                "type": "object", "required": ["pending", "dead"], "properties": {
                    "pending": {"type": "array", "items": {"$ref": "#/components/schemas/Oa3Delivery"}},
                    "dead": {"type": "array", "items": {"$ref": "#/components/schemas/Oa3Delivery"}}}}}}}})},
    })
