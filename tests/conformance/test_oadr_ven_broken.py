"""Each ``listen --role ven`` case can fail: a stand-in VEN that breaks one rule makes exactly that case fail.

The stand-in is transactive's VEN client (in this process) with one thing broken: one outgoing document
altered before it is signed and sent, or one behaviour switched off. Everything else it does conforms, so
the failed set is the one case that checks the broken rule. A VEN that never comes fails the cases, saying
what was awaited, and the run returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.oadr_ven_run import explain, listen_with, results
from tests.pki import make_pki
from transactive.ei.oadr import (
    OadrCanceledPartyRegistration,
    OadrCanceledReport,
    OadrCancelOpt,
    OadrCreatedEvent,
    OadrCreatedReport,
    OadrMessage,
    OadrPoll,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrRequestReregistration,
    OadrUpdateReport,
    OptType,
    SamplingRate,
)
from transactive.interop.conformance.model import Options, Report, Result
from transactive.interop.conformance.rules import OADR_SCHEMA, WELL_FORMED
from transactive.protocol.certs import fingerprint
from transactive.protocol.oadr import Service
from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier
from transactive.ven.oadr import core
from transactive.ven.oadr.client import OadrVenClient
from transactive.ven.oadr.core import OadrVen, Step
from transactive.ven.oadr.events import ReceivedEvent

Tamper = Callable[[OadrMessage], OadrMessage | None]


@dataclass
class Breakage:
    """What the stand-in VEN gets wrong: ``tamper`` alters (returns a changed copy of) outgoing messages, once
    unless ``every``; ``raw`` alters the encoded bytes of the first message it changes; ``client`` sets the
    client up (e.g. a poll frequency)."""

    tamper: Tamper | None = None
    every: bool = False
    raw: Callable[[bytes], bytes] | None = None
    client: dict[str, Any] = field(default_factory=dict)
    signed: bool = False
    verify: bool = True
    #: the VEN's verifier forgets nonces (takes a replay for a fresh payload)
    replays: bool = False
    #: the cases to run (--cases; None: all)
    cases: str | None = None
    #: --timeout (a VEN that does not send what a case waits for costs this much)
    timeout: float = 4
    #: sent once, right after the VEN registered
    extra: Callable[[str], OadrMessage] | None = None


def _created_event(when: Callable[[OadrCreatedEvent], bool],
                   change: Callable[[OadrCreatedEvent], OadrMessage]) -> Tamper:
    def tamper(m: OadrMessage) -> OadrMessage | None:
        return change(m) if isinstance(m, OadrCreatedEvent) and when(m) else None

    return tamper


def _first_response(m: OadrCreatedEvent) -> Any:
    return m.event_responses[0] if m.event_responses else None


def _names(part: str) -> Callable[[OadrCreatedEvent], bool]:
    return lambda m: any(part in r.qualified_event_id.event_id for r in m.event_responses)


def _with_response(m: OadrCreatedEvent, **update: Any) -> OadrCreatedEvent:
    responses = tuple(r.model_copy(update=update) for r in m.event_responses)
    return m.model_copy(update={"event_responses": responses})


BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "a first registration that brings its own venID": (Breakage(client={"ven_id": "self-chosen"}), "N1_0010"),
    "polls with another venID": (Breakage(
        tamper=lambda m: m.model_copy(update={"ven_id": "someone-else"}) if isinstance(m, OadrPoll) else None,
        every=True), "N1_0020"),
    "an event answer without the distribution's requestID": (Breakage(tamper=_created_event(
        _names("kit-event"), lambda m: _with_response(m, request_id="not-the-distribution"))), "E1_0010"),
    "the wrong modificationNumber in the answer to a modified event": (Breakage(tamper=_created_event(
        lambda m: _first_response(m) is not None and _first_response(m).qualified_event_id.modification_number == 1,
        lambda m: _with_response(m, qualified_event_id=_first_response(m).qualified_event_id.model_copy(
            update={"modification_number": 0})))), "E1_0020"),
    "an error for a cancelled event it never knew": (Breakage(tamper=_created_event(
        _names("unknown-event"), lambda m: m.model_copy(update={"response": m.response.model_copy(
            update={"response_code": 452})}))), "E1_0040"),
    "an error in the answer to the cancellation of its event": (Breakage(tamper=_created_event(
        lambda m: _first_response(m) is not None and _first_response(m).qualified_event_id.modification_number == 2,
        lambda m: _with_response(m, response_code=452))), "E1_0030"),
    "report metadata registered as a telemetry report": (Breakage(
        tamper=lambda m: m.model_copy(update={"reports": tuple(r.model_copy(update={"report_name": "TELEMETRY_USAGE"})
                                                               for r in m.reports)})
        if isinstance(m, OadrRegisterReport) else None), "R1_0010"),
    "an oadrCreatedReport that does not echo the request": (Breakage(
        tamper=lambda m: m.model_copy(update={"response": m.response.model_copy(update={"request_id": "other"})})
        if isinstance(m, OadrCreatedReport) else None), "R1_0020"),
    "an oadrUpdateReport for a report nobody asked for": (Breakage(
        tamper=lambda m: m.model_copy(update={"reports": tuple(r.model_copy(update={"report_request_id": "unasked"})
                                                               for r in m.reports)})
        if isinstance(m, OadrUpdateReport) and m.reports else None), "R1_0030"),
    "an answer to a distribution from another VTN": (Breakage(), "E1_0050"),
    "an answer to an event with responseRequired never": (Breakage(), "E1_0060"),
    "no registration after oadrRequestReregistration": (Breakage(timeout=2.5), "N1_0030"),
    "a schema-invalid oadrRegisteredReport": (Breakage(
        tamper=lambda m: m if isinstance(m, OadrRegisteredReport) else None,
        raw=lambda b: b.replace(b"</oadr:oadrRegisteredReport>", b"<oadr:unheardOf/></oadr:oadrRegisteredReport>")),
        "R1_0040"),
    "an oadrCanceledReport that is not well-formed XML": (Breakage(
        tamper=lambda m: m if isinstance(m, OadrCanceledReport) else None,
        raw=lambda b: b.replace(b"</oadr:oadrCanceledReport>", b"</oadr:oadrCanceledRepor>")), "R1_0050"),
    "the wrong registrationID in oadrCanceledPartyRegistration": (Breakage(
        tamper=lambda m: m.model_copy(update={"registration_id": "another"})
        if isinstance(m, OadrCanceledPartyRegistration) else None), "N1_0040"),
    "cancelling an opt it never created": (Breakage(
        extra=lambda ven_id: OadrCancelOpt(request_id="c-1", opt_id="never-created", ven_id=ven_id)), "P1_0010"),
    "polling too often": (Breakage(client={"poll_seconds": 0.2}), "G1_0010"),
    "an unsigned poll when signing": (Breakage(tamper=lambda m: m if isinstance(m, OadrPoll) else None,
                                               signed=True), "G1_0050"),
    "acting on a distribution whose signature does not verify": (Breakage(
        signed=True, verify=False, cases="N*,R*,E*,G1_0010,G1_0050,G1_0060"), "G1_0060"),  # it takes replays too
    "acting on a replayed signed payload": (Breakage(signed=True, replays=True), "G1_0070"),
}


def _misbehave(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The breakages that are behaviour, not a document."""
    if name == "an answer to a distribution from another VTN":
        monkeypatch.setattr(OadrVen, "_check_vtn", lambda self, vtn_id: None)
    elif name == "an answer to an event with responseRequired never":
        monkeypatch.setattr(ReceivedEvent, "response_required", property(lambda self: True))
    elif name == "no registration after oadrRequestReregistration":
        def acknowledge_only(ven: OadrVen, message: OadrMessage, now: Any) -> Step:
            step = OadrVen._on_reregistration(ven, message, now)
            return Step(send=step.send)

        monkeypatch.setitem(core.HANDLERS, OadrRequestReregistration, acknowledge_only)


