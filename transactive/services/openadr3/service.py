"""The OpenADR 3.1 objects of the VTN: programs, events, reports, subscriptions, VENs and resources, kept in
the VTN's store beside its CTS and OpenADR 2.0b state.

:class:`Oa3Service` is the whole API without HTTP: :meth:`~Oa3Service.create`, :meth:`~Oa3Service.read`,
:meth:`~Oa3Service.update`, :meth:`~Oa3Service.delete` and :meth:`~Oa3Service.search` for one collection
(``programs``, ``events``, ...), each for a :class:`~.access.Principal` (who asks, with which scopes). The HTTP
edge (:mod:`transactive.vtn.openadr3_http`) only parses and answers.

**What the VTN writes.** ``id`` (time ordered: ids sort in the order objects were made, which is the order of
every listing), ``createdDateTime``, ``modificationDateTime`` and ``objectType``; a report's and a
subscription's ``clientID`` (the token's client); a VEN's and a resource's ``clientID`` when a VEN client makes
them (the business logic names the client). What the client sends for those fields is replaced.

**What is refused** (an :class:`Oa3Error` with the HTTP status, a title, the field and the EI response code):
a body that does not satisfy the repaired specification (400, EI 454; ``null`` where the document does not
allow it counts as absent: the leniency :func:`transactive.schemas.openadr3.drop_forbidden_nulls` documents), a
reference to an object that does not exist or that the client may not see (an event's ``programID``, a report's
``eventID``, a resource's ``venID``: 400, EI 454), a second program, VEN, or resource of one VEN with the same
name (409, EI 409), a scope
the token does not hold (403, EI 463), an id that does not exist or is not visible to the client (404).

**Storage.** Each object is one row of the store's object table (kinds ``oa3.program``, ``oa3.event``, ...; the
row's index column holds the object's parent or owner: an event's programID, a resource's venID, the clientID
of reports, subscriptions and VENs), written in one store transaction before the reply; a storage fault is
:class:`~transactive.services.store.StoreUnavailableError` (the edge answers 503) and nothing was written.
Reads are answered from memory; when several processes share the store, each one's memory follows the others'
writes through :meth:`Oa3Service.object_changed`, and an id it does not know yet is looked up in the store
(an object made elsewhere can be read, changed and deleted at once; searches list it once its notice came).
Names (``programName``, ``venName``, ``resourceName``) are checked against memory: two processes that make the
same name within one notice's delay can both succeed (the store keeps no unique index of them).

**Deletes** take what depends on the object with it, in the same transaction: a program's events, a VEN's
resources (the specification lists no 409 for a delete; a listener hears each deletion).

**Changes** are told, after they are committed, to the listeners (:meth:`Oa3Service.listen`): the webhook and
MQTT notifiers and the market bridge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Reversible, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson

from transactive.errors import ResponseCode
from transactive.schemas.openadr3 import drop_forbidden_nulls, validate_body
from transactive.services.openadr3.access import SCOPES, Principal, Role
from transactive.services.openadr3.tables import Ids, Table, TableEntry, event_end
from transactive.services.store import OadrObject, Store

__all__ = ["COLLECTIONS", "SYSTEM", "Collection", "Oa3Change", "Oa3Error", "Oa3Service", "event_end"]

#: the VTN itself (the market bridge writes its programs and events as the business logic)
SYSTEM = Principal("transactive-vtn", Role.BL, frozenset(SCOPES))
#: the most objects one page holds (the specification's ``limit`` maximum) and the page size without ``limit``
MAX_LIMIT = 50


class Oa3Error(Exception):
    """A refused request: HTTP ``status``, a short ``title``, the ``detail`` naming the field, and the EI code."""

    def __init__(self, status: int, title: str, detail: str, *, field: str | None = None,
                 code: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.code = code if code is not None else _EI_CODE.get(status, status)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The specification's ``problem`` object (with the field and the EI response code as extensions)."""
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status,
                                "detail": self.detail, "responseCode": self.code}
        if self.field is not None:
            body["field"] = self.field
        if instance is not None:
            body["instance"] = instance
        return body


_EI_CODE = {400: int(ResponseCode.INVALID_DATA), 401: int(ResponseCode.NOT_AUTHORIZED),
            403: int(ResponseCode.NOT_AUTHORIZED), 404: int(ResponseCode.NOT_FOUND), 409: int(ResponseCode.CONFLICT),
            503: int(ResponseCode.SERVICE_UNAVAILABLE)}


