"""``probe --standard cts --role vtn`` against a real ``transactive vtn serve`` process: over HTTP in both wire
formats, over mutual TLS with a certificate's key signing the registration, and with a ``--cases`` selection
(a case whose earlier steps were not selected runs them itself). No case fails; every case applies and
passes; nothing answering is :class:`EndpointUnreachable`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pki import Pki
from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.interop.conformance.cts_vtn import SUITE, probe
from transactive.interop.conformance.model import EndpointUnreachable, Options, Report, Result

#: every case of the suite: against transactive's VTN each one applies
ALL = {case.id for case in SUITE.cases}


def _stop(process: VtnProcess) -> None:
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait(10)


@pytest.fixture(scope="module")
def vtn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VtnProcess]:
    process = start_vtn(tmp_path_factory.mktemp("cts-plain") / "vtn")
    yield process
    _stop(process)


@pytest.fixture(scope="module")
def mtls_vtn(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VtnProcess]:
    cert, key = pki.pair("vtn")
    process = start_vtn(tmp_path_factory.mktemp("cts-mtls") / "vtn", "--tls-cert", str(cert), "--tls-key", str(key),
                        "--tls-ca", str(pki.ca), log_name="mtls")
    yield process
    _stop(process)


def _results(report: Report) -> dict[str, Result]:
    return {o.case.id: o.result for o in report.outcomes}


def _failures(report: Report) -> dict[str, str]:
    return {o.case.id: o.detail for o in report.outcomes if o.result is Result.FAIL}


def test_the_catalogue_has_a_case_per_facet_and_rule() -> None:
    ids = {case.id for case in SUITE.cases}
    assert ids == {"CTS_M_0010", "CTS_N_0010", "CTS_N_0020", "CTS_T_0010", "CTS_T_0020", "CTS_T_0030", "CTS_X_0010",
                   "CTS_D_0010", "CTS_S_0010", "CTS_Q_0010", "CTS_G_0010", "CTS_G_0020", "CTS_G_0030", "CTS_G_0040",
                   "CTS_N_0090"}
    assert [c.id for c in SUITE.cases][:2] == ["CTS_M_0010", "CTS_N_0010"]
    assert SUITE.cases[-1].id == "CTS_N_0090"


@pytest.mark.parametrize("wire", ["xml", "json"])
async def test_transactive_vtn_passes_every_case(vtn: VtnProcess, wire: str) -> None:
    report = await probe(vtn.url, Options(), wire=wire)
    assert _failures(report) == {}
    assert {case for case, result in _results(report).items() if result is Result.PASS} == ALL
    assert report.exit_code == 0
    # every exchange was recorded: each case has its evidence, a request and its answer at least
    assert all(len(o.evidence) >= 2 for o in report.outcomes)


async def test_transactive_vtn_passes_over_mutual_tls_with_a_certificate_signing_the_registration(
        mtls_vtn: VtnProcess, pki: Pki) -> None:
    tls_cert, tls_key = pki.pair("ven-1")
    sign_cert, sign_key = pki.pair("ven-2")
    options = Options(party="conformance-ven-2", tls_ca=pki.ca, tls_cert=tls_cert, tls_key=tls_key,
                      sign_cert=sign_cert, sign_key=sign_key)
    report = await probe(mtls_vtn.url, options)
    assert _failures(report) == {}
    assert {case for case, result in _results(report).items() if result is Result.PASS} == ALL
    # the party is bound to ven-2's key now: a run signing with another key cannot register it
    other = Options(party="conformance-ven-2", tls_ca=pki.ca, tls_cert=tls_cert, tls_key=tls_key,
                    cases="CTS_N_0010")
    refused = await probe(mtls_vtn.url, other)
    assert _results(refused) == {"CTS_N_0010": Result.FAIL}
    assert "responseCode 463" in refused.outcomes[0].detail


async def test_a_selected_case_runs_the_steps_it_needs_itself(vtn: VtnProcess) -> None:
    report = await probe(vtn.url, Options(cases="CTS_T_0020,CTS_Q_*"))
    assert _results(report) == {"CTS_T_0020": Result.PASS, "CTS_Q_0010": Result.PASS}


async def test_a_market_context_given_is_asked_about_and_a_wrong_one_fails_the_market_case(vtn: VtnProcess) -> None:
    from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

    good = await probe(vtn.url, Options(cases="CTS_M_0010"), market_context=DEFAULT_MARKET_CONTEXT)
    assert _results(good) == {"CTS_M_0010": Result.PASS}
    wrong = await probe(vtn.url, Options(cases="CTS_M_0010,CTS_T_0010"), market_context="urn:example:not-this-one")
    assert _results(wrong) == {"CTS_M_0010": Result.FAIL, "CTS_T_0010": Result.SKIP}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_nothing_answering_is_endpoint_unreachable() -> None:
    with pytest.raises(EndpointUnreachable, match=r"nothing answers at http://127\.0\.0\.1:"):
        await probe(f"http://127.0.0.1:{_closed_port()}", Options())


async def test_a_vtn_refusing_the_kits_tls_is_endpoint_unreachable_saying_tls(mtls_vtn: VtnProcess, pki: Pki) -> None:
    with pytest.raises(EndpointUnreachable, match="TLS"):
        await probe(mtls_vtn.url, Options(tls_ca=pki.other_ca))


async def test_tls_flags_with_an_http_url_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="https://"):
        await probe("http://127.0.0.1:9", Options(tls_ca=tmp_path / "ca.pem"))
