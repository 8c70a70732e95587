"""The OpenADR 3 reference VEN's loop: register, read PRICE events, let the personality answer, report USAGE.

:class:`Oa3VenRuntime` drives an :class:`~.client.Oa3Client` and an :class:`~.behaviour.Oa3Behaviour`:

1. :meth:`~Oa3VenRuntime.start` gets a token (bad credentials raise :class:`~.client.Oa3AuthError`), finds its
   ven by ``venName`` or creates it (``VEN_VEN_REQUEST``), and finds or creates its resource;
2. each :meth:`~Oa3VenRuntime.poll` reads the programs it may see and each one's active events, decides every
   priced interval it has not decided yet that has not ended (in time order), and reports the usage of the
   decided intervals that have ended: one report per event (``clientName`` the ven name, one resource, a
   ``USAGE`` payload per interval in kWh, described by a ``REPORT_PAYLOAD_DESCRIPTOR`` with units ``KWH`` and
   reading type ``DIRECT_READ``), created at the first interval that ends and updated (PUT) with every later one.
   A report this ven wrote earlier for the event (a restarted VEN) is found and extended, not duplicated;
3. :meth:`~Oa3VenRuntime.run` polls every ``poll_seconds`` until ``stop`` is set or ``duration`` seconds passed.
   An unreachable VTN or a 5xx answer is logged and tried again at the next poll (with backoff); any other
   refusal ends the run with the :class:`~.client.Oa3Error`.

Intervals of an event that no longer appears and that have not started are forgotten (the event was deleted
or is no longer meant for this VEN); decided intervals already under way are still reported. A decision is not
revisited when its event is modified later. A meter is read once per interval: a report that could not be sent
is sent again at the next poll with the same reading.

``clock`` tells the time intervals are read against (the market's clock of an accelerated VTN); ``log`` gets
one line per decision and report, ``record`` one dict each.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from transactive.protocol.clock import Clock, system_clock
from transactive.transport.base import backoff
from transactive.ven.openadr3.behaviour import Decision, Oa3Behaviour, PricedInterval, price_intervals
from transactive.ven.openadr3.client import Oa3Client, Oa3ConnectionError, Oa3Error
from transactive.ven.openadr3.models import (
    Interval,
    IntervalPeriod,
    Report,
    ReportPayloadDescriptor,
    ReportRequest,
    ReportResource,
    Resource,
    ValuesMap,
    Ven,
    VenResourceRequest,
    VenVenRequest,
    iso_duration,
)

__all__ = ["DEFAULT_POLL_SECONDS", "USAGE", "USAGE_DESCRIPTOR", "Oa3VenRuntime"]

#: how often events are read unless told otherwise
DEFAULT_POLL_SECONDS = 10.0
#: the report payload type of energy used (Definitions: "USAGE")
USAGE = "USAGE"
#: how the usage values are to be read: kWh per interval, as metered
USAGE_DESCRIPTOR = ReportPayloadDescriptor(payload_type=USAGE, reading_type="DIRECT_READ", units="KWH")


def _transient(error: Oa3Error) -> bool:
    """Worth trying again at the next poll: no answer, or the VTN's own failure."""
    return isinstance(error, Oa3ConnectionError) or (error.status is not None and error.status >= 500)


