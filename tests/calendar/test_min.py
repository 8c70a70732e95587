"""WS-Calendar-MIN (CTS): round trips, schema validity, conversions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.calendar.conftest import T0, H, M
from transactive.calendar import (
    Availability,
    BusyType,
    ConversionError,
    Frequency,
    Recurrence,
    Weekday,
    Window,
    from_min,
    to_min,
)
from transactive.calendar.min import (
    MinAvailability,
    MinAvailabilityInterval,
    MinDateTimeDate,
    MinRecurrence,
    MinRecurrenceRule,
    MinTimeRange,
    MinVAvailability,
    RecurRulePart,
)
from transactive.codec import decode_json, decode_xml, encode_json, encode_xml, parse_xml
from transactive.errors import InvalidModelError
from transactive.schemas import validate

AVAIL = Availability(
    windows=(
        Window(dtstart=T0, duration=8 * H, recurrence=Recurrence(
            freq=Frequency.WEEKLY, by_day=(Weekday.MO, Weekday.WE, Weekday.FR), until=T0 + timedelta(days=28),
            exdates=(T0 + timedelta(days=2),))),
        Window(dtstart=T0 + H, duration=timedelta(minutes=90, microseconds=500),
               recurrence=Recurrence(freq=Frequency.HOURLY, interval=3, count=4)),
        Window(dtstart=T0 - timedelta(days=1), duration=15 * M),
    ),
    busy_type=BusyType.BUSY_TENTATIVE,
    dtstart=T0 - timedelta(days=2),
    duration=timedelta(days=60),
    granularity=15 * M,
    comment="tentative",
)


def _window(recurrence: MinRecurrence) -> MinVAvailability:
    return MinVAvailability(
        busy_type=BusyType.BUSY,
        availabilities=(MinAvailability(interval=MinAvailabilityInterval(date_time=T0, duration=H),
                                        recurrence=recurrence),),
    )


def _valid(doc: MinVAvailability) -> None:
    report = validate(parse_xml(encode_xml(doc)), schema="cts")
    assert report.valid, report.errors


@pytest.mark.parametrize(
    "doc",
    [
        to_min(AVAIL),
        to_min(Availability(windows=(Window(dtstart=T0, duration=H),))),
        _window(MinRecurrence(dt_start=MinDateTimeDate(date_value=date(2026, 3, 2)),
                              dt_end=MinDateTimeDate(date_time=T0 + H))),
    ],
    ids=["full", "minimal", "date-seed"],
)
def test_min_round_trips_and_is_schema_valid(doc: MinVAvailability) -> None:
    assert decode_xml(encode_xml(doc)) == doc
    assert decode_json(encode_json(doc)) == doc
    _valid(doc)


def test_availability_survives_min() -> None:
    assert from_min(decode_xml(encode_xml(to_min(AVAIL)))) == AVAIL
    assert from_min(decode_json(encode_json(to_min(AVAIL)))) == AVAIL


def test_until_is_written_in_rfc5545_form() -> None:
    assert b"<xcal:recurRuleValues>20260330T090000Z</xcal:recurRuleValues>" in encode_xml(to_min(AVAIL))


def test_time_range_duration_needs_a_start() -> None:
    with pytest.raises(InvalidModelError):
        MinTimeRange(duration=H)


def test_date_time_date_holds_exactly_one_value() -> None:
    with pytest.raises(InvalidModelError):
        MinDateTimeDate()
    with pytest.raises(InvalidModelError):
        MinDateTimeDate(date_time=T0, date_value=date(2026, 1, 1))


def test_min_needs_a_window() -> None:
    with pytest.raises(ConversionError):
        to_min(Availability(windows=()))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ((MinRecurrenceRule(part=RecurRulePart.BYMONTH, values=("3",)),), "unsupported rule parts BYMONTH"),
        ((MinRecurrenceRule(part=RecurRulePart.COUNT, values=("3",)),), "FREQ"),
        ((MinRecurrenceRule(part=RecurRulePart.FREQ, values=("YEARLY",)),), "unsupported or invalid"),
        ((MinRecurrenceRule(part=RecurRulePart.FREQ, values=("DAILY",)),
          MinRecurrenceRule(part=RecurRulePart.FREQ, values=("DAILY",))), "twice"),
        ((MinRecurrenceRule(part=RecurRulePart.FREQ, values=("DAILY",)),
          MinRecurrenceRule(part=RecurRulePart.WKST, values=("SU",))), "WKST"),
    ],
)
def test_unsupported_recurrence_is_refused_clearly(rules: tuple[MinRecurrenceRule, ...], message: str) -> None:
    doc = _window(MinRecurrence(dt_start=MinDateTimeDate(date_time=T0), rules=rules))
    _valid(doc)
    with pytest.raises(ConversionError, match=message):
        from_min(doc)


def test_date_only_seed_and_dt_end_are_refused_clearly() -> None:
    with pytest.raises(ConversionError, match="dateTime"):
        from_min(_window(MinRecurrence(dt_start=MinDateTimeDate(date_value=date(2026, 3, 2)))))
    with pytest.raises(ConversionError, match="dtEnd"):
        from_min(_window(MinRecurrence(dt_start=MinDateTimeDate(date_time=T0), dt_end=MinDateTimeDate(date_time=T0))))


def test_seed_must_match_the_availability_interval() -> None:
    with pytest.raises(ConversionError, match="starts at"):
        from_min(_window(MinRecurrence(dt_start=MinDateTimeDate(date_time=T0 + H))))


def test_rfc5545_basic_until_is_read() -> None:
    doc = _window(MinRecurrence(dt_start=MinDateTimeDate(date_time=T0), rules=(
        MinRecurrenceRule(part=RecurRulePart.FREQ, values=("daily",)),
        MinRecurrenceRule(part=RecurRulePart.UNTIL, values=("20260304T090000Z",)),
    )))
    rec = from_min(doc).windows[0].recurrence
    assert rec is not None
    assert rec.until == T0 + timedelta(days=2)
