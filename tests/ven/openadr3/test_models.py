"""The typed OpenADR 3 models against the shipped specification: every model's wire form is valid for its schema,
the document's own example values load and dump back unchanged, and the wire rules (camelCase, no nulls) hold."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from transactive.schemas.openadr3 import spec, validate_body
from transactive.ven.openadr3 import models as m

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
META = {"id": "obj-1", "created_date_time": T0, "modification_date_time": T0 + timedelta(minutes=5)}

PRICE_DESCRIPTOR = m.EventPayloadDescriptor(payload_type="PRICE", units="KWH", currency="EUR")
USAGE_DESCRIPTOR = m.ReportPayloadDescriptor(payload_type="USAGE", reading_type="DIRECT_READ", units="KWH",
                                             accuracy=0.5, confidence=90)
HOURLY = m.IntervalPeriod(start=T0, duration="PT1H", randomize_start="PT5M")
PRICE_INTERVALS = [m.Interval(id=n, payloads=[m.ValuesMap(type="PRICE", values=[0.1 + n / 100])]) for n in range(3)]
USAGE_REQUEST = m.ReportRequest(
    event_id="event-1", client_name="ven-1", report_name="ven-1 usage", payload_descriptors=[USAGE_DESCRIPTOR],
    resources=[m.ReportResource(resource_name="ven-1-pv", interval_period=HOURLY, intervals=[
        m.Interval(id=0, interval_period=m.IntervalPeriod(start=T0, duration="PT1H"),
                   payloads=[m.ValuesMap(type="USAGE", values=[-1.25])])])])
PROGRAM_REQUEST = m.ProgramRequest(
    program_name="market-ctx-1", interval_period=m.IntervalPeriod(start=T0, duration="P1Y"),
    program_descriptions=[m.ProgramDescription(URL="https://example.com/program")],
    payload_descriptors=[PRICE_DESCRIPTOR, USAGE_DESCRIPTOR],
    attributes=[m.ValuesMap(type="LOCATION", values=[m.Point(x=52.1, y=5.1)])], targets=["group-1"])
EVENT_REQUEST = m.EventRequest(
    program_id="program-1", event_name="prices 21 June", duration="PT3H", priority=0, targets=["group-1"],
    report_descriptors=[m.ReportDescriptor(payload_type="USAGE", units="KWH", aggregate=False, start_interval=-1,
                                           num_intervals=-1, historical=True, frequency=-1, repeat=1,
                                           report_intervals="INTERVALS")],
    payload_descriptors=[PRICE_DESCRIPTOR], interval_period=HOURLY, intervals=PRICE_INTERVALS)
SUBSCRIPTION_REQUEST = m.SubscriptionRequest(
    client_name="ven-1", program_id="program-1", targets=["group-1"],
    object_operations=[m.ObjectOperation(objects=["EVENT", "PROGRAM"], operations=["CREATE", "UPDATE", "DELETE"],
                                         callback_url="https://ven.example.com/hook", bearer_token="s3cret")])
VEN = m.Ven(**META, client_id="client-ven-1", ven_name="ven-1", targets=["group-1"],
            attributes=[m.ValuesMap(type="MAKE", values=["acme"])])

#: (schema name, a realistic object of its model)
EXAMPLES: list[tuple[str, BaseModel]] = [
    ("point", m.Point(x=1, y=2.5)),
    ("valuesMap", m.ValuesMap(type="SIMPLE", values=[1, 2.5, "on", True, m.Point(x=0, y=1)])),
    ("intervalPeriod", HOURLY),
    ("interval", PRICE_INTERVALS[0]),
    ("eventPayloadDescriptor", PRICE_DESCRIPTOR),
    ("reportPayloadDescriptor", USAGE_DESCRIPTOR),
    ("reportDescriptor", m.ReportDescriptor(payload_type="USAGE")),
    ("programRequest", PROGRAM_REQUEST),
    ("program", m.Program(**META, **dict(PROGRAM_REQUEST))),
    ("eventRequest", EVENT_REQUEST),
    ("event", m.Event(**META, **dict(EVENT_REQUEST))),
    ("reportRequest", USAGE_REQUEST),
    ("report", m.Report(**META, **dict(USAGE_REQUEST), client_id="client-ven-1")),
    ("subscriptionRequest", SUBSCRIPTION_REQUEST),
    ("subscription", m.Subscription(**META, **dict(SUBSCRIPTION_REQUEST), client_id="client-ven-1")),
    ("VenVenRequest", m.VenVenRequest(ven_name="ven-1")),
    ("BlVenRequest", m.BlVenRequest(client_id="client-ven-1", ven_name="ven-1", targets=["group-1"])),
    ("ven", VEN),
    ("VenResourceRequest", m.VenResourceRequest(resource_name="ven-1-pv", ven_id="ven-7")),
    ("BlResourceRequest", m.BlResourceRequest(client_id="client-ven-1", resource_name="pv", ven_id="ven-7")),
    ("resource", m.Resource(**META, client_id="client-ven-1", resource_name="ven-1-pv", ven_id="ven-7")),
    ("notification", m.Notification(object_type="VEN", operation="CREATE", object=VEN, targets=["group-1"])),
    ("problem", m.Problem(type="about:blank", title="Not Found", status=404, detail="no event e-9",
                          instance="https://vtn.example.com/openadr3/3.1.0/events/e-9")),
    ("clientCredentialResponse", m.TokenResponse(access_token="eyJ.abc.def", token_type="Bearer", expires_in=3600,
                                                 scope="read_targets write_reports")),
    ("authServerInfo", m.AuthServerInfo(tokenURL="https://vtn.example.com/openadr3/3.1.0/auth/token")),
]


@pytest.mark.parametrize(("schema", "model"), EXAMPLES, ids=[s for s, _m in EXAMPLES])
def test_every_models_wire_form_is_valid_for_its_schema(schema: str, model: Any) -> None:
    wire = model.wire()
    assert validate_body(schema, wire) == []
    assert type(model).model_validate(wire) == model


def test_every_public_model_has_an_example() -> None:
    public = {obj for name in m.__all__ if inspect.isclass(obj := getattr(m, name)) and issubclass(obj, BaseModel)}
    public -= {m.Oa3Model, m.ProgramDescription, m.ReportResource, m.ObjectOperation}  # inside others' examples
    assert public <= {type(model) for _s, model in EXAMPLES}


# -- the document's own examples -----------------------------------------------------------------------------

#: the objectType of each stored object (the document's example for objectTypes is EVENT, for all of them)
OBJECT_TYPES = {"program": "PROGRAM", "event": "EVENT", "report": "REPORT", "subscription": "SUBSCRIPTION",
                "ven": "VEN", "resource": "RESOURCE"}


def _example(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A value made of the document's ``example`` values, with every property of every object."""
    if "$ref" in schema:
        return _example(document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], document)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_example(part, document))
        return merged
    if "oneOf" in schema or "anyOf" in schema:
        return _example((schema.get("oneOf") or schema["anyOf"])[0], document)
    if "properties" in schema:
        return {name: _example(sub, document) for name, sub in schema["properties"].items()}
    if "example" in schema:
        return schema["example"]
    if schema.get("type") == "array":
        return [_example(schema["items"], document)]
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "uri":
        return "https://example.com/x"
    if schema.get("format") == "date-time":
        return "2023-06-15T09:30:00Z"
    return {"string": "x", "integer": 1, "number": 1.5, "boolean": True}[schema.get("type", "string")]


