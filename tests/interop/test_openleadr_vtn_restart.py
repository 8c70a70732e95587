"""SIGKILL ``vtn serve`` under openleadr VENs that are registered, have answered events and are reporting, and
start it again on the same data directory and port: what it acknowledged is still there, and the VENs carry on
as the same VENs (no new registration), polling, reporting and receiving new events."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.interop.oadr_peers import Deployment, deploy, run_cli, wait_for
from transactive.services.sqlite_store import SqliteStore

pytestmark = pytest.mark.interop

IN, OUT = "ven-in", "ven-out"
WAIT = 30


@pytest.fixture
def deployment(openleadr_python: Path, tmp_path: Path) -> Iterator[Deployment]:
    running = deploy(openleadr_python, tmp_path, {IN: "optIn", OUT: "optOut"})
    try:
        yield running
    finally:
        running.stop()


def _values(d: Deployment, *, since: datetime | None = None) -> dict[str, int]:
    """Per VEN name: the report values the store holds (received after ``since``)."""
    store = SqliteStore(d.data / "vtn.db", read_only=True)
    try:
        rows = store.report_values()
    finally:
        store.close()
    return {name: sum(1 for r in rows if r.ven_id == ven.ven_id and (since is None or r.received_at > since))
            for name, ven in d.vens.items()}


def _opts(d: Deployment, event_id: str, expected: dict[str, str]) -> bool:
    opts = d.listed()[event_id]["opts"]
    return all(opts.get(name) == opt for name, opt in expected.items())


def _seen(d: Deployment, event_id: str, names: tuple[str, ...] = (IN, OUT), **expected: Any) -> None:
    for name in names:
        wait_for(partial(d.vens[name].saw, event_id, **expected), WAIT, f"{name} to see {event_id} {expected}")


def _operator_vens(d: Deployment) -> dict[str, str]:
    request = urllib.request.Request(d.vtn.url + "/operator/openadr/vens", headers={
        "Authorization": f"Bearer {d.token_file.read_text().strip()}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return {v["ven_name"]: v["ven_id"] for v in json.loads(response.read()) if v["active"]}


def _stable(event: dict[str, Any]) -> dict[str, Any]:
    """What of a listed event must survive the restart unchanged."""
    return {k: event[k] for k in ("event_id", "modification_number", "status", "targets", "signals", "opts",
                                  "start", "response_required")}


def test_a_sigkilled_vtn_restarted_on_its_data_keeps_what_it_acknowledged_and_the_openleadr_vens_carry_on(
        deployment: Deployment) -> None:
    d = deployment
    both = {IN: "optIn", OUT: "optOut"}
    # events: one modified, one for ven-in only, one cancelled; the VENs' answers recorded
    modified = d.event("create", "--signal", "SIMPLE", "--start", "now+PT5M", "--intervals", "PT10M:1")["event_id"]
    _seen(d, modified, modification_number=0)
    d.event("modify", modified, "--intervals", "PT10M:2,PT10M:3")
    _seen(d, modified, modification_number=1, values=[2.0, 3.0])
    targeted = d.event("create", "--signal", "SIMPLE", "--start", "now+PT5M", "--intervals", "PT10M:4",
                       "--ven", IN)["event_id"]
    cancelled = d.event("create", "--signal", "SIMPLE", "--start", "now+PT5M", "--intervals", "PT10M:5")["event_id"]
    _seen(d, cancelled, modification_number=0)
    d.event("cancel", cancelled)
    _seen(d, cancelled, status="cancelled")
    wait_for(lambda: _opts(d, modified, both), WAIT, "the opts of the modified event")
    wait_for(lambda: _opts(d, targeted, {IN: "optIn"}), WAIT, "ven-in's opt of its event")
    wait_for(lambda: all(n >= 2 for n in _values(d).values()), WAIT, "report values from both VENs")
    # acknowledged just before the kill: nobody has been sent it yet
    last = d.event("create", "--signal", "SIMPLE", "--start", "now+PT5M", "--intervals", "PT10M:6")["event_id"]

    ven_ids = {name: ven.ven_id for name, ven in d.vens.items()}
    events_before = {k: _stable(v) for k, v in d.listed().items()}
    before = d.report()["openadr"]
    values_before = sum(_values(d).values())

    os.kill(d.vtn.proc.pid, signal.SIGKILL)
    assert d.vtn.proc.wait(10) == -signal.SIGKILL
    killed_at = datetime.now(UTC)
    port = urlsplit(d.vtn.url).port
    assert port is not None
    d.restart(port=port)

    # everything acknowledged before the kill is there
    events_after = {k: _stable(v) for k, v in d.listed().items()}
    assert events_after.keys() == events_before.keys()
    for event_id, event in events_before.items():
        if event_id != last:  # its opts may have come in since
            assert events_after[event_id] == event, event_id
    after = d.report()
    for key in ("vens", "events", "reports_registered"):
        assert after["openadr"][key] == before[key], key
    assert after["openadr"]["opt_ins"] >= before["opt_ins"]
    assert after["openadr"]["opt_outs"] >= before["opt_outs"]
    assert after["openadr"]["report_values"] >= values_before
    assert _operator_vens(d) == ven_ids

    # the VENs carry on as themselves: the event acknowledged before the kill, then new reports, a new event
    _seen(d, last, modification_number=0, values=[6.0])
    wait_for(lambda: all(n >= 2 for n in _values(d, since=killed_at).values()), WAIT,
             "report values from both VENs after the restart")
    fresh = d.event("create", "--signal", "SIMPLE", "--start", "now+PT5M", "--intervals", "PT10M:7")["event_id"]
    _seen(d, fresh, modification_number=0, values=[7.0])
    wait_for(lambda: _opts(d, fresh, both), WAIT, "the opts of the event created after the restart")
    assert d.vens[OUT].events(targeted) == []
    for name, ven in d.vens.items():
        assert len(ven.registrations()) == 1, f"{name} registered again"
        assert ven.ven_id == ven_ids[name]
        assert ven.proc.poll() is None, f"{name} exited"
        assert ven.schema_complaints() == [], name
    assert _operator_vens(d) == ven_ids

    report = d.report()
    assert report["ledger_valid"] is True
    verified = run_cli("ledger", "verify", str(d.data / "ledger.db"), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
