"""The OpenADR 2.0b edge of the VTN's HTTP server: the simple-HTTP services and the operator's API.

=========================================  ===========================================================
``POST /OpenADR2/Simple/2.0b/{service}``   a 2.0b message (``EiRegisterParty``, ``EiEvent``, ``EiReport``,
                                           ``EiOpt``, ``OadrPoll``), answered with its 2.0b reply
``GET /operator/openadr/events``           every event with its signals, targets and the VENs' opts
``POST /operator/openadr/events``          create an event (JSON below); 201
``POST /operator/openadr/events/{id}/modify``  new intervals (and/or start, priority); modificationNumber + 1
``POST /operator/openadr/events/{id}/cancel``  cancel; modificationNumber + 1
``GET /operator/openadr/vens``             the registered VENs
``POST /operator/openadr/vens/{name}/cancel``      the VTN ends a VEN's registration (on its next poll)
``POST /operator/openadr/vens/{name}/reregister``  the VTN asks a VEN to register again
=========================================  ===========================================================

**Who is asking.** The TLS client certificate's fingerprint (when the VTN checks client certificates) and,
for a signed message, the signing certificate's, go to the services as a
:class:`~transactive.services.oadr.Peer`; the services bind a VEN to its certificate (463 on a mismatch). A
signed message is verified before it is decoded, and what is decoded is the element the signature covers;
its nonce is recorded in the same store transaction as the message's effects (durable: a replay is refused
after a restart too), so a signed poll is written, not answered from memory. A document that is not
well-formed, not OpenADR, or fails its signature gets an ``oadrResponse`` carrying the EI code (HTTP 400 for
a document that does not decode, 200 with the code in ``eiResponse`` otherwise), never a 500.

**The operator** authenticates with ``Authorization: Bearer TOKEN``, the token the VTN keeps in
``DATA_DIR/operator.token``. Bodies and answers are JSON; a refusal is ``{"error", "code", "field"}`` with the
EI code and HTTP 400 (invalid), 401 (token), 404 (unknown id), 409 (out of sequence: cancelled or completed),
503 (storage). Create: ``{"signal_name", "signal_type"?, "start", "intervals": [{"duration", "value"}],
"vens"?: [NAME...], "priority"?, "response_required"?: "always"|"never"}``; durations ISO 8601 (``PT15M``).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web
from lxml import etree

from transactive.codec import decode_xml, encode_xml, parse_xml
from transactive.ei.oadr import OadrCreatePartyRegistration, OadrPoll, OadrResponse
from transactive.errors import ProtocolError, RemoteProtocolError, ResponseCode
from transactive.model import Model
from transactive.model.types import format_duration, parse_duration
from transactive.protocol.certs import fingerprint_der
from transactive.protocol.errors import InvalidIdError, NotAuthorizedError, ServiceError
from transactive.protocol.oadr import BASE_PATH, SERVICES
from transactive.services.oadr import events as oadr_events
from transactive.services.oadr import registration as oadr_registration
from transactive.services.oadr.context import OadrContext, Peer
from transactive.services.oadr.events import EventSpec
from transactive.services.oadr.records import EventRecord, VenRecord
from transactive.services.oadr.service import OadrService
from transactive.services.service import StorageUnavailableError

__all__ = ["OPERATOR_PREFIX", "OadrEdge", "OadrOptions", "Signer", "Verified", "Verifier", "event_json"]

log = logging.getLogger("transactive.vtn.oadr")

OPERATOR_PREFIX = "/operator/openadr"
_XML = "application/xml"
#: the most encoded plain replies kept (one per VEN that polls; only registered VENs get one)
_PLAIN_MAX = 1_000_000
#: decoded oadrPoll documents kept (one per polling VEN; only of registered VENs, up to 1 kB each: at most
#: about 50 MB however a VEN varies its bytes; then they are all dropped and the cache fills again)
_POLLS_MAX, _POLL_BYTES = 50_000, 1024


class Verified(Protocol):
    """What a signature check proved (:class:`transactive.protocol.oadr_sign.VerifiedSignature`)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def nonce(self) -> str: ...
    @property
    def timestamp(self) -> datetime: ...
    def decode(self) -> Model: ...


