"""The VEN's reports, sans I/O: what it can report (:class:`ReportSource`), what the VTN asked for
(:class:`ActiveReport`), and when samples and ``oadrUpdateReport`` s are due.

The EiReport exchange, from the VEN's side (2.0b profile, section 8.3):

1. the VEN describes its data points in ``oadrRegisterReport`` (one ``METADATA_...`` report per
   ``reportSpecifierID``; :meth:`ReportBook.register_report`);
2. the VTN asks for some, in the ``oadrRegisteredReport`` answer or later in an ``oadrCreateReport``
   (``oadrReportRequest`` s: which data points, sampled every ``granularity``, sent every
   ``reportBackDuration``); the VEN answers ``oadrCreatedReport`` listing every report it now runs
   (:meth:`ReportBook.accept`, :meth:`ReportBook.created_report`);
3. every ``granularity`` the VEN samples each requested point (:meth:`ReportBook.due_samples`,
   :meth:`ReportBook.record`), every ``reportBackDuration`` it sends what it collected
   (:meth:`ReportBook.due_updates`); a zero ``reportBackDuration`` asks for one report only;
4. ``oadrCancelReport`` stops reports (:meth:`ReportBook.cancel`), answered by ``oadrCanceledReport``.

Nothing here reads a clock: every method that depends on time takes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from transactive.ei.oadr.enums import ReadingType, ReportName, ReportType
from transactive.ei.oadr.items import (
    Current,
    Frequency,
    ItemBase,
    PowerAttributes,
    RealEnergy,
    RealPower,
    Voltage,
)
from transactive.ei.oadr.payloads import PayloadFloat
from transactive.ei.oadr.report import (
    OadrRegisterReport,
    OadrUpdateReport,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    ReportRequest,
    SamplingRate,
)
from transactive.ei.oadr.target import Target

__all__ = [
    "MEASUREMENTS",
    "ActiveReport",
    "ReportBook",
    "ReportSource",
    "Sample",
    "measurement_item",
    "sampling",
]

#: what a data point measures, by the short names ``add_report(measurement=...)`` takes (AC power at 50 Hz,
#: 230 V, as openleadr's client assumes; pass an item to say otherwise)
_AC = PowerAttributes(hertz=Decimal(50), voltage=Decimal(230), ac=True)
MEASUREMENTS: dict[str, ItemBase] = {
    "power": RealPower(power_attributes=_AC),
    "powerReal": RealPower(power_attributes=_AC),
    "energy": RealEnergy(),
    "energyReal": RealEnergy(),
    "voltage": Voltage(),
    "current": Current(),
    "frequency": Frequency(),
}


def measurement_item(measurement: str | ItemBase) -> ItemBase:
    """The ``emix:itemBase`` of a measurement given by name (:data:`MEASUREMENTS`) or as an item."""
    if not isinstance(measurement, str):
        return measurement
    try:
        return MEASUREMENTS[measurement]
    except KeyError:
        known = ", ".join(sorted(MEASUREMENTS))
        raise ValueError(f"unknown measurement {measurement!r}; known: {known} (or pass an item model)") from None


def sampling(rate: timedelta | SamplingRate | None) -> SamplingRate:
    """A sampling rate: a fixed period, a range, or (None) anything from 10 seconds to an hour."""
    if rate is None:
        return SamplingRate(min_period=timedelta(seconds=10), max_period=timedelta(hours=1), on_change=False)
    if isinstance(rate, timedelta):
        return SamplingRate(min_period=rate, max_period=rate, on_change=False)
    return rate


@dataclass(frozen=True, slots=True)
class ReportSource:
    """One data point the VEN can report: ``r_id`` in the report ``report_specifier_id`` (named
    ``report_name``, e.g. ``TELEMETRY_USAGE``), about the resource ``resource_id``."""

    r_id: str
    report_specifier_id: str
    resource_id: str
    item: ItemBase | None
    report_name: str = ReportName.TELEMETRY_USAGE.value
    report_type: str = ReportType.USAGE.value
    reading_type: str = ReadingType.DIRECT_READ.value
    sampling_rate: SamplingRate = field(default_factory=lambda: sampling(None))
    market_context: str | None = None

    def description(self) -> ReportDescription:
        target = Target(resource_ids=(self.resource_id,))
        return ReportDescription(r_id=self.r_id, subject=target, data_source=target, report_type=self.report_type,
                                 item_base=self.item, reading_type=self.reading_type,
                                 market_context=self.market_context, sampling_rate=self.sampling_rate)


@dataclass(frozen=True, slots=True)
class Sample:
    """A data point to read now for a running report."""

    report_request_id: str
    r_id: str


@dataclass(slots=True)
class ActiveReport:
    """A report the VTN asked for and the VEN runs.

    ``granularity`` is the sampling period (zero: one sample per report sent), ``back`` how often a report
    is sent (zero: once, then the report ends); ``until`` ends it (the request's ``reportInterval``)."""

    report_request_id: str
    report_specifier_id: str
    report_name: str
    r_ids: tuple[str, ...]
    granularity: timedelta
    back: timedelta
    next_sample: datetime
    next_send: datetime
    until: datetime | None = None
    collected: list[ReportInterval] = field(default_factory=list)

    @property
    def one_shot(self) -> bool:
        return self.back <= timedelta(0)

    def next_due(self) -> datetime:
        return min(self.next_sample, self.next_send) if self.granularity > timedelta(0) else self.next_send


class ReportBook:
    """The reports a VEN offers and runs (see the module's description)."""

    def __init__(self) -> None:
        self.sources: list[ReportSource] = []
        self.active: dict[str, ActiveReport] = {}

    # -- what the VEN offers ------------------------------------------------------------------------

    def add(self, source: ReportSource) -> None:
        """Offer one more data point (``ValueError`` when its ``r_id`` is taken in that report)."""
        if any(s.report_specifier_id == source.report_specifier_id and s.r_id == source.r_id for s in self.sources):
            raise ValueError(f"report {source.report_specifier_id!r} already has a data point {source.r_id!r}")
        if any(s.report_specifier_id == source.report_specifier_id and s.report_name != source.report_name
               for s in self.sources):
            raise ValueError(f"report {source.report_specifier_id!r} is already a {source.report_name} report")
        self.sources.append(source)

    def specifiers(self) -> dict[str, list[ReportSource]]:
        """The offered data points, per ``reportSpecifierID`` (in the order they were added)."""
        out: dict[str, list[ReportSource]] = {}
        for source in self.sources:
            out.setdefault(source.report_specifier_id, []).append(source)
        return out

    def register_report(self, request_id: str, ven_id: str | None, now: datetime,
                        report_request_id: str | None = None) -> OadrRegisterReport:
        """The ``oadrRegisterReport`` describing every offered data point (one metadata report per specifier)."""
        reports = tuple(
            Report(report_specifier_id=spec, report_request_id="0", report_name=f"METADATA_{points[0].report_name}",
                   created_date_time=now, descriptions=tuple(p.description() for p in points))
            for spec, points in self.specifiers().items()
        )
        return OadrRegisterReport(request_id=request_id, reports=reports, ven_id=ven_id,
                                  report_request_id=report_request_id)

    # -- what the VTN asks for ----------------------------------------------------------------------

    def accept(self, requests: Iterable[ReportRequest], now: datetime) -> tuple[list[str], list[str]]:
        """Start the requested reports: returns the ids accepted and those refused (an unknown report or no
        known data point). A request for an id already running replaces it. A granularity outside a data
        point's sampling rate is brought inside it."""
        accepted: list[str] = []
        refused: list[str] = []
        offered = self.specifiers()
        for request in requests:
            spec = request.report_specifier
            points = offered.get(spec.report_specifier_id, [])
            wanted = [p.r_id for p in spec.specifier_payloads]
            known = [p for p in points if p.r_id in wanted]
            if not known:
                refused.append(request.report_request_id)
                continue
            granularity = spec.granularity
            if granularity > timedelta(0):
                low = max(p.sampling_rate.min_period for p in known)
                high = min(p.sampling_rate.max_period for p in known)
                granularity = min(max(granularity, low), max(high, low))
            start = now
            until = None
            if spec.report_interval is not None:
                start = max(now, spec.report_interval.dtstart)
                if spec.report_interval.duration > timedelta(0):
                    until = spec.report_interval.dtstart + spec.report_interval.duration
            back = spec.report_back_duration
            first_send = start + back if back > timedelta(0) else start  # one-shot: with the first sample
            self.active[request.report_request_id] = ActiveReport(
                report_request_id=request.report_request_id, report_specifier_id=spec.report_specifier_id,
                report_name=known[0].report_name, r_ids=tuple(p.r_id for p in known), granularity=granularity,
                back=back, next_sample=start, next_send=first_send, until=until)
            accepted.append(request.report_request_id)
        return accepted, refused

    def pending(self) -> tuple[str, ...]:
        """The ``reportRequestID`` s of every running report (``oadrPendingReports``)."""
        return tuple(self.active)

    def cancel(self, report_request_ids: Sequence[str]) -> list[ActiveReport]:
        """Stop reports; returns those that were running (unknown ids are ignored)."""
        return [r for rid in report_request_ids if (r := self.active.pop(rid, None)) is not None]

    # -- when things are due -----------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """The earliest time a sample or a report is due (None: no report runs)."""
        return min((r.next_due() for r in self.active.values()), default=None)

    def due_samples(self, now: datetime) -> list[Sample]:
        """The data points to read now: each report's points when its sampling time has come (a report without
        granularity is sampled when it is sent)."""
        out: list[Sample] = []
        for report in self.active.values():
            due = report.next_send if report.granularity <= timedelta(0) else report.next_sample
            if due <= now and (report.until is None or due <= report.until):
                out.extend(Sample(report.report_request_id, r_id) for r_id in report.r_ids)
        return out

    def record(self, sample: Sample, when: datetime, value: float | None) -> None:
        """Keep one sampled value (None: the point could not be read; nothing is kept); once all points of a
        report are read for ``when``, its next sample is scheduled one granularity later (skipping the ones
        missed)."""
        report = self.active.get(sample.report_request_id)
        if report is None:
            return
        if value is not None:
            payload = ReportPayload(r_id=sample.r_id, payload=PayloadFloat(value=value))
            duration = report.granularity if report.granularity > timedelta(0) else None
            report.collected.append(ReportInterval(dtstart=when.replace(microsecond=0), duration=duration,
                                                   payloads=(payload,)))
        if sample.r_id == report.r_ids[-1] and report.granularity > timedelta(0):
            while report.next_sample <= when:
                report.next_sample += report.granularity

    def due_updates(self, now: datetime, ven_id: str | None, request_ids: Iterable[str]) -> list[OadrUpdateReport]:
        """The ``oadrUpdateReport`` s due now, one per report, each with the values collected since the last
        one (``request_ids`` gives each message its ``requestID``). One-shot reports and reports past their
        interval end once sent."""
        ids = iter(request_ids)
        out: list[OadrUpdateReport] = []
        for rid, report in list(self.active.items()):
            over = report.until is not None and now >= report.until
            if report.next_send > now and not over:
                continue
            if report.collected:
                out.append(self.flush(report, now, ven_id, next(ids)))
            if report.one_shot or over:
                del self.active[rid]
                continue
            while report.next_send <= now:
                report.next_send += report.back
        return out

    @staticmethod
    def flush(report: ActiveReport, now: datetime, ven_id: str | None, request_id: str) -> OadrUpdateReport:
        """An ``oadrUpdateReport`` with what ``report`` collected (which is then forgotten)."""
        intervals = tuple(report.collected)
        report.collected.clear()
        start = min((i.dtstart for i in intervals if i.dtstart is not None), default=now)
        length = timedelta(seconds=max(int((now - start).total_seconds()), 0))
        data = Report(dtstart=start, duration=length, intervals=intervals,
                      report_request_id=report.report_request_id, report_specifier_id=report.report_specifier_id,
                      report_name=report.report_name, created_date_time=now)
        return OadrUpdateReport(request_id=request_id, reports=(data,), ven_id=ven_id)
