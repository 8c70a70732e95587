"""The OpenADR 2.0b core's context: its settings, who is asking (:class:`Peer`), and typed access to the store
with the caches a poll needs to be answered without reading the events.

Caches (the VENs, with indexes by name and of the push VENs, and the events that can still be distributed)
are written through inside the request's transaction and dropped whenever a transaction fails
(:meth:`OadrContext.forget`), so they never hold what the store does not; they are rebuilt from the store on
the next read. ``dirty`` is the set of VENs
whose next poll must look for something to send (an event changed for them, a message waits in their
outbox); every VEN is dirty when the VTN starts.

**Several processes on one store.** Another process's writes reach these caches through
:meth:`OadrContext.object_changed` (one stored object at a time: the VEN or event is read again, or dropped, with
its indexes, and the VENs it concerns are marked dirty). A venID this process does not know yet is looked up in
the store before it is refused (:meth:`OadrContext.find_ven`): a VEN that registered through another process
is known here at its first message, before that process's notice arrives.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from transactive.model import Model
from transactive.protocol.clock import Clock
from transactive.protocol.errors import NotAuthorizedError
from transactive.protocol.oadr import DEFAULT_POLL
from transactive.services.oadr.records import EventRecord, OutboxRecord, R, Record, VenRecord
from transactive.services.store import OadrObject, Store

__all__ = ["ANONYMOUS_PEER", "OadrContext", "OadrSettings", "Peer"]

#: the kinds these services keep in the store only (read at each use: nothing in memory to bring in line)
_UNCACHED = frozenset({"event_opt", "opt", "report_offer", "report_request", "delivered"})

#: events that ended longer ago than this are no longer loaded into the cache (they stay in the store)
EVENT_MEMORY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OadrSettings:
    """How the VTN runs its OpenADR 2.0b services."""

    #: the VTN's id in every reply (``ei:vtnID``; not all lower case: openleadr refuses that)
    vtn_id: str = "TRANSACTIVE-VTN"
    market_context: str = "http://transactive.invalid/market"
    currency: str = "USD"
    poll_frequency: timedelta = DEFAULT_POLL
    #: refuse a message without a valid XML signature (463)
    require_signatures: bool = False
    #: VEN name -> the fingerprint of the certificate it must present; None: any VEN may register
    allowed_vens: dict[str, str] | None = None
    #: how long a signature's nonce is remembered (longer than the verifier accepts a timestamp)
    nonce_window: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        seconds = self.poll_frequency.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError("the poll frequency is a whole number of seconds, at least 1 (OpenADR durations)")


@dataclass(frozen=True, slots=True)
class Peer:
    """What the transport proved about the sender: the fingerprint of its TLS client certificate, of the
    certificate that signed the message, and whether the message was signed (and verified)."""

    tls_fingerprint: str | None = None
    signature_fingerprint: str | None = None
    #: the signature's ReplayProtect nonce and timestamp (recorded with the message's effects)
    nonce: str | None = None
    signed_at: datetime | None = None

    @property
    def signed(self) -> bool:
        return self.signature_fingerprint is not None

    def fingerprint(self) -> str | None:
        """The sender's certificate fingerprint (TLS first); 463 when its TLS and signing certificates differ."""
        if self.tls_fingerprint and self.signature_fingerprint and self.tls_fingerprint != self.signature_fingerprint:
            raise NotAuthorizedError("the message is signed with another certificate than the TLS client's",
                                     field="ds:Signature")
        return self.tls_fingerprint or self.signature_fingerprint


ANONYMOUS_PEER = Peer()


def new_id(prefix: str) -> str:
    """A fresh unguessable id (a venID also authenticates a VEN that has no certificate)."""
    return f"{prefix}{secrets.token_hex(12)}"


