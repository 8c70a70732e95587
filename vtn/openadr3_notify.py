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
request path never waits: recording is a store write, sending happens in tasks.

**MQTT** (:class:`MqttNotifier`, ``vtn serve --mqtt``). Each change is published (QoS 1, JSON) on the topics
:func:`change_topics` names under ``OpenADR/3.1.0``:

====================================================  ============================================
``{objects}/{operation}``                             every change of a type (``programs/create``)
``{objects}/{id}/{operation}``                        updates and deletes of one object
``programs/{programID}/events/{operation}``           the events of one program
``vens/{venID}/events|programs/{operation}``          a copy for each VEN whose client may read it
``vens/{venID}/resources/{operation}``                the VEN's resources
====================================================  ============================================

(``operation`` in lower case: ``create``, ``update``, ``delete``; a subscription is published without its
``bearerToken``s.) Without ``--mqtt-acl`` the broker lets anyone who can connect read every topic: the privacy
rules then hold for webhooks and the API only. :meth:`MqttNotifier.topics` answers the
``notifiers/mqtt/topics/...`` paths with the scope the specification gives each one; the general topics need
``read_all`` or ``read_bl`` (they carry every object), a VEN client reads the names of its own VEN's topics.

**Broker logins** (``--mqtt-acl``; the broker runs Mosquitto's Dynamic Security plugin and ``--mqtt-user`` is
its administrator). The notifier publishes through a login of its own (``transactive-openadr3``, a new
password at every connection) allowed to publish under ``OpenADR/3.1.0/#`` only. Each OpenADR 3 client logs
in with user name its ``client_id`` and password its current OAuth2 access token (the binding's
``OAUTH2_BEARER_TOKEN`` method, user name ``{clientID}``): Mosquitto cannot check a JWT, so when the token
endpoint issues a token the VTN sets it as that client's broker password (:meth:`MqttNotifier.watch_tokens`).
The latest token is the one that logs in, until it expires: then a random password replaces it (connections
already made stay up), and a revoked client's login is deleted (at the latest when the notifier connects to
the broker again). A VEN client's login may subscribe to ``vens/{venID}/#`` of its own VENs only (the ACL
grows and shrinks as its VEN objects are made and deleted); a business-logic client's to everything under
``OpenADR/3.1.0/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import ssl
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import aiomqtt
import orjson

from transactive.services.openadr3 import (
    ROLE_SCOPES,
    Clients,
    Oa3Change,
    Oa3Error,
    Oa3Service,
    Principal,
    Role,
    Tokens,
)
from transactive.services.store import OadrObject, StoreError
from transactive.transport.mqtt import SOCKET_OPTIONS
from transactive.vtn.mqtt_acl import RESPONSES, DynamicSecurity, DynamicSecurityError
from transactive.vtn.openadr3_http import Oa3Options

__all__ = ["DEAD_KIND", "DELIVERY_KIND", "PREFIX", "Delivery", "MqttNotifier", "Notifiers", "RetryPolicy",
           "Webhooks", "change_topics", "make_notifiers", "notification", "principal_of", "subscription_targets"]

log = logging.getLogger("transactive.vtn.openadr3")

#: the store kinds of deliveries waiting to be sent and of those given up
DELIVERY_KIND = "oa3.delivery"
DEAD_KIND = "oa3.delivery.dead"
#: the topic root of the MQTT notifier
PREFIX = "OpenADR/3.1.0"
#: the login the MQTT notifier publishes through when the broker keeps per-client ACLs
PUBLISHER = "transactive-openadr3"

_PLURAL = {"PROGRAM": "programs", "EVENT": "events", "REPORT": "reports", "SUBSCRIPTION": "subscriptions",
           "VEN": "vens", "RESOURCE": "resources"}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def notification(change: Oa3Change) -> dict[str, Any]:
    """The specification's ``notification`` of a change (``targets``: the object's, when it has some)."""
    body: dict[str, Any] = {"objectType": change.object_type, "operation": change.operation,
                            "object": change.object}
    targets = change.object.get("targets")
    if targets:
        body["targets"] = list(targets)
    return body


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


