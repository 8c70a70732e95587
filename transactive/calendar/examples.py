"""Example WS-Calendar documents (deterministic), for the generic round-trip, fuzz and docs tables.

A battery's charging plan as a finishToStart sequence governed by a gluon (xCal), the weekday
availability of a flexible load as xCal and as the WS-Calendar-MIN ``vAvailability`` that CTS uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transactive.calendar.availability import Availability, BusyType, Frequency, Recurrence, Weekday, Window
from transactive.calendar.gluon import Gluon
from transactive.calendar.interval import Interval
from transactive.calendar.min import to_min
from transactive.calendar.sequence import Link, Relation, Sequence
from transactive.calendar.xcal import availability_to_xcal, to_xcal
from transactive.model import Model

__all__ = ["charging_plan", "examples", "weekday_availability"]

_MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def charging_plan() -> tuple[Sequence, Gluon]:
    """Precondition 30 min, charge 2 h, balance 15 min: linked finish-to-start, anchored by a gluon at 01:00."""
    sequence = Sequence(
        intervals=(
            Interval(uid="precondition", duration=timedelta(minutes=30), payload="precondition"),
            Interval(uid="charge", duration=timedelta(hours=2), payload="charge 7.4 kW"),
            Interval(uid="balance", duration=timedelta(minutes=15), payload="cell balancing"),
        ),
        links=(
            Link(predecessor_uid="precondition", successor_uid="charge", relation=Relation.FINISH_TO_START),
            Link(predecessor_uid="charge", successor_uid="balance", relation=Relation.FINISH_TO_START),
        ),
    )
    gluon = Gluon(uid="night-window", dtstart=datetime(2026, 11, 22, 1, 0, tzinfo=UTC))
    return sequence, gluon


def weekday_availability() -> Availability:
    """A flexible load that can shift 07:00-09:00 on weekdays, for four weeks."""
    return Availability(
        windows=(
            Window(
                uid="weekday-mornings",
                dtstart=_MONDAY,
                duration=timedelta(hours=2),
                recurrence=Recurrence(
                    freq=Frequency.WEEKLY,
                    by_day=(Weekday.MO, Weekday.TU, Weekday.WE, Weekday.TH, Weekday.FR),
                    count=20,
                ),
            ),
        ),
        busy_type=BusyType.BUSY_UNAVAILABLE,
        dtstart=_MONDAY,
        duration=timedelta(weeks=4),
        comment="dishwasher and water heater",
    )


def examples() -> list[Model]:
    sequence, gluon = charging_plan()
    return [
        to_xcal(sequence, gluon=gluon, anchor_uid="precondition"),
        availability_to_xcal(weekday_availability()),
        to_min(weekday_availability()),
    ]
