"""The gate scheduler's order and retries, on a fast market clock (an interval lasts 0.2 wall seconds) and a
service whose gate closing fails on purpose (a unit test of the loop: the real VTN is in
test_storage_serve.py). No gate is skipped, none is closed before an earlier one, a failed one is retried."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from transactive.protocol.clock import MarketClock, TimeMapping, system_clock
from transactive.protocol.market import MarketConfig
from transactive.services import GateResult, MemoryStore, VtnCore, VtnService
from transactive.services.store import StoreUnavailableError
from transactive.vtn.clock import GateScheduler

WALL_INTERVAL = 0.2  # wall seconds per 15-minute interval


class FlakyService(VtnService):
    """A real service in memory whose ``close_gate`` fails for chosen intervals a chosen number of times, and
    whose recovery can be made slow."""

    def __init__(self, config: MarketConfig, clock: MarketClock, failures: dict[datetime, int] | None = None,
                 recovery: float = 0.0, overdue: list[datetime] | None = None) -> None:
        super().__init__(VtnCore(config, MemoryStore(), clock))
        self.failures = dict(failures or {})
        self.recovery = recovery
        self.overdue = overdue or []
        self.attempts: list[datetime] = []
        self.closed: list[datetime] = []

    async def close_gate(self, interval_start: datetime, *, concurrency: int = 64) -> GateResult:
        self.attempts.append(interval_start)
        if self.failures.get(interval_start, 0) > 0:
            self.failures[interval_start] -= 1
            raise StoreUnavailableError("commit failed: database or disk is full")
        result = await super().close_gate(interval_start)
        self.closed.append(interval_start)
        return result

    def overdue_intervals(self) -> list[datetime]:
        return list(self.overdue)

    async def anchor_pending(self) -> None:
        await asyncio.sleep(self.recovery)


@pytest.fixture
def config() -> MarketConfig:
    return MarketConfig(market_context="urn:test:market", market_party_id="market", max_price=Decimal("10"))


@pytest.fixture
def clock(config: MarketConfig) -> MarketClock:
    return MarketClock(TimeMapping.for_market(config, WALL_INTERVAL, system_clock()))


async def run_for(scheduler: GateScheduler, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 5)


def consecutive(starts: list[datetime], interval: timedelta) -> bool:
    return starts == [starts[0] + n * interval for n in range(len(starts))]


async def test_a_failed_gate_is_retried_until_it_closes_and_later_gates_wait_for_it(config: MarketConfig,
                                                                                  clock: MarketClock) -> None:
    first = config.next_open_interval(clock())
    stuck = first + config.interval
    service = FlakyService(config, clock, failures={stuck: 5})
    scheduler = GateScheduler(service, config, clock, retry_first=0.02, retry_max=0.1)
    await run_for(scheduler, 12 * WALL_INTERVAL)
    assert service.attempts.count(stuck) == 6
    assert service.closed[:2] == [first, stuck]
    assert consecutive(service.closed, config.interval)  # in order, none skipped
    assert len(service.closed) >= 6
    attempted_before = service.attempts[:service.attempts.index(stuck) + 6]
    assert max(attempted_before) == stuck  # nothing later was tried while it failed
    assert scheduler.retrying is None
    assert scheduler.closed == len(service.closed)


async def test_gate_times_that_pass_during_recovery_are_closed_after_it_not_skipped(config: MarketConfig,
                                                                                   clock: MarketClock) -> None:
    first = config.next_open_interval(clock())
    overdue = [first - 3 * config.interval, first - 2 * config.interval]
    service = FlakyService(config, clock, recovery=4 * WALL_INTERVAL, overdue=overdue)
    scheduler = GateScheduler(service, config, clock, retry_first=0.02, retry_max=0.1)
    await run_for(scheduler, 9 * WALL_INTERVAL)
    assert service.closed[:2] == overdue  # recovery first, in interval order
    after = service.closed[2:]
    assert after[0] == first  # its gate passed while recovery ran: closed, not skipped
    assert consecutive(after, config.interval)
    assert len(after) >= 6


async def test_a_stop_during_retries_ends_the_loop_and_leaves_the_gate_to_the_next_start(
        config: MarketConfig, clock: MarketClock) -> None:
    first = config.next_open_interval(clock())
    service = FlakyService(config, clock, failures={first: 10_000})
    scheduler = GateScheduler(service, config, clock, retry_first=0.02, retry_max=0.05)
    await run_for(scheduler, 3 * WALL_INTERVAL)
    assert service.closed == []
    retrying: Any = scheduler.retrying
    assert (retrying.what, retrying.interval) == ("gate", first)
    assert retrying.attempts >= 2
    assert "full" in retrying.error
