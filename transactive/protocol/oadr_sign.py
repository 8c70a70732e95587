"""XML signatures on OpenADR 2.0b messages: sign what we send, verify what we receive (as openleadr does).

OpenADR 2.0b (profile specification, security) signs a message by putting a ``ds:Signature`` beside the
signed object, inside the same ``oadr:oadrPayload``::

    <oadr:oadrPayload>
      <ds:Signature Id="oadrSignature">
        <ds:SignedInfo>
          <ds:CanonicalizationMethod Algorithm="...xml-exc-c14n#"/>
          <ds:SignatureMethod Algorithm="...rsa-sha256 | ...ecdsa-sha256"/>
          <ds:Reference URI="#oadrSignedObject">  exclusive c14n, SHA-256 of the signed object  </ds:Reference>
          <ds:Reference URI="#prop">              exclusive c14n, SHA-256 of the ds:Object below </ds:Reference>
        </ds:SignedInfo>
        <ds:SignatureValue>...</ds:SignatureValue>
        <ds:KeyInfo><ds:X509Data><ds:X509Certificate>the signer's certificate</ds:X509Certificate>...
        <ds:Object Id="prop"><ds:SignatureProperties><ds:SignatureProperty Target="#oadrSignature">
          <dsp:ReplayProtect><dsp:timestamp>2026-07-13T09:30:00.000000Z</dsp:timestamp>
                             <dsp:nonce>9f0c...</dsp:nonce></dsp:ReplayProtect>
        </ds:SignatureProperty></ds:SignatureProperties></ds:Object>
      </ds:Signature>
      <oadr:oadrSignedObject oadr:Id="oadrSignedObject"> the message </oadr:oadrSignedObject>
    </oadr:oadrPayload>

The signature is *detached*: both references point at elements by their ``Id``; the second covers the
``dsp:ReplayProtect`` (when it was signed and a random nonce), so a captured message cannot be sent again.
The layout is openleadr 0.5.36's (``messaging.create_message``: the ``#prop`` object, ``oadr:Id`` on the
signed object, a ``...Z`` timestamp, which its ``utils.parse_datetime`` insists on), with exclusive
canonicalisation as the profile asks; openleadr canonicalises inclusively (c14n 1.0), and both verify either.

API::

    signer = OadrSigner.from_files(Path("ven-1.crt"), Path("ven-1.key"))   # parses certificate and key once
    signed: bytes = signer.sign(encode_xml(OadrPoll(ven_id="ven-1")))     # fresh nonce, current UTC time
    signer.fingerprint                                                     # "F5:D2:...": what the VTN pins

    verifier = OadrVerifier(nonces=MemoryNonceStore(), trusted_ca=Path("ca.crt"))
    verified = verifier.verify(signed, expected_fingerprint=fingerprint_registered_for_the_ven)
    message = verified.decode()          # decoded from verified.signed_object: exactly what was signed

* :class:`OadrSigner` — one certificate and key, parsed once; :meth:`~OadrSigner.sign` takes an unsigned
  ``oadrPayload`` (as :func:`transactive.codec.encode_xml` makes it) and returns it signed.
* :class:`OadrVerifier` — :meth:`~OadrVerifier.verify` returns a :class:`VerifiedSignature` (the signer's
  certificate and fingerprint, the nonce and timestamp, and the verified ``oadrSignedObject``) or raises
  :class:`SignatureError` (463, ``NotAuthorizedError``) whose ``problem`` (:class:`SignatureProblem`) names
  what failed. Not well-formed or unsafe documents (a DTD, entities) are the hardened parser's
  :class:`~transactive.errors.MalformedDocumentError` (400).
* :class:`NonceStore` — the replay memory, a protocol so a VTN can keep it in its durable store;
  :class:`MemoryNonceStore` keeps it in memory, bounded, forgetting nonces once their message is too old.
* :func:`is_signed` — whether a document carries a signature at all.

What the verifier insists on (each refusal is one :class:`SignatureProblem`):

* a ``ds:Signature`` as a child of the ``oadrPayload`` root, with exactly two references: one to the
  payload's own ``oadrSignedObject`` (the root's child, found by its ``Id``, which no other element may
  carry: signature-wrapping attacks move the signed object elsewhere and put another in its place), and one
  to the element of this signature's ``ds:Object`` that holds the ``dsp:ReplayProtect``;
* RSA-SHA256 or ECDSA-SHA256, SHA-256 digests, exclusive or inclusive canonicalisation (1.0, 1.1, without
  comments) and no other transform;
* the first ``ds:X509Certificate`` is the signer's; with ``trusted_ca`` it must chain to one of those CA
  certificates (the others in ``ds:X509Data`` may serve as intermediates); it must be valid now; with
  ``expected_fingerprint`` its OpenADR fingerprint must be that one;
* the digests and the signature value (checked by signxml), then the replay protection *as signed*: a
  timestamp no older than ``max_age`` and no further ahead than ``max_skew``, and a nonce not seen before.

Nonces are recorded only after everything else verified, so forged messages cannot burn them.

Speed: certificates are parsed once per distinct certificate (cached by their DER bytes, with their
fingerprint and CA verdict), keys once per signer; the signer's ``ds:KeyInfo`` is built once; signxml gets
the parsed certificate (never PEM), the element (never bytes) and our hardened parser; its own XML-DSig
schema check of the signature is replaced by the stricter structural checks above, done on the tree we
parsed. ``bench/oadr_sign_bench.py`` measures sign and verify for both key types beside openleadr's.

This module is imported on its own (``transactive.protocol`` does not load it), and needs the ``signing``
extra (signxml 5).
"""