SPEC_MODELS: dict[str, type[m.Oa3Model] | type[m.TokenResponse]] = {
    "program": m.Program, "programRequest": m.ProgramRequest, "event": m.Event, "eventRequest": m.EventRequest,
    "interval": m.Interval, "intervalPeriod": m.IntervalPeriod, "valuesMap": m.ValuesMap, "point": m.Point,
    "eventPayloadDescriptor": m.EventPayloadDescriptor, "reportPayloadDescriptor": m.ReportPayloadDescriptor,
    "reportDescriptor": m.ReportDescriptor, "report": m.Report, "reportRequest": m.ReportRequest,
    "subscription": m.Subscription, "subscriptionRequest": m.SubscriptionRequest, "ven": m.Ven,
    "VenVenRequest": m.VenVenRequest, "BlVenRequest": m.BlVenRequest, "resource": m.Resource,
    "VenResourceRequest": m.VenResourceRequest, "BlResourceRequest": m.BlResourceRequest,
    "problem": m.Problem, "clientCredentialResponse": m.TokenResponse, "authServerInfo": m.AuthServerInfo,
    "notification": m.Notification,
}


@pytest.mark.parametrize("schema", sorted(SPEC_MODELS))
def test_the_documents_example_values_load_and_dump_back_unchanged(schema: str) -> None:
    document = spec()
    example = _example(document["components"]["schemas"][schema], document)
    if schema in OBJECT_TYPES:
        example["objectType"] = OBJECT_TYPES[schema]
    if schema == "notification":  # its object is the first of the oneOf (a program), as its objectType says
        example["object"]["objectType"] = example["objectType"] = "PROGRAM"
    assert validate_body(schema, example) == []  # the example is made right
    loaded = SPEC_MODELS[schema].model_validate(example)
    assert loaded.wire() == example


