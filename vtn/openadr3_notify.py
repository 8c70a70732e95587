"""OpenADR 3.1 notifications from the VTN: webhooks for subscriptions, and the MQTT notifier.

Both hear every committed change of the OpenADR 3 objects (:meth:`Oa3Service.listen`) and send the
specification's ``notification`` (``{"objectType", "operation", "object", "targets"?}``).

**Webhooks** (:class:`Webhooks`). A change goes to a subscription's ``callbackUrl`` when one of its
``objectOperations`` names the object's type and the operation, when its ``programID`` (if any) is the
object's program (a program's own id, an event's or a report's ``programID``; objects that belong to no
program, VENs, resources and subscriptions, are not filtered by it), when its ``targets`` (if any) meet the
object's targets (an object without targets is for everybody), and when the subscription's client may read
the object (:meth:`Oa3Service.visible_to` with that client's role: a VEN hears only of what it could read).
The POST carries ``Authorization: Bearer <bearerToken>`` when the subscription gives one.

Deliveries are durable: each is written to the store (kind :data:`DELIVERY_KIND`, indexed by its URL) in a
transaction of its own before it is tried, deleted once the receiver answers 2xx, retried otherwise after a
delay that doubles from :attr:`RetryPolicy.first` up to :attr:`RetryPolicy.maximum` (less a random part of up
to :attr:`RetryPolicy.jitter` of it, so receivers that failed together are not retried together), and after
:attr:`RetryPolicy.attempts` tries (or once older than :attr:`RetryPolicy.max_age`) moved to the dead letters
(kind :data:`DEAD_KIND`), which the operator reads at ``GET /operator/openadr3/deliveries``. One sender per
callback URL sends that URL's deliveries one at a time in the order they were made (a receiver that fails
holds up its own later deliveries, nobody else's). Pending deliveries are sent again after a restart. The
request path never waits: recording is a store write, sending happens in tasks. Of several processes on one
store, every process records the deliveries of the changes it makes, and only the leader sends
(:attr:`Webhooks.leader`): it hears of the others' deliveries through :meth:`Webhooks.object_changed`, so
each callback URL still has one sender; a new leader resumes every pending delivery (:meth:`Webhooks.lead`).

**MQTT** (``vtn serve --mqtt``): :mod:`.openadr3_mqtt` (it needs aiomqtt, the ``server`` extra, and is imported
only when the VTN has a broker).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import random
import secrets
import socket
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from transactive.services.openadr3 import (
    Clients,
    Oa3Change,
    Oa3Error,
    Oa3Service,
    Principal,
)
from transactive.services.openadr3.notification import notification, principal_of
from transactive.services.store import OadrObject, StoreError
from transactive.vtn.openadr3_http import Oa3Options

__all__ = ["DEAD_KIND", "DELIVERY_KIND", "Delivery", "Notifiers", "RetryPolicy", "Webhooks", "make_notifiers",
           "notification", "principal_of", "subscription_targets"]

log = logging.getLogger("transactive.vtn.openadr3")

#: the store kinds of deliveries waiting to be sent and of those given up
DELIVERY_KIND = "oa3.delivery"
DEAD_KIND = "oa3.delivery.dead"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _program_of(object_type: str, obj: dict[str, Any]) -> str | None:
    if object_type == "PROGRAM":
        return str(obj["id"])
    if object_type in ("EVENT", "REPORT") and obj.get("programID") is not None:
        return str(obj["programID"])
    return None


def subscription_targets(subscription: dict[str, Any], change: Oa3Change) -> list[tuple[str, str | None]]:
    """The ``(callbackUrl, bearerToken)`` pairs of ``subscription`` that ask for ``change`` (one per URL), before
    the question of whether its client may read the object (see the module docstring)."""
    wanted_program = subscription.get("programID")
    if (wanted_program is not None and change.object_type in ("PROGRAM", "EVENT", "REPORT")
            and _program_of(change.object_type, change.object) != wanted_program):
        return []
    wanted_targets = subscription.get("targets")
    if wanted_targets:
        own = change.object.get("targets")
        if own and set(own).isdisjoint(wanted_targets):
            return []
    found: dict[str, str | None] = {}
    for operation in subscription.get("objectOperations") or ():
        if change.object_type in (operation.get("objects") or ()) and change.operation in (
                operation.get("operations") or ()):
            url = operation.get("callbackUrl")
            if isinstance(url, str) and url not in found:
                token = operation.get("bearerToken")
                found[url] = token if isinstance(token, str) and token else None
    return list(found.items())


# ---- webhooks ----


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How webhook deliveries are retried (seconds)."""

    first: float = 1.0
    maximum: float = 300.0
    #: tries in all before a delivery is given up
    attempts: int = 12
    #: a delivery older than this is given up at its next failure (None: only ``attempts`` counts)
    max_age: float | None = 24 * 3600.0
    #: the part of each delay that is random (0: none, 0.5: up to half of it is taken off)
    jitter: float = 0.2
    #: how long one POST may take
    timeout: float = 10.0

    def delay(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        """The wait after the ``failures``-th failure."""
        base = min(self.maximum, self.first * 2.0 ** max(0, failures - 1))
        return float(base * (1.0 - self.jitter * draw()))


@dataclass(slots=True)
class Delivery:
    """One notification for one callback URL, as the store keeps it."""

    id: str
    subscription_id: str
    client_id: str
    url: str
    token: str | None
    body: dict[str, Any]
    created: str
    next_attempt: str
    attempts: int = 0
    last_error: str | None = None
    given_up: str | None = None

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> Delivery:
        return cls(**orjson.loads(text))

    def public(self) -> dict[str, Any]:
        """What the operator sees (not the receiver's bearer token)."""
        return {"id": self.id, "subscriptionID": self.subscription_id, "clientID": self.client_id, "url": self.url,
                "objectType": self.body.get("objectType"), "operation": self.body.get("operation"),
                "object": self.body.get("object"), "attempts": self.attempts, "lastError": self.last_error,
                "created": self.created, "nextAttempt": None if self.given_up else self.next_attempt,
                "givenUp": self.given_up}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]").split("%", 1)[0]).is_global
    except ValueError:
        return False


