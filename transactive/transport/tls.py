"""TLS for the transports: SSL contexts built from PEM files, checked first so a mistake names its file.

A server (the VTN's HTTPS listener) needs its certificate and key, and — to ask clients for certificates —
the CA their certificates must be signed by; a client (a VEN, a child VTN, the VTN's MQTT bridge) needs the
CA it trusts the server's certificate by and, when the server asks for one, its own certificate and key::

    >>> server = server_context("certs/vtn.crt", "certs/vtn.key", client_ca="certs/ca.crt")   # doctest: +SKIP
    >>> client = client_context("certs/ca.crt", cert="certs/ven-1.crt", key="certs/ven-1.key")  # doctest: +SKIP
    >>> HttpTransport("https://127.0.0.1:8443", tls=client)                                      # doctest: +SKIP

What the contexts enforce: TLS 1.2 or later (:data:`MINIMUM_VERSION`); a client checks the server's
certificate chain against its CA (the system's trusted CAs when none is given), its validity dates and
that it names the host connected to (a subject alternative name); a server given ``client_ca`` refuses
a client that presents no certificate, or one not signed by that CA (``ssl.CERT_REQUIRED``).

Before a file reaches :mod:`ssl` (whose errors name no file), it is read and parsed with
:mod:`transactive.protocol.certs`: a missing or unreadable file, a file that is not PEM, an encrypted key
or a key that does not belong to the certificate is a :class:`~transactive.protocol.certs.CertificateError`
naming the file. :class:`ServerTls` and :class:`ClientTls` keep the file names (what ``transactive vtn
serve`` is told) and build the contexts when asked.

:func:`tls_failure` tells whether a connection error is a failed TLS handshake (and says why in a few
words): the transports map those to :class:`~transactive.transport.base.ConnectionFailedError` s whose
message starts with ``TLS``. Some clients lose that reason: with TLS 1.3 a server checks the client's
certificate after the client's side of the handshake is done, and its refusal arrives as an alert that
paho (the MQTT client) only logs, so the connection attempt just times out. :func:`diagnose` then makes
one more connection with the same context, reads, and reports the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from dataclasses import dataclass

from transactive.protocol.certs import CertificateError, check_key_pair, load_certificates

__all__ = [
    "MINIMUM_VERSION",
    "REFUSED_AFTER_HANDSHAKE",
    "ClientTls",
    "ServerTls",
    "client_context",
    "diagnose",
    "server_context",
    "tls_failure",
]

#: the oldest protocol version either side accepts
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

#: a file name
FileName = str | os.PathLike[str]


def _load_chain(context: ssl.SSLContext, cert: FileName, key: FileName) -> None:
    check_key_pair(cert, key)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:  # e.g. a key type OpenSSL refuses; the checks above catch the usual mistakes
        raise CertificateError(cert, f"ssl cannot use this certificate with the key in {key} ({error})") from None


def _load_ca(context: ssl.SSLContext, ca: FileName) -> None:
    load_certificates(ca)
    try:
        context.load_verify_locations(cafile=os.fspath(ca))
    except ssl.SSLError as error:
        raise CertificateError(ca, f"ssl cannot use these CA certificates ({error})") from None


def server_context(cert: FileName, key: FileName, *, client_ca: FileName | None = None) -> ssl.SSLContext:
    """A server's context: ``cert`` (PEM; its chain may follow it in the file) and its ``key``; with
    ``client_ca`` every client must present a certificate signed by a CA in that file."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    _load_chain(context, cert, key)
    if client_ca is not None:
        _load_ca(context, client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class _ClosingSSLSocket(ssl.SSLSocket):
    """A blocking TLS socket that closes itself when its handshake fails (paho, the MQTT client, wraps and
    handshakes a socket and leaves it open when the handshake raises)."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def client_context(ca: FileName | None = None, *, cert: FileName | None = None,
                   key: FileName | None = None) -> ssl.SSLContext:
    """A client's context: trust the CAs in ``ca`` (default: the system's), check the host name, and
    present ``cert``/``key`` (given together) when the server asks for a certificate. Blocking sockets it
    wraps close themselves when their handshake fails (``sslsocket_class``)."""
    if (cert is None) != (key is None):
        raise ValueError("a client certificate and its key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    context.minimum_version = MINIMUM_VERSION
    context.sslsocket_class = _ClosingSSLSocket
    if ca is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        _load_ca(context, ca)
    if cert is not None and key is not None:
        _load_chain(context, cert, key)
    return context


@dataclass(frozen=True, slots=True)
class ServerTls:
    """A TLS server's files (``vtn serve --tls-cert --tls-key [--tls-ca]``)."""

    cert: FileName
    key: FileName
    #: clients must present a certificate signed by a CA in this file (None: no client certificates)
    client_ca: FileName | None = None

    def context(self) -> ssl.SSLContext:
        return server_context(self.cert, self.key, client_ca=self.client_ca)


@dataclass(frozen=True, slots=True)
class ClientTls:
    """A TLS client's files: the CA it trusts (None: the system's) and its own certificate and key."""

    ca: FileName | None = None
    cert: FileName | None = None
    key: FileName | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate and its key go together")

    def context(self) -> ssl.SSLContext:
        return client_context(self.ca, cert=self.cert, key=self.key)


#: what a TLS client sees when the server refuses its certificate: asyncio's and uvloop's servers close the
#: connection after the handshake without sending the TLS alert, so only the timing tells (TLS 1.3 checks
#: the client's certificate after the client has finished its side of the handshake)
REFUSED_AFTER_HANDSHAKE = ("TLS: the server closed the connection before replying (the way a server that checks "
                           "client certificates refuses one: none presented, or not signed by a CA it trusts)")

#: OpenSSL's reasons, as they appear in a client's errors, and what they mean to its user
_REASONS = (
    ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not trusted"),
    ("CERTIFICATE_REQUIRED", "the server requires a client certificate"),
    ("UNKNOWN_CA", "the server does not trust the CA of this client's certificate"),
    ("CERTIFICATE_EXPIRED", "the server refused this client's certificate as expired"),
    ("BAD_CERTIFICATE", "the server refused this client's certificate"),
    ("HANDSHAKE_FAILURE", "no protocol version or cipher both sides accept"),
    ("PROTOCOL_VERSION", "no protocol version both sides accept"),
    ("WRONG_VERSION_NUMBER", "the server does not speak TLS"),
)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from (``__cause__``/``__context__``), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def tls_failure(error: BaseException) -> str | None:
    """``"TLS: <why>: <OpenSSL's words>"`` when ``error`` is (or was raised from) a TLS error, else None."""
    for exc in _chain(error):
        if not isinstance(exc, ssl.SSLError) or type(exc).__module__ != "ssl":  # not aiohttp's wrappers
            continue
        reason = getattr(exc, "reason", None) or ""  # set by the ssl module, not by a hand-made error
        words = getattr(exc, "verify_message", None) or reason or str(exc)
        why = next((meaning for code, meaning in _REASONS if code in f"{reason} {exc}".upper()), "the handshake failed")
        return f"TLS: {why}: {words}"
    return None


async def diagnose(host: str, port: int, context: ssl.SSLContext, *, timeout: float = 1.0) -> str | None:
    """Why a TLS connection to ``host:port`` with ``context`` fails (:func:`tls_failure`'s words), or None when
    the handshake succeeds and the server sends no alert within ``timeout`` seconds (or it cannot be reached:
    then TLS is not the problem)."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
            await reader.read(1)  # a server that refuses our certificate sends its alert now
    except (OSError, TimeoutError) as error:
        return tls_failure(error)
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(timeout):
                    await writer.wait_closed()
    return None