# -- the wire rules ------------------------------------------------------------------------------------------


def test_unset_optional_fields_are_omitted_not_null() -> None:
    assert m.EventRequest(program_id="p-1").wire() == {"programID": "p-1"}
    assert m.ReportDescriptor(payload_type="USAGE").wire() == {"payloadType": "USAGE"}
    assert m.VenVenRequest(ven_name="v").wire() == {"objectType": "VEN_VEN_REQUEST", "venName": "v"}


def test_fields_are_camel_case_on_the_wire_and_snake_case_in_python() -> None:
    event = m.Event.model_validate({"id": "e-1", "createdDateTime": "2026-06-21T12:00:00Z",
                                    "modificationDateTime": "2026-06-21T12:00:00Z", "objectType": "EVENT",
                                    "programID": "p-1", "intervalPeriod": {"start": "2026-06-21T12:00:00Z",
                                                                           "duration": "PT15M"}})
    assert event.program_id == "p-1"
    assert event.interval_period is not None
    assert event.interval_period.start == T0
    assert set(event.wire()) == {"id", "createdDateTime", "modificationDateTime", "objectType", "programID",
                                 "intervalPeriod"}
    assert m.Event(**META, program_id="p-1").wire()["programID"] == "p-1"


def test_a_reply_with_nulls_and_unknown_fields_still_loads() -> None:
    program = m.Program.model_validate({"id": "p-1", "createdDateTime": "2026-06-21T12:00:00Z",
                                        "modificationDateTime": "2026-06-21T12:00:00Z", "objectType": "PROGRAM",
                                        "programName": "x", "targets": None, "retailerName": "from 3.0"})
    assert program.targets is None
    assert "retailerName" not in program.wire()


def test_a_bearer_token_type_in_any_case_is_read() -> None:
    assert m.TokenResponse.model_validate({"access_token": "t", "token_type": "bearer"}).token_type == "Bearer"


@pytest.mark.parametrize(("model", "data"), [
    (m.IntervalPeriod, {"duration": "1 hour"}),
    (m.IntervalPeriod, {"start": "2026-06-21T12:00:00"}),  # no time zone
    (m.EventRequest, {"programID": "has space"}),
    (m.EventRequest, {}),
    (m.ReportPayloadDescriptor, {"payloadType": "USAGE", "confidence": 101}),
    (m.VenVenRequest, {"objectType": "BL_VEN_REQUEST", "venName": "v"}),
    (m.Notification, {"objectType": "EVENT", "operation": "CREATE", "object": {"objectType": "NOPE"}}),
])
def test_values_the_specification_forbids_are_refused(model: type[BaseModel], data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        HOURLY.duration = "PT2H"  # type: ignore[misc]


@pytest.mark.parametrize(("text", "value"), [
    ("PT1H", timedelta(hours=1)), ("PT15M", timedelta(minutes=15)), ("PT0S", timedelta(0)),
    ("P1D", timedelta(days=1)), ("P2W", timedelta(days=14)), ("-PT30S", timedelta(seconds=-30)),
    ("PT1.5S", timedelta(seconds=1.5)), ("P9999Y", None),
])
def test_durations_read_as_timedeltas(text: str, value: timedelta | None) -> None:
    assert m.duration_of(text) == value


@pytest.mark.parametrize(("value", "text"), [
    (timedelta(hours=1), "PT1H"), (timedelta(minutes=15), "PT15M"), (timedelta(0), "PT0S"),
    (timedelta(hours=1, seconds=30), "PT1H30S"), (timedelta(seconds=-90), "-PT1M30S"),
])
def test_timedeltas_write_as_iso_durations_that_read_back(value: timedelta, text: str) -> None:
    assert m.iso_duration(value) == text
    assert m.duration_of(text) == value


def test_a_text_that_is_no_duration_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        m.duration_of("an hour")
