"""Clocks: the one injected source of "now", and the market's time line that both roles share.

A clock is any zero-argument callable returning an aware :class:`~datetime.datetime`. :func:`system_clock`
is the one place that reads the wall clock; applications pass it at the edge. :class:`ManualClock` is for
tests and simulations.

Market time and wall time (:class:`TimeMapping`)
    The services read *market time* (tenders are for market intervals, gates close at market times). By
    default market time is wall time (UTC). An accelerated market (``vtn serve --interval-seconds S``) lasts
    ``S`` wall-clock seconds per market interval ``I``, so market time runs ``I / S`` times as fast::

        market(w) = market_origin + (w - wall_origin) * speed
        wall(m)   = wall_origin + (m - market_origin) / speed

    A VTN publishes its mapping (``GET /health``, ``clock``); a VEN or a child VTN that follows the same
    mapping agrees with it on which interval is open. :class:`MarketClock` is a clock reading market time
    through a mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from transactive.protocol.market import MarketConfig

__all__ = ["Clock", "ManualClock", "MarketClock", "TimeMapping", "system_clock"]

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


@dataclass(frozen=True, slots=True)
class TimeMapping:
    """A linear map between wall time and market time: ``speed`` market seconds per wall second."""

    wall_origin: datetime
    market_origin: datetime
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.wall_origin.tzinfo is None or self.market_origin.tzinfo is None:
            raise ValueError("the time mapping needs aware datetimes")
        if not self.speed > 0:
            raise ValueError("speed must be positive")

    @classmethod
    def for_market(cls, config: MarketConfig, interval_seconds: float | None, now: datetime) -> TimeMapping:
        """Market time = wall time (``interval_seconds`` None), else one interval per ``interval_seconds``,
        starting at the interval ``now`` falls in."""
        if interval_seconds is None:
            return cls(now, now, 1.0)
        if not interval_seconds > 0:
            raise ValueError("interval_seconds must be positive")
        return cls(now, config.interval_containing(now), config.interval.total_seconds() / interval_seconds)

    def market(self, wall: datetime) -> datetime:
        return self.market_origin + (wall - self.wall_origin) * self.speed

    def wall(self, market: datetime) -> datetime:
        return self.wall_origin + (market - self.market_origin) / self.speed

    def to_json(self) -> dict[str, object]:
        return {"wall_origin": self.wall_origin.isoformat(), "market_origin": self.market_origin.isoformat(),
                "speed": self.speed}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> TimeMapping:
        """The mapping of :meth:`to_json` (``KeyError``/``ValueError``/``TypeError`` if it does not read)."""
        return cls(datetime.fromisoformat(str(data["wall_origin"])),
                   datetime.fromisoformat(str(data["market_origin"])), float(str(data["speed"])))


class MarketClock:
    """A clock reading market time through a :class:`TimeMapping` of the ``wall`` clock."""

    __slots__ = ("mapping", "wall")

    def __init__(self, mapping: TimeMapping, wall: Clock = system_clock) -> None:
        self.mapping = mapping
        self.wall = wall

    def __call__(self) -> datetime:
        return self.mapping.market(self.wall()).astimezone(UTC)

    @property
    def speed(self) -> float:
        """Market seconds per wall second."""
        return self.mapping.speed

    def seconds_until(self, market_time: datetime) -> float:
        """Wall-clock seconds until the market clock reads ``market_time`` (negative if past)."""
        return (self.mapping.wall(market_time) - self.wall()).total_seconds()
