"""The OpenADR 3 VEN loop against the in-process stub VTN, on a manual clock: registration, decisions, USAGE
reports created then updated, restarts, deleted events, and which failures end a run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.ven.openadr3.stub import StubVtn, serve
from transactive.protocol.clock import ManualClock
from transactive.schemas.openadr3 import validate_body
from transactive.ven.openadr3 import Oa3Behaviour, Oa3Client, Oa3Error, Oa3VenRuntime
from transactive.ven.personalities import BatteryPersonality, Personality, PvPersonality

NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def stub() -> AsyncIterator[StubVtn]:
    vtn = StubVtn()
    program = vtn.add("programs", {"programName": "market-1"})
    vtn.add("events", {"programID": program["id"], "intervalPeriod": {"start": "2026-06-21T12:00:00Z",
                                                                      "duration": "PT1H"},
                       "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE",
                                               "currency": "EUR"}],
                       "intervals": [{"id": n, "payloads": [{"type": "PRICE", "values": [0.1 + n / 100]}]}
                                     for n in range(4)]})
    async with serve(vtn):
        yield vtn


_made: list[Oa3VenRuntime] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _made:
        await _made.pop().client.close()


def _runtime(stub: StubVtn, clock: ManualClock, lines: list[str] | None = None, *,
             device: Personality | None = None, **options: Any) -> Oa3VenRuntime:
    client = Oa3Client(stub.url, "ven-client", "s3cret")
    behaviour = Oa3Behaviour(device or PvPersonality(5.0, seed=2))
    _made.append(Oa3VenRuntime(client, behaviour, ven_name="pv-1", clock=clock,
                               log=None if lines is None else lines.append, **options))
    return _made[-1]


async def test_the_ven_registers_once_with_its_name_and_a_resource(stub: StubVtn) -> None:
    clock = ManualClock(NOON)
    first = _runtime(stub, clock)
    ven = await first.start()
    again = _runtime(stub, clock)
    assert (await again.start()).id == ven.id
    assert [v["venName"] for v in stub.objects["vens"].values()] == ["pv-1"]
    assert [(r["resourceName"], r["venID"]) for r in stub.objects["resources"].values()] == [("pv-1-pv", ven.id)]
    posted = [p for m, p, _q in stub.requests if m == "POST"]
    assert posted == ["/openadr3/3.1.0/vens", "/openadr3/3.1.0/resources"]


async def test_a_ven_made_meanwhile_by_another_run_is_taken_on_a_409(stub: StubVtn,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = _runtime(stub, ManualClock(NOON))

    async def raced(request: Any) -> Any:
        stub.add("vens", {"venName": "pv-1"}, client_id="ven-client")
        raise Oa3Error(409, "Conflict", "venName pv-1 exists")

    monkeypatch.setattr(runtime.client, "create_ven", raced)
    ven = await runtime.start()
    assert [v["id"] for v in stub.objects["vens"].values()] == [ven.id]


async def test_another_refusal_of_the_ven_is_raised(stub: StubVtn) -> None:
    runtime = _runtime(stub, ManualClock(NOON))
    stub.fail = [(200, "[]"), (409, '{"title": "Conflict", "detail": "venName taken by another client"}')]
    with pytest.raises(Oa3Error) as info:
        await runtime.start()
    assert info.value.detail == "venName taken by another client"


def test_the_poll_interval_is_positive(stub: StubVtn) -> None:
    with pytest.raises(ValueError, match="poll_seconds"):
        _runtime(stub, ManualClock(NOON), poll_seconds=0)


async def test_usage_is_reported_for_each_interval_that_ended_in_one_report_per_event(stub: StubVtn) -> None:
    clock = ManualClock(NOON + timedelta(minutes=10))
    lines: list[str] = []
    runtime = _runtime(stub, clock, lines)
    await runtime.start()
    await runtime.poll()
    assert len(runtime.pending) == 4
    assert stub.objects["reports"] == {}
    clock.set(NOON + HOUR + timedelta(minutes=1))
    await runtime.poll()
    (report,) = stub.objects["reports"].values()
    assert [i["id"] for i in report["resources"][0]["intervals"]] == [0]
    clock.set(NOON + 3 * HOUR)
    await runtime.poll()
    (report,) = stub.objects["reports"].values()
    assert report["clientName"] == "pv-1"
    assert report["payloadDescriptors"] == [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE",
                                             "readingType": "DIRECT_READ", "units": "KWH"}]
    (resource,) = report["resources"]
    assert resource["resourceName"] == "pv-1-pv"
    assert [i["id"] for i in resource["intervals"]] == [0, 1, 2]
    assert resource["intervals"][1]["intervalPeriod"] == {"start": "2026-06-21T13:00:00Z", "duration": "PT1H"}
    usage = [i["payloads"][0] for i in resource["intervals"]]
    assert {u["type"] for u in usage} == {"USAGE"}
    assert all(u["values"][0] < -1.0 for u in usage)  # midday PV exports
    assert validate_body("report", report) == []
    assert [m for m, p, _q in stub.requests if "/reports" in p] == ["GET", "POST", "PUT"]
    assert list(runtime.pending) == [("event-2", 3)]
    assert any("reported event event-2 interval 2" in line for line in lines)


async def test_a_restarted_ven_extends_its_report_instead_of_writing_another(stub: StubVtn) -> None:
    clock = ManualClock(NOON + timedelta(minutes=10))
    first = _runtime(stub, clock)
    await first.start()
    await first.poll()
    clock.set(NOON + HOUR)
    await first.poll()
    second = _runtime(stub, clock)  # the restart: intervals 1-3 are decided again, interval 0 is over
    await second.start()
    await second.poll()
    clock.set(NOON + 2 * HOUR)
    await second.poll()
    (report,) = stub.objects["reports"].values()
    assert [i["id"] for i in report["resources"][0]["intervals"]] == [0, 1]


async def test_intervals_that_ended_before_they_were_seen_are_not_decided(stub: StubVtn) -> None:
    runtime = _runtime(stub, ManualClock(NOON + 2 * HOUR + timedelta(minutes=5)))
    await runtime.start()
    await runtime.poll()
    assert sorted(runtime.pending) == [("event-2", 2), ("event-2", 3)]


async def test_the_future_intervals_of_a_deleted_event_are_forgotten(stub: StubVtn) -> None:
    clock = ManualClock(NOON + timedelta(minutes=10))
    runtime = _runtime(stub, clock)
    await runtime.start()
    await runtime.poll()
    stub.objects["events"].clear()
    await runtime.poll()
    assert list(runtime.pending) == [("event-2", 0)]  # under way: still reported when it ends
    clock.set(NOON + HOUR)
    await runtime.poll()
    assert runtime.pending == {}
    assert len(stub.objects["reports"]) == 1


async def test_a_vtn_failing_for_a_while_is_tried_again(stub: StubVtn) -> None:
    lines: list[str] = []
    runtime = _runtime(stub, ManualClock(NOON), lines, poll_seconds=0.05)
    await runtime.start()
    stub.fail = [(503, '{"title": "Service Unavailable", "status": 503}')] * 2
    await runtime.run(duration=0.6)
    assert sum("VTN unavailable (HTTP 503 Service Unavailable)" in line for line in lines) == 2
    assert len(runtime.pending) == 4


async def test_a_report_that_failed_is_sent_again_with_the_same_reading(stub: StubVtn) -> None:
    clock = ManualClock(NOON + timedelta(minutes=10))
    runtime = _runtime(stub, clock, device=BatteryPersonality(5.0))  # its meter gives a booking once
    await runtime.start()
    await runtime.poll()
    planned = runtime.pending[("event-2", 0)]
    assert planned.action == "charge"
    clock.set(NOON + HOUR)
    stub.fail = [(200, "[]"), (503, "")]  # the search for an earlier report; the POST fails
    with pytest.raises(Oa3Error):
        await runtime.report_ended()
    assert ("event-2", 0) in runtime.pending
    await runtime.report_ended()
    (report,) = stub.objects["reports"].values()
    sent = report["resources"][0]["intervals"][0]["payloads"][0]["values"][0]
    assert sent == pytest.approx(planned.planned_kwh, abs=1e-6)
    assert sent > 0
    assert ("event-2", 0) not in runtime.pending


async def test_an_event_no_longer_listed_leaves_no_bookkeeping_behind(stub: StubVtn) -> None:
    clock = ManualClock(NOON + timedelta(minutes=10))
    runtime = _runtime(stub, clock)
    await runtime.start()
    await runtime.poll()
    clock.set(NOON + 4 * HOUR)
    await runtime.poll()
    assert runtime.pending == {}
    assert len(runtime.decided) == 4
    stub.objects["events"].clear()  # over: an active listing no longer has it
    await runtime.poll()
    assert (runtime.decided, runtime.reports) == (set(), {})


async def test_a_refusal_ends_the_run(stub: StubVtn) -> None:
    runtime = _runtime(stub, ManualClock(NOON), poll_seconds=0.05)
    stub.fail = [(403, '{"title": "Forbidden", "status": 403, "detail": "scope write_vens needed"}')]
    with pytest.raises(Oa3Error) as info:
        await runtime.run(duration=5)
    assert (info.value.status, info.value.detail) == (403, "scope write_vens needed")


async def test_the_run_stops_when_told(stub: StubVtn) -> None:
    runtime = _runtime(stub, ManualClock(NOON), poll_seconds=30)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert runtime.ven is not None
