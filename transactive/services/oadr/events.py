"""EiEvent and EiOpt: distributing events, the VENs' answers (``oadrCreatedEvent``), opt schedules, and the
operator's event lifecycle (create, modify, cancel, list) and the market's price events.

An event's version is its ``modificationNumber``: modifying or cancelling it increments the number, and a
VEN is sent the event again on its next poll (every active or pending event of the VEN in one
``oadrDistributeEvent``, as 2.0b requires). A VEN's opt-in or opt-out is kept per VEN and event, from its
``oadrCreatedEvent`` or an event ``oadrCreateOpt``, whichever came last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from transactive.ei.oadr import (
    ActivePeriod,
    EiResponse,
    Event,
    EventDescriptor,
    EventSignal,
    Interval,
    OadrCanceledOpt,
    OadrCancelOpt,
    OadrCreatedEvent,
    OadrCreatedOpt,
    OadrCreateOpt,
    OadrDistributeEvent,
    OadrEvent,
    OadrRequestEvent,
    OadrResponse,
    PayloadFloat,
    SignalPayload,
    Target,
)
from transactive.ei.oadr.enums import EventStatus, ResponseRequired, SignalName, SignalType
from transactive.ei.oadr.items import CurrencyPerKWh
from transactive.model import Model
from transactive.protocol.errors import InvalidIdError, OutOfSequenceError, OutsideLimitsError
from transactive.services.oadr.context import OadrContext, Peer, new_id
from transactive.services.oadr.records import (
    DeliveredRecord,
    EventOptRecord,
    EventRecord,
    IntervalValue,
    OptRecord,
    SignalRecord,
    VenRecord,
)

__all__ = ["EventSpec", "cancel_event", "cancel_opt", "create_event", "create_opt", "created_event",
           "distribution", "list_events", "modify_event", "request_event", "sent_versions", "versions_for"]

_SIGNAL_NAMES = frozenset(s.value for s in SignalName)
_SIGNAL_TYPES = frozenset(s.value for s in SignalType)
#: an event may not be longer than this, nor have more intervals
MAX_EVENT = timedelta(days=366)
MAX_INTERVALS = 10_000


# ---- distribution --------------------------------------------------------------------------------

def versions_for(ctx: OadrContext, ven: VenRecord) -> dict[str, tuple[int, bool]]:
    """``eventID -> (modificationNumber, cancelled)`` of every event the VEN is to know now: its events that
    have not ended, less the cancelled ones whose cancellation the VEN already has (:func:`cancellation_known`)."""
    if ven.report_only:
        return {}
    now = ctx.now()
    return {e.event_id: (e.modification_number, e.cancelled) for e in ctx.events().values()
            if e.targets_ven(ven.ven_id) and e.end > now and not (e.cancelled and cancellation_known(ctx, ven, e))}


def sent_versions(ctx: OadrContext, ven: VenRecord) -> dict[str, tuple[int, bool]]:
    """What the VEN has once it was sent its :func:`distribution`, to record as delivered: :func:`versions_for`
    and the cancellations it already has (left out of the distribution, kept in the record so that they stay
    known: :func:`cancellation_known` reads them there)."""
    if ven.report_only:
        return {}
    now = ctx.now()
    return {e.event_id: (e.modification_number, e.cancelled) for e in ctx.events().values()
            if e.targets_ven(ven.ven_id) and e.end > now}


def cancellation_known(ctx: OadrContext, ven: VenRecord, event: EventRecord) -> bool:
    """Has the VEN got the cancellation of ``event``: it answered it (``oadrCreatedEvent`` at the cancelled
    modificationNumber), or, for an event that asks no answer, it was sent it? Such an event is left out of the
    VEN's later ``oadrDistributeEvent`` s (they carry its pending and active events; this one is neither for the
    VEN any more). Sent again, openleadr 0.5.36 fails on the cancellation it already answered and opts out of
    every event of that distribution."""
    if event.response_required == "always":
        answer = ctx.get(EventOptRecord, f"{ven.ven_id}/{event.event_id}")
        return answer is not None and answer.modification_number >= event.modification_number
    delivered = ctx.get(DeliveredRecord, ven.ven_id)
    sent = None if delivered is None else delivered.versions.get(event.event_id)
    return sent is not None and tuple(sent) == (event.modification_number, True)


def _oadr_event(ctx: OadrContext, event: EventRecord, ven: VenRecord, now: datetime) -> OadrEvent:
    status = event.status(now)
    signals = []
    for signal in event.signals:
        offset, current = timedelta(), 0.0
        intervals = []
        for n, iv in enumerate(signal.intervals):
            if event.start + offset <= now < event.start + offset + iv.duration and not event.cancelled:
                current = iv.value
            offset += iv.duration
            intervals.append(Interval(duration=iv.duration, uid=str(n),
                                      payloads=(SignalPayload(payload=PayloadFloat(value=iv.value)),)))
        item = CurrencyPerKWh(item_units=signal.currency) if signal.currency else None
        signals.append(EventSignal(intervals=tuple(intervals), signal_name=signal.name,
                                   signal_type=SignalType(signal.type), signal_id=signal.signal_id,
                                   item_base=item, current_value=current))
    descriptor = EventDescriptor(
        event_id=event.event_id, modification_number=event.modification_number,
        modification_date_time=event.modified_at, priority=event.priority,
        market_context=event.market_context, created_date_time=event.created_at,
        event_status=EventStatus(status), test_event="true" if event.test_event else None)
    period = ActivePeriod(dtstart=event.start, duration=event.duration, tolerance_start_after=event.start_after)
    return OadrEvent(event=Event(descriptor=descriptor, active_period=period, signals=tuple(signals),
                                 target=Target(ven_ids=(ven.ven_id,))),
                     response_required=ResponseRequired(event.response_required))


def distribution(ctx: OadrContext, ven: VenRecord, request_id: str | None = None,
                 reply_limit: int | None = None) -> OadrDistributeEvent:
    """Every event the VEN is to know, in one message (the caller records it as delivered)."""
    now = ctx.now()
    versions = versions_for(ctx, ven)
    events = ctx.events()
    chosen = sorted((events[i] for i in versions), key=lambda e: (e.priority or 2**32, e.start, e.event_id))
    if reply_limit:
        chosen = chosen[:reply_limit]
    request_id = request_id or new_id("dist-")
    return OadrDistributeEvent(
        response=EiResponse(response_code=200, response_description="OK", request_id=request_id),
        request_id=request_id, vtn_id=ctx.settings.vtn_id,
        events=tuple(_oadr_event(ctx, e, ven, now) for e in chosen))


def changed_for(ctx: OadrContext, ven: VenRecord) -> bool:
    """Has an event the VEN is to know changed (new, modified, cancelled) since it was last sent its events?"""
    versions = versions_for(ctx, ven)
    if not versions:
        return False
    delivered = ctx.get(DeliveredRecord, ven.ven_id)
    sent = {} if delivered is None else delivered.versions
    return any(tuple(sent.get(event_id, ())) != version for event_id, version in versions.items())


def request_event(ctx: OadrContext, message: OadrRequestEvent, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    reply = distribution(ctx, ven, message.request_id, message.reply_limit)
    ctx.put(DeliveredRecord(ven_id=ven.ven_id, versions=sent_versions(ctx, ven), at=ctx.now()), ven.ven_id, ven.ven_id)
    return reply


# ---- the VEN's answers ---------------------------------------------------------------------------

def _remember_opt(ctx: OadrContext, ven: VenRecord, event_id: str, number: int, opt: str, field: str) -> None:
    event = ctx.events().get(event_id) or ctx.get(EventRecord, event_id)
    if event is None or not event.targets_ven(ven.ven_id):
        raise InvalidIdError(f"event {event_id!r} is not an event of this VEN", field=field)
    if number > event.modification_number:
        raise InvalidIdError(f"event {event_id!r} has no modificationNumber {number} yet",
                             field="ei:qualifiedEventID/ei:modificationNumber")
    record = EventOptRecord(ven_id=ven.ven_id, event_id=event_id, modification_number=number,
                            opt_type="optIn" if opt == "optIn" else "optOut", at=ctx.now())
    ctx.put(record, f"{ven.ven_id}/{event_id}", ven.ven_id)


def created_event(ctx: OadrContext, message: OadrCreatedEvent, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer, "pyld:eiCreatedEvent/ei:venID")
    for n, answer in enumerate(message.event_responses, start=1):
        q = answer.qualified_event_id
        _remember_opt(ctx, ven, q.event_id, q.modification_number, answer.opt_type,
                      f"ei:eventResponses/ei:eventResponse[{n}]/ei:qualifiedEventID/ei:eventID")
    return OadrResponse(response=EiResponse(response_code=200, response_description="OK",
                                            request_id=message.response.request_id), ven_id=ven.ven_id)


def create_opt(ctx: OadrContext, message: OadrCreateOpt, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    q = message.qualified_event_id
    if q is None and not message.available:
        raise OutsideLimitsError("an opt needs an event (ei:qualifiedEventID) or periods (xcal:vavailability)",
                                 field="xcal:vavailability")
    if q is not None:
        _remember_opt(ctx, ven, q.event_id, q.modification_number, message.opt_type, "ei:qualifiedEventID/ei:eventID")
    record = OptRecord(ven_id=ven.ven_id, opt_id=message.opt_id, opt_type=message.opt_type.value,
                       opt_reason=str(message.opt_reason), event_id=None if q is None else q.event_id,
                       modification_number=None if q is None else q.modification_number,
                       available=tuple((a.dtstart, a.duration) for a in message.available),
                       market_context=message.market_context, created_at=ctx.now())
    ctx.put(record, f"{ven.ven_id}/{message.opt_id}", ven.ven_id)
    return OadrCreatedOpt(response=EiResponse(response_code=200, response_description="OK",
                                              request_id=message.request_id), opt_id=message.opt_id)


def cancel_opt(ctx: OadrContext, message: OadrCancelOpt, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    record = ctx.get(OptRecord, f"{ven.ven_id}/{message.opt_id}")
    if record is None:
        raise InvalidIdError(f"optID {message.opt_id!r} is not an opt of this VEN", field="ei:optID")
    if record.cancelled_at is None:
        ctx.put(record.model_copy(update={"cancelled_at": ctx.now()}), f"{ven.ven_id}/{message.opt_id}", ven.ven_id)
    return OadrCanceledOpt(response=EiResponse(response_code=200, response_description="OK",
                                               request_id=message.request_id), opt_id=message.opt_id)


# ---- the operator's lifecycle --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event as the operator asks for it (``vtn event create``)."""

    signal_name: str
    start: datetime
    intervals: tuple[tuple[timedelta, float], ...]
    signal_type: str | None = None
    #: VEN names; empty: every registered VEN
    vens: tuple[str, ...] = ()
    priority: int | None = None
    response_required: Literal["always", "never"] = "always"
    start_after: timedelta | None = None
    test_event: bool = False


