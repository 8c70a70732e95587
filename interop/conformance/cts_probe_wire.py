"""The kit's CTS party on the wire: raw ``POST {base}/cts`` exchanges, each recorded, and the checks every reply
goes through.

:class:`CtsWire` sends bytes as they are (a broken document is sent as broken as it was made), with the
party's bearer token and, for a signed registration, the ``Signature`` header of
:mod:`transactive.protocol.identity`; whatever comes back is recorded with its HTTP status before anything
is judged. A failure to connect before the endpoint ever answered is
:class:`~transactive.interop.conformance.model.EndpointUnreachable`; later, a
:class:`~transactive.transport.base.TransportError` (the runner fails the case with it).

The checks (:func:`read_document`, :func:`expect_reply`, :func:`expect_refusal`): the reply's media type
names XML or JSON; XML is well-formed, JSON is one JSON text that decodes as a CTS message; the document
(JSON: its XML form, as ``transactive validate`` does it) is valid against the shipped ``cts`` schema set —
for a ``tx:`` extension root, each CTS element it carries is; the reply is the request's own reply type;
its ``ei:eiResponse`` echoes the request's ``pyld:requestID`` in ``ei:refID``; its ``responseCode`` is 2xx
for an accepted request, 4xx for a refused one (and the description names the field when the case knows
which one is wrong).
"""

from __future__ import annotations

import copy
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from lxml import etree

from transactive.codec import decode_json, encode_xml
from transactive.codec.wire import WireFormat, decode_as, encode_as, media_type, wire_of
from transactive.ei.cts.responses import EiResponse
from transactive.ei.ext import TX_NS
from transactive.errors import ProtocolError
from transactive.interop.conformance.checks import ensure, fail, schema_valid, well_formed
from transactive.interop.conformance.cts_probe_rules import (
    EXCHANGE_PATTERN,
    JSON_TEXT,
    NOT_A_SERVER_ERROR,
    REFUSAL_NAMES_FIELD,
    REFUSED_WITH_4XX,
)
from transactive.interop.conformance.model import EndpointUnreachable, Rule
from transactive.interop.conformance.rules import CTS_SCHEMA, EI_RESPONSE
from transactive.interop.conformance.suite import Recorder
from transactive.model import Model
from transactive.protocol.identity import REQUEST_SIGNATURE
from transactive.protocol.replies import reply_response
from transactive.schemas import SCHEMA_SETS
from transactive.transport.base import ConnectionFailedError, TransportError, TransportTimeoutError
from transactive.transport.http import https_failure

__all__ = ["Answer", "CtsWire", "Signer", "expect_refusal", "expect_reply", "is_ei_payload", "read_document",
           "tag_of"]

M = TypeVar("M", bound=Model)
#: ``body -> Signature header value``
Signer = Callable[[bytes], str]

_CTS_NAMESPACES = frozenset(SCHEMA_SETS["cts"].namespaces)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the endpoint sent back: HTTP status, media type and the body's bytes."""

    status: int
    content_type: str
    body: bytes


def tag_of(message: Model) -> str:
    return str(type(message).__tag__)


