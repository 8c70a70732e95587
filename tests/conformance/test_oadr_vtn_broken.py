"""Each case of ``probe --role vtn`` can fail: a stand-in VTN (:mod:`tests.conformance.oadr_vtn_standin`) broken
in one way makes exactly the case that checks that rule fail, with the offending document in its evidence;
unbroken, nothing fails (so the failures are the breakages', not the stand-in's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from tests.conformance.oadr_vtn_standin import Breakage, StandIn, no_client_certificate_context
from tests.pki import Pki, make_pki
from tests.vtn.conftest import start_site
from transactive.interop.conformance.model import Options, Report, Result
from transactive.interop.conformance.oadr_vtn import probe
from transactive.protocol.certs import fingerprint
from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier
from transactive.transport.tls import server_context

B = Breakage
#: (breakage, the case that must fail, text the offending received document carries)
PLAIN: list[tuple[Breakage, str, bytes]] = [
    (B.QUERY_REQUEST_ID, "N1_0010", b"someone-else"),
    (B.QUERY_NO_SIMPLE_HTTP, "N1_0010", b"xmpp"),
    (B.REGISTRATION_REFUSED, "N1_0020", b"registration refused"),
    (B.REREGISTRATION_NEW_VEN, "N1_0030", b"oadrCreatedPartyRegistration"),
    (B.UNKNOWN_VEN_ACCEPTED, "N1_0040", b"oadrDistributeEvent"),
    (B.STATUS_WRONG, "E1_0010", b"event-active"),
    (B.SIMPLE_VALUE, "E1_0010", b"event-active"),
    (B.UIDS, "E1_0010", b"event-active"),
    (B.DURATIONS, "E1_0010", b"event-active"),
    (B.CURRENT_VALUE, "E1_0010", b"event-pending"),
    (B.CREATED_EVENT_REFUSED, "E1_0020", b"no such event"),
    (B.NUMBER_DOWN, "E1_0030", b"modificationNumber>2<"),
    (B.SILENT_CHANGE, "E1_0030", b"event-active"),
    (B.EVENT_DROPPED, "E1_0040", b"event-pending"),
    (B.UNKNOWN_EVENT_ACCEPTED, "E1_0050", b"oadrResponse"),
    (B.OPT_ID, "P1_0010", b"another-opt"),
    (B.CANCELED_OPT_INVALID, "P1_0020", b"notInTheSchema"),
    (B.REPORT_UNKNOWN_RID, "R1_0010", b"never-offered"),
    (B.UPDATE_REFUSED, "R1_0020", b"no such report request"),
    (B.MALFORMED_500, "G1_0020", b"internal error"),
    (B.SCHEMA_INVALID_ACCEPTED, "G1_0030", b"oadrResponse"),
    (B.UNKNOWN_SERVICE_200, "G1_0040", b"oadrResponse"),
    (B.CANCELED_VEN_ID, "N1_0090", b"ven-someone-else"),
    (B.CANCELED_STILL_POLLS, "N1_0090", b"oadrResponse"),
]
SECURE: list[tuple[Breakage, str, bytes]] = [
    (B.UNSIGNED, "G1_0050", b"oadrResponse"),
    (B.REPLAY_ACCEPTED, "G1_0060", b"oadrResponse"),
    (B.TAMPER_ACCEPTED, "G1_0070", b"oadrResponse"),
    (B.NO_CLIENT_CERTIFICATE, "G1_0080", b"oadrResponse"),
]

Serve = Callable[[StandIn], Awaitable[str]]


class _Forgetful:
    """A replay memory that remembers nothing."""

    def seen(self, nonce: str, at: object) -> bool:
        return False


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def serve(pki: Pki) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    runners: list[web.BaseRunner] = []

    async def start(standin: StandIn, *, tls: bool = False) -> str:
        if not tls:
            runner, url = await start_site(standin.app())
        else:
            cert, key = pki.pair("vtn")
            context = server_context(cert, key, client_ca=pki.ca)
            if standin.breakage is B.NO_CLIENT_CERTIFICATE:
                no_client_certificate_context(context)
            runner = web.AppRunner(standin.app(), access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
            await site.start()
            host, port = runner.addresses[0][:2]
            url = f"https://{host}:{port}"
        runners.append(runner)
        return url

    yield start
    for runner in runners:
        await runner.cleanup()


def _secure(pki: Pki, breakage: Breakage | None) -> tuple[StandIn, Options]:
    cert, key = pki.pair("vtn")
    nonces = _Forgetful() if breakage is B.REPLAY_ACCEPTED else None
    standin = StandIn(breakage, signer=OadrSigner(cert.read_bytes(), key.read_bytes()),
                      verifier=OadrVerifier(nonces=nonces))
    ven_cert, ven_key = pki.pair("ven-1")
    options = Options(party="ven-1", tls_cert=ven_cert, tls_key=ven_key, tls_ca=pki.ca, sign_cert=ven_cert,
                      sign_key=ven_key, vtn_fingerprint=fingerprint(cert.read_bytes()), observe_seconds=0.5,
                      timeout=5)
    return standin, options


def _failed(report: Report) -> dict[str, str]:
    return {o.case.id: o.detail for o in report.outcomes if o.result is Result.FAIL}


async def test_the_unbroken_stand_in_fails_no_case(serve: Callable[..., Awaitable[str]], pki: Pki) -> None:
    plain = await probe(await serve(StandIn()), Options(observe_seconds=0.5, timeout=5))
    assert _failed(plain) == {}
    assert plain.skipped == 4  # the signature and TLS cases, without their flags
    standin, options = _secure(pki, None)
    secure = await probe(await serve(standin, tls=True), options)
    assert _failed(secure) == {}
    assert secure.skipped == 0


def _assert_only(report: Report, case_id: str, marker: bytes) -> None:
    failed = _failed(report)
    assert set(failed) == {case_id}, failed
    outcome = next(o for o in report.outcomes if o.case.id == case_id)
    assert outcome.broken is not None
    received = [e.document for e in outcome.evidence if e.direction == "received"]
    assert any(marker in document for document in received), (marker, received)


@pytest.mark.parametrize(("breakage", "case_id", "marker"), PLAIN, ids=[b.value for b, _, _ in PLAIN])
async def test_a_broken_rule_fails_exactly_its_case(serve: Callable[..., Awaitable[str]], breakage: Breakage,
                                                    case_id: str, marker: bytes) -> None:
    report = await probe(await serve(StandIn(breakage)), Options(observe_seconds=0.5, timeout=5))
    _assert_only(report, case_id, marker)


async def test_a_poll_answered_with_a_payload_no_poll_may_bring_fails_the_poll_case(
        serve: Callable[..., Awaitable[str]]) -> None:
    # every case that polls would fail: the run is narrowed to the poll case and the registration it needs
    report = await probe(await serve(StandIn(B.POLL_WRONG_PAYLOAD)),
                         Options(observe_seconds=0.5, timeout=5, cases="N1_0010,N1_0020,G1_0010"))
    _assert_only(report, "G1_0010", b"oadrCreatedPartyRegistration")


async def test_a_refused_registration_skips_the_cases_that_need_one(serve: Callable[..., Awaitable[str]]) -> None:
    report = await probe(await serve(StandIn(B.REGISTRATION_REFUSED)), Options(observe_seconds=0.5, timeout=5))
    results = {o.case.id: o.result for o in report.outcomes}
    assert results["N1_0010"] is Result.PASS
    assert results["N1_0020"] is Result.FAIL
    assert {i for i, r in results.items() if r is Result.SKIP} == set(results) - {"N1_0010", "N1_0020"}
    skipped = next(o for o in report.outcomes if o.case.id == "N1_0090")
    assert "could not register" in skipped.detail
    assert "registration refused" in skipped.detail


@pytest.mark.parametrize(("breakage", "case_id", "marker"), SECURE, ids=[b.value for b, _, _ in SECURE])
async def test_a_broken_security_rule_fails_exactly_its_case(serve: Callable[..., Awaitable[str]], pki: Pki,
                                                             breakage: Breakage, case_id: str, marker: bytes) -> None:
    standin, options = _secure(pki, breakage)
    report = await probe(await serve(standin, tls=True), options)
    _assert_only(report, case_id, marker)
