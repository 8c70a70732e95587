"""Who a party is: a public key, bound to its party id for good, proven by signing what it sends.

A party registers with a key and proves it holds the private half by signing its registration request;
the VTN binds the party id to the key's fingerprint, so only that key can register the id again (after a
restart, or after a cancellation). Every later request carries the bearer token the registration issued.
The VTN signs its notices with its own key, which it publishes in the market rules; a VEN refuses a notice
that does not verify.

Keys: Ed25519 (the default; raw 32-byte public keys), or an X.509 certificate whose key is Ed25519, ECDSA
(P-256, P-384: ECDSA with SHA-256) or RSA (PKCS #1 v1.5 with SHA-256). A key's **fingerprint** is the
SHA-256 of its SubjectPublicKeyInfo (DER), hex: a certificate re-issued for the same key keeps the identity.

What is signed (``created`` is Unix seconds, ``audience`` the VTN's market party id, ``body`` the exact bytes
on the wire)::

    request:  b"transactive-request/1\\n" + audience + b"\\n" + created + b"\\n" + body
    notice:   b"transactive-notice/1\\n" + party + b"\\n" + body

A request signature travels as ``Signature: keyid="<kind>:<base64url key>", created=<seconds>,
sig="<base64url>"`` (an HTTP header; an MQTT user property ``signature``); ``kind`` is ``ed25519`` (the raw
public key) or ``x509`` (the DER certificate). A notice signature travels as ``X-Notice-Signature`` (HTTP) or
the user property ``notice-signature`` (MQTT): the base64url signature alone, by the key the market rules name.

Party ids: 1 to 128 characters of letters, digits and ``. _ : @ -``, starting with a letter or digit
(:data:`PARTY_ID`); the market's own id and ``*`` (every party, on the public quote topic) are reserved.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from transactive.protocol.errors import NotAuthorizedError, OutsideLimitsError

__all__ = [
    "FRESHNESS",
    "NOTICE_SIGNATURE",
    "PARTY_ID",
    "REQUEST_SIGNATURE",
    "KeyProof",
    "PartyIdentity",
    "PartyKey",
    "check_party_id",
    "load_or_create_identity",
    "new_secret",
    "notice_message",
    "request_message",
    "verify_notice",
    "verify_request",
]

#: the header (HTTP) / user property (MQTT, lower case) carrying a request's signature
REQUEST_SIGNATURE = "Signature"
#: the header (HTTP) / user property (MQTT, lower case) carrying a notice's signature
NOTICE_SIGNATURE = "X-Notice-Signature"
#: how far a request's ``created`` may be from the VTN's wall clock
FRESHNESS = timedelta(minutes=5)
#: what a party id may look like
PARTY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
#: party ids nobody may register (besides the market's own)
RESERVED_IDS = frozenset({"*"})



def new_secret(nbytes: int = 32) -> str:
    """A random URL-safe secret of ``nbytes`` random bytes (a token, a client secret) that does not start with
    ``-``: it follows a flag on a command line (``--operator-token SECRET``) without being taken for one."""
    while True:
        secret = secrets.token_urlsafe(nbytes)
        if not secret.startswith("-"):
            return secret


_PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
_PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_PARAM = re.compile(r'\s*([a-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))\s*(?:,|$)')


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError):
        raise NotAuthorizedError(f"{what} is not base64url", field=REQUEST_SIGNATURE) from None


def check_party_id(party_id: str, market_party_id: str, field: str = "ei:registreePartyID") -> str:
    """``party_id`` if a party may register under it, else 454 naming ``field``."""
    if party_id in RESERVED_IDS or party_id.casefold() == market_party_id.casefold():
        raise OutsideLimitsError(f"{party_id!r} is reserved", field=field)
    if not PARTY_ID.fullmatch(party_id):
        shown = party_id if len(party_id) <= 40 else party_id[:37] + "..."
        raise OutsideLimitsError(f"{shown!r} is not a party id: 1-128 letters, digits or . _ : @ -, starting with "
                                 "a letter or digit", field=field)
    return party_id


@dataclass(frozen=True, slots=True)
class PartyKey:
    """A public key (or the certificate carrying it) a party is known by."""

    key: _PublicKey
    #: the certificate, when the key came in one (DER)
    certificate: bytes | None = None

    @property
    def spki(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the SubjectPublicKeyInfo, hex."""
        return hashlib.sha256(self.spki).hexdigest()

    @property
    def keyid(self) -> str:
        """How the key travels in a ``Signature``: ``ed25519:<raw key>`` or ``x509:<DER certificate>``."""
        if self.certificate is not None:
            return "x509:" + _b64(self.certificate)
        if isinstance(self.key, ed25519.Ed25519PublicKey):
            raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return "ed25519:" + _b64(raw)
        raise ValueError("a key other than Ed25519 travels in an X.509 certificate")

    @classmethod
    def from_keyid(cls, keyid: str) -> PartyKey:
        """The key a ``Signature``'s ``keyid`` names; 463 naming the header if it does not read."""
        kind, _, text = keyid.partition(":")
        data = _unb64(text, "keyid")
        if kind == "ed25519":
            try:
                return cls(ed25519.Ed25519PublicKey.from_public_bytes(data))
            except ValueError:
                raise NotAuthorizedError("keyid is not an Ed25519 public key", field=REQUEST_SIGNATURE) from None
        if kind == "x509":
            try:
                cert = x509.load_der_x509_certificate(data)
            except ValueError:
                raise NotAuthorizedError("keyid is not a DER X.509 certificate", field=REQUEST_SIGNATURE) from None
            return cls.of_certificate(cert)
        raise NotAuthorizedError(f"unknown key kind {kind!r}: ed25519 or x509", field=REQUEST_SIGNATURE)

    @classmethod
    def of_certificate(cls, cert: x509.Certificate) -> PartyKey:
        key = cert.public_key()
        if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
            raise NotAuthorizedError(f"a {type(key).__name__} key is not supported: Ed25519, ECDSA or RSA",
                                     field=REQUEST_SIGNATURE)
        return cls(key, cert.public_bytes(serialization.Encoding.DER))

    @classmethod
    def from_raw(cls, raw: bytes) -> PartyKey:
        """An Ed25519 public key from its 32 raw bytes (``ValueError`` otherwise)."""
        return cls(ed25519.Ed25519PublicKey.from_public_bytes(raw))

    def raw(self) -> bytes:
        """The raw Ed25519 public key (``ValueError`` for other keys)."""
        if not isinstance(self.key, ed25519.Ed25519PublicKey):
            raise ValueError("only an Ed25519 key has a raw form")
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        key = self.key
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, message)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            else:
                key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class KeyProof:
    """A request's signature, checked: ``key`` signed exactly these bytes, ``created`` recently, for this VTN."""

    key: PartyKey
    created: datetime

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint


