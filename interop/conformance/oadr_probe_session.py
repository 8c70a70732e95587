"""The probe's VEN session: raw ``oadrPayload`` documents POSTed to ``{url}/OpenADR2/Simple/2.0b/{service}``,
every document sent and received recorded as evidence, and every reply checked.

The session sends bytes, not models, so that a case can send a broken document as easily as a good one.
A reply the kit asked for is checked in this order, each check failing the rule it stands for: the HTTP
status (never a 5xx; 200 for an answer), well-formed XML, valid against the shipped ``oadr20b`` schema, a
signature that verifies when the reply carries one (made with ``--vtn-fingerprint``'s certificate when
given), the payload its service pairs with the request (:data:`~.oadr_probe_rules.EXCHANGE_PATTERN`), the
requestID echoed, a success code, and the venID (when the reply names one) the probe's own.

Security: ``https://`` URLs use :func:`~transactive.transport.tls.client_context` with ``--tls-ca`` and
(for mutual TLS) ``--tls-cert``/``--tls-key``; ``--vtn-fingerprint`` pins the VTN's certificate in the
handshake (:func:`~transactive.ven.oadr.http.pin_fingerprint`) and its XML signatures; ``--sign-cert`` and
``--sign-key`` sign every request (:class:`~transactive.protocol.oadr_sign.OadrSigner`).

Nothing answering at all on the first exchange (connection refused, a name that does not resolve, a TLS
handshake that fails) raises :class:`~.model.EndpointUnreachable`; later, such a failure fails the case.
"""

from __future__ import annotations

import ssl as ssl_module
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from lxml import etree

from transactive.codec import decode_element, encode_xml
from transactive.ei.oadr.base import OadrMessage
from transactive.ei.oadr.poll import OadrResponse
from transactive.ei.oadr.registration import OadrRequestReregistration
from transactive.errors import TransactiveError
from transactive.interop.conformance.checks import ensure, fail, schema_valid, well_formed
from transactive.interop.conformance.model import EndpointUnreachable, Options, Rule
from transactive.interop.conformance.oadr_probe_rules import EXCHANGE_PATTERN, VEN_ID
from transactive.interop.conformance.rules import EI_RESPONSE, OADR_HTTP_CODES, OADR_SCHEMA, OADR_SECURITY
from transactive.interop.conformance.suite import Recorder
from transactive.protocol.oadr import service_url
from transactive.transport.base import ConnectionFailedError, TransportError, TransportTimeoutError
from transactive.transport.http import https_failure
from transactive.transport.tls import client_context
from transactive.ven.oadr.http import message_of, pin_fingerprint

__all__ = ["Answer", "ProbeSession", "Reply", "new_id", "response_code", "tag_of"]

_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"


def new_id(prefix: str = "conformance-") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def tag_of(message: OadrMessage | type[OadrMessage]) -> str:
    cls = message if isinstance(message, type) else type(message)
    return (cls.__tag__ or cls.__name__).split(":", 1)[-1]


def response_code(message: OadrMessage | None) -> int | None:
    """The ``eiResponse`` code a message carries (None: it carries none)."""
    response = getattr(message, "response", None)
    code = getattr(response, "response_code", None)
    try:
        return None if code is None else int(code)
    except (TypeError, ValueError):
        return None


def _success(code: int | None) -> bool:
    return code is not None and 200 <= code < 300


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back for one POST: the HTTP status and the body."""

    service: str
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply that passed the document checks: its parsed root, the message (None: an empty 200 body) and
    whether it carried a verified XML signature."""

    answer: Answer
    message: OadrMessage | None
    signed: bool

    @property
    def code(self) -> int | None:
        return response_code(self.message)


def _request_id(message: OadrMessage | None) -> str | None:
    value = getattr(message, "request_id", None)
    return value if isinstance(value, str) else None


def _message_in(root: etree._Element) -> OadrMessage:
    """The message inside an ``oadrPayload`` (the schema check has made sure of the envelope), read as the VEN
    library reads it (:func:`~transactive.ven.oadr.http.message_of`)."""
    try:
        return message_of(root)
    except TransactiveError as exc:
        fail(OADR_SCHEMA, f"the reply could not be read as an OpenADR 2.0b message: {exc}")


