"""The WS-Calendar Interval: a duration, optionally anchored at a start time, optionally named by a uid.

An interval's missing values are inherited from a :class:`~transactive.calendar.gluon.Gluon` or, for
the start, computed from the sequence it belongs to (see :mod:`transactive.calendar.sequence`).
Periods are half-open: ``[dtstart, dtstart + duration)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator

from transactive.calendar.errors import UnscheduledError
from transactive.model import DateTime, Duration, Model, NonEmptyStr

__all__ = ["CalendarObject", "Interval", "NonNegativeDuration"]


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError(f"a duration here may not be negative (got {value})")
    return value


#: an RFC 5545 duration (text or timedelta) that is zero or longer
NonNegativeDuration = Annotated[Duration, AfterValidator(_not_negative)]


class CalendarObject(Model):
    """Base of the calendar's domain objects (immutable, keyword-only, validated; no wire form)."""


class Interval(CalendarObject):
    """``duration`` (``None``: inherited from a gluon), ``dtstart`` (``None``: inherited or computed),
    ``uid`` (how links and gluons name it) and an opaque ``payload`` (the attachment; never inspected).
    """

    duration: NonNegativeDuration | None = None
    dtstart: DateTime | None = None
    uid: NonEmptyStr | None = None
    payload: Any = None

    # ------------------------------------------------------------------ derived values
    @property
    def start(self) -> datetime:
        """The start time; :class:`UnscheduledError` if it is not known yet."""
        if self.dtstart is None:
            raise UnscheduledError(f"interval {self.uid or '(no uid)'} has no dtstart yet (schedule or resolve it)")
        return self.dtstart

    @property
    def length(self) -> timedelta:
        """The duration; :class:`UnscheduledError` if it is not known yet (inherit it from a gluon)."""
        if self.duration is None:
            raise UnscheduledError(f"interval {self.uid or '(no uid)'} has no duration yet (resolve it with a gluon)")
        return self.duration

    @property
    def end(self) -> datetime:
        """``dtstart + duration`` (exclusive)."""
        return self.start + self.length

    @property
    def is_scheduled(self) -> bool:
        return self.dtstart is not None and self.duration is not None

    # ------------------------------------------------------------------ comparisons (half-open periods)
    def contains(self, when: datetime | Interval) -> bool:
        """Whether an instant lies in ``[start, end)``, or another scheduled interval lies wholly inside."""
        if isinstance(when, Interval):
            return self.start <= when.start and when.end <= self.end
        return self.start <= when < self.end

    def overlaps(self, other: Interval) -> bool:
        """Whether the two periods share any instant (touching end to start is not an overlap)."""
        return self.start < other.end and other.start < self.end

    # ------------------------------------------------------------------ helpers
    def shifted(self, delta: timedelta) -> Interval:
        """A copy moved by ``delta``."""
        return self.replace(dtstart=self.start + delta)  # type: ignore[no-any-return]

    def split(self, count: int, *, uid_prefix: str | None = None) -> tuple[Interval, ...]:
        """``count`` back-to-back intervals of equal length covering this one (it must divide evenly,
        to the microsecond). The parts are named ``<prefix>-1 … <prefix>-N`` (prefix: this uid)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        total = self.length
        step = total / count
        if step * count != total:
            raise ValueError(f"{total} does not split into {count} equal parts of whole microseconds")
        start = self.start
        prefix = uid_prefix or self.uid or "part"
        return tuple(
            Interval(duration=step, dtstart=start + step * n, uid=f"{prefix}-{n + 1}", payload=self.payload)
            for n in range(count)
        )
