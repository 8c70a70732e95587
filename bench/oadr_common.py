"""What the OpenADR 2.0b benchmarks share (:mod:`oadr_bench`, :mod:`oadr_signed`): the two VTNs, each in its
own process, the documents both get, and reading a reply's EI code."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from vtn_bench import _terminate  # noqa: E402  (bench/ is on the path only from here)

OPENLEADR_PY = Path(os.environ.get("OPENLEADR_PYTHON", ROOT / ".venv-openleadr" / "bin" / "python"))
OPENLEADR_VTN = ROOT / "interop" / "openleadr_peer" / "bench_vtn.py"
BASE_PATH = "/OpenADR2/Simple/2.0b"
SYSTEMS = ("transactive", "openleadr")
GOALS = {"poll_ratio": 3.0, "registration_speedup": 5.0}
_CODE = re.compile(rb"responseCode>(\d+)<")
_VEN_ID = re.compile(rb"venID>([^<]+)<")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wrk_name(version: str) -> str:
    """``wrk 4.1.0`` from ``wrk --version``'s first line (``wrk debian/4.1.0-3+b2 [epoll] ...``)."""
    match = re.match(r"wrk (?:\S+/)?(\d[\w.]*)", version)
    return "wrk" if match is None else f"wrk {match.group(1).split('-')[0]}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


# ---- the two VTNs, each in its own process -----------------------------------------------------------------


class Server:
    """A VTN process; ``url`` is its 2.0b services' base (``.../OpenADR2/Simple/2.0b``)."""

    name: str
    url: str
    proc: subprocess.Popen[Any]

    def stop(self) -> None:
        _terminate(self.proc)


class OursServer(Server):
    name = "transactive"

    def __init__(self, data_dir: Path, extra: list[str] | None = None) -> None:
        port = free_port()
        self.out = data_dir.parent / f"{data_dir.name}.out"
        self.err = data_dir.parent / f"{data_dir.name}.err"
        with open(self.out, "wb") as stdout, open(self.err, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "transactive.cli", "vtn", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--data-dir", str(data_dir), "--oadr-poll-seconds", "10",
                 "--registrations-per-minute", "1000000", "--log-level", "WARNING", *(extra or [])],
                stdout=stdout, stderr=stderr, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "listening on " in self.out.read_text():
                self.url = f"{'https' if extra else 'http'}://127.0.0.1:{port}{BASE_PATH}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"transactive vtn serve did not start: {self.err.read_text()[-2000:]}")


class OpenleadrServer(Server):
    name = "openleadr"

    def __init__(self, extra: list[str] | None = None) -> None:
        #: openleadr's replay-check refusals by reason (``bench_vtn.py`` prints them when it stops)
        self.refusals: dict[str, int] = {}
        if not OPENLEADR_PY.exists():
            subprocess.run(["bash", str(ROOT / "interop" / "openleadr_peer" / "make_venv.sh")], check=False)
        if not OPENLEADR_PY.exists():
            raise RuntimeError(f"no openleadr environment ({OPENLEADR_PY}; set OPENLEADR_PYTHON)")
        self.proc = subprocess.Popen([str(OPENLEADR_PY), str(OPENLEADR_VTN), "--port", str(free_port()),
                                      *(extra or [])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # openleadr prints a banner first
            if line.startswith("READY "):
                ready = json.loads(line[6:])
                self.url, self.version = ready["url"], ready["openleadr"]
                return
        self.stop()
        raise RuntimeError("openleadr's VTN did not start")

    def stop(self) -> None:
        super().stop()
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            for line in self.proc.stdout.read().splitlines():
                if line.startswith("REFUSALS "):
                    self.refusals = json.loads(line[9:])
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def start(name: str, tmp: Path, round_no: int) -> Server:
    return OursServer(tmp / f"data-{round_no}") if name == "transactive" else OpenleadrServer()


# ---- the documents (built once, before timing; the same bytes to both servers) -----------------------------


def registration_documents(n: int) -> list[tuple[bytes, bytes]]:
    """Per VEN: its ``oadrQueryRegistration`` and ``oadrCreatePartyRegistration`` (a pull VEN, unsigned)."""
    from transactive.codec import encode_xml
    from transactive.ei.oadr import OadrCreatePartyRegistration, OadrQueryRegistration
    from transactive.ei.oadr.enums import ProfileName, TransportName

    return [(encode_xml(OadrQueryRegistration(request_id=f"query-{i:06d}")),
             encode_xml(OadrCreatePartyRegistration(
                 request_id=f"create-{i:06d}", profile_name=ProfileName.V2_0B,
                 transport_name=TransportName.SIMPLE_HTTP, report_only=False, xml_signature=False,
                 ven_name=f"bench-ven-{i:06d}", http_pull_model=True)))
            for i in range(n)]


def poll_document(ven_id: str) -> bytes:
    from transactive.codec import encode_xml
    from transactive.ei.oadr import OadrPoll

    return encode_xml(OadrPoll(ven_id=ven_id))


def reply_code(body: bytes) -> int | None:
    match = _CODE.search(body)
    return None if match is None else int(match.group(1))

def summarize(per_round: list[dict[str, dict[str, Any]]], key: str) -> dict[str, Any]:
    values = {name: [r[name][key] for r in per_round] for name in SYSTEMS}
    return {"per_round": values, "median": {name: statistics.median(v) for name, v in values.items()}}
