"""The OpenADR roles of several VTN processes on one store: each process's memory follows the others' writes.

Both OpenADR roles keep what they answer from in memory, and every write goes through
``Store.put_oadr_object`` / ``delete_oadr_object`` (kind, key). When several processes share the store
(PostgreSQL), the cluster code hears of every such write another process committed and calls
:func:`object_changed` with its kind and key; this module brings this process's memory in line, one object at
a time (one store read by key; nothing is ever reloaded whole). It must be called on the process's event loop
(the memories are not locked; the request handlers run there). It is idempotent: telling a process of its own
write changes nothing.

**What each role keeps in memory, and how it follows the store** (the audit):

OpenADR 2.0b (:mod:`transactive.services.oadr`, :mod:`.oadr_http`)

* ``OadrContext._vens`` (every registration, by venID) with its indexes ``_names`` (VEN name -> venIDs),
  ``_fingerprints`` (certificate -> venIDs: who a VEN is when it registers again or queries its registration)
  and ``_push`` (the active push VENs): kind ``ven`` -> read again and re-indexed, or dropped from every index;
  the VEN is marked dirty (its next poll looks: e.g. its METADATA report now waits). A venID memory lacks is
  looked up in the store before a message naming it is refused (``OadrContext.find_ven``), so a VEN that
  registered through another process is known at its first message here, before the notice arrives.
* ``OadrContext._events`` (the events that can still be distributed): kind ``event`` -> read again or dropped;
  the VENs it targets (before and after; every VEN when it targets all) are marked dirty.
* ``OadrContext.dirty`` (the VENs whose next poll must look for something): kinds ``ven``, ``event`` and
  ``outbox`` (a message queued for a VEN, key ``venID/...``) mark their VENs.
* ``OadrContext.plain_replies`` (per VEN, its "nothing waits" reply object): dropped with kind ``ven``; it
  holds only the venID and is only handed out after the VEN was checked active, so it cannot go stale.
* ``OadrEdge._plain`` (the encoded bytes of those reply objects): keyed by the reply object's identity, so it
  follows ``plain_replies``. ``OadrEdge._polls`` (decoded poll documents by their bytes): a pure function of
  the bytes, valid whatever the store holds (the "registered VEN" test only bounds what is kept).
* ``event_opt``, ``opt``, ``report_offer``, ``report_request``, ``delivered`` objects, the outbox contents,
  signature nonces and stored replies are read from the store at each use: nothing to follow.
* ``OadrService._pushing`` (the VENs with a push task) and the group-commit batcher: this process's own work.

OpenADR 3.1 (:mod:`transactive.services.openadr3`, :mod:`.openadr3_notify`, :mod:`.openadr3_mqtt`)

* ``Oa3Service._tables`` (per kind ``oa3.program``, ``oa3.event``, ``oa3.report``, ``oa3.subscription``,
  ``oa3.ven``, ``oa3.resource``: objects by id and by parent/owner index, their JSON and event ends): the
  object is read again (its index moves with it) or dropped. Listings stay in id order (an object made
  elsewhere may arrive after a later one made here: its dict is sorted again at the next listing). An id
  memory lacks is looked up in the store by read, update, delete and references, so an object made through
  another process can be used here at once; searches list it once its notice came. The subscriptions the
  webhooks match every change against are this table's: they follow it.
* ``Oa3Service._ven_facts`` (per client, its VEN ids and their targets: what a VEN client may see): kinds
  ``oa3.ven`` and ``oa3.resource`` drop the facts of the object's client (before and after the change).
* ``Clients._records`` (kind ``oa3.client``): read again or dropped; a client id memory lacks is looked up in
  the store by the token endpoint and by the token check, so a client made through another process gets and
  uses its tokens at once; a revocation made elsewhere holds here once its notice came.
* ``Tokens._checked`` (tokens already verified): only the signature check is remembered; the client's
  revocation is looked up in ``Clients`` at every request. The processes must share the token key
  (``DATA_DIR/openadr3-token.key``: one data directory) for one's tokens to hold at another.
* Webhook deliveries (kind ``oa3.delivery``) are durable rows; ``Webhooks._senders`` (one task per callback
  URL) is the sending process's: see the leader below. Dead letters (``oa3.delivery.dead``) are read from
  the store.
* The MQTT notifier's queue holds this process's own changes (each change is published once, by the process
  that made it, as each is told to the listeners of that process only). Its ``_latest`` (per client, the
  token this process made its broker password, replaced by a random one when it expires): each issue is
  recorded (kind ``oa3.broker_login``, a digest of the token); told that another process issued a newer one,
  this process forgets its own, so its expiry timer no longer replaces the newer password.
* ``MarketBridge``: finds its program by name in ``Oa3Service``'s memory (it follows the store); its tasks are
  this process's. ``ExternalKeys`` (an outside identity provider's JWKS) is fetched by each process itself.

**What runs in one process only** (the leader, :func:`set_leader`; a process nobody calls it for is the
leader, so a single process behaves as before):

* pushes to OpenADR 2.0b push VENs, with their retries (two senders would send a VEN its messages twice);
  every process marks VENs dirty as changes arrive, the leader also starts their pushes. A new leader marks
  every VEN dirty and sends what waits (what a leader that died had not sent).
* OpenADR 3 webhook sending and its retries (one sender per callback URL across the processes): every
  process records the deliveries of its own changes; the leader hears of them through
  :func:`object_changed` and sends them. A new leader resumes every pending delivery; a former leader's
  senders stop (one that is posting finishes and settles that delivery first).
* the market bridges' work at a gate closure: the OpenADR 2.0b ``ELECTRICITY_PRICE`` event and the OpenADR 3
  ``PRICE`` event with the pruning of old price events (each process would otherwise publish its own).
* Not gated: the metering of a ``USAGE`` report (it runs in the process that stored the report, once), the
  MQTT publications (once, by the process that made the change), the identity provider's key refresh (each
  process needs the keys).

**What a VEN sees when it polls a process other than the one it wrote to.** Everything it wrote is in the
store when its reply left; another process answers from the store for anything that needs a transaction
(polls with something waiting, every writing message), and from memory for a quiet poll and a query of its
registration. Its own registration is found at its first message (the venID is looked up). An event the
operator made on another process reaches the VEN's next poll once this process got the event's notice (the
delay of one ``NOTIFY``, milliseconds); a poll in between is answered "nothing waits" and the next one
brings the event. Likewise an OpenADR 3 object changed or deleted elsewhere is served in its former state
until the notice arrives; made elsewhere, it is found by id at once, and listed once the notice arrived.

**Limits** (not made consistent here, and why): uniqueness of names (2.0b ``oadrVenName``, OpenADR 3
``programName``/``venName``/``resourceName``) is checked against memory, so two processes making the same
name within one notice's delay can both succeed; only a unique index in the store could refuse the second.
MQTT broker logins: the expiry of a client's newest token is timed by the process that issued it; if that
process dies first, the expired token stays the client's broker password until the client fetches another
(the JWT itself is refused by the API all the same). Every process's MQTT notifier logs in as the same
publisher (``transactive-openadr3``) and sets its password when it connects, so two notifiers that reconnect
at once can refuse each other one attempt (each then tries again, the delay doubling up to 5 s).
"""

