"""The MQTT notifier of the OpenADR 3.1 role (``vtn serve --mqtt``): every committed change published on the
broker, and per-client broker logins with ACLs.

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
already made stay up), and a revoked client's login is deleted when it is revoked. Of several processes on one
store, each records which token it made a client's password (kind :data:`LOGIN_KIND`, a digest of the token):
a process that hears another issued the client a newer one (:meth:`MqttNotifier.login_changed`) leaves the
expiry to that process instead of replacing the newer password. A VEN client's login may
subscribe to ``vens/{venID}/#`` of its own VENs only (the ACL grows and shrinks as its VEN objects are made and
deleted); a business-logic client's to everything under ``OpenADR/3.1.0/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiomqtt
import orjson

from transactive.services.openadr3 import Clients, Oa3Change, Oa3Error, Oa3Service, Principal, Role, Tokens
from transactive.services.openadr3.notification import notification, principal_of
from transactive.services.store import OadrObject, StoreError
from transactive.transport.mqtt import SOCKET_OPTIONS
from transactive.vtn.mqtt_acl import RESPONSES, DynamicSecurity, DynamicSecurityError

__all__ = ["PREFIX", "PUBLISHER", "MqttNotifier", "change_topics"]

log = logging.getLogger("transactive.vtn.openadr3")

#: the topic root of the MQTT notifier
PREFIX = "OpenADR/3.1.0"
#: the login the MQTT notifier publishes through when the broker keeps per-client ACLs
PUBLISHER = "transactive-openadr3"
#: the store kind of each client's broker password (a digest of the token that is it), keyed by client id
LOGIN_KIND = "oa3.broker_login"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

_PLURAL = {"PROGRAM": "programs", "EVENT": "events", "REPORT": "reports", "SUBSCRIPTION": "subscriptions",
           "VEN": "vens", "RESOURCE": "resources"}


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
        #: items queued and not yet published or applied (one taken from the queue counts until it is done)
        self._unsettled = 0
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
        for ven_id, client_id in self.service.ven_owners():
            owner = principal_of(self.clients, client_id, outside=self.outside)
            if owner is not None and self.service.visible_to(owner, change.object_type, change.object):
                out.append(ven_id)
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
        store = self.service.store
        try:
            with store.transaction():
                store.put_oadr_object(OadrObject(LOGIN_KIND, client_id, None, orjson.dumps(
                    {"token_sha256": _digest(token)}).decode(), self.service.wall()))
        except StoreError as exc:  # (the password is set; only another process's expiry timer may undo it)
            log.warning("OpenADR 3 MQTT: the broker password of %s not recorded: %s", client_id, exc)
        if lifetime > 0:
            asyncio.get_running_loop().call_later(lifetime, self._expire, client_id, token)

    def login_changed(self, client_id: str) -> None:
        """Another process made a token the client's broker password: this process no longer replaces that
        password when its own (older) token expires."""
        known = self._latest.get(client_id)
        if known is None:
            return
        row = self.service.store.oadr_object(LOGIN_KIND, client_id)
        if row is None or orjson.loads(row.document).get("token_sha256") != _digest(known):
            del self._latest[client_id]

    def _expire(self, client_id: str, token: str) -> None:
        if self._latest.get(client_id) == token:
            del self._latest[client_id]
            self._put(_Control("password", client_id, password=secrets.token_urlsafe(24)))

    def watch_tokens(self, tokens: Tokens) -> None:
        """Hear every token the token endpoint issues (its broker password, see the module docstring) and every
        revocation (the client's login is deleted at once)."""
        tokens.on_issue(self.token_issued)
        tokens.clients.on_revoke(lambda client_id: self._put(_Control("password", client_id)))

    @property
    def idle(self) -> bool:
        """Nothing is waiting to be published or applied."""
        return self._unsettled == 0

    def _put(self, item: tuple[str, bytes] | _Control) -> None:
        try:
            self._queue.put_nowait(item)
            self._unsettled += 1
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
                self._unsettled -= 1
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
