"""``transactive.transport.tls``: what the SSL contexts enforce, every bad file named in its error, and the
words a failed handshake is reported with (handshakes themselves: tests/vtn/test_tls.py against ``vtn serve``
and tests/mqtt/test_tls.py against Mosquitto)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.pki import Pki
from transactive.protocol.certs import CertificateError, load_private_key
from transactive.transport.http import HttpTransport
from transactive.transport.tls import (
    MINIMUM_VERSION,
    ClientTls,
    ServerTls,
    client_context,
    diagnose,
    server_context,
    tls_failure,
)


def test_contexts_refuse_protocols_before_tls_1_2(pki: Pki) -> None:
    assert MINIMUM_VERSION is ssl.TLSVersion.TLSv1_2
    cert, key = pki.pair("vtn")
    assert server_context(cert, key).minimum_version is ssl.TLSVersion.TLSv1_2
    assert client_context(pki.ca).minimum_version is ssl.TLSVersion.TLSv1_2


def test_a_server_asks_for_client_certificates_only_with_a_client_ca(pki: Pki) -> None:
    cert, key = pki.pair("vtn")
    assert server_context(cert, key).verify_mode is ssl.CERT_NONE
    assert server_context(cert, key, client_ca=pki.ca).verify_mode is ssl.CERT_REQUIRED


def test_a_client_checks_the_servers_certificate_and_host_name(pki: Pki) -> None:
    context = client_context(pki.ca)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert client_context().verify_mode is ssl.CERT_REQUIRED  # the system's CAs: still checked


def _bad(pki: Pki, name: str) -> Path:
    return pki.directory / "bad" / name


@pytest.mark.parametrize(("case", "blamed", "words"), [
    ("missing certificate", "cert", "no such file"),
    ("missing key", "key", "no such file"),
    ("certificate is a directory", "cert", "is a directory"),
    ("certificate not PEM", "cert", "not a PEM certificate"),
    ("key not PEM", "key", "not a PEM private key"),
    ("key of another certificate", "key", "does not belong to the certificate"),
    ("missing client CA", "client_ca", "no such file"),
    ("client CA not PEM", "client_ca", "not a PEM certificate"),
])
def test_every_bad_server_file_is_named_in_the_error(pki: Pki, tmp_path: Path, case: str, blamed: str,
                                                     words: str) -> None:
    cert, key = pki.pair("vtn")
    files: dict[str, Path | None] = {"cert": cert, "key": key, "client_ca": None}
    files.update({
        "missing certificate": {"cert": tmp_path / "absent.crt"},
        "missing key": {"key": tmp_path / "absent.key"},
        "certificate is a directory": {"cert": tmp_path},
        "certificate not PEM": {"cert": _bad(pki, "not-pem.crt")},
        "key not PEM": {"key": _bad(pki, "not-pem.key")},
        "key of another certificate": {"key": pki.pair("ven-1")[1]},
        "missing client CA": {"client_ca": tmp_path / "absent-ca.crt"},
        "client CA not PEM": {"client_ca": _bad(pki, "not-pem.crt")},
    }[case])
    with pytest.raises(CertificateError) as info:
        ServerTls(files["cert"], files["key"], client_ca=files["client_ca"]).context()  # type: ignore[arg-type]
    assert info.value.path == str(files[blamed])
    assert words in str(info.value)
    assert str(info.value).startswith(str(files[blamed]))


def test_an_encrypted_key_is_named_and_refused(pki: Pki, tmp_path: Path) -> None:
    cert, key = pki.pair("ven-1")
    locked = tmp_path / "locked.key"
    locked.write_bytes(load_private_key(key).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(CertificateError, match="the private key is encrypted") as info:
        client_context(pki.ca, cert=cert, key=locked)
    assert info.value.path == str(locked)


def test_a_client_certificate_and_its_key_go_together(pki: Pki) -> None:
    cert, _key = pki.pair("ven-1")
    with pytest.raises(ValueError, match="go together"):
        client_context(pki.ca, cert=cert)
    with pytest.raises(ValueError, match="go together"):
        ClientTls(pki.ca, cert=cert)


def test_tls_is_only_for_https_urls(pki: Pki) -> None:
    with pytest.raises(ValueError, match="https://"):
        HttpTransport("http://127.0.0.1:8080", tls=pki.client())


def test_tls_failure_words_a_certificate_error_and_ignores_others() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
        except ssl.SSLError as inner:
            raise ConnectionError("wrapped") from inner
    except ConnectionError as outer:
        words = tls_failure(outer)
    assert words is not None
    assert words.startswith("TLS: the server's certificate is not trusted")
    assert tls_failure(ConnectionRefusedError(111, "refused")) is None


async def test_diagnose_says_nothing_when_the_peer_cannot_be_reached(pki: Pki) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert await diagnose("127.0.0.1", port, pki.client(), timeout=1.0) is None
