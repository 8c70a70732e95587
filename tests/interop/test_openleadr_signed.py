"""OpenADR 2.0b security end to end, RSA-2048 and ECDSA P-256: mutual TLS and XML signatures both ways, each
party in its own process.

* an openleadr 0.5.36 VEN (signing, and checking our replies against the VTN's fingerprint) against
  ``transactive vtn serve --tls-* --sign-cert --require-signatures --ven-fingerprint``: registration, an event
  the operator creates, modifies and cancels with ``vtn event`` over mutual TLS, the VEN's opt, its
  TELEMETRY_USAGE values; openleadr logs no signature, fingerprint or schema complaint;
* ``transactive ven run --protocol openadr`` (signing, checking the VTN's signatures and certificate) against
  openleadr's ``OpenADRServer`` with ``verify_message_signatures`` on and our VEN's fingerprint: the same
  sequence; and openleadr refuses a VEN whose TLS certificate is its own but who signs with another;
* ``ven run`` against ``vtn serve``, both signing and requiring signatures: the same sequence.

Every wait polls a condition against a deadline; every process is stopped at the end.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.interop.oadr_peers import OpenleadrVen, run_cli, start_ven, wait_for
from tests.interop.test_openleadr_vtn_peer import Peer, answers, assert_documents_valid, messages, start_peer
from tests.vtn.conftest import ROOT, VtnProcess, start_vtn
from transactive.protocol.certs import CertificateSet, Issued, create_set
from transactive.services.sqlite_store import SqliteStore
from transactive.transport.tls import client_context

pytestmark = pytest.mark.interop

__all__ = ["start_peer"]  # the openleadr VTN fixture, shared with test_openleadr_vtn_peer

WAIT = 30
#: what openleadr logs when a document fails its signature, fingerprint or schema check (or does not parse)
COMPLAINTS = ("signature", "fingerprint", "schema", "could not be parsed", "non-ok", "not registered")


@pytest.fixture(scope="module", params=["rsa", "ecdsa"])
def certs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    """A CA with the VTN, VENs ``ven-1`` and ``ven-2``, and the operator's client certificate."""
    return create_set(tmp_path_factory.mktemp(f"pki-{request.param}"), vtn="vtn", vens=["ven-1", "ven-2", "operator"],
                      key_type=request.param)


def _ven(certs: CertificateSet, name: str) -> Issued:
    return next(v for v in certs.vens if v.name == name)


def _ca(certs: CertificateSet) -> str:
    return str(certs.files(certs.ca)[0])


def _pair(certs: CertificateSet, issued: Issued) -> tuple[str, str]:
    cert, key = certs.files(issued)
    return str(cert), str(key)


def _complaints(ven: OpenleadrVen) -> list[str]:
    """openleadr's warnings and errors about signatures, fingerprints, schemas or refusals."""
    text = ven.stderr.read_text(errors="replace") if ven.stderr.exists() else ""
    return [line for line in text.splitlines() if line.startswith(("WARNING", "ERROR"))
            and any(word in line.lower() for word in COMPLAINTS)]


# ---- our VTN, signing and requiring signatures -----------------------------------------------------------


