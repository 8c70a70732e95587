"""Hostile signed input over mutual TLS against a real ``transactive vtn serve --require-signatures --sign-cert
... --tls-*``: every document that fails its signature, its replay protection or the certificate binding is
refused with 463 in the ``eiResponse`` of an OpenADR reply (HTTP 200, never a 400 or a 500), a message of the
wrong role with 451, and every reply is signed by the VTN and valid against the 2.0b schema. A replay is
refused after a SIGKILL and a restart too (the nonces are durable), and under concurrent load no valid message
is taken for a replay.

VEN A is ``ven-1`` and VEN B ``ven-2`` of :func:`tests.pki.make_pki` (its other CA has a ``ven-1`` too).
"""

from __future__ import annotations

import ssl
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from tests.pki import Pki, make_pki
from tests.vtn.conftest import VtnProcess, start_vtn
from tests.vtn.oadr_probe import BASE, Answer, code_of, example, http, schema_valid
from transactive.codec import encode_xml
from transactive.ei.oadr import (
    EiResponse,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrPoll,
    OadrResponse,
)
from transactive.model import Model
from transactive.protocol.certs import fingerprint
from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier, SignatureProblem

NS = {"oadr": "http://openadr.org/oadr-2.0b/2012/07", "ds": "http://www.w3.org/2000/09/xmldsig#",
      "ei": "http://docs.oasis-open.org/ns/energyinterop/201110"}
A, B, C = "ven-1", "ven-2", "feeder-7"


def _flags(pki: Pki) -> tuple[str, ...]:
    cert, key = pki.pair("vtn")
    return ("--oadr-poll-seconds", "1", "--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(pki.ca),
            "--sign-cert", str(cert), "--sign-key", str(key), "--require-signatures")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def vtn(pki: Pki, tmp_path_factory: pytest.TempPathFactory, vtn_module_store: str | None) -> Iterator[VtnProcess]:
    process = start_vtn(tmp_path_factory.mktemp("oadr-signed") / "vtn", *_flags(pki), store=vtn_module_store)
    try:
        yield process
    finally:
        process.kill()


@dataclass
class Ven:
    """A hand-driven VEN over mutual TLS (``tls`` certificate) signing with ``signer``."""

    url: str
    pki: Pki
    context: ssl.SSLContext
    signer: OadrSigner
    ven_id: str | None = None

    def sign(self, message: Model) -> bytes:
        return self.signer.sign(encode_xml(message))

    def post(self, service: str, document: bytes) -> Answer:
        return http(f"{self.url}{BASE}/{service}", document, headers={"Content-Type": "application/xml"},
                    context=self.context)

    def poll(self, ven_id: str | None = None) -> bytes:
        """A signed poll for ``ven_id`` (default: this VEN's)."""
        return self.sign(OadrPoll(ven_id=ven_id or self.ven_id))


def _ven(vtn: VtnProcess, pki: Pki, tls: str, sign: str | None = None, *, other_ca: bool = False,
         clock: Callable[[], datetime] | None = None) -> Ven:
    cert, key = pki.pair(sign or tls, other=other_ca)
    signer = OadrSigner(cert.read_bytes(), key.read_bytes(), **({"clock": clock} if clock else {}))
    return Ven(vtn.url, pki, pki.client(tls), signer)


def _reply(answer: Answer, pki: Pki, *, status: int = 200) -> Model:
    """The VTN's reply after checking it: HTTP ``status``, XML, valid against the 2.0b schema, signed by the VTN."""
    assert answer.status == status, (answer.status, answer.body[:600])
    assert answer.content_type == "application/xml"
    schema_valid(answer.body)
    vtn_fingerprint = fingerprint(pki.pair("vtn")[0].read_bytes())
    verified = OadrVerifier(trusted_ca=pki.ca).verify(answer.body, expected_fingerprint=vtn_fingerprint)
    return verified.decode()


def _refused(answer: Answer, pki: Pki, code: int, *, naming: str) -> EiResponse:
    """The refusal's ``eiResponse``, after checking the reply, its code and that its description names
    ``naming`` (what failed)."""
    reply = _reply(answer, pki)
    assert code_of(reply) == code, reply
    response = getattr(reply, "response", None)
    assert isinstance(response, EiResponse)
    assert naming in (response.response_description or ""), response.response_description
    return response


def _register(vtn: VtnProcess, pki: Pki, name: str) -> Ven:
    ven = _ven(vtn, pki, name)
    reply = _reply(ven.post("EiRegisterParty", ven.sign(OadrCreatePartyRegistration(
        request_id=f"reg-{name}", ven_name=name, http_pull_model=True))), pki)
    assert isinstance(reply, OadrCreatedPartyRegistration)
    assert code_of(reply) == 200, reply
    ven.ven_id = reply.ven_id
    return ven


