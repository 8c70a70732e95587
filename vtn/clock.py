"""The market clock of a VTN's data directory and the gate scheduler of a running VTN.

Market time and wall time (:class:`~transactive.protocol.TimeMapping`, :class:`~transactive.protocol.MarketClock`)
    The services read *market time*. With ``--interval-seconds S`` one market interval (``I``, e.g. 15 min)
    lasts ``S`` wall-clock seconds: market time runs ``I / S`` times as fast as the wall clock. The mapping
    is fixed when a data directory is first used (``market_origin`` = the wall time then, rounded down to a
    whole interval) and saved in ``DATA_DIR/clock.json``, so a restarted VTN keeps the
    same market time line: market time keeps running while the VTN is down, exactly as wall time does.
    Restarting with another ``S`` re-anchors the line at the current market time (continuous, never
    backwards).

Gate closure (:class:`GateScheduler`)
    For each interval ``start``, at the wall time of ``config.gate_time(start)`` the scheduler calls
    :meth:`VtnService.close_gate`, which clears (once), writes the transactions, anchors them on the ledger
    and sends the notices. Restart safety: on start it first closes every interval that has open tenders and
    whose gate time has passed (in interval order), and anchors any transaction not anchored yet (a crash
    between clearing and anchoring); closing is idempotent, so nothing is cleared or anchored twice.

    No gate is skipped. The first interval the loop closes is fixed *before* recovery, and every interval
    from there on is closed in order: a gate time that passed during recovery, or while an earlier close
    was still running, is closed as soon as the loop gets to it. A close that fails (the store or the
    ledger unavailable, or anything else) is retried, with a backoff from ``retry_first`` doubling to
    ``retry_max`` seconds, until it succeeds or the VTN stops; later intervals wait for it (they are never
    closed before it). Each failed attempt is a warning in the log; :attr:`GateScheduler.retrying` says
    which gate is being retried (``GET /health`` shows it). The VTN keeps answering requests meanwhile.

    The log has one line per closed gate (INFO, logger ``transactive.vtn.clock``)::

        gate 2026-11-21T12:00:00+00:00 closed: 12 tenders, 8.5 kWh at 0.14, 6 transactions, 0.031 s

    (``0 kWh (no price)`` when nothing matched)

    (the duration is the close that succeeded) with ``, N attempts over S s`` when it was retried and
    ``, T s after its gate time`` when it was closed a second or more late (recovery, a retry, a busy loop).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from transactive.errors import TransactiveError
from transactive.protocol.clock import Clock, MarketClock, TimeMapping, system_clock
from transactive.protocol.market import MarketConfig
from transactive.services.gate import GateResult
from transactive.services.service import VtnService

__all__ = ["CLOCK_FILE", "GateRetry", "GateScheduler", "load_mapping", "save_mapping", "saved_mapping"]

log = logging.getLogger("transactive.vtn.clock")

CLOCK_FILE = "clock.json"

R = TypeVar("R")


def load_mapping(data_dir: Path, config: MarketConfig, interval_seconds: float | None,
                 wall: Clock = system_clock) -> TimeMapping:
    """The data directory's time mapping: the saved one, re-anchored if the speed changed, or a new one."""
    now = wall()
    speed = 1.0 if interval_seconds is None else config.interval.total_seconds() / interval_seconds
    mapping: TimeMapping | None = None
    saved = saved_mapping(data_dir)
    if saved is not None:
        # another speed: continue from the current market time at the new speed
        mapping = saved if abs(saved.speed - speed) < 1e-12 else TimeMapping(now, saved.market(now), speed)
    if mapping is None:
        mapping = TimeMapping.for_market(config, interval_seconds, now)
    if mapping != saved:
        save_mapping(data_dir, mapping)
    return mapping


def saved_mapping(data_dir: Path) -> TimeMapping | None:
    """The time mapping saved in the data directory, if any."""
    path = data_dir / CLOCK_FILE
    return TimeMapping.from_json(json.loads(path.read_text())) if path.exists() else None


def save_mapping(data_dir: Path, mapping: TimeMapping) -> None:
    """Keep ``mapping`` as the data directory's time line (durably: written beside it, fsynced, renamed)."""
    path = data_dir / CLOCK_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(mapping.to_json(), indent=1))
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)