def principal_of(clients: Clients, client_id: str, *, outside: bool = False) -> Principal | None:
    """The principal of a client as its subscriptions act for it (None: unknown or revoked). With ``outside``
    (the VTN accepts an outside identity provider's tokens), a client the VTN does not know is one of that
    provider's: its role is not kept, so it is taken for a VEN (it hears of less, never of more)."""
    record = clients.get(client_id)
    if record is None:
        return Principal(client_id, Role.VEN, frozenset(ROLE_SCOPES[Role.VEN])) if outside else None
    if record.revoked is not None:
        return None
    return Principal(client_id, record.role, frozenset(ROLE_SCOPES[record.role]))


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


class Webhooks:
    """The subscriptions' webhook deliveries (see the module docstring). :meth:`start` in the event loop,
    :meth:`on_change` as a listener of the service, :meth:`stop` at shutdown."""

    def __init__(self, service: Oa3Service, clients: Clients, *, policy: RetryPolicy | None = None,
                 wall: Callable[[], datetime] = _utc_now) -> None:
        self.service = service
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

    async def start(self) -> None:
        """Open the HTTP client and resume the deliveries left pending by an earlier run."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout))
        urls = {obj.ven_id for obj in self.store.oadr_objects(DELIVERY_KIND) if obj.ven_id is not None}
        for url in sorted(urls):
            self._wake(url)
        if urls:
            log.info("OpenADR 3 webhooks: resuming deliveries to %d callback URLs", len(urls))

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
        for stored in self.store.oadr_objects("oa3.subscription"):
            subscription: dict[str, Any] = orjson.loads(stored.document)
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
        task = self._senders.get(url)
        if task is not None and not task.done():
            return  # it reads the store again after each delivery
        task = asyncio.get_running_loop().create_task(self._send(url), name=f"oa3-webhook {url[:80]}")
        self._senders[url] = task
        task.add_done_callback(lambda done: self._senders.pop(url, None) if self._senders.get(url) is done else None)

    async def _send(self, url: str) -> None:
        """Send ``url``'s deliveries in order until none is left."""
        while True:
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
            error = await self._post(delivery)
            try:
                self._settle(delivery, error)
            except StoreError as exc:
                log.warning("OpenADR 3 webhooks: delivery %s not settled (%s); trying again", delivery.id, exc)
                await asyncio.sleep(self.policy.first)

    async def _post(self, delivery: Delivery) -> str | None:
        """POST the notification; None on a 2xx, else what went wrong."""
        session = self._session
        if session is None:
            return "the VTN is stopping"
        headers = {"Content-Type": "application/json"}
        if delivery.token is not None:
            headers["Authorization"] = f"Bearer {delivery.token}"
        try:
            async with session.post(delivery.url, data=orjson.dumps(delivery.body), headers=headers,
                                    allow_redirects=False) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except TimeoutError:
            return f"no answer within {self.policy.timeout:g} s"
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"

    def _settle(self, delivery: Delivery, error: str | None) -> None:
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
        if delivery.attempts >= self.policy.attempts or too_old:
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


# ---- MQTT ----


def _level(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in "/+#"):
        raise ValueError(f"{text!r} cannot be one topic level")
    return text


def change_topics(change: Oa3Change, ven_ids: Iterable[str] = ()) -> list[str]:
    """The MQTT topics a change is published on; ``ven_ids``: the VENs that get a copy of a program, event or
    resource (those whose client may read it; a resource's own VEN)."""
    operation = change.operation.lower()
    plural = _PLURAL[change.object_type]
    obj = change.object
    topics = [f"{PREFIX}/{plural}/{operation}"]
    if change.operation != "CREATE":
        topics.append(f"{PREFIX}/{plural}/{_level(obj['id'])}/{operation}")
    if change.object_type == "EVENT":
        topics.append(f"{PREFIX}/programs/{_level(obj['programID'])}/events/{operation}")
    if change.object_type in ("PROGRAM", "EVENT", "RESOURCE"):
        topics.extend(f"{PREFIX}/vens/{_level(v)}/{plural}/{operation}" for v in ven_ids)
    return topics


