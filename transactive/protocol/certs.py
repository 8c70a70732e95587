"""A throwaway certificate authority for tests and demos, and the certificate facts both roles need.

Transport security (HTTPS for the VTN and its clients, MQTT over TLS) and OpenADR 2.0b's message signing
both need X.509 certificates. Production deployments get them from a real CA; tests, demos and a first
trial need a small one that is made in a second and thrown away. This module makes it (with
``cryptography``), and reads certificates and keys back with errors that name the file:

* :func:`create_ca` — a self-signed CA (``basicConstraints CA:TRUE, pathlen 0``, may sign certificates);
* :func:`issue_server` — a VTN's (or a broker's) certificate: ``serverAuth`` and ``clientAuth`` (a child
  VTN is a client of its parent), the host names and addresses it is reached at as subject alternative
  names (:data:`DEFAULT_HOSTS`: localhost, 127.0.0.1, ::1);
* :func:`issue_client` — a VEN's certificate: ``clientAuth``, the party's name as common name;
* :func:`create_set` — a CA, one VTN and any number of VENs written to a directory (``transactive certs
  create``): ``ca.crt``/``ca.key``, ``NAME.crt``/``NAME.key`` (PEM; keys PKCS#8 unencrypted, mode 0600);
* :func:`fingerprint` — OpenADR 2.0b's certificate fingerprint, as openleadr computes and prints it: the
  last 10 bytes of the SHA-256 of the DER certificate, upper-case hex pairs joined by colons
  (``F5:D2:...:9A``, 29 characters);
* :func:`load_certificates`, :func:`load_private_key`, :func:`check_key_pair` — reading PEM files back;
  every problem is a :class:`CertificateError` naming the file (missing, unreadable, not PEM, encrypted,
  a key that does not belong to the certificate); :func:`validity_problem` — expired or not yet valid.

Keys are ECDSA on P-256 by default (``key_type="ecdsa"``), or 2048-bit RSA (``"rsa"``); signatures are
SHA-256. A certificate is valid from an hour before it is made (clock skew between machines) for ``days``
days; ``valid_from`` moves that window (a certificate that has already expired, for tests). Time comes
from an injected clock (:func:`~transactive.protocol.clock.system_clock` by default).

This module is imported on its own (``transactive.protocol`` does not load it): a VEN that speaks plain
HTTP does not load the X.509 machinery.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from transactive.errors import TransactiveError
from transactive.protocol.clock import Clock, system_clock

__all__ = [
    "CA_NAME",
    "DEFAULT_DAYS",
    "DEFAULT_HOSTS",
    "KEY_TYPES",
    "MAX_DAYS",
    "CertificateError",
    "CertificateSet",
    "Issued",
    "KeyType",
    "PrivateKey",
    "check_key_pair",
    "check_name",
    "create_ca",
    "create_set",
    "fingerprint",
    "fingerprint_der",
    "same_fingerprint",
    "issue_client",
    "issue_server",
    "load_certificate",
    "load_certificates",
    "load_private_key",
    "new_key",
    "set_files",
    "subject_alternative_names",
    "validity_problem",
    "write_private",
    "write_public",
]

KeyType = Literal["ecdsa", "rsa"]
#: the key types :func:`new_key` makes (the first is the default)
KEY_TYPES: tuple[KeyType, ...] = ("ecdsa", "rsa")
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
#: how long certificates are valid by default (days)
DEFAULT_DAYS = 365
#: the longest validity this module makes (days; a hundred years)
MAX_DAYS = 36_500
#: where a VTN on this machine is reached: its subject alternative names unless told otherwise
DEFAULT_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
#: the file stem of the CA in a set (so no party may be called that)
CA_NAME = "ca"
#: a certificate is valid from this long before it is made (clocks of two machines are never equal)
BACKDATE = timedelta(hours=1)
_RSA_BITS = 2048
_ORGANIZATION = "transactive throwaway test PKI"
#: party names that are also safe file names: a letter or digit first, then letters, digits, ``.``, ``_``, ``-``
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DNS = re.compile(r"(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")


class CertificateError(TransactiveError, ValueError):
    """A certificate or key file that cannot be used; ``path`` is the file, the message says why."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# ---- making keys and certificates -------------------------------------------------------------------


