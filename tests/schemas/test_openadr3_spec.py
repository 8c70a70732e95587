"""The shipped OpenADR 3.1.0 document: it is the released file, the released file has the defects ERRATA lists
(each erratum is needed), the repaired document is valid OpenAPI, and bodies are checked against it."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import openapi_spec_validator
import pytest
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from transactive.errors import SchemaError
from transactive.schemas import openadr3
from transactive.schemas.openadr3 import ERRATA, apply_errata, load_upstream, spec

ROOT = Path(__file__).resolve().parents[2]
T0, T1 = "2026-12-04T10:00:00Z", "2026-12-04T10:05:00Z"


def _meta(object_id: str, object_type: str) -> dict[str, Any]:
    return {"id": object_id, "createdDateTime": T0, "modificationDateTime": T1, "objectType": object_type}


PROGRAM = {
    **_meta("program-1", "PROGRAM"),
    "programName": "dynamic-price",
    "intervalPeriod": {"start": T0, "duration": "P1D"},
    "programDescriptions": [{"URL": "https://utility.example/programs/dynamic-price"}],
    "payloadDescriptors": [
        {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "units": "KWH", "currency": "EUR"},
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "readingType": "DIRECT_READ"},
    ],
    "targets": ["zone-1"],
}
EVENT = {
    **_meta("event-1", "EVENT"),
    "programID": "program-1",
    "eventName": "prices 2026-12-05",
    "priority": 0,
    "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "currency": "EUR"}],
    "intervalPeriod": {"start": "2026-12-05T00:00:00Z", "duration": "PT1H"},
    "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.217]}]},
                  {"id": 1, "payloads": [{"type": "PRICE", "values": [0.198]}]}],
    "reportDescriptors": [{"payloadType": "USAGE", "readingType": "DIRECT_READ", "units": "KWH"}],
}
VEN = {**_meta("ven-1", "VEN"), "clientID": "client-ven-1", "venName": "house-17", "targets": ["zone-1"],
       "attributes": [{"type": "LOCATION", "values": [52.1, 5.1]}]}
RESOURCE = {**_meta("resource-1", "RESOURCE"), "clientID": "client-ven-1", "resourceName": "heat-pump",
            "venID": "ven-1"}
REPORT = {
    **_meta("report-1", "REPORT"),
    "eventID": "event-1",
    "clientName": "house-17",
    "clientID": "client-ven-1",
    "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"}],
    "resources": [{"resourceName": "heat-pump", "intervalPeriod": {"start": T0, "duration": "PT1H"},
                   "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.25]}]}]}],
}
SUBSCRIPTION = {
    **_meta("subscription-1", "SUBSCRIPTION"),
    "clientName": "house-17",
    "clientID": "client-ven-1",
    "programID": "program-1",
    "objectOperations": [{"objects": ["EVENT"], "operations": ["CREATE", "UPDATE"],
                          "callbackUrl": "https://house-17.example/openadr3/callback", "bearerToken": "s3cret"}],
}
NOTIFICATION = {"objectType": "EVENT", "operation": "CREATE", "object": EVENT}
TOKEN = {"access_token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "token_type": "Bearer", "expires_in": 3600,
         "scope": "read_targets write_reports"}

#: (schema, body): one body of each kind a VTN answers with
EXAMPLES = {
    "program": PROGRAM,
    "event": EVENT,
    "ven": VEN,
    "resource": RESOURCE,
    "report": REPORT,
    "subscription": SUBSCRIPTION,
    "notification": NOTIFICATION,
    "clientCredentialResponse": TOKEN,
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["openadr3.yaml", "LICENSE", "NOTICE"])
def test_shipped_file_is_the_one_sources_names(name: str) -> None:
    sources = (ROOT / "schemas" / "SOURCES.md").read_text(encoding="utf-8")
    (listed,) = re.findall(rf"^  \| `openadr3/{re.escape(name)}` \| .+ \| `([0-9a-f]{{64}})` \|$", sources, re.M)
    assert _sha256(ROOT / "schemas" / "openadr3" / name) == listed


def test_upstream_document_is_refused_by_an_openapi_validator() -> None:
    with pytest.raises(OpenAPIValidationError, match="'null          -' is not of type 'array'"):
        openapi_spec_validator.validate(spec(repaired=False))


def test_repaired_document_is_valid_openapi() -> None:
    openapi_spec_validator.validate(spec())


#: the errata whose absence the OpenAPI validator reports; the others are about bodies, which a document
#: validator does not check (a discriminator's target and an unsatisfiable allOf are only found by validating a
#: body): test_each_body_erratum_is_needed shows those with a body that validates only when they are applied.
DOCUMENT_ERRATA = ["OA3-E1"]


@pytest.mark.parametrize("erratum_id", DOCUMENT_ERRATA)
def test_each_document_erratum_is_needed(erratum_id: str) -> None:
    others = tuple(e for e in ERRATA if e.id != erratum_id)
    with pytest.raises(OpenAPIValidationError):
        openapi_spec_validator.validate(apply_errata(load_upstream(), others))


BODY_ERRATA = {
    "OA3-E2": ("program", PROGRAM, ["$.payloadDescriptors[0]", "$.payloadDescriptors[1]"],
               "_PAYLOAD_DESCRIPTOR' could not be resolved"),
    "OA3-E3": ("notification", NOTIFICATION, ["$.object"], "reference '#/components/schemas/EVENT' could not be"),
    "OA3-E4": ("ven", VEN, ["$.objectType"], "'VEN' is not one of ['BL_VEN_REQUEST']"),
    "OA3-E5": ("resource", RESOURCE, ["$.objectType"], "'RESOURCE' is not one of ['BL_RESOURCE_REQUEST']"),
}


def test_every_erratum_is_shown_needed_by_a_document_or_a_body_check() -> None:
    assert sorted([*DOCUMENT_ERRATA, *BODY_ERRATA]) == sorted(e.id for e in ERRATA)


@pytest.mark.parametrize("erratum_id", sorted(BODY_ERRATA))
def test_each_body_erratum_is_needed(erratum_id: str) -> None:
    schema, body, paths, message = BODY_ERRATA[erratum_id]
    errors = openadr3.validate_body(schema, body, repaired=[e.id for e in ERRATA if e.id != erratum_id])
    assert [e.path for e in errors] == paths
    assert all(message in e.message for e in errors)
    assert openadr3.validate_body(schema, body) == []


def test_errata_are_chosen_by_id() -> None:
    assert spec(repaired=["OA3-E1"]) == apply_errata(load_upstream(), ERRATA[:1])
    with pytest.raises(KeyError):
        spec(repaired=["OA3-E9"])


def test_errata_refuse_a_document_that_is_not_the_released_one() -> None:
    with pytest.raises(SchemaError, match="OA3-E1"):
        apply_errata(spec())  # already repaired: the first erratum does not find the released value


def test_dates_stay_text_as_in_json() -> None:
    assert spec()["components"]["schemas"]["dateTime"]["example"] == "2023-06-15T09:30:00Z"


def test_spec_is_a_copy_the_caller_may_change() -> None:
    document = spec()
    document["components"]["schemas"].clear()
    assert "program" in spec()["components"]["schemas"]
    assert openadr3.validate_body("program", PROGRAM) == []


@pytest.mark.parametrize("schema", sorted(EXAMPLES))
def test_example_bodies_validate_against_the_repaired_document(schema: str) -> None:
    assert openadr3.validate_body(schema, EXAMPLES[schema]) == []


def test_listed_defects_make_exactly_these_examples_fail_upstream() -> None:
    failing = {schema for schema, body in EXAMPLES.items() if openadr3.validate_body(schema, body, repaired=False)}
    assert failing == {"program", "notification", "ven", "resource"}


def _request(body: dict[str, Any], *server_fields: str) -> dict[str, Any]:
    drop = {"id", "createdDateTime", "modificationDateTime", "objectType", *server_fields}
    return {k: v for k, v in body.items() if k not in drop}


OPERATIONS = [
    ("POST", "/programs", "request", _request(PROGRAM)),
    ("POST", "/programs", 201, PROGRAM),
    ("GET", "/programs", 200, [PROGRAM]),
    ("PUT", "/programs/{programID}", 200, PROGRAM),
    ("POST", "/events", "request", _request(EVENT)),
    ("GET", "/events/{eventID}", 200, EVENT),
    ("POST", "/reports", "request", _request(REPORT, "clientID")),
    ("POST", "/reports", 201, REPORT),
    ("POST", "/subscriptions", "request", _request(SUBSCRIPTION, "clientID")),
    ("GET", "/subscriptions", 200, [SUBSCRIPTION]),
    ("POST", "/vens", "request", {"objectType": "VEN_VEN_REQUEST", "venName": "house-17"}),
    ("POST", "/vens", "request", {**_request(VEN), "objectType": "BL_VEN_REQUEST"}),
    ("POST", "/vens", 201, VEN),
    ("POST", "/resources", "request", {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "pv", "venID": "ven-1"}),
    ("GET", "/resources", 200, [RESOURCE]),
    ("POST", "/auth/token", "request", {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}),
    ("POST", "/auth/token", 200, TOKEN),
    ("GET", "/auth/server", 200, {"tokenURL": "https://vtn.example/openadr3/3.1.0/auth/token"}),
    ("GET", "/programs/{programID}", 404, {"title": "Not Found", "status": 404, "detail": "no program-9"}),
    ("GET", "/notifiers", 200, {"WEBHOOK": True}),
]


@pytest.mark.parametrize(("method", "path", "status", "body"), OPERATIONS)
def test_requests_and_replies_validate_against_their_operation(method: str, path: str, status: Any, body: Any) -> None:
    assert openadr3.validate_operation(method, path, status, body) == []


def test_operation_reply_checks_each_item_of_a_list() -> None:
    errors = openadr3.validate_operation("GET", "/programs", 200, [PROGRAM, {**PROGRAM, "programName": ""}])
    assert [(e.path, e.message) for e in errors] == [("$[1].programName", "'' should be non-empty")]


def test_operation_the_document_does_not_define_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        openadr3.validate_operation("PATCH", "/programs", 200, {})


def _broken(body: dict[str, Any], pointer: list[Any], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(body)
    node: Any = broken
    for part in pointer[:-1]:
        node = node[part]
    if value is KeyError:
        del node[pointer[-1]]
    else:
        node[pointer[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("schema", "body", "path", "message"),
    [
        ("program", _broken(PROGRAM, ["programName"], KeyError), "$.programName", "'programName' is a required"),
        ("event", _broken(EVENT, ["intervals", 1, "id"], "one"), "$.intervals[1].id", "'one' is not of type"),
        ("event", _broken(EVENT, ["intervalPeriod", "start"], "tomorrow"), "$.intervalPeriod.start",
         "'tomorrow' is not a 'date-time'"),
        ("event", _broken(EVENT, ["intervalPeriod", "duration"], "1 hour"), "$.intervalPeriod.duration",
         "'1 hour' does not match"),
        ("event", _broken(EVENT, ["programID"], "program 1"), "$.programID", "'program 1' does not match"),
        ("report", _broken(REPORT, ["resources", 0, "intervals", 0, "payloads", 0, "type"], ""),
         "$.resources[0].intervals[0].payloads[0].type", "'' should be non-empty"),
        ("subscription", _broken(SUBSCRIPTION, ["objectOperations", 0, "operations", 0], "WATCH"),
         "$.objectOperations[0].operations[0]", "'WATCH' is not one of"),
        ("notification", _broken(NOTIFICATION, ["object", "programID"], KeyError), "$.object.programID",
         "'programID' is a required"),
        ("clientCredentialResponse", _broken(TOKEN, ["token_type"], "MAC"), "$.token_type", "'MAC' is not one of"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(schema: str, body: Any, path: str, message: str) -> None:
    errors = openadr3.validate_body(schema, body)
    assert [e.path for e in errors] == [path]
    assert errors[0].message.startswith(message)


#: what openadr3-client sends for a program it leaves mostly unset: every optional field as null
CLIENT_PROGRAM = {
    "programName": "dynamic-price",
    "attributes": None,  # nullable: kept
    "intervalPeriod": None,  # a $ref, not nullable: dropped
    "programDescriptions": None,  # nullable: kept
    "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "units": None,
                            "currency": None}],  # both nullable: kept
    "targets": None,  # nullable: kept
}
CLIENT_EVENT = {
    "programID": "program-1",
    "eventName": None,  # nullable: kept
    "duration": None,  # dropped
    "intervalPeriod": {"start": T0, "duration": None, "randomizeStart": None},  # both dropped
    "intervals": [{"id": 0, "intervalPeriod": None, "payloads": [{"type": "PRICE", "values": [0.2]}]}],  # dropped
}


@pytest.mark.parametrize(
    ("schema", "body", "dropped"),
    [
        ("programRequest", CLIENT_PROGRAM, ("$.intervalPeriod",)),
        ("eventRequest", CLIENT_EVENT, ("$.duration", "$.intervalPeriod.duration", "$.intervalPeriod.randomizeStart",
                                        "$.intervals[0].intervalPeriod")),
    ],
)
def test_lenient_nulls_drop_exactly_the_nulls_the_schema_forbids(schema: str, body: Any, dropped: Any) -> None:
    assert openadr3.validate_body(schema, body) != []
    cleaned, found = openadr3.drop_forbidden_nulls(schema, body)
    assert sorted(found) == sorted(dropped)
    assert openadr3.validate_body(schema, cleaned) == []
    assert openadr3.validate_body(schema, body, lenient_nulls=True) == []
    kept = sorted(k for k, v in body.items() if v is None and k in cleaned)
    assert kept == sorted(k for k, v in cleaned.items() if v is None)
    assert body["intervalPeriod"] is None or "duration" in body["intervalPeriod"], "the caller's body is unchanged"


def test_lenient_nulls_keep_the_allowed_nulls() -> None:
    cleaned, _found = openadr3.drop_forbidden_nulls("programRequest", CLIENT_PROGRAM)
    assert cleaned["attributes"] is None
    assert cleaned["targets"] is None
    assert cleaned["payloadDescriptors"][0] == CLIENT_PROGRAM["payloadDescriptors"][0]


def test_lenient_nulls_still_refuse_a_required_field_sent_as_null() -> None:
    errors = openadr3.validate_body("eventRequest", {**CLIENT_EVENT, "programID": None}, lenient_nulls=True)
    assert [e.path for e in errors] == ["$.programID"]


def test_lenient_nulls_apply_to_operations_too() -> None:
    assert openadr3.validate_operation("POST", "/events", "request", CLIENT_EVENT) != []
    assert openadr3.validate_operation("POST", "/events", "request", CLIENT_EVENT, lenient_nulls=True) == []


def test_docs_page_lists_every_erratum() -> None:
    page = (ROOT / "docs" / "openadr3.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (OA3-E\d+) \| `([^`]+)` \|", page, flags=re.M)
    assert rows == [(e.id, e.pointer) for e in ERRATA]


@pytest.mark.parametrize("value", [["x"], {"a": 1}, 7, "program"])
def test_an_objecttype_no_schema_has_is_a_field_error_not_an_exception(value: object) -> None:
    body: dict[str, Any] = {"programName": "p", "payloadDescriptors": [{"objectType": value, "payloadType": "PRICE"}]}
    problems = openadr3.validate_body("programRequest", body)
    assert [p.path for p in problems] == ["$.payloadDescriptors[0].objectType"]
    kept, dropped = openadr3.drop_forbidden_nulls("programRequest", {**body, "intervalPeriod": None})
    assert dropped == ()  # nothing dropped from a body refused anyway
    assert kept["intervalPeriod"] is None


def test_a_problem_instance_must_be_an_absolute_uri() -> None:
    assert openadr3.validate_body("problem", {"instance": "https://vtn.example/openadr3/3.1.0/events/x"}) == []
    assert {p.path for p in openadr3.validate_body("problem", {"instance": "/openadr3/3.1.0/events/x"})} == {
        "$.instance"}


@pytest.mark.parametrize(("path", "template"), [
    ("/programs", "/programs"), ("/programs/abc?x=1", "/programs/{programID}"), ("/auth/token", "/auth/token"),
    ("/notifiers/mqtt/topics/programs", "/notifiers/mqtt/topics/programs"),
    ("/notifiers/mqtt/topics/programs/p1/events", "/notifiers/mqtt/topics/programs/{programID}/events"),
    ("/notifiers/mqtt/topics/vens/v1", "/notifiers/mqtt/topics/vens/{venID}"), ("/nothing/here", None),
    ("/programs/a/b", None)])
def test_a_request_path_finds_its_template(path: str, template: str | None) -> None:
    assert openadr3.path_template(path) == template
