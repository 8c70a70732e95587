"""Interval: derived values, half-open comparisons, validation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.calendar.conftest import T0, H, M
from transactive.calendar import Interval, UnscheduledError
from transactive.errors import InvalidModelError


def test_end_is_start_plus_duration() -> None:
    assert Interval(duration=H, dtstart=T0).end == T0 + H


def test_duration_accepts_rfc5545_text() -> None:
    assert Interval(duration="PT15M").duration == 15 * M


def test_unscheduled_interval_has_no_end() -> None:
    with pytest.raises(UnscheduledError):
        _ = Interval(duration=H).end
    with pytest.raises(UnscheduledError):
        _ = Interval(dtstart=T0).end


def test_negative_duration_is_refused() -> None:
    with pytest.raises(InvalidModelError):
        Interval(duration=-H)


def test_naive_dtstart_is_refused() -> None:
    with pytest.raises(InvalidModelError):
        Interval(duration=H, dtstart=datetime(2026, 1, 1, 9))


def test_interval_is_immutable_and_keyword_only() -> None:
    interval = Interval(duration=H)
    with pytest.raises(AttributeError, match="frozen"):
        interval.duration = M  # type: ignore[misc]
    with pytest.raises(TypeError):
        Interval(H)  # type: ignore[misc]


def test_contains_is_half_open() -> None:
    interval = Interval(duration=H, dtstart=T0)
    assert interval.contains(T0)
    assert interval.contains(T0 + 59 * M)
    assert not interval.contains(T0 + H)
    assert not interval.contains(T0 - M)


def test_contains_an_interval_wholly_inside() -> None:
    outer = Interval(duration=2 * H, dtstart=T0)
    assert outer.contains(Interval(duration=H, dtstart=T0 + H))
    assert not outer.contains(Interval(duration=H, dtstart=T0 + 90 * M))


def test_touching_intervals_do_not_overlap() -> None:
    a = Interval(duration=H, dtstart=T0)
    assert not a.overlaps(Interval(duration=H, dtstart=T0 + H))
    assert a.overlaps(Interval(duration=H, dtstart=T0 + 30 * M))
    assert Interval(duration=H, dtstart=T0 + 30 * M).overlaps(a)


def test_split_into_equal_back_to_back_parts() -> None:
    parts = Interval(duration=H, dtstart=T0, uid="hour").split(4)
    assert [p.dtstart for p in parts] == [T0 + 15 * M * n for n in range(4)]
    assert {p.duration for p in parts} == {15 * M}
    assert [p.uid for p in parts] == ["hour-1", "hour-2", "hour-3", "hour-4"]


def test_split_refuses_uneven_parts() -> None:
    with pytest.raises(ValueError, match="equal parts"):
        Interval(duration=timedelta(microseconds=10), dtstart=T0).split(3)