from __future__ import annotations

import binascii
import heapq
import os
import re
import threading
from base64 import b64decode, b64encode
from collections import OrderedDict
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.signer import SignatureReference, XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from transactive.codec.safe import parse_xml
from transactive.errors import LocalProtocolError
from transactive.protocol.certs import CertificateError, fingerprint_der
from transactive.protocol.clock import Clock, system_clock
from transactive.protocol.errors import NotAuthorizedError

if TYPE_CHECKING:
    from transactive.model.base import Model

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_SKEW",
    "SIGNED_OBJECT_ID",
    "MemoryNonceStore",
    "NonceStore",
    "OadrSigner",
    "OadrVerifier",
    "SignatureError",
    "SignatureProblem",
    "VerifiedSignature",
    "is_signed",
]

OADR = "http://openadr.org/oadr-2.0b/2012/07"
DS = "http://www.w3.org/2000/09/xmldsig#"
DSP = "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties"
_NS = {"oadr": OADR, "ds": DS, "dsp": DSP}

#: the ``Id`` our signer gives the ``oadrSignedObject`` (openleadr's too)
SIGNED_OBJECT_ID = "oadrSignedObject"
#: the ``Id`` of our ``ds:Signature`` (what the ``ds:SignatureProperty`` targets)
SIGNATURE_ID = "oadrSignature"
#: a signed message older than this is refused (openleadr allows 5 seconds, too little for real clocks)
DEFAULT_MAX_AGE = timedelta(minutes=2)
#: a signed message from further in the future than this is refused (the signer's clock runs ahead)
DEFAULT_MAX_SKEW = timedelta(seconds=30)

_PAYLOAD = f"{{{OADR}}}oadrPayload"
_SIGNED_OBJECT = f"{{{OADR}}}oadrSignedObject"
_OADR_ID = f"{{{OADR}}}Id"
_SIGNATURE = f"{{{DS}}}Signature"
_DS_OBJECT = f"{{{DS}}}Object"
_REPLAY = f"{{{DSP}}}ReplayProtect"
_TIMESTAMP = f"{{{DSP}}}timestamp"
_NONCE = f"{{{DSP}}}nonce"
_BY_ID = etree.XPath("//*[@*[local-name() = 'Id'] = $id]")


def _by_id(root: etree._Element, value: str) -> list[etree._Element]:
    """Every element with an attribute named ``Id`` (in any namespace) of ``value``: what signxml resolves
    ``#value`` to."""
    return cast(list[etree._Element], _BY_ID(root, id=value))
_C14N_ALLOWED = frozenset({
    CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value,
    CanonicalizationMethod.CANONICAL_XML_1_0.value,
    CanonicalizationMethod.CANONICAL_XML_1_1.value,
})
_SIGNATURE_METHODS = {SignatureMethod.RSA_SHA256.value: rsa.RSAPublicKey,
                      SignatureMethod.ECDSA_SHA256.value: ec.EllipticCurvePublicKey}
