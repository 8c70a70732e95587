"""``listen --role ven`` with a push VEN: a small scripted VEN (raw aiohttp, transactive's 2.0b models) that
registers with oadrHttpPullModel false and a transportAddress, and answers what the kit posts to it. The
push cases run, the pull cases are skipped saying why; a push VEN that names the wrong modificationNumber
fails E0_0010 alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from tests.conformance.oadr_ven_run import explain, listen_with, results
from tests.vtn.conftest import start_site
from transactive.codec import decode_xml, encode_xml
from transactive.ei.oadr import (
    EventResponse,
    EventStatus,
    OadrCanceledPartyRegistration,
    OadrCancelPartyRegistration,
    OadrCreatedEvent,
    OadrCreatedPartyRegistration,
    OadrCreatedReport,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrEvent,
    OadrMessage,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrUpdateReport,
    OptType,
    PayloadFloat,
    PendingReports,
    QualifiedEventID,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    SamplingRate,
)
from transactive.interop.conformance.model import Options, Result
from transactive.ven.oadr.core import ok

PUSH_CASES = {"N1_0010", "R1_0010", "R1_0020", "R1_0030", "E0_0010", "E0_0020", "E0_0030", "N0_0040", "N1_0020"}


class PushVen:
    """Registers for push, describes one data point, acknowledges the kit's request and sends one value; then
    answers the kit's pushes. It answers version ``skewed`` of an event (a modificationNumber) naming the next
    number (None: never, correct), refuses cancellations with 452 when ``refuses_cancel``, and names
    ``cancels_as`` when its registration is cancelled (None: its own registrationID, correct)."""

    def __init__(self, skewed: int | None = None, cancels_as: str | None = None, refuses_cancel: bool = False) -> None:
        self.skewed = skewed
        self.cancels_as = cancels_as
        self.refuses_cancel = refuses_cancel

    def _response(self, e: OadrEvent, request_id: str) -> EventResponse:
        number = e.event.descriptor.modification_number
        cancelled = e.event.descriptor.event_status is EventStatus.CANCELLED
        return EventResponse(response_code=452 if cancelled and self.refuses_cancel else 200, request_id=request_id,
                             opt_type=OptType.OPT_IN, qualified_event_id=QualifiedEventID(
                                 event_id=e.event.descriptor.event_id,
                                 modification_number=number + 1 if number == self.skewed else number))
        self.ven_id = ""
        self.registration_id = ""

    async def answer(self, request: web.Request) -> web.Response:
        message = decode_xml(await request.read())
        reply: OadrMessage
        if isinstance(message, OadrDistributeEvent):
            reply = OadrCreatedEvent(response=ok(""), ven_id=self.ven_id, event_responses=tuple(
                self._response(e, message.request_id) for e in message.events))
        else:
            assert isinstance(message, OadrCancelPartyRegistration)
            reply = OadrCanceledPartyRegistration(response=ok(message.request_id), ven_id=self.ven_id,
                                                  registration_id=self.cancels_as or message.registration_id)
        return web.Response(body=encode_xml(reply), content_type="application/xml")

    async def run(self, vtn: str, address: str) -> None:
        async with aiohttp.ClientSession() as session:
            async def post(service: str, message: OadrMessage) -> OadrMessage:
                async with session.post(f"{vtn}/{service}", data=encode_xml(message)) as response:
                    return decode_xml(await response.read())

            registered = await post("EiRegisterParty", OadrCreatePartyRegistration(
                request_id="r-1", ven_name="push-ven", http_pull_model=False, transport_address=address))
            assert isinstance(registered, OadrCreatedPartyRegistration)
            self.ven_id, self.registration_id = registered.ven_id or "", registered.registration_id or ""
            now = datetime.now(UTC).replace(microsecond=0)
            rate = SamplingRate(min_period=timedelta(seconds=1), max_period=timedelta(hours=1), on_change=False)
            point = ReportDescription(r_id="power", report_type="usage", reading_type="Direct Read", sampling_rate=rate)
            metadata = Report(report_request_id="0", report_specifier_id="push-meter",
                              report_name="METADATA_TELEMETRY_USAGE", created_date_time=now, descriptions=(point,))
            answer = await post("EiReport", OadrRegisterReport(request_id="rr-1", reports=(metadata,),
                                                                ven_id=self.ven_id))
            assert isinstance(answer, OadrRegisteredReport)
            (request,) = answer.report_requests
            rr_id = request.report_request_id
            await post("EiReport", OadrCreatedReport(response=ok("rr-1"), ven_id=self.ven_id,
                                                     pending_reports=PendingReports(report_request_ids=(rr_id,))))
            data = Report(report_request_id=rr_id, report_specifier_id="push-meter", created_date_time=now,
                          report_name="TELEMETRY_USAGE", intervals=(ReportInterval(dtstart=now, payloads=(
                              ReportPayload(r_id="power", payload=PayloadFloat(value=1000.0)),)),))
            await post("EiReport", OadrUpdateReport(request_id="u-1", reports=(data,), ven_id=self.ven_id))
            await asyncio.sleep(30)


async def _run_push(ven: PushVen) -> tuple[set[str], set[str], str]:
    app = web.Application()
    app.router.add_post("/OpenADR2/Simple/2.0b/{service}", ven.answer)
    runner, address = await start_site(app)
    tasks: list[asyncio.Task[None]] = []
    try:
        report = await listen_with(Options(timeout=5), lambda url: tasks.append(
            asyncio.create_task(ven.run(url, address))))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
    return results(report, Result.PASS), results(report, Result.FAIL), explain(report)


async def test_a_push_ven_is_walked_through_the_push_cases() -> None:
    passed, failed, why = await _run_push(PushVen())
    assert failed == set(), why
    assert passed == PUSH_CASES, why


@pytest.mark.parametrize(("ven", "case_id"), [
    (PushVen(skewed=0), "E0_0010"),
    (PushVen(skewed=1), "E0_0020"),
    (PushVen(refuses_cancel=True), "E0_0030"),
], ids=["new-event-wrong-number", "modified-event-wrong-number", "cancellation-refused"])
async def test_a_push_ven_answering_an_event_wrongly_fails_exactly_that_case(ven: PushVen, case_id: str) -> None:
    _, failed, why = await _run_push(ven)
    assert failed == {case_id}, why


async def test_a_push_ven_naming_another_registration_when_cancelled_fails_n0_0040() -> None:
    _, failed, why = await _run_push(PushVen(cancels_as="someone-elses-registration"))
    assert failed == {"N0_0040"}, why
