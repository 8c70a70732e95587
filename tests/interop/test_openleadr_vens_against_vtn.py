"""openleadr 0.5.36 VENs, each in its own process, against ``transactive vtn serve``'s OpenADR 2.0b role: they
register, receive the events the operator creates, modifies and cancels with ``transactive vtn event``, answer
them (one opts in, one opts out), and report TELEMETRY_USAGE. What the VENs saw is read from their logs; what the
VTN kept, from ``vtn event list --json``, ``vtn report --json`` and its store. openleadr checks every document it
is sent against its own copy of the 2.0b schema; our schema check runs on what a hand-driven VEN is sent."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.interop.oadr_peers import Deployment, deploy, wait_for
from tests.vtn.oadr_probe import Probe, code_of, example
from transactive.ei.oadr import (
    OadrCanceledPartyRegistration,
    OadrCancelPartyRegistration,
    OadrCreatedEvent,
    OadrCreatedPartyRegistration,
    OadrDistributeEvent,
    OadrQueryRegistration,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrUpdatedReport,
    OadrUpdateReport,
)
from transactive.ei.oadr.base import QualifiedEventID
from transactive.ei.oadr.enums import EventStatus, OptType
from transactive.ei.oadr.event import EventDescriptor, EventResponse
from transactive.services.sqlite_store import SqliteStore

pytestmark = pytest.mark.interop

IN, OUT = "ven-in", "ven-out"
#: the keys of ``vtn event create|modify|cancel --json``
SUMMARY = {"event_id", "modification_number", "status", "targets"}
WAIT = 30


@pytest.fixture(scope="module")
def deployment(openleadr_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One VTN and two openleadr VENs for the module: each test makes its own events."""
    running = deploy(openleadr_python, tmp_path_factory.mktemp("oadr"), {IN: "optIn", OUT: "optOut"})
    try:
        yield running
    finally:
        running.stop()


def _create(d: Deployment, *args: str) -> dict[str, Any]:
    created: dict[str, Any] = d.event("create", "--signal", "SIMPLE", "--start", "now+PT2M", *args)
    assert set(created) == SUMMARY
    return created


def _seen_by_both(d: Deployment, event_id: str, **expected: Any) -> None:
    for ven in d.vens.values():
        wait_for(partial(ven.saw, event_id, **expected), WAIT, f"{ven.name} to see {event_id} with {expected}")


