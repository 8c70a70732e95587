"""The market bridge on a real VTN with a fast market clock: the market's program, a PRICE event per closed
gate carrying the cleared price, and USAGE reports of OpenADR 3 VENs recorded as the deliveries of the market
parties of the same name, which settlement then runs on."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from tests.openadr3.conftest import Client, Oa3Vtn
from transactive.services.openadr3 import SYSTEM
from transactive.transport.http import HttpTransport
from transactive.ven import join_market
from transactive.vtn import VtnApp, VtnOptions
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT


async def _wait(what: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await what()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_gates_publish_price_events_and_usage_reports_become_deliveries(tmp_path: Path) -> None:
    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", interval_seconds=1.0, reserve=(0.30, 0.05)))
    await app.start()
    try:
        token = (tmp_path / "vtn" / "operator.token").read_text().strip()
        async with aiohttp.ClientSession() as session:
            oa3 = Oa3Vtn(app, app.url, token, session)
            bl = await oa3.make_client("bl", "utility")
            _, programs = await oa3.call("GET", "/programs", bl)
            assert [p["programName"] for p in programs] == [DEFAULT_MARKET_CONTEXT]
            program = programs[0]
            kinds = {d["payloadType"] for d in program["payloadDescriptors"]}
            assert kinds == {"PRICE"}
            # two market parties trade one interval over CTS
            async with session.get(app.url + "/health") as response:
                health = await response.json()
            interval = datetime.fromisoformat(health["next_open_interval"]) + 2 * timedelta(minutes=15)
            async with HttpTransport(app.url, poll_seconds=1) as transport:
                pv = await join_market(transport, "pv-1", DEFAULT_MARKET_CONTEXT)
                home = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
                await pv.tender(interval, "sell", 2.0, "0.10")
                await home.tender(interval, "buy", 2.0, "0.20")

                async def price_event() -> dict[str, Any] | None:
                    _, events = await oa3.call("GET", "/events", bl, params={"programID": program["id"]})
                    return next((e for e in events if e["intervalPeriod"]["start"] == _z(interval)), None)

                event = await _wait(price_event)
            store = app.store
            assert store is not None
            gate = store.gate(interval)
            assert gate is not None
            assert gate.price is not None
            assert event["intervals"][0]["payloads"] == [{"type": "PRICE", "values": [float(gate.price)]}]
            assert event["intervalPeriod"]["duration"] == "PT15M"
            assert [d["payloadType"] for d in event["reportDescriptors"]] == ["USAGE"]
            # the parties' devices report what they metered through OpenADR 3, named as in the market
            for party, kwh in (("home-1", 2.0), ("pv-1", -2.0)):
                device = await oa3.make_client("ven", party)
                await oa3.call("POST", "/vens", device, {"objectType": "VEN_VEN_REQUEST", "venName": party})
                await _report(oa3, device, event["id"], party, kwh)
            for party in ("home-1", "pv-1"):
                [tx] = store.transactions(party_id=party, interval_start=interval)

                async def delivered(tx_id: str = tx.transaction_id) -> bool:
                    return store.delivery(tx_id) is not None and bool(store.settlement_steps(tx_id))

                await _wait(delivered)
                row = store.delivery(tx.transaction_id)
                assert row is not None
                assert row.quantity == Decimal("2")
    finally:
        await app.stop()


async def _report(oa3: Oa3Vtn, device: Client, event_id: str, name: str, kwh: float) -> None:
    status, report = await oa3.call("POST", "/reports", device, {
        "eventID": event_id, "clientName": name, "reportName": "usage",
        "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE",
                                "readingType": "DIRECT_READ", "units": "KWH"}],
        "resources": [{"resourceName": "meter",
                       "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [kwh]}]}]}]})
    assert status == 201, report


async def test_the_market_program_is_made_once(tmp_path: Path) -> None:
    for _ in range(2):
        app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", scheduler=False))
        await app.start()
        try:
            assert app.openadr3 is not None
            programs = app.openadr3.service.search(SYSTEM, "programs", {})
            assert [p["programName"] for p in programs] == [DEFAULT_MARKET_CONTEXT]
        finally:
            await app.stop()



async def test_price_events_are_deleted_a_day_after_their_interval_and_no_other_event_is(tmp_path: Path) -> None:
    from transactive.vtn.openadr3_app import PRICE_RETENTION, MarketBridge

    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", scheduler=False))
    await app.start()
    try:
        assert app.openadr3 is not None
        assert app.service is not None
        service = app.openadr3.service
        bridge = MarketBridge(service, app.service, market_context=DEFAULT_MARKET_CONTEXT, currency="USD",
                              interval=timedelta(minutes=15))
        start = datetime(2026, 12, 1, tzinfo=UTC)
        made = [bridge.publish_price(start + n * timedelta(minutes=15), Decimal("0.2")) for n in range(8)]
        program = bridge.program()
        other = service.create(SYSTEM, "events", {  # the operator's own event in the market's program
            "programID": program["id"], "eventName": "price cap", "intervalPeriod": made[0]["intervalPeriod"],
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.5]}]}]})
        assert timedelta(days=1) == PRICE_RETENTION
        assert bridge.prune(start + timedelta(hours=1)) == 4  # the first four ended by 01:00
        left = [e["id"] for e in service.events_of(program["id"])]
        assert left == [e["id"] for e in made[4:]] + [other["id"]]
        assert bridge.prune(start + timedelta(hours=1)) == 0
    finally:
        await app.stop()
