"""The OpenADR 3 VEN against the real VTN (``VtnApp`` on loopback, the lead's ``oa3`` fixture): it registers,
sees a PRICE event, reports USAGE, and a business logic client reads the report back (every call the fixture
makes is checked against the specification). Then the typed client's other calls, privacy, paging and the
command line in its own process."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.openadr3.conftest import Client, Oa3Vtn
from tests.pki import Pki
from transactive.protocol.clock import ManualClock
from transactive.transport.http import HttpTransport
from transactive.transport.tls import ServerTls
from transactive.ven import join_market
from transactive.ven.openadr3 import Oa3AuthError, Oa3Behaviour, Oa3Client, Oa3Error, Oa3VenRuntime
from transactive.ven.openadr3.models import (
    EventPayloadDescriptor,
    EventRequest,
    Interval,
    IntervalPeriod,
    ObjectOperation,
    ProgramRequest,
    Report,
    SubscriptionRequest,
    ValuesMap,
    VenResourceRequest,
    VenVenRequest,
)
from transactive.ven.personalities import LoadPersonality
from transactive.vtn import VtnApp, VtnOptions
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

QUARTER = timedelta(minutes=15)


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _price_event(oa3: Oa3Vtn, bl: Client, start: datetime, prices: list[float], *, duration: str = "PT15M",
                       targets: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    status, program = await oa3.call("POST", "/programs", bl, {
        "programName": f"tariff-{len(oa3.seen)}",
        "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE",
                                "currency": "EUR", "units": "KWH"}]})
    assert status == 201, program
    body: dict[str, Any] = {
        "programID": program["id"], "eventName": "prices",
        "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "currency": "EUR"}],
        "reportDescriptors": [{"payloadType": "USAGE", "units": "KWH"}],
        "intervalPeriod": {"start": _z(start), "duration": duration},
        "intervals": [{"id": n, "payloads": [{"type": "PRICE", "values": [p]}]} for n, p in enumerate(prices)]}
    if targets:
        body["targets"] = targets
    status, event = await oa3.call("POST", "/events", bl, body)
    assert status == 201, event
    return program, event


def _client(oa3: Oa3Vtn, who: Client) -> Oa3Client:
    return Oa3Client(oa3.base, who.client_id, who.secret)


async def test_the_ven_registers_sees_a_price_event_reports_usage_and_the_bl_reads_it(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    device = await oa3.make_client("ven", "home-9")
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    _program, event = await _price_event(oa3, bl, start, [0.10, 0.30, 0.20])
    clock = ManualClock(start - timedelta(minutes=1))
    lines: list[str] = []
    async with _client(oa3, device) as client:
        runtime = Oa3VenRuntime(client, Oa3Behaviour(LoadPersonality(3.0, seed=5)), ven_name="home-9",
                                clock=clock, log=lines.append)
        ven = await runtime.start()
        await runtime.poll()
        assert sorted(runtime.pending) == [(event["id"], n) for n in range(3)]
        clock.set(start + QUARTER)
        await runtime.poll()
        clock.set(start + 3 * QUARTER)
        await runtime.poll()
        assert runtime.pending == {}
    status, reports = await oa3.call("GET", "/reports", bl, params={"eventID": event["id"]})
    assert status == 200
    (stored,) = reports
    assert stored["clientID"] == device.client_id
    assert stored["clientName"] == "home-9"
    assert stored["payloadDescriptors"][0]["units"] == "KWH"
    (resource,) = stored["resources"]
    assert resource["resourceName"] == "home-9-load"
    assert [i["id"] for i in resource["intervals"]] == [0, 1, 2]
    assert [i["intervalPeriod"]["start"] for i in resource["intervals"]] == [_z(start + n * QUARTER) for n in range(3)]
    usage = [i["payloads"][0]["values"][0] for i in resource["intervals"]]
    assert all(kwh > 0 for kwh in usage)  # a household imports
    assert Report.from_wire(stored).resources[0].intervals[0].payloads[0].type == "USAGE"
    # the BL sees the ven and its resource as the VEN wrote them
    _, vens = await oa3.call("GET", "/vens", bl, params={"venName": "home-9"})
    assert [(v["id"], v["clientID"]) for v in vens] == [(ven.id, device.client_id)]
    _, resources = await oa3.call("GET", "/resources", bl, params={"venID": ven.id})
    assert [r["resourceName"] for r in resources] == ["home-9-load"]
    assert sum("reported event" in line for line in lines) == 3


async def test_a_restarted_ven_is_the_same_ven_and_resource(oa3: Oa3Vtn) -> None:
    device = await oa3.make_client("ven", "pv-3")
    ids = set()
    for _ in range(2):
        async with _client(oa3, device) as client:
            runtime = Oa3VenRuntime(client, Oa3Behaviour(LoadPersonality()), ven_name="pv-3")
            ven = await runtime.start()
            assert runtime.resource is not None
            ids.add((ven.id, runtime.resource.id))
    assert len(ids) == 1


async def test_a_ven_name_another_client_holds_is_refused(oa3: Oa3Vtn) -> None:
    first, second = await oa3.make_client("ven", "one"), await oa3.make_client("ven", "two")
    async with _client(oa3, first) as a:
        await a.create_ven(VenVenRequest(ven_name="shared"))
    async with _client(oa3, second) as b:
        with pytest.raises(Oa3Error) as info:
            await Oa3VenRuntime(b, Oa3Behaviour(LoadPersonality()), ven_name="shared").start()
    assert info.value.status in (400, 409)


async def test_a_ven_sees_neither_other_vens_nor_events_targeted_elsewhere(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    _p, open_event = await _price_event(oa3, bl, start, [0.1])
    _p, targeted = await _price_event(oa3, bl, start, [0.2], targets=["feeder-9"])
    first, second = await oa3.make_client("ven", "ven-a"), await oa3.make_client("ven", "ven-b")
    async with _client(oa3, first) as a, _client(oa3, second) as b:
        await a.create_ven(VenVenRequest(ven_name="ven-a"))
        assert await b.find_ven("ven-a") is None
        assert [e.id for e in await b.events(active=True)] == [open_event["id"]]
        assert targeted["id"] not in {e.id for e in await a.events()}


async def test_the_typed_client_pages_through_the_real_vtns_lists(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    async with _client(oa3, bl) as client:
        program = await client.create_program(ProgramRequest(program_name="paged"))
        start = datetime.now(UTC) + timedelta(hours=1)
        made = [await client.create_event(EventRequest(
            program_id=program.id, event_name=f"e{n}", interval_period=IntervalPeriod(start=start, duration="PT1H"),
            payload_descriptors=[EventPayloadDescriptor(payload_type="PRICE", currency="EUR")],
            intervals=[Interval(id=0, payloads=[ValuesMap(type="PRICE", values=[n / 100])])])) for n in range(57)]
        found = await client.events(program_id=program.id)
        assert sorted(e.id for e in found) == sorted(e.id for e in made)
        assert (await client.delete_event(made[0].id)).id == made[0].id
        assert len(await client.events(program_id=program.id)) == 56
        with pytest.raises(Oa3Error) as info:
            await client.event(made[0].id)
        assert info.value.status == 404
        assert (await client.delete_program(program.id)).id == program.id


async def test_the_typed_client_writes_and_deletes_a_vens_objects(oa3: Oa3Vtn) -> None:
    device = await oa3.make_client("ven", "bat-2")
    async with _client(oa3, device) as client:
        ven = await client.create_ven(VenVenRequest(ven_name="bat-2"))
        resource = await client.create_resource(VenResourceRequest(resource_name="battery", ven_id=ven.id))
        assert [r.id for r in await client.resources(ven_id=ven.id)] == [resource.id]
        subscription = await client.create_subscription(SubscriptionRequest(
            client_name="bat-2", object_operations=[ObjectOperation(
                objects=["EVENT"], operations=["CREATE", "UPDATE"], callback_url="https://127.0.0.1:9/hook")]))
        assert subscription.client_id == device.client_id
        assert [s.id for s in await client.subscriptions()] == [subscription.id]
        assert (await client.delete_subscription(subscription.id)).id == subscription.id
        assert (await client.delete_resource(resource.id)).id == resource.id
        with pytest.raises(Oa3Error) as info:
            await client.create_program(ProgramRequest(program_name="not mine to write"))
        assert info.value.status == 403


async def test_wrong_credentials_are_an_auth_error(oa3: Oa3Vtn) -> None:
    device = await oa3.make_client("ven", "ven-x")
    async with Oa3Client(oa3.base, device.client_id, "not-the-secret") as client:
        with pytest.raises(Oa3AuthError) as info:
            await client.programs()
    assert info.value.status in (400, 401)


async def test_the_command_line_ven_reports_usage_to_the_real_vtn(oa3: Oa3Vtn) -> None:
    bl = await oa3.make_client("bl", "utility")
    device = await oa3.make_client("ven", "pv-8")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)  # after the VEN has started
    _program, event = await _price_event(oa3, bl, start, [0.2, -0.1], duration="PT1S")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr3", "--vtn", oa3.url,
        "--client-id", device.client_id, "--client-secret", device.secret, "--party", "pv-8", "--personality", "pv",
        "--poll-seconds", "0.3", "--duration", "9", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert (process.returncode, err.decode()) == (0, "")
    assert "pv-8: pv 5 kW, OpenADR 3.1 ven" in out.decode()
    _, reports = await oa3.call("GET", "/reports", bl, params={"eventID": event["id"]})
    (report,) = reports
    intervals = report["resources"][0]["intervals"]
    assert [i["id"] for i in intervals] == [0, 1]
    assert intervals[1]["payloads"] == [{"type": "USAGE", "values": [0.0]}]  # curtailed at a negative price


async def test_a_command_line_thermostat_answers_prices_on_its_own_model(oa3: Oa3Vtn, tmp_path: Path) -> None:
    """A personality without dedicated OpenADR rules (the T2 template: a heat pump) decides each priced
    interval with ``on_event`` and reports what its thermal model drew."""
    bl = await oa3.make_client("bl", "utility")
    device = await oa3.make_client("ven", "room-3")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    _program, event = await _price_event(oa3, bl, start, [0.05, 0.40], duration="PT2S")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr3", "--vtn", oa3.url,
        "--client-id", device.client_id, "--client-secret", device.secret, "--party", "room-3",
        "--personality", "t2", "--low-c", "19", "--grid-prices", "0.30,0.05", "--poll-seconds", "0.3",
        "--duration", "10", "--record", str(tmp_path / "room-3.jsonl"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert (process.returncode, err.decode()) == (0, "")
    assert "room-3: homeostasis heat 3 kW, 19-23 C" in out.decode()  # the template, --low-c over it
    _, reports = await oa3.call("GET", "/reports", bl, params={"eventID": event["id"]})
    (report,) = reports
    usage = [i["payloads"][0]["values"][0] for i in report["resources"][0]["intervals"]]
    assert len(usage) == 2
    assert all(u >= 0 for u in usage)  # a heat pump only draws
    assert usage[0] > 0  # the cheap interval: it heats (pre-heats at a price this low)


@pytest.mark.slow
async def test_the_command_line_ven_meters_a_market_partys_delivery_through_the_bridge(tmp_path: Path) -> None:
    """On an accelerated VTN (a 15-minute interval a second), the market's PRICE event of an interval home-1
    bought in reaches the VEN named home-1, whose USAGE report becomes that transaction's delivery."""
    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", interval_seconds=1.0, reserve=(0.30, 0.05)))
    await app.start()
    process = None
    try:
        token = (tmp_path / "vtn" / "operator.token").read_text().strip()
        async with aiohttp.ClientSession() as session:
            oa3 = Oa3Vtn(app, app.url, token, session)
            device = await oa3.make_client("ven", "home-1")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr3", "--vtn", app.url,
                "--client-id", device.client_id, "--client-secret", device.secret, "--party", "home-1",
                "--personality", "load", "--poll-seconds", "0.1", "--quiet",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            async with session.get(app.url + "/health") as response:
                health = await response.json()
            interval = datetime.fromisoformat(health["next_open_interval"]) + 3 * QUARTER
            async with HttpTransport(app.url, poll_seconds=1) as transport:
                pv = await join_market(transport, "pv-1", DEFAULT_MARKET_CONTEXT)
                home = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
                await pv.tender(interval, "sell", 2.0, "0.10")
                await home.tender(interval, "buy", 2.0, "0.20")
            store = app.store
            assert store is not None
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                txs = store.transactions(party_id="home-1", interval_start=interval)
                if txs and store.delivery(txs[0].transaction_id) is not None:
                    break
                assert asyncio.get_running_loop().time() < deadline, "no delivery from the VEN's USAGE report"
                await asyncio.sleep(0.1)
            row = store.delivery(txs[0].transaction_id)
            assert row is not None
            status, reports = await oa3.call("GET", "/reports", await oa3.make_client("bl", "utility"))
            assert status == 200
            reported = [i["payloads"][0]["values"][0] for r in reports if r["clientName"] == "home-1"
                        for i in r["resources"][0]["intervals"] if i["intervalPeriod"]["start"] == _z(interval)]
            assert len(reported) == 1
            assert float(row.quantity) == pytest.approx(reported[0], abs=1e-6)
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            _out, err = await asyncio.wait_for(process.communicate(), 30)
            assert (process.returncode, err.decode()) == (0, "")
        await app.stop()