class Verifier(Protocol):
    """Checks a document (bytes, or the root of a tree :func:`~transactive.codec.parse_xml` made)."""

    def verify(self, document: bytes | etree._Element, *, expected_fingerprint: str | None = None) -> Verified: ...


class Signer(Protocol):
    def sign(self, document: bytes) -> bytes: ...


_DS = "http://www.w3.org/2000/09/xmldsig#"
_SIGNATURE = f"{{{_DS}}}Signature"
_PAYLOAD = "{http://openadr.org/oadr-2.0b/2012/07}oadrPayload"


def is_signed_bytes(data: bytes) -> bool:
    """Might the document carry an XML signature (a quick look before it is parsed: False means it does not)?"""
    return b"Signature" in data and _DS.encode() in data


def signature_of(data: bytes) -> etree._Element | None:
    """The parsed root of a document that carries an XML signature (an ``oadrPayload`` with a ``ds:Signature``
    child), None for one that does not; a document that does not parse raises the codec's error."""
    if not is_signed_bytes(data):
        return None
    root = parse_xml(data)
    return root if root.tag == _PAYLOAD and root.find(_SIGNATURE) is not None else None


def tls_fingerprint(request: web.BaseRequest) -> str | None:
    """The OpenADR fingerprint of the client certificate the TLS connection was made with (None: none)."""
    transport = request.transport
    ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return None if not der else fingerprint_der(der)


def event_json(event: EventRecord, now: datetime, names: dict[str, str],
               opts: dict[str, str | None] | None = None) -> dict[str, Any]:
    """An event as the operator API and ``vtn event`` show it."""
    targets = None if event.targets is None else [names.get(v, v) for v in event.targets]
    out: dict[str, Any] = {
        "event_id": event.event_id, "modification_number": event.modification_number,
        "status": event.status(now), "targets": targets if targets is not None else sorted(set(names.values())),
        "all_vens": event.targets is None, "start": event.start.isoformat().replace("+00:00", "Z"),
        "priority": event.priority, "response_required": event.response_required, "origin": event.origin,
        "signals": [{"name": s.name, "type": s.type, "currency": s.currency,
                     "intervals": [{"duration": format_duration(i.duration), "value": i.value}
                                   for i in s.intervals]} for s in event.signals],
    }
    if opts is not None:
        out["opts"] = opts
    return out


def ven_json(ven: VenRecord) -> dict[str, Any]:
    return {"ven_name": ven.ven_name, "ven_id": ven.ven_id, "registration_id": ven.registration_id,
            "active": ven.active, "fingerprint": ven.fingerprint, "http_pull_model": ven.http_pull_model,
            "transport_address": ven.transport_address, "xml_signature": ven.xml_signature,
            "registered_at": ven.registered_at.isoformat()}


