"""WS-Calendar for transactive energy: intervals, sequences, gluons and availability, in xCal and MIN.

Domain objects (immutable, validated, no clock):

* :class:`Interval`, :class:`Sequence` of intervals joined by :class:`Link` s (:class:`Relation`),
  scheduled from an anchor with :meth:`Sequence.schedule`; :func:`slots` for N back-to-back intervals;
* :class:`Gluon` and :func:`resolve` / :meth:`Sequence.resolved` for inherited values;
* :class:`Availability` with (recurring) :class:`Window` s.

Wire forms: xCal (RFC 6321 + WS-Calendar, :mod:`transactive.calendar.xcal`) and WS-Calendar-MIN as
profiled by CTS (:mod:`transactive.calendar.min`).
"""

from transactive.calendar.availability import Availability, BusyType, Frequency, Recurrence, Weekday, Window
from transactive.calendar.errors import (
    CalendarError,
    ConflictError,
    ConversionError,
    CycleError,
    DanglingLinkError,
    SchedulingError,
    UnscheduledError,
)
from transactive.calendar.gluon import Gluon, resolve
from transactive.calendar.interval import Interval
from transactive.calendar.min import MinVAvailability, from_min, to_min
from transactive.calendar.sequence import Link, Relation, Sequence, slots
from transactive.calendar.xcal import (
    XcalIcalendar,
    availability_from_xcal,
    availability_to_xcal,
    from_xcal,
    gluon_from_xcal,
    to_xcal,
)

__all__ = [
    "Availability",
    "BusyType",
    "CalendarError",
    "ConflictError",
    "ConversionError",
    "CycleError",
    "DanglingLinkError",
    "Frequency",
    "Gluon",
    "Interval",
    "Link",
    "MinVAvailability",
    "Recurrence",
    "Relation",
    "SchedulingError",
    "Sequence",
    "UnscheduledError",
    "Weekday",
    "Window",
    "XcalIcalendar",
    "availability_from_xcal",
    "availability_to_xcal",
    "from_min",
    "from_xcal",
    "gluon_from_xcal",
    "resolve",
    "slots",
    "to_min",
    "to_xcal",
]
