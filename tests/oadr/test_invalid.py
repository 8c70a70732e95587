"""Invalid documents and values are refused: ``InvalidMessageError`` naming the offending element, or a
validation error at construction; restrictions of the OpenADR 2.0b XSDs are enforced by the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.oadr.conftest import envelope
from transactive.codec import decode_json, decode_xml, encode_xml
from transactive.ei.oadr import (
    Currency,
    EiResponse,
    EventSignal,
    Interval,
    OadrCancelReport,
    OadrCreatedPartyRegistration,
    OadrCreateReport,
    OadrPoll,
    OadrRegisterReport,
    PayloadFloat,
    Report,
    ReportPayload,
    SignalName,
    SignalPayload,
    SignalType,
)
from transactive.ei.oadr.examples import examples
from transactive.errors import InvalidMessageError, InvalidModelError

RESPONSE = "<ei:eiResponse><ei:responseCode>200</ei:responseCode><pyld:requestID>r</pyld:requestID></ei:eiResponse>"

#: (case, message element, the end of the path the first error must name)
BAD_DOCUMENTS = [
    ("poll-without-venID", "<oadr:oadrPoll/>", "/oadr:oadrPoll/ei:venID"),
    ("query-without-requestID", "<oadr:oadrQueryRegistration/>", "/oadr:oadrQueryRegistration/pyld:requestID"),
    (
        "response-code-missing",
        "<oadr:oadrResponse><ei:eiResponse><pyld:requestID>r</pyld:requestID></ei:eiResponse></oadr:oadrResponse>",
        "/oadr:oadrResponse/ei:eiResponse/ei:responseCode",
    ),
    (
        "response-code-not-a-number",
        "<oadr:oadrResponse><ei:eiResponse><ei:responseCode>OK</ei:responseCode><pyld:requestID>r</pyld:requestID>"
        "</ei:eiResponse></oadr:oadrResponse>",
        "/oadr:oadrResponse/ei:eiResponse/ei:responseCode",
    ),
    (
        "created-event-wrong-venID-place",
        f"<oadr:oadrCreatedEvent><pyld:eiCreatedEvent>{RESPONSE}</pyld:eiCreatedEvent></oadr:oadrCreatedEvent>",
        "/oadr:oadrCreatedEvent/pyld:eiCreatedEvent/ei:venID",
    ),
    (
        "registration-unknown-transport",
        "<oadr:oadrCreatePartyRegistration><pyld:requestID>r</pyld:requestID>"
        "<oadr:oadrProfileName>2.0b</oadr:oadrProfileName><oadr:oadrTransportName>smoke</oadr:oadrTransportName>"
        "<oadr:oadrReportOnly>false</oadr:oadrReportOnly><oadr:oadrXmlSignature>false</oadr:oadrXmlSignature>"
        "</oadr:oadrCreatePartyRegistration>",
        "/oadr:oadrCreatePartyRegistration/oadr:oadrTransportName",
    ),
    (
        "registration-unknown-profile",
        "<oadr:oadrCreatePartyRegistration><pyld:requestID>r</pyld:requestID>"
        "<oadr:oadrProfileName>3.0</oadr:oadrProfileName><oadr:oadrTransportName>xmpp</oadr:oadrTransportName>"
        "<oadr:oadrReportOnly>false</oadr:oadrReportOnly><oadr:oadrXmlSignature>false</oadr:oadrXmlSignature>"
        "</oadr:oadrCreatePartyRegistration>",
        "/oadr:oadrCreatePartyRegistration/oadr:oadrProfileName",
    ),
    (
        "created-registration-without-profiles",
        f"<oadr:oadrCreatedPartyRegistration>{RESPONSE}<ei:vtnID>v</ei:vtnID></oadr:oadrCreatedPartyRegistration>",
        "/oadr:oadrCreatedPartyRegistration/oadr:oadrProfiles/oadr:oadrProfile",
    ),
    (
        "cancel-report-without-request-ids",
        "<oadr:oadrCancelReport><pyld:requestID>r</pyld:requestID><pyld:reportToFollow>false</pyld:reportToFollow>"
        "</oadr:oadrCancelReport>",
        "/oadr:oadrCancelReport/ei:reportRequestID",
    ),
    (
        "opt-with-wrong-opt-type",
        "<oadr:oadrCreateOpt><ei:optID>o</ei:optID><ei:optType>maybe</ei:optType><ei:optReason>economic</ei:optReason>"
        "<ei:venID>v</ei:venID><ei:createdDateTime>2026-07-14T16:00:00Z</ei:createdDateTime>"
        "<pyld:requestID>r</pyld:requestID><ei:eiTarget/></oadr:oadrCreateOpt>",
        "/oadr:oadrCreateOpt/ei:optType",
    ),
    (
        "opt-with-unknown-reason-not-an-extension",
        "<oadr:oadrCreateOpt><ei:optID>o</ei:optID><ei:optType>optIn</ei:optType><ei:optReason>bored</ei:optReason>"
        "<ei:venID>v</ei:venID><ei:createdDateTime>2026-07-14T16:00:00Z</ei:createdDateTime>"
        "<pyld:requestID>r</pyld:requestID><ei:eiTarget/></oadr:oadrCreateOpt>",
        "/oadr:oadrCreateOpt/ei:optReason",
    ),
    (
        "opt-with-naive-created-date-time",
        "<oadr:oadrCreateOpt><ei:optID>o</ei:optID><ei:optType>optIn</ei:optType><ei:optReason>economic</ei:optReason>"
        "<ei:venID>v</ei:venID><ei:createdDateTime>2026-07-14T16:00:00</ei:createdDateTime>"
        "<pyld:requestID>r</pyld:requestID><ei:eiTarget/></oadr:oadrCreateOpt>",
        "/oadr:oadrCreateOpt/ei:createdDateTime",
    ),
    (
        "registered-report-unknown-element",
        f"<oadr:oadrRegisteredReport>{RESPONSE}<ei:bogus>1</ei:bogus></oadr:oadrRegisteredReport>",
        "/oadr:oadrRegisteredReport/ei:bogus",
    ),
    (
        "event-request-negative-reply-limit",
        "<oadr:oadrRequestEvent><pyld:eiRequestEvent><pyld:requestID>r</pyld:requestID><ei:venID>v</ei:venID>"
        "<pyld:replyLimit>-1</pyld:replyLimit></pyld:eiRequestEvent></oadr:oadrRequestEvent>",
        "/oadr:oadrRequestEvent/pyld:eiRequestEvent/pyld:replyLimit",
    ),
    (
        "update-report-confidence-over-100",
        "<oadr:oadrUpdateReport><pyld:requestID>r</pyld:requestID><oadr:oadrReport><strm:intervals><ei:interval>"
        "<oadr:oadrReportPayload><ei:rID>x</ei:rID><ei:confidence>101</ei:confidence><ei:payloadFloat>"
        "<ei:value>1</ei:value></ei:payloadFloat></oadr:oadrReportPayload></ei:interval></strm:intervals>"
        "<ei:reportRequestID>rr</ei:reportRequestID><ei:reportSpecifierID>s</ei:reportSpecifierID>"
        "<ei:createdDateTime>2026-07-14T16:00:00Z</ei:createdDateTime></oadr:oadrReport></oadr:oadrUpdateReport>",
        "/ei:interval[1]/oadr:oadrReportPayload[1]/ei:confidence",
    ),
    (
        "power-item-wrong-fixed-units",
        "<oadr:oadrRegisteredReport>" + RESPONSE + "<oadr:oadrReportRequest><ei:reportRequestID>rr</ei:reportRequestID>"
        "<ei:reportSpecifier><ei:reportSpecifierID>s</ei:reportSpecifierID><xcal:granularity><xcal:duration>PT1M"
        "</xcal:duration></xcal:granularity><ei:reportBackDuration><xcal:duration>PT1M</xcal:duration>"
        "</ei:reportBackDuration><ei:specifierPayload><ei:rID>x</ei:rID><power:voltage>"
        "<power:itemDescription>Voltage</power:itemDescription><power:itemUnits>kV</power:itemUnits>"
        "<scale:siScaleCode>none</scale:siScaleCode></power:voltage><ei:readingType>Direct Read</ei:readingType>"
        "</ei:specifierPayload></ei:reportSpecifier></oadr:oadrReportRequest></oadr:oadrRegisteredReport>",
        "/power:voltage/power:itemUnits",
    ),
]


@pytest.mark.parametrize(("inner", "path_end"), [(d, p) for _, d, p in BAD_DOCUMENTS],
                         ids=[c[0] for c in BAD_DOCUMENTS])
def test_invalid_document_raises_invalid_message_error_naming_the_element(inner: str, path_end: str) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        decode_xml(envelope(inner))
    assert caught.value.errors, "the error names no field"
    assert caught.value.errors[0].path.endswith(path_end), caught.value.errors


def test_invalid_json_names_the_element() -> None:
    with pytest.raises(InvalidMessageError) as caught:
        decode_json(b'{"oadr:oadrCreatedOpt": {"ei:optID": "o"}}')
    assert caught.value.errors[0].path.endswith("/oadr:oadrCreatedOpt/ei:eiResponse")


def test_missing_required_field_at_construction_is_refused() -> None:
    with pytest.raises(InvalidModelError, match="ven_id"):
        OadrPoll()  # type: ignore[call-arg]


def test_positional_construction_is_refused() -> None:
    with pytest.raises(TypeError):
        OadrPoll("ven-1")  # type: ignore[call-arg]


def test_wrong_enum_value_at_construction_is_refused() -> None:
    with pytest.raises(InvalidModelError, match="signal_type"):
        EventSignal(
            intervals=(Interval(payloads=(SignalPayload(payload=PayloadFloat(value=1)),)),),
            signal_name="SIMPLE",
            signal_type="bogus",
            signal_id="s",
        )


@pytest.mark.parametrize("name", ["SIMPLE", "simple", "ELECTRICITY_PRICE", "x-myUtilitySignal", SignalName.BID_LOAD])
def test_signal_name_takes_enumerated_values_and_extension_tokens(name: str) -> None:
    signal = EventSignal(
        intervals=(Interval(payloads=(SignalPayload(payload=PayloadFloat(value=1)),)),),
        signal_name=name,
        signal_type=SignalType.LEVEL,
        signal_id="s",
    )
    assert signal.signal_name == (name.value if isinstance(name, SignalName) else name)


@pytest.mark.parametrize("name", ["Simple", "x-", "PRICE", ""])
def test_signal_name_refuses_other_tokens(name: str) -> None:
    with pytest.raises(InvalidModelError, match="signal_name"):
        EventSignal(
            intervals=(Interval(payloads=(SignalPayload(payload=PayloadFloat(value=1)),)),),
            signal_name=name,
            signal_type=SignalType.LEVEL,
            signal_id="s",
        )


def test_event_signal_needs_at_least_one_interval() -> None:
    with pytest.raises(InvalidModelError, match="intervals"):
        EventSignal(intervals=(), signal_name="SIMPLE", signal_type=SignalType.LEVEL, signal_id="s")


def test_response_code_must_have_three_digits() -> None:
    with pytest.raises(InvalidModelError, match="response_code"):
        EiResponse(response_code=20, request_id="r")
    with pytest.raises(InvalidModelError, match="response_code"):
        EiResponse(response_code=1000, request_id="r")


def test_date_times_are_normalised_to_utc() -> None:
    local = datetime(2026, 7, 14, 18, 0, tzinfo=timezone(timedelta(hours=2)))
    report = Report(report_request_id="0", report_specifier_id="s", created_date_time=local)
    assert report.created_date_time == datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
    assert report.created_date_time.utcoffset() == timedelta(0)
    assert b"<ei:createdDateTime>2026-07-14T16:00:00Z</ei:createdDateTime>" in encode_xml(
        OadrRegisterReport(request_id="r", reports=(report,))
    )


def test_naive_date_times_are_refused() -> None:
    with pytest.raises(InvalidModelError, match="created_date_time"):
        Report(report_request_id="0", report_specifier_id="s", created_date_time=datetime(2026, 7, 14))


def test_durations_must_be_whole_seconds() -> None:
    with pytest.raises(InvalidModelError, match="whole seconds"):
        Interval(duration=timedelta(seconds=1.5), payloads=(SignalPayload(payload=PayloadFloat(value=1)),))


def test_currency_needs_an_iso_4217_code() -> None:
    assert Currency(item_units="EUR").item_units == "EUR"
    with pytest.raises(InvalidModelError, match="ISO 4217"):
        Currency(item_units="XYZ")


def test_report_request_list_may_not_be_empty() -> None:
    with pytest.raises(InvalidModelError, match="report_requests"):
        OadrCreateReport(request_id="r", report_requests=())


def test_cancel_report_needs_a_report_request_id() -> None:
    with pytest.raises(InvalidModelError, match="report_request_ids"):
        OadrCancelReport(request_id="r", report_request_ids=())


def test_created_party_registration_needs_a_profile() -> None:
    with pytest.raises(InvalidModelError, match="profiles"):
        OadrCreatedPartyRegistration(response=EiResponse(response_code=200, request_id="r"), vtn_id="v", profiles=())


def test_confidence_is_a_percentage() -> None:
    with pytest.raises(InvalidModelError, match="confidence"):
        ReportPayload(r_id="x", confidence=101, payload=PayloadFloat(value=1))


def test_floats_must_be_finite() -> None:
    with pytest.raises(InvalidModelError):
        PayloadFloat(value=float("nan"))


def test_replace_revalidates() -> None:
    poll = examples()[-3]
    assert isinstance(poll, OadrPoll)
    assert poll.replace(ven_id="other").ven_id == "other"
    with pytest.raises(InvalidModelError):
        poll.replace(schema_version="3.0")
