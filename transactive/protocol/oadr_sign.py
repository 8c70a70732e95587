"""XML signatures on OpenADR 2.0b messages: sign what we send, verify what we receive (as openleadr does).

OpenADR 2.0b (profile specification, security) signs a message with a detached ``ds:Signature`` beside the
signed object in the same ``oadr:oadrPayload``, its two references naming elements by Id::

    <oadr:oadrPayload>
      <ds:Signature Id="oadrSignature">
        <ds:SignedInfo>  exclusive c14n; rsa-sha256 | ecdsa-sha256; SHA-256 digests of
          <ds:Reference URI="#oadrSignedObject">, <ds:Reference URI="#prop">  (exclusive c14n each)
        <ds:SignatureValue>  <ds:KeyInfo><ds:X509Data><ds:X509Certificate> (the signer's, then intermediates)
        <ds:Object Id="prop"><ds:SignatureProperties><ds:SignatureProperty Target="#oadrSignature">
          <dsp:ReplayProtect><dsp:timestamp>2026-07-13T09:30:00.000000Z</dsp:timestamp><dsp:nonce>9f0c...
      <oadr:oadrSignedObject oadr:Id="oadrSignedObject"> the message </oadr:oadrSignedObject>

openleadr 0.5.36's layout (the ``#prop`` object, ``oadr:Id``, a ``Z`` timestamp) with exclusive c14n as the
profile asks (openleadr: c14n 1.0); each side verifies the other's (``tests/interop/test_openleadr_signatures.py``).
:class:`OadrSigner` signs an unsigned ``oadrPayload`` (as :func:`~transactive.codec.encode_xml` makes it);
:meth:`OadrVerifier.verify` returns a :class:`VerifiedSignature` (certificate, fingerprint, nonce, timestamp,
the ``oadrSignedObject`` exactly as signed: decode that) or raises :class:`SignatureError` (463) whose
``problem`` (:class:`SignatureProblem`) names what failed; unsafe XML (DTD, entities) is the parser's
:class:`~transactive.errors.MalformedDocumentError`. :class:`NonceStore`: the replay memory (a VTN may keep it
durable); :class:`MemoryNonceStore` keeps it bounded in memory.

The verifier insists on: one ``ds:Signature`` and one ``oadrSignedObject``, the root's only children; two
references, one to that signed object (whose Id no other element carries: signature wrapping moves the
signed object and puts another in its place), one into this signature's ``ds:Object``, at what holds the
``dsp:ReplayProtect``; RSA- or ECDSA-SHA256 fitting the key, SHA-256, exclusive or inclusive c14n and no
other transform; the first ``ds:X509Certificate`` is the signer's, valid now, chaining to ``trusted_ca`` if
given, of ``expected_fingerprint`` if given; then signature and digests; then the replay protection *as
signed*: within ``max_age``/``max_skew`` of now, a nonce not seen before (recorded only once all verified).

Speed: signxml defines the documents; lxml's c14n, hashlib and cryptography do the per-message work. The
signer has signxml build its ``ds:Signature`` once as a template (its first signature checked by signxml's
``XMLVerifier``); a message then costs one c14n, two digests, one key operation and string formatting
(``engine="signxml"``: signxml's ``XMLSigner`` for every message, same documents). The verifier does XML-DSig
core validation for this narrow profile on the tree it parsed, without signxml's defensive copies (its
``verify`` re-parses the document about nine times); the tests check its verdicts against signxml's.
Certificates are parsed once per distinct certificate (cached by DER, with fingerprint and CA verdict), keys
once per signer; ``bench/oadr_sign_bench.py`` times it all beside openleadr. Needs the ``signing`` extra.
"""

from __future__ import annotations

import binascii
import hashlib
import heapq
import hmac
import os
import re
import textwrap
import threading
from base64 import b64decode, b64encode
from collections.abc import Callable
from copy import deepcopy
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast

from cryptography import exceptions as crypto_exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.signer import SignatureReference, XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from transactive.codec.safe import parse_xml
from transactive.errors import LocalProtocolError
from transactive.protocol.certs import CertificateError, fingerprint_der, load_certificates, same_fingerprint
from transactive.protocol.clock import Clock, system_clock
from transactive.protocol.errors import NotAuthorizedError

