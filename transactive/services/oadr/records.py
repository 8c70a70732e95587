"""What the OpenADR 2.0b VTN keeps, as typed records stored as JSON documents
(:class:`~transactive.services.store.OadrObject`, one ``kind`` per record class).

* :class:`VenRecord` (``ven``, key venID) — a VEN's registration: its name, ids, how it is reached (pull, or
  push to a transport address), whether it signs, and the certificate fingerprint bound to it;
* :class:`EventRecord` (``event``, key eventID) — an event as the operator (or the market bridge) made it,
  with its signals, targets and modification number;
* :class:`EventOptRecord` (``event_opt``, key ``venID/eventID``) — a VEN's answer to one version of an event;
* :class:`OptRecord` (``opt``, key ``venID/optID``) — an opt schedule (``oadrCreateOpt``);
* :class:`ReportOffer` (``report_offer``, key ``venID/reportSpecifierID``) — a report a VEN registered;
* :class:`ReportRequestRecord` (``report_request``, key reportRequestID) — a report the VTN asked a VEN for;
* :class:`OutboxRecord` (``outbox``, key ``venID/sequence-random``) — a message waiting for the VEN's next poll
  (or for the push);
* :class:`DeliveredRecord` (``delivered``, key venID) — the versions of the events a VEN was last sent, so a
  poll carries an ``oadrDistributeEvent`` exactly when something changed for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "DeliveredRecord",
    "EventOptRecord",
    "EventRecord",
    "IntervalValue",
    "OptRecord",
    "OutboxRecord",
    "Record",
    "ReportOffer",
    "ReportPoint",
    "ReportRequestRecord",
    "SignalRecord",
    "VenRecord",
]

R = TypeVar("R", bound="Record")


class Record(BaseModel):
    """A stored OpenADR object: frozen, strict about unknown fields, JSON in and out."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: the store's ``kind`` of this record class
    KIND: ClassVar[str]

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def load(cls: type[R], document: str) -> R:
        return cls.model_validate_json(document)


class VenRecord(Record):
    KIND: ClassVar[str] = "ven"
    ven_id: str
    registration_id: str
    ven_name: str
    registered_at: datetime
    cancelled_at: datetime | None = None
    #: the OpenADR fingerprint of the certificate (TLS client or signing) the VEN registered with, bound for good
    fingerprint: str | None = None
    http_pull_model: bool = True
    transport_address: str | None = None
    xml_signature: bool = False
    report_only: bool = False
    #: the VTN's METADATA report waits for the VEN's next poll (or push)
    metadata_pending: bool = False
    #: the requestID and content digest of the registration request that made or renewed this record: a
    #: retry of it gets the same reply
    request_id: str | None = None
    request_digest: str | None = None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None


class IntervalValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    duration: timedelta
    value: float


class SignalRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    type: str
    signal_id: str
    intervals: tuple[IntervalValue, ...]
    #: for price signals: the currency of a price per kWh
    currency: str | None = None


class EventRecord(Record):
    KIND: ClassVar[str] = "event"
    event_id: str
    modification_number: int = 0
    market_context: str
    created_at: datetime
    modified_at: datetime
    start: datetime
    signals: tuple[SignalRecord, ...]
    #: venIDs the event is for; None: every registered VEN of the market context
    targets: tuple[str, ...] | None = None
    priority: int | None = None
    response_required: Literal["always", "never"] = "always"
    #: start randomisation: a VEN may start up to this long after the start (``xcal:startafter``)
    start_after: timedelta | None = None
    cancelled: bool = False
    test_event: bool = False
    #: who made it: "operator" or "market" (the price bridge)
    origin: str = "operator"

    @property
    def duration(self) -> timedelta:
        return sum((i.duration for s in self.signals[:1] for i in s.intervals), timedelta())

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    def status(self, now: datetime) -> str:
        """``cancelled``, ``far`` (before its start), ``active`` or ``completed`` at ``now``."""
        if self.cancelled:
            return "cancelled"
        if now < self.start:
            return "far"
        return "active" if now < self.end else "completed"

    def targets_ven(self, ven_id: str) -> bool:
        return self.targets is None or ven_id in self.targets


class EventOptRecord(Record):
    KIND: ClassVar[str] = "event_opt"
    ven_id: str
    event_id: str
    modification_number: int
    opt_type: Literal["optIn", "optOut"]
    at: datetime


class OptRecord(Record):
    KIND: ClassVar[str] = "opt"
    ven_id: str
    opt_id: str
    opt_type: Literal["optIn", "optOut"]
    opt_reason: str
    event_id: str | None = None
    modification_number: int | None = None
    #: ``(start, duration)`` of each period the opt covers
    available: tuple[tuple[datetime, timedelta], ...] = ()
    market_context: str | None = None
    created_at: datetime
    cancelled_at: datetime | None = None


class ReportPoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    r_id: str
    report_type: str
    reading_type: str
    min_period: timedelta | None = None


class ReportOffer(Record):
    KIND: ClassVar[str] = "report_offer"
    ven_id: str
    report_specifier_id: str
    report_name: str | None
    points: tuple[ReportPoint, ...]
    registered_at: datetime


class ReportRequestRecord(Record):
    KIND: ClassVar[str] = "report_request"
    report_request_id: str
    ven_id: str
    report_specifier_id: str
    report_name: str | None
    r_ids: tuple[str, ...]
    granularity: timedelta
    report_back: timedelta
    status: Literal["requested", "created", "cancelling", "cancelled"] = "requested"
    requested_at: datetime


class OutboxRecord(Record):
    KIND: ClassVar[str] = "outbox"
    ven_id: str
    seq: int
    #: the message, as its XML document (without signature: it is signed when sent)
    document: str
    queued_at: datetime


class DeliveredRecord(Record):
    KIND: ClassVar[str] = "delivered"
    ven_id: str
    #: ``eventID -> [modification number, cancelled]`` of what the VEN was last sent
    versions: dict[str, tuple[int, bool]]
    at: datetime
