"""Push VENs (``oadrHttpPullModel`` false): a real ``vtn serve`` posts what waits for the VEN to the VEN's
transport address — its METADATA report, its events as they change — and takes the VEN's answers in the
responses (``oadrCreatedEvent`` is recorded as its opt); a VEN that cannot be reached is retried until it can,
and nothing meant for it is lost meanwhile."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.vtn.conftest import ROOT, VtnProcess, start_vtn
from tests.vtn.oadr_probe import BASE, http, schema_valid
from transactive.codec import decode_xml, encode_xml
from transactive.ei.oadr import (
    EiResponse,
    EventResponse,
    OadrCreatedEvent,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrDistributeEvent,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrResponse,
    QualifiedEventID,
)
from transactive.model import Model

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PushVen:
    """An HTTP server that takes the VTN's pushes at ``{address}/OpenADR2/Simple/2.0b/{service}``, answers
    them as a VEN does, and keeps what it received (in a thread with its own event loop)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.address = f"http://127.0.0.1:{port}"
        self.ven_id = ""
        self.received: list[tuple[str, Model]] = []
        self.loop = asyncio.new_event_loop()
        self.runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        schema_valid(body)
        message: Model = decode_xml(body)
        self.received.append((request.match_info["service"], message))
        if isinstance(message, OadrDistributeEvent):
            answers = []
            for e in message.events:
                qualified = QualifiedEventID(event_id=e.event.descriptor.event_id,
                                             modification_number=e.event.descriptor.modification_number)
                answers.append(EventResponse(response_code=200, request_id=message.request_id,
                                             opt_type="optIn", qualified_event_id=qualified))  # type: ignore[arg-type]
            reply: Model = OadrCreatedEvent(response=EiResponse(response_code=200, request_id=message.request_id),
                                            event_responses=tuple(answers), ven_id=self.ven_id)
        elif isinstance(message, OadrRegisterReport):
            reply = OadrRegisteredReport(response=EiResponse(response_code=200, request_id=message.request_id),
                                         ven_id=self.ven_id)
        else:
            reply = OadrResponse(response=EiResponse(response_code=200, request_id=""), ven_id=self.ven_id)
        return web.Response(body=encode_xml(reply), content_type="application/xml")

    def start(self) -> None:
        async def go() -> None:
            app = web.Application()
            app.router.add_post(BASE + "/{service}", self._handle)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def stop(self) -> None:
        async def down() -> None:
            if self.runner is not None:
                await self.runner.cleanup()
                self.runner = None
        asyncio.run_coroutine_threadsafe(down(), self.loop).result(10)

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def kinds(self) -> list[str]:
        return [type(m).__name__ for _service, m in self.received]

    def events(self) -> list[tuple[str, int, str]]:
        """(eventID, modificationNumber, status) of every event pushed, in order."""
        found = []
        for _service, message in self.received:
            if isinstance(message, OadrDistributeEvent):
                for e in message.events:
                    d = e.event.descriptor
                    found.append((d.event_id, d.modification_number, str(d.event_status)))
        return found


def wait(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def vtn(tmp_path: Path, vtn_store: str | None) -> Iterator[VtnProcess]:
    process = start_vtn(tmp_path / "vtn", "--oadr-poll-seconds", "1", store=vtn_store)
    try:
        yield process
    finally:
        process.kill()


def operator(vtn: VtnProcess, *args: str) -> dict[str, object]:
    token = Path(vtn.log).parent / "vtn" / "operator.token"
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "event", *args, "--vtn", vtn.url,
                          "--operator-token", f"@{token}", "--json"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_a_push_ven_is_sent_its_events_and_its_answers_are_recorded(vtn: VtnProcess) -> None:
    ven = PushVen(free_port())
    ven.start()
    try:
        registration = OadrCreatePartyRegistration(request_id="r1", ven_name="push-1", http_pull_model=False,
                                                   transport_address=ven.address)
        answer = http(f"{vtn.url}{BASE}/EiRegisterParty", encode_xml(registration))
        reply = decode_xml(answer.body)
        assert isinstance(reply, OadrCreatedPartyRegistration)
        assert reply.ven_id is not None
        ven.ven_id = reply.ven_id
        # the VTN's METADATA report reaches the VEN without a poll, at the EiReport service
        wait(lambda: "OadrRegisterReport" in ven.kinds(), 20, "the VTN's METADATA report to be pushed")
        assert ("EiReport", OadrRegisterReport) in [(s, type(m)) for s, m in ven.received]
        created = operator(vtn, "create", "--signal", "SIMPLE", "--start", "now+PT1H", "--intervals", "PT10M:1")
        event_id = str(created["event_id"])
        wait(lambda: (event_id, 0, "far") in ven.events(), 20, "the event to be pushed")
        assert [s for s, m in ven.received if isinstance(m, OadrDistributeEvent)] == ["EiEvent"]
        # the VEN's oadrCreatedEvent came back in the push response: its opt is recorded
        def opted_in() -> dict[str, object] | None:
            for e in operator_list(vtn):
                opts = e["opts"]
                if e["event_id"] == event_id and isinstance(opts, dict) and opts.get("push-1") == "optIn":
                    return e
            return None

        listed = wait(opted_in, 20, "the opt to be recorded")
        assert listed["modification_number"] == 0
        operator(vtn, "modify", event_id, "--intervals", "PT20M:2")
        wait(lambda: (event_id, 1, "far") in ven.events(), 20, "the modified event to be pushed")
        # unreachable: the VTN keeps what it has for the VEN and sends it when the VEN is back
        ven.stop()
        operator(vtn, "cancel", event_id)
        import time
        time.sleep(2)
        assert (event_id, 2, "cancelled") not in ven.events()
        ven.start()
        wait(lambda: (event_id, 2, "cancelled") in ven.events(), 30, "the cancellation to be pushed after the outage")
    finally:
        ven.close()


def operator_list(vtn: VtnProcess) -> list[dict[str, object]]:
    token = Path(vtn.log).parent / "vtn" / "operator.token"
    out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "event", "list", "--vtn", vtn.url,
                          "--operator-token", f"@{token}", "--json"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    listed: list[dict[str, object]] = json.loads(out.stdout)
    return listed