def _default_type(name: str) -> str:
    if name in ("ELECTRICITY_PRICE", "ENERGY_PRICE", "DEMAND_CHARGE", "BID_PRICE"):
        return "price"
    if name in ("LOAD_DISPATCH", "BID_LOAD", "BID_ENERGY"):
        return "setpoint"
    return "level"


def _intervals(intervals: tuple[tuple[timedelta, float], ...], field: str = "intervals") -> tuple[IntervalValue, ...]:
    if not intervals:
        raise OutsideLimitsError("an event needs at least one interval", field=field)
    if len(intervals) > MAX_INTERVALS:
        raise OutsideLimitsError(f"an event has at most {MAX_INTERVALS} intervals", field=field)
    total = timedelta()
    for n, (duration, value) in enumerate(intervals, start=1):
        if duration <= timedelta() or duration.microseconds:
            raise OutsideLimitsError(f"interval {n}: the duration must be whole seconds above zero", field=field)
        if not math.isfinite(value):
            raise OutsideLimitsError(f"interval {n}: the value must be a finite number", field=field)
        total += duration
    if total > MAX_EVENT:
        raise OutsideLimitsError("an event lasts at most 366 days", field=field)
    return tuple(IntervalValue(duration=d, value=v) for d, v in intervals)


def _targets(ctx: OadrContext, names: tuple[str, ...]) -> tuple[str, ...] | None:
    if not names:
        return None
    ids = []
    for name in names:
        ven = ctx.active_by_name(name)
        if ven is None:
            raise InvalidIdError(f"no registered VEN is named {name!r}", field="ven")
        ids.append(ven.ven_id)
    return tuple(dict.fromkeys(ids))


