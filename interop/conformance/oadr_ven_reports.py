"""Report cases of ``listen --role ven``: the VEN's report registration (R1_0010), its acknowledgement of the
kit's request (R1_0020), the data it sends (R1_0030), and its answer to the kit's own metadata (R1_0040)."""

from __future__ import annotations

from datetime import timedelta

from transactive.ei.oadr import (
    OadrCanceledReport,
    OadrCancelReport,
    OadrCreatedReport,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
    Report,
    ReportDescription,
    ReportRequest,
    SamplingRate,
)
from transactive.ei.oadr.enums import ReadingType, ReportName, ReportType
from transactive.interop.conformance.checks import ensure
from transactive.interop.conformance.model import CaseSkipped
from transactive.interop.conformance.oadr_listen_context import ListenContext
from transactive.interop.conformance.oadr_listen_messages import report_request
from transactive.interop.conformance.oadr_ven_rules import (
    REPORT_CANCEL,
    REPORT_METADATA,
    REPORT_REQUEST,
    REPORT_UPDATE,
    REQUEST_ID_ECHO,
)
from transactive.interop.conformance.oadr_ven_suite import case
from transactive.ven.oadr.core import ok

__all__ = ["r1_0010", "r1_0020", "r1_0030", "r1_0040", "r1_0050"]


@case("R1_0010", "The VEN registers its reports: oadrRegisterReport with METADATA reports whose descriptions "
      "name an rID, reportType and readingType; the kit asks for one data point", REPORT_METADATA, model="any")
async def r1_0010(ctx: ListenContext) -> str | None:
    got = await ctx.next("oadrRegisterReport", rule=REPORT_METADATA, what="oadrRegisterReport (the VEN's metadata)")
    m = got.message
    assert isinstance(m, OadrRegisterReport)
    ctx.report_register_id = m.request_id
    points = [(r, d) for r in m.reports for d in r.descriptions]
    chosen = _choose(points, ctx.options.timeout)
    requests: tuple[ReportRequest, ...] = ()
    granularity = None
    if chosen is not None:
        report, description = chosen
        rr_id = ctx.new_id("report-request")
        request = report_request(rr_id, report.report_specifier_id, description)
        requests = (request,)
        ctx.report_request_id = rr_id
        granularity = request.report_specifier.granularity
        ctx.report_requests[rr_id] = {description.r_id}
    ctx.send(got, OadrRegisteredReport(response=ok(m.request_id), report_requests=requests, ven_id=ctx.ven_id))
    names = [r.report_name or "(no reportName)" for r in m.reports]
    not_metadata = [n for n in names if not n.startswith("METADATA_")]
    ensure(not not_metadata, REPORT_METADATA, f"oadrRegisterReport holds reports that are not METADATA reports: "
           f"{', '.join(not_metadata)}")
    empty = [r.report_specifier_id for r in m.reports if not r.descriptions]
    ensure(not empty, REPORT_METADATA, f"METADATA report(s) {', '.join(empty)} describe no data point")
    if chosen is None:
        return "the VEN registered no data point: no report is requested"
    return (f"{len(points)} data point(s) in {', '.join(names)}; the kit asked for {chosen[1].r_id} of "
            f"{chosen[0].report_specifier_id} every {granularity}")


def _choose(points: list[tuple[Report, ReportDescription]], timeout: float) -> tuple[Report, ReportDescription] | None:
    """The first data point that can be sampled within a wait (its minimum period at most ``timeout``)."""
    limit = timedelta(seconds=max(timeout / 2, 1))
    for report, description in points:
        rate = description.sampling_rate
        if rate is None or rate.min_period <= limit:
            return report, description
    return None


def _requested(ctx: ListenContext) -> str:
    if ctx.report_request_id is None:
        raise CaseSkipped("the kit requested no report (the VEN registered no data point it can sample within "
                          "the timeout)")
    return ctx.report_request_id


@case("R1_0020", "The VEN acknowledges the kit's report request: oadrCreatedReport with a success code, the "
      "requestID and the request pending", REPORT_REQUEST, REQUEST_ID_ECHO, model="any")
async def r1_0020(ctx: ListenContext) -> str | None:
    rr_id = _requested(ctx)
    got = await ctx.next("oadrCreatedReport", rule=REPORT_REQUEST, what="oadrCreatedReport")
    m = got.message
    assert isinstance(m, OadrCreatedReport)
    ctx.send(got, OadrResponse(response=ok(m.response.request_id), ven_id=ctx.ven_id))
    code = m.response.response_code
    ensure(200 <= code < 300, REPORT_REQUEST, f"the VEN refused the report request with {code}: "
           f"{m.response.response_description}")
    ensure(m.response.request_id == ctx.report_register_id, REQUEST_ID_ECHO,
           f"oadrCreatedReport echoes requestID {m.response.request_id!r}, not {ctx.report_register_id!r} "
           "(the oadrRegisterReport whose answer carried the request)")
    pending = m.pending_reports.report_request_ids
    ensure(rr_id in pending, REPORT_REQUEST,
           f"oadrPendingReports lists {list(pending)}, not the requested {rr_id}")
    return f"report {rr_id} pending"