def request_message(audience: str, created: int, body: bytes) -> bytes:
    """What a request's signature covers."""
    return b"transactive-request/1\n" + audience.encode() + b"\n" + str(created).encode() + b"\n" + body


def notice_message(party: str, body: bytes) -> bytes:
    """What a notice's signature covers."""
    return b"transactive-notice/1\n" + party.encode() + b"\n" + body


def _parse(header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(header):
        match = _PARAM.match(header, position)
        if match is None or match.end() == position:
            raise NotAuthorizedError("the Signature header must read keyid=\"...\", created=N, sig=\"...\"",
                                     field=REQUEST_SIGNATURE)
        params[match[1]] = match[2] if match[2] is not None else match[3]
        position = match.end()
    return params


def verify_request(header: str, body: bytes, *, audience: str, now: datetime,
                   freshness: timedelta = FRESHNESS) -> KeyProof:
    """Check a request's ``Signature`` against the body it came with; the proof, or 463 naming the header
    (malformed, another audience, not fresh, or not verifying)."""
    if len(header) > 16_384:
        raise NotAuthorizedError("the Signature header is too long", field=REQUEST_SIGNATURE)
    params = _parse(header)
    missing = [name for name in ("keyid", "created", "sig") if name not in params]
    if missing:
        raise NotAuthorizedError(f"the Signature header lacks {', '.join(missing)}", field=REQUEST_SIGNATURE)
    try:
        created = int(params["created"])
    except ValueError:
        raise NotAuthorizedError("created must be Unix seconds", field=REQUEST_SIGNATURE) from None
    stamp = now.timestamp()
    if not (math.isfinite(stamp) and abs(created - stamp) <= freshness.total_seconds()):
        raise NotAuthorizedError(f"the signature is not fresh: created must be within {freshness} of the VTN's "
                                 "clock", field=REQUEST_SIGNATURE)
    key = PartyKey.from_keyid(params["keyid"])
    signature = _unb64(params["sig"], "sig")
    if not key.verifies(signature, request_message(audience, created, body)):
        raise NotAuthorizedError("the request's signature does not verify (another body, audience or key)",
                                 field=REQUEST_SIGNATURE)
    return KeyProof(key, now - timedelta(seconds=stamp - created))


def verify_notice(key: PartyKey, party: str, body: bytes, signature: str | None) -> bool:
    """Does ``signature`` (base64url) show that ``key`` signed this notice for ``party``?"""
    if not signature:
        return False
    try:
        raw = base64.b64decode(signature + "=" * (-len(signature) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError):
        return False
    return key.verifies(raw, notice_message(party, body))


class PartyIdentity:
    """A party's private key (and certificate, if it has one): what signs its requests or, for the VTN, its
    notices. ``PartyIdentity.generate()`` makes an Ed25519 key; :meth:`save` / :meth:`load` keep it (PEM, mode
    0600)."""

    __slots__ = ("_private", "public")

    def __init__(self, private_key: _PrivateKey, certificate: x509.Certificate | None = None) -> None:
        self._private = private_key
        if certificate is not None:
            self.public = PartyKey.of_certificate(certificate)
            if self.public.spki != _spki(private_key):
                raise ValueError("the certificate is not for this private key")
        elif isinstance(private_key, ed25519.Ed25519PrivateKey):
            self.public = PartyKey(private_key.public_key())
        else:
            raise ValueError("an ECDSA or RSA key needs its certificate")

    @classmethod
    def generate(cls) -> PartyIdentity:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        key = self._private
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(message)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(message, ec.ECDSA(hashes.SHA256()))
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def request_signature(self, body: bytes, *, audience: str, created: int) -> str:
        """The ``Signature`` header value for a request ``body`` to the VTN ``audience`` at ``created``."""
        sig = self.sign(request_message(audience, created, body))
        return f'keyid="{self.public.keyid}", created={created}, sig="{_b64(sig)}"'

    def notice_signature(self, party: str, body: bytes) -> str:
        """The base64url signature of a notice ``body`` for ``party``."""
        return _b64(self.sign(notice_message(party, body)))

    def private_pem(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())

    @classmethod
    def from_pem(cls, key_pem: bytes, certificate_pem: bytes | None = None) -> PartyIdentity:
        """From a PEM private key (and a PEM certificate for ECDSA/RSA keys); ``ValueError`` if unreadable."""
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise ValueError(f"a {type(key).__name__} key is not supported: Ed25519, ECDSA or RSA")
        cert = x509.load_pem_x509_certificate(certificate_pem) if certificate_pem else None
        return cls(key, cert)


def _spki(private_key: _PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def load_or_create_identity(path: Path) -> PartyIdentity:
    """The identity kept in ``path`` (a PEM private key), or a new Ed25519 one written there (mode 0600,
    created atomically): a restarted VEN or VTN keeps its key. ``ValueError`` naming the file if it exists
    but is not a key this module reads."""
    if path.exists():
        try:
            return PartyIdentity.from_pem(path.read_bytes())
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path}: not a usable private key ({error})") from None
    identity = PartyIdentity.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(identity.private_pem())
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return identity