def new_key(key_type: KeyType = "ecdsa") -> PrivateKey:
    """A new private key: ECDSA on P-256, or RSA with 2048 bits."""
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    raise ValueError(f"unknown key type {key_type!r}: {' or '.join(KEY_TYPES)}")


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def name(self) -> str:
        """The subject's common name."""
        names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        value = names[0].value if names else ""
        return value if isinstance(value, str) else value.decode()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """The private key, PKCS#8 PEM, unencrypted (what ssl, Mosquitto and openleadr all read)."""
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def _window(days: float, valid_from: datetime | None, clock: Clock) -> tuple[datetime, datetime]:
    if not (math.isfinite(days) and 0 < days <= MAX_DAYS):
        raise ValueError(f"a certificate's validity must be a positive number of days up to {MAX_DAYS}, "
                         f"not {days:g}")
    start = valid_from if valid_from is not None else clock() - BACKDATE
    if start.tzinfo is None:
        raise ValueError("valid_from needs a time zone")
    start = start.replace(microsecond=0)
    return start, start + timedelta(days=days)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def create_ca(name: str = "transactive test CA", *, key_type: KeyType = "ecdsa", days: float = DEFAULT_DAYS,
              valid_from: datetime | None = None, clock: Clock = system_clock) -> Issued:
    """A self-signed certificate authority that may sign end-entity certificates (not other CAs)."""
    key = new_key(key_type)
    start, end = _window(days, valid_from, clock)
    subject = _name(name)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(public)
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def subject_alternative_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """Host names and IP addresses as subject alternative names (``ValueError`` for one that is neither)."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        if not host.isascii() or _DNS.fullmatch(host) is None or len(host) > 253:
            raise ValueError(f"not a host name or IP address: {host!r}")
        names.append(x509.DNSName(host.rstrip(".")))
    return names


def _issue(ca: Issued, name: str, *, usages: Sequence[x509.ObjectIdentifier], hosts: Sequence[str],
           key_type: KeyType, days: float, valid_from: datetime | None, clock: Clock) -> Issued:
    key = new_key(key_type)
    start, end = _window(days, valid_from, clock)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name)).issuer_name(ca.certificate.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alternative_names(hosts)),
                                        critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def issue_server(ca: Issued, name: str, *, hosts: Sequence[str] = DEFAULT_HOSTS, key_type: KeyType = "ecdsa",
                 days: float = DEFAULT_DAYS, valid_from: datetime | None = None,
                 clock: Clock = system_clock) -> Issued:
    """A server's certificate signed by ``ca``: common name ``name``, ``hosts`` as subject alternative names
    (what clients check the host they connect to against), usable as a server and as a client."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    return _issue(ca, name, usages=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
                  hosts=hosts, key_type=key_type, days=days, valid_from=valid_from, clock=clock)


def issue_client(ca: Issued, name: str, *, key_type: KeyType = "ecdsa", days: float = DEFAULT_DAYS,
                 valid_from: datetime | None = None, clock: Clock = system_clock) -> Issued:
    """A client's (a VEN's) certificate signed by ``ca``: common name ``name``, usable as a client only."""
    return _issue(ca, name, usages=(ExtendedKeyUsageOID.CLIENT_AUTH,), hosts=(), key_type=key_type, days=days,
                  valid_from=valid_from, clock=clock)


# ---- fingerprints -----------------------------------------------------------------------------------


def fingerprint_der(der: bytes) -> str:
    """OpenADR 2.0b's fingerprint of a DER certificate: the last 10 bytes of its SHA-256, as ``AB:CD:...``."""
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest()[-10:])


def same_fingerprint(a: str, b: str) -> bool:
    """Do two OpenADR fingerprints name the same certificate? Colons, case and surrounding blanks do not count
    (``7a:3c...`` is ``7A3C...``); compared in constant time."""
    def bare(text: str) -> str:
        return text.replace(":", "").strip().upper()

    return hmac.compare_digest(bare(a), bare(b))


def fingerprint(certificate: x509.Certificate | bytes | str) -> str:
    """OpenADR 2.0b's fingerprint (:func:`fingerprint_der`) of a certificate, or of its PEM text."""
    if not isinstance(certificate, x509.Certificate):
        data = certificate.encode() if isinstance(certificate, str) else certificate
        certificate = x509.load_pem_x509_certificate(data)
    return fingerprint_der(certificate.public_bytes(serialization.Encoding.DER))


