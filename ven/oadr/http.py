"""OpenADR 2.0b simple HTTP, the VEN's side: post one message to a VTN service, return the VTN's answer.

Each message is one ``POST {VTN URL}/OpenADR2/Simple/2.0b/{service}`` (:func:`transactive.protocol.oadr.service_url`)
with an ``application/xml`` ``oadrPayload`` document; the answer is the document in the body (an empty 200 body,
as openleadr sends after an ``oadrResponse``, is None).

Security hooks, all optional:

* ``ssl``: an :class:`ssl.SSLContext` for an ``https://`` VTN (:func:`transactive.transport.tls.client_context`:
  the CA the VTN's certificate must chain to, and this VEN's certificate for mutual TLS);
* ``vtn_fingerprint``: the OpenADR fingerprint (last 10 bytes of the SHA-256 of the certificate,
  :func:`transactive.protocol.certs.fingerprint`) the VTN's TLS certificate must have — checked in every
  handshake, before anything is sent (:func:`pin_fingerprint`; a mismatch is a failed handshake) — and the
  one its XML signatures must be made with when a ``verifier`` is given;
* ``signer`` (:class:`DocumentSigner`): signs every outgoing document (``sign(bytes) -> bytes``);
* ``verifier`` (:class:`DocumentVerifier`): checks every incoming document's XML signature
  (``verify(bytes, expected_fingerprint=...)``), and the message decoded is the one it says was signed.

``observer`` sees every document sent and received (``observer("sent" | "received", service, bytes)``): for
logging, capture and tests.

Errors are mapped where they enter: the VTN unreachable or the connection lost →
:class:`~transactive.transport.base.ConnectionFailedError` (``TLS: ...`` for a failed handshake), no answer in
``timeout`` seconds → :class:`~transactive.transport.base.TransportTimeoutError`, a 5xx or an answer that is not
an OpenADR document → :class:`~transactive.transport.base.TransportError`; a 4xx (openleadr answers a failed
schema check with 400, a refused certificate or signature with 403) →
:class:`~transactive.protocol.errors.RequestRefusedError` with that code; a VTN certificate of the wrong
fingerprint → :class:`~transactive.transport.base.ConnectionFailedError` (``TLS: ...``), a signature that does
not verify or was made with another certificate → :class:`~transactive.protocol.errors.ForgedNoticeError`
(463); an undecodable document stays the codec's :class:`~transactive.errors.ProtocolError`.
"""

from __future__ import annotations

import logging
import ssl as ssl_module
from collections.abc import Callable
from typing import Any, Literal, Protocol

import aiohttp
from lxml import etree

from transactive.codec import decode_element, encode_xml, parse_xml
from transactive.ei.oadr.base import OadrMessage
from transactive.errors import FieldError, InvalidMessageError, ProtocolError
from transactive.model import Model
from transactive.protocol.certs import fingerprint_der, same_fingerprint
from transactive.protocol.errors import ForgedNoticeError, RequestRefusedError
from transactive.protocol.oadr import Service, service_url
from transactive.transport.base import ConnectionFailedError, TransportError, TransportTimeoutError
from transactive.transport.http import https_failure

__all__ = ["DocumentSigner", "DocumentVerifier", "OadrHttp", "Observer", "VerifiedDocument", "message_of",
           "pin_fingerprint"]

_log = logging.getLogger("transactive.ven.oadr.http")

_OADR_NS = "http://openadr.org/oadr-2.0b/2012/07"
_SIGNED_OBJECT = f"{{{_OADR_NS}}}oadrSignedObject"

#: ``observer(direction, service, document)``
Observer = Callable[[Literal["sent", "received"], Service, bytes], None]


class DocumentSigner(Protocol):
    """Signs an outgoing ``oadrPayload`` document (XML signature over ``oadrSignedObject``)."""

    def sign(self, document: bytes) -> bytes: ...


class VerifiedDocument(Protocol):
    """What a verifier returns: ``signed_object`` is what the signature covers (an element or its bytes)."""

    @property
    def signed_object(self) -> Any: ...


class DocumentVerifier(Protocol):
    """Checks an incoming document's XML signature (raising when it does not verify or was made with another
    certificate than ``expected_fingerprint``'s)."""

    def verify(self, document: bytes, *, expected_fingerprint: str | None = None) -> VerifiedDocument: ...


def message_of(element: etree._Element) -> OadrMessage:
    """The message in an ``oadrPayload``, an ``oadrSignedObject`` or the message element itself (a signature
    beside the signed object is allowed: it is the verifier's business)."""
    if isinstance(element.tag, str) and element.tag.endswith("}oadrPayload"):
        found = element.find(_SIGNED_OBJECT)
        if found is None:
            raise InvalidMessageError("oadrPayload holds no oadrSignedObject",
                                      errors=[FieldError("oadr:oadrPayload", "expected oadr:oadrSignedObject")])
        element = found
    if element.tag == _SIGNED_OBJECT:
        children = [c for c in element if isinstance(c.tag, str)]
        if len(children) != 1:
            raise InvalidMessageError("oadrSignedObject must hold exactly one message",
                                      errors=[FieldError("oadr:oadrSignedObject", "expected one message")])
        element = children[0]
    message: Model = decode_element(element)
    if not isinstance(message, OadrMessage):
        raise InvalidMessageError(f"{type(message).__tag__} is not an OpenADR 2.0b message")
    return message