@dataclass
class OadrContext:
    """Settings, store and clock, with typed record access and the poll caches."""

    settings: OadrSettings
    store: Store
    clock: Clock
    _vens: dict[str, VenRecord] | None = field(default=None, repr=False)
    _events: dict[str, EventRecord] | None = field(default=None, repr=False)
    #: with ``_vens``: VEN name -> the venIDs of every registration by that name, in registration order
    _names: dict[str, list[str]] = field(default_factory=dict, repr=False)
    #: with ``_vens``: certificate fingerprint -> the venIDs bound to it, in registration order
    _fingerprints: dict[str, list[str]] = field(default_factory=dict, repr=False)
    #: with ``_vens``: the venIDs of the active push VENs (an ordered set)
    _push: dict[str, None] = field(default_factory=dict, repr=False)
    #: VENs whose next poll looks for something to send (None: all, as after a start)
    dirty: set[str] | None = field(default=None, repr=False)
    #: per venID, the reply to its polls while nothing waits (one object, so the edge can keep its bytes)
    plain_replies: dict[str, Model] = field(default_factory=dict, repr=False)

    def now(self) -> datetime:
        return self.clock()

    # -- records --
    def get(self, cls: type[R], key: str) -> R | None:
        obj = self.store.oadr_object(cls.KIND, key)
        return None if obj is None else cls.load(obj.document)

    def put(self, record: Record, key: str, ven_id: str | None) -> None:
        self.store.put_oadr_object(OadrObject(record.KIND, key, ven_id, record.dump(), self.now()))

    def all(self, cls: type[R], *, ven_id: str | None = None) -> list[R]:
        return [cls.load(o.document) for o in self.store.oadr_objects(cls.KIND, ven_id=ven_id)]

    # -- VENs --
    def vens(self) -> dict[str, VenRecord]:
        """Every VEN ever registered, by venID (cached)."""
        if self._vens is None:
            self._vens = {v.ven_id: v for v in self.all(VenRecord)}
            self._names, self._fingerprints, self._push = {}, {}, {}
            for ven in self._vens.values():
                self._index(ven, None)
        return self._vens

    def find_ven(self, ven_id: str | None) -> VenRecord | None:
        """The registration ``ven_id`` names (active or not), from memory or, when memory does not know it, from
        the store (another process registered it; it is remembered, indexed and dirty from then on)."""
        if not ven_id:
            return None
        vens = self.vens()
        ven = vens.get(ven_id)
        if ven is None:
            ven = self.get(VenRecord, ven_id)
            if ven is not None:
                vens[ven_id] = ven
                self._index(ven, None)
                self.mark(ven_id)
        return ven

    def _index(self, ven: VenRecord, old: VenRecord | None) -> None:
        """Keep the name and push indexes in step with ``ven`` (which replaces ``old``)."""
        if old is not None and old.fingerprint is not None and old.fingerprint != ven.fingerprint:
            self._unbind(old)
        if old is not None and old.ven_name != ven.ven_name:
            ids = self._names.get(old.ven_name, [])
            if ven.ven_id in ids:
                ids.remove(ven.ven_id)
            if not ids:
                self._names.pop(old.ven_name, None)
        ids = self._names.setdefault(ven.ven_name, [])
        if ven.ven_id not in ids:
            ids.append(ven.ven_id)
        if ven.fingerprint is not None:  # bound for good: it only ever goes from None to a value
            bound = self._fingerprints.setdefault(ven.fingerprint, [])
            if ven.ven_id not in bound:
                bound.append(ven.ven_id)
        if ven.active and not ven.http_pull_model and ven.transport_address:
            self._push[ven.ven_id] = None
        else:
            self._push.pop(ven.ven_id, None)

    def _unbind(self, ven: VenRecord) -> None:
        assert ven.fingerprint is not None
        bound = self._fingerprints.get(ven.fingerprint, [])
        if ven.ven_id in bound:
            bound.remove(ven.ven_id)
        if not bound:
            self._fingerprints.pop(ven.fingerprint, None)

    def _drop(self, ven: VenRecord) -> None:
        """Forget a VEN whose record is gone from the store, with every index entry of it."""
        assert self._vens is not None
        self._vens.pop(ven.ven_id, None)
        ids = self._names.get(ven.ven_name, [])
        if ven.ven_id in ids:
            ids.remove(ven.ven_id)
        if not ids:
            self._names.pop(ven.ven_name, None)
        if ven.fingerprint is not None:
            self._unbind(ven)
        self._push.pop(ven.ven_id, None)
        if self.dirty is not None:
            self.dirty.discard(ven.ven_id)

    def put_ven(self, ven: VenRecord) -> None:
        self.put(ven, ven.ven_id, ven.ven_id)
        vens = self.vens()
        old = vens.get(ven.ven_id)
        vens[ven.ven_id] = ven
        self._index(ven, old)

    def active_by_name(self, name: str) -> VenRecord | None:
        vens = self.vens()
        for ven_id in self._names.get(name, ()):
            ven = vens[ven_id]
            if ven.active:
                return ven
        return None

    def active_by_fingerprint(self, fingerprint: str) -> VenRecord | None:
        """The first active registration bound to the certificate ``fingerprint``."""
        vens = self.vens()
        for ven_id in self._fingerprints.get(fingerprint, ()):
            ven = vens[ven_id]
            if ven.active:
                return ven
        return None

    def push_vens(self) -> list[VenRecord]:
        """The active push VENs (``oadrHttpPullModel`` false, with a transport address)."""
        vens = self.vens()
        return [vens[ven_id] for ven_id in self._push]

    def ven(self, ven_id: str | None, peer: Peer, field: str = "ei:venID") -> VenRecord:
        """The active registration ``ven_id`` names, if ``peer`` may speak for it; else 463 naming ``field``."""
        ven = self.find_ven(ven_id)
        if ven is None or not ven.active:
            raise NotAuthorizedError(f"venID {ven_id!r} is not registered with this VTN", field=field)
        self.check_fingerprint(ven, peer)
        return ven

    def check_fingerprint(self, ven: VenRecord, peer: Peer) -> None:
        presented = peer.fingerprint()
        if ven.fingerprint is not None and presented != ven.fingerprint:
            what = "no certificate" if presented is None else f"certificate {presented}"
            raise NotAuthorizedError(f"VEN {ven.ven_name!r} is bound to certificate {ven.fingerprint}; this "
                                     f"message came with {what}", field="ei:venID")

    # -- events --
    def events(self) -> dict[str, EventRecord]:
        """The events that can still be distributed (not ended more than a day ago), by eventID (cached)."""
        if self._events is None:
            horizon = self.now() - EVENT_MEMORY
            self._events = {e.event_id: e for e in self.all(EventRecord) if e.end > horizon}
        return self._events

    def put_event(self, event: EventRecord) -> None:
        self.put(event, event.event_id, None)
        self.events()[event.event_id] = event
        if event.targets is None:
            self.dirty = None
        else:
            self.mark(*event.targets)

    # -- outbox --
    def queue(self, ven_id: str, document: bytes) -> None:
        """Keep a message for the VEN's next poll (or push)."""
        existing = self.store.oadr_objects(OutboxRecord.KIND, ven_id=ven_id)
        seq = 1 + max((OutboxRecord.load(o.document).seq for o in existing), default=0)
        record = OutboxRecord(ven_id=ven_id, seq=seq, document=document.decode(), queued_at=self.now())
        # the random tail: two processes that queue for one VEN at once take the same sequence number (each
        # reads the outbox before the other committed); their messages must both be kept
        self.put(record, f"{ven_id}/{seq:012d}-{secrets.token_hex(4)}", ven_id)
        self.mark(ven_id)

    def mark(self, *ven_ids: str) -> None:
        if self.dirty is not None:
            self.dirty.update(ven_ids)

    def is_dirty(self, ven_id: str) -> bool:
        return self.dirty is None or ven_id in self.dirty

    def clean(self, ven_id: str) -> None:
        if self.dirty is None:
            self.dirty = {v.ven_id for v in self.vens().values() if v.active}
        self.dirty.discard(ven_id)

    # -- another process wrote --
    def object_changed(self, kind: str, key: str) -> bool:
        """Another process wrote or deleted the object ``(kind, key)``: bring the caches in line with the store
        (read it again, or drop it with its index entries) and mark the VENs it concerns dirty. False for a
        kind these services do not keep. Idempotent (a process told of its own write changes nothing)."""
        if kind == VenRecord.KIND:
            self._ven_changed(key)
        elif kind == EventRecord.KIND:
            self._event_changed(key)
        elif kind == OutboxRecord.KIND:
            self.mark(key.split("/", 1)[0])  # (its key is venID/sequence)
        elif kind not in _UNCACHED:
            return False
        return True

    def _ven_changed(self, ven_id: str) -> None:
        self.plain_replies.pop(ven_id, None)
        self.mark(ven_id)  # e.g. its METADATA report now waits: its next poll looks
        if self._vens is None:
            return  # nothing cached: the next read loads it from the store
        ven = self.get(VenRecord, ven_id)
        old = self._vens.get(ven_id)
        if ven is None:
            if old is not None:
                self._drop(old)
            return
        self._vens[ven_id] = ven
        self._index(ven, old)

    def _event_changed(self, event_id: str) -> None:
        event = self.get(EventRecord, event_id)
        old = None if self._events is None else self._events.get(event_id)
        if self._events is not None:
            if event is None or event.end <= self.now() - EVENT_MEMORY:
                self._events.pop(event_id, None)
            else:
                self._events[event_id] = event
        for version in (old, event):
            if version is None:
                continue
            if version.targets is None:
                self.dirty = None
            else:
                self.mark(*version.targets)

    def forget(self) -> None:
        """Drop the caches (a transaction failed: they may hold what was rolled back)."""
        self._vens = None
        self._names, self._fingerprints, self._push = {}, {}, {}
        self._events = None
        self.dirty = None
        self.plain_replies = {}