@dataclass(frozen=True, slots=True)
class GateRetry:
    """A step of the scheduler that failed and is being retried: ``what`` (``"gate"``, ``"recovery"``),
    the interval (a gate) or None, how many attempts failed so far, and the last error."""

    what: str
    interval: datetime | None
    attempts: int
    error: str


class GateScheduler:
    """Closes each interval's gate on time, in order, retrying a failed one (see the module docstring)."""

    def __init__(self, service: VtnService, config: MarketConfig, clock: MarketClock, *,
                 on_close: Callable[[GateResult], None] | None = None, retry_first: float = 0.1,
                 retry_max: float = 5.0) -> None:
        self.service = service
        self.config = config
        self.clock = clock
        self.on_close = on_close
        self.retry_first = retry_first
        self.retry_max = max(retry_first, retry_max)
        self.last_closed: datetime | None = None
        self.closed = 0  #: gates closed by this scheduler
        self.retrying: GateRetry | None = None  #: what is being retried now, if anything

    def due_intervals(self) -> list[datetime]:
        """Intervals with open tenders whose gate time has passed (what a restart must close first)."""
        return self.service.overdue_intervals()

    async def _until_done(self, what: str, interval: datetime | None, call: Callable[[], Awaitable[R]],
                          stop: asyncio.Event) -> tuple[R, int, float] | None:
        """``call()`` until it succeeds: its result, the attempts it took and how long the last one took;
        None if ``stop`` was set first."""
        loop = asyncio.get_running_loop()
        delay = self.retry_first
        attempts = 0
        while True:
            attempts += 1
            began = loop.time()
            try:
                result = await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.retrying = GateRetry(what, interval, attempts, str(exc) or type(exc).__name__)
                label = f"{what} {interval.isoformat()}" if interval is not None else what
                if attempts == 1 and not isinstance(exc, TransactiveError):  # not a fault we know: a bug
                    log.exception("%s failed (attempt 1); retrying in %.2f s", label, delay)
                else:
                    log.warning("%s failed (attempt %d: %s); retrying in %.2f s", label, attempts,
                                self.retrying.error, delay)
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return None
                except TimeoutError:
                    pass
                delay = min(delay * 2, self.retry_max)
                continue
            self.retrying = None
            return result, attempts, loop.time() - began

    async def _close(self, start: datetime, stop: asyncio.Event) -> GateResult | None:
        """Close the gate of ``start``, retrying until it closes (None: stopped first); one log line."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        done = await self._until_done("gate", start, lambda: self.service.close_gate(start), stop)
        if done is None:
            return None
        result, attempts, seconds = done
        late = -self.clock.seconds_until(self.config.gate_time(start))
        price = "(no price)" if result.price is None else f"at {result.price}"
        extra = f", {attempts} attempts over {loop.time() - began:.1f} s" if attempts > 1 else ""
        if late >= 1.0:
            extra += f", {late:.1f} s after its gate time"
        log.info("gate %s closed: %d tenders, %s kWh %s, %d transactions, %.3f s%s", start.isoformat(),
                 result.tenders, result.quantity, price, len(result.transactions), seconds, extra)
        self.last_closed = start
        self.closed += 1
        if self.on_close is not None:
            self.on_close(result)
        return result

    async def recover(self, stop: asyncio.Event | None = None, *, before: datetime | None = None) -> list[datetime]:
        """Close overdue gates (those of intervals before ``before``, if given) in interval order and anchor
        unanchored transactions, each retried until it succeeds; returns the intervals closed (fewer if
        ``stop`` was set first)."""
        stop = stop if stop is not None else asyncio.Event()

        async def overdue() -> list[datetime]:
            return self.due_intervals()

        found = await self._until_done("recovery (reading overdue gates)", None, overdue, stop)
        if found is None:
            return []
        due = [s for s in found[0] if before is None or s < before]
        closed: list[datetime] = []
        for start in due:
            if await self._close(start, stop) is None:
                return closed
            closed.append(start)
        await self._until_done("recovery (anchoring pending transactions)", None, self.service.anchor_pending, stop)
        return closed

    async def run(self, stop: asyncio.Event) -> None:
        """Recover, then close every interval's gate, in order, from the first one still open when it
        started, until ``stop`` is set."""
        start = self.config.next_open_interval(self.clock())  # fixed now: gates passing during recovery count
        await self.recover(stop, before=start)
        while not stop.is_set():
            delay = self.clock.seconds_until(self.config.gate_time(start))
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            if await self._close(start, stop) is None:
                break
            start += self.config.interval