def pin_fingerprint(context: ssl_module.SSLContext, expected: str) -> ssl_module.SSLContext:
    """Make every TLS connection ``context`` makes check, as its handshake ends and before a byte of data is
    sent, that the server's certificate has the OpenADR fingerprint ``expected``; a mismatch fails the handshake
    (``ssl.SSLCertVerificationError``, CERTIFICATE_VERIFY_FAILED). The context is changed (its
    ``sslobject_class``) and returned."""

    class PinnedSSLObject(ssl_module.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            seen = fingerprint_der(der) if der else None
            if seen is None or not same_fingerprint(seen, expected):
                raise ssl_module.SSLCertVerificationError(
                    1, f"CERTIFICATE_VERIFY_FAILED: the VTN's certificate has fingerprint {seen}, not {expected}")

    context.sslobject_class = PinnedSSLObject
    return context


class OadrHttp:
    """Posts OpenADR 2.0b messages to the VTN at ``vtn_url`` (see the module's description)."""

    def __init__(self, vtn_url: str, *, ssl: ssl_module.SSLContext | None = None,
                 signer: DocumentSigner | None = None, verifier: DocumentVerifier | None = None,
                 vtn_fingerprint: str | None = None, timeout: float = 30.0,
                 observer: Observer | None = None) -> None:
        self.vtn_url = vtn_url.rstrip("/")
        self.https = self.vtn_url.lower().startswith("https://")
        if vtn_fingerprint is not None and not self.https and verifier is None:
            raise ValueError("a VTN fingerprint is checked on an https:// VTN's certificate or its XML "
                             f"signatures; {vtn_url} is neither")
        if vtn_fingerprint is not None and self.https:
            ssl = pin_fingerprint(ssl if ssl is not None else ssl_module.create_default_context(), vtn_fingerprint)
        self.ssl = ssl
        self.signer = signer
        self.verifier = verifier
        self.vtn_fingerprint = vtn_fingerprint
        self.timeout = timeout
        self.observer = observer
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.ssl if self.ssl is not None else True)
            self._session = aiohttp.ClientSession(connector=connector,
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout),
                                                  headers={"Content-Type": "application/xml"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def encode(self, message: OadrMessage) -> bytes:
        """The document for ``message``, signed when a signer is set."""
        document = encode_xml(message)
        return self.signer.sign(document) if self.signer is not None else document

    def decode(self, document: bytes) -> OadrMessage:
        """The message in a VTN's document, its signature checked when a verifier is set."""
        root = parse_xml(document)
        if self.verifier is None:
            return message_of(root)
        try:
            verified = self.verifier.verify(document, expected_fingerprint=self.vtn_fingerprint)
        except (ProtocolError, ValueError) as error:
            raise ForgedNoticeError(f"the VTN's document does not carry a valid signature: {error}",
                                    errors=[FieldError("ds:Signature", str(error))]) from None
        signed = verified.signed_object
        if isinstance(signed, bytes | str):
            signed = parse_xml(signed)
        if not isinstance(signed, etree._Element):
            raise TypeError(f"the verifier returned a signed object of type {type(signed).__name__}")
        return message_of(signed)

    async def exchange(self, service: Service, message: OadrMessage) -> OadrMessage | None:
        """Post ``message`` to ``service``; the VTN's answer (None for an empty body)."""
        url = service_url(self.vtn_url, service)
        body = self.encode(message)
        what = f"{type(message).__tag__} to {url}"
        if self.observer is not None:
            self.observer("sent", service, body)
        try:
            async with self._client().post(url, data=body) as response:
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise self._map(error, what) from None
        if self.observer is not None and content:
            self.observer("received", service, content)
        if 400 <= status < 500:
            text = content.decode("utf-8", "replace").strip().splitlines()
            raise RequestRefusedError(f"{what}: HTTP {status}: {text[0] if text else 'no reason given'}",
                                      response_code=status)
        if status >= 300:
            raise TransportError(f"{what}: HTTP {status}")
        if not content.strip():
            return None
        return self.decode(content)

    def _map(self, error: BaseException, what: str) -> TransportError:
        if isinstance(error, TimeoutError | aiohttp.ServerTimeoutError):
            return TransportTimeoutError(f"{what}: no answer in {self.timeout:g} s")
        failure = https_failure(error, https=self.https)
        if failure is not None:
            return ConnectionFailedError(f"{what}: {failure}")
        if isinstance(error, aiohttp.ClientConnectionError | OSError):
            return ConnectionFailedError(f"{what}: {error.__class__.__name__}: {error}")
        return TransportError(f"{what}: {error.__class__.__name__}: {error}")
