"""The opt and report cases of ``probe --role vtn``: an opt-out schedule for the probe's own (made-up)
resource a day ahead, then its cancellation (EiOpt); the probe's report metadata, the VTN's report requests
and one update for a requested report, whose single value says it has no quality (EiReport)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.enums import DataQuality, OptReason, OptType, ReportName
from transactive.ei.oadr.opt import OadrCanceledOpt, OadrCreatedOpt, OadrCreateOpt
from transactive.ei.oadr.payloads import PayloadFloat
from transactive.ei.oadr.poll import OadrResponse
from transactive.ei.oadr.report import (
    OadrCreatedReport,
    OadrRegisteredReport,
    OadrUpdatedReport,
    OadrUpdateReport,
    PendingReports,
    Report,
    ReportInterval,
    ReportPayload,
    ReportRequest,
)
from transactive.ei.oadr.target import Target
from transactive.interop.conformance import oadr_vtn_events  # noqa: F401  (its cases run before these)
from transactive.interop.conformance.checks import ensure, fail
from transactive.interop.conformance.model import CaseFailed, CaseSkipped
from transactive.interop.conformance.oadr_probe_context import SUITE, ProbeContext
from transactive.interop.conformance.oadr_probe_rules import (
    EXCHANGE_PATTERN,
    OPT,
    REPORT_REGISTRATION,
    REPORT_UPDATE,
)
from transactive.interop.conformance.oadr_probe_session import new_id
from transactive.interop.conformance.rules import EI_RESPONSE, OADR_SCHEMA
from transactive.protocol.oadr import Service
from transactive.ven.oadr.core import ok
from transactive.ven.oadr.reports import ReportBook, ReportSource, measurement_item, sampling

__all__ = ["cancel_opt", "create_opt", "register_reports", "update_report"]

#: how often the probe says its data point can be sampled (it never sends more than one value)
_SAMPLING = timedelta(minutes=1)


async def _create_opt(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    request = OadrCreateOpt(
        opt_id=new_id("conformance-opt-"), opt_type=OptType.OPT_OUT, opt_reason=OptReason.NOT_PARTICIPATING,
        ven_id=ven_id, available=(CalendarInterval(dtstart=start, duration=timedelta(hours=1)),),
        created_date_time=datetime.now(UTC), request_id=new_id(),
        target=Target(resource_ids=(f"{ctx.party}-resource",)))
    answer = await ctx.session.send(Service.OPT, request)
    reply = ctx.session.accepted(answer, request, (OadrCreatedOpt,), OPT)
    assert isinstance(reply, OadrCreatedOpt)
    ctx.open_opts.append(request.opt_id)
    ensure(reply.opt_id == request.opt_id, OPT, f"oadrCreatedOpt names optID {reply.opt_id!r}, not "
           f"{request.opt_id!r}")
    return request.opt_id


@SUITE.case("P1_0010", "oadrCreateOpt (an opt-out schedule) is answered with oadrCreatedOpt", OPT,
            EXCHANGE_PATTERN, OADR_SCHEMA, EI_RESPONSE)
async def create_opt(ctx: ProbeContext) -> str:
    opt_id = await _create_opt(ctx)
    return f"opt-out schedule {opt_id!r} for tomorrow acknowledged"


@SUITE.case("P1_0020", "oadrCancelOpt is answered with oadrCanceledOpt", OPT, EXCHANGE_PATTERN, OADR_SCHEMA,
            EI_RESPONSE)
async def cancel_opt(ctx: ProbeContext) -> str:
    if ctx.open_opts:
        opt_id = ctx.open_opts[-1]
    else:
        try:
            opt_id = await _create_opt(ctx)
        except CaseFailed as failed:
            raise CaseSkipped(f"there is no opt to cancel: creating one failed ({failed.detail})") from None
    reply = await ctx.cancel_opt(opt_id)
    assert isinstance(reply, OadrCanceledOpt)
    ensure(reply.opt_id in (None, opt_id), OPT, f"oadrCanceledOpt names optID {reply.opt_id!r}, not {opt_id!r}")
    return f"opt {opt_id!r} cancelled"


def _book(ctx: ProbeContext) -> ReportBook:
    book = ReportBook()
    book.add(ReportSource(r_id=f"{ctx.party}-power", report_specifier_id=f"{ctx.party}-usage",
                          resource_id=f"{ctx.party}-resource", item=measurement_item("power"),
                          sampling_rate=sampling(_SAMPLING)))
    return book


def _check_requests(ctx: ProbeContext, requests: tuple[ReportRequest, ...] | list[ReportRequest], where: str) -> None:
    for request in requests:
        spec = request.report_specifier
        offered = ctx.offered.get(spec.report_specifier_id)
        if spec.report_specifier_id == "METADATA":
            continue  # a request for the VEN's metadata names no registered report
        if offered is None:
            fail(REPORT_REGISTRATION, f"{where}: report request {request.report_request_id!r} names "
                 f"reportSpecifierID {spec.report_specifier_id!r}, which the VEN never registered")
        unknown = [p.r_id for p in spec.specifier_payloads if p.r_id not in offered]
        ensure(not unknown, REPORT_REGISTRATION, f"{where}: report request {request.report_request_id!r} names "
               f"rID(s) {unknown} that {spec.report_specifier_id!r} does not have")


@SUITE.case("R1_0010", "oadrRegisterReport is answered with oadrRegisteredReport; report requests name what "
            "was registered", REPORT_REGISTRATION, EXCHANGE_PATTERN, OADR_SCHEMA, EI_RESPONSE)
async def register_reports(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    book = _book(ctx)
    request = book.register_report(new_id(), ven_id, datetime.now(UTC))
    ctx.offered = {spec: {p.r_id for p in points} for spec, points in book.specifiers().items()}
    answer = await ctx.session.send(Service.REPORT, request)
    reply = ctx.session.accepted(answer, request, (OadrRegisteredReport,), REPORT_REGISTRATION)
    assert isinstance(reply, OadrRegisteredReport)
    ctx.reports_registered = True
    _check_requests(ctx, reply.report_requests, "oadrRegisteredReport")
    if reply.report_requests:
        ctx.report_requests.extend(reply.report_requests)
        created = OadrCreatedReport(
            response=ok(reply.response.request_id), ven_id=ven_id,
            pending_reports=PendingReports(report_request_ids=tuple(r.report_request_id for r in ctx.report_requests)))
        answer = await ctx.session.send(Service.REPORT, created)
        if answer.status != 200 or answer.body.strip():
            ctx.session.accepted(answer, created, (OadrResponse,), EXCHANGE_PATTERN)
    await ctx.poll()
    _check_requests(ctx, ctx.report_requests, "a report request")
    names = ", ".join(r.report_request_id for r in ctx.report_requests) or "none"
    return f"metadata for {', '.join(ctx.offered)} acknowledged; report requests: {names}"


@SUITE.case("R1_0020", "oadrUpdateReport for a requested report is answered with oadrUpdatedReport",
            REPORT_UPDATE, EXCHANGE_PATTERN, OADR_SCHEMA, EI_RESPONSE)
async def update_report(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    if not ctx.reports_registered:
        await register_reports(ctx)
    mine = [r for r in ctx.report_requests if r.report_specifier.report_specifier_id in ctx.offered]
    if not mine:
        raise CaseSkipped("the VTN requested none of the probe's reports")
    request = mine[0]
    spec = request.report_specifier
    now = datetime.now(UTC).replace(microsecond=0)
    payloads = tuple(ReportPayload(r_id=p.r_id, payload=PayloadFloat(value=0.0),
                                   data_quality=DataQuality.NO_QUALITY_NO_VALUE.value)
                     for p in spec.specifier_payloads)
    update = OadrUpdateReport(request_id=new_id(), ven_id=ven_id, reports=(Report(
        dtstart=now, duration=_SAMPLING, report_request_id=request.report_request_id,
        report_specifier_id=spec.report_specifier_id, report_name=ReportName.TELEMETRY_USAGE.value,
        created_date_time=now,
        intervals=(ReportInterval(dtstart=now, duration=_SAMPLING, uid="0", payloads=payloads),)),))
    answer = await ctx.session.send(Service.REPORT, update)
    ctx.session.accepted(answer, update, (OadrUpdatedReport,), REPORT_UPDATE)
    return f"report {request.report_request_id!r}: one interval without a value acknowledged"
