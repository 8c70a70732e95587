"""The certificates ``transactive certs create`` makes, as openleadr 0.5.36 sees them (issue 12 relies on
both): the fingerprint we print is openleadr's ``utils.certificate_fingerprint`` of the file, and openleadr
signs an OpenADR 2.0b message with the certificate and key and verifies that signature against the
fingerprint (what its VTN's fingerprint lookup does), for both key types."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import PEER
from transactive.protocol.certs import create_set

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_openleadr_computes_our_fingerprints_and_signs_with_our_certificates(
        openleadr_python: Path, tmp_path: Path, key_type: str) -> None:
    made = create_set(tmp_path / "certs", vtn="vtn-1", vens=["ven-1", "ven-2"], key_type=key_type)  # type: ignore[arg-type]
    report = made.as_json()
    entries = [report["ca"], report["vtn"], *report["vens"]]
    specs = [f"{e['cert']}:{e['key']}" for e in entries]
    done = subprocess.run([str(openleadr_python), str(PEER / "certificates.py"), *specs], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    for entry in entries:
        verdict = seen[entry["cert"]]
        assert verdict["fingerprint"] == entry["fingerprint"], entry["name"]
    for entry in (report["vtn"], *report["vens"]):  # the parties' certificates sign messages
        assert seen[entry["cert"]]["signed"] is True, seen[entry["cert"]]["error"]