class _Forgetful:
    """A nonce store that has seen nothing, ever."""

    def seen(self, nonce: str, at: datetime) -> bool:
        return False


@dataclass
class _Tampering:
    breakage: Breakage
    done: bool = False
    signer: OadrSigner | None = None

    def encoder(self, original: Callable[[OadrMessage], bytes]) -> Callable[[OadrMessage], bytes]:
        from transactive.codec import encode_xml

        def encode(message: OadrMessage) -> bytes:
            changed = None if self.done or self.breakage.tamper is None else self.breakage.tamper(message)
            if changed is None:
                return original(message)
            self.done = not self.breakage.every
            document = encode_xml(changed)
            if self.breakage.raw is not None:
                document = self.breakage.raw(document)
            if self.signer is not None and not (self.breakage.signed and isinstance(message, OadrPoll)):
                document = self.signer.sign(document)
            return document

        return encode


async def _once_registered(client: OadrVenClient, extra: Callable[[str], OadrMessage]) -> None:
    while client.ven_id is None:
        await asyncio.sleep(0.05)
    await client.send(Service.OPT, extra(client.ven_id))


async def run_broken(breakage: Breakage, tmp_path: Path) -> Report:
    timeout = breakage.timeout
    signer = verifier = None
    options = Options(timeout=timeout, cases=breakage.cases)
    fingerprint_ = None
    if breakage.signed:
        pki = make_pki(tmp_path / "pki")
        vtn_cert, vtn_key = pki.pair("vtn")
        ven_cert, ven_key = pki.pair("ven-1")
        options = Options(timeout=timeout, sign_cert=vtn_cert, sign_key=vtn_key, cases=breakage.cases)
        signer = OadrSigner(ven_cert.read_bytes(), ven_key.read_bytes())
        if breakage.verify:
            nonces = _Forgetful() if breakage.replays else None
            verifier, fingerprint_ = OadrVerifier(nonces=nonces), fingerprint(vtn_cert.read_bytes())
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    clients: list[OadrVenClient] = []

    def start(url: str) -> None:
        client = OadrVenClient(url, "stand-in", signer=signer, verifier=verifier, vtn_fingerprint=fingerprint_,
                               timeout=5, retry_cap=1, **breakage.client)
        client.on_event(lambda event: OptType.OPT_IN)
        client.add_report(lambda: 1000.0, "meter-1", "power",
                          sampling_rate=SamplingRate(min_period=timedelta(seconds=1), max_period=timedelta(hours=1),
                                                     on_change=False))
        client.http.encode = _Tampering(breakage, signer=signer).encoder(client.http.encode)  # type: ignore[method-assign]
        clients.append(client)
        tasks.append(asyncio.create_task(client.run(stop)))
        if breakage.extra is not None:
            tasks.append(asyncio.create_task(_once_registered(client, breakage.extra)))

    try:
        return await listen_with(options, start)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            await client.close()


