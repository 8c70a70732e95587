"""xCal (RFC 6321) with the WS-Calendar 1.0 extensions: wire models and conversions.

A document is ``xcal:icalendar/xcal:vcalendar/xcal:components/...`` holding ``interval``, ``gluon``,
``vevent`` and ``vavailability`` components whose properties carry ``dtstart``, ``duration``, ``uid``,
``related-to`` and so on, as the Bedework xCal schema (schema set ``"wscalendar"``) defines them.

Conventions of this binding (WS-Calendar leaves them to the implementation):

* a link is a ``related-to`` on the *predecessor*, naming the successor's uid, with ``RELTYPE`` one of
  ``FINISHTOSTART``/``FINISHTOFINISH``/``STARTTOFINISH``/``STARTTOSTART`` and the WS-Calendar ``gap``
  parameter when the gap is not zero;
* a gluon has a ``related-to`` with ``RELTYPE=CHILD`` naming what it governs: the designated interval
  of the sequence, or the gluon below it in a chain;
* a string payload travels as the text of ``x-wsCalendar-attach``;
* date-times are written in UTC (the schema's date-time pattern has no room for an offset, and this
  binding writes no ``tzid``); durations in whole seconds (the schema's duration pattern has no fractions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from transactive.calendar.availability import Availability, Frequency, Recurrence, Weekday, Window
from transactive.calendar.errors import ConversionError
from transactive.calendar.gluon import Gluon
from transactive.calendar.interval import Interval
from transactive.calendar.sequence import Link, Relation, Sequence
from transactive.model import Duration, Model, Xml
from transactive.model.namespaces import XCAL
from transactive.model.registry import message

__all__ = [
    "DEFAULT_PRODID",
    "XcalAvailable",
    "XcalDateTimeProperty",
    "XcalEvent",
    "XcalFrequency",
    "XcalGluon",
    "XcalIcalendar",
    "XcalInterval",
    "XcalRecur",
    "XcalRelatedTo",
    "XcalVavailability",
    "XcalVcalendar",
    "availability_from_xcal",
    "availability_to_xcal",
    "from_xcal",
    "gluon_from_xcal",
    "to_xcal",
]

DEFAULT_PRODID = "-//transactive//calendar//EN"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("date-time needs a UTC offset (e.g. 2026-11-21T00:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} has no UTC instant within years 1-9999") from None


def _whole_seconds(value: timedelta) -> timedelta:
    if value.microseconds:
        raise ValueError(f"an xCal duration is in whole seconds (got {value})")
    return value


#: a date-time, kept in UTC (written with ``Z``)
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
#: an RFC 5545 duration of whole seconds
XcalDuration = Annotated[Duration, AfterValidator(_whole_seconds)]


class XcalModel(Model):
    """A part of an xCal document (namespace ``urn:ietf:params:xml:ns:icalendar-2.0``)."""

    __family__ = XCAL


class XcalRelatedTo(XcalModel):
    """``related-to``: a uid with a ``reltype`` (RFC 5545 or WS-Calendar) and a WS-Calendar ``gap``."""

    reltype: Annotated[str | None, Xml("xcal:parameters/xcal:reltype/xcal:text")] = None
    gap: Annotated[Duration | None, Xml("xcal:parameters/xcal:gap/xcal:duration")] = None
    uid: Annotated[str, Xml("xcal:uid"), Field(min_length=1)]


class XcalDateTimeProperty(XcalModel):
    """A property holding one date-time (``exdate`` here)."""

    date_time: Annotated[UtcDateTime, Xml("xcal:date-time")]


class _XcalTimed(XcalModel):
    """The properties shared by the timed components."""

    uid: Annotated[str | None, Xml("xcal:properties/xcal:uid/xcal:text")] = None
    dtstart: Annotated[UtcDateTime | None, Xml("xcal:properties/xcal:dtstart/xcal:date-time")] = None
    duration: Annotated[XcalDuration | None, Xml("xcal:properties/xcal:duration/xcal:duration")] = None
    summary: Annotated[str | None, Xml("xcal:properties/xcal:summary/xcal:text")] = None
    related_to: Annotated[tuple[XcalRelatedTo, ...], Xml("xcal:properties/xcal:related-to")] = ()
    attach: Annotated[str | None, Xml("xcal:properties/xcal:x-wsCalendar-attach/xcal:text")] = None


class XcalInterval(_XcalTimed):
    """``interval`` (WS-Calendar)."""

    __tag__ = "xcal:interval"


class XcalGluon(_XcalTimed):
    """``gluon`` (WS-Calendar)."""

    __tag__ = "xcal:gluon"


class XcalEvent(_XcalTimed):
    """``vevent``; read like an interval."""

    __tag__ = "xcal:vevent"


class XcalFrequency(StrEnum):
    SECONDLY = "SECONDLY"
    MINUTELY = "MINUTELY"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


class XcalRecur(XcalModel):
    """``recur`` (RFC 6321 3.6.10); the parts transactive uses."""

    freq: Annotated[XcalFrequency, Xml("xcal:freq")]
    until: Annotated[UtcDateTime | None, Xml("xcal:until/xcal:date-time")] = None
    count: Annotated[int | None, Xml("xcal:count"), Field(ge=1)] = None
    interval: Annotated[int | None, Xml("xcal:interval"), Field(ge=1)] = None
    byday: Annotated[tuple[str, ...], Xml("xcal:byday")] = ()

    @model_validator(mode="after")
    def _count_or_until(self) -> XcalRecur:
        if self.count is not None and self.until is not None:
            raise ValueError("count and until may not both be given")
        return self


class XcalAvailable(XcalModel):
    """``available``: one (possibly recurring) window of a ``vavailability``."""

    __tag__ = "xcal:available"
    uid: Annotated[str | None, Xml("xcal:properties/xcal:uid/xcal:text")] = None
    dtstart: Annotated[UtcDateTime, Xml("xcal:properties/xcal:dtstart/xcal:date-time")]
    duration: Annotated[XcalDuration, Xml("xcal:properties/xcal:duration/xcal:duration")]
    rrule: Annotated[XcalRecur | None, Xml("xcal:properties/xcal:rrule/xcal:recur")] = None
    exdates: Annotated[tuple[XcalDateTimeProperty, ...], Xml("xcal:properties/xcal:exdate")] = ()


class XcalVavailability(XcalModel):
    """``vavailability`` (with the WS-Calendar ``granularity``)."""

    __tag__ = "xcal:vavailability"
    uid: Annotated[str | None, Xml("xcal:properties/xcal:uid/xcal:text")] = None
    dtstart: Annotated[UtcDateTime | None, Xml("xcal:properties/xcal:dtstart/xcal:date-time")] = None
    duration: Annotated[XcalDuration | None, Xml("xcal:properties/xcal:duration/xcal:duration")] = None
    granularity: Annotated[XcalDuration | None, Xml("xcal:properties/xcal:granularity/xcal:duration")] = None
    comment: Annotated[str | None, Xml("xcal:properties/xcal:comment/xcal:text")] = None
    available: Annotated[tuple[XcalAvailable, ...], Xml("xcal:components/xcal:available")] = ()


XcalComponent = XcalGluon | XcalInterval | XcalEvent | XcalVavailability


class XcalVcalendar(XcalModel):
    """``vcalendar``: calendar properties and the components (the conversions write ``prodid`` and
    ``version`` 2.0, as RFC 5545 requires; absent ones decode as ``None``)."""

    prodid: Annotated[str | None, Xml("xcal:properties/xcal:prodid/xcal:text")] = None
    version: Annotated[str | None, Xml("xcal:properties/xcal:version/xcal:text")] = None
    components: Annotated[tuple[XcalComponent, ...], Xml("xcal:components/*")] = ()


@message
class XcalIcalendar(XcalModel):
    """``icalendar``: the root of an xCal document."""

    __tag__ = "xcal:icalendar"
    vcalendars: Annotated[tuple[XcalVcalendar, ...], Xml("xcal:vcalendar"), Field(min_length=1)]


# ============================================================================== conversions
_CHILD = "CHILD"
_TEMPORAL = {r.reltype: r for r in Relation}


def _duration(value: timedelta | None, what: str) -> timedelta | None:
    if value is not None and value.microseconds:
        raise ConversionError(f"{what}: xCal durations are whole seconds, {value} is not")
    return value


def _attach(payload: Any, what: str) -> str | None:
    if payload is None or isinstance(payload, str):
        return payload
    raise ConversionError(f"{what}: only a text payload can be written as x-wsCalendar-attach, "
                          f"not {type(payload).__name__}")


def _gluon_chain(gluon: Gluon) -> list[tuple[Gluon, str]]:
    """(gluon, wire uid), nearest first; gluons without a uid are named ``gluon-1``, ``gluon-2`` …"""
    return [(g, g.uid or f"gluon-{n + 1}") for n, g in enumerate(gluon.lineage())]


def to_xcal(
    sequence: Sequence,
    *,
    gluon: Gluon | None = None,
    anchor_uid: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> XcalIcalendar:
    """The sequence (and the gluon chain that governs it, if any) as an xCal document.

    The gluon governs ``anchor_uid`` (default: the sequence's one head).
    """
    components: list[XcalComponent] = []
    if gluon is not None:
        designated = anchor_uid
        if designated is None:
            heads = sequence.heads()
            if len(heads) != 1:
                raise ConversionError(f"the sequence has {len(heads)} heads: name the interval the gluon governs")
            designated = heads[0]
        elif designated not in sequence.uids:
            raise ConversionError(f"{designated!r} is not an interval of the sequence")
        chain = _gluon_chain(gluon)
        below = designated
        wire: list[XcalGluon] = []
        for g, uid in chain:
            wire.append(XcalGluon(
                uid=uid,
                dtstart=g.dtstart,
                duration=_duration(g.duration, f"gluon {uid}"),
                related_to=(XcalRelatedTo(reltype=_CHILD, uid=below),),
                attach=_attach(g.payload, f"gluon {uid}"),
            ))
            below = uid
        components.extend(reversed(wire))  # the root gluon first
    for interval in sequence.intervals:
        uid = str(interval.uid)
        related = tuple(
            XcalRelatedTo(reltype=link.relation.reltype, gap=link.gap or None, uid=link.successor_uid)
            for link in sequence.links
            if link.predecessor_uid == uid
        )
        components.append(XcalInterval(
            uid=uid,
            dtstart=interval.dtstart,
            duration=_duration(interval.duration, f"interval {uid}"),
            related_to=related,
            attach=_attach(interval.payload, f"interval {uid}"),
        ))
    return XcalIcalendar(vcalendars=(XcalVcalendar(prodid=prodid, version="2.0", components=tuple(components)),))


def _components(doc: XcalIcalendar) -> list[XcalComponent]:
    return [c for cal in doc.vcalendars for c in cal.components]


def from_xcal(doc: XcalIcalendar) -> Sequence:
    """The sequence of the document's ``interval`` (and ``vevent``) components and their links.

    Gluons are not applied: read them with :func:`gluon_from_xcal` and use
    :meth:`Sequence.resolved`.
    """
    intervals: list[Interval] = []
    links: list[Link] = []
    for n, comp in enumerate(_components(doc)):
        if not isinstance(comp, (XcalInterval, XcalEvent)):
            continue
        if comp.uid is None:
            raise ConversionError(f"component {n + 1} ({comp.__tag__}) has no uid")
        intervals.append(Interval(duration=comp.duration, dtstart=comp.dtstart, uid=comp.uid, payload=comp.attach))
        for rel in comp.related_to:
            reltype = (rel.reltype or "PARENT").strip().upper()
            relation = _TEMPORAL.get(reltype)
            if relation is not None:
                links.append(Link(predecessor_uid=comp.uid, successor_uid=rel.uid, relation=relation,
                                  gap=rel.gap or timedelta(0)))
            elif reltype not in ("PARENT", "CHILD", "SIBLING"):
                raise ConversionError(f"interval {comp.uid}: unknown relationship type {rel.reltype!r}")
    return Sequence(intervals=tuple(intervals), links=tuple(links))


def gluon_from_xcal(doc: XcalIcalendar) -> tuple[Gluon, str] | None:
    """The gluon chain that governs an interval, as ``(nearest gluon, designated interval uid)``;
    ``None`` if the document has no gluon. Several chains → :class:`ConversionError`."""
    gluons = {c.uid: c for c in _components(doc) if isinstance(c, XcalGluon)}
    if not gluons:
        return None
    if None in gluons:
        raise ConversionError("a gluon has no uid")
    interval_uids = {c.uid for c in _components(doc) if isinstance(c, (XcalInterval, XcalEvent))}
    children: dict[str, str] = {}
    for uid, g in gluons.items():
        targets = [r.uid for r in g.related_to if (r.reltype or "").strip().upper() == _CHILD]
        if len(targets) != 1:
            raise ConversionError(f"gluon {uid} must govern exactly one component (has {len(targets)})")
        children[str(uid)] = targets[0]
    leaves = [uid for uid, child in children.items() if child in interval_uids]
    if len(leaves) != 1:
        raise ConversionError(f"expected one gluon governing an interval, found {len(leaves)}")
    parent_of = {child: uid for uid, child in children.items() if child in gluons}
    chain = [leaves[0]]
    while chain[-1] in parent_of:
        if parent_of[chain[-1]] in chain:
            raise ConversionError("the gluons govern each other in a cycle")
        chain.append(parent_of[chain[-1]])
    if len(chain) != len(gluons):
        raise ConversionError("some gluons are not part of the chain above the interval")
    built: Gluon | None = None
    for uid in reversed(chain):
        g = gluons[uid]
        built = Gluon(dtstart=g.dtstart, duration=g.duration, payload=g.attach, parent=built, uid=uid)
    assert built is not None
    return built, children[leaves[0]]


# ------------------------------------------------------------------------------ availability
def _recur_to_xcal(rec: Recurrence) -> XcalRecur:
    return XcalRecur(
        freq=XcalFrequency(rec.freq.value),
        until=rec.until,
        count=rec.count,
        interval=rec.interval if rec.interval != 1 else None,
        byday=tuple(d.value for d in rec.by_day),
    )


def _recur_from_xcal(rec: XcalRecur, exdates: tuple[datetime, ...]) -> Recurrence:
    try:
        freq = Frequency(rec.freq.value)
        days = tuple(Weekday(d.strip().upper()) for d in rec.byday)
    except ValueError as exc:
        raise ConversionError(f"unsupported recurrence ({exc}); supported: FREQ=MINUTELY…WEEKLY, plain BYDAY") from None
    return Recurrence(freq=freq, interval=rec.interval or 1, by_day=days, count=rec.count, until=rec.until,
                      exdates=exdates)


def availability_to_xcal(availability: Availability, *, prodid: str = DEFAULT_PRODID) -> XcalIcalendar:
    """The availability as a ``vavailability`` with one ``available`` per window.

    The shipped xCal schema declares no ``busytype`` property, so only the RFC default
    (``BUSY-UNAVAILABLE``) can be written; another busy type raises :class:`ConversionError`.
    """
    from transactive.calendar.availability import BusyType

    if availability.busy_type is not BusyType.BUSY_UNAVAILABLE:
        raise ConversionError(
            f"busy type {availability.busy_type.value} cannot be written in xCal: the WS-Calendar xCal schema "
            "declares no busytype property (only the default, busyUnavailable, is expressible); use the MIN form"
        )
    windows = tuple(
        XcalAvailable(
            uid=w.uid,
            dtstart=w.dtstart,
            duration=_duration(w.duration, "window"),
            rrule=None if w.recurrence is None else _recur_to_xcal(w.recurrence),
            exdates=() if w.recurrence is None else tuple(
                XcalDateTimeProperty(date_time=d) for d in w.recurrence.exdates
            ),
        )
        for w in availability.windows
    )
    component = XcalVavailability(
        uid=availability.uid,
        dtstart=availability.dtstart,
        duration=_duration(availability.duration, "time range"),
        granularity=_duration(availability.granularity, "granularity"),
        comment=availability.comment,
        available=windows,
    )
    return XcalIcalendar(vcalendars=(XcalVcalendar(prodid=prodid, version="2.0", components=(component,)),))


def availability_from_xcal(doc: XcalIcalendar) -> tuple[Availability, ...]:
    """Every ``vavailability`` of the document."""
    out = []
    for comp in _components(doc):
        if not isinstance(comp, XcalVavailability):
            continue
        windows = []
        for a in comp.available:
            exdates = tuple(e.date_time for e in a.exdates)
            if a.rrule is None and exdates:
                raise ConversionError("an exdate without an rrule")
            rec = None if a.rrule is None else _recur_from_xcal(a.rrule, exdates)
            windows.append(Window(dtstart=a.dtstart, duration=a.duration, recurrence=rec, uid=a.uid))
        out.append(Availability(
            windows=tuple(windows),
            dtstart=comp.dtstart,
            duration=comp.duration,
            granularity=comp.granularity,
            comment=comp.comment,
            uid=comp.uid,
        ))
    return tuple(out)
