"""WS-Calendar sequences: intervals linked by temporal relationships, and how to schedule them.

A link says how the successor's start follows from the predecessor's (``gap`` is added to the
predecessor's reference point; it may be negative):

============== ============================================
finishToStart  successor.start  = predecessor.end   + gap
finishToFinish successor.end    = predecessor.end   + gap
startToFinish  successor.end    = predecessor.start + gap
startToStart   successor.start  = predecessor.start + gap
============== ============================================

Once one interval's start (the *anchor*) is known, every interval linked to it, directly or through
other links in either direction, gets its start by walking the links.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from transactive.calendar.errors import (
    ConflictError,
    CycleError,
    DanglingLinkError,
    SchedulingError,
    UnscheduledError,
)
from transactive.calendar.interval import CalendarObject, Interval
from transactive.model import Duration, NonEmptyStr

if TYPE_CHECKING:
    from transactive.calendar.gluon import Gluon

__all__ = ["Link", "Relation", "Sequence", "slots"]

_ZERO = timedelta(0)


class Relation(StrEnum):
    """The four WS-Calendar temporal relationships (predecessor point → successor point)."""

    FINISH_TO_START = "finishToStart"
    FINISH_TO_FINISH = "finishToFinish"
    START_TO_FINISH = "startToFinish"
    START_TO_START = "startToStart"

    @property
    def reltype(self) -> str:
        """The iCalendar ``RELTYPE`` parameter value (``FINISHTOSTART`` …)."""
        return self.value.upper()

    @classmethod
    def from_reltype(cls, text: str) -> Relation:
        for member in cls:
            if member.reltype == text.strip().upper():
                return member
        raise ValueError(f"{text!r} is not a WS-Calendar temporal relationship")


class Link(CalendarObject):
    """``successor`` follows ``predecessor`` by ``relation``, offset by ``gap`` (default none)."""

    predecessor_uid: NonEmptyStr
    successor_uid: NonEmptyStr
    relation: Relation = Relation.FINISH_TO_START
    gap: Duration = _ZERO

    @model_validator(mode="after")
    def _not_to_itself(self) -> Link:
        if self.predecessor_uid == self.successor_uid:
            raise ValueError(f"interval {self.predecessor_uid} cannot be linked to itself")
        return self

    def offset(self, predecessor: timedelta, successor: timedelta) -> timedelta:
        """successor.start - predecessor.start, given the two durations."""
        relation = self.relation
        if relation is Relation.FINISH_TO_START:
            return predecessor + self.gap
        if relation is Relation.FINISH_TO_FINISH:
            return predecessor + self.gap - successor
        if relation is Relation.START_TO_FINISH:
            return self.gap - successor
        return self.gap


class Sequence(CalendarObject):
    """A set of intervals (each with a distinct uid) and the links between them."""

    intervals: tuple[Interval, ...]
    links: tuple[Link, ...] = ()

    @model_validator(mode="after")
    def _distinct_uids(self) -> Sequence:
        seen: set[str] = set()
        for interval in self.intervals:
            if interval.uid is None:
                raise ValueError("every interval of a sequence needs a uid")
            if interval.uid in seen:
                raise ValueError(f"two intervals have the uid {interval.uid!r}")
            seen.add(interval.uid)
        return self

    # ------------------------------------------------------------------ look-ups
    def __getitem__(self, uid: str) -> Interval:
        for interval in self.intervals:
            if interval.uid == uid:
                return interval
        raise KeyError(uid)

    @property
    def uids(self) -> tuple[str, ...]:
        return tuple(str(i.uid) for i in self.intervals)

    def heads(self) -> tuple[str, ...]:
        """The uids of the intervals no link leads to (where a sequence starts), in listed order."""
        successors = {link.successor_uid for link in self.links}
        return tuple(uid for uid in self.uids if uid not in successors)

    # ------------------------------------------------------------------ scheduling
    def check(self) -> None:
        """Raise :class:`DanglingLinkError` or :class:`CycleError` if the links are not a valid graph."""
        uids = set(self.uids)
        for link in self.links:
            for uid in (link.predecessor_uid, link.successor_uid):
                if uid not in uids:
                    raise DanglingLinkError(
                        f"link {link.predecessor_uid} → {link.successor_uid} names {uid!r}, "
                        "which is not an interval of the sequence"
                    )
        # Kahn's algorithm: whatever cannot be peeled off lies on (or behind) a cycle
        incoming = {uid: 0 for uid in uids}
        outgoing: dict[str, list[str]] = {uid: [] for uid in uids}
        for link in self.links:
            incoming[link.successor_uid] += 1
            outgoing[link.predecessor_uid].append(link.successor_uid)
        ready = deque(uid for uid, n in incoming.items() if n == 0)
        done = 0
        while ready:
            uid = ready.popleft()
            done += 1
            for nxt in outgoing[uid]:
                incoming[nxt] -= 1
                if incoming[nxt] == 0:
                    ready.append(nxt)
        if done != len(uids):
            stuck = sorted(uid for uid, n in incoming.items() if n > 0)
            raise CycleError(f"the links form a cycle through {', '.join(stuck)}")

    def _offsets_from(self, root: str) -> dict[str, timedelta]:
        """Start offsets relative to ``root`` of every interval linked to it (directly or not)."""
        durations = {str(i.uid): i.length for i in self.intervals}
        adjacent: dict[str, list[tuple[str, Link, int]]] = {uid: [] for uid in durations}
        for link in self.links:
            adjacent[link.predecessor_uid].append((link.successor_uid, link, +1))
            adjacent[link.successor_uid].append((link.predecessor_uid, link, -1))
        offsets = {root: _ZERO}
        queue = deque([root])
        while queue:
            uid = queue.popleft()
            for other, link, direction in adjacent[uid]:
                step = link.offset(durations[link.predecessor_uid], durations[link.successor_uid])
                value = offsets[uid] + step * direction
                known = offsets.get(other)
                if known is None:
                    offsets[other] = value
                    queue.append(other)
                elif known != value:
                    raise ConflictError(
                        f"the links put {other} at two different times ({value - known} apart); "
                        f"see link {link.predecessor_uid} → {link.successor_uid} ({link.relation.value})"
                    )
        return offsets

    def schedule(self, anchor_uid: str | None = None, anchor_start: datetime | None = None) -> Sequence:
        """The sequence with every interval's ``dtstart`` computed from the anchor.

        The anchor is ``anchor_uid`` starting at ``anchor_start``; with neither, the intervals that
        already have a ``dtstart`` (set or inherited) anchor the parts of the sequence they are linked to.
        An explicit ``dtstart`` that contradicts the computed one raises :class:`ConflictError`;
        an interval that nothing anchors raises :class:`UnscheduledError`.
        """
        self.check()
        if (anchor_uid is None) != (anchor_start is None):
            raise ValueError("give both anchor_uid and anchor_start, or neither")
        if anchor_start is not None and (anchor_start.tzinfo is None or anchor_start.utcoffset() is None):
            raise ValueError("anchor_start needs a UTC offset")
        fixed: dict[str, datetime] = {str(i.uid): i.dtstart for i in self.intervals if i.dtstart is not None}
        if anchor_uid is not None:
            assert anchor_start is not None
            if anchor_uid not in set(self.uids):
                raise DanglingLinkError(f"the anchor {anchor_uid!r} is not an interval of the sequence")
            known = fixed.get(anchor_uid)
            if known is not None and known != anchor_start:
                raise ConflictError(f"interval {anchor_uid} already starts at {known}, not at {anchor_start}")
            fixed[anchor_uid] = anchor_start
        starts: dict[str, datetime] = {}
        roots = ([anchor_uid] if anchor_uid is not None else []) + [u for u in self.uids if u in fixed]
        for root in roots:
            if root in starts:
                continue
            base = fixed[root]
            for uid, offset in self._offsets_from(root).items():
                when = base + offset
                other = fixed.get(uid)
                if other is not None and other != when:
                    raise ConflictError(f"interval {uid} is put at {when} by the links but starts at {other}")
                starts[uid] = when
        missing = [uid for uid in self.uids if uid not in starts]
        if missing:
            raise UnscheduledError(
                f"no start time for {', '.join(missing)}: not linked to any interval with a known start"
            )
        return self.replace(intervals=tuple(i.replace(dtstart=starts[str(i.uid)]) for i in self.intervals))  # type: ignore[no-any-return]

    def resolved(self, gluon: Gluon, anchor_uid: str | None = None) -> Sequence:
        """The sequence with the gluon's (and its ancestors') values inherited.

        Duration and payload are inherited by every interval that lacks them; the gluon's ``dtstart``
        only by the designated interval ``anchor_uid`` (default: the one head of the sequence), since
        the others' starts follow from the links. A value set on an interval is never replaced.
        """
        from transactive.calendar.gluon import resolve

        if anchor_uid is None:
            heads = self.heads()
            if len(heads) != 1 and gluon.effective().dtstart is not None:
                raise SchedulingError(
                    f"the sequence has {len(heads)} heads ({', '.join(heads)}): name the interval the gluon anchors"
                )
            anchor_uid = heads[0] if heads else None
        elif anchor_uid not in set(self.uids):
            raise DanglingLinkError(f"the anchor {anchor_uid!r} is not an interval of the sequence")
        out = []
        for interval in self.intervals:
            inherited = resolve(interval, gluon, inherit_dtstart=interval.uid == anchor_uid)
            out.append(inherited)
        return self.replace(intervals=tuple(out))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ arithmetic
    def _relative_starts(self) -> dict[str, Any]:
        """Each interval's start: its dtstart if all are scheduled, else its offset from the first one."""
        if all(i.dtstart is not None for i in self.intervals):
            return {str(i.uid): i.start for i in self.intervals}
        self.check()
        offsets = self._offsets_from(self.uids[0])
        if len(offsets) != len(self.intervals):
            raise UnscheduledError("parts of the sequence are not linked to each other: schedule it first")
        return dict(offsets)

    def _periods(self) -> list[tuple[Any, Any]]:
        starts = self._relative_starts()
        return sorted((starts[str(i.uid)], starts[str(i.uid)] + i.length) for i in self.intervals)

    @property
    def total_duration(self) -> timedelta:
        """From the earliest start to the latest end (no dtstarts needed if the links connect everything)."""
        if not self.intervals:
            return _ZERO
        periods = self._periods()
        span: timedelta = max(end for _, end in periods) - periods[0][0]
        return span

    @property
    def start(self) -> datetime:
        return min(i.start for i in self.intervals)

    @property
    def end(self) -> datetime:
        return max(i.end for i in self.intervals)

    def is_contiguous(self) -> bool:
        """Whether the intervals, in time order, follow each other with no gap and no overlap."""
        if not self.intervals:
            return True
        periods = self._periods()
        return all(prev_end == start for (_, prev_end), (start, _) in pairwise(periods))

    # ------------------------------------------------------------------ building
    @classmethod
    def slots(cls, start: datetime, duration: timedelta, count: int, *, uid_prefix: str = "slot",
              payloads: tuple[Any, ...] | None = None) -> Sequence:
        """``count`` back-to-back intervals of ``duration`` from ``start``, linked finishToStart and
        named ``<uid_prefix>-1 … -N`` (the common "N intervals of 15 minutes from t0" case)."""
        return slots(start, duration, count, uid_prefix=uid_prefix, payloads=payloads)

    @classmethod
    def chain(cls, intervals: tuple[Interval, ...] | list[Interval], *, relation: Relation = Relation.FINISH_TO_START,
              gap: timedelta = _ZERO) -> Sequence:
        """The intervals linked one after the other in the order given."""
        items = tuple(intervals)
        links = tuple(
            Link(predecessor_uid=str(a.uid), successor_uid=str(b.uid), relation=relation, gap=gap)
            for a, b in pairwise(items)
        )
        return cls(intervals=items, links=links)


def slots(start: datetime, duration: timedelta, count: int, *, uid_prefix: str = "slot",
          payloads: tuple[Any, ...] | None = None) -> Sequence:
    """See :meth:`Sequence.slots`."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if duration <= _ZERO:
        raise ValueError("slot duration must be positive")
    if payloads is not None and len(payloads) != count:
        raise ValueError(f"{len(payloads)} payloads for {count} slots")
    intervals = tuple(
        Interval(duration=duration, dtstart=start + duration * n, uid=f"{uid_prefix}-{n + 1}",
                 payload=None if payloads is None else payloads[n])
        for n in range(count)
    )
    return Sequence.chain(intervals)