def _drain(ven: Ven) -> None:
    """Poll (and so take) what waits for the VEN until the VTN has nothing more."""
    for _ in range(20):
        reply = _reply(ven.post("OadrPoll", ven.poll()), ven.pki)
        if isinstance(reply, OadrResponse):
            assert code_of(reply) == 200
            return
    raise AssertionError("the VTN kept sending messages")


@pytest.fixture(scope="module")
def vens(vtn: VtnProcess, pki: Pki) -> dict[str, Ven]:
    """VEN A and VEN B, registered (each bound to its certificate), nothing waiting for them."""
    registered = {name: _register(vtn, pki, name) for name in (A, B)}
    for ven in registered.values():
        _drain(ven)
    return registered


def _tree(document: bytes) -> etree._Element:
    return etree.fromstring(document)


# ---- the valid case ------------------------------------------------------------------------------------


def test_a_signed_poll_over_mutual_tls_is_answered_with_a_signed_reply(vens: dict[str, Ven], pki: Pki) -> None:
    reply = _reply(vens[A].post("OadrPoll", vens[A].poll()), pki)
    assert isinstance(reply, OadrResponse)
    assert code_of(reply) == 200


# ---- documents changed after they were signed -----------------------------------------------------------


def test_a_payload_changed_after_signing_is_463(vens: dict[str, Ven], pki: Pki) -> None:
    root = _tree(vens[A].poll())
    ven_id = root.find(".//ei:venID", NS)
    assert ven_id is not None
    ven_id.text = vens[B].ven_id  # redirected to another VEN
    _refused(vens[A].post("OadrPoll", etree.tostring(root)), pki, 463, naming=SignatureProblem.DIGEST_MISMATCH)


