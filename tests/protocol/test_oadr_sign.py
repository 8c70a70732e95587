"""OpenADR 2.0b XML signatures (:mod:`transactive.protocol.oadr_sign`): what is signed verifies and
validates, and every way a document can be forged, replayed, re-wrapped or mis-signed is refused with its
reason (:class:`SignatureProblem`) and code 463."""

from __future__ import annotations

import copy
from base64 import b64decode
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import signxml.exceptions
from cryptography import x509
from lxml import etree
from signxml.verifier import SignatureConfiguration, XMLVerifier

from transactive.codec import encode_xml
from transactive.ei.oadr.examples import examples
from transactive.ei.oadr.poll import OadrPoll
from transactive.errors import LocalProtocolError, MalformedDocumentError, ResponseCode
from transactive.protocol.certs import CertificateError, Issued, KeyType, create_ca, issue_client, same_fingerprint
from transactive.protocol.clock import ManualClock
from transactive.protocol.errors import NotAuthorizedError, ServiceError
from transactive.protocol.oadr_sign import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_SKEW,
    Engine,
    MemoryNonceStore,
    OadrSigner,
    OadrVerifier,
    SignatureError,
    SignatureProblem,
    VerifiedSignature,
    is_signed,
)
from transactive.schemas import validate

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DS = "http://www.w3.org/2000/09/xmldsig#"
DSP = "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties"
OADR = "http://openadr.org/oadr-2.0b/2012/07"
NS = {"ds": DS, "dsp": DSP, "oadr": OADR, "ei": "http://docs.oasis-open.org/ns/energyinterop/201110"}
POLL = encode_xml(OadrPoll(ven_id="ven-1"))


class Party:
    """A CA, a VEN's certificate and key from it, a signer on a manual clock (with the fast engine, or signxml
    for every message: each case runs through both), and verifiers on that clock."""

    def __init__(self, key_type: KeyType, engine: Engine = "fast") -> None:
        self.ca = create_ca(key_type=key_type, clock=lambda: NOW)
        self.ven = issue_client(self.ca, "ven-1", key_type=key_type, clock=lambda: NOW)
        self.clock = ManualClock(NOW)
        self.engine = engine
        self.signer = OadrSigner(self.ven.certificate_pem(), self.ven.key_pem(), clock=self.clock, engine=engine)

    def verifier(self, **kwargs: object) -> OadrVerifier:
        return OadrVerifier(clock=self.clock, **kwargs)  # type: ignore[arg-type]


ENGINES: list[Engine] = ["fast", "signxml"]
PARTIES = {f"{k}-{e}": (k, e) for k in ("rsa", "ecdsa") for e in ENGINES}


@pytest.fixture(scope="module", params=list(PARTIES))
def party(request: pytest.FixtureRequest) -> Party:
    return Party(*PARTIES[request.param])  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=ENGINES)
def ecdsa(request: pytest.FixtureRequest) -> Party:
    return Party("ecdsa", request.param)


def refused(verifier: OadrVerifier, document: bytes | etree._Element, problem: SignatureProblem,
            **kwargs: str) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verifier.verify(document, **kwargs)
    assert caught.value.problem is problem, caught.value
    assert caught.value.response_code == 463  # ResponseCode.NOT_AUTHORIZED
    assert isinstance(caught.value, NotAuthorizedError | ServiceError)
    if problem in SIGNXML_AGREES:  # signxml, the reference, refuses it for the same reason
        with pytest.raises(SIGNXML_AGREES[problem]):
            signxml_verify(document)
    return caught.value


#: refusals signxml's XMLVerifier must agree with, and its exception for them
SIGNXML_AGREES: dict[SignatureProblem, type[Exception]] = {
    SignatureProblem.DIGEST_MISMATCH: signxml.exceptions.InvalidDigest,
    SignatureProblem.SIGNATURE_MISMATCH: signxml.exceptions.InvalidSignature,
}