def _invalid(detail: str, field: str) -> Oa3Error:
    return Oa3Error(400, "Bad Request", detail, field=field)


@dataclass(frozen=True, slots=True)
class Collection:
    """One collection of the API: its path segment, the ``objectType`` of its objects, the request schema, the
    scopes to read and write it, and the store kind."""

    name: str
    object_type: str
    request_schema: str
    read_scope: str
    write_scope: str
    #: the field that names the object uniquely (within its parent, for resources), or None
    unique: str | None = None

    @property
    def kind(self) -> str:
        return f"oa3.{self.object_type.lower()}"


COLLECTIONS: dict[str, Collection] = {c.name: c for c in (
    Collection("programs", "PROGRAM", "programRequest", "read_targets", "write_programs", "programName"),
    Collection("events", "EVENT", "eventRequest", "read_targets", "write_events"),
    Collection("reports", "REPORT", "reportRequest", "read_ven_objects", "write_reports"),
    Collection("subscriptions", "SUBSCRIPTION", "subscriptionRequest", "read_ven_objects", "write_subscriptions"),
    Collection("vens", "VEN", "venRequest", "read_ven_objects", "write_vens", "venName"),
    Collection("resources", "RESOURCE", "resourceRequest", "read_ven_objects", "write_vens", "resourceName"),
)}

_BY_KIND: dict[str, Collection] = {c.kind: c for c in COLLECTIONS.values()}

#: the query parameters each collection's search takes beside skip and limit (the specification's filters)
FILTERS: dict[str, tuple[str, ...]] = {
    "programs": ("targets",),
    "events": ("programID", "targets", "active"),
    "reports": ("programID", "eventID", "clientName"),
    "subscriptions": ("programID", "clientName", "objects"),
    "vens": ("venName", "targets"),
    "resources": ("resourceName", "venID", "targets"),
}


@dataclass(frozen=True, slots=True)
class Oa3Change:
    """A committed change: ``operation`` (CREATE, UPDATE, DELETE), the object's ``object_type`` and the object as
    stored (as it was before a DELETE)."""

    operation: str
    object_type: str
    object: dict[str, Any]


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _query_one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name) or ()
    if len(values) > 1:
        raise _invalid(f"{name} is given {len(values)} times: give it once", name)
    return values[0] if values else None


def _query_int(query: Mapping[str, Sequence[str]], name: str, default: int, maximum: int | None) -> int:
    text = _query_one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _invalid(f"{name} must be a whole number, not {text!r}", name) from None
    if value < 0 or (maximum is not None and value > maximum):
        bound = f"0 to {maximum}" if maximum is not None else "0 or more"
        raise _invalid(f"{name} must be {bound}, not {value}", name)
    return value


def _query_bool(query: Mapping[str, Sequence[str]], name: str) -> bool | None:
    text = _query_one(query, name)
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise _invalid(f"{name} must be true or false, not {text!r}", name)
    return text.lower() == "true"


def _equals(field: str, value: str) -> Callable[[TableEntry], bool]:
    return lambda entry: entry.obj.get(field) == value