def test_a_changed_signature_value_is_463(vens: dict[str, Ven], pki: Pki) -> None:
    root = _tree(vens[A].poll())
    value = root.find("ds:Signature/ds:SignatureValue", NS)
    assert value is not None
    raw = bytearray(b64decode("".join((value.text or "").split())))
    raw[len(raw) // 2] ^= 0x01
    value.text = b64encode(bytes(raw)).decode()
    _refused(vens[A].post("OadrPoll", etree.tostring(root)), pki, 463, naming=SignatureProblem.SIGNATURE_MISMATCH)


def test_a_signature_wrapping_attempt_is_463(vens: dict[str, Ven], pki: Pki) -> None:
    """The signed object is moved into the signature's ds:Object and another, with the same Id, put in its
    place (what a verifier that looks the reference up by Id would accept)."""
    root = _tree(vens[A].poll())
    signed = root.find("oadr:oadrSignedObject", NS)
    holder = root.find("ds:Signature/ds:Object", NS)
    assert signed is not None
    assert holder is not None
    forged = _tree(encode_xml(OadrPoll(ven_id=vens[B].ven_id))).find("oadr:oadrSignedObject", NS)
    assert forged is not None
    for name, value in signed.attrib.items():
        forged.set(name, value)
    holder.append(signed)
    root.append(forged)
    _refused(vens[A].post("OadrPoll", etree.tostring(root)), pki, 463, naming=SignatureProblem.WRAPPED)


def test_a_signature_moved_into_the_signed_object_is_no_signature_and_the_document_is_refused(
        vens: dict[str, Ven], pki: Pki) -> None:
    """A ds:Signature is a signature only as the payload's child: moved into the signed object, it makes a
    document that does not decode (400, its eiResponse saying so), never one taken for signed."""
    root = _tree(vens[A].poll())
    signature, signed = root.find("ds:Signature", NS), root.find("oadr:oadrSignedObject", NS)
    assert signature is not None
    assert signed is not None
    signed.append(signature)
    reply = _reply(vens[A].post("OadrPoll", etree.tostring(root)), pki, status=400)
    assert isinstance(reply, OadrResponse)
    assert 400 <= code_of(reply) < 500


# ---- replay protection ----------------------------------------------------------------------------------


def test_a_replayed_document_is_463_the_second_time(vens: dict[str, Ven], pki: Pki) -> None:
    document = vens[A].poll()
    assert code_of(_reply(vens[A].post("OadrPoll", document), pki)) == 200
    # the nonce is kept in the store with the first poll's effects (the verifier leaves replay memory to it)
    _refused(vens[A].post("OadrPoll", document), pki, 463, naming="nonce was seen before")


def test_a_document_replayed_after_the_vtn_was_killed_and_restarted_is_still_463(pki: Pki, tmp_path: Path,
                                                                                   vtn_store: str | None) -> None:
    data = tmp_path / "vtn"
    started = [start_vtn(data, *_flags(pki), store=vtn_store)]
    try:
        ven = _register(started[0], pki, A)
        _drain(ven)
        document = ven.poll()
        assert code_of(_reply(ven.post("OadrPoll", document), pki)) == 200
        started[0].kill()  # SIGKILL: nothing is flushed on the way out
        started.append(start_vtn(data, *_flags(pki), log_name="vtn-restarted", store=vtn_store))
        ven.url = started[1].url
        # the restarted VTN still has the nonce in its store
        _refused(ven.post("OadrPoll", document), pki, 463, naming="nonce was seen before")
        assert code_of(_reply(ven.post("OadrPoll", ven.poll()), pki)) == 200  # a fresh one is fine
    finally:
        for process in started:
            process.kill()


@pytest.mark.parametrize(("shift", "problem"), [(timedelta(minutes=-10), SignatureProblem.STALE),
                                                (timedelta(minutes=10), SignatureProblem.FUTURE)],
                         ids=["stale", "future"])
def test_a_timestamp_outside_the_window_is_463(vtn: VtnProcess, vens: dict[str, Ven], pki: Pki, shift: timedelta,
                                              problem: SignatureProblem) -> None:
    skewed = _ven(vtn, pki, A, clock=lambda: datetime.now(UTC) + shift)
    _refused(skewed.post("OadrPoll", skewed.sign(OadrPoll(ven_id=vens[A].ven_id))), pki, 463, naming=problem)


# ---- who signed ------------------------------------------------------------------------------------------


def test_an_unsigned_message_is_463(vens: dict[str, Ven], pki: Pki) -> None:
    _refused(vens[A].post("OadrPoll", encode_xml(OadrPoll(ven_id=vens[A].ven_id))), pki, 463,
             naming="requires XML signatures")


def test_a_message_signed_by_a_certificate_of_another_ca_is_463(vtn: VtnProcess, vens: dict[str, Ven],
                                                                pki: Pki) -> None:
    # TLS with A's certificate; the signature by the other CA's "ven-1"
    stranger = _ven(vtn, pki, A, other_ca=True)
    _refused(stranger.post("OadrPoll", stranger.sign(OadrPoll(ven_id=vens[A].ven_id))), pki, 463,
             naming=SignatureProblem.UNTRUSTED_CERTIFICATE)


def test_another_ven_s_valid_certificate_cannot_speak_for_a_ven(vtn: VtnProcess, vens: dict[str, Ven],
                                                                 pki: Pki) -> None:
    # B, over TLS and signing as itself, polls with A's venID: A is bound to its own certificate
    _refused(vens[B].post("OadrPoll", vens[B].poll(vens[A].ven_id)), pki, 463, naming="is bound to certificate")


def test_a_tls_certificate_of_one_ven_and_a_signature_of_another_is_463(vtn: VtnProcess, vens: dict[str, Ven],
                                                                         pki: Pki) -> None:
    mixed = _ven(vtn, pki, A, sign=B)
    for ven_id in (vens[A].ven_id, vens[B].ven_id):
        _refused(mixed.post("OadrPoll", mixed.sign(OadrPoll(ven_id=ven_id))), pki, 463,
                 naming="signed with another certificate than the TLS client's")


def test_a_signed_message_of_the_vtn_s_role_posted_by_a_ven_is_451(vens: dict[str, Ven], pki: Pki) -> None:
    document = vens[A].sign(example(OadrDistributeEvent))
    _refused(vens[A].post("EiEvent", document), pki, 451, naming="is not a message a VEN sends")


# ---- load ------------------------------------------------------------------------------------------------


def test_no_valid_message_is_refused_as_a_replay_under_concurrent_load(vtn: VtnProcess, vens: dict[str, Ven],
                                                                      pki: Pki) -> None:
    """200 signed polls, each signed as it is sent (a fresh nonce), from 20 concurrent clients: all answered
    200; 40 polls of another VEN's certificate for the same venID, sent among them (refused in the same group
    commits), are all 463."""
    ven = _register(vtn, pki, C)
    _drain(ven)
    assert ven.ven_id is not None
    intruder = vens[B]

    def client(n: int) -> list[tuple[bool, int]]:
        out = []
        for i in range(12):
            hostile = i % 6 == 5
            sender = intruder if hostile else ven
            out.append((hostile, code_of(_reply(sender.post("OadrPoll", sender.poll(ven.ven_id)), pki))))
        return out

    with ThreadPoolExecutor(20) as pool:
        results = [r for batch in pool.map(client, range(20)) for r in batch]
    assert [code for hostile, code in results if not hostile] == [200] * 200
    assert [code for hostile, code in results if hostile] == [463] * 40