def _without_tokens(change: Oa3Change) -> Oa3Change:
    """A subscription's change without the receivers' bearer tokens (a broker topic has many readers)."""
    if change.object_type != "SUBSCRIPTION":
        return change
    operations = [{k: v for k, v in op.items() if k != "bearerToken"} if isinstance(op, dict) else op
                  for op in change.object.get("objectOperations") or ()]
    return Oa3Change(change.operation, change.object_type, {**change.object, "objectOperations": operations})


def _operations(base: str, *, create: bool = True) -> dict[str, str]:
    """A ``notifierOperationsTopics`` for the topics under ``base``."""
    topics = {"CREATE": f"{base}/create"} if create else {}
    topics.update({"UPDATE": f"{base}/update", "DELETE": f"{base}/delete", "ALL": f"{base}/+"})
    return topics


def _acl(acltype: str, topic: str) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": True}


@dataclass(slots=True)
class _Control:
    """Dynamic Security commands for the notifier's queue (kept in order with the publications)."""

    what: str
    client_id: str
    password: str | None = None
    ven_id: str | None = None


class MqttNotifier:
    """Publishes the changes on the broker (see the module docstring); :meth:`run` keeps the connection."""

    #: publications and access-control changes waiting for the connection, at most (then new ones are dropped)
    MAX_QUEUE = 10_000

    def __init__(self, service: Oa3Service, clients: Clients, host: str, port: int, *,
                 login: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None, acl: bool = False,
                 uris: list[str] | None = None, timeout: float = 10.0) -> None:
        self.service = service
        self.clients = clients
        self.host = host
        self.port = port
        self.login = login
        self.tls = tls
        self.acl = acl
        self.timeout = timeout
        #: the VTN accepts an outside identity provider's tokens (see :func:`principal_of`)
        self.outside = False
        self.uris = uris or [f"{'mqtts' if tls is not None else 'mqtt'}://{host}:{port}"]
        self.ready = asyncio.Event()
        self._queue: asyncio.Queue[tuple[str, bytes] | _Control] = asyncio.Queue(self.MAX_QUEUE)
        self._held: tuple[str, bytes] | _Control | None = None
        #: the Dynamic Security commands and their answers (the market part of it is not used here)
        self._dynsec = DynamicSecurity("openadr3", timeout=timeout)
        #: the latest access token of each client (its broker password until it expires)
        self._latest: dict[str, str] = {}
        self.connected_once = False
        self.published = 0
        self.dropped = 0

    # -- the binding and the topic names --

    def binding(self) -> dict[str, Any]:
        """The ``MQTT`` member of the notifiers response."""
        authentication = ({"method": "OAUTH2_BEARER_TOKEN", "username": "{clientID}"} if self.acl
                          else {"method": "ANONYMOUS"})
        return {"URIS": list(self.uris), "serialization": "JSON", "authentication": authentication}

    def topics(self, principal: Principal, path: str) -> dict[str, Any]:
        """The ``notifierTopicsResponse`` of ``notifiers/mqtt/topics/{path}``; :class:`Oa3Error` 403 for a scope
        the token lacks, 404 for a path that names nothing, or an object the client may not read."""
        parts = [p for p in path.strip("/").split("/") if p]
        general = {("programs",): "read_all", ("events",): "read_bl", ("reports",): "read_bl",
                   ("subscriptions",): "read_bl", ("vens",): "read_bl", ("resources",): "read_bl"}
        key = tuple(parts)
        if key in general:
            self._require(principal, general[key])
            return {"topics": _operations(f"{PREFIX}/{parts[0]}")}
        if len(parts) in (2, 3) and parts[0] == "programs" and parts[2:] in ([], ["events"]):
            self._require(principal, "read_all")
            self.service.read(principal, "programs", parts[1])
            base = f"{PREFIX}/programs/{_level(parts[1])}"
            return {"topics": _operations(base, create=False) if len(parts) == 2 else _operations(f"{base}/events")}
        if len(parts) in (2, 3) and parts[0] == "vens" and parts[2:] in ([], ["events"], ["programs"], ["resources"]):
            self._require(principal, "read_ven_objects")
            self.service.read(principal, "vens", parts[1])
            base = f"{PREFIX}/vens/{_level(parts[1])}"
            return {"topics": _operations(base, create=False) if len(parts) == 2 else _operations(f"{base}/{parts[2]}")}
        raise Oa3Error(404, "Not Found", f"no MQTT topics for {path!r}: programs, programs/{{programID}}[/events], "
                                         "events, reports, subscriptions, vens, vens/{venID}[/events|/programs|"
                                         "/resources], resources")

    @staticmethod
    def _require(principal: Principal, scope: str) -> None:
        if not principal.allows(scope):
            raise Oa3Error(403, "Forbidden", f"the token does not grant {scope}", field="scope")

    # -- what is published --

    def _ven_copies(self, change: Oa3Change) -> list[str]:
        """The VENs that get their own copy of ``change``."""
        if change.object_type == "RESOURCE":
            return [str(change.object["venID"])]
        if change.object_type not in ("PROGRAM", "EVENT"):
            return []
        out: list[str] = []
        for stored in self.service.store.oadr_objects("oa3.ven"):
            ven: dict[str, Any] = orjson.loads(stored.document)
            owner = principal_of(self.clients, str(ven.get("clientID")), outside=self.outside)
            if owner is not None and self.service.visible_to(owner, change.object_type, change.object):
                out.append(str(ven["id"]))
        return out

    def on_change(self, change: Oa3Change) -> None:
        """Queue the change's publications (and, with ACLs, the change of a VEN client's topics)."""
        try:
            topics = change_topics(change, self._ven_copies(change))
        except (StoreError, ValueError, KeyError) as exc:
            log.warning("OpenADR 3 MQTT: %s %s %s not published: %s", change.operation, change.object_type,
                        change.object.get("id"), exc)
            return
        payload = orjson.dumps(notification(_without_tokens(change)))
        for topic in topics:
            self._put((topic, payload))
        if self.acl and change.object_type == "VEN" and change.operation in ("CREATE", "DELETE"):
            self._put(_Control("add-ven" if change.operation == "CREATE" else "remove-ven",
                               str(change.object.get("clientID")), ven_id=str(change.object["id"])))

    def token_issued(self, client_id: str, token: str, lifetime: float = 0.0) -> None:
        """With ACLs, the client's broker password becomes ``token``; when it expires (``lifetime`` seconds) and
        no newer token was issued, a random password replaces it (connections made with it stay up)."""
        if not self.acl:
            return
        self._latest[client_id] = token
        self._put(_Control("password", client_id, password=token))
        if lifetime > 0:
            asyncio.get_running_loop().call_later(lifetime, self._expire, client_id, token)

    def _expire(self, client_id: str, token: str) -> None:
        if self._latest.get(client_id) == token:
            del self._latest[client_id]
            self._put(_Control("password", client_id, password=secrets.token_urlsafe(24)))

    def watch_tokens(self, tokens: Tokens) -> None:
        """Hear every token the token endpoint issues (its broker password, see the module docstring)."""
        issue = tokens.issue

        def issue_and_tell(client_id: str, secret: str, scope: str | None = None) -> dict[str, Any]:
            answer = issue(client_id, secret, scope)
            self.token_issued(client_id, str(answer["access_token"]), float(answer.get("expires_in") or 0))
            return answer

        setattr(tokens, "issue", issue_and_tell)  # noqa: B010  (an instance attribute over the method)

    @property
    def idle(self) -> bool:
        """Nothing is waiting to be published or applied."""
        return self._queue.empty() and self._held is None

    def _put(self, item: tuple[str, bytes] | _Control) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("OpenADR 3 MQTT: %d waiting, %s dropped", self.MAX_QUEUE,
                        item[0] if isinstance(item, tuple) else f"{item.what} of {item.client_id}")

    # -- the connection --

    def _client(self, identifier: str, login: tuple[str, str] | None) -> aiomqtt.Client:
        username, password = login if login is not None else (None, None)
        return aiomqtt.Client(self.host, self.port, identifier=identifier, protocol=aiomqtt.ProtocolVersion.V5,
                              timeout=self.timeout, socket_options=SOCKET_OPTIONS, tls_context=self.tls,
                              username=username, password=password)

    async def run(self, stop: asyncio.Event, *, reconnect_delay: float = 0.5) -> None:
        """Publish until ``stop`` is set, connecting again (the delay doubling up to 5 s) when the connection is
        lost or cannot be made."""
        delay = reconnect_delay
        while not stop.is_set():
            try:
                await self._serve(stop)
                delay = reconnect_delay
            except (aiomqtt.MqttError, DynamicSecurityError) as error:
                # (before the first connection, the CTS bridge's start reports an unreachable broker)
                log.log(logging.WARNING if self.connected_once else logging.DEBUG,
                        "OpenADR 3 MQTT notifier: %s; connecting again in %.1f s", error, delay)
            finally:
                self.ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 5.0)

    async def _serve(self, stop: asyncio.Event) -> None:
        if not self.acl:
            async with self._client(f"oa3-notifier-{uuid.uuid4().hex}", self.login) as publisher:
                await self._pump(publisher, None, stop)
            return
        if self.login is None:
            raise DynamicSecurityError("MQTT access control needs the Dynamic Security administrator's login "
                                       "(--mqtt-user)")
        async with self._client(f"oa3-control-{uuid.uuid4().hex}", self.login) as control:
            await control.subscribe(RESPONSES, qos=1)
            reader = asyncio.create_task(self._answers(control))
            try:
                password = secrets.token_urlsafe(24)
                await self._setup(control, password)
                async with self._client(f"oa3-notifier-{uuid.uuid4().hex}", (PUBLISHER, password)) as publisher:
                    await self._pump(publisher, control, stop)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _pump(self, publisher: aiomqtt.Client, control: aiomqtt.Client | None, stop: asyncio.Event) -> None:
        self.connected_once = True
        self.ready.set()
        log.info("OpenADR 3 MQTT notifier on %s:%s%s", self.host, self.port, " with per-client ACLs" if control
                 else "")
        stopper = asyncio.create_task(stop.wait())
        try:
            while True:
                if self._held is None:
                    getter = asyncio.create_task(self._queue.get())
                    done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if getter not in done:
                        getter.cancel()
                        return
                    self._held = getter.result()
                item = self._held
                if isinstance(item, tuple):
                    await publisher.publish(item[0], item[1], qos=1)
                    self.published += 1
                elif control is not None:
                    await self._apply(control, item)
                self._held = None
        finally:
            stopper.cancel()

    # -- Dynamic Security --

    async def _answers(self, control: aiomqtt.Client) -> None:
        try:
            async for message in control.messages:
                self._dynsec.receive(message)
        except aiomqtt.MqttError as error:
            self._dynsec.abandon(error)

    async def _run(self, control: aiomqtt.Client, commands: list[dict[str, Any]],
                   tolerate: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return await self._dynsec.run(control, commands, tolerate=tolerate)

    @staticmethod
    def role_of(client_id: str) -> str:
        return f"transactive-openadr3-client-{client_id}"

    def _client_acls(self, client_id: str) -> list[dict[str, Any]] | None:
        """What a client's broker login may subscribe to (None: not a client that may log in)."""
        principal = principal_of(self.clients, client_id)
        if principal is None:
            return None
        if principal.role is Role.BL:
            return [_acl("subscribePattern", f"{PREFIX}/#")]
        ven_ids = self.service.principal(principal).ven_ids
        return [_acl("subscribePattern", f"{PREFIX}/vens/{v}/#") for v in sorted(ven_ids)]

    async def _ensure_client(self, control: aiomqtt.Client, client_id: str, password: str | None) -> None:
        """The client's role (its ACLs now) and login; ``password`` replaces the login's password (None: a new
        login gets a random one, an existing one keeps its own)."""
        acls = self._client_acls(client_id)
        role = self.role_of(client_id)
        if acls is None:
            await self._run(control, [{"command": "deleteClient", "username": client_id},
                                      {"command": "deleteRole", "rolename": role}], tolerate=("not found",))
            return
        commands: list[dict[str, Any]] = [{"command": "createRole", "rolename": role, "acls": acls}]
        commands += [{"command": "addRoleACL", "rolename": role, **acl} for acl in acls]
        commands.append({"command": "createClient", "username": client_id,
                         "password": password or secrets.token_urlsafe(24), "roles": [{"rolename": role}]})
        answers = await self._run(control, commands, tolerate=("already",))
        if answers[-1].get("error") and password is not None:
            await self._run(control, [{"command": "setClientPassword", "username": client_id, "password": password}])

    async def _setup(self, control: aiomqtt.Client, password: str) -> None:
        """At each connection: the publisher's login and every client's login and ACLs."""
        await self._run(control, [
            {"command": "createRole", "rolename": PUBLISHER, "acls": [_acl("publishClientSend", f"{PREFIX}/#")]},
            {"command": "addRoleACL", "rolename": PUBLISHER, **_acl("publishClientSend", f"{PREFIX}/#")},
        ], tolerate=("already",))
        answers = await self._run(control, [{"command": "createClient", "username": PUBLISHER, "password": password,
                                             "roles": [{"rolename": PUBLISHER}]}], tolerate=("already",))
        if answers[0].get("error"):
            await self._run(control, [{"command": "setClientPassword", "username": PUBLISHER, "password": password}])
        for record in self.clients.all():
            await self._ensure_client(control, record.client_id, None)

    async def _apply(self, control: aiomqtt.Client, item: _Control) -> None:
        if item.what == "password":
            await self._ensure_client(control, item.client_id, item.password)
            return
        acl = _acl("subscribePattern", f"{PREFIX}/vens/{item.ven_id}/#")
        if item.what == "add-ven":
            await self._run(control, [{"command": "addRoleACL", "rolename": self.role_of(item.client_id), **acl}],
                            tolerate=("already", "not found"))
        else:
            await self._run(control, [{"command": "removeRoleACL", "rolename": self.role_of(item.client_id),
                                       "acltype": acl["acltype"], "topic": acl["topic"]}],
                            tolerate=("not found",))


# ---- both, for the HTTP edge ----


@dataclass(slots=True)
class Notifiers:
    """The webhooks and, with a broker, the MQTT notifier (what :class:`~.openadr3_http.Oa3Options` calls
    ``notifiers``). :meth:`start` listens to the service and starts the tasks; :meth:`stop` ends them."""

    webhooks: Webhooks
    mqtt: MqttNotifier | None = None
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
        return self.mqtt.topics(principal, path)

    def deliveries(self) -> dict[str, Any]:
        return self.webhooks.deliveries()




def make_notifiers(options: Oa3Options, *, wall: Callable[[], datetime] = _utc_now,
                   mqtt: tuple[str, int] | None = None, login: tuple[str, str] | None = None,
                   tls: ssl.SSLContext | None = None, acl: bool = False) -> Notifiers:
    """The notifiers of the OpenADR 3 role (``options``, whose ``notifiers`` they become): webhooks, and MQTT
    through the broker at ``mqtt`` (``vtn serve --mqtt``, with ``--mqtt-user`` as ``login``, ``--mqtt-acl`` as
    ``acl``). Not started: :meth:`Notifiers.start`."""
    publisher = None
    if mqtt is not None:
        publisher = MqttNotifier(options.service, options.clients, mqtt[0], mqtt[1], login=login, tls=tls, acl=acl)
        if acl:
            publisher.watch_tokens(options.tokens)
    webhooks = Webhooks(options.service, options.clients, wall=wall)
    webhooks.outside = options.tokens.external is not None
    if publisher is not None:
        publisher.outside = webhooks.outside
    notifiers = Notifiers(webhooks, publisher)
    options.notifiers = notifiers
    return notifiers