def _operator_vens(d: Deployment) -> list[dict[str, Any]]:
    request = urllib.request.Request(d.vtn.url + "/operator/openadr/vens", headers={
        "Authorization": f"Bearer {d.token_file.read_text().strip()}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        vens: list[dict[str, Any]] = json.loads(response.read())
    return vens


def _descriptors(distributed: OadrDistributeEvent) -> dict[str, EventDescriptor]:
    return {e.event.descriptor.event_id: e.event.descriptor for e in distributed.events}


def test_each_openleadr_ven_registers_once_with_the_ven_id_the_vtn_gave_it(deployment: Deployment) -> None:
    ids = {name: ven.ven_id for name, ven in deployment.vens.items()}
    assert len(set(ids.values())) == 2
    for ven in deployment.vens.values():
        assert len(ven.registrations()) == 1
    active = {v["ven_name"]: v["ven_id"] for v in _operator_vens(deployment) if v["active"]}
    assert active == ids
    assert deployment.report()["openadr"]["vens"] == 2


def test_an_event_reaches_both_vens_at_modification_0_and_each_ven_s_opt_is_recorded(
        deployment: Deployment) -> None:
    created = _create(deployment, "--intervals", "PT10M:1,PT10M:2")
    assert created["modification_number"] == 0
    assert created["status"] == "far"
    assert {IN, OUT} <= set(created["targets"])
    event_id = created["event_id"]
    _seen_by_both(deployment, event_id, modification_number=0, signal="SIMPLE", values=[1.0, 2.0], status="far")

    def opts() -> dict[str, Any] | None:
        found: dict[str, Any] = deployment.listed()[event_id]["opts"]
        return found if found.get(IN) and found.get(OUT) else None
    assert {k: v for k, v in wait_for(opts, WAIT, "both opts").items() if k in (IN, OUT)} == {
        IN: "optIn", OUT: "optOut"}
    listed = deployment.listed()[event_id]
    assert listed["status"] == "far"
    assert listed["modification_number"] == 0
    assert listed["signals"][0]["name"] == "SIMPLE"
    assert listed["signals"][0]["intervals"] == [{"duration": "PT10M", "value": 1.0},
                                                 {"duration": "PT10M", "value": 2.0}]
    openadr = deployment.report()["openadr"]
    assert openadr["opt_ins"] >= 1
    assert openadr["opt_outs"] >= 1


def test_telemetry_usage_values_the_vens_sent_are_stored_as_they_sent_them(deployment: Deployment) -> None:
    store_path = deployment.data / "vtn.db"

    def stored() -> dict[str, list[float]] | None:
        store = SqliteStore(store_path, read_only=True)
        try:
            rows = store.report_values()
        finally:
            store.close()
        by_ven = {name: [float(json.loads(r.value)) for r in rows if r.ven_id == ven.ven_id]
                  for name, ven in deployment.vens.items()}
        return by_ven if all(len(v) >= 2 for v in by_ven.values()) else None
    values = wait_for(stored, WAIT, "two TELEMETRY_USAGE values from each VEN")
    for name, ven in deployment.vens.items():
        logged = set(ven.report_values())
        assert set(values[name]) <= logged, (name, values[name], sorted(logged))
        assert len(values[name]) == len(set(values[name])), "a value was stored twice"
    openadr = deployment.report()["openadr"]
    assert openadr["reports_registered"] >= 2
    assert openadr["report_values"] >= 4


def test_a_modified_event_reaches_both_vens_at_modification_1_with_the_new_intervals(
        deployment: Deployment) -> None:
    event_id = _create(deployment, "--intervals", "PT10M:1,PT10M:2")["event_id"]
    _seen_by_both(deployment, event_id, modification_number=0)
    modified = deployment.event("modify", event_id, "--intervals", "PT5M:3,PT5M:4,PT5M:5")
    assert set(modified) == SUMMARY
    assert modified["modification_number"] == 1
    _seen_by_both(deployment, event_id, modification_number=1, values=[3.0, 4.0, 5.0])
    listed = deployment.listed()[event_id]
    assert listed["modification_number"] == 1
    assert [i["value"] for i in listed["signals"][0]["intervals"]] == [3.0, 4.0, 5.0]


def test_a_cancelled_event_reaches_both_vens_as_cancelled_and_cannot_be_cancelled_again(
        deployment: Deployment) -> None:
    event_id = _create(deployment, "--intervals", "PT10M:1")["event_id"]
    _seen_by_both(deployment, event_id, modification_number=0)
    cancelled = deployment.event("cancel", event_id)
    assert set(cancelled) == SUMMARY
    assert (cancelled["modification_number"], cancelled["status"]) == (1, "cancelled")
    _seen_by_both(deployment, event_id, modification_number=1, status="cancelled")
    assert deployment.listed()[event_id]["status"] == "cancelled"
    again = deployment.event("cancel", event_id, expect=1)
    assert "450" in again.stderr


def test_an_event_for_one_ven_reaches_that_ven_only(deployment: Deployment) -> None:
    targeted = _create(deployment, "--intervals", "PT10M:7", "--ven", IN)
    assert targeted["targets"] == [IN]
    wait_for(lambda: deployment.vens[IN].saw(targeted["event_id"], values=[7.0]), WAIT, f"{IN} to see it")
    # an event for every VEN, created after it: once ven-out has it, ven-out has polled since the targeted one
    barrier = _create(deployment, "--intervals", "PT10M:8")["event_id"]
    _seen_by_both(deployment, barrier, modification_number=0)
    assert deployment.vens[OUT].events(targeted["event_id"]) == []
    listed = deployment.listed()[targeted["event_id"]]
    assert listed["targets"] == [IN]
    assert set(listed["opts"]) == {IN}
    # the targeted VEN's answer to its event is still an opt in (it was sent the other event since)
    assert wait_for(lambda: deployment.listed()[targeted["event_id"]]["opts"][IN], WAIT, "its opt") == "optIn"


@pytest.mark.parametrize("required", ["always", "never"])
def test_a_cancelled_event_does_not_make_openleadr_opt_out_of_the_events_sent_after_it(
        deployment: Deployment, required: str) -> None:
    first = _create(deployment, "--intervals", "PT10M:1", "--response-required", required)["event_id"]
    _seen_by_both(deployment, first, modification_number=0)
    deployment.event("cancel", first)
    _seen_by_both(deployment, first, status="cancelled")
    later = _create(deployment, "--intervals", "PT10M:2")["event_id"]
    _seen_by_both(deployment, later, modification_number=0)

    def opts() -> dict[str, Any] | None:
        found: dict[str, Any] = deployment.listed()[later]["opts"]
        return found if found.get(IN) and found.get(OUT) else None
    assert {k: v for k, v in wait_for(opts, WAIT, "both opts").items() if k in (IN, OUT)} == {
        IN: "optIn", OUT: "optOut"}


def test_every_document_the_vtn_sends_passes_openleadr_s_schema_check_and_ours(deployment: Deployment) -> None:
    probe = Probe(deployment.vtn.url)
    query = probe.send("EiRegisterParty", OadrQueryRegistration(request_id="q-1"))
    assert isinstance(query, OadrCreatedPartyRegistration)
    probe.register("probe")
    assert probe.ven_id is not None
    # the VTN's own (empty) METADATA report, then nothing: acknowledge it
    registered = probe.send("EiReport", example(OadrRegisterReport, ven_id=probe.ven_id))
    assert isinstance(registered, OadrRegisteredReport)
    assert registered.report_requests, "the VTN asks for the TELEMETRY_USAGE report it is offered"
    request = registered.report_requests[0]
    update = example(OadrUpdateReport, ven_id=probe.ven_id)
    update = update.model_copy(update={"reports": (update.reports[0].model_copy(update={
        "report_request_id": request.report_request_id}),)})
    updated = probe.send("EiReport", update)
    assert isinstance(updated, OadrUpdatedReport)
    assert code_of(updated) == 200

    event_id = _create(deployment, "--intervals", "PT10M:1,PT10M:2", "--ven", "probe")["event_id"]
    distributed = probe.poll_until(OadrDistributeEvent)
    # the events for every VEN are the probe's too: it is registered now
    assert event_id in _descriptors(distributed)
    answer = OadrCreatedEvent(response=distributed.response, ven_id=probe.ven_id, event_responses=(EventResponse(
        response_code=200, response_description="OK", request_id=distributed.request_id, opt_type=OptType.OPT_IN,
        qualified_event_id=QualifiedEventID(event_id=event_id, modification_number=0)),))
    assert code_of(probe.send("EiEvent", answer)) == 200
    deployment.event("modify", event_id, "--intervals", "PT10M:3")
    assert _descriptors(probe.poll_until(OadrDistributeEvent))[event_id].modification_number == 1
    deployment.event("cancel", event_id)
    cancelled = _descriptors(probe.poll_until(OadrDistributeEvent))[event_id]
    assert (cancelled.modification_number, cancelled.event_status) == (2, EventStatus.CANCELLED)
    assert probe.registration_id is not None
    gone = probe.send("EiRegisterParty", OadrCancelPartyRegistration(
        request_id="bye", registration_id=probe.registration_id, ven_id=probe.ven_id))
    assert isinstance(gone, OadrCanceledPartyRegistration)
    assert code_of(gone) == 200
    # and every document the openleadr VENs were sent so far passed openleadr's own schema check
    for ven in deployment.vens.values():
        assert ven.schema_complaints() == [], ven.name
        assert ven.proc.poll() is None, f"{ven.name} exited"
