"""Typed OpenADR 3.1.0 objects (pydantic v2) for the VEN library: what :class:`~.client.Oa3Client` sends and
returns, never dicts.

Written by hand, not generated. datamodel-code-generator is not a dependency of the project, and what it would
generate from the released document reproduces its defects: ``ven`` and ``resource`` are an ``allOf`` whose
``objectType`` no value can satisfy (errata OA3-E4/E5 in :mod:`transactive.schemas.openadr3`), the
discriminators name schemas that do not exist (OA3-E2/E3), and the anonymous inline objects (a report's
resources, a subscription's objectOperations, a program's descriptions) get generated names. Here each object of
the specification is one class named after its schema, with the repaired meaning. What keeps the classes honest
is ``tests/ven/openadr3/test_models.py``: every model's wire form validates against the shipped document
(``validate_body``), and objects built from the document's own ``example`` values load and dump back unchanged.

On the wire the fields use the specification's camelCase names (``programID``, ``intervalPeriod``); in Python
they are snake_case (``program_id``, ``interval_period``); both are accepted when building. :meth:`Oa3Model.wire`
gives the JSON form: optional fields left unset (``None``) are omitted, never sent as ``null``. Fields the
specification gives a default (a report descriptor's ``aggregate``, ``startInterval``, ...) are ``None`` when
not given, which means that default. Unknown fields in a reply are ignored, so a VTN of a later minor version
still reads. Objects are frozen; change one with ``model_copy(update=...)``.

Durations stay ISO 8601 strings (checked against the document's pattern): they may count years and months,
which :class:`~datetime.timedelta` cannot hold; :func:`duration_of` converts the ones that can, and
:func:`iso_duration` writes one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from transactive.protocol.openadr3 import DURATION_PATTERN, INFINITE_DURATION, duration_of, iso_duration

__all__ = [
    "INFINITE_DURATION",
    "AuthServerInfo",
    "BlResourceRequest",
    "BlVenRequest",
    "Event",
    "EventPayloadDescriptor",
    "EventRequest",
    "Interval",
    "IntervalPeriod",
    "Notification",
    "ObjectOperation",
    "ObjectType",
    "Oa3Model",
    "Oa3Object",
    "Operation",
    "PayloadDescriptor",
    "Point",
    "Problem",
    "Program",
    "ProgramDescription",
    "ProgramRequest",
    "Report",
    "ReportDescriptor",
    "ReportPayloadDescriptor",
    "ReportRequest",
    "ReportResource",
    "Resource",
    "Subscription",
    "SubscriptionRequest",
    "TokenResponse",
    "ValuesMap",
    "Ven",
    "VenResourceRequest",
    "VenVenRequest",
    "duration_of",
    "iso_duration",
]

Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]
ObjectID = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]*$", min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Target = Name
Uri = Annotated[str, StringConstraints(min_length=2, max_length=8000)]

#: the kinds of objects the API addresses
ObjectType = Literal["PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE"]
#: what a subscription or a notification is about
Operation = Literal["CREATE", "READ", "UPDATE", "DELETE"]


def _wire_name(field: str) -> str:
    """snake_case to the specification's camelCase, where an ``id`` part is ``ID`` (``program_id`` -> ``programID``)."""
    head, *rest = field.split("_")
    return head + "".join("ID" if part == "id" else part.capitalize() for part in rest)