if TYPE_CHECKING:
    from transactive.model.base import Model

__all__ = ["DEFAULT_MAX_AGE", "DEFAULT_MAX_SKEW", "SIGNED_OBJECT_ID", "Engine", "MemoryNonceStore", "NonceStore",
           "OadrSigner", "OadrVerifier", "SignatureError", "SignatureProblem", "VerifiedSignature", "is_signed"]

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
#: ``"fast"``: lxml c14n, hashlib and cryptography on what signxml defines; ``"signxml"``: signxml throughout
Engine = Literal["fast", "signxml"]

_PAYLOAD, _SIGNED_OBJECT, _OADR_ID = f"{{{OADR}}}oadrPayload", f"{{{OADR}}}oadrSignedObject", f"{{{OADR}}}Id"
_SIGNATURE, _DS_OBJECT = f"{{{DS}}}Signature", f"{{{DS}}}Object"
_REPLAY, _TIMESTAMP, _NONCE = f"{{{DSP}}}ReplayProtect", f"{{{DSP}}}timestamp", f"{{{DSP}}}nonce"
_EXCLUSIVE = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value
_C14N_ALLOWED = frozenset({_EXCLUSIVE, CanonicalizationMethod.CANONICAL_XML_1_0.value,
                           CanonicalizationMethod.CANONICAL_XML_1_1.value})
_SIGNATURE_METHODS = {SignatureMethod.RSA_SHA256.value: rsa.RSAPublicKey,
                      SignatureMethod.ECDSA_SHA256.value: ec.EllipticCurvePublicKey}
_DIGEST = DigestAlgorithm.SHA256.value
_INCLUSIVE_NAMESPACES = "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"
#: what a nonce may look like (ours are hex; openleadr's too): text that needs no escaping in XML
_NONCE_TEXT = re.compile(r"[A-Za-z0-9+/=._:-]{1,256}")
#: xs:dateTime as the replay protection carries it (fractions of any length, a zone)
_DATETIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
#: how many distinct signers' certificates a verifier keeps parsed
_CERT_CACHE = 4096
_ID_ATTRIBUTES = etree.XPath("//@*[local-name() = 'Id']")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True, collect_ids=False)
_SIG, _INFO, _CERT = "oadr:oadrPayload/ds:Signature", "oadr:oadrPayload/ds:Signature/ds:SignedInfo", \
    "oadr:oadrPayload/ds:Signature/ds:KeyInfo/ds:X509Data"
_WHEN, _WHICH = "dsp:ReplayProtect/dsp:timestamp", "dsp:ReplayProtect/dsp:nonce"


@cache
def _clark(path: str) -> str:
    """``ds:A/ds:B`` as ``{uri}A/{uri}B`` (lxml then finds without resolving a namespace map each time)."""
    return re.sub(r"(ds|dsp|oadr):", lambda prefix: f"{{{_NS[prefix.group(1)]}}}", path)


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


def _refuse(problem: SignatureProblem, message: str, field: str | None = None) -> SignatureError:
    return SignatureError(problem, message, field=field)


class NonceStore(Protocol):
    """The replay memory of a verifier (a VTN may keep it in its durable store)."""

    def seen(self, nonce: str, at: datetime) -> bool:
        """Record ``nonce`` (its message was signed at ``at``); True if it was already recorded and not yet
        forgotten (a store may forget a nonce once ``at`` is older than the verifier's ``max_age``)."""