class _OperatorError(Exception):
    def __init__(self, status: int, message: str, code: int, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.field = status, code, field


_STATUS_OF = {ResponseCode.INVALID_ID: 404, ResponseCode.OUT_OF_SEQUENCE: 409, ResponseCode.NOT_AUTHORIZED: 401,
              503: 503}


@dataclass(frozen=True, slots=True)
class OadrOptions:
    """What the HTTP server needs to serve OpenADR 2.0b: the services, the operator's token, and the
    signature checker and signer (None: messages are neither checked nor signed)."""

    service: OadrService
    operator_token: str | None = None
    verifier: Verifier | None = None
    signer: Signer | None = None


class OadrEdge:
    """The OpenADR routes; ``read_body(request)`` is the server's body reader (limits, timeouts)."""

    def __init__(self, options: OadrOptions, *, read_body: Callable[[web.BaseRequest], Awaitable[bytes]],
                 registration_rate: Callable[[web.BaseRequest], None] | None = None) -> None:
        """``registration_rate(request)`` raises when the source address registers too fast (the server's
        limit, shared with CTS registrations)."""
        self.service = options.service
        self.read_body = read_body
        self.registration_rate = registration_rate
        self.operator_token = options.operator_token
        self.verifier = options.verifier
        self.signer = options.signer
        #: per venID, its last plain oadrResponse (code 200) and its bytes: a poll with nothing waiting is
        #: answered with the same reply object each time (``OadrContext.plain_replies``), encoded once here
        self._plain: dict[str, tuple[Model, bytes]] = {}
        #: unsigned oadrPoll documents of registered VENs already decoded: a VEN's polls are the same bytes
        #: every time, and decoding is a pure function of them (the models are immutable)
        self._polls: dict[bytes, Model] = {}

    def refusal(self, status: int, error: ProtocolError, headers: dict[str, str]) -> web.Response:
        """A request refused before it was read (body too large or too slow): 2.0b XML or operator JSON."""
        response = self._xml(self.service.error_reply(None, error), status)
        response.headers.update(headers)
        return response

    def handles(self, path: str) -> bool:
        return path.startswith(BASE_PATH + "/") or path.startswith(OPERATOR_PREFIX)

    async def dispatch(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        if path.startswith(BASE_PATH + "/"):
            return await self.simple(request, path[len(BASE_PATH) + 1:])
        return await self.operator(request, path)

    # -- the simple HTTP services --

    def _encode(self, message: Model) -> bytes:
        if type(message) is not OadrResponse or message.ven_id is None or message.response.response_code != 200:
            return encode_xml(message)
        known = self._plain.get(message.ven_id)
        if known is not None and known[0] is message:
            return known[1]
        body = encode_xml(message)
        if len(self._plain) >= _PLAIN_MAX:
            self._plain.clear()
        self._plain[message.ven_id] = (message, body)
        return body

    def _xml(self, message: Model, status: int = 200) -> web.Response:
        body = self._encode(message)
        if self.signer is not None:
            body = self.signer.sign(body)
        return web.Response(body=body, status=status, content_type=_XML)

    async def simple(self, request: web.BaseRequest, service: str) -> web.StreamResponse:
        if service not in SERVICES:
            return self._xml(self.service.error_reply(None, RemoteProtocolError(
                f"no OpenADR 2.0b service {service!r}; services: {', '.join(SERVICES)}", response_code=404)), 404)
        if request.method != "POST":
            return self._xml(self.service.error_reply(None, RemoteProtocolError(
                f"{request.method} is not allowed: POST an OpenADR 2.0b document", response_code=405)), 405)
        data = await self.read_body(request)
        try:
            tls = tls_fingerprint(request)
            message, peer = self._decode(data, tls)
        except _Undecodable as exc:
            return self._xml(self.service.error_reply(None, exc.error), 400)
        except ProtocolError as error:
            return self._xml(self.service.error_reply(None, error))
        if self.registration_rate is not None and isinstance(message, OadrCreatePartyRegistration):
            self.registration_rate(request)
        reply = await self.service.answer(message, peer, service)
        code = getattr(getattr(reply, "response", None), "response_code", 200)
        return self._xml(reply, 503 if code == 503 else 200)

    def _decode(self, data: bytes, tls: str | None) -> tuple[Model, Peer]:
        try:
            signed = None if self.verifier is None else signature_of(data)
        except ProtocolError as error:
            raise _Undecodable(error) from error
        if self.verifier is not None and signed is not None:
            try:
                verified = self.verifier.verify(signed)
            except ProtocolError:
                raise
            except Exception as exc:  # the verifier's own failure on hostile input: refused, never a 500
                raise NotAuthorizedError(f"the signature could not be checked: {exc}", field="ds:Signature") from exc
            try:
                message: Model = verified.decode()
            except ProtocolError as error:
                raise _Undecodable(error) from error
            return message, Peer(tls, verified.fingerprint, verified.nonce, verified.timestamp)
        known = self._polls.get(data)
        if known is not None:
            return known, Peer(tls)
        try:
            message = decode_xml(data)
        except ProtocolError as error:
            raise _Undecodable(error) from error
        if type(message) is OadrPoll and len(data) <= _POLL_BYTES and message.ven_id in self.service.core.ctx.vens():
            if len(self._polls) >= _POLLS_MAX:
                self._polls.clear()
            self._polls[data] = message
        return message, Peer(tls)

    # -- the operator --

    async def operator(self, request: web.BaseRequest, path: str) -> web.Response:
        try:
            self._check_operator(request)
            return await self._operate(request, path[len(OPERATOR_PREFIX):].strip("/").split("/"))
        except _OperatorError as exc:
            return web.json_response({"error": str(exc), "code": exc.code, "field": exc.field}, status=exc.status)
        except StorageUnavailableError as exc:
            return web.json_response({"error": exc.message, "code": 503, "field": None}, status=503,
                                     headers={"Retry-After": "1"})
        except ServiceError as exc:
            field = exc.errors[0].path if exc.errors else None
            status = _STATUS_OF.get(exc.response_code, 400)
            return web.json_response({"error": exc.message, "code": exc.response_code, "field": field},
                                     status=status)

    def _check_operator(self, request: web.BaseRequest) -> None:
        if self.operator_token is None:
            raise _OperatorError(403, "this VTN has no operator token", 463, "Authorization")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.operator_token.encode()):
            raise _OperatorError(401, "the operator API needs 'Authorization: Bearer <operator token>' (the token "
                                      "is in DATA_DIR/operator.token)", 463, "Authorization")

    async def _body(self, request: web.BaseRequest) -> dict[str, Any]:
        data = await self.read_body(request)
        try:
            body = json.loads(data or b"{}")
        except ValueError as exc:
            raise _OperatorError(400, f"the body is not JSON: {exc}", 400) from exc
        if not isinstance(body, dict):
            raise _OperatorError(400, "the body must be a JSON object", 400)
        return body

    async def _operate(self, request: web.BaseRequest, parts: list[str]) -> web.Response:
        method = request.method
        now = self.service.core.ctx.now()
        if parts == ["events"] and method == "GET":
            def view(ctx: OadrContext) -> list[dict[str, Any]]:
                names = {v.ven_id: v.ven_name for v in ctx.vens().values() if v.active}
                return [event_json(e, now, names, opts) for e, opts in oadr_events.list_events(ctx)]
            return web.json_response(self.service.read(view))
        if parts == ["events"] and method == "POST":
            spec = _event_spec(await self._body(request), now)
            event = await self.service.operate(lambda ctx: oadr_events.create_event(ctx, spec))
            return web.json_response(self._summary(event), status=201)
        if len(parts) == 3 and parts[0] == "events" and parts[2] in ("modify", "cancel") and method == "POST":
            event_id = parts[1]
            if parts[2] == "cancel":
                event = await self.service.operate(lambda ctx: oadr_events.cancel_event(ctx, event_id))
            else:
                body = await self._body(request)
                intervals = _intervals(body["intervals"]) if "intervals" in body else None
                start = _start(body["start"], now) if "start" in body else None
                priority = _priority(body.get("priority"))
                if intervals is None and start is None and priority is None:
                    raise _OperatorError(400, "nothing to modify: give intervals, start or priority", 454,
                                         "intervals")
                event = await self.service.operate(lambda ctx: oadr_events.modify_event(
                    ctx, event_id, intervals=intervals, start=start, priority=priority))
            return web.json_response(self._summary(event))
        if parts == ["vens"] and method == "GET":
            return web.json_response([ven_json(v) for v in self.service.core.vens()])
        if len(parts) == 3 and parts[0] == "vens" and parts[2] in ("cancel", "reregister") and method == "POST":
            name = parts[1]

            def act(ctx: OadrContext) -> VenRecord:
                ven = ctx.active_by_name(name)
                if ven is None:
                    raise InvalidIdError(f"no registered VEN is named {name!r}", field="ven")
                if parts[2] == "cancel":
                    oadr_registration.vtn_cancel_registration(ctx, ven)
                else:
                    oadr_registration.request_reregistration(ctx, ven)
                return ven
            ven = await self.service.operate(act)
            return web.json_response(ven_json(ven))
        raise _OperatorError(404, f"no operator resource {method} {OPERATOR_PREFIX}/{'/'.join(parts)}", 404)

    def _summary(self, event: EventRecord) -> dict[str, Any]:
        ctx = self.service.core.ctx
        names = {v.ven_id: v.ven_name for v in ctx.vens().values() if v.active}
        full = event_json(event, ctx.now(), names)
        return {k: full[k] for k in ("event_id", "modification_number", "status", "targets")}


class _Undecodable(Exception):
    def __init__(self, error: ProtocolError) -> None:
        super().__init__(str(error))
        self.error = error


def _intervals(value: Any) -> tuple[tuple[timedelta, float], ...]:
    if not isinstance(value, list) or not value:
        raise _OperatorError(400, "intervals must be a non-empty list of {duration, value}", 454, "intervals")
    out = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, dict) or "duration" not in item or "value" not in item:
            raise _OperatorError(400, f"interval {n} must be {{\"duration\": \"PT1H\", \"value\": 1.0}}", 454,
                                 "intervals")
        try:
            duration = parse_duration(str(item["duration"]))
            number = float(item["value"])
        except (ValueError, TypeError) as exc:
            raise _OperatorError(400, f"interval {n}: {exc}", 454, "intervals") from exc
        if not math.isfinite(number):
            raise _OperatorError(400, f"interval {n}: the value must be a finite number", 454, "intervals")
        out.append((duration, number))
    return tuple(out)


