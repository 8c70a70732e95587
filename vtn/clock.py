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
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from transactive.protocol.clock import Clock, MarketClock, TimeMapping, system_clock
from transactive.protocol.market import MarketConfig
from transactive.services.gate import GateResult
from transactive.services.service import VtnService

__all__ = ["CLOCK_FILE", "GateScheduler", "load_mapping", "save_mapping", "saved_mapping"]

log = logging.getLogger("transactive.vtn.clock")

CLOCK_FILE = "clock.json"


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


class GateScheduler:
    """Closes each interval's gate on time (see the module docstring)."""

    def __init__(self, service: VtnService, config: MarketConfig, clock: MarketClock, *,
                 on_close: Callable[[GateResult], None] | None = None) -> None:
        self.service = service
        self.config = config
        self.clock = clock
        self.on_close = on_close
        self.last_closed: datetime | None = None
        self.closed = 0  #: gates closed by this scheduler

    def due_intervals(self) -> list[datetime]:
        """Intervals with open tenders whose gate time has passed (what a restart must close first)."""
        return self.service.overdue_intervals()

    async def _close(self, start: datetime) -> GateResult:
        result = await self.service.close_gate(start)
        self.last_closed = start
        self.closed += 1
        if self.on_close is not None:
            self.on_close(result)
        return result

    async def recover(self) -> list[datetime]:
        """Close overdue gates and anchor unanchored transactions; returns the intervals closed."""
        due = self.due_intervals()
        for start in due:
            log.info("closing overdue gate of interval %s", start.isoformat())
            await self._close(start)
        await self.service.anchor_pending()
        return due

    async def run(self, stop: asyncio.Event) -> None:
        """Recover, then close every interval's gate at its time until ``stop`` is set."""
        await self.recover()
        start = self.config.next_open_interval(self.clock())
        while not stop.is_set():
            delay = self.clock.seconds_until(self.config.gate_time(start))
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            try:
                await self._close(start)
            except Exception:  # keep the market running; the next start's recovery retries
                log.exception("closing the gate of %s failed", start.isoformat())
            start += self.config.interval