class MemoryNonceStore:
    """Nonces in memory, each forgotten once its message is older than ``window`` (then the timestamp check
    refuses a replay anyway), and at most ``capacity`` of them (the oldest go first). Thread-safe."""

    def __init__(self, *, window: timedelta = DEFAULT_MAX_AGE, capacity: int = 1_000_000,
                 clock: Clock = system_clock) -> None:
        if capacity < 1:
            raise ValueError("a nonce store needs room for at least one nonce")
        self.window, self.capacity, self._clock = window, capacity, clock
        self._nonces: set[str] = set()
        self._expiry: list[tuple[datetime, str]] = []  # a heap of (signed at, nonce)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nonces)

    def seen(self, nonce: str, at: datetime) -> bool:
        with self._lock:
            before, expiry = self._clock() - self.window, self._expiry
            while expiry and expiry[0][0] < before:
                self._nonces.discard(heapq.heappop(expiry)[1])
            if nonce in self._nonces:
                return True
            while len(self._nonces) >= self.capacity:
                self._nonces.discard(heapq.heappop(expiry)[1])
            self._nonces.add(nonce)
            heapq.heappush(expiry, (at, nonce))
            return False


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
            raise _refuse(SignatureProblem.MALFORMED, "the signed object must hold exactly one message",
                          "oadr:oadrPayload/oadr:oadrSignedObject")
        return children[0]

    def decode(self) -> Model:
        """The signed message as its model (:func:`transactive.codec.decode_element`)."""
        from transactive.codec.xml import decode_element

        return decode_element(self.message_element)


# ---- signing ----------------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    # UTC with microseconds and a "Z": the one form openleadr's parse_datetime reads
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(data: bytes) -> str:
    return b64encode(hashlib.sha256(data).digest()).decode("ascii")


