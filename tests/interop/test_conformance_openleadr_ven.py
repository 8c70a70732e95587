"""``conformance listen --role ven`` against openleadr 0.5.36's VEN (``interop/openleadr_peer/ven_client.py`` in
its own virtual environment, a separate process): the report names exactly what openleadr does not do.

Each finding was checked by hand against openleadr's source (``openleadr/client.py``):

* E1_0050 (conformance rule 21: a receiver checks the vtnID it is sent and errors on an unexpected one):
  ``OpenADRClient._on_event`` refuses a distribution only when its vtnID is lower case; it never compares
  the vtnID with the VTN it registered with, so it opts in to another VTN's event with code 200.
* N1_0010, signed runs only (oadrCreatePartyRegistration's oadrXmlSignature: the implementation supports XML
  signatures): ``run()`` registers with ``create_party_registration``'s default ``xml_signature=False``
  although every message it sends is signed with ``cert``/``key``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conformance.oadr_ven_run import explain, listen_with, results, stop
from tests.interop.conftest import PEER
from tests.pki import make_pki
from transactive.interop.conformance.model import Options, Report, Result
from transactive.protocol.certs import fingerprint

#: what every run of openleadr's VEN breaks
ALWAYS = {"E1_0050"}


async def _run(python: Path, workdir: Path, options: Options, *extra: str) -> Report:
    procs: list[subprocess.Popen[bytes]] = []

    def start(url: str) -> None:
        with open(workdir / "openleadr-ven.out", "wb") as out:
            procs.append(subprocess.Popen([str(python), str(PEER / "ven_client.py"), "--vtn", url, "--name",
                                           "openleadr-ven", "--log", str(workdir / "openleadr-ven.jsonl"), *extra],
                                          stdout=out, stderr=subprocess.STDOUT, cwd=workdir))

    try:
        return await listen_with(options, start)
    finally:
        for proc in procs:
            proc.kill()
        stop(procs)


async def test_openleadr_ven_takes_another_vtns_events(openleadr_python: Path, tmp_path: Path) -> None:
    report = await _run(openleadr_python, tmp_path, Options(timeout=10), "--opt-schedule")
    assert results(report, Result.FAIL) == ALWAYS, explain(report)
    assert results(report, Result.SKIP) == {"E0_0010", "E0_0020", "E0_0030", "N0_0040", "G1_0050", "G1_0060",
                                            "G1_0070"}, explain(report)
    assert "P1_0010" in results(report, Result.PASS)  # its opt schedule (oadrCreateOpt, then oadrCancelOpt)
    foreign = next(o for o in report.outcomes if o.case.id == "E1_0050")
    assert foreign.broken is not None
    assert foreign.broken.ref == "conformance rule 21"


async def test_openleadr_ven_signs_but_registers_without_xml_signature(openleadr_python: Path,
                                                                      tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    vtn_cert, vtn_key = pki.pair("vtn")
    ven_cert, ven_key = pki.pair("ven-1")
    options = Options(timeout=10, tls_cert=vtn_cert, tls_key=vtn_key, tls_ca=pki.ca, sign_cert=vtn_cert,
                      sign_key=vtn_key)
    report = await _run(openleadr_python, tmp_path, options, "--cert", str(ven_cert), "--key", str(ven_key), "--ca",
                        str(pki.ca), "--vtn-fingerprint", fingerprint(vtn_cert.read_bytes()))
    assert results(report, Result.FAIL) == ALWAYS | {"N1_0010"}, explain(report)
    assert {"G1_0050", "G1_0060", "G1_0070"} <= results(report, Result.PASS), explain(report)
    registration = next(o for o in report.outcomes if o.case.id == "N1_0010")
    assert any(b"oadrXmlSignature>false<" in e.document for e in registration.evidence if e.direction == "received")
