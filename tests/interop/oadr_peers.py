"""Real processes for the OpenADR 2.0b interop tests: ``transactive vtn serve`` with its OpenADR role, openleadr
VENs (``interop/openleadr_peer/ven_client.py`` in openleadr's own virtual environment), and the operator's
``transactive vtn event`` / ``vtn report`` commands, each a subprocess. What a VEN saw is read from the JSON
lines it logs; every wait polls a condition against a deadline."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.interop.conftest import PEER
from tests.vtn.conftest import ROOT, VtnProcess, start_vtn

T = TypeVar("T")

#: what openleadr logs when a document from the VTN fails its schema check or does not parse
SCHEMA_COMPLAINTS = ("did not pass XML schema validation", "could not be parsed")


def wait_for(condition: Callable[[], T | None], timeout: float, what: str, *, every: float = 0.2) -> T:
    """``condition()``'s first truthy value, polled until ``timeout`` seconds have passed (then fail naming
    ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def start_openleadr_vtn(python: Path, workdir: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """openleadr's VTN (``interop/openleadr_peer/vtn_server.py``) in ``workdir`` (made here), once it said where it
    listens: the process and its URL. The caller stops it (:func:`stop_all`)."""
    workdir.mkdir()
    with (workdir / "stderr.txt").open("w") as errors:  # the child keeps its own descriptor
        process = subprocess.Popen([str(python), str(PEER / "vtn_server.py"), str(workdir), *extra],
                                   stdout=subprocess.DEVNULL, stderr=errors, text=True)
    deadline = time.monotonic() + 30
    while not (workdir / "ready.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the openleadr VTN did not start:\n{(workdir / 'stderr.txt').read_text()}")
        time.sleep(0.1)
    return process, str(json.loads((workdir / "ready.json").read_text())["url"])


def stop_all(processes: list[subprocess.Popen[str]]) -> None:
    """SIGTERM each, and SIGKILL one that has not stopped within 10 s."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class OpenleadrVen:
    """An openleadr ``OpenADRClient`` in its own process."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    stderr: Path

    def lines(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # the line being written
                continue
        return out

    def registrations(self) -> list[dict[str, Any]]:
        return [x for x in self.lines() if x["kind"] == "registered"]

    @property
    def ven_id(self) -> str:
        registered = self.registrations()
        assert registered, f"{self.name} has not registered"
        return str(registered[0]["ven_id"])

    def events(self, event_id: str) -> list[dict[str, Any]]:
        """Every time the VEN was handed ``event_id`` (in order)."""
        return [x for x in self.lines() if x["kind"] == "event" and x["event_id"] == event_id]

    def saw(self, event_id: str, **expected: Any) -> dict[str, Any] | None:
        """The last copy of the event the VEN was handed, if it has the ``expected`` fields."""
        seen = self.events(event_id)
        if seen and all(seen[-1].get(k) == v for k, v in expected.items()):
            return seen[-1]
        return None

    def report_values(self) -> list[float]:
        return [float(x["value"]) for x in self.lines() if x["kind"] == "report"]

    def schema_complaints(self) -> list[str]:
        text = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        return [line for line in text.splitlines() if any(c in line for c in SCHEMA_COMPLAINTS)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def start_ven(python: Path, vtn_url: str, name: str, workdir: Path, *extra: str, opt: str = "optIn") -> OpenleadrVen:
    """``ven_client.py --vtn URL/OpenADR2/Simple/2.0b --name NAME --opt OPT EXTRA`` (does not wait for it);
    ``extra``: e.g. ``--cert F --key F --ca F --vtn-fingerprint FP``."""
    log = workdir / f"{name}.jsonl"
    err = workdir / f"{name}.err"
    with open(workdir / f"{name}.out", "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen([str(python), str(PEER / "ven_client.py"), "--vtn", f"{vtn_url}/OpenADR2/Simple/2.0b",
                                 "--name", name, "--log", str(log), "--opt", opt, *extra],
                                stdout=stdout, stderr=stderr, cwd=workdir)
    return OpenleadrVen(name, proc, log, err)


@dataclass
class Deployment:
    """A ``vtn serve`` with its OpenADR role and the openleadr VENs polling it; everything is stopped by
    :meth:`stop`."""

    python: Path
    data: Path
    workdir: Path
    vtn: VtnProcess
    vens: dict[str, OpenleadrVen] = field(default_factory=dict)
    stopped: list[VtnProcess] = field(default_factory=list)

    @property
    def token_file(self) -> Path:
        return self.data / "operator.token"

    def add_ven(self, name: str, opt: str) -> OpenleadrVen:
        ven = start_ven(self.python, self.vtn.url, name, self.workdir, opt=opt)
        self.vens[name] = ven
        return ven

    def restart(self, *, port: int) -> VtnProcess:
        """Start ``vtn serve`` again on the same data directory and port (the VENs keep their URL)."""
        self.stopped.append(self.vtn)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.vtn = start_vtn(self.data, "--port", str(port), *VTN_FLAGS, log_name="vtn-restarted")
                return self.vtn
            except AssertionError as exc:  # the port may not be free at once after a SIGKILL
                if "in use" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        for ven in self.vens.values():
            ven.stop()
        for vtn in (*self.stopped, self.vtn):
            if vtn.proc.poll() is None:
                vtn.proc.kill()
                vtn.proc.wait(10)

    # -- the operator, through the CLI --

    def event(self, action: str, *args: str, expect: int = 0) -> Any:
        """``transactive vtn event ACTION ... --json``; its JSON output (the exit code must be ``expect``)."""
        out = run_cli("vtn", "event", action, *args, "--vtn", self.vtn.url, "--operator-token",
                      f"@{self.token_file}", "--json")
        assert out.returncode == expect, (out.returncode, out.stdout, out.stderr)
        return json.loads(out.stdout) if expect == 0 else out

    def listed(self) -> dict[str, dict[str, Any]]:
        """``vtn event list --json`` by event id."""
        return {e["event_id"]: e for e in self.event("list")}

    def report(self) -> dict[str, Any]:
        out = run_cli("vtn", "report", "--data-dir", str(self.data), "--json")
        assert out.returncode == 0, out.stderr
        report: dict[str, Any] = json.loads(out.stdout)
        return report


#: the OpenADR flags every deployment runs with: openleadr is asked to poll every second
VTN_FLAGS = ("--oadr-poll-seconds", "1")


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m transactive.cli ARGS`` from the worktree (the copy of transactive under test)."""
    return subprocess.run([sys.executable, "-m", "transactive.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, check=False)


def deploy(python: Path, workdir: Path, vens: dict[str, str]) -> Deployment:
    """A VTN on a free port and one openleadr VEN per ``name: opt``, all registered (``stop()`` it)."""
    data = workdir / "vtn"
    vtn = start_vtn(data, *VTN_FLAGS)
    deployment = Deployment(python, data, workdir, vtn)
    try:
        for name, opt in vens.items():
            deployment.add_ven(name, opt)
        for ven in deployment.vens.values():
            wait_for(ven.registrations, 45, f"{ven.name} to register")
    except BaseException:
        deployment.stop()
        raise
    return deployment