def create_event(ctx: OadrContext, spec: EventSpec, *, event_id: str | None = None, origin: str = "operator",
                 currency: str | None = None) -> EventRecord:
    if spec.signal_name not in _SIGNAL_NAMES and not spec.signal_name.startswith("x-"):
        raise OutsideLimitsError(f"unknown signal name {spec.signal_name!r} (one of {', '.join(sorted(_SIGNAL_NAMES))}"
                                 " or x-...)", field="signal")
    signal_type = spec.signal_type or _default_type(spec.signal_name)
    if signal_type not in _SIGNAL_TYPES:
        raise OutsideLimitsError(f"unknown signal type {signal_type!r} (one of {', '.join(sorted(_SIGNAL_TYPES))})",
                                 field="signal-type")
    if spec.start.tzinfo is None:
        raise OutsideLimitsError("the start needs a time zone (e.g. 2026-12-04T18:00:00Z)", field="start")
    if spec.priority is not None and not 0 <= spec.priority <= 4_294_967_295:
        raise OutsideLimitsError("priority is an unsigned 32-bit number", field="priority")
    now = ctx.now()
    if currency is None and signal_type == "price":
        currency = ctx.settings.currency
    signal = SignalRecord(name=spec.signal_name, type=signal_type, signal_id=new_id("sig-"),
                          intervals=_intervals(spec.intervals), currency=currency)
    event = EventRecord(event_id=event_id or new_id("evt-"), market_context=ctx.settings.market_context,
                        created_at=now, modified_at=now, start=spec.start, signals=(signal,),
                        targets=_targets(ctx, spec.vens), priority=spec.priority,
                        response_required=spec.response_required, start_after=spec.start_after,
                        test_event=spec.test_event, origin=origin)
    ctx.put_event(event)
    return event


