"""When an OpenADR 3 event is over (:func:`event_end`), also for an end a datetime cannot hold."""

from __future__ import annotations

from datetime import UTC, datetime

from transactive.services.openadr3 import event_end


def test_an_end_past_the_calendar_is_never_and_an_ordinary_one_is_computed() -> None:
    huge = {"intervalPeriod": {"start": "2026-01-01T00:00:00Z", "duration": "P5000Y"},
            "intervals": [{"id": 0, "payloads": []}, {"id": 1, "payloads": []}]}
    assert event_end(huge) is None  # (it counts as active; a search with active=true once answered 500 for it)
    two = {"intervalPeriod": {"start": "2026-01-01T00:00:00Z", "duration": "PT15M"},
           "intervals": [{"id": 0, "payloads": []}, {"id": 1, "payloads": []}]}
    assert event_end(two) == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
