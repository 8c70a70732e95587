"""What the probe checks in the events a VTN distributes: each event on its own (conformance rules 2, 8, 9,
14 and an eventStatus that agrees with the event's times) and the distributions seen over the run, in order
(modificationNumber and content, every pending or active event listed until it ends or is cancelled)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from transactive.ei.oadr.enums import EventStatus
from transactive.ei.oadr.event import OadrDistributeEvent, OadrEvent
from transactive.ei.oadr.payloads import PayloadFloat
from transactive.interop.conformance.checks import ensure, fail
from transactive.interop.conformance.oadr_probe_rules import (
    EVENT_LIST,
    EVENT_STATUS,
    EVENT_VERSION,
    RULE_2,
    RULE_8,
    RULE_9,
    RULE_14,
)

__all__ = ["SKEW", "Seen", "check_event", "check_lists", "check_versions", "end_of", "is_live"]

#: how far the VTN's clock and ours may disagree, and how late a distribution may arrive, before an
#: eventStatus that disagrees with the event's times is a failure
SKEW = timedelta(seconds=5)
_PENDING = (EventStatus.FAR, EventStatus.NEAR)
_SIMPLE_LEVELS = (0.0, 1.0, 2.0, 3.0)


@dataclass(frozen=True, slots=True)
class Seen:
    """One ``oadrDistributeEvent`` the probe received: when, what answered (``label``, unique in a run), the
    message and the document it came in (evidence again for a case that fails on it later)."""

    at: datetime
    label: str
    message: OadrDistributeEvent
    document: bytes = b""


def end_of(item: OadrEvent) -> datetime | None:
    """When the event's active period ends (None: a duration of zero, an event without end)."""
    period = item.event.active_period
    return None if period.duration <= timedelta(0) else period.dtstart + period.duration


def is_live(item: OadrEvent) -> bool:
    """Is the event pending or active by its own status (not cancelled, not completed)?"""
    return item.event.descriptor.event_status not in (EventStatus.CANCELLED, EventStatus.COMPLETED)


def _name(item: OadrEvent) -> str:
    d = item.event.descriptor
    return f"event {d.event_id!r} (modificationNumber {d.modification_number})"


def _status(item: OadrEvent, at: datetime) -> None:
    status = item.event.descriptor.event_status
    if status is EventStatus.CANCELLED:
        return
    start, end = item.event.active_period.dtstart, end_of(item)
    allowed: set[EventStatus] = set()
    if at < start + SKEW:
        allowed.update(_PENDING)
    if at > start - SKEW and (end is None or at < end + SKEW):
        allowed.add(EventStatus.ACTIVE)
    if end is not None and at > end - SKEW:
        allowed.add(EventStatus.COMPLETED)
    ensure(status in allowed, EVENT_STATUS,
           f"{_name(item)}: eventStatus {status.value!r} at {at.isoformat()} for an active period from "
           f"{start.isoformat()} to {end.isoformat() if end else 'no end'} (expected "
           f"{' or '.join(sorted(s.value for s in allowed))})")


def check_event(item: OadrEvent, at: datetime) -> None:
    """Rules 2, 8, 9, 14 and the eventStatus of one distributed event, received at ``at``."""
    event = item.event
    name = _name(item)
    period = event.active_period.duration
    for n, signal in enumerate(event.signals, start=1):
        where = f"{name}, signal {n} ({signal.signal_name})"
        uids = [interval.uid for interval in signal.intervals]
        ensure(uids == [str(i) for i in range(len(uids))], RULE_2, f"{where}: interval uids {uids}, expected "
               f"{[str(i) for i in range(len(uids))]}")
        durations = [interval.duration for interval in signal.intervals]
        if any(d is None for d in durations):
            fail(RULE_8, f"{where}: an interval without a duration")
        total = sum((d for d in durations if d is not None), timedelta())
        if period > timedelta(0):
            ensure(total == period, RULE_8, f"{where}: the intervals last {total}, the active period {period}")
        if signal.signal_name != "SIMPLE":
            continue
        for interval in signal.intervals:
            for payload in interval.payloads:
                value = payload.payload.value if isinstance(payload.payload, PayloadFloat) else None
                ensure(value is None or value in _SIMPLE_LEVELS, RULE_9,
                       f"{where}: interval {interval.uid} has the SIMPLE value {value}")
        if signal.current_value is not None and event.descriptor.event_status is not EventStatus.ACTIVE:
            ensure(signal.current_value == 0, RULE_14,
                   f"{where}: currentValue {signal.current_value} while the event is "
                   f"{event.descriptor.event_status.value}")
    _status(item, at)


def _content(item: OadrEvent) -> Any:
    """The event as data, less what says when or in which state, not what: its status, the current values and
    the descriptor's timestamps (openleadr 0.5.36 sets createdDateTime anew when the status changes)."""
    data: dict[str, Any] = item.model_dump(mode="json")
    descriptor = data["event"]["descriptor"]
    descriptor.pop("event_status", None)
    descriptor.pop("modification_date_time", None)
    descriptor.pop("created_date_time", None)
    for signal in data["event"]["signals"]:
        signal.pop("current_value", None)
    return data


def check_versions(history: list[Seen]) -> int:
    """Across the distributions in order: no modificationNumber goes down, no content changes under the same
    number. The number of event versions seen."""
    known: dict[str, tuple[int, Any, str]] = {}
    versions = set()
    for seen in history:
        for item in seen.message.events:
            d = item.event.descriptor
            content = _content(item)
            versions.add((d.event_id, d.modification_number))
            before = known.get(d.event_id)
            if before is not None:
                number, old, where = before
                ensure(d.modification_number >= number, EVENT_VERSION,
                       f"event {d.event_id!r}: modificationNumber {d.modification_number} in {seen.label} after "
                       f"{number} in {where}")
                ensure(d.modification_number != number or content == old, EVENT_VERSION,
                       f"event {d.event_id!r}: its content in {seen.label} differs from {where} under the same "
                       f"modificationNumber {number}")
            known[d.event_id] = (d.modification_number, content, seen.label)
    return len(versions)


def check_lists(history: list[Seen]) -> int:
    """Every event pending or active in one distribution is in each later one until it ends (by its times)
    or a distribution says it is cancelled or completed. The number of distributions compared."""
    live: dict[str, tuple[OadrEvent, str]] = {}
    for seen in history:
        listed = {item.event.descriptor.event_id: item for item in seen.message.events}
        for event_id, (item, where) in list(live.items()):
            end = end_of(item)
            if event_id in listed or (end is not None and seen.at >= end - SKEW):
                continue
            fail(EVENT_LIST, f"{_name(item)}, {item.event.descriptor.event_status.value} in {where}, is missing "
                 f"from {seen.label} at {seen.at.isoformat()}, before it ends "
                 f"({end.isoformat() if end else 'no end'}) and without a cancellation")
        for event_id, item in listed.items():
            if is_live(item):
                live[event_id] = (item, seen.label)
            else:
                live.pop(event_id, None)
        for event_id in [e for e in live if e not in listed]:
            live.pop(event_id)
    return len(history)
