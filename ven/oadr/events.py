"""What an event handler is given: :class:`ReceivedEvent`, a typed view of one ``oadr:oadrEvent`` as the VEN
received it, with the values of its signals laid out in time.

An OpenADR 2.0b signal is a series of intervals that usually carry only a duration: the first starts at the
event's active period, each next one where the previous ended (WS-Calendar's gluon). :meth:`ReceivedEvent.values`
does that arithmetic once, so a handler reads ``(start, end, value)`` triples and never the xCal structure::

    def on_event(event: ReceivedEvent) -> OptType:
        price = event.signal("ELECTRICITY_PRICE")
        if price is None:
            return OptType.OPT_OUT
        cheapest = min(v.value for v in event.values(price))
        ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from transactive.ei.oadr.enums import EventStatus, OptType, ResponseRequired
from transactive.ei.oadr.event import EventSignal, OadrEvent
from transactive.ei.oadr.payloads import PayloadFloat

__all__ = ["ENDED", "ReceivedEvent", "SignalValue", "signal_values"]

#: the statuses after which a VEN forgets an event (it still acknowledges the change when asked to)
ENDED = frozenset({EventStatus.CANCELLED, EventStatus.COMPLETED})


@dataclass(frozen=True, slots=True)
class SignalValue:
    """One interval of a signal: ``value`` holds from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    value: float

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.end


def signal_values(event: OadrEvent, signal: EventSignal) -> tuple[SignalValue, ...]:
    """The float values of ``signal`` (a signal of ``event``) with the time each interval holds.

    An interval without ``dtstart`` starts where the previous one ended (the first: at the event's active
    period); one without a duration lasts until the end of the active period. Intervals whose payload is not a
    number (``oadrPayloadResourceStatus``) are left out."""
    period = event.event.active_period
    period_end = period.dtstart + period.duration if period.duration else None
    cursor = period.dtstart
    out: list[SignalValue] = []
    for interval in signal.intervals:
        start = interval.dtstart or cursor
        if interval.duration:
            end = start + interval.duration
        else:
            end = period_end if period_end is not None and period_end > start else start + timedelta(days=1)
        cursor = end
        for payload in interval.payloads:
            if isinstance(payload.payload, PayloadFloat):
                out.append(SignalValue(start, end, float(payload.payload.value)))
                break
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """One event as distributed by the VTN, with what the VEN knew of it before.

    ``previous`` is the version this one replaces (None for a new event) and ``previous_opt`` the VEN's answer
    to it; ``request_id`` is the ``oadrDistributeEvent``'s, which the answer echoes."""

    oadr_event: OadrEvent
    request_id: str
    previous: OadrEvent | None = None
    previous_opt: OptType | None = None

    @property
    def event_id(self) -> str:
        return self.oadr_event.event.descriptor.event_id

    @property
    def modification_number(self) -> int:
        return self.oadr_event.event.descriptor.modification_number

    @property
    def status(self) -> EventStatus:
        return self.oadr_event.event.descriptor.event_status

    @property
    def market_context(self) -> str:
        return self.oadr_event.event.descriptor.market_context

    @property
    def response_required(self) -> bool:
        """Whether the VTN wants an ``oadrCreatedEvent`` for this event (``oadrResponseRequired`` always)."""
        return self.oadr_event.response_required is ResponseRequired.ALWAYS

    @property
    def is_update(self) -> bool:
        """A new version (modification number) of an event the VEN already had."""
        return self.previous is not None

    @property
    def ended(self) -> bool:
        """Cancelled or completed: nothing to act on any more."""
        return self.status in ENDED

    @property
    def is_test(self) -> bool:
        """The VTN marked it a test event (``ei:testEvent`` true): answer it, do not act on it."""
        text = self.oadr_event.event.descriptor.test_event
        return text is not None and text.strip().lower() == "true"

    @property
    def start(self) -> datetime:
        return self.oadr_event.event.active_period.dtstart

    @property
    def end(self) -> datetime:
        period = self.oadr_event.event.active_period
        return period.dtstart + period.duration

    @property
    def signals(self) -> tuple[EventSignal, ...]:
        return self.oadr_event.event.signals

    def signal(self, name: str) -> EventSignal | None:
        """The first signal called ``name`` (``SIMPLE``, ``ELECTRICITY_PRICE``, ...; case as on the wire)."""
        return next((s for s in self.signals if s.signal_name == name), None)

    def values(self, signal: EventSignal) -> tuple[SignalValue, ...]:
        """``signal``'s values in time (:func:`signal_values`)."""
        return signal_values(self.oadr_event, signal)

    def value_at(self, signal: EventSignal, when: datetime) -> float | None:
        """The value of ``signal`` at ``when`` (None outside its intervals)."""
        return next((v.value for v in self.values(signal) if v.covers(when)), None)
