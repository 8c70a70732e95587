"""The OpenADR 2.0b VTN core, in memory and on a real SQLite file: registration and identity, the event
lifecycle and its distribution, the VENs' answers and opts, reports, the poll and its outbox, replay
protection, and error replies that are valid 2.0b documents naming the field and the EI code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from transactive.codec import encode_xml
from transactive.ei.oadr import (
    EiResponse,
    EventResponse,
    OadrCanceledOpt,
    OadrCanceledPartyRegistration,
    OadrCancelOpt,
    OadrCancelPartyRegistration,
    OadrCreatedEvent,
    OadrCreatedOpt,
    OadrCreatedPartyRegistration,
    OadrCreatedReport,
    OadrCreateOpt,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrPoll,
    OadrQueryRegistration,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrRequestEvent,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
    PayloadFloat,
    PendingReports,
    QualifiedEventID,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    SamplingRate,
)
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.errors import ProtocolError
from transactive.protocol.clock import ManualClock
from transactive.schemas import validate
from transactive.services.oadr import OadrCore, OadrSettings, Peer
from transactive.services.oadr.events import EventSpec, cancel_event, create_event, list_events, modify_event
from transactive.services.oadr.registration import request_reregistration, vtn_cancel_registration
from transactive.services.sqlite_store import MemoryStore, SqliteStore
from transactive.services.store import Store

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
PLAIN = Peer()
CERT_A = Peer(tls_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33")
CERT_B = Peer(tls_fingerprint="11:22:33:44:55:66:77:88:99:00")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def core(clock: ManualClock, store: Store) -> OadrCore:
    return OadrCore(store, clock, wall=clock)


def valid(message: object) -> None:
    report = validate(etree.fromstring(encode_xml(message)))  # type: ignore[arg-type]
    assert report.valid, report.errors


def register(core: OadrCore, name: str, peer: Peer = PLAIN,
             request_id: str | None = None) -> OadrCreatedPartyRegistration:
    reply = core.handle(OadrCreatePartyRegistration(request_id=request_id or f"reg-{name}", ven_name=name), peer)
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert reply.response.response_code == 200, reply.response
    valid(reply)
    return reply


def refused(core: OadrCore, message: object, peer: Peer = PLAIN) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        core.handle(message, peer)  # type: ignore[arg-type]
    error = caught.value
    reply = core.error_reply(message, error)  # type: ignore[arg-type]
    valid(reply)
    assert reply.response.response_code == error.response_code  # type: ignore[attr-defined]
    return error


def drain(core: OadrCore, ven_id: str) -> list[object]:
    """Poll until the VTN has nothing more for the VEN; what it sent."""
    sent = []
    for _ in range(20):
        reply = core.handle(OadrPoll(ven_id=ven_id), PLAIN)
        valid(reply)
        if isinstance(reply, OadrResponse):
            return sent
        sent.append(reply)
    raise AssertionError("the VTN never ran out of messages")


def spec(**kw: object) -> EventSpec:
    base: dict[str, object] = {"signal_name": "SIMPLE", "start": T0 + timedelta(minutes=5),
                               "intervals": ((timedelta(minutes=10), 1.0), (timedelta(minutes=10), 2.0))}
    base.update(kw)
    return EventSpec(**base)  # type: ignore[arg-type]


# ---- registration --------------------------------------------------------------------------------

def test_query_then_register_assigns_ids_and_names_the_poll_frequency(core: OadrCore) -> None:
    query = core.handle(OadrQueryRegistration(request_id="q"), PLAIN)
    assert isinstance(query, OadrCreatedPartyRegistration)
    assert query.ven_id is None
    assert query.vtn_id == "TRANSACTIVE-VTN"
    valid(query)
    reply = register(core, "ven-1")
    assert reply.ven_id
    assert reply.registration_id
    assert reply.ven_id != reply.registration_id
    assert reply.requested_poll_freq == timedelta(seconds=10)


def test_a_repeated_registration_request_gets_the_same_reply_and_other_content_is_409(core: OadrCore) -> None:
    first = register(core, "ven-1", request_id="r1")
    again = register(core, "ven-1", request_id="r1")
    assert (again.ven_id, again.registration_id) == (first.ven_id, first.registration_id)
    error = refused(core, OadrCreatePartyRegistration(request_id="r1", ven_name="ven-1", report_only=True))
    assert error.response_code == 409


def test_a_taken_name_is_refused_and_the_owner_re_registers_with_its_ids(core: OadrCore) -> None:
    first = register(core, "ven-1")
    error = refused(core, OadrCreatePartyRegistration(request_id="other", ven_name="ven-1"))
    assert error.response_code == 463
    assert "oadrVenName" in error.errors[0].path
    renewed = core.handle(OadrCreatePartyRegistration(request_id="again", ven_name="ven-1",
                                                      registration_id=first.registration_id), PLAIN)
    assert isinstance(renewed, OadrCreatedPartyRegistration)
    assert (renewed.ven_id, renewed.registration_id) == (first.ven_id, first.registration_id)
    by_id = core.handle(OadrCreatePartyRegistration(request_id="again2", ven_id=first.ven_id), PLAIN)
    assert isinstance(by_id, OadrCreatedPartyRegistration)
    assert by_id.ven_id == first.ven_id
    wrong = refused(core, OadrCreatePartyRegistration(request_id="x", registration_id="reg-nope"))
    assert wrong.response_code == 452
    assert wrong.errors[0].path == "ei:registrationID"


def test_a_certificate_binds_the_ven_for_good(core: OadrCore) -> None:
    first = register(core, "ven-1", CERT_A)
    # a device that lost its state comes back as itself with its certificate
    again = register(core, "ven-1", CERT_A, request_id="reboot")
    assert again.ven_id == first.ven_id
    query = core.handle(OadrQueryRegistration(request_id="q"), CERT_A)
    assert isinstance(query, OadrCreatedPartyRegistration)
    assert query.registration_id == first.registration_id
    assert first.ven_id is not None
    for peer in (PLAIN, CERT_B):
        error = refused(core, OadrPoll(ven_id=first.ven_id), peer)
        assert error.response_code == 463
        assert error.errors[0].path == "ei:venID"
        stolen = refused(core, OadrCreatePartyRegistration(request_id="steal", ven_id=first.ven_id), peer)
        assert stolen.response_code == 463
    mixed = refused(core, OadrPoll(ven_id=first.ven_id),
                    Peer(tls_fingerprint=CERT_A.tls_fingerprint, signature_fingerprint=CERT_B.tls_fingerprint))
    assert mixed.response_code == 463
    assert mixed.errors[0].path == "ds:Signature"


def test_the_allow_list_admits_only_its_names_with_their_certificates(clock: ManualClock) -> None:
    assert CERT_A.tls_fingerprint is not None
    core = OadrCore(MemoryStore(), clock, OadrSettings(allowed_vens={"ven-1": CERT_A.tls_fingerprint}), wall=clock)
    register(core, "ven-1", CERT_A)
    assert refused(core, OadrCreatePartyRegistration(request_id="a", ven_name="ven-2"), CERT_A).response_code == 463
    assert refused(core, OadrCreatePartyRegistration(request_id="b", ven_name="ven-1"), CERT_B).response_code == 463
    assert refused(core, OadrCreatePartyRegistration(request_id="c", ven_name="ven-1"), PLAIN).response_code == 463


def test_cancel_ends_the_registration_and_the_ven_id_stops_working(core: OadrCore) -> None:
    reg = register(core, "ven-1")
    assert reg.ven_id
    assert reg.registration_id
    reply = core.handle(OadrCancelPartyRegistration(request_id="c", registration_id=reg.registration_id,
                                                    ven_id=reg.ven_id), PLAIN)
    valid(reply)
    assert refused(core, OadrPoll(ven_id=reg.ven_id)).response_code == 463
    register(core, "ven-1", request_id="new")  # the name is free again


@pytest.mark.parametrize(("field", "message"), [
    ("oadr:oadrTransportAddress", OadrCreatePartyRegistration(request_id="p", ven_name="v", http_pull_model=False)),
    ("oadr:oadrTransportAddress", OadrCreatePartyRegistration(request_id="p", ven_name="v", http_pull_model=False,
                                                              transport_address="ftp://x")),
    ("oadr:oadrVenName", OadrCreatePartyRegistration(request_id="p", ven_name="v" * 300)),
    ("oadr:oadrVenName", OadrCreatePartyRegistration(request_id="p")),
])
def test_registrations_the_vtn_cannot_serve_are_refused_naming_the_field(core: OadrCore, field: str,
                                                                         message: OadrCreatePartyRegistration) -> None:
    error = refused(core, message)
    assert error.response_code == 454
    assert error.errors[0].path == field


# ---- events --------------------------------------------------------------------------------------

def test_the_event_lifecycle_reaches_the_ven_on_its_polls(core: OadrCore, clock: ManualClock) -> None:
    ven = register(core, "ven-1").ven_id
    assert ven is not None
    drain(core, ven)  # the VTN's METADATA report
    event = core.operate(lambda ctx: create_event(ctx, spec()))
    sent = drain(core, ven)
    assert len(sent) == 1
    assert isinstance(sent[0], OadrDistributeEvent)
    (oadr_event,) = sent[0].events
    assert oadr_event.event.descriptor.event_id == event.event_id
    assert oadr_event.event.descriptor.modification_number == 0
    assert oadr_event.event.descriptor.event_status == "far"
    assert [i.payloads[0].payload.value for i in oadr_event.event.signals[0].intervals] == [1.0, 2.0]  # type: ignore[union-attr]
    assert drain(core, ven) == []  # nothing new: not sent again
    core.operate(lambda ctx: modify_event(ctx, event.event_id, intervals=((timedelta(minutes=20), 5.0),)))
    (modified,) = drain(core, ven)
    assert isinstance(modified, OadrDistributeEvent)
    assert modified.events[0].event.descriptor.modification_number == 1
    assert modified.events[0].event.signals[0].intervals[0].payloads[0].payload.value == 5.0  # type: ignore[union-attr]
    core.operate(lambda ctx: cancel_event(ctx, event.event_id))
    (cancelled,) = drain(core, ven)
    assert isinstance(cancelled, OadrDistributeEvent)
    assert cancelled.events[0].event.descriptor.event_status == "cancelled"
    assert cancelled.events[0].event.descriptor.modification_number == 2
    with pytest.raises(ProtocolError) as again:
        core.operate(lambda ctx: cancel_event(ctx, event.event_id))
    assert again.value.response_code == 450


def test_a_cancellation_that_asks_no_answer_is_sent_once_and_not_again_with_the_next_event(core: OadrCore) -> None:
    # openleadr 0.5.36 opts out of every event of a distribution that repeats a cancellation it already has
    ven = register(core, "ven-1").ven_id
    assert ven is not None
    drain(core, ven)
    first = core.operate(lambda ctx: create_event(ctx, spec(response_required="never")))
    drain(core, ven)
    core.operate(lambda ctx: cancel_event(ctx, first.event_id))
    (cancelled,) = drain(core, ven)
    assert isinstance(cancelled, OadrDistributeEvent)
    assert [e.event.descriptor.event_status for e in cancelled.events] == ["cancelled"]
    later = core.operate(lambda ctx: create_event(ctx, spec()))
    (distributed,) = drain(core, ven)  # the later event alone, and nothing after it
    assert isinstance(distributed, OadrDistributeEvent)
    assert [e.event.descriptor.event_id for e in distributed.events] == [later.event_id]
    reply = core.handle(OadrRequestEvent(request_id="req-1", ven_id=ven), PLAIN)
    assert isinstance(reply, OadrDistributeEvent)
    assert [e.event.descriptor.event_id for e in reply.events] == [later.event_id]
    assert drain(core, ven) == []


def test_every_active_event_is_in_each_distribution_and_targets_are_kept(core: OadrCore) -> None:
    one = register(core, "ven-1").ven_id
    two = register(core, "ven-2").ven_id
    assert one
    assert two
    for ven in (one, two):
        drain(core, ven)
    core.operate(lambda ctx: create_event(ctx, spec(priority=2)))
    core.operate(lambda ctx: create_event(ctx, spec(vens=("ven-2",), priority=1)))
    (to_one,) = drain(core, one)
    (to_two,) = drain(core, two)
    assert isinstance(to_one, OadrDistributeEvent)
    assert isinstance(to_two, OadrDistributeEvent)
    assert len(to_one.events) == 1
    assert len(to_two.events) == 2
    assert to_two.events[0].event.descriptor.priority == 1  # highest priority first
    asked = core.handle(OadrRequestEvent(request_id="req", ven_id=two), PLAIN)
    assert isinstance(asked, OadrDistributeEvent)
    assert len(asked.events) == 2
    assert asked.request_id == "req"


def test_the_operator_is_refused_naming_the_field(core: OadrCore) -> None:
    for bad, field in ((spec(signal_name="NOPE"), "signal"), (spec(signal_type="nope"), "signal-type"),
                       (spec(intervals=()), "intervals"), (spec(intervals=((timedelta(0), 1.0),)), "intervals"),
                       (spec(intervals=((timedelta(minutes=1), float("nan")),)), "intervals"),
                       (spec(vens=("nobody",)), "ven"), (spec(start=datetime(2026, 12, 4)), "start")):
        with pytest.raises(ProtocolError) as caught:
            core.operate(lambda ctx, bad=bad: create_event(ctx, bad))
        assert caught.value.errors[0].path == field
    with pytest.raises(ProtocolError) as unknown:
        core.operate(lambda ctx: modify_event(ctx, "evt-nope", intervals=((timedelta(minutes=1), 1.0),)))
    assert unknown.value.response_code == 452


def test_answers_and_opts_are_kept_per_ven_and_event(core: OadrCore) -> None:
    one = register(core, "ven-1").ven_id
    two = register(core, "ven-2").ven_id
    assert one
    assert two
    event = core.operate(lambda ctx: create_event(ctx, spec()))

    def answer(ven: str, opt: str, number: int = 0) -> object:
        return OadrCreatedEvent(response=EiResponse(response_code=200, request_id="d"), ven_id=ven, event_responses=(
            EventResponse(response_code=200, request_id="d", opt_type=opt,  # type: ignore[arg-type]
                          qualified_event_id=QualifiedEventID(event_id=event.event_id, modification_number=number)),))

    assert isinstance(core.handle(answer(one, "optIn"), PLAIN), OadrResponse)  # type: ignore[arg-type]
    assert isinstance(core.handle(answer(two, "optOut"), PLAIN), OadrResponse)  # type: ignore[arg-type]
    assert refused(core, answer(one, "optIn", number=7)).response_code == 452
    opts = core.operate(lambda ctx: list_events(ctx))[0][1]
    assert opts == {"ven-1": "optIn", "ven-2": "optOut"}
    # an event opt (oadrCreateOpt) overrides, and a schedule opt is kept and can be cancelled
    opt = OadrCreateOpt(opt_id="o1", opt_type="optOut", opt_reason="economic", ven_id=one,  # type: ignore[arg-type]
                        created_date_time=T0, request_id="c1",
                        qualified_event_id=QualifiedEventID(event_id=event.event_id, modification_number=0))
    created = core.handle(opt, PLAIN)
    assert isinstance(created, OadrCreatedOpt)
    assert created.opt_id == "o1"
    valid(created)
    assert core.operate(lambda ctx: list_events(ctx))[0][1]["ven-1"] == "optOut"
    schedule = OadrCreateOpt(opt_id="o2", opt_type="optOut", opt_reason="mustRun", ven_id=two,  # type: ignore[arg-type]
                             created_date_time=T0, request_id="c2",
                             available=(CalendarInterval(dtstart=T0, duration=timedelta(hours=1)),))
    assert isinstance(core.handle(schedule, PLAIN), OadrCreatedOpt)
    assert isinstance(core.handle(OadrCancelOpt(request_id="x", opt_id="o2", ven_id=two), PLAIN), OadrCanceledOpt)
    assert refused(core, OadrCancelOpt(request_id="y", opt_id="o9", ven_id=two)).response_code == 452
    empty = OadrCreateOpt(opt_id="o3", opt_type="optIn", opt_reason="economic", ven_id=two,  # type: ignore[arg-type]
                          created_date_time=T0, request_id="c3")
    assert refused(core, empty).response_code == 454


# ---- reports -------------------------------------------------------------------------------------

def _offer(ven: str, name: str = "METADATA_TELEMETRY_USAGE") -> OadrRegisterReport:
    description = ReportDescription(r_id="power", report_type="usage", reading_type="Direct Read",
                                    sampling_rate=SamplingRate(min_period=timedelta(seconds=2),
                                                               max_period=timedelta(seconds=60), on_change=False))
    return OadrRegisterReport(request_id=f"rr-{name}", ven_id=ven, reports=(Report(
        report_request_id="0", report_specifier_id=f"spec-{name}", report_name=name, created_date_time=T0,
        descriptions=(description,)),))


def test_reports_are_requested_confirmed_and_their_values_stored(core: OadrCore) -> None:
    ven = register(core, "ven-1").ven_id
    assert ven
    registered = core.handle(_offer(ven), PLAIN)
    assert isinstance(registered, OadrRegisteredReport)
    valid(registered)
    (request,) = registered.report_requests
    assert request.report_specifier.granularity == timedelta(seconds=2)
    assert [p.r_id for p in request.report_specifier.specifier_payloads] == ["power"]
    history = core.handle(_offer(ven, "METADATA_HISTORY_USAGE"), PLAIN)
    assert isinstance(history, OadrRegisteredReport)
    assert history.report_requests == ()
    confirmed = core.handle(OadrCreatedReport(response=EiResponse(response_code=200, request_id="x"), ven_id=ven,
                                              pending_reports=PendingReports(report_request_ids=(
                                                  request.report_request_id,))), PLAIN)
    assert isinstance(confirmed, OadrResponse)
    update = OadrUpdateReport(request_id="u1", ven_id=ven, reports=(Report(
        report_request_id=request.report_request_id, report_specifier_id="spec-METADATA_TELEMETRY_USAGE",
        report_name="TELEMETRY_USAGE", created_date_time=T0, intervals=tuple(
            ReportInterval(dtstart=T0 + timedelta(seconds=2 * n), payloads=(
                ReportPayload(r_id="power", payload=PayloadFloat(value=1000.0 + n)),)) for n in range(3))),))
    assert isinstance(core.handle(update, PLAIN), OadrUpdatedReport)
    assert isinstance(core.handle(update, PLAIN), OadrUpdatedReport)  # a retry is not stored twice
    values = core.store.report_values(ven_id=ven)
    assert [v.value for v in values] == ["1000.0", "1001.0", "1002.0"]
    unknown = update.model_copy(update={"request_id": "u2", "reports": (update.reports[0].model_copy(
        update={"report_request_id": "rr-nope"}),)})
    assert refused(core, unknown).response_code == 452


# ---- poll, outbox, replay protection ---------------------------------------------------------------

def test_the_outbox_comes_in_order_and_a_vtn_cancel_ends_the_registration_when_delivered(core: OadrCore) -> None:
    ven = register(core, "ven-1").ven_id
    assert ven
    first = drain(core, ven)
    assert [type(m).__name__ for m in first] == ["OadrRegisterReport"]  # the VTN's METADATA report
    record = core.ctx.vens()[ven]
    core.operate(lambda ctx: request_reregistration(ctx, record))
    core.operate(lambda ctx: vtn_cancel_registration(ctx, record))
    sent = [core.handle(OadrPoll(ven_id=ven), PLAIN) for _ in range(2)]
    assert [type(m).__name__ for m in sent] == ["OadrRequestReregistration", "OadrCancelPartyRegistration"]
    assert refused(core, OadrPoll(ven_id=ven)).response_code == 463  # cancelled once delivered
    confirmed = core.handle(OadrCanceledPartyRegistration(
        response=EiResponse(response_code=200, request_id=""), registration_id=record.registration_id, ven_id=ven),
        PLAIN)
    assert isinstance(confirmed, OadrResponse)
    assert confirmed.response.response_code == 200


def test_a_poll_with_nothing_waiting_needs_no_transaction(core: OadrCore) -> None:
    ven = register(core, "ven-1").ven_id
    assert ven
    assert core.quick(OadrPoll(ven_id=ven), PLAIN) is None  # the METADATA report waits
    drain(core, ven)
    assert isinstance(core.quick(OadrPoll(ven_id=ven), PLAIN), OadrResponse)
    core.operate(lambda ctx: create_event(ctx, spec()))
    assert core.quick(OadrPoll(ven_id=ven), PLAIN) is None
    signed = Peer(signature_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33", nonce="n", signed_at=T0)
    drain(core, ven)
    assert core.quick(OadrPoll(ven_id=ven), signed) is None  # a signed poll records its nonce


def test_a_replayed_nonce_is_refused_and_unsigned_messages_when_signatures_are_required(clock: ManualClock,
                                                                                         store: Store) -> None:
    core = OadrCore(store, clock, OadrSettings(require_signatures=True), wall=clock)
    assert refused(core, OadrQueryRegistration(request_id="q")).errors[0].path == "ds:Signature"
    signed = Peer(signature_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33", nonce="n-1", signed_at=T0)
    register(core, "ven-1", signed)
    replay = refused(core, OadrQueryRegistration(request_id="q2"), signed)
    assert replay.response_code == 463
    assert "nonce" in replay.errors[0].path
    fresh = Peer(signature_fingerprint=signed.signature_fingerprint, nonce="n-2", signed_at=T0)
    assert isinstance(core.handle(OadrQueryRegistration(request_id="q3"), fresh), OadrCreatedPartyRegistration)


def test_everything_is_durable_on_a_real_file(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "vtn.db"
    core = OadrCore(SqliteStore(path), clock, wall=clock)
    ven = register(core, "ven-1").ven_id
    assert ven
    event = core.operate(lambda ctx: create_event(ctx, spec()))
    core.handle(_offer(ven), PLAIN)
    core.store.close()
    reopened = OadrCore(SqliteStore(path), clock, wall=clock)
    assert reopened.ctx.vens()[ven].ven_name == "ven-1"
    sent = drain(reopened, ven)  # a restarted VTN looks again for what its VENs were not sent
    kinds = [type(m).__name__ for m in sent]
    assert "OadrDistributeEvent" in kinds
    distribution = next(m for m in sent if isinstance(m, OadrDistributeEvent))
    assert distribution.events[0].event.descriptor.event_id == event.event_id
    reopened.store.close()


def test_a_cancellation_the_ven_has_is_not_sent_again_when_other_events_change(core: OadrCore) -> None:
    ven = register(core, "ven-1").ven_id
    assert ven
    drain(core, ven)
    quiet = core.operate(lambda ctx: create_event(ctx, spec(response_required="never")))
    drain(core, ven)
    core.operate(lambda ctx: cancel_event(ctx, quiet.event_id))
    (cancelled,) = drain(core, ven)
    assert isinstance(cancelled, OadrDistributeEvent)
    assert cancelled.events[0].event.descriptor.event_status == "cancelled"
    for n in range(3):  # each new event is news once, and never brings the old cancellation back
        core.operate(lambda ctx, n=n: create_event(ctx, spec(priority=n + 1)))
        sent = drain(core, ven)
        assert len(sent) == 1
        ids = [e.event.descriptor.event_id for e in sent[0].events]  # type: ignore[attr-defined]
        assert quiet.event_id not in ids
        assert len(ids) == n + 1


def test_a_retried_registration_is_answered_from_its_record_and_only_to_its_certificate(core: OadrCore) -> None:
    first = register(core, "ven-1", CERT_A, request_id="boot-1")
    again = register(core, "ven-1", CERT_A, request_id="boot-1")  # the reply was lost: the same again
    assert (again.ven_id, again.registration_id) == (first.ven_id, first.registration_id)
    other = refused(core, OadrCreatePartyRegistration(request_id="boot-1", ven_name="ven-1"), CERT_B)
    assert other.response_code == 463
    assert core.store.reply_for("oadr-name:ven-1", "boot-1") is None  # nothing stored beside the VEN's record
