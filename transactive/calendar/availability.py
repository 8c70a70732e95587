"""Availability (``VAVAILABILITY``): when a resource can be scheduled.

Inside the availability's time range everything is busy (of its ``busy_type``) except the
``windows`` (``AVAILABLE`` components), which may recur. Outside the time range the availability says
nothing, so a period there counts as available (draft-daboo-calendar-availability semantics).

Recurrence covers the subset WS-Calendar-MIN and simple schedules need: ``FREQ`` of
``MINUTELY``/``HOURLY``/``DAILY``/``WEEKLY``, ``INTERVAL``, ``BYDAY`` (plain weekdays, no ordinals),
``COUNT`` or ``UNTIL``, and excluded dates. It is implemented here (python-dateutil is not a
dependency of transactive). Occurrences keep the wall-clock time of the first one (RFC 5545).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from transactive.calendar.interval import CalendarObject, Interval, NonNegativeDuration
from transactive.model import DateTime

__all__ = ["Availability", "BusyType", "Frequency", "Recurrence", "Weekday", "Window"]

#: safety bound on the candidates one expansion may look at
MAX_CANDIDATES = 1_000_000


class BusyType(StrEnum):
    """How busy the time outside the windows is (values as in WS-Calendar-MIN)."""

    BUSY = "busy"
    BUSY_UNAVAILABLE = "busyUnavailable"
    BUSY_TENTATIVE = "busyTentative"


class Frequency(StrEnum):
    MINUTELY = "MINUTELY"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"

    @property
    def step(self) -> timedelta:
        return {"MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
                "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}[self.value]


class Weekday(StrEnum):
    """RFC 5545 weekday codes; ``number`` is Python's ``weekday()`` (Monday = 0)."""

    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("an available window must have a positive duration")
    return value


class Recurrence(CalendarObject):
    """A recurrence rule (the supported RFC 5545 subset) plus excluded start times."""

    freq: Frequency
    interval: Annotated[int, Field(ge=1)] = 1
    by_day: tuple[Weekday, ...] = ()
    count: Annotated[int, Field(ge=1)] | None = None
    until: DateTime | None = None
    exdates: tuple[DateTime, ...] = ()

    @model_validator(mode="after")
    def _count_or_until(self) -> Recurrence:
        if self.count is not None and self.until is not None:
            raise ValueError("COUNT and UNTIL may not both be given (RFC 5545)")
        if len(set(self.by_day)) != len(self.by_day):
            raise ValueError("BYDAY lists a day twice")
        if self.by_day and self.freq not in (Frequency.DAILY, Frequency.WEEKLY):
            raise ValueError("BYDAY is supported with FREQ=DAILY or WEEKLY only")
        return self

    @property
    def bounded(self) -> bool:
        return self.count is not None or self.until is not None

    def _candidates(self, dtstart: datetime) -> Iterator[datetime]:
        """Rule matches in time order, before COUNT/UNTIL/EXDATE are applied."""
        if self.freq is Frequency.WEEKLY and self.by_day:
            # every INTERVAL-th week (weeks start on Monday, WKST=MO), each listed day at dtstart's time
            days = sorted(d.number for d in self.by_day)
            week_start = dtstart - timedelta(days=dtstart.weekday())
            n = 0
            while True:
                base = week_start + timedelta(weeks=n * self.interval)
                for day in days:
                    when = base + timedelta(days=day)
                    if when >= dtstart:
                        yield when
                n += 1
        else:
            wanted = {d.number for d in self.by_day}
            step = self.freq.step * self.interval
            n = 0
            while True:
                when = dtstart + step * n
                if not wanted or when.weekday() in wanted:
                    yield when
                n += 1

    def occurrences(self, dtstart: datetime, before: datetime | None = None) -> Iterator[datetime]:
        """The start times of the occurrences in time order (those starting before ``before``, if given).

        An unbounded rule without ``before`` is an infinite iterator.
        """
        excluded = set(self.exdates)
        for seen, when in enumerate(self._candidates(dtstart)):
            if seen > MAX_CANDIDATES:
                raise ValueError(f"recurrence expansion looked at more than {MAX_CANDIDATES} candidates")
            if self.count is not None and seen >= self.count:
                return
            if self.until is not None and when > self.until:
                return
            if before is not None and when >= before:
                return
            if when not in excluded:  # an excluded date still counts towards COUNT
                yield when


class Window(CalendarObject):
    """An ``AVAILABLE`` period: ``dtstart`` for ``duration``, repeated by ``recurrence`` if given."""

    dtstart: DateTime
    duration: Annotated[NonNegativeDuration, AfterValidator(_positive)]
    recurrence: Recurrence | None = None
    uid: str | None = None

    def instances(self, start: datetime | None = None, end: datetime | None = None) -> Iterator[Interval]:
        """The occurrences overlapping ``[start, end)`` (all of them if the window is bounded)."""
        if self.recurrence is None:
            times: Iterator[datetime] = iter((self.dtstart,))
        else:
            if end is None and not self.recurrence.bounded:
                raise ValueError("an unbounded recurrence needs an end to expand up to")
            times = self.recurrence.occurrences(self.dtstart, before=end)
        for when in times:
            if end is not None and when >= end:
                return
            if start is not None and when + self.duration <= start:
                continue
            yield Interval(dtstart=when, duration=self.duration, uid=self.uid)


class Availability(CalendarObject):
    """``busy_type`` time within ``[dtstart, dtstart + duration)`` (unbounded if not given), except the
    ``windows``. ``granularity`` is the size of the units the resource is offered in, if uniform."""

    windows: tuple[Window, ...]
    busy_type: BusyType = BusyType.BUSY_UNAVAILABLE
    dtstart: DateTime | None = None
    duration: NonNegativeDuration | None = None
    granularity: Annotated[NonNegativeDuration, AfterValidator(_positive)] | None = None
    comment: str | None = None
    uid: str | None = None

    @model_validator(mode="after")
    def _range(self) -> Availability:
        if self.duration is not None and self.dtstart is None:
            raise ValueError("a time range may have a duration only if it has a start")
        return self

    def governs(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` overlaps the time range this availability speaks about."""
        if self.dtstart is None:
            return True
        if end <= self.dtstart:
            return False
        return self.duration is None or start < self.dtstart + self.duration

    def available_periods(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The merged available periods that overlap ``[start, end)``, clipped to it."""
        pieces: list[tuple[datetime, datetime]] = []
        for window in self.windows:
            for inst in window.instances(start, end):
                pieces.append((max(inst.start, start), min(inst.end, end)))
        pieces.sort()
        merged: list[tuple[datetime, datetime]] = []
        for lo, hi in pieces:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def is_available(self, start: datetime | Interval, end: datetime | None = None) -> bool:
        """Whether all of ``[start, end)`` (or a scheduled interval) may be scheduled.

        Within the time range the period must lie wholly in the union of the windows' occurrences
        (back-to-back windows count as one); the parts outside the time range are not constrained.
        """
        if isinstance(start, Interval):
            lo, hi = start.start, start.end
        elif end is None:
            raise ValueError("give an end, or an Interval")
        else:
            lo, hi = start, end
        if hi < lo:
            raise ValueError("the period ends before it starts")
        if self.dtstart is not None:
            lo = max(lo, self.dtstart)
            if self.duration is not None:
                hi = min(hi, self.dtstart + self.duration)
        if lo >= hi:
            return True  # nothing of the period lies in the governed range
        covered = lo
        for p_lo, p_hi in self.available_periods(lo, hi):
            if p_lo > covered:
                return False
            covered = max(covered, p_hi)
        return covered >= hi
