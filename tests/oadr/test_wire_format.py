"""The XML each message produces, element for element, against hand-written expectations (from the
OpenADR 2.0b schema's element order), and hand-written documents decoding into the expected models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree

from tests.oadr.conftest import envelope, message_element, shape
from transactive.codec import decode_json, decode_xml, encode_json, encode_xml
from transactive.ei.oadr import (
    EiResponse,
    OadrCanceledReport,
    OadrCancelReport,
    OadrCreatedEvent,
    OadrCreatedPartyRegistration,
    OadrCreateOpt,
    OadrCreatePartyRegistration,
    OadrMessage,
    OadrPoll,
    OadrQueryRegistration,
    OadrRequestEvent,
    OadrResponse,
    OadrUpdateReport,
    OptReason,
    OptType,
    PayloadFloat,
    PayloadResourceStatus,
    PendingReports,
    Profile,
    ProfileName,
    RealPower,
    Report,
    ReportInterval,
    ReportPayload,
    SiScaleCode,
    Target,
    Transport,
    TransportName,
)
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.items import PowerAttributes
from transactive.schemas import validate

T0 = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)

CASES: list[tuple[str, OadrMessage, str]] = [
    (
        "poll",
        OadrPoll(ven_id="ven-1"),
        '<oadr:oadrPoll ei:schemaVersion="2.0b"><ei:venID>ven-1</ei:venID></oadr:oadrPoll>',
    ),
    (
        "query-registration",
        OadrQueryRegistration(request_id="r-1"),
        '<oadr:oadrQueryRegistration ei:schemaVersion="2.0b"><pyld:requestID>r-1</pyld:requestID>'
        "</oadr:oadrQueryRegistration>",
    ),
    (
        "response-without-ven",
        OadrResponse(response=EiResponse(response_code=200, response_description="OK", request_id="r-2")),
        '<oadr:oadrResponse ei:schemaVersion="2.0b"><ei:eiResponse><ei:responseCode>200</ei:responseCode>'
        "<ei:responseDescription>OK</ei:responseDescription><pyld:requestID>r-2</pyld:requestID></ei:eiResponse>"
        "</oadr:oadrResponse>",
    ),
    (
        "request-event-wraps-eiRequestEvent",
        OadrRequestEvent(request_id="r-3", ven_id="ven-1", reply_limit=2),
        '<oadr:oadrRequestEvent ei:schemaVersion="2.0b"><pyld:eiRequestEvent><pyld:requestID>r-3</pyld:requestID>'
        "<ei:venID>ven-1</ei:venID><pyld:replyLimit>2</pyld:replyLimit></pyld:eiRequestEvent>"
        "</oadr:oadrRequestEvent>",
    ),
    (
        "created-event-without-responses",
        OadrCreatedEvent(response=EiResponse(response_code=200, request_id="d-1"), ven_id="ven-1"),
        '<oadr:oadrCreatedEvent ei:schemaVersion="2.0b"><pyld:eiCreatedEvent><ei:eiResponse>'
        "<ei:responseCode>200</ei:responseCode><pyld:requestID>d-1</pyld:requestID></ei:eiResponse>"
        "<ei:venID>ven-1</ei:venID></pyld:eiCreatedEvent></oadr:oadrCreatedEvent>",
    ),
    (
        "create-party-registration-defaults",
        OadrCreatePartyRegistration(request_id="r-4", http_pull_model=True),
        '<oadr:oadrCreatePartyRegistration ei:schemaVersion="2.0b"><pyld:requestID>r-4</pyld:requestID>'
        "<oadr:oadrProfileName>2.0b</oadr:oadrProfileName><oadr:oadrTransportName>simpleHttp</oadr:oadrTransportName>"
        "<oadr:oadrReportOnly>false</oadr:oadrReportOnly><oadr:oadrXmlSignature>false</oadr:oadrXmlSignature>"
        "<oadr:oadrHttpPullModel>true</oadr:oadrHttpPullModel></oadr:oadrCreatePartyRegistration>",
    ),
    (
        "created-party-registration-profiles-and-poll-frequency",
        OadrCreatedPartyRegistration(
            response=EiResponse(response_code=200, request_id="r-4"),
            registration_id="reg-1",
            ven_id="ven-1",
            vtn_id="vtn-1",
            profiles=(
                Profile(
                    profile_name=ProfileName.V2_0B,
                    transports=(
                        Transport(transport_name=TransportName.SIMPLE_HTTP),
                        Transport(transport_name=TransportName.XMPP),
                    ),
                ),
            ),
            requested_poll_freq=timedelta(seconds=10),
        ),
        '<oadr:oadrCreatedPartyRegistration ei:schemaVersion="2.0b"><ei:eiResponse><ei:responseCode>200'
        "</ei:responseCode><pyld:requestID>r-4</pyld:requestID></ei:eiResponse>"
        "<ei:registrationID>reg-1</ei:registrationID><ei:venID>ven-1</ei:venID><ei:vtnID>vtn-1</ei:vtnID>"
        "<oadr:oadrProfiles><oadr:oadrProfile><oadr:oadrProfileName>2.0b</oadr:oadrProfileName><oadr:oadrTransports>"
        "<oadr:oadrTransport><oadr:oadrTransportName>simpleHttp</oadr:oadrTransportName></oadr:oadrTransport>"
        "<oadr:oadrTransport><oadr:oadrTransportName>xmpp</oadr:oadrTransportName></oadr:oadrTransport>"
        "</oadr:oadrTransports></oadr:oadrProfile></oadr:oadrProfiles>"
        "<oadr:oadrRequestedOadrPollFreq><xcal:duration>PT10S</xcal:duration></oadr:oadrRequestedOadrPollFreq>"
        "</oadr:oadrCreatedPartyRegistration>",
    ),
    (
        "canceled-report-keeps-empty-pending-reports",
        OadrCanceledReport(response=EiResponse(response_code=200, request_id="c-1"), pending_reports=PendingReports()),
        '<oadr:oadrCanceledReport ei:schemaVersion="2.0b"><ei:eiResponse><ei:responseCode>200</ei:responseCode>'
        "<pyld:requestID>c-1</pyld:requestID></ei:eiResponse><oadr:oadrPendingReports/></oadr:oadrCanceledReport>",
    ),
    (
        "cancel-report-repeats-request-ids",
        OadrCancelReport(request_id="c-2", report_request_ids=("rr-1", "rr-2"), report_to_follow=True),
        '<oadr:oadrCancelReport ei:schemaVersion="2.0b"><pyld:requestID>c-2</pyld:requestID>'
        "<ei:reportRequestID>rr-1</ei:reportRequestID><ei:reportRequestID>rr-2</ei:reportRequestID>"
        "<pyld:reportToFollow>true</pyld:reportToFollow></oadr:oadrCancelReport>",
    ),
    (
        "create-opt-vavailability",
        OadrCreateOpt(
            opt_id="o-1",
            opt_type=OptType.OPT_OUT,
            opt_reason=OptReason.X_SCHEDULE,
            ven_id="ven-1",
            available=(CalendarInterval(dtstart=T0, duration=timedelta(hours=2)),),
            created_date_time=T0,
            request_id="r-5",
        ),
        '<oadr:oadrCreateOpt ei:schemaVersion="2.0b"><ei:optID>o-1</ei:optID><ei:optType>optOut</ei:optType>'
        "<ei:optReason>x-schedule</ei:optReason><ei:venID>ven-1</ei:venID><xcal:vavailability><xcal:components>"
        "<xcal:available><xcal:properties><xcal:dtstart><xcal:date-time>2026-07-14T16:00:00Z</xcal:date-time>"
        "</xcal:dtstart><xcal:duration><xcal:duration>PT2H</xcal:duration></xcal:duration></xcal:properties>"
        "</xcal:available></xcal:components></xcal:vavailability>"
        "<ei:createdDateTime>2026-07-14T16:00:00Z</ei:createdDateTime><pyld:requestID>r-5</pyld:requestID>"
        "<ei:eiTarget/></oadr:oadrCreateOpt>",
    ),
    (
        "update-report-payloads",
        OadrUpdateReport(
            request_id="u-1",
            reports=(
                Report(
                    intervals=(
                        ReportInterval(
                            dtstart=T0,
                            duration=timedelta(minutes=15),
                            payloads=(
                                ReportPayload(r_id="p", confidence=90, payload=PayloadFloat(value=1.5)),
                                ReportPayload(
                                    r_id="s", payload=PayloadResourceStatus(online=True, manual_override=False)
                                ),
                            ),
                        ),
                    ),
                    report_request_id="rr-1",
                    report_specifier_id="spec-1",
                    created_date_time=T0,
                ),
            ),
        ),
        '<oadr:oadrUpdateReport ei:schemaVersion="2.0b"><pyld:requestID>u-1</pyld:requestID><oadr:oadrReport>'
        "<strm:intervals><ei:interval><xcal:dtstart><xcal:date-time>2026-07-14T16:00:00Z</xcal:date-time>"
        "</xcal:dtstart><xcal:duration><xcal:duration>PT15M</xcal:duration></xcal:duration>"
        "<oadr:oadrReportPayload><ei:rID>p</ei:rID><ei:confidence>90</ei:confidence><ei:payloadFloat>"
        "<ei:value>1.5</ei:value></ei:payloadFloat></oadr:oadrReportPayload><oadr:oadrReportPayload>"
        "<ei:rID>s</ei:rID><oadr:oadrPayloadResourceStatus><oadr:oadrOnline>true</oadr:oadrOnline>"
        "<oadr:oadrManualOverride>false</oadr:oadrManualOverride></oadr:oadrPayloadResourceStatus>"
        "</oadr:oadrReportPayload></ei:interval></strm:intervals><ei:reportRequestID>rr-1</ei:reportRequestID>"
        "<ei:reportSpecifierID>spec-1</ei:reportSpecifierID>"
        "<ei:createdDateTime>2026-07-14T16:00:00Z</ei:createdDateTime></oadr:oadrReport></oadr:oadrUpdateReport>",
    ),
]


@pytest.mark.parametrize(("msg", "expected"), [(m, x) for _, m, x in CASES], ids=[c[0] for c in CASES])
def test_encoding_matches_the_hand_written_element(msg: OadrMessage, expected: str) -> None:
    document = envelope(expected)
    assert validate(etree.fromstring(document)).valid
    assert shape(message_element(encode_xml(msg))) == shape(message_element(document))


@pytest.mark.parametrize(("msg", "expected"), [(m, x) for _, m, x in CASES], ids=[c[0] for c in CASES])
def test_hand_written_element_decodes_to_the_model(msg: OadrMessage, expected: str) -> None:
    assert decode_xml(envelope(expected)) == msg


def test_power_item_writes_its_fixed_description_and_units() -> None:
    attributes = PowerAttributes(hertz=Decimal(60), voltage=Decimal(230), ac=True)
    item = RealPower(si_scale_code=SiScaleCode.KILO, power_attributes=attributes)
    assert item.item_description == "RealPower"
    assert item.item_units == "W"
    assert item.power_attributes.hertz == 60


def test_decoding_tolerates_whitespace_and_comments_between_elements() -> None:
    doc = envelope(
        '<oadr:oadrPoll ei:schemaVersion="2.0b">\n  <!-- polling -->\n  <ei:venID>ven-1</ei:venID>\n</oadr:oadrPoll>'
    )
    assert decode_xml(doc) == OadrPoll(ven_id="ven-1")


def test_document_without_schema_version_decodes_with_the_2_0b_default() -> None:
    msg: OadrMessage = decode_xml(envelope("<oadr:oadrPoll><ei:venID>ven-1</ei:venID></oadr:oadrPoll>"))
    assert msg.schema_version == "2.0b"
    assert msg == OadrPoll(ven_id="ven-1")


def test_schema_version_none_leaves_the_attribute_out() -> None:
    element = message_element(encode_xml(OadrPoll(ven_id="ven-1", schema_version=None)))
    assert element.attrib == {}


def test_json_form_uses_prefixed_element_names() -> None:
    msg = OadrPoll(ven_id="ven-1")
    assert encode_json(msg) == b'{"oadr:oadrPoll":{"@ei:schemaVersion":"2.0b","ei:venID":"ven-1"}}'
    assert decode_json(b'{"oadr:oadrPoll": {"ei:venID": "ven-1"}}') == OadrPoll(ven_id="ven-1")


def test_target_power_interfaces_encode_in_schema_order() -> None:
    from transactive.ei.oadr import AssetRef, NodeRef

    target = Target(ven_ids=("v",), pnodes=(NodeRef(node="n1"),), meter_assets=(AssetRef(mrid="m1"),))
    msg = OadrCreateOpt(
        opt_id="o", opt_type=OptType.OPT_IN, opt_reason=OptReason.ECONOMIC, ven_id="v", created_date_time=T0,
        request_id="r", target=target,
    )
    element = message_element(encode_xml(msg))
    tgt = element.find("ei:eiTarget", {"ei": "http://docs.oasis-open.org/ns/energyinterop/201110"})
    assert [etree.QName(c).localname for c in tgt] == ["meterAsset", "pnode", "venID"]
    assert validate(etree.fromstring(encode_xml(msg))).valid
