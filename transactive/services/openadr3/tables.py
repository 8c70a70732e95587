"""The OpenADR 3 service's objects in memory (:class:`Table`, one per kind, of :class:`TableEntry`), the ids it
gives them (:class:`Ids`) and when an event is over (:func:`event_end`); :class:`~.service.Oa3Service` keeps
them in step with the store, also with the writes of other processes sharing it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from transactive.protocol.openadr3 import duration_of, time_of

__all__ = ["Ids", "Table", "TableEntry", "event_end"]


def _duration(text: object) -> timedelta | None:
    """An ISO 8601 duration; None for ``P9999Y`` ("for ever") and for text that is not a duration."""
    if not isinstance(text, str):
        return None
    try:
        return duration_of(text.strip())
    except (ValueError, OverflowError):
        return None


def event_end(event: Mapping[str, Any]) -> datetime | None:
    """When an event is over: the latest end of its intervals (each interval's own ``intervalPeriod``, or the
    event's, the n-th interval following the (n-1)-th); None when that is unknown or never (no duration,
    ``P9999Y``, or an end past the year 9999): such an event counts as active. A year counts 365 days and a
    month 30."""
    try:
        return _event_end(event)
    except OverflowError:  # (e.g. two intervals of P5000Y: the second ends after what a datetime can hold)
        return None


def _event_end(event: Mapping[str, Any]) -> datetime | None:
    default = event.get("intervalPeriod") or {}
    start = time_of(default.get("start"))
    length = _duration(default.get("duration")) if "duration" in default else None
    end: datetime | None = None
    intervals = event.get("intervals") or []
    for n, interval in enumerate(intervals):
        own = interval.get("intervalPeriod") if isinstance(interval, dict) else None
        if own:
            begin, span = time_of(own.get("start")), _duration(own.get("duration", default.get("duration")))
        else:
            begin = None if start is None or length is None else start + n * length
            span = length
        if begin is None or span is None:
            return None
        end = begin + span if end is None else max(end, begin + span)
    if not intervals and start is not None and length is not None:
        end = start + length
    return end


class Ids:
    """Time ordered ids: milliseconds since the epoch (12 hex digits), a counter that keeps them increasing
    within one millisecond (4 hex digits), and 32 random bits (processes that share a store make ids in the same
    millisecond with the same counter: the random part keeps them apart). Listings are in id order, which is then
    the order the objects were made, in this process and after a restart alike."""

    def __init__(self) -> None:
        self._last = (0, 0)

    def __call__(self) -> str:
        ms = int(time.time() * 1000)
        last_ms, count = self._last
        self._last = (last_ms, count + 1) if ms <= last_ms else (ms, 0)
        ms, count = self._last
        return f"{ms:012x}{count:04x}{secrets.token_hex(4)}"


@dataclass(slots=True)
class TableEntry:
    """One object in memory: the object (never changed in place), its index value (see :meth:`Oa3Service._index`),
    and, made when first needed, its JSON and (events) when it is over."""

    obj: dict[str, Any]
    index: str | None
    data: bytes | None = None
    end: datetime | None = None
    end_known: bool = False

    def json(self) -> bytes:
        if self.data is None:
            self.data = orjson.dumps(self.obj)
        return self.data

    def copy(self) -> dict[str, Any]:
        """The object, for a caller to keep or change."""
        value: dict[str, Any] = orjson.loads(self.json())
        return value

    def event_end(self) -> datetime | None:
        if not self.end_known:
            self.end, self.end_known = event_end(self.obj), True
        return self.end


class Table:
    """One kind's objects in memory, by id (in id order) and by index value.

    The dicts keep insertion order, which is id order while each new object has a larger id than those before
    it (ids grow with time). An object another process made can arrive after a later one of this process: then
    the dict it went into is put in id order again when it is next listed (once per such arrival, not per
    listing)."""

    def __init__(self, entries: Iterable[TableEntry]) -> None:
        self.by_id: dict[str, TableEntry] = {}
        self.by_index: dict[str | None, dict[str, TableEntry]] = {}
        #: out of id order: the whole table, and the index values whose dicts are
        self._unsorted = False
        self._unsorted_indexes: set[str | None] = set()
        for entry in entries:
            self.put(entry)

    def put(self, entry: TableEntry) -> None:
        object_id = entry.obj["id"]
        old = self.by_id.get(object_id)
        if old is not None and old.index != entry.index:
            self.by_index.get(old.index, {}).pop(object_id, None)
        if old is None and self.by_id and next(reversed(self.by_id)) > object_id:
            self._unsorted = True
        self.by_id[object_id] = entry
        bucket = self.by_index.setdefault(entry.index, {})
        if object_id not in bucket and bucket and next(reversed(bucket)) > object_id:
            self._unsorted_indexes.add(entry.index)
        bucket[object_id] = entry

    def remove(self, object_id: str) -> None:
        old = self.by_id.pop(object_id, None)
        if old is not None:
            self.by_index.get(old.index, {}).pop(object_id, None)

    def entries(self, index: str | None = None, *, indexed: bool = False) -> Iterable[TableEntry]:
        """Every entry in id order, or (``indexed``) those whose index value is ``index``."""
        if not indexed:
            if self._unsorted:
                self.by_id = dict(sorted(self.by_id.items()))
                self._unsorted = False
            return self.by_id.values()
        if index in self._unsorted_indexes:
            self._unsorted_indexes.discard(index)
            if index in self.by_index:
                self.by_index[index] = dict(sorted(self.by_index[index].items()))
        return self.by_index.get(index, {}).values()