class OadrSigner:
    """Signs documents with one certificate and key, parsed once (not per message).

    ``cert_pem`` holds the signer's certificate first, then any intermediates (all go into ``ds:X509Data``);
    ``key_pem`` its unencrypted private key (RSA: RSA-SHA256; elliptic-curve: ECDSA-SHA256). ``nonce`` makes
    the nonces (default: 128 random bits in hex; letters, digits and ``+/=._:-`` only). With the fast engine
    thread-safe; with signxml's, one signer per thread.
    """

    def __init__(self, cert_pem: bytes, key_pem: bytes, *, clock: Clock = system_clock,
                 nonce: Callable[[], str] | None = None, engine: Engine = "fast") -> None:
        if engine not in ("fast", "signxml"):
            raise ValueError(f"unknown engine {engine!r}: 'fast' or 'signxml'")
        try:
            chain = x509.load_pem_x509_certificates(cert_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
        except TypeError:
            raise ValueError("the private key is encrypted: give an unencrypted key") from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"a {type(key).__name__}: OpenADR signs with RSA or ECDSA keys")
        der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if chain[0].public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
            raise ValueError("the private key does not belong to the (first) certificate")
        self.certificate = chain[0]
        self.fingerprint = fingerprint_der(self.certificate.public_bytes(der))
        self.engine = engine
        self._key, self._clock = key, clock
        self._nonce = nonce or (lambda: os.urandom(16).hex())
        method = SignatureMethod.RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else SignatureMethod.ECDSA_SHA256
        self._signer = XMLSigner(method=SignatureConstructionMethod.detached, signature_algorithm=method,
                                 digest_algorithm=DigestAlgorithm.SHA256, c14n_algorithm=_EXCLUSIVE)
        self._key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
        x509_data = etree.SubElement(self._key_info, f"{{{DS}}}X509Data")
        for certificate in chain:
            text = b64encode(certificate.public_bytes(der)).decode("ascii")  # in PEM's 64-column lines
            etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = "\n".join(textwrap.wrap(text, 64))
        self._template: _Template | None = None
        if engine == "fast":
            self._template = _Template.of(self._signxml_signature(_probe()[0], "{ts}", "{nonce}"))
            self._check_template()

    @classmethod
    def from_files(cls, cert: Path, key: Path, *, clock: Clock = system_clock, engine: Engine = "fast") -> OadrSigner:
        """A signer from a PEM certificate file and a PEM key file (:class:`CertificateError` names the file)."""
        try:
            return cls(cert.read_bytes(), key.read_bytes(), clock=clock, engine=engine)
        except OSError as error:
            raise CertificateError(error.filename, f"cannot read ({error.strerror or error})") from None
        except ValueError as error:
            raise CertificateError(key if "key" in str(error) else cert, str(error)) from None

    def sign(self, document: bytes) -> bytes:
        """``document`` (an unsigned ``oadrPayload``) signed, with a fresh nonce and the current UTC time."""
        root = parse_xml(document)
        if root.tag != _PAYLOAD:
            raise LocalProtocolError(f"only an oadr:oadrPayload can be signed, not {root.tag}")
        children = [child for child in root if isinstance(child.tag, str)]
        if len(children) != 1 or children[0].tag != _SIGNED_OBJECT:
            raise LocalProtocolError("an unsigned oadr:oadrPayload holds exactly one oadr:oadrSignedObject "
                                     "(is it signed already?)")
        nonce = self._nonce()
        if _NONCE_TEXT.fullmatch(nonce) is None:
            raise LocalProtocolError(f"nonce {nonce!r}: use letters, digits and '+/=._:-' (at most 256)")
        return self._sign(root, children[0], _timestamp(self._clock()), nonce)

    def _sign(self, root: etree._Element, signed_object: etree._Element, timestamp: str, nonce: str) -> bytes:
        signed_object.set(_OADR_ID, SIGNED_OBJECT_ID)
        template = self._template
        if template is None:
            root.insert(0, self._signxml_signature(signed_object, timestamp, nonce))
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        d0 = _digest(etree.tostring(signed_object, method="c14n", exclusive=True))
        d1 = _digest(template.properties.format(ts=timestamp, nonce=nonce).encode())
        value = b64encode(self._sign_raw(template.signed_info.format(d0=d0, d1=d1).encode())).decode("ascii")
        signature = template.signature.format(d0=d0, d1=d1, sv=value, ts=timestamp, nonce=nonce)
        body = etree.tostring(root, encoding="unicode")
        end = body.index(">") + 1  # the root's start tag (lxml writes '>' in attribute values as &gt;)
        return f"{_DECLARATION}{body[:end]}{signature}{body[end:]}".encode()

    def _signxml_signature(self, signed_object: etree._Element, timestamp: str, nonce: str) -> etree._Element:
        replay = etree.Element(_REPLAY, nsmap={"dsp": DSP}, Id="replayProtect", Target=f"#{SIGNATURE_ID}")
        etree.SubElement(replay, _TIMESTAMP).text = timestamp
        etree.SubElement(replay, _NONCE).text = nonce
        signature = self._signer.sign(signed_object, key=self._key, key_info=deepcopy(self._key_info),
                                      reference_uri=[SignatureReference(URI=f"#{SIGNED_OBJECT_ID}")],
                                      signature_properties=replay)
        signature.set("Id", SIGNATURE_ID)
        return signature

    def _sign_raw(self, data: bytes) -> bytes:
        """The ``ds:SignatureValue`` bytes: PKCS #1 v1.5, or ECDSA's r and s padded to the curve's size."""
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def _check_template(self) -> None:
        """Sign a probe the fast way and have signxml verify it, or this signer is not made."""
        root = _probe()
        probe = self._sign(root, root[0], _timestamp(self.certificate.not_valid_before_utc), "probe")
        config = SignatureConfiguration(expect_references=2, location="./",
                                        verification_time=self.certificate.not_valid_before_utc)
        try:
            XMLVerifier().verify(probe, x509_cert=self.certificate, expect_config=config)
        except SignXMLException as error:  # pragma: no cover - a broken lxml or signxml, not bad input
            raise RuntimeError(f"the fast signing path does not agree with signxml: {error}") from error


def _probe() -> etree._Element:
    """An unsigned poll (what the signer's template is made from)."""
    return parse_xml(f'<oadr:oadrPayload xmlns:oadr="{OADR}"><oadr:oadrSignedObject><oadr:oadrPoll '
                     'xmlns:ei="http://docs.oasis-open.org/ns/energyinterop/201110" ei:schemaVersion="2.0b">'
                     '<ei:venID>probe</ei:venID></oadr:oadrPoll></oadr:oadrSignedObject></oadr:oadrPayload>')


