"""Errors of the calendar layer: all are :class:`ValueError` s and :class:`~transactive.errors.TransactiveError` s.

    CalendarError
    ├── UnscheduledError       a start time (or duration) is needed but not known yet
    ├── SchedulingError        a sequence cannot be scheduled
    │   ├── DanglingLinkError     a link names an interval the sequence does not hold
    │   ├── CycleError            the links loop back on themselves
    │   └── ConflictError         two constraints give an interval two different start times
    └── ConversionError        a value has no place in a wire form (or a wire feature is not supported)
"""

from __future__ import annotations

from transactive.errors import TransactiveError

__all__ = [
    "CalendarError",
    "ConflictError",
    "ConversionError",
    "CycleError",
    "DanglingLinkError",
    "SchedulingError",
    "UnscheduledError",
]


class CalendarError(TransactiveError, ValueError):
    """Base of the calendar errors."""


class UnscheduledError(CalendarError):
    """An interval's start (or duration) is needed, but it is neither set, inherited nor computed."""


class SchedulingError(CalendarError):
    """A sequence's links cannot give every interval one start time."""


class DanglingLinkError(SchedulingError):
    """A link (or the anchor) names a uid that is not an interval of the sequence."""


class CycleError(SchedulingError):
    """The links of a sequence form a cycle; a WS-Calendar sequence is acyclic."""


class ConflictError(SchedulingError):
    """Two constraints (links, or an explicit start) put one interval at two different times."""


class ConversionError(CalendarError):
    """A value cannot be written in (or read from) a wire form."""