@pytest.mark.parametrize(("name", "case_id"), [(name, case_id) for name, (_, case_id) in BREAKAGES.items()],
                         ids=[case_id for _, case_id in BREAKAGES.values()])
async def test_a_ven_breaking_one_rule_fails_exactly_its_case(name: str, case_id: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _misbehave(name, monkeypatch)
    report = await run_broken(BREAKAGES[name][0], tmp_path)
    assert results(report, Result.FAIL) == {case_id}, explain(report)
    failed = next(o for o in report.outcomes if o.case.id == case_id)
    assert failed.broken in (*failed.case.rules, WELL_FORMED, OADR_SCHEMA)  # the rule the case checks was broken
    assert failed.evidence, "a failure carries the exchanges it was judged on"


async def test_a_ven_that_never_comes_fails_every_case_and_the_run_returns() -> None:
    began = time.monotonic()
    report = await listen_with(Options(timeout=0.5), lambda url: None)
    assert time.monotonic() - began < 10
    failed = results(report, Result.FAIL)
    assert "N1_0010" in failed
    first = next(o for o in report.outcomes if o.case.id == "N1_0010")
    assert first.detail.startswith("no registration request")
    assert "within 0.5 s" in first.detail
    later = next(o for o in report.outcomes if o.case.id == "E1_0010")
    assert later.result is Result.FAIL
    assert "the VEN has sent nothing" in later.detail
