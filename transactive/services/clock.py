"""The clock the services read: injected everywhere, so tests and replays control time.

A clock is any zero-argument callable returning an aware :class:`~datetime.datetime`. :func:`system_clock`
is the one place that reads the wall clock; applications pass it at the edge. :class:`ManualClock` is for
tests and simulations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock", "system_clock"]

#: a zero-argument callable returning an aware datetime
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock in UTC (pass this at the application edge; never call it inside the services)."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (``set``/``advance``)."""

    __slots__ = ("now",)

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self.now = now

    def advance(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now