_DIGEST = DigestAlgorithm.SHA256.value
#: how many distinct signers' certificates a verifier keeps parsed
_CERT_CACHE = 4096
#: xs:dateTime as the replay protection carries it (fractions of any length, a zone)
_DATETIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


class SignatureProblem(StrEnum):
    """What made a verifier refuse a document (``SignatureError.problem``)."""

    NO_SIGNATURE = "no signature"
    MALFORMED = "malformed signature"
    UNSUPPORTED_ALGORITHM = "unsupported algorithm"
    NOT_COVERED = "signed object not covered"
    WRAPPED = "signature wrapping"
    DIGEST_MISMATCH = "digest mismatch"
    SIGNATURE_MISMATCH = "signature mismatch"
    FINGERPRINT_MISMATCH = "fingerprint mismatch"
    UNTRUSTED_CERTIFICATE = "certificate not from a trusted CA"
    CERTIFICATE_NOT_VALID = "certificate not valid now"
    STALE = "stale timestamp"
    FUTURE = "timestamp in the future"
    REPLAYED = "replayed nonce"


class SignatureError(NotAuthorizedError):
    """A signed document that does not verify (463); ``problem`` says what failed, ``field`` where."""

    def __init__(self, problem: SignatureProblem, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{problem}: {message}", field=field)
        self.problem = problem


class NonceStore(Protocol):
    """The replay memory of a verifier (a VTN may keep it in its durable store)."""

    def seen(self, nonce: str, at: datetime) -> bool:
        """Record ``nonce`` (its message was signed at ``at``); True if it was already recorded and not yet
        forgotten (a store may forget a nonce once ``at`` is older than the verifier's ``max_age``)."""
        ...


class MemoryNonceStore:
    """Nonces in memory, each forgotten once its message is older than ``window`` (then the timestamp check
    refuses a replay anyway), and at most ``capacity`` of them (the oldest go first). Thread-safe."""

    def __init__(self, *, window: timedelta = DEFAULT_MAX_AGE, capacity: int = 1_000_000,
                 clock: Clock = system_clock) -> None:
        if capacity < 1:
            raise ValueError("a nonce store needs room for at least one nonce")
        self.window = window
        self.capacity = capacity
        self._clock = clock
        self._nonces: set[str] = set()
        self._expiry: list[tuple[datetime, str]] = []  # a heap: (when the nonce may be forgotten, nonce)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nonces)

    def seen(self, nonce: str, at: datetime) -> bool:
        with self._lock:
            self._forget(self._clock() - self.window)
            if nonce in self._nonces:
                return True
            while len(self._nonces) >= self.capacity:
                self._nonces.discard(heapq.heappop(self._expiry)[1])
            self._nonces.add(nonce)
            heapq.heappush(self._expiry, (at, nonce))
            return False

    def _forget(self, before: datetime) -> None:
        expiry = self._expiry
        while expiry and expiry[0][0] < before:
            self._nonces.discard(heapq.heappop(expiry)[1])


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a verified signature proves: who signed (certificate, fingerprint), when (timestamp), the nonce,
    and ``signed_object``: the ``oadrSignedObject`` exactly as it was signed (re-read from its canonical
    form, not taken from the received tree), the one thing to decode."""

    fingerprint: str
    certificate: x509.Certificate
    nonce: str
    timestamp: datetime
    signed_object: etree._Element

    @property
    def message_element(self) -> etree._Element:
        """The message inside the signed object (``oadr:oadrPoll``, ...)."""
        children = [child for child in self.signed_object if isinstance(child.tag, str)]
        if len(children) != 1:
            raise SignatureError(SignatureProblem.MALFORMED, "the signed object must hold exactly one message",
                                 field="oadr:oadrPayload/oadr:oadrSignedObject")
        return children[0]

    def decode(self) -> Model:
        """The signed message as its model (:func:`transactive.codec.decode_element` of
        :attr:`message_element`)."""
        from transactive.codec.xml import decode_element

        return decode_element(self.message_element)


# ---- signing ----------------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    # UTC with microseconds and a "Z": the one form openleadr's parse_datetime reads
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OadrSigner:
    """Signs documents with one certificate and key, parsed once (not per message).

    ``cert_pem`` holds the signer's certificate first, then any intermediates (all go into ``ds:X509Data``);
    ``key_pem`` its unencrypted private key (RSA or elliptic-curve; ECDSA-SHA256 or RSA-SHA256 follows).
    ``nonce`` makes the nonces (default: 128 random bits in hex). Not thread-safe: one per thread.
    """

    def __init__(self, cert_pem: bytes, key_pem: bytes, *, clock: Clock = system_clock,
                 nonce: Callable[[], str] | None = None) -> None:
        try:
            chain = x509.load_pem_x509_certificates(cert_pem)
        except ValueError as error:
            raise ValueError(f"not a readable PEM certificate ({error})") from None
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except TypeError:
            raise ValueError("the private key is encrypted: give an unencrypted key") from None
        if isinstance(key, rsa.RSAPrivateKey):
            method = SignatureMethod.RSA_SHA256
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            method = SignatureMethod.ECDSA_SHA256
        else:
            raise ValueError(f"a {type(key).__name__}: OpenADR signs with RSA or ECDSA keys")
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if chain[0].public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
            raise ValueError("the private key does not belong to the (first) certificate")
        self.certificate = chain[0]
        self.fingerprint = fingerprint_der(self.certificate.public_bytes(der))
        self._key = key
        self._clock = clock
        self._nonce = nonce or (lambda: os.urandom(16).hex())
        self._signer = XMLSigner(method=SignatureConstructionMethod.detached, signature_algorithm=method,
                                 digest_algorithm=DigestAlgorithm.SHA256,
                                 c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
        key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
        x509_data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
        for certificate in chain:
            text = b64encode(certificate.public_bytes(der)).decode("ascii")  # in PEM's 64-column lines
            etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = "\n".join(
                text[i:i + 64] for i in range(0, len(text), 64))
        self._key_info = key_info

    @classmethod
    def from_files(cls, cert: Path, key: Path, *, clock: Clock = system_clock) -> OadrSigner:
        """A signer from a PEM certificate file and a PEM key file (:class:`CertificateError` names the file)."""
        try:
            cert_pem = cert.read_bytes()
        except OSError as error:
            raise CertificateError(cert, f"cannot read ({error.strerror or error})") from None
        try:
            key_pem = key.read_bytes()
        except OSError as error:
            raise CertificateError(key, f"cannot read ({error.strerror or error})") from None
        try:
            return cls(cert_pem, key_pem, clock=clock)
        except ValueError as error:
            raise CertificateError(key if "key" in str(error) else cert, str(error)) from None

    def sign(self, document: bytes) -> bytes:
        """``document`` (an unsigned ``oadrPayload``) signed, with a fresh nonce and the current UTC time."""
        root = parse_xml(document)
        signed_object = _unsigned_object(root)
        object_id = signed_object.get(_OADR_ID)
        if object_id is None:
            object_id = SIGNED_OBJECT_ID
            signed_object.set(_OADR_ID, object_id)
        replay = etree.Element(_REPLAY, nsmap={"dsp": DSP}, Id="replayProtect", Target=f"#{SIGNATURE_ID}")
        etree.SubElement(replay, _TIMESTAMP).text = _timestamp(self._clock())
        etree.SubElement(replay, _NONCE).text = self._nonce()
        signature = self._signer.sign(signed_object, key=self._key, key_info=deepcopy(self._key_info),
                                      reference_uri=[SignatureReference(URI=f"#{object_id}")],
                                      signature_properties=replay)
        signature.set("Id", SIGNATURE_ID)
        root.insert(0, signature)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _unsigned_object(root: etree._Element) -> etree._Element:
    if root.tag != _PAYLOAD:
        raise LocalProtocolError(f"only an oadr:oadrPayload can be signed, not {root.tag}")
    children = [child for child in root if isinstance(child.tag, str)]
    if len(children) != 1 or children[0].tag != _SIGNED_OBJECT:
        raise LocalProtocolError("an unsigned oadr:oadrPayload holds exactly one oadr:oadrSignedObject "
                                 "(is it signed already?)")
    return children[0]


# ---- verifying --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Signer:
    """A signer's certificate as a verifier keeps it (parsed once per distinct certificate)."""

    certificate: x509.Certificate
    fingerprint: str
    key_type: type
    #: None: trusted (or no CA configured); otherwise why not
    untrusted: str | None
    not_before: datetime
    not_after: datetime


def _refuse(problem: SignatureProblem, message: str, field: str | None = None) -> SignatureError:
    return SignatureError(problem, message, field=field)


_SIG_PATH = "oadr:oadrPayload/ds:Signature"


class OadrVerifier:
    """Verifies signed OpenADR 2.0b documents (see the module's documentation for what it insists on).

    ``nonces`` is the replay memory (a :class:`MemoryNonceStore` over ``max_age`` unless given);
    ``trusted_ca`` a PEM file of CA certificates the signers' certificates must chain to (without it any
    certificate is taken, and the caller pins the signer with ``expected_fingerprint``, as OpenADR's
    out-of-band fingerprint exchange does). Thread-safe when the nonce store is.
    """

    def __init__(self, *, nonces: NonceStore | None = None, max_age: timedelta = DEFAULT_MAX_AGE,
                 max_skew: timedelta = DEFAULT_MAX_SKEW, clock: Clock = system_clock,
                 trusted_ca: Path | None = None) -> None:
        self.max_age = max_age
        self.max_skew = max_skew
        self._clock = clock
        self.nonces: NonceStore = nonces if nonces is not None else MemoryNonceStore(window=max_age, clock=clock)
        self._trusted: list[x509.Certificate] | None = None
        if trusted_ca is not None:
            from transactive.protocol.certs import load_certificates

            self._trusted = load_certificates(trusted_ca)
        self._signers: OrderedDict[bytes, _Signer] = OrderedDict()
        self._lock = threading.Lock()
        self._config = SignatureConfiguration(
            require_x509=True, location="./", expect_references=2,
            signature_methods=frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256}),
            digest_algorithms=frozenset({DigestAlgorithm.SHA256}), ignore_ambiguous_key_info=False)
        self._local = threading.local()

    def verify(self, document: bytes | etree._Element, *,
               expected_fingerprint: str | None = None) -> VerifiedSignature:
        """The verified signature of ``document`` (bytes, or the root element of a tree parsed with
        :func:`transactive.codec.parse_xml`), or :class:`SignatureError` naming what failed."""
        root = parse_xml(document) if isinstance(document, bytes | str) else document
        signature, signed_object = _parts(root)
        method, object_ref, property_ref = _references(signature, signed_object)
        _check_replay_reference(root, signature, property_ref)
        signer = self._signer(signature)
        if expected_fingerprint is not None and signer.fingerprint != expected_fingerprint.upper():
            raise _refuse(SignatureProblem.FINGERPRINT_MISMATCH,
                          f"signed with certificate {signer.fingerprint}, expected {expected_fingerprint}",
                          f"{_SIG_PATH}/ds:KeyInfo/ds:X509Data/ds:X509Certificate")
        if not issubclass(signer.key_type, _SIGNATURE_METHODS[method]):
            raise _refuse(SignatureProblem.UNSUPPORTED_ALGORITHM, f"signature method {method} does not fit the "
                          f"signer's {signer.key_type.__name__}", f"{_SIG_PATH}/ds:SignedInfo/ds:SignatureMethod")
        if signer.untrusted is not None:
            raise _refuse(SignatureProblem.UNTRUSTED_CERTIFICATE, signer.untrusted,
                          f"{_SIG_PATH}/ds:KeyInfo/ds:X509Data")
        now = self._clock()
        if not signer.not_before <= now <= signer.not_after:
            when = "expired on " if now > signer.not_after else "not valid before "
            moment = signer.not_after if now > signer.not_after else signer.not_before
            raise _refuse(SignatureProblem.CERTIFICATE_NOT_VALID,
                          f"the signer's certificate {signer.fingerprint} {when}{moment.isoformat()}",
                          f"{_SIG_PATH}/ds:KeyInfo/ds:X509Data")
        results = self._check(root, signer, now)
        verified_object = results[object_ref].signed_xml
        verified_holder = results[property_ref].signed_xml
        if verified_object is None or verified_object.tag != _SIGNED_OBJECT or verified_holder is None:
            raise _refuse(SignatureProblem.WRAPPED, "the references do not resolve to what was signed")
        timestamp, nonce = _replay_protect(verified_holder)
        if timestamp < now - self.max_age:
            raise _refuse(SignatureProblem.STALE, f"signed at {timestamp.isoformat()}, more than "
                          f"{self.max_age} before {now.isoformat()}", "dsp:ReplayProtect/dsp:timestamp")
        if timestamp > now + self.max_skew:
            raise _refuse(SignatureProblem.FUTURE, f"signed at {timestamp.isoformat()}, more than "
                          f"{self.max_skew} after {now.isoformat()}", "dsp:ReplayProtect/dsp:timestamp")
        if self.nonces.seen(nonce, timestamp):
            raise _refuse(SignatureProblem.REPLAYED, f"nonce {nonce!r} was already used",
                          "dsp:ReplayProtect/dsp:nonce")
        return VerifiedSignature(signer.fingerprint, signer.certificate, nonce, timestamp, verified_object)

    def _check(self, root: etree._Element, signer: _Signer, now: datetime) -> list[VerifyResult]:
        verifier: XMLVerifier | None = getattr(self._local, "verifier", None)
        if verifier is None:
            verifier = self._local.verifier = XMLVerifier()
        try:
            results = verifier.verify(root, x509_cert=signer.certificate, validate_schema=False,
                                      parser=_PARSER, id_attribute="Id",
                                      expect_config=replace(self._config, verification_time=now))
        except InvalidDigest as error:
            raise _refuse(SignatureProblem.DIGEST_MISMATCH, f"the document was changed after it was signed "
                          f"({error})", f"{_SIG_PATH}/ds:SignedInfo/ds:Reference") from None
        except InvalidCertificate as error:
            raise _refuse(SignatureProblem.CERTIFICATE_NOT_VALID, str(error),
                          f"{_SIG_PATH}/ds:KeyInfo/ds:X509Data") from None
        except InvalidSignature as error:
            raise _refuse(SignatureProblem.SIGNATURE_MISMATCH, f"the signature value does not verify ({error})",
                          f"{_SIG_PATH}/ds:SignatureValue") from None
        except (InvalidInput, SignXMLException, ValueError, binascii.Error, etree.LxmlError) as error:
            raise _refuse(SignatureProblem.MALFORMED, f"{type(error).__name__}: {error}", _SIG_PATH) from None
        return cast(list[VerifyResult], results)

    def _signer(self, signature: etree._Element) -> _Signer:
        certs = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
        if len(signature.findall("ds:KeyInfo/ds:X509Data", _NS)) != 1 or not certs:
            raise _refuse(SignatureProblem.MALFORMED, "the signature must carry the signer's certificate in one "
                          "ds:KeyInfo/ds:X509Data", f"{_SIG_PATH}/ds:KeyInfo")
        ders = []
        for element in certs:
            try:
                ders.append(b64decode("".join((element.text or "").split()), validate=True))
            except binascii.Error:
                raise _refuse(SignatureProblem.MALFORMED, "a ds:X509Certificate that is not base64",
                              f"{_SIG_PATH}/ds:KeyInfo/ds:X509Data/ds:X509Certificate") from None
        key = b"".join(len(d).to_bytes(4, "big") + d for d in ders)
        with self._lock:
            found = self._signers.get(key)
            if found is not None:
                self._signers.move_to_end(key)
                return found
        found = self._parse_signer(ders)
        with self._lock:
            self._signers[key] = found
            while len(self._signers) > _CERT_CACHE:
                self._signers.popitem(last=False)
        return found

    def _parse_signer(self, ders: list[bytes]) -> _Signer:
        try:
            chain = [x509.load_der_x509_certificate(der) for der in ders]
        except ValueError as error:
            raise _refuse(SignatureProblem.MALFORMED, f"an unreadable ds:X509Certificate ({error})",
                          f"{_SIG_PATH}/ds:KeyInfo/ds:X509Data/ds:X509Certificate") from None
        leaf = chain[0]
        public = leaf.public_key()
        key_type: type = rsa.RSAPublicKey if isinstance(public, rsa.RSAPublicKey) else (
            ec.EllipticCurvePublicKey if isinstance(public, ec.EllipticCurvePublicKey) else type(public))
        untrusted: str | None = None
        not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
        if self._trusted is not None:
            policy = (PolicyBuilder().store(Store(self._trusted)).time(self._clock())
                      .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                          ee_policy=ExtensionPolicy.permit_all())
                      .build_client_verifier())
            try:
                path = policy.verify(leaf, chain[1:]).chain
            except VerificationError as error:
                untrusted = f"the signer's certificate does not chain to a trusted CA ({error})"
            else:
                not_before = max(c.not_valid_before_utc for c in path)
                not_after = min(c.not_valid_after_utc for c in path)
        return _Signer(leaf, fingerprint_der(ders[0]), key_type, untrusted, not_before, not_after)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True, collect_ids=False)


