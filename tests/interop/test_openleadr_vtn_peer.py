"""Our OpenADR 2.0b VEN against a real openleadr 0.5.36 VTN (``interop/openleadr_peer/vtn_server.py``, in its own
process and virtual environment).

* ``transactive ven run --protocol openadr`` as a process: it registers, registers its TELEMETRY_USAGE report and
  sends the values openleadr asks for, polls, answers an event (the opt reaches openleadr's callback for
  ``oadrCreatedEvent``), answers the modified event with its new modification number, drops the cancelled one,
  and re-registers as itself after a restart;
* the library client in-process against the same server (handlers, cancel registration, an opt openleadr has
  no service for);
* mutual TLS: openleadr checks the VEN's certificate fingerprint (``fingerprint_lookup``), the VEN checks the
  VTN's (``--vtn-fingerprint``), and a wrong fingerprint on either side stops the run.

Every document the VEN sent (as openleadr received it) validates against our OpenADR 2.0b schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.interop.conftest import ROOT
from tests.interop.oadr_peers import start_openleadr_vtn, stop_all
from transactive.ei.oadr import OadrResponse, OptType
from transactive.protocol.certs import create_set
from transactive.protocol.errors import RequestRefusedError
from transactive.protocol.oadr import Service
from transactive.schemas import validate
from transactive.ven.oadr import OadrVenClient, ReceivedEvent

pytestmark = pytest.mark.interop

Log = list[dict[str, Any]]


class Peer:
    """A running openleadr VTN: its URL and what it recorded."""

    def __init__(self, process: subprocess.Popen[str], workdir: Path, url: str) -> None:
        self.process = process
        self.workdir = workdir
        self.url = url
        self.commands = 0

    def log(self) -> Log:
        path = self.workdir / "log.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def wait(self, what: str, found: Callable[[Log], Any], timeout: float = 20.0) -> Any:
        """The first true ``found(log)`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = found(self.log())
            if result:
                return result
            time.sleep(0.1)
        tail = "\n".join(json.dumps(e) for e in self.log()[-15:])
        raise AssertionError(f"openleadr never saw {what}; its log ends with:\n{tail}")

    def command(self, **command: Any) -> None:
        self.commands += 1
        path = self.workdir / "control" / f"{self.commands:03d}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(command), encoding="utf-8")
        tmp.replace(path)

    def documents(self) -> list[Path]:
        return sorted((self.workdir / "received").glob("*.xml"))


@pytest.fixture
def start_peer(openleadr_python: Path, tmp_path: Path) -> Iterator[Callable[..., Peer]]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str, name: str = "vtn") -> Peer:
        workdir = tmp_path / name
        process, url = start_openleadr_vtn(openleadr_python, workdir, *extra)
        started.append(process)
        return Peer(process, workdir, url)

    yield start
    stop_all(started)


def start_ven(tmp_path: Path, url: str, party: str, personality: str, *extra: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{party}.out").open("a") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr", "--vtn", url,
             "--party", party, "--personality", personality, "--state-dir", str(tmp_path / f"{party}-state"),
             "--record", str(tmp_path / f"{party}.jsonl"), *extra],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(20)


def records(tmp_path: Path, party: str) -> Log:
    path = tmp_path / f"{party}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def messages(log: Log, kind: str) -> Log:
    return [e for e in log if e["kind"] == "message" and e["type"] == kind]


def answers(log: Log, event_id: str) -> list[tuple[int, str]]:
    """(modification number, opt) of every oadrCreatedEvent response openleadr received for ``event_id``."""
    return [(r["modification_number"], r["opt_type"]) for m in messages(log, "oadrCreatedEvent")
            for r in m["event_responses"] if r["event_id"] == event_id]


def assert_documents_valid(peer: Peer) -> set[str]:
    """Every document the VEN sent validates against our schema; the message types seen."""
    kinds = set()
    for path in peer.documents():
        report = validate(etree.fromstring(path.read_bytes()))
        assert report.valid, (path.name, report.errors)
        kinds.add(path.stem.split("-", 1)[1])
    return kinds


def test_the_ven_command_takes_part_in_an_openleadr_vtns_events_and_reports(
        start_peer: Callable[..., Peer], tmp_path: Path) -> None:
    peer = start_peer("--poll-seconds", "1", "--report-seconds", "1")
    ven = start_ven(tmp_path, peer.url, "bat-1", "battery")
    try:
        registration = peer.wait("a registration", lambda log: [e for e in log if e["kind"] == "registration"])[0]
        assert (registration["ven_name"], registration["ven_id"], registration["again"]) == (
            "bat-1", "ven-id-bat-1", False)
        peer.wait("a poll", lambda log: messages(log, "oadrPoll"))
        offered = peer.wait("the report registration", lambda log: messages(log, "oadrRegisterReport"))[0]
        assert offered["reports"][0]["report_name"] == "METADATA_TELEMETRY_USAGE"
        asked = peer.wait("a TELEMETRY_USAGE request", lambda log: [e for e in log if e["kind"] == "report_registered"])
        assert (asked[0]["measurement"], asked[0]["unit"]) == ("RealPower", "W")
        peer.wait("the created report", lambda log: messages(log, "oadrCreatedReport"))

        # a price event: cheap, dear, middle (4 s each, from now)
        peer.command(op="add", ven_id="ven-id-bat-1", event_id="price-1", signal_name="ELECTRICITY_PRICE",
                     signal_type="price", values=[0.10, 0.50, 0.30], interval_seconds=4, start_in_seconds=0)
        peer.wait("the opt answer", lambda log: [e for e in log if e["kind"] == "opt" and e["event_id"] == "price-1"])
        assert answers(peer.log(), "price-1") == [(0, "optIn")]

        peer.command(op="modify", ven_id="ven-id-bat-1", event_id="price-1", values=[0.10, 0.20, 0.90])
        peer.wait("the answer to the modified event", lambda log: (1, "optIn") in answers(log, "price-1"))
        opts = [e for e in peer.log() if e["kind"] == "opt" and e["event_id"] == "price-1"]
        assert [o["opt_type"] for o in opts] == ["optIn", "optIn"]

        # TELEMETRY_USAGE values arrive, and follow the event: charging when cheap, discharging when dear
        reported = peer.wait("charging and discharging in the reports", lambda log: (
            {v for e in log if e["kind"] == "report" for _when, v in e["values"]} >= {5000.0, -5000.0}
            and [e for e in log if e["kind"] == "report"]))
        values = [v for e in reported for _when, v in e["values"]]
        metered = {r["power_w"] for r in records(tmp_path, "bat-1") if r["kind"] == "power"}
        assert set(values) <= metered

        peer.command(op="cancel", ven_id="ven-id-bat-1", event_id="price-1")
        peer.wait("the acknowledged cancellation", lambda log: (2, "optIn") in answers(log, "price-1"))
        dropped = [r for r in records(tmp_path, "bat-1") if r["kind"] == "dropped"]
        deadline = time.monotonic() + 10
        while not dropped and time.monotonic() < deadline:
            time.sleep(0.1)
            dropped = [r for r in records(tmp_path, "bat-1") if r["kind"] == "dropped"]
        assert [(d["event_id"], d["modification_number"], d["status"]) for d in dropped] == [
            ("price-1", 2, "cancelled")]
        events = [(r["event_id"], r["modification_number"], r["opt"]) for r in records(tmp_path, "bat-1")
                  if r["kind"] == "event"]
        assert events == [("price-1", 0, "optIn"), ("price-1", 1, "optIn")]
        time.sleep(2)  # dropped for good: no further answer about it
        assert len(answers(peer.log(), "price-1")) == 3
    finally:
        code = stop(ven)
    assert code == 0, (tmp_path / "bat-1.out").read_text()
    assert {"oadrQueryRegistration", "oadrCreatePartyRegistration", "oadrRegisterReport", "oadrCreatedReport",
            "oadrRequestEvent", "oadrPoll", "oadrCreatedEvent", "oadrUpdateReport"} <= assert_documents_valid(peer)

    # restarted, it re-registers as itself
    again = start_ven(tmp_path, peer.url, "bat-1", "battery")
    try:
        registrations = peer.wait("the re-registration", lambda log: [
            e for e in log if e["kind"] == "registration" and e["again"]])
        assert (registrations[0]["ven_id"], registrations[0]["registration_id"]) == (
            registration["ven_id"], registration["registration_id"])
    finally:
        assert stop(again) == 0


async def test_the_library_client_against_openleadr(start_peer: Callable[..., Peer]) -> None:
    peer = start_peer("--poll-seconds", "1", "--report-seconds", "1")
    sent: list[tuple[Service, bytes]] = []
    seen: list[tuple[str, int, bool]] = []
    ended: list[tuple[str, str]] = []
    client = OadrVenClient(peer.url, "lib-1", poll_seconds=0.5,
                           observer=lambda way, service, doc: sent.append((service, doc)) if way == "sent" else None)

    @client.on_event
    async def decide(event: ReceivedEvent) -> OptType:
        seen.append((event.event_id, event.modification_number, event.is_update))
        level = event.signal("SIMPLE")
        return OptType.OPT_IN if level is not None and event.values(level)[0].value < 3 else OptType.OPT_OUT

    client.on_event_end(lambda event: ended.append((event.event_id, event.status.value)))
    client.add_report(lambda: 42.5, "meter-1", "power", sampling_rate=timedelta(seconds=1))

    async def wait(what: str, found: Callable[[Log], Any]) -> Any:
        return await asyncio.to_thread(peer.wait, what, found)

    stopper = asyncio.Event()
    task = asyncio.create_task(client.run(stopper))
    try:
        await wait("the registration", lambda log: [e for e in log if e["kind"] == "registration"])
        assert (client.ven_id, client.vtn_id) == ("ven-id-lib-1", "openleadr-vtn")
        assert client.poll_interval == timedelta(seconds=0.5)
        peer.command(op="add", ven_id="ven-id-lib-1", event_id="simple-1", signal_name="SIMPLE", signal_type="level",
                     values=[1, 2], interval_seconds=60, start_in_seconds=60)
        await wait("the opt", lambda log: answers(log, "simple-1") == [(0, "optIn")])
        peer.command(op="modify", ven_id="ven-id-lib-1", event_id="simple-1", values=[3, 3])
        await wait("the opt-out of the modified event", lambda log: (1, "optOut") in answers(log, "simple-1"))
        peer.command(op="cancel", ven_id="ven-id-lib-1", event_id="simple-1")
        await wait("the acknowledged cancellation", lambda log: (2, "optOut") in answers(log, "simple-1"))
        await wait("42.5 W reported", lambda log: [e for e in log if e["kind"] == "report"
                                                   and [v for _w, v in e["values"]] == [42.5]])
        assert seen == [("simple-1", 0, False), ("simple-1", 1, True)]
        assert ended == [("simple-1", "cancelled")]
        assert client.core.events == {}

        # openleadr's VTN serves no EiOpt endpoint: the opt is refused with the HTTP status
        peer.command(op="add", ven_id="ven-id-lib-1", event_id="simple-2", signal_name="SIMPLE", signal_type="level",
                     values=[1], interval_seconds=60, start_in_seconds=60)
        await wait("the second event's opt", lambda log: answers(log, "simple-2"))
        with pytest.raises(RequestRefusedError) as info:
            await client.create_opt(OptType.OPT_OUT, event_id="simple-2")
        assert info.value.response_code == 404
    finally:
        stopper.set()
        await task
    await client.cancel_registration()
    assert client.registration_id is None
    cancelled = await wait("the cancelled registration", lambda log: [
        e for e in log if e["kind"] == "cancel_registration"])
    assert cancelled[0]["ven_id"] == "ven-id-lib-1"
    poll_reply = await client.send(Service.POLL, client.core.poll())
    assert poll_reply is None or isinstance(poll_reply, OadrResponse)
    await client.close()
    for service, document in sent:
        report = validate(etree.fromstring(document))
        assert report.valid, (service, report.errors)
    assert {s for s, _d in sent} == {Service.REGISTER_PARTY, Service.EVENT, Service.POLL, Service.REPORT, Service.OPT}


def test_mutual_tls_with_fingerprints_both_ways(start_peer: Callable[..., Peer], tmp_path: Path) -> None:
    made = create_set(tmp_path / "certs", vtn="vtn-1", vens=["home-1", "stranger"]).as_json()
    vtn, (home, stranger) = made["vtn"], made["vens"]
    peer = start_peer("--poll-seconds", "1", "--report-seconds", "1", "--tls-cert", vtn["cert"],
                      "--tls-key", vtn["key"], "--tls-ca", made["ca"]["cert"],
                      "--ven-fingerprint", f"home-1={home['fingerprint']}")
    assert peer.url.startswith("https://")

    def tls(entry: dict[str, str]) -> list[str]:
        return ["--tls-ca", made["ca"]["cert"], "--tls-cert", entry["cert"], "--tls-key", entry["key"]]

    ven = start_ven(tmp_path, peer.url, "home-1", "load", *tls(home), "--vtn-fingerprint", vtn["fingerprint"])
    try:
        registration = peer.wait("the registration", lambda log: [e for e in log if e["kind"] == "registration"])[0]
        assert registration["fingerprint"] == home["fingerprint"]
        peer.command(op="add", ven_id="ven-id-home-1", event_id="shed-1", signal_name="SIMPLE", signal_type="level",
                     values=[2], interval_seconds=60, start_in_seconds=0)
        peer.wait("the opt over TLS", lambda log: answers(log, "shed-1") == [(0, "optIn")])
        peer.wait("a report over TLS", lambda log: [e for e in log if e["kind"] == "report"])
    finally:
        assert stop(ven) == 0, (tmp_path / "home-1.out").read_text()
    assert_documents_valid(peer)

    # the VTN shows another certificate than the fingerprint pinned: the handshake fails, nothing is sent (exit 2)
    sent_before = len(peer.documents())
    wrong = start_ven(tmp_path, peer.url, "home-2", "load", *tls(home), "--vtn-fingerprint", home["fingerprint"])
    assert wrong.wait(30) == 2
    said = (tmp_path / "home-2.out").read_text()
    assert f"has fingerprint {vtn['fingerprint']}, not {home['fingerprint']}" in said
    assert len(peer.documents()) == sent_before

    # a VEN whose certificate openleadr has no fingerprint for is refused once it has a venID (exit 1)
    refused = start_ven(tmp_path, peer.url, "stranger", "pv", *tls(stranger), "--vtn-fingerprint", vtn["fingerprint"])
    assert refused.wait(30) == 1
    assert "the VTN refused" in (tmp_path / "stranger.out").read_text()
