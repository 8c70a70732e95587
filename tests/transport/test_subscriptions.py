"""The queue every transport's subscription shares (``QueuedSubscription``) and ``Subscription.follow``."""

from __future__ import annotations

import asyncio

import pytest

from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.transport import ConnectionFailedError, TransportClosedError, TransportTimeoutError
from transactive.transport.memory import MemorySubscription

NOTICE = EiRequestEiMarketContext(request_id="n-1", market_contexts=("urn:m",))


async def test_get_returns_notices_raises_put_errors_and_times_out() -> None:
    sub = MemorySubscription()
    sub.put(NOTICE)
    sub.put(ConnectionFailedError("lost"))
    assert sub.pending() == 2
    assert await sub.get() is NOTICE
    with pytest.raises(ConnectionFailedError, match="lost"):
        await sub.get()
    with pytest.raises(TransportTimeoutError):
        await sub.get(timeout=0.01)


async def test_close_wakes_a_waiting_reader_and_later_notices_are_dropped() -> None:
    closed: list[MemorySubscription] = []
    sub = MemorySubscription(closed.append)
    waiting = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    await sub.close()
    await sub.close()  # once is enough: the callback runs once
    with pytest.raises(TransportClosedError):
        await waiting
    sub.put(NOTICE)
    assert sub.pending() == 0
    with pytest.raises(TransportClosedError):
        await sub.get()
    assert closed == [sub]


async def test_follow_waits_out_transport_errors_and_ends_when_closed() -> None:
    sub = MemorySubscription()
    sub.put(ConnectionFailedError("lost for a moment"))
    sub.put(NOTICE)
    seen = []

    async def reader() -> None:
        async for notice in sub.follow(retry_after=0):
            seen.append(notice)
            await sub.close()

    await asyncio.wait_for(reader(), 2)
    assert seen == [NOTICE]