def _parts(root: etree._Element) -> tuple[etree._Element, etree._Element]:
    """The payload's ``ds:Signature`` and ``oadrSignedObject`` (its only two children)."""
    if root.tag != _PAYLOAD:
        raise _refuse(SignatureProblem.NO_SIGNATURE, f"not an oadr:oadrPayload but {root.tag}", "/")
    signatures = [child for child in root if child.tag == _SIGNATURE]
    if not signatures:
        raise _refuse(SignatureProblem.NO_SIGNATURE, "the oadr:oadrPayload carries no ds:Signature", _SIG_PATH)
    objects = [child for child in root if child.tag == _SIGNED_OBJECT]
    others = [child for child in root if isinstance(child.tag, str) and child.tag not in (_SIGNATURE, _SIGNED_OBJECT)]
    if len(signatures) != 1 or len(objects) != 1 or others:
        raise _refuse(SignatureProblem.WRAPPED, "an oadr:oadrPayload holds one ds:Signature and one "
                      "oadr:oadrSignedObject, nothing else", "oadr:oadrPayload")
    return signatures[0], objects[0]


def _algorithm(element: etree._Element | None, what: str, allowed: object, field: str) -> str:
    algorithm = element.get("Algorithm") if element is not None else None
    if algorithm is None:
        raise _refuse(SignatureProblem.MALFORMED, f"no {what}", field)
    if algorithm not in allowed:  # type: ignore[operator]
        raise _refuse(SignatureProblem.UNSUPPORTED_ALGORITHM, f"{what} {algorithm} is not one OpenADR uses", field)
    return algorithm


