"""The typed event a handler gets (:mod:`transactive.ven.oadr.events`): signal values laid out in time."""

from __future__ import annotations

from datetime import timedelta

from tests.ven.oadr.conftest import T0, event
from transactive.ei.oadr import EventStatus
from transactive.ven.oadr.events import ReceivedEvent, SignalValue

M = timedelta(minutes=10)


def test_intervals_follow_each_other_from_the_active_period() -> None:
    received = ReceivedEvent(event(values=(0.1, 0.5, 0.3)), "d-1")
    price = received.signal("ELECTRICITY_PRICE")
    assert price is not None
    assert received.values(price) == (SignalValue(T0, T0 + M, 0.1), SignalValue(T0 + M, T0 + 2 * M, 0.5),
                                      SignalValue(T0 + 2 * M, T0 + 3 * M, 0.3))
    assert received.value_at(price, T0 + M + timedelta(seconds=1)) == 0.5
    assert received.value_at(price, T0 + 3 * M) is None
    assert (received.start, received.end) == (T0, T0 + 3 * M)


def test_event_properties() -> None:
    received = ReceivedEvent(event(mn=2, status=EventStatus.CANCELLED, test="true"), "d-1")
    assert (received.event_id, received.modification_number, received.ended, received.is_test,
            received.is_update, received.response_required) == ("ev-1", 2, True, True, False, True)
    assert received.signal("SIMPLE") is None