class CtsWire:
    """``POST {url}/cts`` in ``wire`` format, every document recorded in ``recorder``."""

    def __init__(self, url: str, recorder: Recorder, wire: WireFormat, *, timeout: float = 30.0,
                 tls: ssl.SSLContext | None = None) -> None:
        self.url = url.rstrip("/")
        self.https = self.url.lower().startswith("https://")
        self.recorder = recorder
        self.wire = wire
        self.timeout = timeout
        self._ssl: ssl.SSLContext | bool = tls if tls is not None else True
        self._session: aiohttp.ClientSession | None = None
        #: the endpoint answered at least once (a later failure is not "unreachable")
        self.reached = False

    def encode(self, message: Model) -> bytes:
        return encode_as(self.wire, message)

    async def post(self, label: str, body: bytes, *, content_type: str | None = None, token: str | None = None,
                   signature: str | None = None) -> Answer:
        """Send ``body`` as it is; record it and the answer (``label`` says what was sent)."""
        headers = {"Content-Type": content_type or media_type(self.wire), "Accept": media_type(self.wire)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if signature is not None:
            headers[REQUEST_SIGNATURE] = signature
        self.recorder.record("sent", f"POST /cts: {label}", body)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        try:
            async with self._session.post(f"{self.url}/cts", data=body, headers=headers, ssl=self._ssl,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                data = await response.read()
                answer = Answer(response.status, response.content_type or "", data)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise self._failure(exc) from exc
        self.reached = True
        self.recorder.record("received", f"reply to {label}", answer.body, answer.status)
        return answer

    def _failure(self, exc: BaseException) -> Exception:
        what = f"POST {self.url}/cts"
        reason = https_failure(exc, https=self.https) or f"{type(exc).__name__}: {exc}"
        if not self.reached:
            return EndpointUnreachable(f"nothing answers at {self.url}: {reason}")
        if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
            return TransportTimeoutError(f"{what}: no reply within {self.timeout:g} s")
        if isinstance(exc, aiohttp.ClientConnectionError | OSError):
            return ConnectionFailedError(f"{what}: {reason}")
        return TransportError(f"{what}: {reason}")

    async def send(self, message: Model, *, token: str | None = None, sign: Signer | None = None,
                   label: str | None = None) -> Answer:
        """Encode ``message`` in the wire format and post it."""
        body = self.encode(message)
        return await self.post(label or tag_of(message), body, token=token,
                               signature=sign(body) if sign is not None else None)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# ---- reading a reply --------------------------------------------------------------------------------


def is_ei_payload(answer: Answer) -> bool:
    """Does the answer carry a document at all (an XML or JSON media type and a body)?"""
    return wire_of(answer.content_type) is not None and bool(answer.body.strip())


def _check_schema(root: etree._Element, what: str) -> None:
    namespace = etree.QName(root).namespace
    if namespace in _CTS_NAMESPACES:
        schema_valid(root, "cts", CTS_SCHEMA, what)
        return
    if namespace == TX_NS:  # transactive's extension payloads: the CTS parts they carry stay standard
        for child in root:
            if isinstance(child.tag, str) and etree.QName(child).namespace in _CTS_NAMESPACES:
                part = copy.deepcopy(child)
                schema_valid(part, "cts", CTS_SCHEMA, f"{what}, its {etree.QName(child).localname}")
        return
    fail(CTS_SCHEMA, f"{what}: the root element {root.tag} is not a CTS payload")


def read_document(answer: Answer, what: str) -> Model:
    """The reply's message, after the format checks: media type, well-formed XML or a JSON text, schema-valid
    (JSON: its XML form), decodable as a CTS message."""
    wire = wire_of(answer.content_type)
    if wire is None:
        fail(CTS_SCHEMA, f"{what}: HTTP {answer.status} with Content-Type {answer.content_type or '(none)'!r}, "
                         "not a CTS payload in XML or JSON")
    if wire is WireFormat.JSON:
        try:
            json.loads(answer.body)
        except (ValueError, UnicodeDecodeError) as exc:
            fail(JSON_TEXT, f"{what}: not a JSON text: {exc}")
        try:
            message: Model = decode_json(answer.body)
        except ProtocolError as exc:
            fail(CTS_SCHEMA, f"{what}: the JSON does not map onto a CTS message: {exc.message}")
        _check_schema(well_formed(encode_xml(message), what), what)
        return message
    root = well_formed(answer.body, what)
    _check_schema(root, what)
    try:
        decoded: Model = decode_as(WireFormat.XML, answer.body)
    except ProtocolError as exc:
        fail(CTS_SCHEMA, f"{what}: does not decode as a CTS message: {exc.message}")
    return decoded


def _code(response: EiResponse) -> str:
    text = f"responseCode {response.response_code}"
    return f"{text} ({response.response_description})" if response.response_description else text


def _echoed(response: EiResponse, request_id: str, what: str) -> None:
    ensure(response.ref_id == request_id, EI_RESPONSE,
           f"{what}: ei:refID is {response.ref_id!r}, not the requestID {request_id!r} it answers")


def expect_reply(answer: Answer, request_id: str, expect: type[M], rule: Rule, what: str) -> M:
    """The accepted reply to a request: well-formed, schema-valid, success (HTTP 2xx, responseCode 2xx),
    of type ``expect`` (else :data:`EXCHANGE_PATTERN`), echoing ``request_id``; else ``rule`` (or the
    format rule) fails."""
    if answer.status >= 500 and not is_ei_payload(answer):
        fail(rule, f"{what}: HTTP {answer.status} without a CTS payload")
    message = read_document(answer, what)
    response = reply_response(message)
    if response is None:
        fail(EI_RESPONSE, f"{what}: {tag_of(message)} carries no ei:eiResponse")
    if not response.ok or not 200 <= answer.status < 300:
        fail(rule, f"{what}: refused — HTTP {answer.status}, {_code(response)}")
    ensure(isinstance(message, expect), EXCHANGE_PATTERN,
           f"{what}: answered with {tag_of(message)}, expected {expect.__tag__}")
    _echoed(response, request_id, what)
    assert isinstance(message, expect)
    return message


def expect_refusal(answer: Answer, request_id: str | None, what: str, *, rule: Rule = REFUSED_WITH_4XX,
                   fields: tuple[str, ...] = ()) -> EiResponse | None:
    """The answer to a request the endpoint must refuse: never 5xx; an HTTP 4xx, or an EI payload whose
    responseCode is 4xx (HTTP 200 or 4xx). A refusal sent with HTTP 200 echoes ``request_id`` (the request
    was read as one); one sent with an HTTP 4xx refused the document as a whole, before its requestID was
    necessarily known, and need not. When ``fields`` are given, the description names one of them
    (case-insensitive)."""
    if answer.status >= 500:
        fail(NOT_A_SERVER_ERROR, f"{what}: HTTP {answer.status} — a server failure, where the request should "
                                 "have been refused as the client's error")
    if not is_ei_payload(answer):
        ensure(400 <= answer.status < 500, rule, f"{what}: HTTP {answer.status} without an eiResponse, not a "
                                                 "refusal")
        ensure(not fields, REFUSAL_NAMES_FIELD, f"{what}: refused with HTTP {answer.status} but no eiResponse "
                                                "saying which element was wrong")
        return None
    message = read_document(answer, what)
    response = reply_response(message)
    if response is None:
        fail(EI_RESPONSE, f"{what}: {tag_of(message)} carries no ei:eiResponse")
    ensure(response.response_code.startswith("4"), rule,
           f"{what}: answered with HTTP {answer.status} and {_code(response)}, where a 4xx refusal was due")
    ensure(answer.status == 200 or 400 <= answer.status < 500, rule,
           f"{what}: a refusal sent with HTTP {answer.status}")
    if request_id is not None and answer.status == 200:  # read as a request, so its requestID was known
        _echoed(response, request_id, what)
    if fields:
        text = (response.response_description or "").casefold()
        ensure(any(f.casefold() in text for f in fields), REFUSAL_NAMES_FIELD,
               f"{what}: the refusal ({_code(response)}) does not name the element that was wrong "
               f"({' or '.join(fields)})")
    return response
