"""One VTN in several processes (on one machine or several) sharing one PostgreSQL database
(:class:`~transactive.services.pg_store.PgStore`): who holds the market's duties, and how what one process
does reaches the others.

Every process answers every request: the CTS services keep nothing in memory between requests, so a VEN may
reach any process (behind a load balancer, or ``--workers N`` sharing one port). The database keeps them
consistent: a request is one database transaction, idempotency keys are unique keys (a duplicate written by
two processes at the same moment loses with :class:`~transactive.services.store.StoreConflictError`, answered
503, and is answered from the winner's reply when sent again), and tender acceptance and gate closure of one
interval are kept apart by :meth:`~transactive.services.store.Store.hold_interval`.

The market's duties (:class:`Leadership`)
    Gate closure on the market clock, anchoring and settlement on the ledger, the MQTT bridge and the link to
    a parent VTN run in exactly one process at a time: the *leader*, the process that holds the PostgreSQL
    advisory lock :data:`LEADER_LOCK` on a connection of its own. The others try to take the lock every
    ``check`` seconds (default :data:`CHECK`). A leader that dies (SIGKILL, a crash, a lost machine) loses its
    connection and so the lock: at once when its socket closes, after the TCP keepalive (about 11 s) when the
    machine vanishes; then the next process takes over, and its gate scheduler first closes every gate that
    came due meanwhile (closing is idempotent and serialised in the database: no gate is closed twice, see
    :mod:`transactive.vtn.clock`). A leader that loses its connection stops its duties before it tries again.
    Only the leader writes the ledger: with ``--ledger embedded`` the processes share one data directory
    (one machine, or a directory on shared storage), with ``--ledger evm`` they share the node.

    Deliveries reach any process and are stored there; the leader settles them (:class:`DeliverySettler`:
    every delivery whose settlement has not logged its ``delivery`` step, on a notification and every
    ``check`` seconds), as it would have done inline.

Notices (:class:`NoticePublisher`, :class:`NoticeRelay`)
    The notices the leader's gate closure sends are written to the table ``notices`` (one transaction per turn
    of the event loop) with a ``NOTIFY transactive_notices``; every process (the leader too) LISTENs, reads the
    rows after its cursor and posts them to its own :class:`~transactive.vtn.notices.NoticeBoard` under the
    same sequence number (``notice_epoch`` + row number), so a VEN's long-poll cursor means the same notice at
    every process. A process that starts reads from the present on; rows older than :data:`NOTICE_KEEP` are
    deleted by the leader. The leader is the only writer, one batch at a time, so rows commit in sequence
    order (a relay never skips a row that commits late).

Objects of the OpenADR roles
    A write of an OpenADR 2.0b or 3.1 object sends ``NOTIFY transactive_objects`` with its kind and key; every
    process hands it to :func:`transactive.vtn.shared_objects.object_changed`, which brings its in-memory
    copy in line with the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from transactive.codec import decode_json, encode_json
from transactive.model import Model
from transactive.services.store import StoreError

if TYPE_CHECKING:
    import psycopg

    from transactive.services.pg_store import PgStore
    from transactive.services.settlement import Settlement
    from transactive.vtn.notices import NoticeBoard

__all__ = ["CHECK", "LEADER_LOCK", "NOTICE_KEEP", "NOTICES_CHANNEL", "OBJECTS_CHANNEL", "DeliverySettler",
           "Leadership", "NoticePublisher", "NoticeRelay", "process_name"]

log = logging.getLogger("transactive.vtn.cluster")

#: the advisory lock whose holder is the leader (two int4 keys: the store's class 0x7478, 1 = the market's duties)
LEADER_LOCK = (0x7478, 1)
#: how often a follower tries to take the lock, and the leader checks that its connection still holds it (s)
CHECK = 0.5
#: the notification channels (see the module docstring; the store sends on them)
NOTICES_CHANNEL = "transactive_notices"
OBJECTS_CHANNEL = "transactive_objects"
#: notices kept in the table for processes that lag behind (seconds)
NOTICE_KEEP = 600.0
#: rows a relay reads per query
_PAGE = 5000


def process_name() -> str:
    """How this process names itself to the database and in the log: ``vtn@HOST:PID``."""
    return f"vtn@{socket.gethostname()}:{os.getpid()}"


async def _connect(url: str, *, keepalive: bool = False) -> psycopg.AsyncConnection[Any]:
    """An autocommit connection of its own (not the store's pool: it is held for as long as the process runs).
    ``keepalive``: both ends probe the TCP connection every 2 s after 5 s of silence, so that the server
    releases the leader's lock about 11 s after the leader's machine vanished without closing it."""
    import psycopg

    params: dict[str, Any] = {"autocommit": True, "application_name": process_name()[:63], "connect_timeout": 5}
    if keepalive:
        params.update(keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)
    conn = await psycopg.AsyncConnection.connect(url, **params)
    if keepalive:
        for name, value in (("tcp_keepalives_idle", 5), ("tcp_keepalives_interval", 2), ("tcp_keepalives_count", 3)):
            await conn.execute(f"SET {name} = {value}")
    return conn


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Leadership:
    """Takes the market's duties when this process gets the leader's lock and gives them up when it loses it
    (see the module docstring). ``on_gain`` starts the duties (if it raises, the lock is released and taken
    again later); ``on_loss`` stops them, and runs before the lock is released when the process stops."""

    def __init__(self, url: str, *, on_gain: Callable[[], Awaitable[None]], on_loss: Callable[[], Awaitable[None]],
                 check: float = CHECK) -> None:
        self.url = url
        self._on_gain = on_gain
        self._on_loss = on_loss
        self.check = check
        self.leader = False  #: whether this process holds the duties now
        self.terms = 0  #: how many times this process became the leader
        #: why the duties did not start the last time this process took the lock (None: they did)
        self.error: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: follow or lead, reconnecting after a lost connection."""
        import psycopg

        while not stop.is_set():
            try:
                conn = await _connect(self.url, keepalive=True)
            except (psycopg.Error, OSError) as exc:
                log.warning("cannot reach the database for the leader's lock (%s); trying again", exc)
                await _pause(stop, max(self.check, 1.0))
                continue
            try:
                await self._hold(conn, stop)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self.leader:
                    log.error("lost the connection that holds the leader's lock (%s): stopping the market's "
                              "duties", exc)
                else:
                    log.warning("lost the connection to the database (%s); trying again", exc)
            finally:
                await self._step_down()
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()
            await _pause(stop, self.check)

    async def _hold(self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.leader:
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", LEADER_LOCK)
                row = await cursor.fetchone()
                if row is not None and row[0]:
                    self.leader = True
                    self.terms += 1
                    log.info("%s is the leader: it closes the gates and writes the ledger", process_name())
                    try:
                        await self._on_gain()
                        self.error = None
                    except Exception as exc:
                        self.error = f"{type(exc).__name__}: {exc}"
                        log.exception("the market's duties did not start; releasing the leader's lock")
                        await self._step_down()
                        await conn.execute("SELECT pg_advisory_unlock(%s, %s)", LEADER_LOCK)
                        await _pause(stop, max(self.check, 1.0))
                        continue
            else:  # still connected, so still the holder (a session lock ends only with its session)
                await asyncio.wait_for(conn.execute("SELECT 1"), max(4 * self.check, 2.0))
            await _pause(stop, self.check)

    async def _step_down(self) -> None:
        if self.leader:
            self.leader = False
            try:
                await self._on_loss()
            except Exception:
                log.exception("stopping the market's duties failed")


class NoticePublisher:
    """The leader's notices into the ``notices`` table (a :meth:`VtnService.listen` callback): what is posted
    during one turn of the event loop is written in one transaction. A write that fails is logged and dropped
    (notices are a courtesy: a VEN reads missed transactions with ``eiRequestTransaction``)."""

    def __init__(self, store: PgStore) -> None:
        self.store = store
        self._pending: list[tuple[str, str]] = []
        self._flush: asyncio.Handle | None = None
        self.written = 0  #: notices written so far
        self.dropped = 0  #: notices lost to a failed write

    def post(self, party_id: str, notice: Model) -> None:
        self._pending.append((party_id, encode_json(notice).decode()))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        rows, self._pending, self._flush = self._pending, [], None
        try:
            with self.store.transaction():
                self.store.add_notices(rows)
            self.written += len(rows)
        except StoreError as exc:
            self.dropped += len(rows)
            log.warning("%d notices not written (%s): the VENs read their transactions with eiRequestTransaction",
                        len(rows), exc)


class NoticeRelay:
    """Reads the notices table and the object notifications into this process (see the module docstring).
    ``epoch`` turns a row's number into the board's sequence number; ``objects(kind, key)`` is told of every
    OpenADR object another process (or this one) wrote."""

    def __init__(self, url: str, board: NoticeBoard, *, epoch: int, cursor: int,
                 objects: Callable[[str, str], None] | None = None, poll: float = 1.0) -> None:
        self.url = url
        self.board = board
        self.epoch = epoch
        self.cursor = cursor  #: the last row read
        self.objects = objects
        self.poll = poll
        self.relayed = 0  #: notices posted to the board so far
        self.ready = asyncio.Event()  #: set once LISTEN is in place

    async def run(self, stop: asyncio.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                conn = await _connect(self.url)
            except (psycopg.Error, OSError) as exc:
                log.warning("notice relay: cannot reach the database (%s); trying again", exc)
                await _pause(stop, self.poll)
                continue
            try:
                await conn.execute(f"LISTEN {NOTICES_CHANNEL}")
                await conn.execute(f"LISTEN {OBJECTS_CHANNEL}")
                self.ready.set()
                await self._catch_up(conn)  # what was written while nobody listened
                while not stop.is_set():
                    notices = False
                    async for note in conn.notifies(timeout=self.poll, stop_after=1):
                        notices = notices or note.channel == NOTICES_CHANNEL
                        if note.channel == OBJECTS_CHANNEL:
                            self._object(note.payload)
                    # drain what else is queued without waiting
                    async for note in conn.notifies(timeout=0.0):
                        notices = notices or note.channel == NOTICES_CHANNEL
                        if note.channel == OBJECTS_CHANNEL:
                            self._object(note.payload)
                    # no notification within the poll interval: read anyway (a notification can be lost with a
                    # connection, and this also bounds the delay)
                    await self._catch_up(conn)
            except (psycopg.Error, OSError) as exc:
                log.warning("notice relay: lost the database connection (%s); reconnecting", exc)
            finally:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()
            await _pause(stop, self.poll)

    def _object(self, payload: str) -> None:
        if self.objects is None:
            return
        kind, _, key = payload.partition("\n")
        try:
            self.objects(kind, key)
        except Exception:
            log.exception("refreshing the OpenADR object %s %s failed", kind, key)

    async def _catch_up(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            cursor = await conn.execute("SELECT seq, party_id, document FROM notices WHERE seq > %s ORDER BY seq "
                                        "LIMIT %s", (self.cursor, _PAGE))
            rows = await cursor.fetchall()
            for seq, party_id, document in rows:
                try:
                    notice: Model = decode_json(document)
                except Exception:  # a row this version cannot read must not stop the others
                    log.exception("notice %d for %s cannot be read; skipped", seq, party_id)
                    continue
                finally:
                    self.cursor = seq
                self.board.post(party_id, notice, seq=self.epoch + seq)
                self.relayed += 1
            if len(rows) < _PAGE:
                return
            await asyncio.sleep(0)  # a big gate: let requests in between pages


class DeliverySettler:
    """The leader settles the deliveries other processes stored (see the module docstring)."""

    def __init__(self, url: str, settlement: Settlement, *, check: float = CHECK) -> None:
        self.url = url
        self.settlement = settlement
        self.check = check
        self.settled = 0  #: settlements run so far

    async def run(self, stop: asyncio.Event) -> None:
        import psycopg

        from transactive.ledger import LedgerUnavailableError
        from transactive.services.store import StoreUnavailableError

        while not stop.is_set():
            try:
                conn = await _connect(self.url)
            except (psycopg.Error, OSError) as exc:
                log.warning("delivery settlement: cannot reach the database (%s); trying again", exc)
                await _pause(stop, max(self.check, 1.0))
                continue
            try:
                while not stop.is_set():
                    cursor = await conn.execute(
                        "SELECT d.transaction_id FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM settlement_steps s "
                        "WHERE s.transaction_id = d.transaction_id AND s.event IN ('delivery', 'payment')) "
                        "ORDER BY d.transaction_id LIMIT 1000")
                    for (transaction_id,) in await cursor.fetchall():
                        try:
                            await self.settlement.on_delivery(transaction_id)
                            self.settled += 1
                        except (StoreUnavailableError, LedgerUnavailableError) as exc:
                            log.warning("settling %s failed (%s); it is tried again", transaction_id, exc)
                            break
                    await _pause(stop, self.check)
            except (psycopg.Error, OSError) as exc:
                log.warning("delivery settlement: lost the database connection (%s); reconnecting", exc)
            finally:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()
