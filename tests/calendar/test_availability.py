"""Availability windows, recurrence and the is_available check."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.calendar.conftest import T0, H, M
from transactive.calendar import Availability, BusyType, Frequency, Interval, Recurrence, Weekday, Window
from transactive.errors import InvalidModelError

D = timedelta(days=1)
WORKDAYS = (Weekday.MO, Weekday.TU, Weekday.WE, Weekday.TH, Weekday.FR)


def _office_hours(**kw: object) -> Availability:
    rule = Recurrence(freq=Frequency.WEEKLY, by_day=WORKDAYS)
    return Availability(windows=(Window(dtstart=T0, duration=8 * H, recurrence=rule),), **kw)


def test_period_inside_a_window_is_available() -> None:
    assert _office_hours().is_available(T0 + H, T0 + 2 * H)


def test_period_outside_every_window_is_not_available() -> None:
    av = _office_hours()
    assert not av.is_available(T0 - 2 * H, T0 - H)
    assert not av.is_available(T0 + 5 * D, T0 + 5 * D + H)  # Saturday


def test_period_straddling_a_window_edge_is_not_available() -> None:
    assert not _office_hours().is_available(T0 + 7 * H, T0 + 9 * H)


def test_back_to_back_windows_cover_a_period_together() -> None:
    av = Availability(windows=(Window(dtstart=T0, duration=H), Window(dtstart=T0 + H, duration=H)))
    assert av.is_available(T0 + 30 * M, T0 + 90 * M)


def test_is_available_accepts_a_scheduled_interval() -> None:
    assert _office_hours().is_available(Interval(dtstart=T0 + D, duration=H))


def test_outside_the_time_range_the_availability_does_not_constrain() -> None:
    av = _office_hours(dtstart=T0, duration=7 * D)
    assert av.is_available(T0 + 8 * D + 20 * H, T0 + 8 * D + 21 * H)
    assert not av.is_available(T0 + 6 * D, T0 + 6 * D + H)  # inside the range, a Sunday
    assert av.governs(T0, T0 + H)
    assert not av.governs(T0 - 2 * H, T0 - H)


def test_busy_type_defaults_to_busy_unavailable() -> None:
    assert _office_hours().busy_type is BusyType.BUSY_UNAVAILABLE


def test_weekly_byday_occurrences() -> None:
    rule = Recurrence(freq=Frequency.WEEKLY, by_day=(Weekday.WE, Weekday.MO), count=4)
    assert list(rule.occurrences(T0)) == [T0, T0 + 2 * D, T0 + 7 * D, T0 + 9 * D]


def test_daily_with_interval_and_until_is_inclusive() -> None:
    rule = Recurrence(freq=Frequency.DAILY, interval=2, until=T0 + 4 * D)
    assert list(rule.occurrences(T0)) == [T0, T0 + 2 * D, T0 + 4 * D]


def test_daily_byday_limits_to_the_listed_days() -> None:
    rule = Recurrence(freq=Frequency.DAILY, by_day=(Weekday.SA, Weekday.SU), count=3)
    assert list(rule.occurrences(T0)) == [T0 + 5 * D, T0 + 6 * D, T0 + 12 * D]


def test_excluded_dates_are_skipped_but_count() -> None:
    rule = Recurrence(freq=Frequency.DAILY, count=3, exdates=(T0 + D,))
    assert list(rule.occurrences(T0)) == [T0, T0 + 2 * D]


def test_occurrences_keep_the_wall_clock_time_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    start = T0.replace(tzinfo=paris)  # 2026-03-02 09:00 local; DST starts 2026-03-29
    times = list(Recurrence(freq=Frequency.WEEKLY, count=5).occurrences(start))
    assert [t.hour for t in times] == [9] * 5
    assert times[-1].utcoffset() != times[0].utcoffset()


def test_count_and_until_together_are_refused() -> None:
    with pytest.raises(InvalidModelError):
        Recurrence(freq=Frequency.DAILY, count=1, until=T0)


def test_unbounded_window_needs_an_end_to_expand() -> None:
    window = Window(dtstart=T0, duration=H, recurrence=Recurrence(freq=Frequency.DAILY))
    with pytest.raises(ValueError, match="unbounded"):
        list(window.instances())
    assert len(list(window.instances(T0, T0 + 3 * D))) == 3


def test_window_needs_a_positive_duration() -> None:
    with pytest.raises(InvalidModelError):
        Window(dtstart=T0, duration=timedelta(0))


def test_time_range_duration_needs_a_start() -> None:
    with pytest.raises(InvalidModelError):
        Availability(windows=(), duration=H)
