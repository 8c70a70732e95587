"""Examples of the VTN's own JSON bodies (the operator's OpenADR 2.0b and OpenADR 3 APIs, /health), and the pass
that gives every JSON request and reply of the OpenAPI document an example built from them.

The CTS payloads carry their own examples (the example tables of :mod:`transactive.ei.cts.examples` and
:mod:`transactive.services.examples`, encoded); everything else is one example per component here, and a body
that wraps components (``{"clients": [Oa3Client, ...]}``, an array of events) gets one made of them. The test
``tests/vtn/test_openapi_examples.py`` checks every example against its own schema."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["COMPONENT_EXAMPLES", "add_examples", "example_of"]

_WHEN = "2026-11-21T12:00:00Z"
_SUMMARY = {"event_id": "evt-0007", "modification_number": 0, "status": "far", "targets": ["ven-boiler-3"]}
_CLIENT = {"client_id": "oa3-bl-3c9e0f", "name": "utility-dispatch", "role": "bl",
           "scopes": ["read_all", "write_programs", "write_events", "read_targets", "write_vens",
                      "write_subscriptions"],
           "created": _WHEN, "revoked": None}

#: one example of each JSON component (by its name under components/schemas)
COMPONENT_EXAMPLES: dict[str, Any] = {
    "OperatorError": {"error": "intervals[0].duration: not an ISO 8601 duration", "code": 454,
                      "field": "intervals[0].duration"},
    "EventRequest": {"signal_name": "ELECTRICITY_PRICE", "signal_type": "price", "start": "now+PT5M",
                     "intervals": [{"duration": "PT15M", "value": 0.21}, {"duration": "PT15M", "value": 0.34}],
                     "vens": ["ven-boiler-3"], "priority": 1, "response_required": "always"},
    "EventChange": {"intervals": [{"duration": "PT30M", "value": 0.28}], "priority": 2},
    "EventSummary": _SUMMARY,
    "Event": {**_SUMMARY, "all_vens": False, "start": "2026-11-21T12:05:00Z", "priority": 1,
              "response_required": "always", "origin": "operator",
              "signals": [{"name": "ELECTRICITY_PRICE", "type": "price", "currency": "USD",
                           "intervals": [{"duration": "PT15M", "value": 0.21}, {"duration": "PT15M", "value": 0.34}]}],
              "opts": {"ven-boiler-3": "optIn"}},
    "Ven": {"ven_name": "ven-boiler-3", "ven_id": "ven-5d1c07", "registration_id": "reg-8e21f4", "active": True,
            "fingerprint": None, "http_pull_model": True, "transport_address": None, "xml_signature": False,
            "registered_at": "2026-11-21T11:58:42Z"},
    "Oa3Problem": {"type": "about:blank", "title": "Bad Request", "status": 400,
                   "detail": "role: must be bl or ven", "responseCode": 454, "field": "role"},
    "Oa3ClientRequest": {"role": "bl", "name": "utility-dispatch"},
    "Oa3NewClient": {key: _CLIENT[key] for key in ("client_id", "role", "scopes", "name")}
    | {"client_secret": "s3Yx0cQm2bT7wVd9LkRf4hJp"},
    "Oa3Client": _CLIENT,
    "Oa3Delivery": {"id": "dlv-0012", "subscriptionID": "sub-0003", "clientID": "oa3-ven-71aa02",
                    "url": "https://ven.example.net/openadr3/callbacks", "objectType": "EVENT",
                    "operation": "POST", "object": {"id": "evt-0042", "programID": "prg-0001"}, "attempts": 3,
                    "lastError": "connection refused", "created": _WHEN, "nextAttempt": "2026-11-21T12:04:00Z",
                    "givenUp": None},
}


def example_of(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """An example value of ``schema``: a component's own example, or one built from the parts' examples.
    KeyError for a schema it cannot build one for (an object without properties, a bare string)."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[1]
        if name in COMPONENT_EXAMPLES:
            return copy.deepcopy(COMPONENT_EXAMPLES[name])
        return example_of(components[name], components)
    if schema.get("type") == "array":
        return [example_of(schema["items"], components)]
    if schema.get("type") == "object" and schema.get("properties"):
        return {key: example_of(part, components) for key, part in schema["properties"].items()}
    raise KeyError(f"no example for {schema}")


def add_examples(doc: dict[str, Any]) -> None:
    """Give each JSON request body and reply of ``doc`` that has none an example built by :func:`example_of`
    (a body it cannot build one for is left without: the test that every body has one names it)."""
    components = doc["components"]["schemas"]
    for item in doc["paths"].values():
        for operation in item.values():
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            for body in bodies:
                media = body.get("content", {}).get("application/json")
                if media is None or "examples" in media or "example" in media:
                    continue
                try:
                    media["examples"] = {"example": {"value": example_of(media["schema"], components)}}
                except KeyError:
                    continue