def _start(value: Any, now: datetime) -> datetime:
    """An ISO 8601 time with a zone, or ``now`` / ``now+DURATION`` on the market clock."""
    text = str(value).strip()
    if text == "now" or text.startswith("now+"):
        try:
            return now + (parse_duration(text[4:]) if text != "now" else timedelta())
        except ValueError as exc:
            raise _OperatorError(400, f"start {text!r}: {exc}", 454, "start") from exc
    try:
        start = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _OperatorError(400, f"start {value!r} is not an ISO 8601 time", 454, "start") from exc
    if start.tzinfo is None:
        raise _OperatorError(400, "start needs a time zone (e.g. 2026-12-04T18:00:00Z)", 454, "start")
    return start


def _priority(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4_294_967_295:
        raise _OperatorError(400, "priority is an unsigned 32-bit integer", 454, "priority")
    return value


def _event_spec(body: dict[str, Any], now: datetime) -> EventSpec:
    for key in ("signal_name", "start", "intervals"):
        if key not in body:
            raise _OperatorError(400, f"{key} is missing", 454, key)
    if not isinstance(body["signal_name"], str):
        raise _OperatorError(400, "signal_name must be a string", 454, "signal_name")
    if not isinstance(body.get("signal_type", ""), (str, type(None))):
        raise _OperatorError(400, "signal_type must be a string", 454, "signal_type")
    vens = body.get("vens") or []
    if not isinstance(vens, list) or not all(isinstance(v, str) for v in vens):
        raise _OperatorError(400, "vens must be a list of VEN names", 454, "vens")
    required = body.get("response_required", "always")
    if required not in ("always", "never"):
        raise _OperatorError(400, "response_required is 'always' or 'never'", 454, "response_required")
    start_after = None
    if body.get("start_after") is not None:
        try:
            start_after = parse_duration(str(body["start_after"]))
        except ValueError as exc:
            raise _OperatorError(400, f"start_after: {exc}", 454, "start_after") from exc
    return EventSpec(signal_name=body["signal_name"], signal_type=body.get("signal_type"),
                     start=_start(body["start"], now), intervals=_intervals(body["intervals"]), vens=tuple(vens),
                     priority=_priority(body.get("priority")), response_required=required, start_after=start_after,
                     test_event=bool(body.get("test_event", False)))