@dataclass(frozen=True, slots=True)
class _Template:
    """A ``ds:Signature`` signxml made, with ``str.format`` fields: ``{d0}``, ``{d1}`` (the digests), ``{sv}``
    (the signature value), ``{ts}``, ``{nonce}``: as it goes into the document, the exclusive c14n of its
    ``ds:SignedInfo`` (what the key signs) and of its ``ds:Object`` (what the second reference digests)."""

    signature: str
    signed_info: str
    properties: str

    @classmethod
    def of(cls, signature: etree._Element) -> _Template:
        fields = {"ds:SignedInfo/ds:Reference[1]/ds:DigestValue": "{d0}",
                  "ds:SignedInfo/ds:Reference[2]/ds:DigestValue": "{d1}", "ds:SignatureValue": "{sv}",
                  "ds:Object//dsp:timestamp": "{ts}", "ds:Object//dsp:nonce": "{nonce}"}
        for path, field in fields.items():
            (found,) = signature.findall(path, _NS)
            found.text = field
        parts = [signature.find(_clark(path)) for path in ("ds:SignedInfo", "ds:Object")]
        info, properties = (etree.tostring(p, method="c14n", exclusive=True).decode() for p in parts if p is not None)
        made = cls(etree.tostring(signature, encoding="unicode"), info, properties)
        if any(not t.count("{") == t.count("}") == n for t, n in zip(astuple(made), (5, 2, 2), strict=True)):
            raise RuntimeError("a brace outside the signature template's fields")  # pragma: no cover
        return made


# ---- verifying --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Signer:
    """A signer's certificate as a verifier keeps it (parsed once per distinct certificate)."""

    certificate: x509.Certificate
    fingerprint: str
    public_key: object
    untrusted: str | None  # None: trusted (or no CA configured); otherwise why not
    not_before: datetime
    not_after: datetime


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
        self.max_age, self.max_skew, self._clock = max_age, max_skew, clock
        self.nonces: NonceStore = nonces if nonces is not None else MemoryNonceStore(window=max_age, clock=clock)
        self._trusted = load_certificates(trusted_ca) if trusted_ca is not None else None
        self._signers: dict[bytes, _Signer] = {}

    def verify(self, document: bytes | etree._Element, *,
               expected_fingerprint: str | None = None) -> VerifiedSignature:
        """The verified signature of ``document`` (bytes, or the root element of a tree parsed with
        :func:`transactive.codec.parse_xml`), or :class:`SignatureError` naming what failed."""
        root = parse_xml(document) if isinstance(document, bytes | str) else document
        signature, signed_object = _parts(root)
        ids = _ids(root)
        method, object_ref, property_ref = _references(signature, signed_object, ids)
        holder = _replay_reference(ids, signature, property_ref)
        signer = self._signer(signature)
        if expected_fingerprint is not None and not same_fingerprint(signer.fingerprint, expected_fingerprint):
            raise _refuse(SignatureProblem.FINGERPRINT_MISMATCH, f"signed with certificate {signer.fingerprint}, "
                          f"expected {expected_fingerprint}", f"{_CERT}/ds:X509Certificate")
        if not isinstance(signer.public_key, _SIGNATURE_METHODS[method]):
            raise _refuse(SignatureProblem.UNSUPPORTED_ALGORITHM, f"signature method {method} does not fit the "
                          f"signer's {type(signer.public_key).__name__}", f"{_INFO}/ds:SignatureMethod")
        if signer.untrusted is not None:
            raise _refuse(SignatureProblem.UNTRUSTED_CERTIFICATE, signer.untrusted, _CERT)
        now = self._clock()
        if not signer.not_before <= now <= signer.not_after:
            late = now > signer.not_after
            when = f"expired on {signer.not_after}" if late else f"not valid before {signer.not_before}"
            raise _refuse(SignatureProblem.CERTIFICATE_NOT_VALID, f"certificate {signer.fingerprint} {when}", _CERT)
        signed = _check_fast(signature, signer, {object_ref: signed_object, property_ref: holder})
        verified_object = etree.fromstring(signed[object_ref], _PARSER)
        verified_holder = etree.fromstring(signed[property_ref], _PARSER)
        timestamp, nonce = _replay_protect(verified_holder)
        if timestamp < now - self.max_age:
            raise _refuse(SignatureProblem.STALE, f"signed at {timestamp.isoformat()}, more than {self.max_age} "
                          f"before {now.isoformat()}", _WHEN)
        if timestamp > now + self.max_skew:
            raise _refuse(SignatureProblem.FUTURE, f"signed at {timestamp.isoformat()}, more than {self.max_skew} "
                          f"after {now.isoformat()}", _WHEN)
        if self.nonces.seen(nonce, timestamp):
            raise _refuse(SignatureProblem.REPLAYED, f"nonce {nonce!r} was already used", _WHICH)
        return VerifiedSignature(signer.fingerprint, signer.certificate, nonce, timestamp, verified_object)

    def _signer(self, signature: etree._Element) -> _Signer:
        certs = signature.findall(_clark("ds:KeyInfo/ds:X509Data/ds:X509Certificate"))
        if len(signature.findall(_clark("ds:KeyInfo/ds:X509Data"))) != 1 or not certs:
            raise _refuse(SignatureProblem.MALFORMED, "the signature must carry the signer's certificate in one "
                          "ds:KeyInfo/ds:X509Data", f"{_SIG}/ds:KeyInfo")
        ders = [_base64(element.text, f"{_CERT}/ds:X509Certificate") for element in certs]
        key = b"".join(len(der).to_bytes(4, "big") + der for der in ders)
        found = self._signers.get(key)
        if found is None:  # two threads may both parse a new certificate: harmless
            found = self._parse_signer(ders)
            if len(self._signers) >= _CERT_CACHE:  # a flood of one-off certificates: start over
                self._signers.clear()
            self._signers[key] = found
        return found

    def _parse_signer(self, ders: list[bytes]) -> _Signer:
        try:
            chain = [x509.load_der_x509_certificate(der) for der in ders]
        except ValueError as error:
            raise _refuse(SignatureProblem.MALFORMED, f"an unreadable ds:X509Certificate ({error})",
                          f"{_CERT}/ds:X509Certificate") from None
        leaf, untrusted = chain[0], None
        not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
        if self._trusted is not None:
            policy = (PolicyBuilder().store(Store(self._trusted)).time(self._clock())
                      .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                          ee_policy=ExtensionPolicy.permit_all()).build_client_verifier())
            try:
                path = policy.verify(leaf, chain[1:]).chain
            except VerificationError as error:
                untrusted = f"the signer's certificate does not chain to a trusted CA ({error})"
            else:  # the whole chain must be valid when a message is verified
                not_before = max(c.not_valid_before_utc for c in path)
                not_after = min(c.not_valid_after_utc for c in path)
        return _Signer(leaf, fingerprint_der(ders[0]), leaf.public_key(), untrusted, not_before, not_after)