class Oa3Model(BaseModel):
    """The base of every object: camelCase on the wire, snake_case in Python, frozen, unknown fields ignored."""

    # python-re: the document's duration pattern has a look-ahead, which pydantic's default engine lacks
    model_config = ConfigDict(alias_generator=_wire_name, populate_by_name=True, frozen=True, extra="ignore",
                              regex_engine="python-re")

    def wire(self) -> dict[str, Any]:
        """The JSON form (field names as the specification spells them; unset optional fields omitted)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """The object a JSON value describes (``pydantic.ValidationError`` when it does not fit)."""
        return cls.model_validate(data)


class Point(Oa3Model):
    """A pair of numbers, e.g. a point of a curve."""

    x: float
    y: float


class ValuesMap(Oa3Model):
    """Values of one ``type`` (``PRICE``, ``USAGE``, ...; the Definitions' names or private ones)."""

    type: Name
    values: list[bool | int | float | str | Point]


class IntervalPeriod(Oa3Model):
    """When intervals start and how long they last (and the random offset a client may add to the start)."""

    start: AwareDatetime | None = None
    duration: Duration | None = None
    randomize_start: Duration | None = None


class Interval(Oa3Model):
    """One interval: a client-chosen ``id`` (not a sequence number), its own period if it has one, its payloads."""

    id: int
    interval_period: IntervalPeriod | None = None
    payloads: list[ValuesMap]

    def payload(self, type_: str) -> ValuesMap | None:
        """The payload of that type, if the interval has one."""
        return next((p for p in self.payloads if p.type == type_), None)


class EventPayloadDescriptor(Oa3Model):
    """Context of an event payload type: its units and, for a price, the currency."""

    object_type: Literal["EVENT_PAYLOAD_DESCRIPTOR"] = "EVENT_PAYLOAD_DESCRIPTOR"
    payload_type: Name
    units: Name | None = None
    currency: str | None = None


class ReportPayloadDescriptor(Oa3Model):
    """Context of a report payload type: reading type, units, accuracy, confidence (0-100)."""

    object_type: Literal["REPORT_PAYLOAD_DESCRIPTOR"] = "REPORT_PAYLOAD_DESCRIPTOR"
    payload_type: Name
    reading_type: Name | None = None
    units: Name | None = None
    accuracy: float | None = None
    confidence: Annotated[int, Field(ge=0, le=100)] | None = None


#: a program's payload descriptor: of its events or of the reports it expects
PayloadDescriptor = Annotated[EventPayloadDescriptor | ReportPayloadDescriptor, Field(discriminator="object_type")]


class ReportDescriptor(Oa3Model):
    """A report an event asks of VENs. Unset fields mean the specification's defaults: not ``aggregate``,
    ``start_interval`` -1 (at the end of the last interval), ``num_intervals`` -1 (all), ``historical``,
    ``frequency`` -1 (as num_intervals), ``repeat`` 1, ``report_intervals`` INTERVALS."""

    payload_type: Name
    reading_type: Name | None = None
    units: Name | None = None
    targets: list[Target] | None = None
    aggregate: bool | None = None
    start_interval: int | None = None
    num_intervals: int | None = None
    historical: bool | None = None
    frequency: int | None = None
    repeat: int | None = None
    report_intervals: Literal["INTERVALS", "SUB_INTERVALS", "OPEN_INTERVALS"] | None = None


class _Metadata(Oa3Model):
    """What the VTN writes on every object it stores."""

    id: ObjectID
    created_date_time: AwareDatetime
    modification_date_time: AwareDatetime


class ProgramDescription(Oa3Model):
    """A link to a human or machine readable description of a program."""

    url: Uri = Field(alias="URL")


class ProgramRequest(Oa3Model):
    """A program as a business logic client writes it."""

    program_name: Name
    interval_period: IntervalPeriod | None = None
    program_descriptions: list[ProgramDescription] | None = None
    payload_descriptors: list[PayloadDescriptor] | None = None
    attributes: list[ValuesMap] | None = None
    targets: list[Target] | None = None


class Program(_Metadata, ProgramRequest):
    """A program as the VTN stores it."""

    object_type: Literal["PROGRAM"] = "PROGRAM"


class EventRequest(Oa3Model):
    """An event as a business logic client writes it. ``interval_period`` is the default start and duration of
    intervals without their own."""

    program_id: ObjectID
    event_name: str | None = None
    duration: Duration | None = None
    priority: Annotated[int, Field(ge=0)] | None = None
    targets: list[Target] | None = None
    report_descriptors: list[ReportDescriptor] | None = None
    payload_descriptors: list[EventPayloadDescriptor] | None = None
    interval_period: IntervalPeriod | None = None
    intervals: list[Interval] | None = None

    def payload_descriptor(self, payload_type: str) -> EventPayloadDescriptor | None:
        """The descriptor of that payload type, if the event has one."""
        return next((d for d in self.payload_descriptors or () if d.payload_type == payload_type), None)


class Event(_Metadata, EventRequest):
    """An event as the VTN stores it."""

    object_type: Literal["EVENT"] = "EVENT"


class ReportResource(Oa3Model):
    """One resource's data in a report: its intervals (with the report payloads) and their default period."""

    resource_name: Name
    interval_period: IntervalPeriod | None = None
    intervals: list[Interval]


class ReportRequest(Oa3Model):
    """A report as a VEN writes it, about one event."""

    event_id: ObjectID
    client_name: Name
    report_name: str | None = None
    payload_descriptors: list[ReportPayloadDescriptor] | None = None
    resources: list[ReportResource]


class Report(_Metadata, ReportRequest):
    """A report as the VTN stores it, with the client that wrote it."""

    object_type: Literal["REPORT"] = "REPORT"
    client_id: Name


class ObjectOperation(Oa3Model):
    """Which operations on which kinds of objects a subscription is told of, and where."""

    objects: list[ObjectType]
    operations: list[Operation]
    callback_url: Uri = Field(alias="callbackUrl")
    bearer_token: str | None = None


class SubscriptionRequest(Oa3Model):
    """A subscription as a client writes it."""

    client_name: Name
    program_id: ObjectID | None = None
    object_operations: list[ObjectOperation]
    targets: list[Target] | None = None


class Subscription(_Metadata, SubscriptionRequest):
    """A subscription as the VTN stores it, with the client that wrote it."""

    object_type: Literal["SUBSCRIPTION"] = "SUBSCRIPTION"
    client_id: Name


class VenVenRequest(Oa3Model):
    """A VEN's own ven object as the VEN writes it (the VTN fills in its client id)."""

    object_type: Literal["VEN_VEN_REQUEST"] = "VEN_VEN_REQUEST"
    ven_name: Name
    attributes: list[ValuesMap] | None = None


class BlVenRequest(Oa3Model):
    """A ven object as a business logic client writes it, for the client ``client_id``, with targets."""

    object_type: Literal["BL_VEN_REQUEST"] = "BL_VEN_REQUEST"
    client_id: Name
    targets: list[Target] | None = None
    ven_name: Name
    attributes: list[ValuesMap] | None = None


class Ven(_Metadata):
    """A ven as the VTN stores it (objectType VEN: erratum OA3-E4)."""

    object_type: Literal["VEN"] = "VEN"
    client_id: Name
    targets: list[Target] | None = None
    ven_name: Name
    attributes: list[ValuesMap] | None = None


class VenResourceRequest(Oa3Model):
    """A resource as its VEN writes it."""

    object_type: Literal["VEN_RESOURCE_REQUEST"] = "VEN_RESOURCE_REQUEST"
    resource_name: Name
    ven_id: ObjectID
    attributes: list[ValuesMap] | None = None


class BlResourceRequest(Oa3Model):
    """A resource as a business logic client writes it, with targets."""

    object_type: Literal["BL_RESOURCE_REQUEST"] = "BL_RESOURCE_REQUEST"
    client_id: Name
    targets: list[Target] | None = None
    resource_name: Name
    ven_id: ObjectID
    attributes: list[ValuesMap] | None = None


class Resource(_Metadata):
    """A resource as the VTN stores it (objectType RESOURCE: erratum OA3-E5)."""

    object_type: Literal["RESOURCE"] = "RESOURCE"
    client_id: Name
    targets: list[Target] | None = None
    resource_name: Name
    ven_id: ObjectID
    attributes: list[ValuesMap] | None = None


#: any object the VTN stores, told apart by its objectType
Oa3Object = Annotated[Program | Event | Report | Subscription | Ven | Resource, Field(discriminator="object_type")]


class Notification(Oa3Model):
    """What the VTN sends a subscriber (webhook or MQTT): an operation on an object."""

    object_type: ObjectType
    operation: Operation
    object: Oa3Object
    targets: list[Target] | None = None


class Problem(Oa3Model):
    """An error reply (RFC 7807 problem details)."""

    type: Uri | None = None
    title: str | None = None
    status: Annotated[int, Field(ge=100, lt=600)] | None = None
    detail: str | None = None
    instance: Annotated[str, StringConstraints(min_length=3, max_length=8000)] | None = None


class TokenResponse(BaseModel):
    """The token endpoint's answer (OAuth 2 names, snake_case on the wire too)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    token_type: Literal["Bearer"]
    expires_in: int | None = None
    refresh_token: str | None = None
    scope: str | None = None

    @field_validator("token_type", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        """RFC 6749 token types are case-insensitive; some servers answer ``bearer``."""
        return "Bearer" if isinstance(value, str) and value.lower() == "bearer" else value

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class AuthServerInfo(Oa3Model):
    """``GET auth/server``: where the token endpoint is."""

    token_url: Uri = Field(alias="tokenURL")