def _references(signature: etree._Element, signed_object: etree._Element) -> tuple[str, int, int]:
    """Check the algorithms; the signature method, the indexes of the reference to the signed object and of
    the other one."""
    signed_info = signature.find("ds:SignedInfo", _NS)
    if signed_info is None or signature.find("ds:SignatureValue", _NS) is None:
        raise _refuse(SignatureProblem.MALFORMED, "no ds:SignedInfo or ds:SignatureValue", _SIG_PATH)
    info = f"{_SIG_PATH}/ds:SignedInfo"
    _algorithm(signed_info.find("ds:CanonicalizationMethod", _NS), "canonicalization", _C14N_ALLOWED,
               f"{info}/ds:CanonicalizationMethod")
    method = _algorithm(signed_info.find("ds:SignatureMethod", _NS), "signature method", _SIGNATURE_METHODS,
                        f"{info}/ds:SignatureMethod")
    references = signed_info.findall("ds:Reference", _NS)
    if len(references) != 2:
        raise _refuse(SignatureProblem.MALFORMED, f"{len(references)} references: OpenADR signs the signed "
                      "object and the replay protection", f"{info}/ds:Reference")
    for n, reference in enumerate(references, 1):
        field = f"{info}/ds:Reference[{n}]"
        _algorithm(reference.find("ds:DigestMethod", _NS), "digest", {_DIGEST}, f"{field}/ds:DigestMethod")
        for transform in reference.findall("ds:Transforms/ds:Transform", _NS):
            _algorithm(transform, "transform", _C14N_ALLOWED, f"{field}/ds:Transforms/ds:Transform")
        if len(reference.findall("ds:Transforms/ds:Transform", _NS)) > 1:
            raise _refuse(SignatureProblem.UNSUPPORTED_ALGORITHM, "more than one transform", f"{field}/ds:Transforms")
    object_id = signed_object.get(_OADR_ID, signed_object.get("Id"))
    uris = [reference.get("URI") or "" for reference in references]
    if object_id is None or f"#{object_id}" not in uris:
        raise _refuse(SignatureProblem.NOT_COVERED, "no reference points at the payload's oadr:oadrSignedObject",
                      f"{info}/ds:Reference")
    object_ref = uris.index(f"#{object_id}")
    property_ref = 1 - object_ref
    root = signed_object.getparent()
    assert root is not None
    holders = _by_id(root, object_id)
    if holders != [signed_object]:
        raise _refuse(SignatureProblem.WRAPPED, f"{len(holders)} elements carry the signed object's Id "
                      f"{object_id!r}: only the payload's oadr:oadrSignedObject may", "oadr:oadrPayload")
    return method, object_ref, property_ref


