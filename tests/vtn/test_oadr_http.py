"""Hostile and odd input over HTTP against a real ``transactive vtn serve`` (its OpenADR 2.0b role and the
operator's API): each refusal has its HTTP status and its EI code, every XML answer passes the 2.0b schema, and no
request gets a 500 (:func:`~tests.vtn.oadr_probe.http` fails the test on one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.vtn.conftest import ROOT, VtnProcess, start_vtn
from tests.vtn.oadr_probe import BASE, Answer, Probe, code_of, example, http, is_nothing, schema_valid
from transactive.codec import decode_xml, encode_xml
from transactive.ei.cts.examples import examples as cts_examples
from transactive.ei.oadr import (
    OadrCreatedEvent,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrPoll,
    OadrResponse,
    OadrUpdatedReport,
    OadrUpdateReport,
)
from transactive.model import Model

CORPUS = ROOT / "tests" / "codec" / "corpus"


@pytest.fixture(scope="module")
def vtn(tmp_path_factory: pytest.TempPathFactory, vtn_module_store: str | None) -> Iterator[VtnProcess]:
    process = start_vtn(tmp_path_factory.mktemp("oadr-http") / "vtn", "--oadr-poll-seconds", "1",
                        store=vtn_module_store)
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
def token(vtn: VtnProcess) -> str:
    return (Path(vtn.log).parent / "vtn" / "operator.token").read_text().strip()


@pytest.fixture
def probe(vtn: VtnProcess) -> Probe:
    return Probe(vtn.url)


def _refused(answer: Answer, status: int) -> Model:
    """The 2.0b document of a refusal after checking its HTTP status, content type and schema."""
    assert answer.status == status, (answer.status, answer.body[:600])
    assert answer.content_type == "application/xml"
    schema_valid(answer.body)
    reply: Model = decode_xml(answer.body)
    return reply


def _registered(probe: Probe, name: str) -> Probe:
    probe.register(name)
    return probe


def _operator(vtn: VtnProcess, path: str, *, token: str | None, method: str = "GET",
              body: bytes | None = None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http(f"{vtn.url}/operator/openadr{path}", body, method=method, headers=headers)


def _problem(answer: Answer, status: int, code: int) -> dict[str, Any]:
    assert answer.status == status, (answer.status, answer.body[:600])
    assert answer.content_type == "application/json"
    problem: dict[str, Any] = answer.json()
    assert set(problem) == {"error", "code", "field"}
    assert problem["code"] == code, problem
    return problem


# ---- documents that do not decode ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"<oadr:oadrPayload xmlns:oadr=", b"", b"\x00\xff not xml", b'{"oadrPoll": {}}'],
                         ids=["truncated", "empty", "binary", "json"])
def test_a_document_that_is_not_well_formed_xml_is_400_with_an_oadr_response_carrying_a_4xx_code(
        probe: Probe, body: bytes) -> None:
    reply = _refused(probe.post("OadrPoll", body), 400)
    assert isinstance(reply, OadrResponse)
    assert 400 <= code_of(reply) < 500


@pytest.mark.parametrize("name", ["malformed__billion_laughs.xml", "malformed__xxe_etc_passwd.xml",
                                  "malformed__external_dtd.xml", "malformed__parameter_entity.xml"])
def test_a_document_with_a_dtd_or_entities_is_400_and_nothing_is_expanded(probe: Probe, name: str) -> None:
    answer = probe.post("EiRegisterParty", (CORPUS / name).read_bytes())
    reply = _refused(answer, 400)
    assert 400 <= code_of(reply) < 500
    assert b"root:" not in answer.body  # /etc/passwd was not read into the answer


def test_a_cts_document_posted_to_the_openadr_path_is_refused_with_an_ei_code(probe: Probe) -> None:
    for message in cts_examples()[:5]:
        answer = probe.post("EiEvent", encode_xml(message))
        assert answer.status in (200, 400), answer.status
        reply = _refused(answer, answer.status)
        assert 400 <= code_of(reply) < 500, type(message).__name__


def test_a_body_over_the_limit_is_413_with_an_oadr_response(probe: Probe) -> None:
    reply = _refused(probe.post("OadrPoll", b"<a>" + b"x" * (5 * 1024 * 1024) + b"</a>"), 413)
    assert code_of(reply) == 413


def test_an_unsigned_message_that_mentions_the_xml_signature_namespace_is_not_taken_for_a_signed_one(
        probe: Probe) -> None:
    # this VTN does not require signatures: the text of a field is not a signature to check (it was 463 once)
    name = "Signature of http://www.w3.org/2000/09/xmldsig#"
    reply = probe.send("EiRegisterParty", OadrCreatePartyRegistration(request_id="reg-ds", ven_name=name,
                                                                     http_pull_model=True))
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert code_of(reply) == 200


# ---- messages in the wrong place ---------------------------------------------------------------------


def test_a_message_posted_to_another_service_is_451(probe: Probe) -> None:
    _registered(probe, "wrong-service")
    assert probe.ven_id is not None
    reply = probe.send("EiEvent", OadrPoll(ven_id=probe.ven_id))
    assert code_of(reply) == 451


def test_a_message_only_a_vtn_sends_posted_by_a_ven_is_451(probe: Probe) -> None:
    reply = probe.send("EiEvent", example(OadrDistributeEvent))
    assert code_of(reply) == 451


def test_a_poll_with_an_unknown_ven_id_is_463(probe: Probe) -> None:
    reply = probe.send("OadrPoll", OadrPoll(ven_id="ven-never-registered"))
    assert isinstance(reply, OadrResponse)
    assert code_of(reply) == 463


def test_an_unknown_service_path_is_404(probe: Probe) -> None:
    reply = _refused(probe.post("EiNothing", encode_xml(OadrPoll(ven_id="x"))), 404)
    assert code_of(reply) == 404


def test_a_get_on_a_service_is_405(vtn: VtnProcess) -> None:
    reply = _refused(http(f"{vtn.url}{BASE}/OadrPoll", method="GET"), 405)
    assert code_of(reply) == 405


# ---- registration ------------------------------------------------------------------------------------


def test_registering_a_name_that_is_taken_is_463_naming_oadr_ven_name(probe: Probe, vtn: VtnProcess) -> None:
    _registered(probe, "taken")
    reply = Probe(vtn.url).send("EiRegisterParty", OadrCreatePartyRegistration(
        request_id="r-taken-2", ven_name="taken", http_pull_model=True))
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert code_of(reply) == 463
    assert "oadrVenName" in (reply.response.response_description or "")
    assert reply.ven_id is None


def test_registering_again_with_the_registration_id_keeps_the_ven_id(probe: Probe) -> None:
    first = _registered(probe, "comes-back").ven_id
    again = probe.send("EiRegisterParty", OadrCreatePartyRegistration(
        request_id="r-again", registration_id=probe.registration_id, ven_name="comes-back", http_pull_model=True))
    assert isinstance(again, OadrCreatedPartyRegistration)
    assert code_of(again) == 200
    assert (again.ven_id, again.registration_id) == (first, probe.registration_id)
    # and it still polls as itself
    assert probe.poll_until(OadrResponse).ven_id == first


def test_a_retried_registration_with_the_same_request_id_gets_the_same_ven_id(probe: Probe) -> None:
    message = OadrCreatePartyRegistration(request_id="r-retried", ven_name="retried", http_pull_model=True)
    first = probe.send("EiRegisterParty", message)
    again = probe.send("EiRegisterParty", message)
    assert isinstance(first, OadrCreatedPartyRegistration)
    assert isinstance(again, OadrCreatedPartyRegistration)
    assert (code_of(first), code_of(again)) == (200, 200)
    assert again.ven_id == first.ven_id
    other = probe.send("EiRegisterParty", message.model_copy(update={"report_only": True}))
    assert code_of(other) == 409


def test_a_ven_name_longer_than_256_characters_is_refused(probe: Probe) -> None:
    reply = probe.send("EiRegisterParty", OadrCreatePartyRegistration(
        request_id="r-long", ven_name="v" * 300, http_pull_model=True))
    assert 400 <= code_of(reply) < 500


def test_an_answer_to_an_event_the_ven_was_never_sent_is_452(probe: Probe) -> None:
    _registered(probe, "answers")
    answer = example(OadrCreatedEvent, ven_id=probe.ven_id)
    reply = probe.send("EiEvent", answer)
    assert code_of(reply) == 452


# ---- reports -----------------------------------------------------------------------------------------


def test_a_report_for_a_request_the_vtn_never_made_is_452(probe: Probe) -> None:
    _registered(probe, "reporter")
    update = example(OadrUpdateReport, ven_id=probe.ven_id)  # its reportRequestIDs were never asked for
    reply = probe.send("EiReport", update)
    assert isinstance(reply, OadrUpdatedReport)
    assert code_of(reply) == 452
    assert "reportRequestID" in (reply.response.response_description or "")


# ---- the operator's API ------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [None, "wrong-token"], ids=["none", "wrong"])
def test_the_operator_api_without_the_token_is_401_with_code_463(vtn: VtnProcess, given: str | None) -> None:
    for method, path in (("GET", "/events"), ("POST", "/events"), ("GET", "/vens")):
        _problem(_operator(vtn, path, token=given, method=method, body=b"{}" if method == "POST" else None),
                 401, 463)


@pytest.mark.parametrize("action", ["modify", "cancel"])
def test_an_unknown_event_id_is_404_with_code_452(vtn: VtnProcess, token: str, action: str) -> None:
    problem = _problem(_operator(vtn, f"/events/evt-nothing/{action}", token=token, method="POST",
                                 body=b'{"intervals": [{"duration": "PT5M", "value": 1}]}'), 404, 452)
    assert problem["field"] == "event_id"


def test_cancelling_a_cancelled_event_is_409_with_code_450(vtn: VtnProcess, token: str) -> None:
    created = _operator(vtn, "/events", token=token, method="POST",
                        body=b'{"signal_name": "SIMPLE", "start": "now+PT1H", '
                             b'"intervals": [{"duration": "PT5M", "value": 1}]}')
    assert created.status == 201, created.body
    event_id = created.json()["event_id"]
    first = _operator(vtn, f"/events/{event_id}/cancel", token=token, method="POST", body=b"{}")
    assert first.status == 200
    assert first.json()["status"] == "cancelled"
    _problem(_operator(vtn, f"/events/{event_id}/cancel", token=token, method="POST", body=b"{}"), 409, 450)
    _problem(_operator(vtn, f"/events/{event_id}/modify", token=token, method="POST",
                       body=b'{"intervals": [{"duration": "PT5M", "value": 2}]}'), 409, 450)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"signal_name": "SIMPLE"}',
                                  b'{"signal_name": "NOPE", "start": "now", "intervals": [{"duration": "PT5M", '
                                  b'"value": 1}]}',
                                  b'{"signal_name": "SIMPLE", "start": "yesterday", "intervals": []}',
                                  b'{"signal_name": "SIMPLE", "start": "now", "intervals": [{"duration": "PT5M", '
                                  b'"value": "NaN"}]}',
                                  b'{"signal_name": "SIMPLE", "start": "now", "vens": ["nobody"], '
                                  b'"intervals": [{"duration": "PT5M", "value": 1}]}'],
                         ids=["not-json", "not-an-object", "missing-keys", "unknown-signal", "bad-start", "nan",
                              "unknown-ven"])
def test_an_event_the_operator_api_cannot_make_is_a_4xx_naming_the_field(vtn: VtnProcess, token: str,
                                                                         body: bytes) -> None:
    answer = _operator(vtn, "/events", token=token, method="POST", body=body)
    assert answer.status in (400, 404), (answer.status, answer.body)
    assert answer.content_type == "application/json"
    assert 400 <= answer.json()["code"] < 500


def test_an_operator_resource_that_does_not_exist_is_404_json(vtn: VtnProcess, token: str) -> None:
    for method, path in (("DELETE", "/events"), ("GET", "/nothing"), ("POST", "/vens/nobody/cancel")):
        answer = _operator(vtn, path, token=token, method=method, body=b"{}" if method == "POST" else None)
        assert answer.status == 404, (method, path, answer.status)
        assert answer.content_type == "application/json"


def test_after_all_that_the_vtn_still_serves_a_ven(probe: Probe, vtn: VtnProcess) -> None:
    _registered(probe, "after-all")
    assert is_nothing(probe.poll_until(OadrResponse))
    health = http(f"{vtn.url}/health", method="GET")
    assert health.status == 200


def test_the_openapi_document_has_the_openadr_services_and_the_operator_api_as_served(
        vtn: VtnProcess, token: str, probe: Probe) -> None:
    """``GET /openapi.json`` of ``vtn serve`` is valid OpenAPI 3.1, lists the 2.0b services and the operator's
    resources, and what the operator API answers fits the schemas it documents."""
    import jsonschema
    from openapi_spec_validator import validate

    doc = http(f"{vtn.url}/openapi.json", method="GET").json()
    validate(doc)
    assert {f"{BASE}/{{service}}", "/operator/openadr/events", "/operator/openadr/events/{event_id}/modify",
            "/operator/openadr/events/{event_id}/cancel", "/operator/openadr/vens",
            "/operator/openadr/vens/{name}/{action}"} <= set(doc["paths"])

    def fits(instance: Any, name: str) -> None:
        jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}", "components": doc["components"]})

    _registered(probe, "ven-openapi")
    body = b'{"signal_name": "SIMPLE", "start": "now+PT1H", "intervals": [{"duration": "PT10M", "value": 1}]}'
    created = _operator(vtn, "/events", token=token, method="POST", body=body)
    assert created.status == 201
    fits(created.json(), "EventSummary")
    listed = _operator(vtn, "/events", token=token).json()
    for event in listed:
        fits(event, "Event")
    for ven in _operator(vtn, "/vens", token=token).json():
        fits(ven, "Ven")
    fits(_operator(vtn, "/events/evt-nope/cancel", token=token, method="POST", body=b"{}").json(), "OperatorError")