@case("R1_0030", "The VEN sends the requested data: oadrUpdateReport naming the reportRequestID and only the "
      "requested rIDs", REPORT_UPDATE, model="any")
async def r1_0030(ctx: ListenContext) -> str | None:
    rr_id = _requested(ctx)
    got = await ctx.next("oadrUpdateReport", rule=REPORT_UPDATE, what=f"oadrUpdateReport for {rr_id}")
    m = got.message
    assert isinstance(m, OadrUpdateReport)
    ctx.send(got, OadrUpdatedReport(response=ok(m.request_id), ven_id=ctx.ven_id))
    ensure(m.reports, REPORT_UPDATE, "oadrUpdateReport carries no report")
    wanted = ctx.report_requests[rr_id]
    values = 0
    for report in m.reports:
        ensure(report.report_request_id in ctx.report_requests, REPORT_UPDATE,
               f"oadrUpdateReport names reportRequestID {report.report_request_id!r}; the kit asked for "
               f"{rr_id!r}")
        r_ids = {p.r_id for i in report.intervals for p in i.payloads}
        extra = r_ids - ctx.report_requests[report.report_request_id]
        ensure(not extra, REPORT_UPDATE, f"report {report.report_request_id} carries rID(s) "
               f"{', '.join(sorted(extra))}; the kit asked for {', '.join(sorted(wanted))}")
        values += sum(len(i.payloads) for i in report.intervals)
    ensure(values, REPORT_UPDATE, "oadrUpdateReport carries no value")
    return f"{values} value(s) for {rr_id}"


@case("R1_0040", "The kit's own metadata (oadrRegisterReport in a poll answer): the VEN answers "
      "oadrRegisteredReport with a success code and the requestID", REPORT_METADATA, REQUEST_ID_ECHO)
async def r1_0040(ctx: ListenContext) -> str | None:
    poll = await ctx.next("oadrPoll", rule=REPORT_METADATA, what="oadrPoll to answer with the kit's oadrRegisterReport")
    rate = SamplingRate(min_period=timedelta(minutes=1), max_period=timedelta(hours=1), on_change=False)
    description = ReportDescription(r_id="kit-price", report_type=ReportType.PRICE,
                                    reading_type=ReadingType.DIRECT_READ, sampling_rate=rate)
    metadata = Report(report_request_id="0", report_specifier_id="kit-metadata", descriptions=(description,),
                      report_name=ReportName.METADATA_TELEMETRY_USAGE, created_date_time=ctx.now(),
                      duration=timedelta(days=1))
    request = OadrRegisterReport(request_id=ctx.new_id("register-report"), reports=(metadata,))
    ctx.send(poll, request)
    got = await ctx.next("oadrRegisteredReport", rule=REPORT_METADATA, what="oadrRegisteredReport")
    m = got.message
    assert isinstance(m, OadrRegisteredReport)
    ctx.background(got)
    code = m.response.response_code
    ensure(200 <= code < 300, REPORT_METADATA, f"the VEN answered the kit's metadata with {code}: "
           f"{m.response.response_description}")
    ensure(m.response.request_id == request.request_id, REQUEST_ID_ECHO,
           f"oadrRegisteredReport echoes requestID {m.response.request_id!r}, not {request.request_id!r}")
    return f"acknowledged ({code})" + (f"; it asks for {len(m.report_requests)} report(s)" if m.report_requests else "")


@case("R1_0050", "The kit cancels the report (oadrCancelReport in a poll answer): the VEN answers "
      "oadrCanceledReport with a success code and the requestID, the report no longer pending",
      REPORT_CANCEL, REQUEST_ID_ECHO)
async def r1_0050(ctx: ListenContext) -> str | None:
    rr_id = _requested(ctx)
    poll = await ctx.next("oadrPoll", rule=REPORT_CANCEL, what="oadrPoll to answer with oadrCancelReport")
    request = OadrCancelReport(request_id=ctx.new_id("cancel-report"), report_request_ids=(rr_id,),
                               report_to_follow=False, ven_id=ctx.ven_id)
    ctx.send(poll, request)
    got = await ctx.next("oadrCanceledReport", rule=REPORT_CANCEL, what="oadrCanceledReport")
    ctx.background(got)
    m = got.message
    assert isinstance(m, OadrCanceledReport)
    code = m.response.response_code
    ensure(200 <= code < 300, REPORT_CANCEL, f"the VEN answered the cancellation with {code}: "
           f"{m.response.response_description}")
    ensure(m.response.request_id == request.request_id, REQUEST_ID_ECHO,
           f"oadrCanceledReport echoes requestID {m.response.request_id!r}, not {request.request_id!r}")
    pending = m.pending_reports.report_request_ids
    ensure(rr_id not in pending, REPORT_CANCEL, f"oadrCanceledReport still lists {rr_id} as pending")
    return f"report {rr_id} cancelled"