def _check_replay_reference(root: etree._Element, signature: etree._Element, property_ref: int) -> None:
    """The second reference must point into this signature's ``ds:Object`` at an element holding the
    ``dsp:ReplayProtect`` (or at the ReplayProtect itself)."""
    reference = signature.findall("ds:SignedInfo/ds:Reference", _NS)[property_ref]
    uri = reference.get("URI") or ""
    field = f"{_SIG_PATH}/ds:SignedInfo/ds:Reference[{property_ref + 1}]"
    if not uri.startswith("#") or len(uri) < 2:
        raise _refuse(SignatureProblem.MALFORMED, f"reference URI {uri!r}: OpenADR signs elements by Id", field)
    holders = _by_id(root, uri[1:])
    if len(holders) != 1:
        raise _refuse(SignatureProblem.WRAPPED, f"{len(holders)} elements carry the Id {uri[1:]!r}", field)
    holder = holders[0]
    container = holder if holder.tag == _DS_OBJECT else next(holder.iterancestors(_DS_OBJECT), None)
    if container is None or container.getparent() is not signature:
        raise _refuse(SignatureProblem.WRAPPED, f"reference {uri} is not to this signature's ds:Object", field)
    replays = [holder] if holder.tag == _REPLAY else holder.findall(f".//{_REPLAY}")
    if len(replays) != 1:
        raise _refuse(SignatureProblem.MALFORMED, "the signed ds:Object must hold one dsp:ReplayProtect", field)