class ProbeSession:
    """One VEN's conversation with the VTN at ``url`` (see the module's description)."""

    def __init__(self, url: str, options: Options, recorder: Recorder) -> None:
        self.url = url.rstrip("/")
        self.options = options
        self.recorder = recorder
        self.https = self.url.lower().startswith("https://")
        self.ssl = self.tls_context(with_certificate=True) if self.https else None
        self.signer: Any = None
        self.verifier: Any = None
        if options.signs:
            from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier

            assert options.sign_cert is not None
            assert options.sign_key is not None
            self.signer = OadrSigner(options.sign_cert.read_bytes(), options.sign_key.read_bytes())
            self.verifier = OadrVerifier()
        #: the venID the VEN has (set once registered); replies naming another venID fail
        self.ven_id: str | None = None
        #: has anything answered yet (a later transport failure fails a case; the first one stops the run)
        self.answered = False
        #: the TLS version and the VTN's certificate (DER) of the last HTTPS exchange
        self.tls_version: str | None = None
        self.peer_certificate: bytes | None = None
        self._session: aiohttp.ClientSession | None = None

    def tls_context(self, *, with_certificate: bool) -> ssl_module.SSLContext:
        options = self.options
        cert, key = (options.tls_cert, options.tls_key) if with_certificate else (None, None)
        context = client_context(options.tls_ca, cert=cert, key=key)
        if options.vtn_fingerprint:
            pin_fingerprint(context, options.vtn_fingerprint)
        return context

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self.client(self.ssl)
        return self._session

    def client(self, context: ssl_module.SSLContext | None) -> aiohttp.ClientSession:
        """A new HTTP client (``context`` for HTTPS); the caller closes it."""
        connector = aiohttp.TCPConnector(ssl=context if context is not None else True)
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self.options.timeout),
                                     headers={"Content-Type": "application/xml"})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url_of(self, service: str) -> str:
        return service_url(self.url, service)

    # -- sending ---------------------------------------------------------------------------------------

    def encode(self, message: OadrMessage, *, sign: bool = True) -> bytes:
        """``message`` as a document, signed when the run signs (and ``sign``)."""
        document = encode_xml(message)
        return self.signer.sign(document) if sign and self.signer is not None else document

    async def post(self, service: str, body: bytes, *, client: aiohttp.ClientSession | None = None) -> Answer:
        """POST ``body`` to ``service`` (any bytes), both recorded; the status and body whatever they are."""
        url = self.url_of(service)
        self.recorder.record("sent", url, body)
        try:
            async with (client or self._client()).post(url, data=body) as response:
                self._note_tls(response)
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise self._failure(error, url) from None
        self.answered = True
        self.recorder.record("received", url, content, status)
        return Answer(service, status, content)

    def _note_tls(self, response: aiohttp.ClientResponse) -> None:
        connection = response.connection
        transport = None if connection is None else connection.transport
        if transport is None:  # a short answer read whole already released its connection; its protocol knows
            protocol = getattr(response.content, "_protocol", None)
            transport = getattr(protocol, "transport", None)
        ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl_module.SSLObject):
            self.tls_version = ssl_object.version()
            self.peer_certificate = ssl_object.getpeercert(binary_form=True)

    def _failure(self, error: BaseException, url: str) -> Exception:
        if isinstance(error, TimeoutError | aiohttp.ServerTimeoutError):
            return TransportTimeoutError(f"POST {url}: no answer in {self.options.timeout:g} s")
        what = https_failure(error, https=self.https) or f"{type(error).__name__}: {error}"
        if not self.answered:
            return EndpointUnreachable(f"nothing answers at {url}: {what}")
        if isinstance(error, aiohttp.ClientConnectionError | OSError):
            return ConnectionFailedError(f"POST {url}: {what}")
        return TransportError(f"POST {url}: {what}")

    async def send(self, service: str, message: OadrMessage, *, sign: bool = True) -> Answer:
        return await self.post(service, self.encode(message, sign=sign))

    # -- checking ------------------------------------------------------------------------------------------

    def read(self, answer: Answer, what: str) -> Reply:
        """The document checks of a reply with HTTP 200: well-formed, schema-valid, its signature (if any)
        verified; an empty body is a reply without a message."""
        ensure(answer.status < 500, OADR_HTTP_CODES, f"{what}: HTTP {answer.status} (a server failure)")
        if not answer.body.strip():
            return Reply(answer, None, False)
        root = well_formed(answer.body, what)
        schema_valid(root, "oadr20b", OADR_SCHEMA, what)
        signed = root.find(_SIGNATURE) is not None
        if signed and self.verifier is not None:
            try:
                verified = self.verifier.verify(root, expected_fingerprint=self.options.vtn_fingerprint)
            except (TransactiveError, ValueError) as exc:
                fail(OADR_SECURITY, f"{what}: the signature does not verify: {exc}")
            holder = verified.signed_object
            element = [c for c in holder if isinstance(c.tag, str)]
            message: object = decode_element(element[0]) if len(element) == 1 else None
            if not isinstance(message, OadrMessage):
                fail(OADR_SECURITY, f"{what}: the signed object holds no OpenADR message")
            return Reply(answer, message, True)
        return Reply(answer, _message_in(root), signed)

    def accepted(self, answer: Answer, request: OadrMessage, expect: Sequence[type[OadrMessage]],
                 refused_rule: Rule) -> OadrMessage:
        """The reply to ``request`` after every check, as an acceptance: HTTP 200, one of ``expect``, a 2xx
        code (else ``refused_rule`` fails), the requestID echoed and the venID the probe's."""
        what = f"the reply to {tag_of(request)}"
        ensure(answer.status < 500, OADR_HTTP_CODES, f"{what}: HTTP {answer.status} (a server failure)")
        ensure(answer.status == 200, refused_rule, f"{what}: HTTP {answer.status} where an answer was expected: "
               f"{answer.body[:300].decode('utf-8', 'replace')!r}")
        reply = self.read(answer, what)
        message = reply.message
        names = " or ".join(tag_of(t) for t in expect)
        if message is None:
            fail(EXCHANGE_PATTERN, f"{what}: an empty body where {names} was expected")
        code = response_code(message)
        if not isinstance(message, tuple(expect)):
            if isinstance(message, OadrResponse) and not _success(code):
                fail(refused_rule, f"{what}: refused with code {code} "
                     f"({message.response.response_description or 'no description'})")
            fail(EXCHANGE_PATTERN, f"{what}: {tag_of(message)} where {names} was expected")
        if code is not None and not _success(code):
            description = getattr(getattr(message, "response", None), "response_description", None)
            fail(refused_rule, f"{what}: refused with code {code} ({description or 'no description'})")
        self.check_echo(request, message, what)
        self.check_ven_id(message, what)
        return message

    def check_echo(self, request: OadrMessage, message: OadrMessage, what: str) -> None:
        request_id = _request_id(request)
        response = getattr(message, "response", None)
        if request_id is None or response is None:
            return
        echoed = response.request_id
        ensure(echoed == request_id, EI_RESPONSE,
               f"{what}: eiResponse/requestID is {echoed!r}, not the request's {request_id!r}")

    def check_ven_id(self, message: OadrMessage, what: str) -> None:
        named = getattr(message, "ven_id", None)
        if self.ven_id is None or not isinstance(named, str) or isinstance(message, OadrRequestReregistration):
            return
        ensure(named == self.ven_id, VEN_ID, f"{what}: names venID {named!r}, not this VEN's {self.ven_id!r}")

    def refusal(self, answer: Answer, request: OadrMessage | None, rule: Rule, what: str) -> str:
        """Check that ``answer`` refuses the request: an HTTP 4xx, or a valid reply carrying an error code (or
        asking the VEN to register again); never a 5xx, never a success. The detail for a pass."""
        ensure(answer.status < 500, OADR_HTTP_CODES, f"{what}: HTTP {answer.status} (a server failure) where "
               "a refusal was expected")
        if 400 <= answer.status < 500:
            return f"refused with HTTP {answer.status}"
        ensure(answer.status == 200, OADR_HTTP_CODES, f"{what}: HTTP {answer.status}")
        reply = self.read(answer, what)
        message = reply.message
        if message is None:
            fail(rule, f"{what}: accepted (HTTP 200, empty body) where a refusal was expected")
        if isinstance(message, OadrRequestReregistration):
            return "answered with oadrRequestReregistration"
        code = response_code(message)
        ensure(code is not None and not _success(code), rule,
               f"{what}: accepted with {tag_of(message)} code {code} where an error was expected")
        if request is not None:
            self.check_echo(request, message, what)
        return f"refused with {tag_of(message)} code {code}"