class SecureVtn:
    """``vtn serve`` over mutual TLS, signing its replies and requiring signatures, with its operator."""

    def __init__(self, certs: CertificateSet, data: Path, allowed: tuple[str, ...]) -> None:
        self.certs, self.data = certs, data
        cert, key = _pair(certs, certs.vtn)
        pins = [a for name in allowed for a in ("--ven-fingerprint", f"{name}={_ven(certs, name).fingerprint}")]
        self.process: VtnProcess = start_vtn(
            data, "--oadr-poll-seconds", "1", "--tls-cert", cert, "--tls-key", key, "--tls-ca", _ca(certs),
            "--sign-cert", cert, "--sign-key", key, "--require-signatures", *pins)
        self.url = self.process.url
        assert self.url.startswith("https://"), self.url

    def operator_tls(self) -> list[str]:
        cert, key = _pair(self.certs, _ven(self.certs, "operator"))
        return ["--tls-ca", _ca(self.certs), "--tls-cert", cert, "--tls-key", key]

    def event(self, action: str, *args: str) -> Any:
        """``vtn event ACTION ... --json`` over mutual TLS."""
        out = run_cli("vtn", "event", action, *args, "--vtn", self.url, "--operator-token",
                      f"@{self.data / 'operator.token'}", *self.operator_tls(), "--json")
        assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
        return json.loads(out.stdout)

    def listed(self, event_id: str) -> dict[str, Any]:
        found: dict[str, Any] = {e["event_id"]: e for e in self.event("list")}[event_id]
        return found

    def vens(self) -> list[dict[str, Any]]:
        """``GET /operator/openadr/vens`` over mutual TLS."""
        cert, key = _pair(self.certs, _ven(self.certs, "operator"))
        context: ssl.SSLContext = client_context(Path(_ca(self.certs)), cert=Path(cert), key=Path(key))
        token = (self.data / "operator.token").read_text().strip()
        request = urllib.request.Request(self.url + "/operator/openadr/vens",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            vens: list[dict[str, Any]] = json.loads(response.read())
        return vens

    def stored_values(self, ven_id: str, *, at_least: int = 0) -> list[float] | None:
        """The report values the VTN stored for ``ven_id`` (None: fewer than ``at_least``)."""
        store = SqliteStore(self.data / "vtn.db", read_only=True)
        try:
            values = [float(json.loads(r.value)) for r in store.report_values() if r.ven_id == ven_id]
        finally:
            store.close()
        return values if len(values) >= at_least else None

    def stop(self) -> None:
        self.process.kill()


@pytest.fixture
def secure_vtn(certs: CertificateSet, tmp_path: Path) -> Iterator[Callable[..., SecureVtn]]:
    started: list[SecureVtn] = []

    def start(*allowed: str) -> SecureVtn:
        vtn = SecureVtn(certs, tmp_path / "vtn", allowed)
        started.append(vtn)
        return vtn

    yield start
    for vtn in started:
        vtn.stop()


def _event_sequence(vtn: SecureVtn, seen: Callable[..., Any], opt: Callable[[str], Any]) -> str:
    """The operator creates an event, sees it reach the VEN and the VEN opt in, modifies it and cancels it,
    each time waiting for the VEN to follow (``seen(event_id, **fields)``, ``opt(event_id)``)."""
    created = vtn.event("create", "--signal", "SIMPLE", "--start", "now+PT2M", "--intervals", "PT10M:1,PT10M:2")
    event_id: str = created["event_id"]
    assert (created["modification_number"], created["status"]) == (0, "far")
    wait_for(partial(seen, event_id, modification_number=0), WAIT, "the VEN to get the event")
    assert wait_for(partial(opt, event_id), WAIT, "the VEN's opt") == "optIn"
    assert vtn.event("modify", event_id, "--intervals", "PT5M:3")["modification_number"] == 1
    wait_for(partial(seen, event_id, modification_number=1), WAIT, "the VEN to get the modified event")
    cancelled = vtn.event("cancel", event_id)
    assert (cancelled["modification_number"], cancelled["status"]) == (2, "cancelled")
    wait_for(partial(seen, event_id, modification_number=2, status="cancelled"), WAIT,
             "the VEN to drop the cancelled event")
    assert vtn.listed(event_id)["status"] == "cancelled"
    return event_id


def test_an_openleadr_ven_and_our_vtn_over_mutual_tls_with_signatures_both_ways(
        openleadr_python: Path, certs: CertificateSet, secure_vtn: Callable[..., SecureVtn], tmp_path: Path) -> None:
    vtn = secure_vtn("ven-1")
    cert, key = _pair(certs, _ven(certs, "ven-1"))
    ven = start_ven(openleadr_python, vtn.url, "ven-1", tmp_path, "--cert", cert, "--key", key, "--ca", _ca(certs),
                    "--vtn-fingerprint", certs.vtn.fingerprint)
    try:
        wait_for(ven.registrations, WAIT, "ven-1 to register")
        (registered,) = [v for v in vtn.vens() if v["active"]]
        assert (registered["ven_name"], registered["ven_id"]) == ("ven-1", ven.ven_id)
        assert registered["fingerprint"] == _ven(certs, "ven-1").fingerprint  # bound to its certificate

        event_id = _event_sequence(vtn, ven.saw, lambda e: vtn.listed(e)["opts"].get("ven-1"))
        assert ven.saw(event_id, values=[3.0]) is not None
        values = wait_for(partial(vtn.stored_values, ven.ven_id, at_least=2), WAIT,
                          "two TELEMETRY_USAGE values")
        assert set(values) <= set(ven.report_values())
        assert len(ven.registrations()) == 1
        assert ven.proc.poll() is None, "the openleadr VEN exited"
    finally:
        ven.stop()
    assert _complaints(ven) == []


# ---- our VEN, signing, against openleadr's VTN verifying signatures -----------------------------------------


def _start_our_ven(tmp_path: Path, url: str, party: str, *extra: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{party}.out").open("a") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr", "--vtn", url,
             "--party", party, "--personality", "load", "--state-dir", str(tmp_path / f"{party}-state"),
             "--record", str(tmp_path / f"{party}.jsonl"), "--poll-seconds", "1", *extra],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise


def _records(tmp_path: Path, party: str) -> list[dict[str, Any]]:
    path = tmp_path / f"{party}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _our_ven_flags(certs: CertificateSet, tls_as: str, sign_as: str) -> list[str]:
    tls_cert, tls_key = _pair(certs, _ven(certs, tls_as))
    sign_cert, sign_key = _pair(certs, _ven(certs, sign_as))
    return ["--tls-ca", _ca(certs), "--tls-cert", tls_cert, "--tls-key", tls_key, "--vtn-fingerprint",
            certs.vtn.fingerprint, "--sign-cert", sign_cert, "--sign-key", sign_key]


def test_our_ven_and_openleadr_s_vtn_verifying_signatures_and_refusing_another_signer(
        start_peer: Callable[..., Peer], certs: CertificateSet, tmp_path: Path) -> None:
    vtn_cert, vtn_key = _pair(certs, certs.vtn)
    peer = start_peer("--poll-seconds", "1", "--report-seconds", "1", "--tls-cert", vtn_cert, "--tls-key", vtn_key,
                      "--tls-ca", _ca(certs), "--sign-cert", vtn_cert, "--sign-key", vtn_key, "--verify-signatures",
                      *(a for n in ("ven-1", "ven-2")
                        for a in ("--ven-fingerprint", f"{n}={_ven(certs, n).fingerprint}")))
    assert peer.url.startswith("https://")
    ven = _start_our_ven(tmp_path, peer.url, "ven-1", *_our_ven_flags(certs, "ven-1", "ven-1"))
    try:
        registration = peer.wait("the registration", lambda log: [e for e in log if e["kind"] == "registration"])[0]
        assert (registration["ven_id"], registration["fingerprint"]) == (
            "ven-id-ven-1", _ven(certs, "ven-1").fingerprint)
        peer.wait("a poll", lambda log: messages(log, "oadrPoll"))
        peer.command(op="add", ven_id="ven-id-ven-1", event_id="shed-1", signal_name="SIMPLE", signal_type="level",
                     values=[2], interval_seconds=60, start_in_seconds=60)
        peer.wait("the opt", lambda log: answers(log, "shed-1") == [(0, "optIn")])
        opts = peer.wait("the opt callback", lambda log: [e["opt_type"] for e in log if e["kind"] == "opt"])
        assert opts == ["optIn"]
        peer.wait("TELEMETRY_USAGE values", lambda log: len([e for e in log if e["kind"] == "report"]) >= 2)
        peer.command(op="modify", ven_id="ven-id-ven-1", event_id="shed-1", values=[3])
        peer.wait("the answer to the modified event", lambda log: (1, "optIn") in answers(log, "shed-1"))
        peer.command(op="cancel", ven_id="ven-id-ven-1", event_id="shed-1")
        dropped = wait_for(lambda: [r for r in _records(tmp_path, "ven-1") if r["kind"] == "dropped"], WAIT,
                           "our VEN to drop the cancelled event")
        assert [(d["event_id"], d["status"]) for d in dropped] == [("shed-1", "cancelled")]
        events = [(r["event_id"], r["modification_number"], r["opt"]) for r in _records(tmp_path, "ven-1")
                  if r["kind"] == "event"]
        assert events == [("shed-1", 0, "optIn"), ("shed-1", 1, "optIn")]
    finally:
        code = _stop(ven)
    assert code == 0, (tmp_path / "ven-1.out").read_text()
    kinds = assert_documents_valid(peer)
    assert {"oadrCreatePartyRegistration", "oadrRegisterReport", "oadrPoll", "oadrCreatedEvent",
            "oadrUpdateReport"} <= kinds
    for document in peer.documents():  # every document our VEN sent was signed (and openleadr verified it)
        assert b"http://www.w3.org/2000/09/xmldsig#" in document.read_bytes(), document.name

    # ven-2 connects with its own TLS certificate but signs with ven-1's: openleadr refuses it once it has a venID
    handled = len(peer.log())
    wrong = _start_our_ven(tmp_path, peer.url, "ven-2", *_our_ven_flags(certs, "ven-2", "ven-1"))
    try:
        assert wrong.wait(WAIT) == 1
    finally:
        _stop(wrong)
    said = (tmp_path / "ven-2.out").read_text()
    assert "the VTN refused" in said, said
    assert "(code 463)" in said, said
    assert _ven(certs, "ven-1").fingerprint in said  # the signer openleadr refused
    later = peer.log()[handled:]
    assert [e["ven_id"] for e in later if e["kind"] == "registration"] == ["ven-id-ven-2"]
    # nothing ven-2 sent with its venID reached openleadr's handlers (its registration names none)
    assert [m["type"] for m in later if m["kind"] == "message" and m.get("ven_name") == "ven-2"] == [
        "oadrCreatePartyRegistration"]
    assert [m["type"] for m in later if m["kind"] == "message" and m.get("ven_id") == "ven-id-ven-2"] == []


# ---- our VEN against our VTN, both signing ---------------------------------------------------------------


def test_our_ven_and_our_vtn_over_mutual_tls_with_signatures_both_ways(
        certs: CertificateSet, secure_vtn: Callable[..., SecureVtn], tmp_path: Path) -> None:
    vtn = secure_vtn("ven-1")
    ven = _start_our_ven(tmp_path, vtn.url, "ven-1", *_our_ven_flags(certs, "ven-1", "ven-1"))
    try:
        (registered,) = wait_for(lambda: [v for v in vtn.vens() if v["active"]], WAIT, "ven-1 to register")
        assert registered["fingerprint"] == _ven(certs, "ven-1").fingerprint

        def seen(event_id: str, **expected: Any) -> dict[str, Any] | None:
            kinds = ("dropped",) if expected.get("status") == "cancelled" else ("event",)
            found = [r for r in _records(tmp_path, "ven-1") if r["kind"] in kinds and r["event_id"] == event_id]
            number = expected.get("modification_number")
            return found[-1] if found and (number is None or found[-1]["modification_number"] == number) else None

        event_id = _event_sequence(vtn, seen, lambda e: vtn.listed(e)["opts"].get("ven-1"))
        opts = [(r["modification_number"], r["opt"]) for r in _records(tmp_path, "ven-1")
                if r["kind"] == "event" and r["event_id"] == event_id]
        assert opts == [(0, "optIn"), (1, "optIn")]
        values = wait_for(partial(vtn.stored_values, registered["ven_id"], at_least=2), WAIT,
                          "two TELEMETRY_USAGE values")
        metered = {r["power_w"] for r in _records(tmp_path, "ven-1") if r["kind"] == "power"}
        assert set(values) <= metered
        assert ven.poll() is None, (tmp_path / "ven-1.out").read_text()
    finally:
        code = _stop(ven)
    assert code == 0, (tmp_path / "ven-1.out").read_text()
