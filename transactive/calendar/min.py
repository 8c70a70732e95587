"""WS-Calendar-MIN (the CTS profile of WS-Calendar): wire models and conversions for availability.

``xcal:vAvailability`` (namespace ``http://docs.oasis-open.org/ws-calendar/ns/min-xcal/2015/12``, the
CTS family's ``xcal`` prefix) holds a busy type, the time range it speaks about, an optional
granularity and one or more ``availability`` windows, each an ``availabilityInterval``
(``dateTime`` + ``duration``) and a ``recurrence`` whose rule is a list of ``recurrenceRule``
name/values pairs (one per RFC 5545 rule part).

MIN has no uids for the availability or its windows, so those do not survive the MIN form.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from transactive.calendar.availability import Availability, BusyType, Frequency, Recurrence, Weekday, Window
from transactive.calendar.errors import ConversionError
from transactive.model import DateTime, Duration, Model, Xml, format_datetime
from transactive.model.namespaces import CTS
from transactive.model.registry import message

__all__ = [
    "MinAvailability",
    "MinAvailabilityInterval",
    "MinDateTimeDate",
    "MinRecurrence",
    "MinRecurrenceRule",
    "MinTimeRange",
    "MinVAvailability",
    "RecurRulePart",
    "from_min",
    "to_min",
]


class MinModel(Model):
    """A part of a WS-Calendar-MIN document (CTS family)."""

    __family__ = CTS


class MinTimeRange(MinModel):
    """``timeRange``: all time, all time from a start, or a start and a duration."""

    date_time: Annotated[DateTime | None, Xml("xcal:dateTime")] = None
    duration: Annotated[Duration | None, Xml("xcal:duration")] = None
    time_zone: Annotated[str | None, Xml("xcal:timeZone")] = None

    @model_validator(mode="after")
    def _duration_needs_start(self) -> MinTimeRange:
        if self.duration is not None and self.date_time is None:
            raise ValueError("a time range may have a duration only if it has a dateTime")
        return self


class MinAvailabilityInterval(MinModel):
    """``availabilityInterval``: fully bound, start and duration."""

    date_time: Annotated[DateTime, Xml("xcal:dateTime")]
    duration: Annotated[Duration, Xml("xcal:duration")]
    time_zone: Annotated[str | None, Xml("xcal:timeZone")] = None


class MinDateTimeDate(MinModel):
    """A date, a time or a date-time (exactly one)."""

    date_value: Annotated[date | None, Xml("xcal:date")] = None
    time_value: Annotated[time | None, Xml("xcal:time")] = None
    date_time: Annotated[DateTime | None, Xml("xcal:dateTime")] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MinDateTimeDate:
        given = [v for v in (self.date_value, self.time_value, self.date_time) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of date, time and dateTime")
        return self


class RecurRulePart(StrEnum):
    FREQ = "FREQ"
    UNTIL = "UNTIL"
    COUNT = "COUNT"
    INTERVAL = "INTERVAL"
    BYSECOND = "BYSECOND"
    BYMINUTE = "BYMINUTE"
    BYHOUR = "BYHOUR"
    BYDAY = "BYDAY"
    BYMONTHDAY = "BYMONTHDAY"
    BYYEARDAY = "BYYEARDAY"
    BYWEEKNO = "BYWEEKNO"
    BYMONTH = "BYMONTH"
    BYSETPOS = "BYSETPOS"
    WKST = "WKST"


class MinRecurrenceRule(MinModel):
    """``recurrenceRule``: one rule part and its value(s)."""

    part: Annotated[RecurRulePart, Xml("xcal:recurRulePart")]
    values: Annotated[tuple[str, ...], Xml("xcal:recurRuleValues"), Field(min_length=1)]


class MinRecurrence(MinModel):
    """``recurrence``: a seed start, the rule parts, an optional end, added and excluded dates."""

    dt_start: Annotated[MinDateTimeDate, Xml("xcal:dtStart")]
    rules: Annotated[tuple[MinRecurrenceRule, ...], Xml("xcal:recurrenceRule")] = ()
    dt_end: Annotated[MinDateTimeDate | None, Xml("xcal:dtEnd")] = None
    r_dates: Annotated[tuple[MinDateTimeDate, ...], Xml("xcal:rDate")] = ()
    ex_dates: Annotated[tuple[MinDateTimeDate, ...], Xml("xcal:exDate")] = ()


class MinAvailability(MinModel):
    """``availability``: a window and how it recurs."""

    interval: Annotated[MinAvailabilityInterval, Xml("xcal:availabilityInterval")]
    recurrence: Annotated[MinRecurrence, Xml("xcal:recurrence")]


@message
class MinVAvailability(MinModel):
    """``vAvailability``: when a resource can be scheduled (root element)."""

    __tag__ = "xcal:vAvailability"
    busy_type: Annotated[BusyType, Xml("xcal:busyType")]
    time_range: Annotated[MinTimeRange, Xml("xcal:timeRange")] = MinTimeRange()
    granularity: Annotated[Duration | None, Xml("xcal:granularity")] = None
    availabilities: Annotated[tuple[MinAvailability, ...], Xml("xcal:availability"), Field(min_length=1)]
    comment: Annotated[str | None, Xml("xcal:comment")] = None


# ============================================================================== conversions
def _rfc5545_utc(value: datetime) -> str:
    """RFC 5545 UNTIL text: ``20261121T000000Z`` (xs:dateTime text if it has fractions of a second)."""
    utc = value.astimezone(UTC)
    return format_datetime(utc) if utc.microsecond else utc.strftime("%Y%m%dT%H%M%SZ")


def _rules(rec: Recurrence) -> tuple[MinRecurrenceRule, ...]:
    def rule(part: RecurRulePart, *values: str) -> MinRecurrenceRule:
        return MinRecurrenceRule(part=part, values=values)

    out = [rule(RecurRulePart.FREQ, rec.freq.value)]
    if rec.until is not None:
        out.append(rule(RecurRulePart.UNTIL, _rfc5545_utc(rec.until)))
    if rec.count is not None:
        out.append(rule(RecurRulePart.COUNT, str(rec.count)))
    if rec.interval != 1:
        out.append(rule(RecurRulePart.INTERVAL, str(rec.interval)))
    if rec.by_day:
        out.append(rule(RecurRulePart.BYDAY, *(d.value for d in rec.by_day)))
    return tuple(out)


def to_min(availability: Availability) -> MinVAvailability:
    """The availability in the WS-Calendar-MIN form (window uids and the availability uid are dropped)."""
    if not availability.windows:
        raise ConversionError("WS-Calendar-MIN needs at least one availability window")
    windows = tuple(
        MinAvailability(
            interval=MinAvailabilityInterval(date_time=w.dtstart, duration=w.duration),
            recurrence=MinRecurrence(
                dt_start=MinDateTimeDate(date_time=w.dtstart),
                rules=() if w.recurrence is None else _rules(w.recurrence),
                ex_dates=() if w.recurrence is None else tuple(
                    MinDateTimeDate(date_time=d) for d in w.recurrence.exdates
                ),
            ),
        )
        for w in availability.windows
    )
    return MinVAvailability(
        busy_type=availability.busy_type,
        time_range=MinTimeRange(date_time=availability.dtstart, duration=availability.duration),
        granularity=availability.granularity,
        availabilities=windows,
        comment=availability.comment,
    )


def _date_time(value: MinDateTimeDate, what: str) -> datetime:
    if value.date_time is None:
        raise ConversionError(f"{what}: only a dateTime is supported here, not a date or a time")
    return value.date_time


def _recurrence(rec: MinRecurrence, where: str) -> Recurrence | None:
    if rec.dt_end is not None or rec.r_dates:
        raise ConversionError(f"{where}: dtEnd and rDate are not supported (use an UNTIL rule part)")
    exdates = tuple(_date_time(d, f"{where} exDate") for d in rec.ex_dates)
    if not rec.rules:
        if exdates:
            raise ConversionError(f"{where}: exDate without a recurrence rule")
        return None
    parts: dict[RecurRulePart, tuple[str, ...]] = {}
    for rule in rec.rules:
        if rule.part in parts:
            raise ConversionError(f"{where}: the rule part {rule.part.value} is given twice")
        parts[rule.part] = tuple(v.strip() for v in rule.values)
    unsupported = set(parts) - {RecurRulePart.FREQ, RecurRulePart.UNTIL, RecurRulePart.COUNT,
                                RecurRulePart.INTERVAL, RecurRulePart.BYDAY, RecurRulePart.WKST}
    if unsupported:
        names = ", ".join(sorted(p.value for p in unsupported))
        raise ConversionError(f"{where}: unsupported rule parts {names}")
    if parts.get(RecurRulePart.WKST, ("MO",)) != ("MO",):
        raise ConversionError(f"{where}: only WKST=MO is supported")

    def one(part: RecurRulePart) -> str | None:
        values = parts.get(part)
        if values is None:
            return None
        if len(values) != 1:
            raise ConversionError(f"{where}: {part.value} takes one value")
        return values[0]

    try:
        freq_text = one(RecurRulePart.FREQ)
        if freq_text is None:
            raise ConversionError(f"{where}: a recurrence rule needs FREQ")
        until_text = one(RecurRulePart.UNTIL)
        count_text = one(RecurRulePart.COUNT)
        interval_text = one(RecurRulePart.INTERVAL)
        return Recurrence(
            freq=Frequency(freq_text.upper()),
            interval=int(interval_text) if interval_text else 1,
            by_day=tuple(Weekday(d.upper()) for d in parts.get(RecurRulePart.BYDAY, ())),
            count=int(count_text) if count_text else None,
            until=datetime.fromisoformat(until_text) if until_text else None,
            exdates=exdates,
        )
    except ConversionError:
        raise
    except ValueError as exc:
        raise ConversionError(f"{where}: unsupported or invalid recurrence rule ({exc})") from None


def from_min(doc: MinVAvailability) -> Availability:
    """The availability a WS-Calendar-MIN ``vAvailability`` describes."""
    windows = []
    for n, item in enumerate(doc.availabilities):
        where = f"availability {n + 1}"
        seed = _date_time(item.recurrence.dt_start, f"{where} dtStart")
        if seed != item.interval.date_time:
            raise ConversionError(
                f"{where}: the recurrence starts at {seed}, the interval at {item.interval.date_time}"
            )
        windows.append(Window(dtstart=item.interval.date_time, duration=item.interval.duration,
                              recurrence=_recurrence(item.recurrence, where)))
    return Availability(
        windows=tuple(windows),
        busy_type=doc.busy_type,
        dtstart=doc.time_range.date_time,
        duration=doc.time_range.duration,
        granularity=doc.granularity,
        comment=doc.comment,
    )