def _parts(root: etree._Element) -> tuple[etree._Element, etree._Element]:
    """The payload's ``ds:Signature`` and ``oadrSignedObject`` (its only two children)."""
    if root.tag != _PAYLOAD:
        raise _refuse(SignatureProblem.NO_SIGNATURE, f"not an oadr:oadrPayload but {root.tag}", "/")
    signatures = [child for child in root if child.tag == _SIGNATURE]
    if not signatures:
        raise _refuse(SignatureProblem.NO_SIGNATURE, "the oadr:oadrPayload carries no ds:Signature", _SIG)
    objects = [child for child in root if child.tag == _SIGNED_OBJECT]
    if len(signatures) != 1 or len(objects) != 1 or sum(isinstance(c.tag, str) for c in root) != 2:
        raise _refuse(SignatureProblem.WRAPPED, "an oadr:oadrPayload holds one ds:Signature and one "
                      "oadr:oadrSignedObject, nothing else", "oadr:oadrPayload")
    return signatures[0], objects[0]


def _ids(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every ``Id`` value in the document (an attribute named ``Id`` in any namespace: what signxml resolves
    ``#value`` to) and the elements carrying it."""
    found: dict[str, list[etree._Element]] = {}
    for value in cast(list[etree._ElementUnicodeResult], _ID_ATTRIBUTES(root)):
        element = value.getparent()
        assert element is not None
        found.setdefault(str(value), []).append(element)
    return found


def _algorithm(element: etree._Element | None, what: str, allowed: object, field: str) -> str:
    algorithm = element.get("Algorithm") if element is not None else None
    if algorithm is None:
        raise _refuse(SignatureProblem.MALFORMED, f"no {what}", field)
    if algorithm not in allowed:  # type: ignore[operator]
        raise _refuse(SignatureProblem.UNSUPPORTED_ALGORITHM, f"{what} {algorithm} is not one OpenADR uses", field)
    return algorithm


def _references(signature: etree._Element, signed_object: etree._Element,
                ids: dict[str, list[etree._Element]]) -> tuple[str, int, int]:
    """Check the algorithms; the signature method, the index of the reference to the signed object and of
    the other one."""
    signed_info = signature.find(_clark("ds:SignedInfo"))
    if signed_info is None or signature.find(_clark("ds:SignatureValue")) is None:
        raise _refuse(SignatureProblem.MALFORMED, "no ds:SignedInfo or ds:SignatureValue", _SIG)
    _algorithm(signed_info.find(_clark("ds:CanonicalizationMethod")), "canonicalization", _C14N_ALLOWED,
               f"{_INFO}/ds:CanonicalizationMethod")
    method = _algorithm(signed_info.find(_clark("ds:SignatureMethod")), "signature method", _SIGNATURE_METHODS,
                        f"{_INFO}/ds:SignatureMethod")
    references = signed_info.findall(_clark("ds:Reference"))
    if len(references) != 2:
        raise _refuse(SignatureProblem.MALFORMED, f"{len(references)} references: OpenADR signs the signed "
                      "object and the replay protection", f"{_INFO}/ds:Reference")
    for n, reference in enumerate(references, 1):
        field = f"{_INFO}/ds:Reference[{n}]"
        _algorithm(reference.find(_clark("ds:DigestMethod")), "digest", {_DIGEST}, f"{field}/ds:DigestMethod")
        transforms = reference.findall(_clark("ds:Transforms/ds:Transform"))
        for transform in transforms:
            _algorithm(transform, "transform", _C14N_ALLOWED, f"{field}/ds:Transforms/ds:Transform")
        if len(transforms) > 1:
            raise _refuse(SignatureProblem.UNSUPPORTED_ALGORITHM, "more than one transform", f"{field}/ds:Transforms")
    object_id = signed_object.get(_OADR_ID, signed_object.get("Id"))
    uris = [reference.get("URI") or "" for reference in references]
    if object_id is None or f"#{object_id}" not in uris:
        raise _refuse(SignatureProblem.NOT_COVERED, "no reference points at the payload's oadr:oadrSignedObject",
                      f"{_INFO}/ds:Reference")
    holders = ids.get(object_id, [])
    if holders != [signed_object]:
        raise _refuse(SignatureProblem.WRAPPED, f"{len(holders)} elements carry the signed object's Id "
                      f"{object_id!r}: only the payload's oadr:oadrSignedObject may", "oadr:oadrPayload")
    object_ref = uris.index(f"#{object_id}")
    return method, object_ref, 1 - object_ref


def _replay_reference(ids: dict[str, list[etree._Element]], signature: etree._Element,
                      property_ref: int) -> etree._Element:
    """What the second reference points at: in this signature's ``ds:Object``, an element holding the
    ``dsp:ReplayProtect`` (or the ReplayProtect itself)."""
    uri = signature.findall(_clark("ds:SignedInfo/ds:Reference"))[property_ref].get("URI") or ""
    field = f"{_INFO}/ds:Reference[{property_ref + 1}]"
    if not uri.startswith("#") or len(uri) < 2:
        raise _refuse(SignatureProblem.MALFORMED, f"reference URI {uri!r}: OpenADR signs elements by Id", field)
    holders = ids.get(uri[1:], [])
    if len(holders) != 1:
        raise _refuse(SignatureProblem.WRAPPED, f"{len(holders)} elements carry the Id {uri[1:]!r}", field)
    holder = holders[0]
    container = holder if holder.tag == _DS_OBJECT else next(holder.iterancestors(_DS_OBJECT), None)
    if container is None or container.getparent() is not signature:
        raise _refuse(SignatureProblem.WRAPPED, f"reference {uri} is not to this signature's ds:Object", field)
    if len([holder] if holder.tag == _REPLAY else holder.findall(f".//{_REPLAY}")) != 1:
        raise _refuse(SignatureProblem.MALFORMED, "the signed ds:Object must hold one dsp:ReplayProtect", field)
    return holder


def _c14n(element: etree._Element, method: etree._Element | None) -> bytes:
    """``element`` canonicalised as ``method`` (a checked ds:CanonicalizationMethod or ds:Transform) says; none:
    c14n 1.1 (XML-DSig's default and signxml's), which lxml, like signxml, writes as c14n 1.0."""
    if method is None or method.get("Algorithm") != _EXCLUSIVE:
        return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)
    listed = method.find(_INCLUSIVE_NAMESPACES)
    prefixes = (listed.get("PrefixList") or "").split() if listed is not None else None
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=prefixes)


