"""HTTPS: real ``transactive vtn serve --tls-cert --tls-key [--tls-ca]`` processes on loopback, real handshakes
from :class:`HttpTransport`, ``transactive ven run`` processes and a child ``vtn serve --parent https://...``.

What is proven: a client that trusts the VTN's CA is answered; one that does not (another CA, or only the
system's CAs), a certificate that has expired or names another host are refused by the client with a
``ConnectionFailedError`` saying TLS and why; with ``--tls-ca`` a client without a certificate or with one
from another CA is refused by the server, one with a good certificate is answered; ``ven run`` trades over
mutual TLS; a child VTN adopts an https:// parent's clock and registers there with its own certificate;
bad TLS files and flags stop ``vtn serve`` with exit 2 and one line naming the problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import pg_database
from tests.pki import Pki
from tests.vtn.conftest import ROOT, VtnProcess, start_vtn
from transactive.transport import ConnectionFailedError
from transactive.transport.http import HttpTransport
from transactive.transport.tls import REFUSED_AFTER_HANDSHAKE
from transactive.ven import join_market
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT


def _serve(tmp: Path, name: str, cert: Path, key: Path, *args: str, store: str | None = None) -> VtnProcess:
    return start_vtn(tmp / name, "--tls-cert", str(cert), "--tls-key", str(key), *args, log_name=name, store=store)


def _stop(process: VtnProcess) -> None:
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait(10)


@pytest.fixture(scope="module")
def https_vtn(pki: Pki, tmp_path_factory: pytest.TempPathFactory, vtn_module_store: str | None) -> Iterator[VtnProcess]:
    """HTTPS without client certificates."""
    process = _serve(tmp_path_factory.mktemp("https"), "vtn", *pki.pair("vtn"), store=vtn_module_store)
    yield process
    _stop(process)


@pytest.fixture(scope="module")
def mtls_vtn(pki: Pki, tmp_path_factory: pytest.TempPathFactory, vtn_module_store: str | None,
             request: pytest.FixtureRequest) -> Iterator[VtnProcess]:
    """HTTPS requiring client certificates from the good CA, on an accelerated market (0.5 s intervals); with
    PostgreSQL a database of its own (another VTN than https_vtn: the database would refuse its clock and key)."""
    with contextlib.ExitStack() as own:
        store = vtn_module_store if vtn_module_store is None else \
            own.enter_context(pg_database(request.getfixturevalue("pg_server")))
        process = _serve(tmp_path_factory.mktemp("mtls"), "vtn", *pki.pair("vtn"), "--tls-ca", str(pki.ca),
                         "--interval-seconds", "0.5", store=store)
        yield process
        _stop(process)


async def _health(url: str, context: ssl.SSLContext) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "/health", ssl=context) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def _register(url: str, context: ssl.SSLContext | None, party: str = "ven-1") -> None:
    async with HttpTransport(url, tls=context, timeout=5) as transport:
        client = await join_market(transport, party, DEFAULT_MARKET_CONTEXT)
        assert client.config is not None


# ---- the server's certificate ------------------------------------------------------------------------


async def test_a_client_that_trusts_the_vtns_ca_is_answered_over_https(https_vtn: VtnProcess, pki: Pki) -> None:
    assert https_vtn.url.startswith("https://127.0.0.1:")
    await _register(https_vtn.url, pki.client())
    health = await _health(https_vtn.url, pki.client())
    assert (health["tls"], health["client_certificates"]) == (True, False)


async def test_a_client_that_does_not_trust_the_vtns_ca_is_refused_with_a_tls_error(https_vtn: VtnProcess,
                                                                                      pki: Pki) -> None:
    with pytest.raises(ConnectionFailedError, match=r"TLS: the server's certificate is not trusted: "):
        await _register(https_vtn.url, pki.client(ca=pki.other_ca))
    # by default an https:// URL is checked against the system's CAs, which do not know a throwaway CA
    with pytest.raises(ConnectionFailedError, match=r"TLS: the server's certificate is not trusted: "):
        await _register(https_vtn.url, None)


@pytest.mark.parametrize(("certificate", "why"), [("expired", "certificate has expired"),
                                                  ("elsewhere", "IP address mismatch")])
async def test_a_server_certificate_that_is_expired_or_for_another_host_is_refused(
        pki: Pki, tmp_path: Path, certificate: str, why: str) -> None:
    bad = pki.directory / "bad"
    process = _serve(tmp_path, certificate, bad / f"{certificate}.crt", bad / f"{certificate}.key")
    try:
        with pytest.raises(ConnectionFailedError, match=f"TLS: the server's certificate is not trusted: .*{why}"):
            await _register(process.url, pki.client())
        assert process.terminate() == 0
    finally:
        _stop(process)
    if certificate == "expired":  # served all the same, with a warning naming the file
        assert "expired.crt is expired on" in process.log.read_text()


# ---- client certificates (--tls-ca) ------------------------------------------------------------------


async def test_with_client_certificates_on_a_client_without_one_is_refused(mtls_vtn: VtnProcess, pki: Pki) -> None:
    with pytest.raises(ConnectionFailedError) as info:
        await _register(mtls_vtn.url, pki.client())
    assert REFUSED_AFTER_HANDSHAKE in str(info.value)


async def test_with_client_certificates_on_a_certificate_from_another_ca_is_refused(mtls_vtn: VtnProcess,
                                                                                     pki: Pki) -> None:
    with pytest.raises(ConnectionFailedError, match="TLS: "):
        await _register(mtls_vtn.url, pki.client("ven-1", other=True))


async def test_with_client_certificates_on_a_good_certificate_is_answered(mtls_vtn: VtnProcess, pki: Pki) -> None:
    await _register(mtls_vtn.url, pki.client("ven-1"))
    health = await _health(mtls_vtn.url, pki.client("ven-2"))
    assert (health["tls"], health["client_certificates"]) == (True, True)


# ---- ven run -----------------------------------------------------------------------------------------


async def test_ven_run_processes_trade_with_an_https_vtn_that_requires_client_certificates(
        mtls_vtn: VtnProcess, pki: Pki, tmp_path: Path) -> None:
    health = await _health(mtls_vtn.url, pki.client("ven-1"))
    start = datetime.fromisoformat(health["next_open_interval"]) + timedelta(minutes=15) * 8
    procs = []
    for party, kind, cert in (("pv-tls", "pv", "ven-1"), ("home-tls", "load", "ven-2")):
        cert_file, key_file = pki.pair(cert)
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transactive.cli", "ven", "run", "--vtn", mtls_vtn.url, "--party", party,
            "--personality", kind, "--capacity-kw", "8", "--intervals", "2", "--start", start.isoformat(),
            "--sim-start", "2026-06-21T12:00:00Z", "--grid-prices", "0.30,0.05",
            "--record", str(tmp_path / f"{party}.jsonl"), "--tls-ca", str(pki.ca), "--tls-cert", str(cert_file),
            "--tls-key", str(key_file), "--state-dir", str(tmp_path / party),  # (its own: it pins this VTN's key)
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT))
    outputs = [await asyncio.wait_for(p.communicate(), 90) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    pv = [json.loads(line) for line in (tmp_path / "pv-tls.jsonl").read_text().splitlines()]
    home = [json.loads(line) for line in (tmp_path / "home-tls.jsonl").read_text().splitlines()]
    assert len(pv) == len(home) == 2
    for sold, bought in zip(pv, home, strict=True):
        assert sold["interval_start"] == bought["interval_start"]
        assert sold["sold_kwh"] == bought["bought_kwh"] > 0


def _ven_run(url: str, *tls: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transactive.cli", "ven", "run", "--vtn", url, "--party", "x",
                           "--personality", "pv", "--intervals", "1", *tls], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, check=False)


def test_ven_run_that_does_not_trust_the_vtn_is_exit_2_with_the_reason(https_vtn: VtnProcess, pki: Pki) -> None:
    done = _ven_run(https_vtn.url, "--tls-ca", str(pki.other_ca))
    assert done.returncode == 2
    assert f"cannot reach the VTN at {https_vtn.url} (TLS: the server's certificate is not trusted" in done.stderr
    assert "Traceback" not in done.stderr


def test_ven_run_without_a_certificate_the_vtn_requires_is_exit_2_with_the_reason(mtls_vtn: VtnProcess,
                                                                                  pki: Pki) -> None:
    done = _ven_run(mtls_vtn.url, "--tls-ca", str(pki.ca))
    assert done.returncode == 2
    assert REFUSED_AFTER_HANDSHAKE in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--tls-ca", "/nonexistent/ca.crt"], "/nonexistent/ca.crt: no such file"),
    (["--tls-cert", "CERT"], "--tls-cert and --tls-key go together"),
])
def test_ven_run_tls_usage_errors_are_exit_2(pki: Pki, flags: list[str], message: str) -> None:
    flags = [str(pki.pair("ven-1")[0]) if f == "CERT" else f for f in flags]
    done = _ven_run("https://127.0.0.1:9", *flags)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert _ven_run("http://127.0.0.1:9", "--tls-ca", str(pki.ca)).returncode == 2  # TLS flags need https://


# ---- a child VTN under an https:// parent ------------------------------------------------------------


async def test_a_child_vtn_adopts_an_https_parents_clock_and_registers_there_with_its_certificate(
        mtls_vtn: VtnProcess, pki: Pki, tmp_path: Path) -> None:
    cert, key = pki.pair("feeder-7")
    child = start_vtn(tmp_path / "feeder", "--parent", mtls_vtn.url, "--parent-party", "feeder-7",
                      "--parent-tls-ca", str(pki.ca), "--parent-tls-cert", str(cert), "--parent-tls-key", str(key),
                      "--gate-closure-minutes", "10", log_name="feeder")
    try:
        assert child.url.startswith("http://")  # the child itself serves plain HTTP here
        async with aiohttp.ClientSession() as http, http.get(child.url + "/health") as response:
            child_health = await response.json()
        parent_health = await _health(mtls_vtn.url, pki.client("ven-1"))
        assert child_health["clock"] == parent_health["clock"]
        deadline = time.monotonic() + 20
        while True:  # the upstream link registers feeder-7 at the parent, through mutual TLS
            store = mtls_vtn.open_store()
            try:
                parties = store.registered_parties()
            finally:
                store.close()
            if "feeder-7" in parties:
                break
            assert time.monotonic() < deadline, f"feeder-7 never registered upstream: {child.log.read_text()[-2000:]}"
            await asyncio.sleep(0.2)
        assert child.terminate() == 0
    finally:
        _stop(child)


@pytest.mark.parametrize(("flags", "message"), [
    ([], "TLS: the server's certificate is not trusted"),  # the system's CAs do not know the throwaway CA
    (["--parent-tls-ca", "CA"], REFUSED_AFTER_HANDSHAKE),  # trusted, but no client certificate
])
def test_a_child_that_cannot_complete_tls_with_its_parent_stops_at_once_with_exit_2(
        mtls_vtn: VtnProcess, pki: Pki, tmp_path: Path, flags: list[str], message: str) -> None:
    flags = [str(pki.ca) if f == "CA" else f for f in flags]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--port", "0", "--data-dir",
                           str(tmp_path / "feeder"), "--parent", mtls_vtn.url, "--parent-party", "feeder-7", *flags],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert f"the parent VTN at {mtls_vtn.url}/health: {message}" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 14  # not waited out for --parent-wait (15 s): retrying cannot help


# ---- bad files and flags -----------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "message"), [
    (["--tls-cert", "{missing}", "--tls-key", "{key}"], "{missing}: no such file"),
    (["--tls-cert", "{cert}", "--tls-key", "{bad}/not-pem.key"], "{bad}/not-pem.key: not a PEM private key"),
    (["--tls-cert", "{bad}/not-pem.crt", "--tls-key", "{key}"], "{bad}/not-pem.crt: not a PEM certificate"),
    (["--tls-cert", "{cert}", "--tls-key", "{other_key}"],
     "{other_key}: this private key does not belong to the certificate in {cert}"),
    (["--tls-cert", "{cert}", "--tls-key", "{key}", "--tls-ca", "{missing}"], "{missing}: no such file"),
    (["--tls-cert", "{cert}"], "--tls-cert and --tls-key go together"),
    (["--tls-ca", "{ca}"], "--tls-ca (client certificates) needs --tls-cert and --tls-key (HTTPS)"),
    (["--parent-tls-ca", "{ca}"], "--parent-tls-* need an https:// --parent"),
    (["--mqtt-tls-ca", "{ca}"], "--mqtt-tls-* need --mqtt"),
    (["--mqtt", "127.0.0.1:1883", "--mqtt-tls-ca", "{ca}", "--mqtt-tls-cert", "{cert}"],
     "--mqtt-tls-cert and --mqtt-tls-key go together"),
    (["--mqtt", "127.0.0.1:1883", "--mqtt-tls-ca", "{bad}/not-pem.crt"], "{bad}/not-pem.crt: not a PEM certificate"),
])
def test_bad_tls_files_and_flags_stop_vtn_serve_with_exit_2_and_one_line(pki: Pki, tmp_path: Path, flags: list[str],
                                                                         message: str) -> None:
    cert, key = pki.pair("vtn")
    names = {"cert": cert, "key": key, "other_key": pki.pair("ven-1")[1], "ca": pki.ca,
             "missing": tmp_path / "missing.pem", "bad": pki.directory / "bad"}
    args = [flag.format(**names) for flag in flags]
    done = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--port", "0", "--data-dir",
                           str(tmp_path / "vtn"), *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"transactive vtn serve: {message.format(**names)}")
    assert not (tmp_path / "vtn").exists()  # stopped before anything was made
