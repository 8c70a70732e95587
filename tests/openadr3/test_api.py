"""The OpenADR 3.1 API on a real VTN: every object's round trip, what the VTN writes, paging and filters,
privacy, scopes, and every refusal naming its field; each request and reply checked against the specification."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.openadr3.conftest import ID, Client, Oa3Vtn
from transactive.schemas.openadr3 import validate_body

PROGRAM = {"programName": "summer-peak", "programLongName": "Summer peak pricing", "targets": ["zone-a"]}


async def _program(oa3: Oa3Vtn, bl: Client, name: str = "summer-peak", targets: list[str] | None = None,
                   ) -> dict[str, Any]:
    status, program = await oa3.call("POST", "/programs", bl, {"programName": name, "targets": targets})
    assert status == 201, program
    return dict(program)


def _event(program_id: str, targets: list[str] | None = None, start: str = "2026-12-05T12:00:00Z") -> dict[str, Any]:
    return {"programID": program_id, "eventName": "price", "targets": targets,
            "intervalPeriod": {"start": start, "duration": "PT15M"},
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.21]}]}]}


async def test_a_program_round_trip_with_what_the_vtn_writes(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    status, program = await oa3.call("POST", "/programs", bl, {**PROGRAM, "id": "mine", "objectType": "EVENT"})
    assert status == 201
    assert ID.match(program["id"])
    assert program["id"] != "mine"
    assert program["objectType"] == "PROGRAM"
    assert program["createdDateTime"] == program["modificationDateTime"]
    assert program["programName"] == "summer-peak"
    status, read = await oa3.call("GET", f"/programs/{program['id']}", bl)
    assert (status, read) == (200, program)
    status, updated = await oa3.call("PUT", f"/programs/{program['id']}", bl, {**PROGRAM, "programLongName": "new"})
    assert status == 200
    assert updated["programLongName"] == "new"
    assert updated["createdDateTime"] == program["createdDateTime"]
    assert updated["modificationDateTime"] >= program["modificationDateTime"]
    status, deleted = await oa3.call("DELETE", f"/programs/{program['id']}", bl)
    assert (status, deleted["id"]) == (200, program["id"])
    status, problem = await oa3.call("GET", f"/programs/{program['id']}", bl)
    assert status == 404
    assert problem["field"] == "id"
    assert problem["status"] == 404


async def test_a_second_program_of_the_same_name_is_a_conflict(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    await _program(oa3, bl)
    status, problem = await oa3.call("POST", "/programs", bl, {"programName": "summer-peak"})
    assert status == 409
    assert problem["field"] == "programName"
    assert problem["responseCode"] == 409


async def test_events_need_an_existing_program_and_go_with_it(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    status, problem = await oa3.call("POST", "/events", bl, _event("nope"))
    assert status == 400
    assert problem["field"] == "programID"
    assert problem["responseCode"] == 454
    program = await _program(oa3, bl)
    status, event = await oa3.call("POST", "/events", bl, _event(program["id"]))
    assert status == 201
    assert event["objectType"] == "EVENT"
    assert (await oa3.call("DELETE", f"/programs/{program['id']}", bl))[0] == 200
    assert (await oa3.call("GET", f"/events/{event['id']}", bl))[0] == 404  # the program's events went with it


async def test_an_invalid_body_is_refused_naming_the_field(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    program = await _program(oa3, bl)
    bad = _event(program["id"])
    bad["intervals"][0]["payloads"][0]["values"] = "cheap"
    status, problem = await oa3.call("POST", "/events", bl, bad, check=False)
    assert status == 400
    assert problem["field"] == "$.intervals[0].payloads[0].values"
    assert problem["responseCode"] == 454
    status, problem = await oa3.call("POST", "/programs", bl, {"programLongName": "no name"}, check=False)
    assert status == 400
    assert "programName" in problem["detail"]
    async with oa3.session.post(f"{oa3.base}/programs", data=b"{not json", headers={
            "Authorization": f"Bearer {bl.token}", "Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert (await response.json())["field"] == "$"
    async with oa3.session.post(f"{oa3.base}/programs", data=b"<x/>", headers={
            "Authorization": f"Bearer {bl.token}", "Content-Type": "application/xml"}) as response:
        assert response.status == 415


async def test_explicit_nulls_for_optional_fields_are_taken_as_absent(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    status, program = await oa3.call("POST", "/programs", bl, {
        "programName": "nulls", "intervalPeriod": None, "programDescriptions": None, "targets": None})
    assert status == 201
    assert "intervalPeriod" not in program


async def test_paging_and_filters(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    one = await _program(oa3, bl, "one", ["zone-a"])
    two = await _program(oa3, bl, "two", ["zone-b"])
    for n in range(7):
        await oa3.call("POST", "/events", bl, _event(one["id"] if n % 2 else two["id"]))
    status, first = await oa3.call("GET", "/events", bl, params={"limit": "3"})
    status, rest = await oa3.call("GET", "/events", bl, params={"skip": "3", "limit": "50"})
    assert status == 200
    assert len(first) == 3
    assert len(rest) == 4
    ids = [e["id"] for e in first + rest]
    assert ids == sorted(ids)
    assert len(set(ids)) == 7
    _, of_one = await oa3.call("GET", "/events", bl, params={"programID": one["id"]})
    assert len(of_one) == 3
    assert {e["programID"] for e in of_one} == {one["id"]}
    _, zone_b = await oa3.call("GET", "/programs", bl, params=[("targets", "zone-b"), ("targets", "zone-x")])
    assert [p["id"] for p in zone_b] == [two["id"]]
    status, problem = await oa3.call("GET", "/events", bl, params={"limit": "51"}, check=False)
    assert status == 400
    assert problem["field"] == "limit"
    status, problem = await oa3.call("GET", "/events", bl, params={"colour": "red"}, check=False)
    assert status == 400
    assert problem["field"] == "colour"


async def test_active_leaves_out_events_that_are_over(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    program = await _program(oa3, bl)
    _, past = await oa3.call("POST", "/events", bl, _event(program["id"], start="2020-01-01T00:00:00Z"))
    _, future = await oa3.call("POST", "/events", bl, _event(program["id"], start="2099-01-01T00:00:00Z"))
    _, active = await oa3.call("GET", "/events", bl, params={"active": "true"})
    assert [e["id"] for e in active] == [future["id"]]
    _, every = await oa3.call("GET", "/events", bl, params={"active": "false"})
    assert {e["id"] for e in every} == {past["id"], future["id"]}


async def test_a_ven_sees_only_what_is_targeted_at_it_and_what_it_owns(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    ven_a = await oa3.make_client("ven", "house-a")
    ven_b = await oa3.make_client("ven", "house-b")
    status, house_a = await oa3.call("POST", "/vens", bl, {"objectType": "BL_VEN_REQUEST", "clientID": ven_a.client_id,
                                                           "venName": "house-a", "targets": ["zone-a"]})
    assert status == 201
    assert house_a["objectType"] == "VEN"
    status, house_b = await oa3.call("POST", "/vens", ven_b, {"objectType": "VEN_VEN_REQUEST", "venName": "house-b"})
    assert status == 201
    assert house_b["clientID"] == ven_b.client_id
    program = await _program(oa3, bl, "open")
    _, for_a = await oa3.call("POST", "/events", bl, _event(program["id"], ["zone-a"]))
    _, for_all = await oa3.call("POST", "/events", bl, _event(program["id"]))
    _, seen_a = await oa3.call("GET", "/events", ven_a)
    _, seen_b = await oa3.call("GET", "/events", ven_b)
    assert {e["id"] for e in seen_a} == {for_a["id"], for_all["id"]}
    assert {e["id"] for e in seen_b} == {for_all["id"]}
    assert (await oa3.call("GET", f"/events/{for_a['id']}", ven_b))[0] == 404
    _, vens_b = await oa3.call("GET", "/vens", ven_b)
    assert [v["id"] for v in vens_b] == [house_b["id"]]
    assert (await oa3.call("GET", f"/vens/{house_a['id']}", ven_b))[0] == 404
    # a resource of B with zone-c; reports are each VEN's own
    status, resource = await oa3.call("POST", "/resources", ven_b, {
        "objectType": "VEN_RESOURCE_REQUEST", "resourceName": "meter", "venID": house_b["id"]})
    assert status == 201
    assert resource["clientID"] == ven_b.client_id
    status, problem = await oa3.call("POST", "/resources", ven_b, {
        "objectType": "VEN_RESOURCE_REQUEST", "resourceName": "meter", "venID": house_a["id"]})
    assert status == 400
    assert problem["field"] == "venID"
    report = {"eventID": for_all["id"], "clientName": "house-b", "resources": [
        {"resourceName": "meter", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}]}]}
    status, made = await oa3.call("POST", "/reports", ven_b, report)
    assert status == 201
    assert made["clientID"] == ven_b.client_id
    assert (await oa3.call("GET", "/reports", ven_a))[1] == []
    assert [r["id"] for r in (await oa3.call("GET", "/reports", bl))[1]] == [made["id"]]
    status, problem = await oa3.call("POST", "/reports", ven_b, {**report, "eventID": for_a["id"]})
    assert status == 400
    assert problem["field"] == "eventID"


async def test_scopes_and_tokens(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    ven = await oa3.make_client("ven", "house")
    status, problem = await oa3.call("POST", "/programs", ven, {"programName": "mine"})
    assert status == 403
    assert "write_programs" in problem["detail"]
    status, problem = await oa3.call("POST", "/reports", bl, {"eventID": "x", "clientName": "bl", "resources": []})
    assert status == 403
    assert "write_reports" in problem["detail"]
    status, problem = await oa3.call("GET", "/programs", None)
    assert status == 401
    assert problem["field"] == "Authorization"
    forged = Client(bl.client_id, bl.secret, bl.token[:-4] + "AAAA", "bl")
    assert (await oa3.call("GET", "/programs", forged))[0] == 401
    async with oa3.session.delete(f"{oa3.url}/operator/openadr3/clients/{bl.client_id}",
                                  headers={"Authorization": f"Bearer {oa3.operator_token}"}) as response:
        assert response.status == 200
        assert (await response.json())["revoked"] is not None
    status, problem = await oa3.call("GET", "/programs", bl)
    assert status == 401
    assert "revoked" in problem["detail"]


async def test_the_token_endpoint_takes_basic_or_form_and_answers_rfc_6749_errors(oa3: Oa3Vtn) -> None:
    ven = await oa3.make_client("ven", "house")
    url = f"{oa3.base}/auth/token"
    basic = base64.b64encode(f"{ven.client_id}:{ven.secret}".encode()).decode()
    async with oa3.session.post(url, data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {basic}"}) as response:
        body = await response.json()
        assert response.status == 200
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] > 0
        assert set(body["scope"].split()) == {"read_targets", "read_ven_objects", "write_reports",
                                              "write_subscriptions", "write_vens"}
    cases = [({"grant_type": "client_credentials", "client_id": ven.client_id, "client_secret": "wrong"},
              401, "invalid_client"),
             ({"grant_type": "password", "client_id": ven.client_id, "client_secret": ven.secret},
              400, "unsupported_grant_type"),
             ({"client_id": ven.client_id, "client_secret": ven.secret}, 400, "invalid_request"),
             ({"grant_type": "client_credentials", "client_id": ven.client_id, "client_secret": ven.secret,
               "scope": "write_programs"}, 400, "invalid_scope")]
    for form, status, error in cases:
        async with oa3.session.post(url, data=form) as response:
            body = await response.json()
            assert (response.status, body["error"]) == (status, error), form
    async with oa3.session.get(f"{oa3.base}/auth/server") as response:
        assert (await response.json())["tokenURL"] == url


async def test_an_objecttype_no_schema_has_is_refused_naming_it_never_a_server_error(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    for value in (["x"], {"a": 1}, 1, "program"):
        body = {"programName": "p", "payloadDescriptors": [{"objectType": value, "payloadType": "PRICE"}]}
        status, problem = await oa3.call("POST", "/programs", bl, body, check=False)
        assert status == 400, (value, problem)
        assert problem["field"] == "$.payloadDescriptors[0].objectType"


async def test_a_taken_ven_name_is_refused_with_the_status_each_operation_lists(oa3: Oa3Vtn) -> None:
    one = await oa3.make_client("ven", "one")
    two = await oa3.make_client("ven", "two")
    _, first = await oa3.call("POST", "/vens", one, {"objectType": "VEN_VEN_REQUEST", "venName": "VEN-999"})
    status, problem = await oa3.call("POST", "/vens", two, {"objectType": "VEN_VEN_REQUEST", "venName": "VEN-999"})
    assert status == 400  # POST /vens lists no 409
    assert problem["field"] == "venName"
    assert problem["responseCode"] == 409
    _, second = await oa3.call("POST", "/vens", two, {"objectType": "VEN_VEN_REQUEST", "venName": "VEN-2"})
    status, problem = await oa3.call("PUT", f"/vens/{second['id']}", two,
                                     {"objectType": "VEN_VEN_REQUEST", "venName": "VEN-999"})
    assert status == 409  # PUT /vens/{venID} does
    assert first["venName"] == "VEN-999"


async def test_an_unexpected_failure_is_a_500_problem_and_the_vtn_goes_on(oa3: Oa3Vtn,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bl = await oa3.make_client("bl", "utility")
    assert oa3.app.openadr3 is not None
    service = oa3.app.openadr3.service

    def broken(*args: object) -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "search_json", broken)
    status, problem = await oa3.call("GET", "/programs", bl)
    assert status == 500
    assert problem["detail"] == "internal error (logged by the VTN)"
    assert problem["instance"].startswith("http://127.0.0.1:")
    monkeypatch.undo()
    assert (await oa3.call("GET", "/programs", bl))[0] == 200


async def test_a_problems_instance_is_a_uri_even_for_an_id_that_needs_escaping(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    async with oa3.session.get(f"{oa3.base}/programs/%C3%A9", headers={"Authorization": f"Bearer {bl.token}"}) as r:
        problem = await r.json()
    assert r.status == 404
    assert problem["instance"].endswith("/openadr3/3.1.0/programs/%C3%A9")
    assert validate_body("problem", problem) == []


async def test_the_vtn_serves_the_repaired_document_and_documents_its_operator_api(oa3: Oa3Vtn) -> None:
    import jsonschema
    from openapi_spec_validator import validate

    async with oa3.session.get(f"{oa3.base}/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    validate(document)  # the document as released is refused (erratum OA3-E1); this one is whole
    assert document["servers"] == [{"url": oa3.base, "description": "this VTN"}]
    assert document["info"]["title"] == "OpenADR 3 API"  # (its info.version says 1.0.0, not 3.1.0)
    async with oa3.session.get(f"{oa3.url}/openapi.json") as response:
        own = await response.json()
    validate(own)
    assert {"/openadr3/3.1.0/openapi.json", "/operator/openadr3/clients", "/operator/openadr3/clients/{client_id}",
            "/operator/openadr3/deliveries"} <= set(own["paths"])

    def fits(instance: object, name: str) -> None:
        jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}", "components": own["components"]})

    headers = {"Authorization": f"Bearer {oa3.operator_token}"}
    async with oa3.session.post(f"{oa3.url}/operator/openadr3/clients", json={"role": "ven", "name": "h"},
                                headers=headers) as response:
        made = await response.json()
    fits(made, "Oa3NewClient")
    async with oa3.session.get(f"{oa3.url}/operator/openadr3/clients", headers=headers) as response:
        for client in (await response.json())["clients"]:
            fits(client, "Oa3Client")
    async with oa3.session.delete(f"{oa3.url}/operator/openadr3/clients/nobody", headers=headers) as response:
        assert response.status == 404
        fits(await response.json(), "Oa3Problem")
    async with oa3.session.post(f"{oa3.url}/operator/openadr3/clients", json={"role": "admin", "name": "x"},
                                headers=headers) as response:
        assert response.status == 400
        problem = await response.json()
    fits(problem, "Oa3Problem")
    assert problem["field"] == "role"
