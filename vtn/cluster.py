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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from transactive.codec import encode_json
from transactive.model import Model
from transactive.services.store import StoreError

if TYPE_CHECKING:
    import psycopg

    from transactive.services.pg_store import PgStore
    from transactive.services.settlement import Settlement
    from transactive.vtn.notices import NoticeBoard

__all__ = ["CHECK", "LEADER_LOCK", "NOTICE_KEEP", "SETTLE_MARGIN", "DeliverySettler", "Leadership", "NoticePublisher",
           "NoticeRelay", "process_name", "prune_notices"]

log = logging.getLogger("transactive.vtn.cluster")

#: the advisory lock whose holder is the leader (two int4 keys: class 0x7476 "tv", not the class 0x7478 of the
#: store's interval locks; 1: the market's duties)
LEADER_LOCK = (0x7476, 1)
#: how often a follower tries to take the lock, and the leader checks that its connection still holds it (s)
CHECK = 0.5
#: notices kept in the table for processes that lag behind (seconds)
NOTICE_KEEP = 600.0
#: rows a relay reads per query
_PAGE = 5000
#: how far before the newest delivery it has seen the leader looks for deliveries to settle (see DeliverySettler)
SETTLE_MARGIN = timedelta(minutes=5)


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
                # a lost connection fails this at once, a vanished server after the keepalive (~11 s); the
                # bound only catches a server that answers nothing at all: generous, since a long gate closure
                # holds up this event loop and must not pass for a lost lock
                await asyncio.wait_for(conn.execute("SELECT 1"), max(4 * self.check, 30.0))
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

        from transactive.services.pg_store import NOTICE_CHANNEL, OBJECT_CHANNEL

        while not stop.is_set():
            try:
                conn = await _connect(self.url)
            except (psycopg.Error, OSError) as exc:
                log.warning("notice relay: cannot reach the database (%s); trying again", exc)
                await _pause(stop, self.poll)
                continue
            try:
                await conn.execute(f"LISTEN {NOTICE_CHANNEL}")
                await conn.execute(f"LISTEN {OBJECT_CHANNEL}")
                self.ready.set()
                await self._catch_up(conn)  # what was written while nobody listened
                while not stop.is_set():
                    # wait for one notification (at most the poll interval), then take the others queued
                    for timeout, stop_after in ((self.poll, 1), (0.0, None)):
                        async for note in conn.notifies(timeout=timeout, stop_after=stop_after):
                            if note.channel == OBJECT_CHANNEL:
                                self._object(note.payload)
                    # read the notices table whether or not it was named: a notification can be lost with a
                    # connection, and this also bounds a notice's delay by the poll interval
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
                self.cursor = seq
                # (posted as written, JSON: the board keeps notices encoded)
                self.board.post_encoded(party_id, document.encode(), seq=self.epoch + seq)
                self.relayed += 1
            if len(rows) < _PAGE:
                return
            await asyncio.sleep(0)  # a big gate: let requests in between pages


async def prune_notices(url: str, stop: asyncio.Event, *, every: float = 60.0, keep: float = NOTICE_KEEP) -> None:
    """The leader's: every ``every`` seconds, delete the notices older than ``keep`` seconds (every process has
    relayed them long since; one that starts reads from the present on)."""
    import psycopg

    while not stop.is_set():
        try:
            conn = await _connect(url)
            try:
                cursor = await conn.execute("DELETE FROM notices WHERE created_at < now() - make_interval(secs => %s)",
                                            (keep,))
                if cursor.rowcount:
                    log.debug("%d notices older than %g s deleted", cursor.rowcount, keep)
            finally:
                await conn.close()
        except (psycopg.Error, OSError) as exc:
            log.warning("old notices not deleted (%s); tried again later", exc)
        await _pause(stop, every)


class DeliverySettler:
    """The leader settles the deliveries other processes stored (see the module docstring). At takeover it reads
    every delivery without a ``delivery`` or ``payment`` settlement step; from then on only those reported since
    :data:`SETTLE_MARGIN` before the newest one it has seen (a delivery commits a little after its report time),
    so that a pass does not walk every delivery ever made. A delivery that its settlement leaves as it was (the
    transaction in a state that takes no reading) is not tried again until the next takeover."""

    def __init__(self, url: str, settlement: Settlement, *, check: float = CHECK) -> None:
        self.url = url
        self.settlement = settlement
        self.check = check
        self.settled = 0  #: settlements run so far
        self._since: datetime | None = None  #: read deliveries reported from then on (None: all)
        self._stuck: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                conn = await _connect(self.url)
            except (psycopg.Error, OSError) as exc:
                log.warning("delivery settlement: cannot reach the database (%s); trying again", exc)
                await _pause(stop, max(self.check, 1.0))
                continue
            try:
                while not stop.is_set():
                    await self._pass(conn)
                    await _pause(stop, self.check)
            except (psycopg.Error, OSError) as exc:
                log.warning("delivery settlement: lost the database connection (%s); reconnecting", exc)
            finally:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()

    async def _pass(self, conn: psycopg.AsyncConnection[Any]) -> None:
        from transactive.ledger import LedgerUnavailableError
        from transactive.ledger.settlement import State
        from transactive.services.store import StoreUnavailableError

        cursor = await conn.execute(
            "SELECT d.transaction_id, d.reported_at FROM deliveries d WHERE d.reported_at >= %s AND NOT EXISTS "
            "(SELECT 1 FROM settlement_steps s WHERE s.transaction_id = d.transaction_id "
            "AND s.event IN ('delivery', 'payment')) ORDER BY d.reported_at LIMIT 1000",
            (self._since or datetime.min.replace(tzinfo=UTC),))
        rows = await cursor.fetchall()
        for transaction_id, reported_at in rows:
            if transaction_id in self._stuck:
                continue
            try:
                state = await self.settlement.on_delivery(transaction_id)
            except (StoreUnavailableError, LedgerUnavailableError) as exc:
                log.warning("settling %s failed (%s); it is tried again", transaction_id, exc)
                return  # (the watermark stays: the next pass starts here again)
            if state in (State.AGREED, State.ANCHORED):
                self._stuck.add(transaction_id)
            self.settled += 1
            newest = reported_at - SETTLE_MARGIN
            if self._since is None or newest > self._since:
                self._since = newest
