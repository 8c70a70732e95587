"""``probe --role vtn --standard openadr20b`` against a real ``transactive vtn serve``: plain HTTP, and mutual
TLS with ``--require-signatures`` and signed replies. No case fails, and the cases that apply pass (the set of
passed ids is asserted, so that a case skipped by mistake is noticed).

The operator creates two events for every VEN before the run (one active now, one an hour ahead), so that the
probe, registering later under its own party name, is sent both."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pki import Pki, make_pki
from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.interop.conformance.model import Options, Result
from transactive.interop.conformance.oadr_vtn import SUITE, probe
from transactive.protocol.certs import fingerprint

ALWAYS = {"N1_0010", "N1_0020", "N1_0030", "N1_0040", "E1_0010", "E1_0020", "E1_0030", "E1_0040", "E1_0050",
          "P1_0010", "P1_0020", "R1_0010", "R1_0020", "G1_0010", "G1_0020", "G1_0030", "G1_0040", "N1_0090"}
SIGNED = {"G1_0050", "G1_0060", "G1_0070"}
TLS = {"G1_0080"}


def operator(vtn: VtnProcess, data: Path, path: str, body: dict[str, Any] | None = None,
             context: ssl.SSLContext | None = None) -> Any:
    """One call of the operator API (POST with ``body``, else GET); its JSON answer."""
    token = (data / "operator.token").read_text().strip()
    request = urllib.request.Request(f"{vtn.url}/operator/openadr/{path}", method="GET" if body is None else "POST",
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        assert response.status in (200, 201)
        return json.loads(response.read())


def create_events(vtn: VtnProcess, data: Path, context: ssl.SSLContext | None = None) -> list[str]:
    """Two SIMPLE events for every VEN (one active now, one an hour ahead), through the operator API; their ids."""
    return [operator(vtn, data, "events", {"signal_name": "SIMPLE", "start": start, "intervals": [
        {"duration": "PT10M", "value": 1}, {"duration": "PT10M", "value": 2}]}, context)["event_id"]
        for start in ("now", "now+PT1H")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def plain_vtn(tmp_path: Path) -> Iterator[VtnProcess]:
    process = start_vtn(tmp_path / "vtn", "--oadr-poll-seconds", "1")
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
def secure_vtn(tmp_path: Path, pki: Pki) -> Iterator[VtnProcess]:
    cert, key = pki.pair("vtn")
    process = start_vtn(tmp_path / "vtn", "--oadr-poll-seconds", "1", "--tls-cert", str(cert), "--tls-key",
                        str(key), "--tls-ca", str(pki.ca), "--sign-cert", str(cert), "--sign-key", str(key),
                        "--require-signatures")
    try:
        create_events(process, tmp_path / "vtn", pki.client("ven-2"))
        yield process
    finally:
        process.kill()


def outcomes(report: object) -> dict[str, Result]:
    return {o.case.id: o.result for o in report.outcomes}  # type: ignore[attr-defined]


def failures(report: object) -> list[str]:
    return [f"{o.case.id}: {o.detail}" for o in report.outcomes if o.result is Result.FAIL]  # type: ignore[attr-defined]


async def test_a_plain_transactive_vtn_passes_every_case_that_applies(plain_vtn: VtnProcess, tmp_path: Path) -> None:
    create_events(plain_vtn, tmp_path / "vtn")
    report = await probe(plain_vtn.url, Options(observe_seconds=2.5, timeout=10))
    assert failures(report) == []
    results = outcomes(report)
    assert {i for i, r in results.items() if r is Result.PASS} == ALWAYS
    assert {i for i, r in results.items() if r is Result.SKIP} == SIGNED | TLS
    assert [o.case.id for o in report.outcomes] == [c.id for c in SUITE.cases]


async def test_a_transactive_vtn_over_mutual_tls_with_signatures_passes_every_case(secure_vtn: VtnProcess,
                                                                                   pki: Pki) -> None:
    cert, key = pki.pair("ven-1")
    vtn_cert, _ = pki.pair("vtn")
    options = Options(party="ven-1", tls_cert=cert, tls_key=key, tls_ca=pki.ca, sign_cert=cert, sign_key=key,
                      vtn_fingerprint=fingerprint(vtn_cert.read_bytes()), observe_seconds=2.5, timeout=10)
    report = await probe(secure_vtn.url, options)
    assert failures(report) == []
    assert {i for i, r in outcomes(report).items() if r is Result.PASS} == ALWAYS | SIGNED | TLS


async def test_events_that_change_while_the_probe_watches_pass_the_version_and_list_cases(
        plain_vtn: VtnProcess, tmp_path: Path) -> None:
    """The operator modifies the active event and cancels the pending one while the probe watches: the new
    versions are seen (E1_0030 counts four) and neither case fails."""
    data = tmp_path / "vtn"
    active, pending = create_events(plain_vtn, data)

    def operate() -> None:
        deadline = time.monotonic() + 20
        while not any(v["ven_name"] == "lifecycle-probe" for v in operator(plain_vtn, data, "vens")):
            assert time.monotonic() < deadline, "the probe never registered"
            time.sleep(0.05)
        time.sleep(0.5)  # into the probe's watch (E1_0030 starts right after the first distributions)
        operator(plain_vtn, data, f"events/{active}/modify", {"intervals": [{"duration": "PT20M", "value": 3}]})
        operator(plain_vtn, data, f"events/{pending}/cancel", {})

    thread = threading.Thread(target=operate)
    thread.start()
    report = await probe(plain_vtn.url, Options(party="lifecycle-probe", observe_seconds=3, timeout=10))
    thread.join(30)
    assert failures(report) == []
    versions = next(o for o in report.outcomes if o.case.id == "E1_0030")
    assert versions.result is Result.PASS
    assert versions.detail.startswith("4 event version(s)"), versions.detail