def _base64(text: str | None, field: str) -> bytes:
    try:
        return b64decode("".join((text or "").split()), validate=True)
    except binascii.Error:
        raise _refuse(SignatureProblem.MALFORMED, "not base64", field) from None


def _check_fast(signature: etree._Element, signer: _Signer, targets: dict[int, etree._Element]) -> dict[int, bytes]:
    """XML-DSig core validation for OpenADR's profile (algorithms checked already): the signature value over
    the c14n of ``ds:SignedInfo``, then each reference's digest over the c14n of its target. Returns each
    reference's canonical bytes (what was signed)."""
    signed_info = signature.find(_clark("ds:SignedInfo"))
    assert signed_info is not None
    data = _c14n(signed_info, signed_info.find(_clark("ds:CanonicalizationMethod")))
    value = _base64(signature.findtext(_clark("ds:SignatureValue")), f"{_SIG}/ds:SignatureValue")
    key = signer.public_key
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                raise crypto_exceptions.InvalidSignature(f"expected {2 * size} bytes, got {len(value)}")
            r, s = int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except crypto_exceptions.InvalidSignature:
        raise _refuse(SignatureProblem.SIGNATURE_MISMATCH, "the signature value does not verify",
                      f"{_SIG}/ds:SignatureValue") from None
    signed: dict[int, bytes] = {}
    for n, reference in enumerate(signed_info.findall(_clark("ds:Reference"))):
        field = f"{_INFO}/ds:Reference[{n + 1}]"
        canonical = _c14n(targets[n], reference.find(_clark("ds:Transforms/ds:Transform")))
        expected = _base64(reference.findtext(_clark("ds:DigestValue")), f"{field}/ds:DigestValue")
        if not hmac.compare_digest(hashlib.sha256(canonical).digest(), expected):
            raise _refuse(SignatureProblem.DIGEST_MISMATCH, f"the document was changed after it was signed "
                          f"(digest mismatch for reference {n} ({reference.get('URI')}))", field)
        signed[n] = canonical
    return signed