def _changeable(ctx: OadrContext, event_id: str) -> EventRecord:
    event = ctx.get(EventRecord, event_id)
    if event is None:
        raise InvalidIdError(f"no event {event_id!r}", field="event_id")
    if event.cancelled:
        raise OutOfSequenceError(f"event {event_id} is cancelled", field="event_id")
    if event.end <= ctx.now():
        raise OutOfSequenceError(f"event {event_id} is completed", field="event_id")
    return event


def modify_event(ctx: OadrContext, event_id: str, *, intervals: tuple[tuple[timedelta, float], ...] | None = None,
                 start: datetime | None = None, priority: int | None = None) -> EventRecord:
    event = _changeable(ctx, event_id)
    update: dict[str, object] = {"modification_number": event.modification_number + 1, "modified_at": ctx.now()}
    if intervals is not None:
        update["signals"] = tuple(s.model_copy(update={"intervals": _intervals(intervals)}) for s in event.signals)
    if start is not None:
        update["start"] = start
    if priority is not None:
        update["priority"] = priority
    changed = event.model_copy(update=update)
    ctx.put_event(changed)
    return changed


def cancel_event(ctx: OadrContext, event_id: str) -> EventRecord:
    event = _changeable(ctx, event_id)
    changed = event.model_copy(update={"modification_number": event.modification_number + 1,
                                       "modified_at": ctx.now(), "cancelled": True})
    ctx.put_event(changed)
    return changed


def list_events(ctx: OadrContext) -> list[tuple[EventRecord, dict[str, str | None]]]:
    """Every event (newest first) with the VENs' answers: VEN name -> ``optIn``/``optOut`` (None: none yet)
    for every VEN the event targets (every active VEN when it names none). The answers are read once."""
    vens = ctx.vens()
    active = tuple(v.ven_id for v in vens.values() if v.active)
    answers: dict[str, dict[str, str]] = {}
    for opt in ctx.all(EventOptRecord):
        answers.setdefault(opt.event_id, {})[opt.ven_id] = opt.opt_type
    listed = []
    for event in sorted(ctx.all(EventRecord), key=lambda e: (e.created_at, e.event_id), reverse=True):
        given = answers.get(event.event_id, {})
        ids = event.targets if event.targets is not None else active
        listed.append((event, {vens[i].ven_name if i in vens else i: given.get(i) for i in ids}))
    return listed