async def test_the_command_line_ven_over_https_with_a_private_ca_and_a_client_certificate(tmp_path: Path,
                                                                                         pki: Pki) -> None:
    cert, key = pki.pair("vtn")
    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", scheduler=False, tls=ServerTls(cert, key, client_ca=pki.ca)))
    await app.start()
    try:
        assert app.url.startswith("https://")
        token = (tmp_path / "vtn" / "operator.token").read_text().strip()
        connector = aiohttp.TCPConnector(ssl=pki.client("ven-2"))
        async with aiohttp.ClientSession(connector=connector) as session:
            oa3 = Oa3Vtn(app, app.url, token, session)
            device = await oa3.make_client("ven", "ven-1")
            ven_cert, ven_key = pki.pair("ven-1")

            async def run(ca: Path) -> tuple[int | None, str]:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr3", "--vtn", app.url,
                    "--client-id", device.client_id, "--client-secret", device.secret, "--personality", "pv",
                    "--tls-ca", str(ca), "--tls-cert", str(ven_cert), "--tls-key", str(ven_key), "--duration", "1",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                _out, err = await asyncio.wait_for(process.communicate(), 60)
                return process.returncode, err.decode()

            assert await run(pki.ca) == (0, "")
            code, err = await run(pki.other_ca)
            assert code == 2
            assert "TLS" in err
            _, vens = await oa3.call("GET", "/vens", await oa3.make_client("bl", "utility"))
            assert [v["venName"] for v in vens] == [device.client_id]
    finally:
        await app.stop()
