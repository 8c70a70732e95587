"""``MqttTransport``: the VEN side of the transactive services over MQTT 5 (aiomqtt), through a broker.

The VTN side is :func:`transactive.vtn.mqtt.run_mqtt_bridge`. Payloads are the same CTS documents as over
HTTP, through the same codecs (XML or JSON, :class:`~.base.WireFormat`).

Topics (``{market}`` is the market's party id, e.g. ``market-lme``; each segment is percent-encoded, so
``/``, ``+`` and ``#`` in a party id cannot escape its level)::

    transactive/v1/{market}/request/{party}               VEN → VTN   requests, QoS 1
    transactive/v1/{market}/reply/{party}/{client-id}     VTN → VEN   replies (the request's response topic), QoS 1
    transactive/v1/{market}/notices/{party}               VTN → VEN   eiCreateTransaction / eiCreateQuote, QoS 1
    transactive/v1/{market}/quotes                        VTN → all   the last eiCreateQuote, retained, QoS 1

MQTT 5 properties carry what HTTP headers carry:

* **response topic** + **correlation data** (request/response): the request names its reply topic, which
  must lie under ``reply/{party}/`` of the party it is sent as (the bridge answers nothing else, so it can
  never be made to publish on someone else's notice topic); the reply echoes the correlation data;
* **content type** ``application/xml`` or ``application/json`` on every publication, read by the rules of
  :mod:`transactive.codec.wire` (``*+json`` / ``*+xml`` too; absent: the first character tells the formats
  apart); a reply is in the request's format;
* **user property** ``authorization: Bearer <token>`` — the registration token, as in the HTTP header
  (kept out of the payload so the CTS documents stay the standard ones); ``signature`` — a request's
  signature by the party's key (a registration), as the HTTP ``Signature`` header; ``notice-signature`` —
  the VTN's signature of a notice (:mod:`transactive.protocol.identity`), checked by the subscription when the
  client knows the VTN's key. The bridge refuses (463, the ``ei:eiResponse`` of the request's own reply
  payload) a request whose token is not the token of the ``{party}`` in its topic, or whose payload names
  another party than the topic.

The ``{party}`` of a request is the party the payload names (``requestorPartyID``, ``partyID``,
``registreePartyID``, in that order), else the transport's ``party``. Notices for a party are published
only on that party's topic; :meth:`MqttTransport.subscribe` asks the VTN to confirm the token first (463
otherwise), but on an anonymous broker that check is advisory: confidentiality between parties needs broker
ACLs. The VTN keeps them itself in Mosquitto's Dynamic Security plugin (``vtn serve --mqtt-acl``,
:mod:`transactive.vtn.mqtt_acl`): a party then logs in with ``username=`` its id and ``password=`` its
registration token, gives ``party=`` (its replies come on its own reply topic), and reaches only its own
request, reply and notice topics and the public quotes.
:meth:`MqttTransport.quotes` follows the public quote topic (the retained last quote arrives at once).

Failures of aiomqtt/paho are mapped where they enter (:func:`map_mqtt_error`, complete over the
``aiomqtt.MqttError`` family)::

    aiomqtt.MqttConnectError     (CONNACK refused)              → ConnectionFailedError
    aiomqtt.MqttCodeError        (publish/subscribe/disconnect)  → ConnectionFailedError
    aiomqtt.MqttReentrantError   (client used twice at once)     → TransportError
    aiomqtt.MqttError            "Operation timed out"           → TransportTimeoutError
                                 anything else (socket errors)   → ConnectionFailedError

TLS: ``tls=`` an :class:`ssl.SSLContext` connects over TLS; the broker's certificate must name the host
connected to. Make the context with :func:`transactive.transport.tls.client_context` (the CA the broker's
certificate is checked against, and a client certificate for a broker that requires one): its sockets
close themselves when a handshake fails, which paho leaves to the garbage collector. A failed handshake is
a :class:`~.base.ConnectionFailedError` whose message starts with ``TLS:``
(:func:`transactive.transport.tls.tls_failure`; a refusal that paho only logs is found by
:func:`~transactive.transport.tls.diagnose`). Who may read and write which topics (per-party credentials,
ACLs) is the broker's configuration, not the transport's.

No reply within ``timeout`` raises :class:`~.base.TransportTimeoutError`. A lost connection fails the
pending requests and each open subscription's next ``get`` with :class:`~.base.ConnectionFailedError`; the
next request or ``get`` connects again (and subscribes again).

Notices published while a VEN is away: by default its connection starts clean and they are not kept (read
missed transactions back with ``eiRequestTransaction``). With ``session_expiry=S`` and a stable
``client_id`` the transport keeps an MQTT 5 **persistent session**: it connects without a clean start and
asks the broker to keep the session for S seconds after a disconnect, so the broker keeps its
subscriptions and queues the QoS 1 notices published meanwhile (Mosquitto: up to ``max_queued_messages``,
1,000 by default). A transport that comes back with the same ``client_id`` receives them; those that
arrive before the notices are asked for again (a new process) are kept (at most :data:`MAX_EARLY` per
topic) and handed to the first subscription of their topic. :meth:`MqttTransport.close` keeps the session
(its subscriptions are not cancelled at the broker); :meth:`MqttTransport.end_session` ends it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import ssl
import uuid
from collections import deque
from typing import Any
from urllib.parse import quote, unquote

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from transactive.codec.wire import decode_as, encode_as, media_type, wire_of
from transactive.ei.cts.registration import EiRequestPartyRegistration
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.errors import NotAuthorizedError, RequestRefusedError
from transactive.protocol.identity import REQUEST_SIGNATURE, PartyKey
from transactive.protocol.replies import check_reply
from transactive.transport.base import (
    ConnectionFailedError,
    QueuedSubscription,
    RequestSigner,
    Transport,
    TransportClosedError,
    TransportError,
    TransportTimeoutError,
    WireFormat,
)
from transactive.transport.tls import diagnose, tls_failure

__all__ = [
    "AUTHORIZATION",
    "NOTICE_SIGNATURE_PROPERTY",
    "SIGNATURE",
    "ERROR_MAP",
    "SOCKET_OPTIONS",
    "TOPIC_ROOT",
    "MqttSubscription",
    "MqttTransport",
    "map_mqtt_error",
    "publish_properties",
    "notices_topic",
    "quotes_topic",
    "reply_prefix",
    "reply_topic",
    "request_filter",
    "request_party",
    "request_topic",
    "segment",
    "unsegment",
    "user_property",
]

log = logging.getLogger(__name__)

TOPIC_ROOT = "transactive/v1"
#: the user property carrying the bearer token
AUTHORIZATION = "authorization"
#: the user property carrying a request's signature (the HTTP ``Signature`` header's value)
SIGNATURE = REQUEST_SIGNATURE.lower()
#: the user property carrying a notice's signature by the VTN (the HTTP ``X-Notice-Signature`` header's value)
NOTICE_SIGNATURE_PROPERTY = "notice-signature"
#: small request/reply exchanges: no Nagle delay (with delayed ACKs it stalls every round trip)
SOCKET_OPTIONS: tuple[tuple[int, int, int], ...] = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
#: payload fields naming the party a request is sent as, with their wire names, in order of precedence
PARTY_FIELDS: tuple[tuple[str, str], ...] = (
    ("requestor_party_id", "ei:requestorPartyID"),
    ("party_id", "ei:partyID"),
    ("registree_party_id", "ei:registreePartyID"),
)


# ---- topics and properties ------------------------------------------------------------------------


def segment(name: str) -> str:
    """One topic level: ``name`` percent-encoded (no ``/``, ``+``, ``#`` left)."""
    if not name:
        raise ValueError("a topic level cannot be empty")
    return quote(name, safe="")


def unsegment(level: str) -> str:
    return unquote(level)


def request_topic(market: str, party: str) -> str:
    return f"{TOPIC_ROOT}/{segment(market)}/request/{segment(party)}"


def request_filter(market: str) -> str:
    """What the VTN subscribes to: every party's requests."""
    return f"{TOPIC_ROOT}/{segment(market)}/request/+"


def reply_prefix(market: str, party: str) -> str:
    """Every reply topic of ``party`` starts with this (ends with ``/``)."""
    return f"{TOPIC_ROOT}/{segment(market)}/reply/{segment(party)}/"


def reply_topic(market: str, party: str, client_id: str) -> str:
    return reply_prefix(market, party) + segment(client_id)


def notices_topic(market: str, party: str) -> str:
    return f"{TOPIC_ROOT}/{segment(market)}/notices/{segment(party)}"


def quotes_topic(market: str) -> str:
    return f"{TOPIC_ROOT}/{segment(market)}/quotes"


def request_party(message: Model) -> tuple[str, str] | None:
    """``(party id, wire field)`` of the party a request is sent as, if the payload names one."""
    for attribute, wire_name in PARTY_FIELDS:
        value = getattr(message, attribute, None)
        if isinstance(value, str) and value:
            return value, wire_name
    return None


def publish_properties(wire: WireFormat, *, response_topic: str | None = None, correlation: bytes | None = None,
                       token: str | None = None, signature: str | None = None,
                       notice_signature: str | None = None) -> Properties:
    """PUBLISH properties: content type, and for a request its response topic, correlation data, token and
    signature (:data:`SIGNATURE`); for a notice the VTN's signature (:data:`NOTICE_SIGNATURE_PROPERTY`)."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ContentType = media_type(wire)
    if response_topic is not None:
        props.ResponseTopic = response_topic
    if correlation is not None:
        props.CorrelationData = correlation
    users: list[tuple[str, str]] = []
    if token is not None:
        users.append((AUTHORIZATION, f"Bearer {token}"))
    if signature is not None:
        users.append((SIGNATURE, signature))
    if notice_signature is not None:
        users.append((NOTICE_SIGNATURE_PROPERTY, notice_signature))
    if users:
        props.UserProperty = users
    return props


def user_property(message: aiomqtt.Message, name: str) -> str | None:
    """The value of a publication's user property ``name`` (case-insensitive), None if absent; a property
    given twice is refused (463 naming it): which one would count is ambiguous."""
    pairs: list[tuple[str, str]] = getattr(message.properties, "UserProperty", None) or []
    values = [value for key, value in pairs if key.lower() == name]
    if len(values) > 1:
        raise NotAuthorizedError(f"the {name} property is given {len(values)} times", field=name)
    return values[0] if values else None


# ---- error mapping --------------------------------------------------------------------------------

#: every exception class of aiomqtt → the transport error it becomes (most specific first)
ERROR_MAP: dict[type[aiomqtt.MqttError], type[TransportError]] = {
    aiomqtt.MqttReentrantError: TransportError,
    aiomqtt.exceptions.MqttConnectError: ConnectionFailedError,
    aiomqtt.MqttCodeError: ConnectionFailedError,
    aiomqtt.MqttError: ConnectionFailedError,
}
_TIMED_OUT = "Operation timed out"  # aiomqtt's only MqttError that is a timeout (Client._wait_for)


def map_mqtt_error(error: aiomqtt.MqttError, *, context: str = "MQTT") -> TransportError:
    """The :class:`~.base.TransportError` for an aiomqtt/paho error (see the module docstring)."""
    if type(error) is aiomqtt.MqttError and str(error) == _TIMED_OUT:
        return TransportTimeoutError(f"{context}: {error}")
    for cls, mapped in ERROR_MAP.items():
        if isinstance(error, cls):
            return mapped(f"{context}: {error}")
    return ConnectionFailedError(f"{context}: {error}")  # pragma: no cover  (ERROR_MAP ends with the base)


# ---- the client -----------------------------------------------------------------------------------


class MqttSubscription(QueuedSubscription):
    """The notices (or quotes) arriving on one topic, decoded; a bad notice raises its ``ProtocolError``
    from :meth:`get` (the next ``get`` goes on)."""

    def __init__(self, transport: MqttTransport, topic: str, party: str = "*",
                 notice_key: PartyKey | None = None) -> None:
        super().__init__(party, notice_key)
        self.topic = topic
        self._transport = transport

    async def get(self, timeout: float | None = None) -> Model:
        if self._closed:
            raise TransportClosedError("the subscription is closed")
        if self._queue.empty():
            await self._transport.connect()  # after a lost connection: connect and subscribe again
        return await super().get(timeout)

    async def close(self) -> None:
        if self._end():
            await self._transport._forget(self)  # the transport owns the broker subscription


#: notices kept per topic when they arrive (from a persistent session) before anyone subscribed to it
MAX_EARLY = 1000


class MqttTransport(Transport):
    """Requests to a VTN's MQTT bridge through the broker at ``host:port``, for the market ``market``
    (its party id, the ``{market}`` topic level). Connects on first use.

    ``party`` is the party for requests whose payload names none; ``timeout`` bounds each request (seconds);
    ``connect_timeout`` each connection attempt. ``session_expiry`` (seconds, with a stable ``client_id``):
    keep a persistent session, so notices published while disconnected are delivered on return (see the
    module docstring). ``tls``: connect over TLS with this context.
    """

    def __init__(self, host: str, port: int = 1883, *, market: str, wire: WireFormat | str = WireFormat.JSON,
                 party: str | None = None, timeout: float = 10.0, connect_timeout: float = 5.0,
                 client_id: str | None = None, session_expiry: float | None = None,
                 tls: ssl.SSLContext | None = None, username: str | None = None,
                 password: str | None = None) -> None:
        if session_expiry is not None:
            if not (math.isfinite(session_expiry) and session_expiry > 0):
                raise ValueError(f"session_expiry must be a positive number of seconds, not {session_expiry!r}")
            if client_id is None:
                raise ValueError("a persistent session (session_expiry) needs a stable client_id: the broker "
                                 "finds the session again by it")
        self.session_expiry = session_expiry
        self.tls = tls
        #: the broker login (a broker with per-party credentials: the party id and its registration token)
        self.username = username
        self._password = password
        self._early: dict[str, deque[tuple[bytes, WireFormat | None, str | None]]] = {}
        self.host = host
        self.port = port
        self.market = market
        self.wire = WireFormat(wire)
        self.party = party
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.client_id = client_id or f"tx-{uuid.uuid4().hex}"
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._pending: dict[bytes, asyncio.Future[aiomqtt.Message]] = {}
        self._subscriptions: dict[str, list[MqttSubscription]] = {}
        self._closed = False
        #: bytes sent and received (requests and replies), for tests and benchmarks
        self.bytes_out = 0
        self.bytes_in = 0

    async def __aenter__(self) -> MqttTransport:
        await self.connect()
        return self

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _reply_filter(self) -> str:
        """Where this client's replies arrive: for a transport of one ``party`` (required by a broker with
        per-party access control) its own reply topic, else that of any party."""
        party = segment(self.party) if self.party is not None else "+"
        return f"{TOPIC_ROOT}/{segment(self.market)}/reply/{party}/{segment(self.client_id)}"

    def _is_reply(self, topic: str) -> bool:
        return topic.startswith(f"{TOPIC_ROOT}/{segment(self.market)}/reply/")

    async def connect(self) -> None:
        """Connect (and subscribe) unless connected; :class:`ConnectionFailedError` when the broker cannot
        be reached, :class:`TransportClosedError` after :meth:`close`."""
        await self._connection()

    async def _connection(self) -> aiomqtt.Client:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            client = aiomqtt.Client(self.host, self.port, identifier=self.client_id,
                                    protocol=aiomqtt.ProtocolVersion.V5, timeout=self.connect_timeout,
                                    socket_options=SOCKET_OPTIONS, tls_context=self.tls, username=self.username,
                                    password=self._password, **self._session_options())
            where = f"MQTT broker {self.host}:{self.port}"
            try:
                await client.__aenter__()
            except aiomqtt.MqttError as error:
                failure = tls_failure(error)
                if failure is None and self.tls is not None:
                    failure = await diagnose(self.host, self.port, self.tls)
                raise ConnectionFailedError(f"{where}: {failure or error}") from error
            try:
                await client.subscribe(self._reply_filter(), qos=1)
                for topic in self._subscriptions:
                    await client.subscribe(topic, qos=1)
            except aiomqtt.MqttError as error:
                await _release(client)
                raise ConnectionFailedError(f"{where}: {error}") from error
            if self._closed:  # closed while connecting
                await _release(client)
                raise TransportClosedError("the transport is closed")
            self._client = client
            self._reader = asyncio.create_task(self._read(client), name=f"mqtt-reader-{self.client_id}")
            return client

    def _session_options(self) -> dict[str, Any]:
        if self.session_expiry is None:
            return {}
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = min(math.ceil(self.session_expiry), 0xFFFFFFFF)
        return {"clean_start": False, "properties": props}

    async def _read(self, client: aiomqtt.Client) -> None:
        error: BaseException | None = None
        try:
            async for message in client.messages:
                self._route(message)
        except aiomqtt.MqttError as lost:
            error = lost
        if self._client is client:
            await self._lost(client, error)

    async def _lost(self, client: aiomqtt.Client, error: BaseException | None) -> None:
        self._client = None
        self._reader = None
        log.warning("MQTT connection to %s:%s lost: %s", self.host, self.port, error)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionFailedError(f"connection to the broker lost: {error}"))
        for subs in self._subscriptions.values():
            for sub in subs:
                sub.put(ConnectionFailedError(f"connection to the broker lost: {error}"))
        await _release(client)

    def _route(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        wire = wire_of(getattr(message.properties, "ContentType", None))
        if topic in self._subscriptions or (
                self.session_expiry is not None and not self._is_reply(topic)):
            try:
                signature = user_property(message, NOTICE_SIGNATURE_PROPERTY)
            except ProtocolError as error:
                signature = None
                log.warning("notice on %s: %s", topic, error)
            notice = (payload, wire, signature)
            if topic in self._subscriptions:
                for sub in self._subscriptions[topic]:
                    sub.receive(*notice)
            else:  # a notice the persistent session kept while we were away, before anyone asked for it again
                self._early.setdefault(topic, deque(maxlen=MAX_EARLY)).append(notice)
            return
        correlation = getattr(message.properties, "CorrelationData", None)
        future = self._pending.get(bytes(correlation)) if correlation is not None else None
        if future is None or future.done():
            log.debug("unexpected message on %s ignored", topic)
            return
        future.set_result(message)

    async def request(self, message: Model, *, token: str | None = None, sign: RequestSigner | None = None) -> Model:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        named = request_party(message)
        party = named[0] if named is not None else self.party
        if party is None:
            raise ValueError(f"{type(message).__tag__} names no party: give MqttTransport a party=")
        data = encode_as(self.wire, message)
        correlation = uuid.uuid4().bytes
        future: asyncio.Future[aiomqtt.Message] = asyncio.get_running_loop().create_future()
        props = publish_properties(self.wire, response_topic=reply_topic(self.market, party, self.client_id),
                                   correlation=correlation, token=token,
                                   signature=None if sign is None else sign(data))
        try:
            async with asyncio.timeout(self.timeout):
                client = await self._connection()
                self._pending[correlation] = future
                await client.publish(request_topic(self.market, party), data, qos=1, properties=props)
                self.bytes_out += len(data)
                reply = await future
        except TransportError:
            raise
        except TimeoutError:
            raise TransportTimeoutError(f"no reply within {self.timeout} s") from None
        except aiomqtt.MqttError as error:
            raise map_mqtt_error(error, context=f"request to {self.market}") from error
        finally:
            self._pending.pop(correlation, None)
        payload = bytes(reply.payload) if isinstance(reply.payload, bytes | bytearray) else b""
        self.bytes_in += len(payload)
        return decode_as(wire_of(getattr(reply.properties, "ContentType", None)), payload)

    async def _subscribe_topic(self, topic: str, party: str = "*",
                               notice_key: PartyKey | None = None) -> MqttSubscription:
        client = await self._connection()
        sub = MqttSubscription(self, topic, party, notice_key)
        first = topic not in self._subscriptions
        self._subscriptions.setdefault(topic, []).append(sub)
        for notice in self._early.pop(topic, ()):
            sub.receive(*notice)
        if first:
            try:
                await client.subscribe(topic, qos=1)
            except aiomqtt.MqttError as error:
                self._subscriptions[topic].remove(sub)
                if not self._subscriptions[topic]:
                    del self._subscriptions[topic]
                raise map_mqtt_error(error, context=f"subscribe {topic}") from error
        return sub

    async def subscribe(self, party_id: str, *, token: str | None = None,
                        notice_key: PartyKey | None = None) -> MqttSubscription:
        """The party's notices (``eiCreateTransaction``, ``eiCreateQuote``) on its topic. The VTN confirms
        the token first (an ``eiRequestPartyRegistration``): :class:`NotAuthorizedError` (463) if not."""
        if self._closed:
            raise TransportClosedError("the transport is closed")
        check = EiRequestPartyRegistration(request_id=f"subscribe-{uuid.uuid4().hex}", registree_party_id=party_id,
                                           requestor_party_id=party_id)
        try:
            check_reply(await self.request(check, token=token))
        except RequestRefusedError as refused:
            raise NotAuthorizedError(f"no notices for {party_id!r}: {refused.message}",
                                     field=refused.field) from refused
        return await self._subscribe_topic(notices_topic(self.market, party_id), party_id, notice_key)

    async def quotes(self, *, notice_key: PartyKey | None = None) -> MqttSubscription:
        """The market's published quotes (public): the retained last one at once, then each new one (signed
        for party ``*``: only those ``notice_key`` verifies, when given)."""
        if self._closed:
            raise TransportClosedError("the transport is closed")
        return await self._subscribe_topic(quotes_topic(self.market), "*", notice_key)

    async def _forget(self, sub: MqttSubscription) -> None:
        subs = self._subscriptions.get(sub.topic)
        if subs is None or sub not in subs:
            return
        subs.remove(sub)
        if subs:
            return
        del self._subscriptions[sub.topic]
        client = self._client
        if client is not None and not self._closed:
            try:
                await client.unsubscribe(sub.topic)
            except aiomqtt.MqttError as error:  # the broker forgets it with the session anyway
                log.debug("unsubscribe %s failed: %s", sub.topic, error)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TransportClosedError("the transport is closed"))
        for subs in list(self._subscriptions.values()):
            for sub in list(subs):
                await sub.close()
        async with self._lock:
            client, reader = self._client, self._reader
            self._client = self._reader = None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if client is not None:
            await _release(client)

    async def end_session(self) -> None:
        """Close, and have the broker discard the persistent session of this ``client_id`` (its
        subscriptions and the notices it queued): a clean start with no session expiry, then a disconnect."""
        await self.close()
        if self.session_expiry is None:
            return
        client = aiomqtt.Client(self.host, self.port, identifier=self.client_id, protocol=aiomqtt.ProtocolVersion.V5,
                                timeout=self.connect_timeout, socket_options=SOCKET_OPTIONS, clean_start=True,
                                tls_context=self.tls, username=self.username, password=self._password)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as error:
            raise map_mqtt_error(error, context="end the session") from error
        await _release(client)


async def _release(client: aiomqtt.Client) -> None:
    """Disconnect (or just release) a client; errors are logged, not raised."""
    try:
        await client.__aexit__(None, None, None)
    except aiomqtt.MqttError as error:
        log.debug("MQTT disconnect: %s", error)
