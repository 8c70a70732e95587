"""The VTN side of the MQTT transport: a bridge between a broker and a :class:`~transactive.services.VtnService`.

:func:`run_mqtt_bridge` connects to the broker (MQTT 5), subscribes to every party's request topic of the
market, answers each request on its response topic, and publishes the service's notices
(:meth:`VtnService.listen`) on the parties' notice topics and the last quote, retained, on the market's
quote topic. The topic design, properties and authorization rules are in :mod:`transactive.transport.mqtt`.

Per request (:meth:`MqttBridge.answer`), in this order:

1. no response topic, or one outside ``reply/{party}/`` of the topic's party → not answered (logged,
   counted in ``dropped``): there is nowhere safe to answer;
2. a content type that names neither XML nor JSON (the rules of :mod:`transactive.codec.wire`, the HTTP
   server's: ``*+json`` and ``*+xml`` count) → 415 in ``tx:eiResponsePayload``;
3. a payload that does not decode → its code (400 malformed, 453 unknown message, 454 invalid field);
4. a payload naming another party than the topic → 463 (field: the party element);
5. an ``authorization`` property that is not ``Bearer <token>``, or a token that is not the active
   registration of the topic's party → 463 (field ``authorization``);
6. a ``signature`` property that does not hold for the payload's bytes → 463 (field ``Signature``);
7. otherwise :meth:`VtnService.answer` (which refuses what the token may not do, with its own codes).

Nothing a peer sends can stop the bridge: an unexpected exception while answering is logged and answered
with 500. The retained quote is the ``eiCreateQuote`` addressed to subscriber ``*`` (every party). Every
notice and the retained quote carry the VTN's signature in the ``notice-signature`` property (for the party
of the topic; ``*`` for the quote). With ``tls`` (an :class:`ssl.SSLContext`, ``vtn serve --mqtt-tls-ca``)
the bridge connects to the broker over TLS.
After the first connection, a lost connection is retried (``reconnect_delay``, doubling up to 5 s) until
``stop`` is set; failing to connect the first time raises :class:`ConnectionFailedError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from typing import Any

import aiomqtt

from transactive.codec.wire import WireFormat, decode_as, encode_as, sniff, wire_of
from transactive.ei.cts.quote import EiCreateQuote
from transactive.errors import ProtocolError, ResponseCode
from transactive.model import Model
from transactive.protocol.errors import NotAuthorizedError
from transactive.services.service import VtnService
from transactive.transport.base import ConnectionFailedError
from transactive.transport.mqtt import (
    AUTHORIZATION,
    SIGNATURE,
    SOCKET_OPTIONS,
    map_mqtt_error,
    notices_topic,
    publish_properties,
    quotes_topic,
    reply_prefix,
    request_filter,
    request_party,
    unsegment,
    user_property,
)
from transactive.transport.tls import diagnose, tls_failure
from transactive.vtn.mqtt_acl import DynamicSecurity, DynamicSecurityError

__all__ = ["MAX_HANDLING", "MAX_INFLIGHT", "PUBLIC_SUBSCRIBER", "MqttBridge", "run_mqtt_bridge"]

log = logging.getLogger(__name__)

#: ``ei:subscriberPartyID`` of the retained quote on the public quote topic
PUBLIC_SUBSCRIBER = "*"
#: notices published but not yet acknowledged by the broker, at most (see :meth:`MqttBridge.publish_notice`)
MAX_INFLIGHT = 64
#: requests answered at the same time, at most
MAX_HANDLING = 256
_MAX_DELAY = 5.0


def _bearer(message: aiomqtt.Message) -> str | None:
    """The bearer token of the request (None without an ``authorization`` property); 463 if malformed."""
    value = user_property(message, AUTHORIZATION)
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedError("the authorization property must be one 'Bearer <token>'", field=AUTHORIZATION)
    return token.strip()


class MqttBridge:
    """Answers one market's requests arriving through a broker and publishes its notices."""

    def __init__(self, service: VtnService, *, market: str, wire: WireFormat | str = WireFormat.JSON,
                 login: tuple[str, str] | None = None, acl: bool = False) -> None:
        self.service = service
        self.market = market
        #: the bridge's broker login (name, password)
        self.login = login
        #: keep per-party credentials and ACLs in the broker's Dynamic Security plugin (see :mod:`.mqtt_acl`)
        self.acl = DynamicSecurity(market) if acl else None
        #: the format of notices and quotes (a reply is in its request's format)
        self.wire = WireFormat(wire)
        self.client_id = f"vtn-{uuid.uuid4().hex}"
        self._client: aiomqtt.Client | None = None
        #: publications of notices under way (the broker's acknowledgement not yet in)
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_INFLIGHT)
        self._last_quote: str | None = None
        self.connected_once = False
        #: requests answered, requests dropped (nowhere to answer), notices and replies that could not be published
        self.answered = 0
        self.dropped = 0
        self.unpublished = 0

    # -- requests ----------------------------------------------------------------------------------------

    async def answer(self, party: str, message: aiomqtt.Message) -> tuple[Model, WireFormat]:
        """The reply to one request sent on ``party``'s topic, and the format to send it in."""
        service = self.service
        payload = message.payload if isinstance(message.payload, bytes) else b""
        content_type: str | None = getattr(message.properties, "ContentType", None)
        wire = wire_of(content_type)
        if content_type and wire is None:
            error = ProtocolError(f"unsupported content type {content_type!r}: use application/xml or "
                                  "application/json", response_code=ResponseCode.UNSUPPORTED_MEDIA_TYPE)
            return service.error_reply(None, error), sniff(payload)
        reply_wire = wire or sniff(payload)
        try:
            request = decode_as(wire, payload)
        except ProtocolError as error:
            return service.error_reply(None, error), reply_wire
        try:
            named = request_party(request)
            if named is not None and named[0] != party:
                raise NotAuthorizedError(f"sent on the topic of {party!r} but names {named[0]!r}", field=named[1])
            token = _bearer(message)
            if token is not None:
                service.authorize(token, party, AUTHORIZATION)
            signature = user_property(message, SIGNATURE)
            proof = None if signature is None else service.verify_request(signature, payload)
        except ProtocolError as error:
            return service.error_reply(request, error), reply_wire
        return await self.service.answer(request, token=token, proof=proof), reply_wire

    async def handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Answer one request on its response topic (or drop it: see the module docstring)."""
        topic = message.topic.value
        party = unsegment(topic.rsplit("/", 1)[-1])
        response_topic: str | None = getattr(message.properties, "ResponseTopic", None)
        correlation: bytes | None = getattr(message.properties, "CorrelationData", None)
        prefix = reply_prefix(self.market, party)
        if (not response_topic or not response_topic.startswith(prefix) or len(response_topic) == len(prefix)
                or "+" in response_topic or "#" in response_topic):
            self.dropped += 1
            log.warning("request on %s without a response topic under %s: not answered", topic, prefix)
            return
        try:
            reply, wire = await self.answer(party, message)
            data = encode_as(wire, reply)
        except Exception:  # a bug must not stop the bridge: answer 500
            log.exception("answering the request on %s failed", topic)
            wire = self.wire
            error = ProtocolError("internal error", response_code=ResponseCode.INTERNAL_ERROR)
            data = encode_as(wire, self.service.error_reply(None, error))
        await self._send(client, response_topic, data, publish_properties(wire, correlation=correlation),
                         what=f"reply to {party}")
        self.answered += 1

    # -- notices -----------------------------------------------------------------------------------------

    async def publish_notice(self, party: str, notice: Model) -> None:
        """A :meth:`VtnService.listen` callback: the notice on the party's topic (QoS 1); a quote also,
        retained, on the market's quote topic. Failures are logged (the gate closure goes on).

        Publications are pipelined: this returns once the notice is handed to the MQTT client, without
        waiting for the broker's acknowledgement (a round trip each, 20,000 of them after a gate with 10,000
        parties); at most :data:`MAX_INFLIGHT` are unacknowledged at a time (the caller waits for a slot).
        They leave in the order they were handed over, and replies to requests go the same way.
        :meth:`drain` waits for all of them."""
        client = self._client
        if client is None:
            self.unpublished += 1
            log.warning("not connected: notice %s for %s not published", type(notice).__tag__, party)
            return
        data = encode_as(self.wire, notice)
        messages = [(notices_topic(self.market, party), data, self._notice_properties(party, data), False)]
        if isinstance(notice, EiCreateQuote) and notice.quotes[0].quote_id != self._last_quote:
            public = EiCreateQuote(request_id=notice.quotes[0].quote_id, publisher_party_id=notice.publisher_party_id,
                                   subscriber_party_id=PUBLIC_SUBSCRIBER, quotes=notice.quotes)
            quote = encode_as(self.wire, public)
            messages.append((quotes_topic(self.market), quote, self._notice_properties(PUBLIC_SUBSCRIBER, quote), True))
            self._last_quote = notice.quotes[0].quote_id
        for topic, payload, props, retain in messages:
            await self._send(client, topic, payload, props, retain=retain, what=f"notice for {party}")

    def _notice_properties(self, party: str, data: bytes) -> Any:
        return publish_properties(self.wire, notice_signature=self.service.sign_notice(party, data))

    async def _send(self, client: aiomqtt.Client, topic: str, data: bytes, props: Any, *, what: str,
                    retain: bool = False) -> None:
        """Hand one QoS 1 publication (a notice or a reply) to the client without waiting for the broker's
        acknowledgement; waits for a slot when :data:`MAX_INFLIGHT` are unacknowledged."""
        await self._slots.acquire()
        # a task starts in creation order, and hands its message to paho before its first wait: in order
        task = asyncio.get_running_loop().create_task(self._publish(client, topic, data, props, retain, what))
        self._inflight.add(task)
        task.add_done_callback(self._published)

    async def _publish(self, client: aiomqtt.Client, topic: str, data: bytes, props: Any, retain: bool,
                       what: str) -> None:
        try:
            await client.publish(topic, data, qos=1, retain=retain, properties=props)
        except aiomqtt.MqttError as error:
            self.unpublished += 1
            log.warning("%s not published: %s", what, map_mqtt_error(error))

    def _published(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every publication handed over was acknowledged by the broker (or failed); False on
        timeout."""
        if not self._inflight:
            return True
        _done, pending = await asyncio.wait(set(self._inflight), timeout=timeout)
        return not pending

    # -- the connection ----------------------------------------------------------------------------------

    async def serve(self, host: str, port: int, *, stop: asyncio.Event, ready: asyncio.Event | None = None,
                    timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> None:
        """One connection (over TLS with ``tls``): answer requests until ``stop`` is set (returns) or the
        connection is lost (raises ``aiomqtt.MqttError``). :class:`ConnectionFailedError` if it cannot connect."""
        username, password = self.login if self.login is not None else (None, None)

        def connect(identifier: str) -> aiomqtt.Client:
            return aiomqtt.Client(host, port, identifier=identifier, protocol=aiomqtt.ProtocolVersion.V5,
                                  timeout=timeout, socket_options=SOCKET_OPTIONS, tls_context=tls,
                                  username=username, password=password)

        if self.acl is not None:
            if username is None:
                raise ConnectionFailedError("MQTT access control needs the bridge's login (the Dynamic Security "
                                            "plugin's administrator)")
            try:
                await self.acl.grant_self(connect, username)
            except aiomqtt.MqttError as error:
                raise ConnectionFailedError(f"MQTT broker {host}:{port}: {error}") from error
        client = connect(self.client_id)
        # aiomqtt warns above 10 unacknowledged calls; the notices are pipelined up to MAX_INFLIGHT on purpose
        client.pending_calls_threshold = MAX_INFLIGHT + 16
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as error:
            failure = tls_failure(error)
            if failure is None and tls is not None:
                failure = await diagnose(host, port, tls)
            raise ConnectionFailedError(f"MQTT broker {host}:{port}: {failure or error}") from error
        self.connected_once = True
        unlisten = self.service.listen(self.publish_notice)
        unwatch = self.service.watch_registrations(self._registration_changed) if self.acl is not None else None
        reader: asyncio.Task[None] | None = None
        try:
            await client.subscribe(request_filter(self.market), qos=1)
            reader = asyncio.create_task(self._read(client))
            if self.acl is not None:  # the plugin answers through the reader
                await self.acl.setup(client, self.service.active_registrations())
            self._client = client
            log.info("MQTT bridge for %s on %s:%s", self.market, host, port)
            if ready is not None:
                ready.set()
            stopper = asyncio.create_task(stop.wait())
            done, pending = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if reader in done:
                reader.result()
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            unlisten()
            if unwatch is not None:
                unwatch()
            if not await self.drain():
                log.warning("MQTT bridge: %d publications still unacknowledged at shutdown", len(self._inflight))
            self._client = None
            if ready is not None:
                ready.clear()
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _read(self, client: aiomqtt.Client) -> None:
        """Read the broker's messages: the access-control plugin's answers at once, requests each in a task of
        its own (at most :data:`MAX_HANDLING` at a time), so a request that waits for the plugin (a
        registration: the party's credentials) never holds up the answer it waits for."""
        slots = asyncio.Semaphore(MAX_HANDLING)
        handling: set[asyncio.Task[None]] = set()

        def done(task: asyncio.Task[None]) -> None:
            handling.discard(task)
            slots.release()

        try:
            async for message in client.messages:
                if self.acl is not None and self.acl.receive(message):
                    continue
                await slots.acquire()
                task = asyncio.create_task(self.handle(client, message))
                handling.add(task)
                task.add_done_callback(done)
        except aiomqtt.MqttError as error:
            if self.acl is not None:
                self.acl.abandon(error)  # what waits for the plugin's answer learns the connection is gone
            raise
        finally:
            if handling:
                await asyncio.gather(*handling, return_exceptions=True)

    async def _registration_changed(self, party: str, token: str | None) -> None:
        """A :meth:`VtnService.watch_registrations` callback: the party's broker client made, refreshed or
        deleted before the registration's reply leaves (so the party can log in at once). While the bridge is
        not connected nothing is done: the next connection synchronises every party."""
        client = self._client
        if self.acl is None or client is None:
            return
        try:
            await self.acl.party(client, party, token)
        except (DynamicSecurityError, aiomqtt.MqttError) as error:
            log.warning("MQTT access control for %s not updated (%s); the next connection will", party, error)


async def run_mqtt_bridge(service: VtnService, host: str, port: int, *, stop: asyncio.Event,
                          market: str | None = None, wire: WireFormat | str = WireFormat.JSON,
                          ready: asyncio.Event | None = None, reconnect_delay: float = 0.5,
                          tls: ssl.SSLContext | None = None, login: tuple[str, str] | None = None,
                          acl: bool = False) -> None:
    """Serve ``service`` through the MQTT broker at ``host:port`` until ``stop`` is set.

    ``market`` is the ``{market}`` topic level (default: the market's party id); ``wire`` the format of
    notices and quotes; ``ready`` is set while connected and subscribed; ``tls`` connects over TLS; ``login``
    is the bridge's (name, password) at the broker; with ``acl`` the bridge keeps each registered party's
    credentials and ACLs in the broker's Dynamic Security plugin (:mod:`.mqtt_acl`; ``login`` must be the
    plugin's administrator). Raises :class:`~transactive.transport.ConnectionFailedError` if the first
    connection fails; later losses are retried.
    """
    bridge = MqttBridge(service, market=market or service.config.market_party_id, wire=wire, login=login, acl=acl)
    delay = reconnect_delay
    while not stop.is_set():
        try:
            await bridge.serve(host, port, stop=stop, ready=ready, tls=tls)
            delay = reconnect_delay
        except ConnectionFailedError as error:
            if not bridge.connected_once:
                raise
            log.warning("MQTT bridge: %s; retrying in %.1f s", error, delay)
        except aiomqtt.MqttError as error:
            log.warning("MQTT bridge: connection lost (%s); retrying in %.1f s", map_mqtt_error(error), delay)
            delay = reconnect_delay
        if stop.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, _MAX_DELAY)