def _replay_protect(verified: etree._Element) -> tuple[datetime, str]:
    """Timestamp and nonce of the (verified, re-read) element that holds the ReplayProtect."""
    replay = verified if verified.tag == _REPLAY else verified.find(f".//{_REPLAY}")
    if replay is None:
        raise _refuse(SignatureProblem.MALFORMED, "the signed ds:Object holds no dsp:ReplayProtect")
    text = (replay.findtext(_TIMESTAMP) or "").strip()
    nonce = (replay.findtext(_NONCE) or "").strip()
    match = _DATETIME.fullmatch(text)
    if match is None or not nonce:
        raise _refuse(SignatureProblem.MALFORMED, "dsp:ReplayProtect needs a dsp:timestamp (xs:dateTime with "
                      f"a zone) and a dsp:nonce, not {text!r} and {nonce!r}", "dsp:ReplayProtect")
    whole, fraction, zone = match.groups()
    if zone is None:
        raise _refuse(SignatureProblem.MALFORMED, f"dsp:timestamp {text!r} has no time zone",
                      "dsp:ReplayProtect/dsp:timestamp")
    try:
        moment = datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6]:0<6}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        raise _refuse(SignatureProblem.MALFORMED, f"dsp:timestamp {text!r} is not a date and time",
                      "dsp:ReplayProtect/dsp:timestamp") from None
    return moment, nonce


def is_signed(document: bytes | etree._Element) -> bool:
    """Whether ``document`` (bytes, or a parsed root) is an ``oadrPayload`` that carries a ``ds:Signature``."""
    root = parse_xml(document) if isinstance(document, bytes | str) else document
    return root.tag == _PAYLOAD and root.find("ds:Signature", _NS) is not None
