"""EiReport: the reports a VEN registers, the ones the VTN asks for, and the values that arrive.

When a VEN registers its reports (``oadrRegisterReport``, the metadata of each), the VTN keeps them and asks,
in its ``oadrRegisteredReport``, for every TELEMETRY_USAGE and TELEMETRY_STATUS report offered (all data
points, at the finest sampling period the VEN offers, reported back as often); registering again replaces
the VEN's reports and the requests made for them. The VEN confirms with ``oadrCreatedReport`` and then
delivers ``oadrUpdateReport`` s: each value is stored (:class:`~transactive.services.store.ReportValueRow`)
before the ``oadrUpdatedReport``. The VTN's own reports: it offers none beyond its (empty) METADATA report,
which it registers with each VEN after the VEN's registration, as 2.0b asks of both parties.
"""

from __future__ import annotations

import json
from datetime import timedelta

from transactive.ei.oadr import (
    EiResponse,
    OadrCanceledReport,
    OadrCancelReport,
    OadrCreatedReport,
    OadrCreateReport,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
    PayloadFloat,
    PendingReports,
    ReportRequest,
    ReportSpecifier,
    SpecifierPayload,
)
from transactive.model import Model
from transactive.protocol.errors import InvalidIdError, OutsideLimitsError, ServiceError
from transactive.services.oadr.context import OadrContext, Peer, new_id
from transactive.services.oadr.records import ReportOffer, ReportPoint, ReportRequestRecord, VenRecord
from transactive.services.store import ReportValueRow

__all__ = ["cancel_report", "canceled_report", "create_report", "created_report", "register_report",
           "registered_report", "update_report"]

#: the reports the VTN asks for whenever a VEN offers them
WANTED = ("TELEMETRY_USAGE", "TELEMETRY_STATUS")
#: sampling when the VEN names none
DEFAULT_GRANULARITY = timedelta(seconds=10)
#: values per oadrUpdateReport
MAX_VALUES = 10_000


def _ok(request_id: str) -> EiResponse:
    return EiResponse(response_code=200, response_description="OK", request_id=request_id)


def _pending(ctx: OadrContext, ven: VenRecord) -> PendingReports:
    ids = tuple(r.report_request_id for r in ctx.all(ReportRequestRecord, ven_id=ven.ven_id)
                if r.status in ("requested", "created"))
    return PendingReports(report_request_ids=ids)


def _wanted(name: str | None) -> bool:
    return name is not None and name.removeprefix("METADATA_") in WANTED