class PublicResolver(AbstractResolver):
    """A resolver that keeps only public addresses: a callback URL whose name resolves to loopback, a private
    network, link-local (cloud metadata services) and the like is refused, so that a subscriber cannot make the
    VTN post into the network it runs in. Checked at connection time, on the addresses actually connected to
    (a name that resolves differently later is checked again)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        kept = [r for r in found if _public(r["host"])]
        if not kept:
            raise OSError(errno.EACCES, f"{host} resolves to no public address "
                                        f"({', '.join(r['host'] for r in found)})")
        return kept

    async def close(self) -> None:
        await self._inner.close()


class Webhooks:
    """The subscriptions' webhook deliveries (see the module docstring). :meth:`start` in the event loop,
    :meth:`on_change` as a listener of the service, :meth:`stop` at shutdown."""

    def __init__(self, service: Oa3Service, clients: Clients, *, policy: RetryPolicy | None = None,
                 wall: Callable[[], datetime] = _utc_now, private: bool = False) -> None:
        """``private``: also post to loopback, private and link-local addresses (``--openadr3-webhooks-private``;
        refused by default, see :class:`PublicResolver`)."""
        self.service = service
        self.private = private
        self.store = service.store
        self.clients = clients
        self.policy = policy or RetryPolicy()
        self.wall = wall
        #: the VTN accepts an outside identity provider's tokens (see :func:`principal_of`)
        self.outside = False
        self._session: aiohttp.ClientSession | None = None
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._serial = 0
        self._stopping = False
        #: whether this process sends (of several processes on one store, the leader only)
        self.leader = True

    async def start(self) -> None:
        """Open the HTTP client and resume the deliveries left pending by an earlier run."""
        connector = aiohttp.TCPConnector(resolver=None if self.private else PublicResolver())
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout),
                                              connector=connector)
        self._resume()

    def _resume(self) -> None:
        """Wake the sender of every callback URL with a delivery pending (the leader's, once it is started)."""
        if not self.leader or self._session is None or self._stopping:
            return
        urls = {obj.ven_id for obj in self.store.oadr_objects(DELIVERY_KIND) if obj.ven_id is not None}
        for url in sorted(urls):
            self._wake(url)
        if urls:
            log.info("OpenADR 3 webhooks: resuming deliveries to %d callback URLs", len(urls))

    def lead(self, leader: bool) -> None:
        """Become the process that sends (and resume what is pending: another process recorded it, or a leader
        that died left it), or stop sending (a POST under way is finished and settled first)."""
        was, self.leader = self.leader, leader
        if leader and not was:
            self._resume()

    def object_changed(self, kind: str, key: str) -> bool:
        """Another process wrote or deleted a delivery: the leader wakes its URL's sender (a new one to send).
        False for another kind."""
        if kind == DEAD_KIND:
            return True  # (read from the store by the operator's listing: nothing in memory)
        if kind != DELIVERY_KIND:
            return False
        if self.leader and self._session is not None and not self._stopping:
            row = self.store.oadr_object(DELIVERY_KIND, key)
            if row is not None and row.ven_id is not None:
                self._wake(row.ven_id)
        return True

    async def stop(self) -> None:
        """Stop sending (what is pending stays in the store for the next start) and close the HTTP client."""
        self._stopping = True
        senders = list(self._senders.values())
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        self._senders.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- what is to be sent --

    def on_change(self, change: Oa3Change) -> None:
        """Record a delivery for every subscription that asks for ``change`` and wake the URLs' senders."""
        if self._stopping:
            return
        try:
            if change.object_type == "SUBSCRIPTION" and change.operation == "DELETE":
                self._forget(str(change.object["id"]))
            made = self._record(change)
        except StoreError as exc:
            log.warning("OpenADR 3 webhooks: %s %s %s not recorded for delivery: %s", change.operation,
                        change.object_type, change.object.get("id"), exc)
            return
        for url in dict.fromkeys(d.url for d in made):
            self._wake(url)

    def _record(self, change: Oa3Change) -> list[Delivery]:
        body = notification(change)
        now = self.wall()
        made: list[Delivery] = []
        for subscription in self.service.subscriptions():  # from memory: this runs for every write
            pairs = subscription_targets(subscription, change)
            if not pairs:
                continue
            client_id = str(subscription.get("clientID"))
            principal = principal_of(self.clients, client_id, outside=self.outside)
            if principal is None or not self.service.visible_to(principal, change.object_type, change.object):
                continue
            for url, token in pairs:
                made.append(Delivery(self._new_id(now), str(subscription["id"]), client_id, url, token, body,
                                     _stamp(now), _stamp(now)))
        if made:
            with self.store.transaction():
                for delivery in made:
                    self._put(DELIVERY_KIND, delivery)
        return made

    def _forget(self, subscription_id: str) -> None:
        """A deleted subscription's deliveries are not sent (those given up stay for the operator)."""
        with self.store.transaction():
            for obj in self.store.oadr_objects(DELIVERY_KIND):
                if Delivery.from_json(obj.document).subscription_id == subscription_id:
                    self.store.delete_oadr_object(DELIVERY_KIND, obj.key)

    def _new_id(self, now: datetime) -> str:
        """Ids in the order deliveries are made (the store lists them in key order)."""
        self._serial += 1
        return f"{int(now.timestamp() * 1000):013d}-{self._serial:08d}-{secrets.token_hex(3)}"

    def _put(self, kind: str, delivery: Delivery) -> None:
        self.store.put_oadr_object(OadrObject(kind, delivery.id, delivery.url, delivery.to_json(), self.wall()))

    def deliveries(self) -> dict[str, Any]:
        """The deliveries waiting and those given up, oldest first."""
        return {"pending": [Delivery.from_json(o.document).public() for o in self.store.oadr_objects(DELIVERY_KIND)],
                "dead": [Delivery.from_json(o.document).public() for o in self.store.oadr_objects(DEAD_KIND)]}

    # -- sending --

    def _wake(self, url: str) -> None:
        if not self.leader:
            return  # recorded in the store: the leader sends it
        task = self._senders.get(url)
        if task is not None and not task.done():
            return  # it reads the store again after each delivery
        task = asyncio.get_running_loop().create_task(self._send(url), name=f"oa3-webhook {url[:80]}")
        self._senders[url] = task
        task.add_done_callback(lambda done: self._senders.pop(url, None) if self._senders.get(url) is done else None)

    async def _send(self, url: str) -> None:
        """Send ``url``'s deliveries in order until none is left (or this process is no longer the leader)."""
        while self.leader:
            try:
                queue = self.store.oadr_objects(DELIVERY_KIND, ven_id=url)
            except StoreError as exc:
                log.warning("OpenADR 3 webhooks: cannot read the deliveries for %s (%s); trying again", url, exc)
                await asyncio.sleep(self.policy.first)
                continue
            if not queue:
                return
            delivery = Delivery.from_json(queue[0].document)
            wait = (datetime.fromisoformat(delivery.next_attempt.replace("Z", "+00:00")) - self.wall()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
                if not self.leader:
                    return  # another process sends it now
            error, permanent = await self._post(delivery)
            try:
                self._settle(delivery, error, permanent=permanent)
            except StoreError as exc:
                log.warning("OpenADR 3 webhooks: delivery %s not settled (%s); trying again", delivery.id, exc)
                await asyncio.sleep(self.policy.first)

    async def _post(self, delivery: Delivery) -> tuple[str | None, bool]:
        """POST the notification: (None, False) on a 2xx, else what went wrong and whether trying again can
        never help (a callback URL naming a non-public address the VTN does not post to)."""
        session = self._session
        if session is None:
            return "the VTN is stopping", False
        host = URL(delivery.url).host or ""
        if not self.private and _is_address(host) and not _public(host):
            return f"{host} is not a public address (vtn serve --openadr3-webhooks-private allows it)", True
        headers = {"Content-Type": "application/json"}
        if delivery.token is not None:
            headers["Authorization"] = f"Bearer {delivery.token}"
        try:
            async with session.post(delivery.url, data=orjson.dumps(delivery.body), headers=headers,
                                    allow_redirects=False) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None, False
                return f"HTTP {response.status}", False
        except TimeoutError:
            return f"no answer within {self.policy.timeout:g} s", False
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}", False

    def _settle(self, delivery: Delivery, error: str | None, *, permanent: bool = False) -> None:
        now = self.wall()
        if self.store.oadr_object(DELIVERY_KIND, delivery.id) is None:
            return  # its subscription was deleted while it was being sent
        if error is None:
            with self.store.transaction():
                self.store.delete_oadr_object(DELIVERY_KIND, delivery.id)
            return
        delivery.attempts += 1
        delivery.last_error = error
        created = datetime.fromisoformat(delivery.created.replace("Z", "+00:00"))
        too_old = self.policy.max_age is not None and (now - created).total_seconds() >= self.policy.max_age
        if delivery.attempts >= self.policy.attempts or too_old or permanent:
            delivery.given_up = _stamp(now)
            with self.store.transaction():
                self.store.delete_oadr_object(DELIVERY_KIND, delivery.id)
                self._put(DEAD_KIND, delivery)
            log.warning("OpenADR 3 webhook given up after %d attempts: %s %s %s to %s (subscription %s): %s",
                        delivery.attempts, delivery.body.get("operation"), delivery.body.get("objectType"),
                        (delivery.body.get("object") or {}).get("id"), delivery.url, delivery.subscription_id, error)
            return
        delivery.next_attempt = _stamp(now + timedelta(seconds=self.policy.delay(delivery.attempts)))
        with self.store.transaction():
            self._put(DELIVERY_KIND, delivery)


# ---- both, for the HTTP edge ----


@dataclass(slots=True)
class Notifiers:
    """The webhooks and, with a broker, the MQTT notifier (what :class:`~.openadr3_http.Oa3Options` calls
    ``notifiers``). :meth:`start` listens to the service and starts the tasks; :meth:`stop` ends them."""

    webhooks: Webhooks
    mqtt: Any = None  #: the :class:`~.openadr3_mqtt.MqttNotifier`, with a broker
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _unlisten: list[Callable[[], None]] = field(default_factory=list)

    async def start(self) -> None:
        service = self.webhooks.service
        await self.webhooks.start()
        self._unlisten.append(service.listen(self.webhooks.on_change))
        if self.mqtt is not None:
            self._unlisten.append(service.listen(self.mqtt.on_change))
            self._tasks.append(asyncio.get_running_loop().create_task(self.mqtt.run(self._stop),
                                                                      name="transactive-vtn-openadr3-mqtt"))

    async def stop(self) -> None:
        for unlisten in self._unlisten:
            unlisten()
        self._unlisten.clear()
        self._stop.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
        await self.webhooks.stop()

    def bindings(self) -> dict[str, Any]:
        body: dict[str, Any] = {"WEBHOOK": True}
        if self.mqtt is not None:
            body["MQTT"] = self.mqtt.binding()
        return body

    def topics(self, principal: Principal, path: str) -> dict[str, Any]:
        if self.mqtt is None:
            raise Oa3Error(404, "Not Found", "this VTN has no MQTT notifier (vtn serve --mqtt)")
        topics: dict[str, Any] = self.mqtt.topics(principal, path)
        return topics

    def deliveries(self) -> dict[str, Any]:
        return self.webhooks.deliveries()




def make_notifiers(options: Oa3Options, *, wall: Callable[[], datetime] = _utc_now,
                   mqtt: tuple[str, int] | None = None, login: tuple[str, str] | None = None,
                   tls: ssl.SSLContext | None = None, acl: bool = False, private: bool = False) -> Notifiers:
    """The notifiers of the OpenADR 3 role (``options``, whose ``notifiers`` they become): webhooks, and MQTT
    through the broker at ``mqtt`` (``vtn serve --mqtt``, with ``--mqtt-user`` as ``login``, ``--mqtt-acl`` as
    ``acl``); ``private``: webhooks may go to non-public addresses. Not started: :meth:`Notifiers.start`."""
    publisher = None
    if mqtt is not None:
        from transactive.vtn.openadr3_mqtt import MqttNotifier  # aiomqtt: the "server" extra

        publisher = MqttNotifier(options.service, options.clients, mqtt[0], mqtt[1], login=login, tls=tls, acl=acl)
        if acl:
            publisher.watch_tokens(options.tokens)
    webhooks = Webhooks(options.service, options.clients, wall=wall, private=private)
    webhooks.outside = options.tokens.external is not None
    if publisher is not None:
        publisher.outside = webhooks.outside
    notifiers = Notifiers(webhooks, publisher)
    options.notifiers = notifiers
    return notifiers