class Oa3Service:
    """The OpenADR 3.1 API over ``store`` (see the module docstring). ``wall`` stamps the objects; ``now`` is the
    market's time, which decides whether an event is still ``active``."""

    def __init__(self, store: Store, *, wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 now: Callable[[], datetime] | None = None, read_only: str | None = None) -> None:
        self.store = store
        self.wall = wall
        self.now = now or wall
        self.read_only = read_only
        self._listeners: list[Callable[[Oa3Change], None]] = []
        #: client id -> (its VEN ids, the targets of those VENs and their resources); emptied by VEN writes
        self._ven_facts: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._tables: dict[str, Table] = {}
        self._new_id = Ids()

    # ---- listeners ----

    def listen(self, callback: Callable[[Oa3Change], None]) -> Callable[[], None]:
        """Call ``callback`` with every committed change; returns the function that stops it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _tell(self, change: Oa3Change) -> None:
        for callback in list(self._listeners):
            callback(change)

    # ---- who is asking ----

    def principal(self, principal: Principal) -> Principal:
        """``principal`` with its VEN ids and targets filled in (a VEN client's privacy needs them)."""
        if principal.is_bl:
            return principal
        facts = self._ven_facts.get(principal.client_id)
        if facts is None:
            vens = self._all(COLLECTIONS["vens"], principal.client_id)
            ids = frozenset(v["id"] for v in vens)
            targets = {t for v in vens for t in v.get("targets") or ()}
            for ven_id in ids:
                for obj in self._all(COLLECTIONS["resources"], ven_id):
                    targets.update(obj.get("targets") or ())
            facts = (ids, frozenset(targets))
            self._ven_facts[principal.client_id] = facts
        return Principal(principal.client_id, principal.role, principal.scopes, facts[0], facts[1])

    def vens_of(self, client_id: str) -> list[dict[str, Any]]:
        """The VEN objects of one client (copies; in the order they were made)."""
        return [entry.copy() for entry in self._table(COLLECTIONS["vens"]).entries(client_id, indexed=True)]

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription, as the service keeps it in memory (the notifiers match each change against them;
        no copies, since that is done for every write: read them, never change them)."""
        return [entry.obj for entry in self._table(COLLECTIONS["subscriptions"]).entries()]

    def program_named(self, name: str) -> dict[str, Any] | None:
        """The program whose ``programName`` is ``name`` (a copy; names are unique), or None."""
        found = next((e for e in self._table(COLLECTIONS["programs"]).entries() if e.obj.get("programName") == name),
                     None)
        return None if found is None else found.copy()

    def events_of(self, program_id: str) -> list[dict[str, Any]]:
        """The events of one program (copies; in the order they were made)."""
        return [entry.copy() for entry in self._table(COLLECTIONS["events"]).entries(program_id, indexed=True)]

    def latest(self, name: str, count: int) -> tuple[int, list[dict[str, Any]]]:
        """How many objects of the collection ``name`` there are, and copies of the latest ``count`` of them
        (newest last): what the operator's dashboard lists, without paging through all of them."""
        table = self._table(self._collection(name))
        entries = table.entries()
        newest = reversed(entries) if isinstance(entries, Reversible) else reversed(list(entries))
        return len(table.by_id), [entry.copy() for entry in islice(newest, count)][::-1]

    def ven_owners(self) -> list[tuple[str, str]]:
        """``(venID, clientID)`` of every VEN object (the MQTT notifier's per-VEN copies)."""
        return [(entry.obj["id"], str(entry.obj["clientID"])) for entry in self._table(COLLECTIONS["vens"]).entries()]

    def visible_to(self, principal: Principal, object_type: str, obj: dict[str, Any]) -> bool:
        """Whether ``principal`` may read ``obj`` (the notifiers ask this before telling a client of a change)."""
        return self.principal(principal).sees(object_type, obj)

    @staticmethod
    def _require(principal: Principal, scope: str) -> None:
        if not principal.allows(scope):
            raise Oa3Error(403, "Forbidden", f"the token does not grant {scope} (it grants "
                                             f"{' '.join(sorted(principal.scopes)) or 'nothing'})", field="scope")

    def _writable(self) -> None:
        if self.read_only is not None:
            raise Oa3Error(503, "Service Unavailable", f"the VTN refuses writes: {self.read_only}")

    # ---- storage ----
    # Reads are served from memory (:class:`Table` per kind, loaded from the store when first used); writes go
    # to the store in one transaction and, once it committed, to memory. Other processes' writes on a shared
    # store come in through object_changed (and an id memory does not know is looked up in the store).

    @staticmethod
    def _index(collection: Collection, obj: dict[str, Any]) -> str | None:
        if collection.name == "events":
            return str(obj["programID"])
        if collection.name == "resources":
            return str(obj["venID"])
        if collection.name in ("reports", "subscriptions", "vens"):
            return str(obj["clientID"])
        return None

    def _table(self, collection: Collection) -> Table:
        table = self._tables.get(collection.kind)
        if table is None:
            rows = self.store.oadr_objects(collection.kind)
            table = Table(TableEntry(orjson.loads(row.document), row.ven_id) for row in rows)
            self._tables[collection.kind] = table
        return table

    def _put(self, collection: Collection, obj: dict[str, Any]) -> TableEntry:
        """Write ``obj`` to the store (inside the caller's transaction); the entry to remember once committed."""
        entry = TableEntry(obj, self._index(collection, obj))
        self.store.put_oadr_object(OadrObject(collection.kind, obj["id"], entry.index, entry.json().decode(),
                                              self.wall()))
        return entry

    def _entry(self, collection: Collection, object_id: str) -> TableEntry | None:
        """The object ``object_id`` from memory or, when memory does not know it, from the store (another process
        made it and its notice has not arrived yet: it is remembered from now on)."""
        table = self._table(collection)
        entry = table.by_id.get(object_id)
        if entry is None:
            row = self.store.oadr_object(collection.kind, object_id)
            if row is not None:
                entry = TableEntry(orjson.loads(row.document), row.ven_id)
                table.put(entry)
        return entry

    def _stored(self, collection: Collection, object_id: str) -> dict[str, Any] | None:
        entry = self._entry(collection, object_id)
        return None if entry is None else entry.obj

    def forget(self) -> None:
        """Drop every table and VEN fact (memory could not be brought in line: the next use reads the store)."""
        self._tables.clear()
        self._ven_facts.clear()

    def object_changed(self, kind: str, object_id: str) -> bool:
        """Another process wrote or deleted the object ``(kind, object_id)`` (one of :data:`COLLECTIONS`' kinds):
        read it again from the store, or drop it, with its index entry and the VEN facts it feeds. False for a
        kind that is not one of these objects. Nothing is told to the listeners: the process that made the
        change told its own (the webhooks and MQTT hear of each change once). Idempotent."""
        collection = _BY_KIND.get(kind)
        if collection is None:
            return False
        table = self._tables.get(kind)
        if table is None and collection.name not in ("vens", "resources"):
            return True  # not loaded: the first use reads the store
        row = self.store.oadr_object(kind, object_id)
        entry = None if row is None else TableEntry(orjson.loads(row.document), row.ven_id)
        old = None if table is None else table.by_id.get(object_id)
        if table is not None:
            if entry is None:
                table.remove(object_id)
            else:
                table.put(entry)
        if collection.name in ("vens", "resources"):
            owners = {str(e.obj.get("clientID")) for e in (old, entry) if e is not None}
            if old is None and table is None:
                self._ven_facts.clear()  # (what it was is not known: any client may have counted it)
            for owner in owners:
                self._ven_facts.pop(owner, None)
        return True

    def _all(self, collection: Collection, index: str | None = None) -> list[dict[str, Any]]:
        entries = self._table(collection).entries(index, indexed=index is not None)
        return [entry.obj for entry in entries]

    # ---- the operations ----

    def _collection(self, name: str) -> Collection:
        found = COLLECTIONS.get(name)
        if found is None:
            raise Oa3Error(404, "Not Found", f"no collection {name!r}: {', '.join(COLLECTIONS)}")
        return found

    def read(self, principal: Principal, name: str, object_id: str) -> dict[str, Any]:
        """The object ``object_id`` of ``name`` (a copy); 404 when it does not exist or the client may not see it."""
        return self._read(principal, name, object_id).copy()

    def read_json(self, principal: Principal, name: str, object_id: str) -> bytes:
        """:meth:`read` as the JSON the API answers."""
        return self._read(principal, name, object_id).json()

    def _read(self, principal: Principal, name: str, object_id: str) -> TableEntry:
        collection = self._collection(name)
        self._require(principal, collection.read_scope)
        entry = self._entry(collection, object_id)
        if entry is None or not self.principal(principal).sees(collection.object_type, entry.obj):
            raise Oa3Error(404, "Not Found", f"no {collection.object_type.lower()} {object_id!r}", field="id")
        return entry

    def search(self, principal: Principal, name: str, query: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
        """One page of the objects of ``name`` the client may see that pass the query's filters (copies: the
        service keeps its own)."""
        return [entry.copy() for entry in self._search(principal, name, query)]

    def search_json(self, principal: Principal, name: str, query: Mapping[str, Sequence[str]]) -> bytes:
        """:meth:`search` as the JSON array the API answers (each object's JSON is made once and kept)."""
        return b"[" + b",".join(entry.json() for entry in self._search(principal, name, query)) + b"]"

    def _search(self, principal: Principal, name: str, query: Mapping[str, Sequence[str]]) -> list[TableEntry]:
        collection = self._collection(name)
        self._require(principal, collection.read_scope)
        known = {*FILTERS[name], "skip", "limit"}
        for key in query:
            if key not in known:
                raise _invalid(f"unknown query parameter {key!r}: {', '.join(sorted(known))}", key)
        skip = _query_int(query, "skip", 0, None)
        limit = _query_int(query, "limit", MAX_LIMIT, MAX_LIMIT)
        who = self.principal(principal)
        keep = self._filters(name, query)
        table = self._table(collection)
        if name == "events" and (program := _query_one(query, "programID")) is not None:
            entries = table.entries(program, indexed=True)
        elif name == "resources" and (ven := _query_one(query, "venID")) is not None:
            entries = table.entries(ven, indexed=True)
        elif name in ("vens", "reports", "subscriptions") and not who.is_bl:
            entries = table.entries(who.client_id, indexed=True)  # a VEN sees only its own of these
        else:
            entries = table.entries()
        page: list[TableEntry] = []
        seen = 0
        for entry in entries:
            if not who.sees(collection.object_type, entry.obj) or not keep(entry):
                continue
            if seen >= skip:
                if len(page) >= limit:
                    break
                page.append(entry)
            seen += 1
        return page

    def _filters(self, name: str, query: Mapping[str, Sequence[str]]) -> Callable[[TableEntry], bool]:
        tests: list[Callable[[TableEntry], bool]] = []
        targets = frozenset(query.get("targets") or ())
        if targets:
            tests.append(lambda e: not targets.isdisjoint(e.obj.get("targets") or ()))
        for field in ("venName", "resourceName", "clientName", "eventID"):
            if field in FILTERS[name]:
                value = _query_one(query, field)
                if value is not None:
                    tests.append(_equals(field, value))
        if name in ("reports", "subscriptions"):
            program = _query_one(query, "programID")
            if program is not None:
                if name == "subscriptions":
                    tests.append(lambda e: e.obj.get("programID") == program)
                else:
                    events = {e["id"] for e in self._all(COLLECTIONS["events"], program)}
                    tests.append(lambda e: e.obj.get("eventID") in events)
        if name == "subscriptions":
            wanted = frozenset(query.get("objects") or ())
            if wanted:
                tests.append(lambda e: any(not wanted.isdisjoint(op.get("objects") or ())
                                           for op in e.obj.get("objectOperations") or ()))
        if name == "events" and _query_bool(query, "active"):
            now = self.now()
            tests.append(lambda e: (end := e.event_end()) is None or end > now)
        if not tests:
            return lambda e: True
        if len(tests) == 1:
            return tests[0]
        return lambda e: all(test(e) for test in tests)

    def create(self, principal: Principal, name: str, body: Any) -> dict[str, Any]:
        collection = self._collection(name)
        self._require(principal, collection.write_scope)
        self._writable()
        who = self.principal(principal)
        request = self._checked(collection, body)
        stamp = _timestamp(self.wall())
        obj = {**request, "id": self._new_id(), "createdDateTime": stamp, "modificationDateTime": stamp,
               "objectType": collection.object_type}
        with self.store.transaction():
            obj = self._complete(collection, who, obj, None)
            entry = self._put(collection, obj)
        self._table(collection).put(entry)
        self._written(collection)
        self._tell(Oa3Change("CREATE", collection.object_type, entry.copy()))
        return entry.copy()

    def update(self, principal: Principal, name: str, object_id: str, body: Any) -> dict[str, Any]:
        collection = self._collection(name)
        self._require(principal, collection.write_scope)
        self._writable()
        who = self.principal(principal)
        request = self._checked(collection, body)
        with self.store.transaction():
            old = self._stored(collection, object_id)
            if old is None or not who.sees(collection.object_type, old):
                raise Oa3Error(404, "Not Found", f"no {collection.object_type.lower()} {object_id!r}", field="id")
            obj = {**request, "id": object_id, "createdDateTime": old["createdDateTime"],
                   "modificationDateTime": _timestamp(self.wall()), "objectType": collection.object_type}
            obj = self._complete(collection, who, obj, old)
            entry = self._put(collection, obj)
        self._table(collection).put(entry)
        self._written(collection)
        self._tell(Oa3Change("UPDATE", collection.object_type, entry.copy()))
        return entry.copy()

    def delete(self, principal: Principal, name: str, object_id: str) -> dict[str, Any]:
        collection = self._collection(name)
        self._require(principal, collection.write_scope)
        self._writable()
        who = self.principal(principal)
        with self.store.transaction():
            old = self._stored(collection, object_id)
            if old is None or not who.sees(collection.object_type, old):
                raise Oa3Error(404, "Not Found", f"no {collection.object_type.lower()} {object_id!r}", field="id")
            gone: list[tuple[Collection, dict[str, Any]]] = []
            children = {"programs": "events", "vens": "resources"}.get(name)
            if children is not None:  # a program's events and a VEN's resources go with it
                child = COLLECTIONS[children]
                for obj in self._all(child, object_id):
                    self.store.delete_oadr_object(child.kind, obj["id"])
                    gone.append((child, obj))
            self.store.delete_oadr_object(collection.kind, object_id)
        for child, obj in gone:
            self._table(child).remove(obj["id"])
        self._table(collection).remove(object_id)
        self._written(collection)
        for child, obj in gone:
            self._tell(Oa3Change("DELETE", child.object_type, obj))
        self._tell(Oa3Change("DELETE", collection.object_type, old))
        return old

    # ---- checks ----

    def _written(self, collection: Collection) -> None:
        if collection.name in ("vens", "resources"):
            self._ven_facts.clear()

    @staticmethod
    def _checked(collection: Collection, body: Any) -> dict[str, Any]:
        """The request body with forbidden nulls dropped, or 400 naming the first field that is wrong."""
        if not isinstance(body, dict):
            raise _invalid(f"the body must be a JSON object (a {collection.request_schema})", "$")
        clean, _dropped = drop_forbidden_nulls(collection.request_schema, body)
        problems = validate_body(collection.request_schema, clean)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise _invalid(f"{first.path}: {first.message}{more}", first.path)
        clean = dict(clean)
        clean.pop("objectType", None)  # the VTN writes it (a VEN or resource request's discriminator included)
        return clean

    def _complete(self, collection: Collection, who: Principal, obj: dict[str, Any],
                  old: dict[str, Any] | None) -> dict[str, Any]:
        """Fill in what the VTN writes, check references and uniqueness (inside the write's transaction)."""
        name = collection.name
        if name in ("reports", "subscriptions"):
            obj["clientID"] = who.client_id if old is None or not who.is_bl else old["clientID"]
        if name == "events":
            self._reference(who, "programs", obj["programID"], "programID")
        if name == "subscriptions" and obj.get("programID") is not None:
            self._reference(who, "programs", obj["programID"], "programID")
        if name == "reports":
            self._reference(who, "events", obj["eventID"], "eventID")
        if name == "vens":
            obj["clientID"] = self._owner(who, obj, old)
            obj["objectType"] = "VEN"
        if name == "resources":
            ven = self._reference(who, "vens", obj["venID"], "venID")
            obj["clientID"] = ven["clientID"]
            obj["objectType"] = "RESOURCE"
        if collection.unique is not None:
            self._unique(collection, obj, creating=old is None)
        return obj

    def _owner(self, who: Principal, obj: dict[str, Any], old: dict[str, Any] | None) -> str:
        """The clientID of a VEN object: a VEN client's own; the business logic names it (BL_VEN_REQUEST)."""
        given = obj.get("clientID")
        if who.is_bl:
            if not given:
                raise _invalid("the business logic names the VEN's client: clientID (a BL_VEN_REQUEST)", "clientID")
            return str(given)
        if given and given != who.client_id:
            raise Oa3Error(403, "Forbidden", f"a VEN client makes only its own VEN: clientID {given!r} is not "
                                             f"{who.client_id!r}", field="clientID")
        return who.client_id if old is None else str(old["clientID"])

    def _reference(self, who: Principal, name: str, object_id: object, field: str) -> dict[str, Any]:
        collection = COLLECTIONS[name]
        target = self._stored(collection, str(object_id))
        if target is None or not who.sees(collection.object_type, target):
            raise _invalid(f"{field}: no {collection.object_type.lower()} {object_id!r}", field)
        return target

    def _unique(self, collection: Collection, obj: dict[str, Any], *, creating: bool) -> None:
        """409 for a name taken in the collection (within the VEN, for resources); 400 for a new VEN, whose
        operation (POST /vens) lists no 409 in the specification."""
        field = collection.unique
        assert field is not None
        parent = obj["venID"] if collection.name == "resources" else None
        for other in self._all(collection, parent):
            if other["id"] != obj["id"] and other.get(field) == obj.get(field):
                where = f" of VEN {parent}" if parent is not None else ""
                detail = f"{field} {obj.get(field)!r} is taken{where} (by {other['id']})"
                if creating and collection.name == "vens":
                    raise Oa3Error(400, "Bad Request", detail, field=field, code=int(ResponseCode.CONFLICT))
                raise Oa3Error(409, "Conflict", detail, field=field)