def _replay_protect(verified: etree._Element) -> tuple[datetime, str]:
    """Timestamp and nonce of the (verified, re-read) element that holds the ReplayProtect."""
    replay = verified if verified.tag == _REPLAY else verified.find(f".//{_REPLAY}")
    assert replay is not None  # _replay_reference found it in what was digested
    text, nonce = ((replay.findtext(tag) or "").strip() for tag in (_TIMESTAMP, _NONCE))
    match = _DATETIME.fullmatch(text)
    if match is None or match.group(3) is None or not nonce:
        raise _refuse(SignatureProblem.MALFORMED, "dsp:ReplayProtect needs a dsp:timestamp (xs:dateTime with "
                      f"a zone) and a dsp:nonce, not {text!r} and {nonce!r}", "dsp:ReplayProtect")
    whole, fraction, zone = match.groups()
    try:
        return datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6]:0<6}{'+00:00' if zone == 'Z' else zone}"), nonce
    except ValueError:
        raise _refuse(SignatureProblem.MALFORMED, f"dsp:timestamp {text!r} is not a date and time", _WHEN) from None


def is_signed(document: bytes | etree._Element) -> bool:
    """Whether ``document`` (bytes, or a parsed root) is an ``oadrPayload`` that carries a ``ds:Signature``."""
    root = parse_xml(document) if isinstance(document, bytes | str) else document
    return root.tag == _PAYLOAD and root.find(_clark("ds:Signature")) is not None