def signxml_verify(document: bytes | etree._Element) -> list[bytes]:
    """What signxml (the reference) says was signed: each reference's canonical bytes."""
    root = document if isinstance(document, etree._Element) else etree.fromstring(document)
    text = root.findtext(".//ds:X509Certificate", namespaces=NS) or ""
    certificate = x509.load_der_x509_certificate(b64decode("".join(text.split())))
    config = SignatureConfiguration(expect_references=2, location="./", verification_time=NOW)
    results = XMLVerifier().verify(copy.deepcopy(root), x509_cert=certificate, expect_config=config)
    return [result.signed_data for result in results]  # type: ignore[union-attr]


def accepted(verifier: OadrVerifier, document: bytes, **kwargs: str) -> VerifiedSignature:
    """``verifier``'s verdict on a document it accepts, checked against signxml's."""
    verified = verifier.verify(document, **kwargs)
    assert etree.tostring(verified.signed_object, method="c14n", exclusive=True) == signxml_verify(document)[0]
    return verified


def tree(document: bytes) -> etree._Element:
    return etree.fromstring(document)


def text(root: etree._Element) -> bytes:
    return etree.tostring(root)


# ---- what is signed verifies ------------------------------------------------------------------------


def test_a_signed_poll_verifies_and_names_its_signer(party: Party) -> None:
    signed = party.signer.sign(POLL)
    assert is_signed(signed)
    assert not is_signed(POLL)
    verified = accepted(party.verifier(), signed, expected_fingerprint=party.ven.fingerprint)
    assert verified.fingerprint == party.signer.fingerprint == party.ven.fingerprint
    assert verified.certificate == party.ven.certificate
    assert verified.timestamp == NOW
    assert len(verified.nonce) == 32
    assert verified.decode() == OadrPoll(ven_id="ven-1")
    assert validate(tree(signed)).valid


def test_the_signature_has_the_openadr_layout(party: Party) -> None:
    root = tree(party.signer.sign(POLL))
    signature, signed_object = list(root)
    assert signature.tag == f"{{{DS}}}Signature"
    assert signed_object.tag == f"{{{OADR}}}oadrSignedObject"
    assert signed_object.get(f"{{{OADR}}}Id") == "oadrSignedObject"
    info = signature.find("ds:SignedInfo", NS)
    assert info is not None
    assert [r.get("URI") for r in info.findall("ds:Reference", NS)] == ["#oadrSignedObject", "#prop"]
    algorithms = {e.get("Algorithm") for e in info.iter(f"{{{DS}}}CanonicalizationMethod", f"{{{DS}}}Transform")}
    assert algorithms == {"http://www.w3.org/2001/10/xml-exc-c14n#"}
    method = info.find("ds:SignatureMethod", NS)
    assert method is not None
    expected = "rsa-sha256" if party.ven.key.__class__.__name__.startswith("RSA") else "ecdsa-sha256"
    assert method.get("Algorithm") == f"http://www.w3.org/2001/04/xmldsig-more#{expected}"
    assert root.findtext(".//dsp:timestamp", namespaces=NS) == "2026-12-04T12:00:00.000000Z"


@pytest.mark.parametrize("message", examples(), ids=lambda m: type(m).__name__)
def test_every_signed_message_validates_and_decodes_to_itself(ecdsa: Party, message: object) -> None:
    signed = ecdsa.signer.sign(encode_xml(message))  # type: ignore[arg-type]
    report = validate(tree(signed))
    assert report.valid, report.errors
    assert accepted(ecdsa.verifier(), signed).decode() == message


def test_every_signed_message_validates_with_rsa_too(party: Party) -> None:
    verifier = party.verifier()
    for message in examples():
        signed = party.signer.sign(encode_xml(message))
        assert validate(tree(signed)).valid
        assert accepted(verifier, signed).decode() == message


