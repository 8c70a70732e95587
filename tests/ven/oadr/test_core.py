"""The OpenADR 2.0b VEN's protocol rules, driven with models and no network (:mod:`transactive.ven.oadr.core`)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.ven.oadr.conftest import T0, VTN, assert_valid, distribute, event, ok, registered
from transactive.ei.oadr import (
    CalendarInterval,
    EventStatus,
    OadrCanceledPartyRegistration,
    OadrCanceledReport,
    OadrCancelPartyRegistration,
    OadrCancelReport,
    OadrCreatedReport,
    OadrCreateReport,
    OadrPoll,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrRequestReregistration,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
    OptType,
    ReportRequest,
    ReportSpecifier,
    ResponseRequired,
    SpecifierPayload,
)
from transactive.errors import InvalidMessageError
from transactive.protocol.errors import InvalidIdError, NotAllowedError, NotAuthorizedError, RequestRefusedError
from transactive.protocol.oadr import Service
from transactive.ven.oadr.core import OadrVen
from transactive.ven.oadr.reports import ReportSource


def registered_ven() -> OadrVen:
    counter = itertools.count()
    ven = OadrVen("pv-1", ids=lambda: f"id-{next(counter)}")
    ven.on_registered(registered())
    return ven


# ---- registration --------------------------------------------------------------------------------------


def test_registration_keeps_the_ids_the_vtn_gives_and_its_poll_frequency() -> None:
    ven = OadrVen("pv-1")
    ven.on_query(registered(ven_id=None, registration_id=None, poll=timedelta(seconds=7)))
    assert (ven.vtn_id, ven.poll_every) == (VTN, timedelta(seconds=7))
    request = ven.create_registration()
    assert (request.registration_id, request.ven_id, request.ven_name, request.http_pull_model) == (
        None, None, "pv-1", True)
    ven.on_registered(registered())
    assert (ven.ven_id, ven.registration_id) == ("ven-1", "reg-1")


def test_a_known_ven_re_registers_with_its_registration_and_ven_id() -> None:
    ven = OadrVen("pv-1", ven_id="ven-1", registration_id="reg-1")
    request = ven.create_registration()
    assert (request.registration_id, request.ven_id) == ("reg-1", "ven-1")
    assert_valid(request)


def test_a_registration_answer_without_registration_id_is_a_463_refusal() -> None:
    with pytest.raises(RequestRefusedError) as info:
        OadrVen("pv-1").on_registered(registered(registration_id=None))
    assert (info.value.response_code, info.value.field) == (463, "ei:registrationID")


def test_a_non_2xx_ei_response_is_a_refusal_with_its_code() -> None:
    with pytest.raises(RequestRefusedError) as info:
        OadrVen("pv-1").on_registered(registered(code=452))
    assert info.value.response_code == 452
    assert isinstance(info.value.reply, type(registered()))


def test_a_reply_of_the_wrong_type_is_an_invalid_message() -> None:
    with pytest.raises(InvalidMessageError):
        OadrVen("pv-1").on_registered(OadrResponse(response=ok()))
    with pytest.raises(InvalidMessageError):
        OadrVen("pv-1").on_registered(None)


def test_requests_need_a_ven_id_first() -> None:
    with pytest.raises(NotAuthorizedError):
        OadrVen("pv-1").poll()
    with pytest.raises(NotAuthorizedError):
        OadrVen("pv-1").cancel_registration()


def test_every_request_the_ven_builds_is_schema_valid() -> None:
    ven = registered_ven()
    ven.reports.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=None))
    ven.answer(ven.distribute(distribute(event())), {"ev-1": OptType.OPT_IN})
    for message in (ven.query_registration(), ven.create_registration(), ven.poll(), ven.request_events(),
                    ven.cancel_registration(), ven.register_reports(T0), ven.created_event("ev-1", OptType.OPT_OUT),
                    ven.create_opt(OptType.OPT_OUT, T0, event_id="ev-1"), ven.cancel_opt(next(iter(ven.opts)))):
        assert_valid(message)


# ---- events ------------------------------------------------------------------------------------------


def test_a_new_event_is_decided_and_answered_with_its_modification_number() -> None:
    ven = registered_ven()
    batch = ven.distribute(distribute(event(mn=3), request_id="d-7"))
    assert [e.event_id for e in batch.to_decide] == ["ev-1"]
    answer = ven.answer(batch, {"ev-1": OptType.OPT_IN})
    assert answer is not None
    assert_valid(answer)
    (response,) = answer.event_responses
    assert (response.qualified_event_id.event_id, response.qualified_event_id.modification_number,
            response.opt_type, response.request_id, answer.ven_id) == ("ev-1", 3, OptType.OPT_IN, "d-7", "ven-1")
    assert answer.response.request_id == ""  # the VTN reads each eventResponse's requestID, this one stays empty


def test_the_same_version_again_needs_no_answer() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event())), {"ev-1": OptType.OPT_IN})
    batch = ven.distribute(distribute(event(status=EventStatus.ACTIVE), request_id="d-2"))
    assert (batch.to_decide, batch.ended, batch.gone) == ((), (), ())
    assert ven.answer(batch, {}) is None


def test_a_new_modification_number_is_decided_again_and_answered() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event())), {"ev-1": OptType.OPT_IN})
    batch = ven.distribute(distribute(event(mn=1, values=(0.9, 0.1)), request_id="d-2"))
    (modified,) = batch.to_decide
    assert (modified.is_update, modified.previous_opt) == (True, OptType.OPT_IN)
    answer = ven.answer(batch, {"ev-1": OptType.OPT_OUT})
    assert answer is not None
    assert answer.event_responses[0].qualified_event_id.modification_number == 1
    assert ven.events["ev-1"].opt is OptType.OPT_OUT


def test_an_older_modification_number_is_ignored() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event(mn=2))), {"ev-1": OptType.OPT_IN})
    assert ven.distribute(distribute(event(mn=1))).to_decide == ()


def test_events_that_need_no_response_are_kept_but_not_answered() -> None:
    ven = registered_ven()
    batch = ven.distribute(distribute(event(required=ResponseRequired.NEVER)))
    assert ven.answer(batch, {"ev-1": OptType.OPT_IN}) is None
    assert "ev-1" in ven.events


def test_a_cancelled_event_is_acknowledged_with_the_previous_opt_and_dropped() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event())), {"ev-1": OptType.OPT_OUT})
    batch = ven.distribute(distribute(event(mn=1, status=EventStatus.CANCELLED), request_id="d-2"))
    assert (batch.to_decide, [e.event_id for e in batch.ended]) == ((), ["ev-1"])
    answer = ven.answer(batch, {})
    assert answer is not None
    response = answer.event_responses[0]
    assert (response.qualified_event_id.modification_number, response.opt_type) == (1, OptType.OPT_OUT)
    assert ven.events == {}


def test_an_event_completed_in_time_and_unlisted_events_are_dropped_silently() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event("a"), event("b"))), {"a": OptType.OPT_IN, "b": OptType.OPT_IN})
    batch = ven.distribute(distribute(event("a", status=EventStatus.COMPLETED), request_id="d-2"))
    assert sorted(e.event_id for e in batch.gone) == ["a", "b"]
    assert ven.answer(batch, {}) is None
    assert ven.events == {}


def test_an_undecided_event_is_opted_out_of() -> None:
    ven = registered_ven()
    answer = ven.answer(ven.distribute(distribute(event())), {})
    assert answer is not None
    assert answer.event_responses[0].opt_type is OptType.OPT_OUT


def test_events_from_another_vtn_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidIdError) as info:
        registered_ven().distribute(distribute(event(), vtn_id="someone-else"))
    assert (info.value.response_code, info.value.field) == (452, "ei:vtnID")


def test_changing_the_answer_to_a_known_event() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event(mn=4))), {"ev-1": OptType.OPT_IN})
    message = ven.created_event("ev-1", OptType.OPT_OUT)
    assert message.event_responses[0].qualified_event_id.modification_number == 4
    with pytest.raises(InvalidIdError):
        ven.created_event("nope", OptType.OPT_IN)


# ---- opts ---------------------------------------------------------------------------------------------


def test_an_event_opt_names_the_events_current_version() -> None:
    ven = registered_ven()
    ven.answer(ven.distribute(distribute(event(mn=2))), {"ev-1": OptType.OPT_IN})
    opt = ven.create_opt(OptType.OPT_OUT, T0, event_id="ev-1")
    assert opt.qualified_event_id is not None
    assert opt.qualified_event_id.modification_number == 2
    assert ven.cancel_opt(opt.opt_id).opt_id == opt.opt_id


def test_an_opt_schedule_is_valid_and_needs_periods_or_an_event_but_not_both() -> None:
    ven = registered_ven()
    period = CalendarInterval(dtstart=T0, duration=timedelta(hours=2))
    schedule = ven.create_opt(OptType.OPT_OUT, T0, available=(period,))
    assert_valid(schedule)
    with pytest.raises(ValueError, match="either"):
        ven.create_opt(OptType.OPT_IN, T0)
    with pytest.raises(InvalidIdError):
        ven.cancel_opt("unknown")


# ---- messages the VTN sends on a poll ------------------------------------------------------------------


def test_a_reregistration_request_is_acknowledged_then_registration_starts_again() -> None:
    step = registered_ven().receive(OadrRequestReregistration(ven_id="ven-1"), T0)
    assert step.reregister
    (out,) = step.send
    assert (out.service, type(out.message)) == (Service.REGISTER_PARTY, OadrResponse)
    assert_valid(out.message)


def test_a_cancelled_registration_is_answered_and_forgotten() -> None:
    ven = registered_ven()
    step = ven.receive(OadrCancelPartyRegistration(request_id="c-1", registration_id="reg-1", ven_id="ven-1"), T0)
    (out,) = step.send
    assert isinstance(out.message, OadrCanceledPartyRegistration)
    assert (out.message.response.response_code, out.message.response.request_id) == (200, "c-1")
    assert step.cancelled
    assert ven.registration_id is None
    assert ven.ven_id == "ven-1"


def test_cancelling_another_registration_is_answered_452_and_changes_nothing() -> None:
    ven = registered_ven()
    step = ven.receive(OadrCancelPartyRegistration(request_id="c-1", registration_id="reg-9"), T0)
    assert isinstance(step.send[0].message, OadrCanceledPartyRegistration)
    assert step.send[0].message.response.response_code == 452
    assert not step.cancelled
    assert ven.registration_id == "reg-1"


def _request(request_id: str, spec: str = "spec", r_id: str = "p", granularity: int = 10,
             back: int = 30) -> ReportRequest:
    return ReportRequest(report_request_id=request_id, report_specifier=ReportSpecifier(
        report_specifier_id=spec, granularity=timedelta(seconds=granularity),
        report_back_duration=timedelta(seconds=back),
        specifier_payloads=(SpecifierPayload(r_id=r_id, reading_type="Direct Read"),)))


def test_a_report_request_is_answered_with_every_pending_report() -> None:
    ven = registered_ven()
    ven.reports.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=None))
    step = ven.receive(OadrCreateReport(request_id="cr-1", report_requests=(_request("rr-1"), _request("rr-2"))), T0)
    (out,) = step.send
    assert isinstance(out.message, OadrCreatedReport)
    assert_valid(out.message)
    assert out.message.pending_reports.report_request_ids == ("rr-1", "rr-2")
    assert out.message.response.request_id == "cr-1"


def test_a_request_for_an_unknown_report_is_answered_452() -> None:
    ven = registered_ven()
    step = ven.receive(OadrCreateReport(request_id="cr-1", report_requests=(_request("rr-1", spec="other"),)), T0)
    message = step.send[0].message
    assert isinstance(message, OadrCreatedReport)
    assert message.response.response_code == 452
    assert message.pending_reports.report_request_ids == ()


def test_report_requests_in_the_registered_report_answer_start_reports() -> None:
    ven = registered_ven()
    ven.reports.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=None))
    step = ven.on_registered_reports(OadrRegisteredReport(response=ok("rg"), report_requests=(_request("rr-1"),)), T0)
    assert isinstance(step.send[0].message, OadrCreatedReport)
    assert ven.reports.pending() == ("rr-1",)
    assert ven.on_registered_reports(OadrRegisteredReport(response=ok("rg")), T0).send == ()


def test_a_cancelled_report_is_answered_with_the_reports_left_and_its_data_when_asked() -> None:
    ven = registered_ven()
    ven.reports.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=None))
    ven.reports.accept([_request("rr-1"), _request("rr-2")], T0)
    for sample in ven.reports.due_samples(T0):
        ven.reports.record(sample, T0, 42.0)
    step = ven.receive(OadrCancelReport(request_id="x-1", report_request_ids=("rr-1",), report_to_follow=True), T0)
    update, canceled = (out.message for out in step.send)
    assert isinstance(update, OadrUpdateReport)
    assert isinstance(canceled, OadrCanceledReport)
    assert update.reports[0].report_request_id == "rr-1"
    assert canceled.pending_reports.report_request_ids == ("rr-2",)


def test_an_updated_report_that_cancels_reports_is_acknowledged() -> None:
    ven = registered_ven()
    ven.reports.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=None))
    ven.reports.accept([_request("rr-1")], T0)
    cancel = OadrCancelReport(request_id="x-1", report_request_ids=("rr-1",))
    step = ven.on_updated_report(OadrUpdatedReport(response=ok("u"), cancel_report=cancel))
    assert isinstance(step.send[0].message, OadrCanceledReport)
    assert ven.reports.pending() == ()


def test_reports_and_metadata_the_vtn_sends_are_acknowledged() -> None:
    ven = registered_ven()
    step = ven.receive(OadrRegisterReport(request_id="vr-1"), T0)
    assert isinstance(step.send[0].message, OadrRegisteredReport)
    step = ven.receive(OadrUpdateReport(request_id="vu-1"), T0)
    assert isinstance(step.send[0].message, OadrUpdatedReport)
    assert step.send[0].message.response.request_id == "vu-1"


def test_an_empty_answer_needs_nothing_and_a_refusal_raises() -> None:
    ven = registered_ven()
    assert ven.receive(OadrResponse(response=ok()), T0).send == ()
    assert ven.receive(None, T0).send == ()
    with pytest.raises(RequestRefusedError) as info:
        ven.receive(OadrResponse(response=ok(code=463)), T0)
    assert info.value.response_code == 463


def test_a_message_only_a_ven_sends_is_not_allowed() -> None:
    with pytest.raises(NotAllowedError) as info:
        registered_ven().receive(OadrPoll(ven_id="x"), T0)
    assert info.value.response_code == 451