from __future__ import annotations

import asyncio
import logging

from transactive.services.openadr3.tokens import CLIENT_KIND
from transactive.services.store import StoreError
from transactive.vtn.oadr_http import OadrOptions
from transactive.vtn.openadr3_http import Oa3Options
from transactive.vtn.openadr3_notify import Notifiers, Webhooks

__all__ = ["object_changed", "set_leader"]

log = logging.getLogger("transactive.vtn.cluster")

#: the MQTT notifier's record of each client's broker password (``openadr3_mqtt.LOGIN_KIND``; that module needs
#: aiomqtt, imported only with a broker)
_LOGIN_KIND = "oa3.broker_login"
#: the 2.0b kinds whose change may give a push VEN something to be sent
_PUSH_KINDS = frozenset({"ven", "event", "outbox"})


def _webhooks(openadr3: Oa3Options) -> Webhooks | None:
    notifiers = openadr3.notifiers
    return notifiers.webhooks if isinstance(notifiers, Notifiers) else None


def _running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def object_changed(oadr: OadrOptions | None, openadr3: Oa3Options | None, kind: str, key: str) -> None:
    """Another process wrote or deleted the OpenADR object ``(kind, key)``: bring this process's memory in line
    with the store (see the module docstring). A kind no role keeps in memory is ignored. When the store cannot
    be read, the role's memory is dropped instead (reloaded from the store at its next use)."""
    if kind.startswith("oa3."):
        if openadr3 is not None:
            _oa3_changed(openadr3, kind, key)
        return
    if oadr is None:
        return
    service = oadr.service
    ctx = service.core.ctx
    try:
        known = ctx.object_changed(kind, key)
    except StoreError as exc:
        log.warning("OpenADR 2.0b: %s %s changed elsewhere and cannot be read (%s); caches dropped", kind, key, exc)
        ctx.forget()
        return
    if known and kind in _PUSH_KINDS and service.pusher is not None and service.leader and _running():
        service.schedule_pushes()


def _oa3_changed(openadr3: Oa3Options, kind: str, key: str) -> None:
    try:
        if kind == CLIENT_KIND:
            openadr3.clients.object_changed(key)
        elif not openadr3.service.object_changed(kind, key):
            webhooks = _webhooks(openadr3)
            if webhooks is not None and not webhooks.object_changed(kind, key) and kind == _LOGIN_KIND:
                mqtt = openadr3.notifiers.mqtt if isinstance(openadr3.notifiers, Notifiers) else None
                if mqtt is not None:
                    mqtt.login_changed(key)
    except StoreError as exc:
        log.warning("OpenADR 3: %s %s changed elsewhere and cannot be read (%s); memory dropped", kind, key, exc)
        if kind == CLIENT_KIND:
            openadr3.clients.forget(key)
        else:
            openadr3.service.forget()


def set_leader(oadr: OadrOptions | None, openadr3: Oa3Options | None, leader: bool) -> None:
    """Make this process the one that runs the background work (pushes, webhook sending, the market bridges'
    price events and pruning), or stop it running it (see the module docstring)."""
    if oadr is not None:
        oadr.service.lead(leader)
    if openadr3 is not None:
        if openadr3.bridge is not None:
            openadr3.bridge.leader = leader
        webhooks = _webhooks(openadr3)
        if webhooks is not None:
            webhooks.lead(leader)
