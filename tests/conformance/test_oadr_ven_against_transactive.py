"""``listen --role ven`` against transactive's own OpenADR VEN (``transactive ven run --protocol openadr``, a
real process): no case fails, every case that applies passes; plain HTTP, then mutual TLS with signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conformance.oadr_ven_run import explain, listen_with, results, stop, transactive_ven
from tests.pki import make_pki
from transactive.interop.conformance.model import Options, Result
from transactive.protocol.certs import fingerprint

PULL_CASES = {"N1_0010", "R1_0010", "R1_0020", "R1_0030", "E1_0010", "E1_0020", "E1_0030", "E1_0040", "E1_0050",
              "E1_0060", "R1_0050", "N1_0030", "R1_0040", "N1_0040", "N1_0020", "G1_0010"}


async def test_every_pull_case_passes_against_transactive_ven(tmp_path: Path) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    report = await listen_with(Options(timeout=15), lambda url: procs.append(transactive_ven(url, tmp_path)))
    codes = stop(procs)
    assert results(report, Result.FAIL) == set(), explain(report)
    assert results(report, Result.PASS) == PULL_CASES, explain(report)
    assert results(report, Result.SKIP) == {"E0_0010", "E0_0020", "E0_0030", "N0_0040", "G1_0050", "G1_0060", "G1_0070",
                                              "P1_0010"}
    assert codes == [1]  # the VEN stops: "the VTN cancelled this VEN's registration"


async def test_every_case_passes_signed_over_mutual_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    vtn_cert, vtn_key = pki.pair("vtn")
    ven_cert, ven_key = pki.pair("ven-1")
    options = Options(timeout=15, tls_cert=vtn_cert, tls_key=vtn_key, tls_ca=pki.ca, sign_cert=vtn_cert,
                      sign_key=vtn_key)
    flags = ("--tls-ca", str(pki.ca), "--tls-cert", str(ven_cert), "--tls-key", str(ven_key), "--sign-cert",
             str(ven_cert), "--sign-key", str(ven_key), "--vtn-fingerprint", fingerprint(vtn_cert.read_bytes()))
    procs: list[subprocess.Popen[bytes]] = []
    report = await listen_with(options, lambda url: procs.append(transactive_ven(url, tmp_path, *flags)))
    stop(procs)
    assert report.target.startswith("https://")
    assert results(report, Result.FAIL) == set(), explain(report)
    assert results(report, Result.PASS) == PULL_CASES | {"G1_0050", "G1_0060", "G1_0070"}, explain(report)

