"""``format_datetime``: the xs:dateTime text of times in UTC (through a bounded cache) and in other offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from transactive.model import types
from transactive.model.types import format_datetime

T = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "text"), [
    (T, "2026-11-21T12:00:00Z"),
    (T + timedelta(microseconds=4500), "2026-11-21T12:00:00.004500Z"),
    (datetime(2026, 11, 21, 12, 0, tzinfo=timezone(timedelta(0))), "2026-11-21T12:00:00Z"),
    (datetime(2026, 11, 21, 14, 0, tzinfo=timezone(timedelta(hours=2))), "2026-11-21T14:00:00+02:00"),
    (datetime(2026, 11, 21, 12, 0), "2026-11-21T12:00:00"),
])
def test_times_are_written_as_xs_datetime(value: datetime, text: str) -> None:
    assert format_datetime(value) == text
    assert format_datetime(value) == text  # the second time from the cache, the same


def test_the_same_instant_in_another_offset_keeps_its_offset_after_utc_was_cached() -> None:
    assert format_datetime(T) == "2026-11-21T12:00:00Z"
    assert format_datetime(T.astimezone(timezone(timedelta(hours=2)))) == "2026-11-21T14:00:00+02:00"


def test_the_utc_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "_UTC_TEXT", {})
    monkeypatch.setattr(types, "_UTC_TEXT_MAX", 10)
    for second in range(25):
        assert format_datetime(T + timedelta(seconds=second)) == f"2026-11-21T12:00:{second:02d}Z"
        assert len(types._UTC_TEXT) <= 10