def register_report(ctx: OadrContext, message: OadrRegisterReport, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    now = ctx.now()
    for old in ctx.all(ReportOffer, ven_id=ven.ven_id):
        ctx.store.delete_oadr_object(ReportOffer.KIND, f"{ven.ven_id}/{old.report_specifier_id}")
    for old_request in ctx.all(ReportRequestRecord, ven_id=ven.ven_id):
        if old_request.status in ("requested", "created"):
            ctx.put(old_request.model_copy(update={"status": "cancelled"}), old_request.report_request_id, ven.ven_id)
    requests = []
    for n, report in enumerate(message.reports, start=1):
        if not report.descriptions:
            continue
        points = tuple(ReportPoint(r_id=d.r_id, report_type=str(d.report_type), reading_type=str(d.reading_type),
                                   min_period=None if d.sampling_rate is None else d.sampling_rate.min_period)
                       for d in report.descriptions)
        if len({p.r_id for p in points}) != len(points):
            raise OutsideLimitsError("a report describes the same rID twice",
                                     field=f"oadr:oadrReport[{n}]/oadr:oadrReportDescription/ei:rID")
        offer = ReportOffer(ven_id=ven.ven_id, report_specifier_id=report.report_specifier_id,
                            report_name=None if report.report_name is None else str(report.report_name),
                            points=points, registered_at=now)
        ctx.put(offer, f"{ven.ven_id}/{report.report_specifier_id}", ven.ven_id)
        if not _wanted(offer.report_name):
            continue
        periods = [p.min_period for p in points if p.min_period is not None and p.min_period > timedelta()]
        granularity = min(periods, default=DEFAULT_GRANULARITY)
        record = ReportRequestRecord(
            report_request_id=new_id("rr-"), ven_id=ven.ven_id, report_specifier_id=offer.report_specifier_id,
            report_name=(offer.report_name or "").removeprefix("METADATA_"), r_ids=tuple(p.r_id for p in points),
            granularity=granularity, report_back=granularity, requested_at=now)
        ctx.put(record, record.report_request_id, ven.ven_id)
        requests.append(_request_of(record, points))
    return OadrRegisteredReport(response=_ok(message.request_id), report_requests=tuple(requests), ven_id=ven.ven_id)


def _request_of(record: ReportRequestRecord, points: tuple[ReportPoint, ...]) -> ReportRequest:
    return ReportRequest(report_request_id=record.report_request_id, report_specifier=ReportSpecifier(
        report_specifier_id=record.report_specifier_id, granularity=record.granularity,
        report_back_duration=record.report_back,
        specifier_payloads=tuple(SpecifierPayload(r_id=p.r_id, reading_type=p.reading_type) for p in points)))


def created_report(ctx: OadrContext, message: OadrCreatedReport, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    for request_id in message.pending_reports.report_request_ids:
        record = ctx.get(ReportRequestRecord, request_id)
        if record is not None and record.ven_id == ven.ven_id and record.status == "requested":
            ctx.put(record.model_copy(update={"status": "created"}), request_id, ven.ven_id)
    return OadrResponse(response=_ok(message.response.request_id), ven_id=ven.ven_id)


def update_report(ctx: OadrContext, message: OadrUpdateReport, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer)
    now = ctx.now()
    rows: list[ReportValueRow] = []
    for n, report in enumerate(message.reports, start=1):
        field = f"oadr:oadrReport[{n}]/ei:reportRequestID"
        record = ctx.get(ReportRequestRecord, report.report_request_id)
        if record is None or record.ven_id != ven.ven_id:
            raise InvalidIdError(f"reportRequestID {report.report_request_id!r} is not a report this VTN asked this "
                                 "VEN for", field=field)
        for interval in report.intervals:
            start = interval.dtstart or report.dtstart
            seconds = None if interval.duration is None else interval.duration.total_seconds()
            for payload in interval.payloads:
                if payload.r_id not in record.r_ids:
                    raise InvalidIdError(f"rID {payload.r_id!r} is not a data point of report "
                                         f"{record.report_request_id}", field=f"oadr:oadrReport[{n}]//ei:rID")
                value = payload.payload
                document = json.dumps(value.value) if isinstance(value, PayloadFloat) else value.model_dump_json()
                rows.append(ReportValueRow(ven.ven_id, record.report_request_id, payload.r_id, start, seconds,
                                           document, now))
        if len(rows) > MAX_VALUES:
            raise OutsideLimitsError(f"at most {MAX_VALUES} values per oadrUpdateReport", field=field)
    if rows:
        ctx.store.add_report_values(rows)
    return OadrUpdatedReport(response=_ok(message.request_id), ven_id=ven.ven_id)


def canceled_report(ctx: OadrContext, message: Model, peer: Peer) -> Model:
    assert isinstance(message, OadrCanceledReport)
    ven = ctx.ven(message.ven_id, peer)
    running = set(message.pending_reports.report_request_ids)
    for record in ctx.all(ReportRequestRecord, ven_id=ven.ven_id):
        if record.status == "cancelling" and record.report_request_id not in running:
            ctx.put(record.model_copy(update={"status": "cancelled"}), record.report_request_id, ven.ven_id)
    return OadrResponse(response=_ok(message.response.request_id), ven_id=ven.ven_id)


def create_report(ctx: OadrContext, message: OadrCreateReport, peer: Peer) -> Model:
    """A VEN asks the VTN for reports: the VTN offers none (its METADATA report is empty)."""
    ctx.ven(message.ven_id, peer)
    raise ServiceError("this VTN offers no reports", field="oadr:oadrReportRequest/ei:reportSpecifier/"
                       "ei:reportSpecifierID", response_code=461)


def cancel_report(ctx: OadrContext, message: OadrCancelReport, peer: Peer) -> Model:
    """A VEN cancels reports it asked the VTN for: it can have asked for none."""
    ctx.ven(message.ven_id, peer)
    raise InvalidIdError("this VEN asked the VTN for no reports", field="ei:reportRequestID")


def registered_report(ctx: OadrContext, message: OadrRegisteredReport, peer: Peer) -> Model:
    """A VEN acknowledges the VTN's METADATA report (it cannot ask for any: there are none)."""
    ven = ctx.ven(message.ven_id, peer)
    return OadrResponse(response=_ok(message.response.request_id), ven_id=ven.ven_id)


def vtn_metadata(ven: VenRecord) -> OadrRegisterReport:
    """The VTN's own report registration: its METADATA report lists no reports."""
    return OadrRegisterReport(request_id=new_id("req-"), reports=(), ven_id=ven.ven_id)


def vtn_cancel_report(ctx: OadrContext, record: ReportRequestRecord) -> OadrCancelReport:
    """The VTN stops a report it asked for: the request is 'cancelling' until the VEN confirms."""
    ctx.put(record.model_copy(update={"status": "cancelling"}), record.report_request_id, record.ven_id)
    return OadrCancelReport(request_id=new_id("req-"), report_request_ids=(record.report_request_id,),
                            report_to_follow=False, ven_id=record.ven_id)