def test_the_verified_object_is_re_read_from_what_was_signed_not_the_received_tree(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    verified = ecdsa.verifier().verify(root)
    received = root.find("oadr:oadrSignedObject", NS)
    assert verified.signed_object is not received
    assert verified.signed_object.tag == f"{{{OADR}}}oadrSignedObject"
    assert verified.message_element.findtext("ei:venID", namespaces=NS) == "ven-1"


def test_a_verifier_trusting_the_signers_ca_accepts(party: Party, tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(party.ca.certificate_pem())
    assert party.verifier(trusted_ca=ca).verify(party.signer.sign(POLL)).fingerprint == party.ven.fingerprint


def test_fingerprints_compare_whatever_their_case(ecdsa: Party) -> None:
    ecdsa.verifier().verify(ecdsa.signer.sign(POLL), expected_fingerprint=ecdsa.ven.fingerprint.lower())


def test_fingerprints_compare_with_or_without_colons(ecdsa: Party) -> None:
    # the same reading as the TLS pin (transactive.protocol.certs.same_fingerprint): 7A:3C... is 7a3c...
    bare = ecdsa.ven.fingerprint.replace(":", "").lower()
    ecdsa.verifier().verify(ecdsa.signer.sign(POLL), expected_fingerprint=f" {bare} ")
    assert same_fingerprint(bare, ecdsa.ven.fingerprint)
    assert not same_fingerprint(bare[:-1] + ("0" if bare[-1] != "0" else "1"), ecdsa.ven.fingerprint)


# ---- tampering --------------------------------------------------------------------------------------


def test_a_changed_value_in_the_signed_object_is_refused(party: Party) -> None:
    root = tree(party.signer.sign(POLL))
    ven_id = root.find(".//ei:venID", NS)
    assert ven_id is not None
    ven_id.text = "ven-2"
    error = refused(party.verifier(), text(root), SignatureProblem.DIGEST_MISMATCH)
    assert "#oadrSignedObject" in error.message
    assert error.field is not None


def test_a_changed_nonce_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    nonce = root.find(".//dsp:nonce", NS)
    assert nonce is not None
    nonce.text = "0" * 32
    error = refused(ecdsa.verifier(), text(root), SignatureProblem.DIGEST_MISMATCH)
    assert "#prop" in error.message


def test_a_changed_signature_value_is_refused(party: Party) -> None:
    root = tree(party.signer.sign(POLL))
    value = root.find(".//ds:SignatureValue", NS)
    assert value is not None
    assert value.text is not None
    value.text = ("B" if value.text[0] == "A" else "A") + value.text[1:]
    refused(party.verifier(), text(root), SignatureProblem.SIGNATURE_MISMATCH)


def test_a_changed_digest_in_signed_info_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    other = tree(ecdsa.signer.sign(encode_xml(OadrPoll(ven_id="ven-2"))))
    digest, forged = (r.find(".//ds:DigestValue", NS) for r in (root, other))
    assert digest is not None
    assert forged is not None
    digest.text = forged.text  # the digest of another poll: the payload matches it, the signature does not
    signed_object, other_object = (r.find("oadr:oadrSignedObject", NS) for r in (root, other))
    assert signed_object is not None
    assert other_object is not None
    root.replace(signed_object, other_object)
    refused(ecdsa.verifier(), text(root), SignatureProblem.SIGNATURE_MISMATCH)


def test_a_signature_by_another_key_with_our_certificate_is_refused(ecdsa: Party) -> None:
    mallory = Party("ecdsa")
    root = tree(mallory.signer.sign(POLL))
    certificate = root.find(".//ds:X509Certificate", NS)
    ours = tree(ecdsa.signer.sign(POLL)).find(".//ds:X509Certificate", NS)
    assert certificate is not None
    assert ours is not None
    certificate.text = ours.text
    refused(ecdsa.verifier(), text(root), SignatureProblem.SIGNATURE_MISMATCH,
            expected_fingerprint=ecdsa.ven.fingerprint)


# ---- signature wrapping -----------------------------------------------------------------------------


def _forged_object(ven_id: str, object_id: str | None = "oadrSignedObject") -> etree._Element:
    forged = tree(encode_xml(OadrPoll(ven_id=ven_id))).find("oadr:oadrSignedObject", NS)
    assert forged is not None
    if object_id is not None:
        forged.set(f"{{{OADR}}}Id", object_id)
    return forged


def _move_signed_object_into_the_signature(root: etree._Element) -> None:
    signed_object = root.find("oadr:oadrSignedObject", NS)
    signature = root.find("ds:Signature", NS)
    assert signed_object is not None
    assert signature is not None
    etree.SubElement(signature, f"{{{DS}}}Object").append(signed_object)  # a ds:Object of its own: no digest changes


@pytest.mark.parametrize(("forged_id", "problem"), [
    ("oadrSignedObject", SignatureProblem.WRAPPED),   # two elements carry the signed Id
    (None, SignatureProblem.NOT_COVERED),             # the payload's object has no Id: nothing covers it
    ("other", SignatureProblem.NOT_COVERED),          # an Id no reference names
])
def test_a_signed_object_moved_away_and_replaced_is_refused(party: Party, forged_id: str | None,
                                                            problem: SignatureProblem) -> None:
    root = tree(party.signer.sign(POLL))
    _move_signed_object_into_the_signature(root)
    root.append(_forged_object("mallory", forged_id))
    refused(party.verifier(), text(root), problem)
    if forged_id is None:  # signxml alone accepts this one (it digests the moved original): a reader of the
        signxml_verify(text(root))  # payload's oadrSignedObject, like openleadr's parse_message, is fooled


def test_a_second_signed_object_beside_the_signed_one_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    root.append(_forged_object("mallory", None))
    refused(ecdsa.verifier(), text(root), SignatureProblem.WRAPPED)


def test_the_signed_objects_id_elsewhere_in_the_document_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    poll = root.find(".//oadr:oadrPoll", NS)
    assert poll is not None
    poll.set("Id", "oadrSignedObject")
    refused(ecdsa.verifier(), text(root), SignatureProblem.WRAPPED)


def test_replay_protection_outside_the_signature_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    container = root.find("ds:Signature/ds:Object", NS)
    signed_object = root.find("oadr:oadrSignedObject", NS)
    assert container is not None
    assert signed_object is not None
    signed_object.append(container)
    refused(ecdsa.verifier(), text(root), SignatureProblem.WRAPPED)


def test_a_reference_to_the_signature_property_alone_needs_its_replay_protection(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    replay = root.find(".//dsp:ReplayProtect", NS)
    assert replay is not None
    replay.getparent().remove(replay)  # type: ignore[union-attr]
    refused(ecdsa.verifier(), text(root), SignatureProblem.MALFORMED)


# ---- who signed -------------------------------------------------------------------------------------


def test_a_wrong_expected_fingerprint_is_refused(party: Party) -> None:
    error = refused(party.verifier(), party.signer.sign(POLL), SignatureProblem.FINGERPRINT_MISMATCH,
                    expected_fingerprint="00:11:22:33:44:55:66:77:88:99")
    assert party.ven.fingerprint in error.message


def test_a_certificate_from_another_ca_is_refused(party: Party, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.crt"
    other.write_bytes(create_ca(clock=lambda: NOW).certificate_pem())
    refused(party.verifier(trusted_ca=other), party.signer.sign(POLL), SignatureProblem.UNTRUSTED_CERTIFICATE)


def test_an_expired_certificate_is_refused(ecdsa: Party) -> None:
    late = ManualClock(NOW + timedelta(days=400))
    signer = OadrSigner(ecdsa.ven.certificate_pem(), ecdsa.ven.key_pem(), clock=late)
    error = refused(OadrVerifier(clock=late), signer.sign(POLL),
                    SignatureProblem.CERTIFICATE_NOT_VALID)
    assert "expired" in error.message


def test_a_signature_method_that_does_not_fit_the_key_is_refused(party: Party) -> None:
    root = tree(party.signer.sign(POLL))
    method = root.find(".//ds:SignatureMethod", NS)
    assert method is not None
    rsa = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    method.set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" if method.get("Algorithm") == rsa
               else rsa)
    refused(party.verifier(), text(root), SignatureProblem.UNSUPPORTED_ALGORITHM)


@pytest.mark.parametrize(("path", "algorithm"), [
    ("ds:SignedInfo/ds:SignatureMethod", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
    ("ds:SignedInfo/ds:CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"),
    ("ds:SignedInfo/ds:Reference/ds:DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1"),
    ("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform",
     "http://www.w3.org/2000/09/xmldsig#enveloped-signature"),
])
def test_algorithms_openadr_does_not_use_are_refused(ecdsa: Party, path: str, algorithm: str) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    element = root.find(f"ds:Signature/{path}", NS)
    assert element is not None
    element.set("Algorithm", algorithm)
    error = refused(ecdsa.verifier(), text(root), SignatureProblem.UNSUPPORTED_ALGORITHM)
    assert algorithm in error.message


# ---- replay protection ------------------------------------------------------------------------------


def test_a_replayed_document_is_refused_and_a_fresh_signature_accepted(party: Party) -> None:
    verifier = party.verifier()
    signed = party.signer.sign(POLL)
    verifier.verify(signed)
    error = refused(verifier, signed, SignatureProblem.REPLAYED)
    assert error.field == "dsp:ReplayProtect/dsp:nonce"
    verifier.verify(party.signer.sign(POLL))


def test_a_forged_document_does_not_burn_its_nonce(ecdsa: Party) -> None:
    verifier = ecdsa.verifier()
    signed = ecdsa.signer.sign(POLL)
    forged = tree(signed)
    ven_id = forged.find(".//ei:venID", NS)
    assert ven_id is not None
    ven_id.text = "mallory"
    refused(verifier, text(forged), SignatureProblem.DIGEST_MISMATCH)
    verifier.verify(signed)


def test_a_stale_timestamp_is_refused(party: Party) -> None:
    signed = party.signer.sign(POLL)
    late = ManualClock(NOW + DEFAULT_MAX_AGE + timedelta(microseconds=1))
    error = refused(OadrVerifier(clock=late), signed, SignatureProblem.STALE)
    assert error.field == "dsp:ReplayProtect/dsp:timestamp"
    OadrVerifier(clock=ManualClock(NOW + DEFAULT_MAX_AGE)).verify(signed)  # just in time


def test_a_timestamp_from_the_future_is_refused(party: Party) -> None:
    signed = party.signer.sign(POLL)
    early = ManualClock(NOW - DEFAULT_MAX_SKEW - timedelta(microseconds=1))
    refused(OadrVerifier(clock=early), signed, SignatureProblem.FUTURE)
    OadrVerifier(clock=ManualClock(NOW - DEFAULT_MAX_SKEW)).verify(signed)


def test_windows_are_the_verifiers_choice(ecdsa: Party) -> None:
    signed = ecdsa.signer.sign(POLL)
    late = ManualClock(NOW + timedelta(seconds=6))
    refused(OadrVerifier(clock=late, max_age=timedelta(seconds=5)), signed, SignatureProblem.STALE)


def test_the_memory_nonce_store_forgets_old_nonces_and_stays_bounded() -> None:
    clock = ManualClock(NOW)
    store = MemoryNonceStore(window=timedelta(minutes=1), capacity=3, clock=clock)
    assert not store.seen("a", NOW)
    assert store.seen("a", NOW)
    clock.advance(timedelta(minutes=1, seconds=1))
    assert not store.seen("a", clock())  # forgotten: its message would be stale by now
    for nonce in "bcd":
        assert not store.seen(nonce, clock())
    assert len(store) == 3  # "a" went first
    assert not store.seen("a", clock())
    with pytest.raises(ValueError, match="at least one"):
        MemoryNonceStore(capacity=0)


# ---- what is not a signed document ------------------------------------------------------------------


def test_an_unsigned_document_is_refused(ecdsa: Party) -> None:
    error = refused(ecdsa.verifier(), POLL, SignatureProblem.NO_SIGNATURE)
    assert error.field == "oadr:oadrPayload/ds:Signature"


def test_a_document_that_is_not_a_payload_is_refused(ecdsa: Party) -> None:
    refused(ecdsa.verifier(), b"<other/>", SignatureProblem.NO_SIGNATURE)
    assert not is_signed(b"<other/>")


def test_a_document_with_a_dtd_is_refused(ecdsa: Party) -> None:
    signed = ecdsa.signer.sign(POLL)
    declaration, _, rest = signed.partition(b"\n")
    hostile = declaration + b'\n<!DOCTYPE x [<!ENTITY e "ven-2">]>' + rest
    with pytest.raises(MalformedDocumentError) as caught:
        ecdsa.verifier().verify(hostile)
    assert caught.value.response_code == ResponseCode.BAD_REQUEST
    assert "DTD" in caught.value.message


def test_a_signature_without_a_certificate_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    key_info = root.find(".//ds:KeyInfo", NS)
    assert key_info is not None
    key_info.getparent().remove(key_info)  # type: ignore[union-attr]
    refused(ecdsa.verifier(), text(root), SignatureProblem.MALFORMED)


def test_a_certificate_that_is_not_base64_is_refused(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    certificate = root.find(".//ds:X509Certificate", NS)
    assert certificate is not None
    certificate.text = "not base64!"
    refused(ecdsa.verifier(), text(root), SignatureProblem.MALFORMED)


@pytest.mark.parametrize("timestamp", ["2026-12-04T12:00:00", "yesterday", "2026-13-04T12:00:00Z", ""])
def test_a_signed_timestamp_without_a_zone_or_not_a_time_is_refused(
        ecdsa: Party, monkeypatch: pytest.MonkeyPatch, timestamp: str) -> None:
    import transactive.protocol.oadr_sign as module

    monkeypatch.setattr(module, "_timestamp", lambda moment: timestamp)
    refused(ecdsa.verifier(), ecdsa.signer.sign(POLL), SignatureProblem.MALFORMED)


@pytest.mark.parametrize(("timestamp", "expected"), [
    ("2026-12-04T12:00:00Z", NOW),
    ("2026-12-04T13:00:00.5+01:00", NOW + timedelta(milliseconds=500)),
    ("2026-12-04T12:00:00.1234567891Z", NOW + timedelta(microseconds=123456)),
])
def test_any_zoned_xs_datetime_is_read(ecdsa: Party, monkeypatch: pytest.MonkeyPatch, timestamp: str,
                                       expected: datetime) -> None:
    import transactive.protocol.oadr_sign as module

    monkeypatch.setattr(module, "_timestamp", lambda moment: timestamp)
    assert ecdsa.verifier().verify(ecdsa.signer.sign(POLL)).timestamp == expected


# ---- the signer -------------------------------------------------------------------------------------


def test_a_signer_refuses_a_key_that_is_not_its_certificates(ecdsa: Party) -> None:
    stranger: Issued = issue_client(ecdsa.ca, "ven-2", clock=lambda: NOW)
    with pytest.raises(ValueError, match="does not belong"):
        OadrSigner(ecdsa.ven.certificate_pem(), stranger.key_pem())


def test_a_signer_from_files_names_the_file_it_cannot_use(ecdsa: Party, tmp_path: Path) -> None:
    cert, key = tmp_path / "ven.crt", tmp_path / "ven.key"
    cert.write_bytes(ecdsa.ven.certificate_pem())
    key.write_bytes(ecdsa.ven.key_pem())
    assert OadrSigner.from_files(cert, key).fingerprint == ecdsa.ven.fingerprint
    with pytest.raises(CertificateError) as caught:
        OadrSigner.from_files(cert, tmp_path / "missing.key")
    assert caught.value.path == str(tmp_path / "missing.key")
    key.write_bytes(issue_client(ecdsa.ca, "ven-3", clock=lambda: NOW).key_pem())
    with pytest.raises(CertificateError) as caught:
        OadrSigner.from_files(cert, key)
    assert caught.value.path == str(key)


def test_a_signer_signs_only_unsigned_payloads(ecdsa: Party) -> None:
    with pytest.raises(LocalProtocolError, match="signed already"):
        ecdsa.signer.sign(ecdsa.signer.sign(POLL))
    with pytest.raises(LocalProtocolError, match="oadrPayload"):
        ecdsa.signer.sign(b"<other/>")


def test_each_signature_has_its_own_nonce(ecdsa: Party) -> None:
    nonces = {tree(ecdsa.signer.sign(POLL)).findtext(".//dsp:nonce", namespaces=NS) for _ in range(20)}
    assert len(nonces) == 20


# ---- speed-related promises -------------------------------------------------------------------------


def test_a_certificate_is_parsed_once_however_many_messages_it_signs(
        ecdsa: Party, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[bytes] = []
    original = x509.load_der_x509_certificate

    def counting(data: bytes) -> object:
        loaded.append(data)
        return original(data)

    monkeypatch.setattr(x509, "load_der_x509_certificate", counting)
    verifier = ecdsa.verifier()
    for _ in range(5):
        verifier.verify(ecdsa.signer.sign(POLL))
    assert len(loaded) == 1


def test_a_tree_can_be_verified_without_a_copy_of_its_bytes(ecdsa: Party) -> None:
    root = tree(ecdsa.signer.sign(POLL))
    before = etree.tostring(root)
    ecdsa.verifier().verify(copy.deepcopy(root))
    assert etree.tostring(root) == before


# ---- the engines agree with each other and with signxml -------------------------------------------


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_what_either_engine_signs_verifies_with_signxml_too(key_type: KeyType) -> None:
    fast = Party(key_type, "fast")
    reference = OadrSigner(fast.ven.certificate_pem(), fast.ven.key_pem(), clock=fast.clock, engine="signxml")
    for message in examples():
        for signer in (fast.signer, reference):
            assert accepted(fast.verifier(), signer.sign(encode_xml(message))).decode() == message


def test_both_engines_write_the_same_document(ecdsa: Party) -> None:
    signers = [OadrSigner(ecdsa.ven.certificate_pem(), ecdsa.ven.key_pem(), clock=ecdsa.clock, engine=engine,
                          nonce=lambda: "n-1") for engine in ENGINES]
    fast, slow = (tree(signer.sign(POLL)) for signer in signers)
    for root in (fast, slow):  # ECDSA signature values differ on every signing
        value = root.find(".//ds:SignatureValue", NS)
        assert value is not None
        value.text = ""
    assert etree.tostring(fast, method="c14n") == etree.tostring(slow, method="c14n")


def test_a_nonce_that_needs_escaping_is_not_signed(ecdsa: Party) -> None:
    signer = OadrSigner(ecdsa.ven.certificate_pem(), ecdsa.ven.key_pem(), nonce=lambda: "<&>")
    with pytest.raises(LocalProtocolError, match="nonce"):
        signer.sign(POLL)


def test_an_unknown_engine_is_refused(ecdsa: Party) -> None:
    with pytest.raises(ValueError, match="engine"):
        OadrSigner(ecdsa.ven.certificate_pem(), ecdsa.ven.key_pem(), engine="openssl")  # type: ignore[arg-type]
