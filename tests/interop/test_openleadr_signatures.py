"""Signed OpenADR 2.0b messages between transactive and openleadr 0.5.36, both directions, RSA and ECDSA.

* transactive → openleadr: documents :class:`OadrSigner` signed (poll, registration, event, response) pass
  openleadr's server checks (schema, ``validate_xml_signature`` against our fingerprint, ``parse_message``),
  and a document changed after signing, or checked against another fingerprint, does not;
* openleadr → transactive: documents openleadr's ``create_message`` signed verify with :class:`OadrVerifier`
  (inclusive c14n, its ``#prop`` layout), decode to the message openleadr meant, and a changed one is refused.

Both signing engines (the fast path, and signxml for every message) are checked by openleadr.

openleadr runs in its own virtual environment through ``interop/openleadr_peer/signatures.py``; its replay
window is 5 seconds, so each test signs right before openleadr verifies.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.interop.conftest import PEER
from transactive.codec import encode_xml
from transactive.ei.oadr.examples import examples
from transactive.protocol.certs import CertificateSet, create_set
from transactive.protocol.oadr_sign import Engine, OadrSigner, OadrVerifier, SignatureError, SignatureProblem
from transactive.schemas import validate

pytestmark = pytest.mark.interop

TYPES = ["oadrPoll", "oadrCreatePartyRegistration", "oadrDistributeEvent", "oadrResponse"]
KEY_TYPES = ["rsa", "ecdsa"]
ENGINES: list[Engine] = ["fast", "signxml"]
NS = {"ei": "http://docs.oasis-open.org/ns/energyinterop/201110"}


@pytest.fixture(scope="module", params=KEY_TYPES)
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    return create_set(tmp_path_factory.mktemp(f"pki-{request.param}"), vtn="vtn-1", vens=["ven-1"],
                      key_type=request.param)


def openleadr(python: Path, *args: str) -> Any:
    done = subprocess.run([str(python), str(PEER / "signatures.py"), *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("engine", ENGINES)
def test_openleadr_verifies_what_we_sign(openleadr_python: Path, pki: CertificateSet, tmp_path: Path,
                                         engine: Engine) -> None:
    cert, key = pki.files(pki.vens[0])
    signer = OadrSigner.from_files(cert, key, engine=engine)
    wanted = {str(type(m).__tag__).split(":")[1]: m for m in examples()}
    files = []
    for name in TYPES:
        signed = signer.sign(encode_xml(wanted[name]))
        assert validate(etree.fromstring(signed)).valid
        (tmp_path / f"{name}.xml").write_bytes(signed)
        files.append(str(tmp_path / f"{name}.xml"))
    tampered = etree.fromstring(signer.sign(encode_xml(wanted["oadrPoll"])))
    ven_id = tampered.find(".//ei:venID", NS)
    assert ven_id is not None
    ven_id.text = "mallory"
    (tmp_path / "tampered.xml").write_bytes(etree.tostring(tampered))
    verdicts = openleadr(openleadr_python, "verify", signer.fingerprint, *files, str(tmp_path / "tampered.xml"))
    for name in TYPES:
        assert verdicts[f"{name}.xml"] == {"ok": True, "message_type": name, "error": None}, name
    assert not verdicts["tampered.xml"]["ok"]
    assert "Digest mismatch" in verdicts["tampered.xml"]["error"]


def test_openleadr_refuses_what_we_sign_under_another_fingerprint(openleadr_python: Path, pki: CertificateSet,
                                                                  tmp_path: Path) -> None:
    signer = OadrSigner.from_files(*pki.files(pki.vens[0]))
    (tmp_path / "poll.xml").write_bytes(signer.sign(encode_xml(next(m for m in examples()
                                                                    if type(m).__name__ == "OadrPoll"))))
    verdict = openleadr(openleadr_python, "verify", pki.vtn.fingerprint, str(tmp_path / "poll.xml"))["poll.xml"]
    assert not verdict["ok"]
    assert verdict["error"].startswith("FingerprintMismatch")


@pytest.fixture(scope="module")
def openleadr_signed(openleadr_python: Path, pki: CertificateSet,
                     tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateSet, Path, str]:
    """Documents openleadr signed with the VTN's certificate (as an openleadr VTN signs what it sends)."""
    out = tmp_path_factory.mktemp("openleadr-signed")
    cert, key = pki.files(pki.vtn)
    made = openleadr(openleadr_python, "sign", str(cert), str(key), str(out), *TYPES)
    assert sorted(made["files"]) == sorted(f"{name}.xml" for name in TYPES)
    return pki, out, made["fingerprint"]


@pytest.mark.parametrize("name", TYPES)
def test_we_verify_what_openleadr_signs(openleadr_signed: tuple[CertificateSet, Path, str], name: str) -> None:
    pki, out, their_fingerprint = openleadr_signed
    assert their_fingerprint == pki.vtn.fingerprint
    verified = OadrVerifier(trusted_ca=pki.files(pki.ca)[0]).verify((out / f"{name}.xml").read_bytes(),
                                                                    expected_fingerprint=pki.vtn.fingerprint)
    assert verified.fingerprint == pki.vtn.fingerprint
    assert type(verified.decode()).__tag__ == f"oadr:{name}"


def test_we_refuse_a_changed_openleadr_document(openleadr_signed: tuple[CertificateSet, Path, str]) -> None:
    pki, out, _ = openleadr_signed
    root = etree.fromstring((out / "oadrPoll.xml").read_bytes())
    ven_id = root.find(".//ei:venID", NS)
    assert ven_id is not None
    ven_id.text = "mallory"
    with pytest.raises(SignatureError) as caught:
        OadrVerifier().verify(etree.tostring(root), expected_fingerprint=pki.vtn.fingerprint)
    assert caught.value.problem is SignatureProblem.DIGEST_MISMATCH
    assert caught.value.response_code == 463


def test_we_refuse_an_openleadr_document_replayed(openleadr_signed: tuple[CertificateSet, Path, str]) -> None:
    _pki, out, _ = openleadr_signed
    verifier = OadrVerifier()
    document = (out / "oadrResponse.xml").read_bytes()
    verifier.verify(document)
    with pytest.raises(SignatureError) as caught:
        verifier.verify(document)
    assert caught.value.problem is SignatureProblem.REPLAYED
    assert caught.value.response_code == 463