class Oa3VenRuntime:
    """One VEN (see the module's description): ``ven_name`` is its ``venName`` and the reports' ``clientName``;
    ``resource_name`` the resource it reports for (default ``{ven_name}-{personality}``)."""

    def __init__(self, client: Oa3Client, behaviour: Oa3Behaviour, *, ven_name: str,
                 resource_name: str | None = None, clock: Clock = system_clock,
                 poll_seconds: float = DEFAULT_POLL_SECONDS, log: Callable[[str], None] | None = None,
                 record: Callable[[dict[str, Any]], None] | None = None) -> None:
        if not poll_seconds > 0:
            raise ValueError("poll_seconds must be positive")
        self.client = client
        self.behaviour = behaviour
        self.ven_name = ven_name
        self.resource_name = resource_name or f"{ven_name}-{behaviour.personality.name}"
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._log = log
        self._record = record
        self.ven: Ven | None = None
        self.resource: Resource | None = None
        #: (event id, interval id) -> decision, until its usage is reported
        self.pending: dict[tuple[str, int], Decision] = {}
        #: every (event id, interval id) decided so far (so none is decided twice)
        self.decided: set[tuple[str, int]] = set()
        #: event id -> the report this ven writes for it
        self.reports: dict[str, Report] = {}
        #: (event id, interval id) -> the meter's reading (kWh), kept until reported (a meter is read once)
        self._readings: dict[tuple[str, int], float] = {}

    def _say(self, line: str, **fields: Any) -> None:
        if self._log is not None:
            self._log(f"{self.ven_name}: {line}")
        if self._record is not None:
            self._record({"at": self.clock().isoformat(), **fields})

    # -- registration ---------------------------------------------------------------------------------------

    async def start(self) -> Ven:
        """Token, ven and resource (found or created); the ven."""
        await self.client.token()
        ven = await self.client.find_ven(self.ven_name)
        if ven is None:
            try:
                ven = await self.client.create_ven(VenVenRequest(ven_name=self.ven_name))
            except Oa3Error as error:
                # made meanwhile by another run of this client? (409, or 400 from a VTN whose operation lists no 409)
                ven = await self.client.find_ven(self.ven_name) if error.status in (400, 409) else None
                if ven is None:
                    raise
            self._say(f"registered as ven {ven.id}", kind="ven", ven_id=ven.id, created=True)
        else:
            self._say(f"found its ven {ven.id}", kind="ven", ven_id=ven.id, created=False)
        self.ven = ven
        found = [r for r in await self.client.resources(ven_id=ven.id, resource_name=self.resource_name)
                 if r.resource_name == self.resource_name and r.ven_id == ven.id]
        self.resource = found[0] if found else await self.client.create_resource(
            VenResourceRequest(resource_name=self.resource_name, ven_id=ven.id))
        return ven

    # -- one round ------------------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Read the events, decide new priced intervals, report the ones that ended."""
        now = self.clock()
        listed: set[str] = set()
        fresh: list[PricedInterval] = []
        for program in await self.client.programs():
            for event in await self.client.events(program_id=program.id, active=True):
                listed.add(event.id)
                fresh.extend(p for p in price_intervals(event) if p.key not in self.decided and p.end > now)
        for key, decision in list(self.pending.items()):
            if key[0] not in listed and decision.interval.start > now:
                del self.pending[key]
        # what is neither listed nor pending will not be seen again (an event over or gone): forget it
        self.decided = {key for key in self.decided if key[0] in listed or key in self.pending}
        kept = listed | {key[0] for key in self.pending}
        self.reports = {event_id: report for event_id, report in self.reports.items() if event_id in kept}
        for interval in sorted(fresh, key=lambda p: (p.start, p.interval_id)):
            decision = self.behaviour.decide(interval)
            self.decided.add(interval.key)
            self.pending[interval.key] = decision
            money = f" {interval.currency}" if interval.currency else ""
            self._say(f"event {interval.event_id} interval {interval.interval_id} ({interval.start.isoformat()}, "
                      f"{iso_duration(interval.duration)}) price {interval.price:g}{money}: {decision.action} "
                      f"{decision.planned_kwh:+.3f} kWh", kind="decision", event_id=interval.event_id,
                      interval_id=interval.interval_id, start=interval.start.isoformat(), price=interval.price,
                      action=decision.action, planned_kwh=decision.planned_kwh)
        await self.report_ended()

    async def report_ended(self) -> None:
        """Report the usage of every decided interval that has ended, one report per event."""
        now = self.clock()
        due: dict[str, list[Decision]] = {}
        for decision in self.pending.values():
            if decision.interval.end <= now:
                due.setdefault(decision.interval.event_id, []).append(decision)
        for event_id, decisions in due.items():
            for d in decisions:
                if d.interval.key not in self._readings:
                    self._readings[d.interval.key] = self.behaviour.metered(d)
            readings = [(d, self._readings[d.interval.key]) for d in sorted(decisions, key=lambda d: d.interval.start)]
            report = await self._send_report(event_id, [self._interval(d, kwh) for d, kwh in readings])
            for d, kwh in readings:
                del self.pending[d.interval.key]
                del self._readings[d.interval.key]
                self._say(f"reported event {event_id} interval {d.interval.interval_id}: {kwh:+.3f} kWh "
                          f"(report {report.id})", kind="report", event_id=event_id, report_id=report.id,
                          interval_id=d.interval.interval_id, usage_kwh=kwh)

    @staticmethod
    def _interval(decision: Decision, kwh: float) -> Interval:
        period = IntervalPeriod(start=decision.interval.start, duration=iso_duration(decision.interval.duration))
        return Interval(id=decision.interval.interval_id, interval_period=period,
                        payloads=[ValuesMap(type=USAGE, values=[round(kwh, 6) + 0.0])])  # no -0.0

    async def _send_report(self, event_id: str, intervals: list[Interval]) -> Report:
        """Create this ven's report of the event, or update it with ``intervals`` (replacing same-id ones)."""
        report = self.reports.get(event_id)
        if report is None:
            mine = await self.client.reports(event_id=event_id, client_name=self.ven_name)
            report = mine[0] if mine else None
        earlier: list[Interval] = []
        if report is not None:
            for resource in report.resources:
                if resource.resource_name == self.resource_name:
                    earlier.extend(resource.intervals)
        new_ids = {i.id for i in intervals}
        merged = sorted([*(i for i in earlier if i.id not in new_ids), *intervals], key=lambda i: i.id)
        others = [r for r in report.resources if r.resource_name != self.resource_name] if report else []
        request = ReportRequest(event_id=event_id, client_name=self.ven_name,
                                report_name=f"{self.ven_name} usage", payload_descriptors=[USAGE_DESCRIPTOR],
                                resources=[*others, ReportResource(resource_name=self.resource_name,
                                                                   intervals=merged)])
        if report is None:
            report = await self.client.create_report(request)
        else:
            report = await self.client.update_report(report.id, request)
        self.reports[event_id] = report
        return report

    # -- the loop -------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None, *, duration: float | None = None) -> None:
        """:meth:`start` unless started (retried while the VTN is unreachable), then :meth:`poll` every
        ``poll_seconds`` until ``stop`` is set or ``duration`` (wall) seconds have passed; see the module for
        errors."""
        stop = stop or asyncio.Event()
        deadline = None if duration is None else time.monotonic() + duration
        failures = 0
        while not stop.is_set():
            try:
                if self.ven is None:
                    await self.start()
                await self.poll()
                failures = 0
                wait = self.poll_seconds
            except Oa3Error as error:
                if not _transient(error):
                    raise
                failures += 1
                wait = min(self.poll_seconds, max(backoff(failures, first=0.5, cap=self.poll_seconds), 0.05))
                self._say(f"VTN unavailable ({error}); trying again in {wait:.1f} s", kind="retry",
                          error=str(error))
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            if deadline is not None and time.monotonic() >= deadline:
                return
