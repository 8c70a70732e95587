"""The queue every transport's subscription shares (``QueuedSubscription``) and ``Subscription.follow``."""

from __future__ import annotations

import asyncio

import pytest

from transactive.codec import encode_json
from transactive.codec.wire import WireFormat
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.errors import MalformedDocumentError
from transactive.protocol import ForgedNoticeError
from transactive.protocol.identity import PartyIdentity
from transactive.transport import ConnectionFailedError, TransportClosedError, TransportTimeoutError
from transactive.transport.base import MAX_BACKOFF, backoff
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


async def test_with_the_vtns_key_only_notices_it_signed_for_the_party_are_delivered() -> None:
    vtn = PartyIdentity.generate()
    sub = MemorySubscription(party="pv-1", notice_key=vtn.public)
    data = encode_json(NOTICE)
    sub.receive(data, WireFormat.JSON, vtn.notice_signature("pv-1", data))
    sub.receive(data, WireFormat.JSON, None)
    sub.receive(data, WireFormat.JSON, vtn.notice_signature("pv-2", data))
    sub.receive(b"{not json", WireFormat.JSON, None)
    assert await sub.get() == NOTICE
    for _ in range(2):
        with pytest.raises(ForgedNoticeError):
            await sub.get()
    with pytest.raises(MalformedDocumentError):
        await sub.get()


async def test_follow_skips_notices_that_do_not_decode_or_verify() -> None:
    vtn = PartyIdentity.generate()
    sub = MemorySubscription(party="pv-1", notice_key=vtn.public)
    data = encode_json(NOTICE)
    sub.receive(data, WireFormat.JSON, "forged")
    sub.receive(b"<broken", WireFormat.XML, None)
    sub.receive(data, WireFormat.JSON, vtn.notice_signature("pv-1", data))
    seen = []

    async def reader() -> None:
        async for notice in sub.follow(retry_after=0):
            seen.append(notice)
            await sub.close()

    await asyncio.wait_for(reader(), 2)
    assert seen == [NOTICE]


def test_backoff_grows_to_its_cap_with_jitter_below_it() -> None:
    draws = [backoff(n) for n in range(1, 12) for _ in range(50)]
    assert all(0.0 <= d <= MAX_BACKOFF for d in draws)
    assert max(backoff(1) for _ in range(200)) <= 0.2  # the first retries come quickly
    assert max(backoff(30) for _ in range(200)) > MAX_BACKOFF / 2  # later ones spread over the cap
    assert len({round(d, 6) for d in draws}) > len(draws) // 2  # jitter: VENs do not retry in step
