"""WS-Calendar gluons: default values that the intervals (and gluons) they reference inherit.

The inheritance rules:

* a value set on the interval itself is never overridden from above;
* values flow down a chain of gluons, and the nearest gluon's value wins over its ancestors';
* in a sequence, the gluon's start anchors one designated interval; the other intervals' starts are
  computed from the links (:meth:`~transactive.calendar.sequence.Sequence.resolved`, then
  :meth:`~transactive.calendar.sequence.Sequence.schedule`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from transactive.calendar.interval import CalendarObject, Interval, NonNegativeDuration
from transactive.model import DateTime, NonEmptyStr

__all__ = ["INHERITED_FIELDS", "Gluon", "resolve"]

#: the interval fields a gluon can supply
INHERITED_FIELDS = ("dtstart", "duration", "payload")


class Gluon(CalendarObject):
    """Default ``dtstart``, ``duration`` and ``payload`` for what it references; ``parent`` is the
    gluon above it (whose values it inherits in turn). ``uid`` names it on the wire."""

    dtstart: DateTime | None = None
    duration: NonNegativeDuration | None = None
    payload: Any = None
    parent: Gluon | None = None
    uid: NonEmptyStr | None = None

    def lineage(self) -> Iterator[Gluon]:
        """This gluon, then its parent, grandparent, … (nearest first)."""
        gluon: Gluon | None = self
        while gluon is not None:
            yield gluon
            gluon = gluon.parent

    def value(self, name: str) -> Any:
        """The value of ``name`` this gluon passes down: its own, else the nearest ancestor's."""
        if name not in INHERITED_FIELDS:
            raise ValueError(f"a gluon carries no {name!r}")
        for gluon in self.lineage():
            value = getattr(gluon, name)
            if value is not None:
                return value
        return None

    def effective(self) -> Gluon:
        """The gluon with its ancestors' values folded in (and no parent)."""
        return Gluon(
            dtstart=self.value("dtstart"),
            duration=self.value("duration"),
            payload=self.value("payload"),
            uid=self.uid,
        )


def resolve(interval: Interval, gluon: Gluon | None, *, inherit_dtstart: bool = True) -> Interval:
    """The interval with every value it lacks taken from the gluon chain (the interval's own values win;
    the nearest gluon wins over those above it). With ``inherit_dtstart=False`` the start is left alone
    (an interval that a sequence's links place)."""
    if gluon is None:
        return interval
    changes: dict[str, Any] = {}
    for name in INHERITED_FIELDS:
        if name == "dtstart" and not inherit_dtstart:
            continue
        if getattr(interval, name) is None:
            value = gluon.value(name)
            if value is not None:
                changes[name] = value
    return interval.replace(**changes) if changes else interval