# ---- reading files back -----------------------------------------------------------------------------


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CertificateError(path, "no such file") from None
    except IsADirectoryError:
        raise CertificateError(path, "is a directory, not a file") from None
    except OSError as error:
        raise CertificateError(path, f"cannot read ({error.strerror or error})") from None


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in a PEM file (a CA bundle may hold several); at least one."""
    data = _read(path)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError(path, "not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line)")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise CertificateError(path, f"not a readable PEM certificate ({error})") from None


def load_certificate(path: str | os.PathLike[str]) -> x509.Certificate:
    """The first certificate of a PEM file (a server's own certificate comes first in its chain file)."""
    return load_certificates(path)[0]


def load_private_key(path: str | os.PathLike[str]) -> PrivateKey:
    """An unencrypted PEM private key (PKCS#8, or the traditional RSA/EC forms), RSA or elliptic-curve."""
    data = _read(path)
    if b"PRIVATE KEY-----" not in data:
        raise CertificateError(path, "not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' line)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(path, "the private key is encrypted: give an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm) as error:
        raise CertificateError(path, f"not a readable PEM private key ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateError(path, f"a {type(key).__name__}: only RSA and elliptic-curve keys are supported")
    return key


def validity_problem(certificate: x509.Certificate, now: datetime) -> str | None:
    """Why ``certificate`` is not valid at ``now`` (expired, or not yet valid), or None when it is."""
    if now >= certificate.not_valid_after_utc:
        return f"expired on {certificate.not_valid_after_utc.isoformat()}"
    if now < certificate.not_valid_before_utc:
        return f"not valid before {certificate.not_valid_before_utc.isoformat()}"
    return None


def _public_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def check_key_pair(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> x509.Certificate:
    """The certificate in ``cert`` after checking that the private key in ``key`` belongs to it."""
    certificate = load_certificate(cert)
    private = load_private_key(key)
    if _public_der(certificate.public_key()) != _public_der(private.public_key()):
        raise CertificateError(key, f"this private key does not belong to the certificate in {cert}")
    return certificate


# ---- writing a set ----------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """``name`` if it can name a party's certificate files (``ValueError`` otherwise)."""
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"{name!r} cannot name certificate files: use letters, digits, '.', '_' and '-' "
                         "(a letter or digit first, at most 64)")
    if name == CA_NAME:
        raise ValueError(f"{name!r} is the CA's file name: choose another name")
    return name


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    # never through a symbolic link; an existing file (force) gets the mode too, before the data, whatever the umask
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | (0 if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, mode)
        file.write(data)


def write_private(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write a private key readable by its owner only (mode 0600); ``FileExistsError`` unless ``force``."""
    _write(path, data, 0o600, force)


def write_public(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write a certificate (mode 0644); ``FileExistsError`` unless ``force``."""
    _write(path, data, 0o644, force)


def set_files(directory: Path, name: str) -> tuple[Path, Path]:
    """Where a set keeps ``name``'s certificate and key."""
    return directory / f"{name}.crt", directory / f"{name}.key"


@dataclass(frozen=True, slots=True)
class CertificateSet:
    """What :func:`create_set` wrote: the CA, the VTN's certificate, the VENs'."""

    directory: Path
    ca: Issued
    vtn: Issued
    vens: tuple[Issued, ...]
    hosts: tuple[str, ...]
    key_type: KeyType

    def files(self, issued: Issued) -> tuple[Path, Path]:
        return set_files(self.directory, CA_NAME if issued is self.ca else issued.name)

    def entry(self, issued: Issued) -> dict[str, str]:
        cert, key = self.files(issued)
        return {"name": issued.name, "cert": str(cert), "key": str(key), "fingerprint": issued.fingerprint}

    def as_json(self) -> dict[str, Any]:
        """``{"ca", "vtn", "vens": [...], ...}``, each certificate as ``{"name", "cert", "key", "fingerprint"}``."""
        return {
            "directory": str(self.directory),
            "ca": self.entry(self.ca),
            "vtn": {**self.entry(self.vtn), "hosts": list(self.hosts)},
            "vens": [self.entry(ven) for ven in self.vens],
            "key_type": self.key_type,
            "not_before": self.ca.certificate.not_valid_before_utc.isoformat(),
            "not_after": self.ca.certificate.not_valid_after_utc.isoformat(),
        }


def create_set(directory: str | os.PathLike[str], *, vtn: str, vens: Sequence[str],
               hosts: Sequence[str] = DEFAULT_HOSTS, key_type: KeyType = "ecdsa", days: float = DEFAULT_DAYS,
               force: bool = False, valid_from: datetime | None = None, clock: Clock = system_clock) -> CertificateSet:
    """A CA, the VTN ``vtn``'s server certificate and each VEN's client certificate, written to ``directory``
    (created if missing) as ``ca.crt``/``ca.key`` and ``NAME.crt``/``NAME.key``.

    ``ValueError`` for a name that cannot name files or is given twice, a bad host or ``days``;
    ``FileExistsError`` (naming the first) when a file is already there and ``force`` is false, and
    ``ValueError`` when one is a symbolic link — checked before anything is written, so a refused set leaves
    the directory as it was; ``OSError`` when the directory cannot be created or written.
    """
    names = [check_name(vtn), *(check_name(v) for v in vens)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"each certificate needs its own name; given more than once: {', '.join(twice)}")
    subject_alternative_names(hosts)
    if not hosts:
        raise ValueError("the VTN's certificate needs at least one host name or address")
    start, _end = _window(days, valid_from, clock)  # one validity window for the whole set
    root = Path(directory).absolute()
    targets = [p for n in (CA_NAME, *names) for p in set_files(root, n)]
    link = next((p for p in targets if p.is_symlink()), None)
    if link is not None:
        raise ValueError(f"{link} is a symbolic link: certificates and keys are not written through one")
    if not force:
        existing = next((p for p in targets if os.path.lexists(p)), None)
        if existing is not None:
            raise FileExistsError(f"{existing} exists (--force overwrites)")
    root.mkdir(parents=True, exist_ok=True)
    ca = create_ca(f"transactive test CA for {vtn}", key_type=key_type, days=days, valid_from=start)
    server = issue_server(ca, vtn, hosts=hosts, key_type=key_type, days=days, valid_from=start)
    clients = tuple(issue_client(ca, v, key_type=key_type, days=days, valid_from=start) for v in vens)
    made = CertificateSet(root, ca, server, clients, tuple(hosts), key_type)
    for issued in (ca, server, *clients):
        cert, key = made.files(issued)
        write_private(key, issued.key_pem(), force=force)
        write_public(cert, issued.certificate_pem(), force=force)
    return made
