"""A throwaway PKI for the TLS tests, made with :mod:`transactive.protocol.certs` (what ``transactive certs
create`` writes), plus the bad certificates the tests need: one from another CA, one that has expired, one
for another host, and files that are not what they claim to be."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from transactive.protocol.certs import CertificateSet, Issued, create_set, issue_server, set_files
from transactive.transport.tls import client_context


@dataclass(frozen=True)
class Pki:
    """``good``: the CA every party trusts, with the VTN (``vtn``, also the MQTT broker's certificate) and VENs
    ``ven-1``, ``ven-2``, ``feeder-7``; ``other``: a second CA with its own ``vtn`` and ``ven-1``."""

    good: CertificateSet
    other: CertificateSet
    directory: Path

    @property
    def ca(self) -> Path:
        return self.good.files(self.good.ca)[0]

    @property
    def other_ca(self) -> Path:
        return self.other.files(self.other.ca)[0]

    def pair(self, name: str, *, other: bool = False) -> tuple[Path, Path]:
        """(certificate, key) of ``name`` in the good set (or the other one)."""
        return set_files((self.other if other else self.good).directory, name)

    def client(self, ven: str | None = None, *, ca: Path | None = None, other: bool = False) -> ssl.SSLContext:
        """A client context trusting ``ca`` (default: the good CA), presenting ``ven``'s certificate if named."""
        cert, key = self.pair(ven, other=other) if ven is not None else (None, None)
        return client_context(ca or self.ca, cert=cert, key=key)


def _write(issued: Issued, directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = set_files(directory, name)
    cert.write_bytes(issued.certificate_pem())
    key.write_bytes(issued.key_pem())
    key.chmod(0o600)
    return cert, key


def make_pki(directory: Path) -> Pki:
    good = create_set(directory / "good", vtn="vtn", vens=["ven-1", "ven-2", "feeder-7"])
    other = create_set(directory / "other", vtn="vtn", vens=["ven-1"])
    bad = directory / "bad"
    bad.mkdir()
    # signed by the good CA, but valid for a day that ended nine days ago
    expired = issue_server(good.ca, "vtn-expired", valid_from=datetime.now(UTC) - timedelta(days=10), days=1)
    _write(expired, bad, "expired")
    # signed by the good CA, for a host that is not this one
    _write(issue_server(good.ca, "vtn-elsewhere", hosts=("vtn.example.net",)), bad, "elsewhere")
    (bad / "not-pem.crt").write_text("this is not a certificate\n")
    (bad / "not-pem.key").write_text("this is not a key\n")
    return Pki(good, other, directory)
