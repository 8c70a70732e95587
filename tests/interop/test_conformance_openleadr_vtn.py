"""``probe --role vtn --standard openadr20b`` against openleadr 0.5.36's VTN (``interop/openleadr_peer/vtn_server.py``
in its own process and virtual environment), over plain HTTP and over mutual TLS with XML signatures (openleadr
signs its replies and checks the VEN's certificate and signatures): the cases that fail are exactly the findings
checked by hand against openleadr's source and the 2.0b specification (:data:`PLAIN_FINDINGS`,
:data:`SECURE_FINDINGS`), every other case that applies passes.

The VTN is given two SIMPLE events for the probe's venID before the run (the harness names a VEN
``ven-id-<venName>``): one active now, one an hour ahead."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.interop.oadr_peers import start_openleadr_vtn, stop_all
from tests.pki import make_pki
from transactive.interop.conformance.html import render_html
from transactive.interop.conformance.model import Options, Report, Result
from transactive.interop.conformance.oadr_vtn import probe
from transactive.protocol.certs import fingerprint

pytestmark = pytest.mark.interop

PARTY = "conformance-probe"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"

#: case id -> what openleadr 0.5.36 does, plain HTTP (each traced in openleadr's source)
PLAIN_FINDINGS = {
    # VTNService.handler checks a venID only through an application's ven_lookup (none by default), and
    # EventService.request_event answers any venID: an oadrResponse 200 (conformance rule 21)
    "N1_0040": "accepted with oadrResponse code 200",
    # OpenADRServer.__init__ routes EiEvent, EiReport, OadrPoll and EiRegisterParty only (no OptService):
    # aiohttp answers 404 (P1_0020 is skipped: there is no opt to cancel)
    "P1_0010": "HTTP 404",
    # openleadr keeps no registrations: after oadrCanceledPartyRegistration the venID's polls are served
    "N1_0090": "accepted with oadrResponse code 200",
}
#: over mutual TLS with signatures, the refusal of an unknown venID fails: the error reply openleadr builds
#: for oadrRequestEvent (an oadrDistributeEvent without events) breaks its own preflight (KeyError), HTTP 500
SECURE_FINDINGS = {**PLAIN_FINDINGS, "N1_0040": "HTTP 500"}
#: with no event for the VEN, EventService.request_event answers oadrRequestEvent with an oadrResponse, not the
#: oadrDistributeEvent (with no oadrEvent: the schema allows none) the EiEvent exchange pairs with it
NO_EVENT_FINDINGS = {**PLAIN_FINDINGS, "E1_0010": "oadrResponse where oadrDistributeEvent was expected"}


@pytest.fixture
def start_openleadr(openleadr_python: Path, tmp_path: Path) -> Iterator[Callable[..., tuple[str, Path]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str, events: bool = True) -> tuple[str, Path]:
        workdir = tmp_path / f"openleadr-vtn-{len(started)}"
        process, url = start_openleadr_vtn(openleadr_python, workdir, "--poll-seconds", "1", "--report-seconds",
                                           "60", *extra)
        started.append(process)
        if events:
            add_events(workdir)
        return url, workdir

    yield start
    stop_all(started)


def add_events(workdir: Path) -> None:
    """Two SIMPLE events for the probe's venID, through the harness's control files; returns once both exist."""
    for n, (event_id, start) in enumerate((("probe-active", 0), ("probe-pending", 3600)), start=1):
        command = {"op": "add", "ven_id": f"ven-id-{PARTY}", "event_id": event_id, "signal_name": "SIMPLE",
                   "signal_type": "level", "values": [1, 2], "interval_seconds": 600, "start_in_seconds": start}
        (workdir / "control" / f"{n:03d}.json").write_text(json.dumps(command))
    deadline = time.monotonic() + 20
    log = workdir / "log.jsonl"
    while time.monotonic() < deadline:
        added = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        if len([e for e in added if e.get("kind") == "event" and e.get("op") == "add"]) == 2:
            return
        time.sleep(0.1)
    raise AssertionError("openleadr never added the events")


def assert_findings(report: Report, findings: dict[str, str], skipped: set[str]) -> None:
    failed = {o.case.id: o.detail for o in report.outcomes if o.result is Result.FAIL}
    assert set(failed) == set(findings), failed
    for case_id, text in findings.items():
        assert text in failed[case_id], (case_id, failed[case_id])
    assert {o.case.id for o in report.outcomes if o.result is Result.SKIP} == skipped
    passed = {o.case.id for o in report.outcomes if o.result is Result.PASS}
    assert passed == {o.case.id for o in report.outcomes} - set(findings) - skipped


async def test_openleadr_vtn_over_http_fails_exactly_the_cases_of_its_findings(
        start_openleadr: Callable[..., tuple[str, Path]]) -> None:
    url, _ = start_openleadr()
    report = await probe(url, Options(party=PARTY, observe_seconds=2.5, timeout=10))
    assert_findings(report, PLAIN_FINDINGS, {"P1_0020", "G1_0050", "G1_0060", "G1_0070", "G1_0080"})


async def test_openleadr_vtn_over_mutual_tls_with_signatures_fails_exactly_the_cases_of_its_findings(
        start_openleadr: Callable[..., tuple[str, Path]], tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    vtn_cert, vtn_key = pki.pair("vtn")
    cert, key = pki.pair("ven-1")
    url, _ = start_openleadr("--tls-cert", str(vtn_cert), "--tls-key", str(vtn_key), "--tls-ca", str(pki.ca),
                             "--sign-cert", str(vtn_cert), "--sign-key", str(vtn_key), "--verify-signatures",
                             "--ven-fingerprint", f"{PARTY}={fingerprint(cert.read_bytes())}")
    options = Options(party=PARTY, tls_cert=cert, tls_key=key, tls_ca=pki.ca, sign_cert=cert, sign_key=key,
                      vtn_fingerprint=fingerprint(vtn_cert.read_bytes()), observe_seconds=2.5, timeout=10)
    report = await probe(url, options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the report a person looks at (docs/conformance-example.html)
    (ARTIFACTS / "openleadr-vtn-report.html").write_text(render_html(report), encoding="utf-8")
    assert_findings(report, SECURE_FINDINGS, {"P1_0020"})


async def test_openleadr_vtn_without_events_answers_a_request_for_events_with_the_wrong_payload(
        start_openleadr: Callable[..., tuple[str, Path]]) -> None:
    url, _ = start_openleadr(events=False)
    report = await probe(url, Options(party=PARTY, observe_seconds=2.5, timeout=10))
    assert_findings(report, NO_EVENT_FINDINGS, {"E1_0020", "E1_0030", "E1_0040", "E1_0050", "P1_0020", "G1_0050",
                                                "G1_0060", "G1_0070", "G1_0080"})
