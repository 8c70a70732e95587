"""OpenADR 2.0b VTN benchmark: transactive's VTN side by side with openleadr's ``OpenADRServer``.

Each VTN runs in its own process on loopback: ours is ``transactive vtn serve --port P --data-dir TMP
--oadr-poll-seconds 10 --registrations-per-minute 1000000`` (a fresh data directory each round), openleadr's is
``interop/openleadr_peer/bench_vtn.py`` in openleadr's own virtual environment (plain HTTP, no certificate: it
neither signs nor checks signatures; it accepts every VEN and knows them through a ``ven_lookup``). Every
document sent is built once, before timing, by transactive's encoder, and both servers get the same bytes.

Each of ``--rounds`` rounds starts a fresh pair of servers and measures both, alternating which goes first:

1. **Registration**: ``--vens`` VENs (default 5,000), each ``oadrQueryRegistration`` then
   ``oadrCreatePartyRegistration`` with its own ``oadrVenName`` to ``EiRegisterParty``, from ``--clients``
   (default 50) concurrent keep-alive clients (aiohttp, in this process, which is neither server's). Timed: the
   wall clock from the first request to the last reply. Every reply must be HTTP 200 with EI response code 200,
   every registration must carry a venID, and the venIDs must be distinct, or the run fails.
2. **Unsigned oadrPoll round trips**: one of those VENs polls (after its first polls have taken what waited for
   it, e.g. our VTN's METADATA ``oadrRegisterReport``, so every later poll finds nothing waiting); then ``wrk -t1
   -c CLIENTS`` (C, its own process) posts that fixed ``oadrPoll`` document for ``--seconds`` (default 10)
   over CLIENTS keep-alive connections. A Lua ``response`` hook checks every reply: HTTP 200 and an
   ``oadrResponse`` with ``responseCode`` 200 (a server answering errors fast must not look fast); any other
   reply fails the run. The server's CPU time per reply comes from ``/proc/PID/stat`` before and after.
   Before loading, one poll reply from each server is checked against the OpenADR 2.0b XML schema.
3. **Signed polls over mutual TLS**, for each key type (``rsa``: RSA-2048, ``ecdsa``: ECDSA P-256): a throwaway
   CA, the VTN's certificate and ``ven-1``'s (``transactive.protocol.certs.create_set``). Each VTN alone, started
   afresh per key type and round (rounds alternate which goes first): ours with ``--tls-cert/--tls-key/--tls-ca``
   (mutual TLS), ``--sign-cert/--sign-key`` (signed replies), ``--require-signatures`` and ``--ven-fingerprint
   ven-1=FP``; openleadr's with the same files (``bench_vtn.py --tls-* --sign-* --ven-fingerprint``: HTTPS with
   client certificates, signed replies, ``verify_message_signatures`` and a ``fingerprint_lookup``).
   ``ven-1`` registers on each, signed, over mutual TLS, and polls until nothing waits. Then ``--signed-workers``
   (default 2) load-generator processes (multiprocessing, aiohttp with an ``ssl`` client context, keep-alive,
   no pipelining) share ``--clients`` connections, each opened (TLS handshake) and used once before timing,
   and post signed ``oadrPoll`` s for ``--seconds``. Every poll carries its own signature, nonce and timestamp
   (:class:`~transactive.protocol.oadr_sign.OadrSigner`, the same signer for both VTNs). For ours the
   generators sign a pool before the timed run (``--signed-pool`` per second of run, default 2,500/s; beyond
   it they sign on the fly and report how many: ``signed_in_run``): our VTN accepts signatures up to 5 minutes
   old. openleadr refuses signatures older than 5 seconds (``REPLAY_PROTECT_MAX_TIME_DELTA``), so for it each
   poll is signed on the fly just before it is sent (its rates are far below what the generators sign).
   Every reply is counted: HTTP 200 with an ``oadrResponse`` of code 200 is ok, anything else a refusal
   counted by reason (our 463s name the problem: ``replayed nonce``, ``stale timestamp``, ...; openleadr's
   replay check is also counted inside it, by its message). A valid poll must never be refused. A sample of
   each VTN's replies has its signature verified (``OadrVerifier``: the VTN's certificate by fingerprint,
   chaining to the CA) and is checked against the 2.0b schema; for ours every sampled reply must pass.
   Reported: rate (ok replies per second of the run), server and generator CPU per reply, latency, refusals.
   Goals (the issue's): at least 50x openleadr with RSA-2048 (the issue measured openleadr at 13/s), at least
   3x with ECDSA P-256 (370/s); the ratio to the issue's figures is printed too.

Printed: per-round values, medians, ratios of the medians and per-round (paired) ratios, against the goals
(polls: at least 3x openleadr's rate; registering: at least 5x faster; signed polls as above). ``--json PATH``
also writes every figure with the machine (CPU model, cores, Python), the command and the date. ``--only
unsigned|signed`` runs parts 1-2 or part 3 only. ``--quick`` is a smoke run with tiny numbers (1 round, 20 VENs,
4 clients, 1-s poll and signed runs) for the test suite; its figures mean nothing.
Every process started is stopped before exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from vtn_bench import _terminate, find_wrk  # noqa: E402  (bench/ is on the path only from here)

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


# ---- 1. registration ---------------------------------------------------------------------------------------


async def register_all(url: str, documents: list[tuple[bytes, bytes]], clients: int) -> dict[str, Any]:
    """Register every VEN (query, then create) from ``clients`` concurrent keep-alive clients; the wall time,
    the venIDs, and every failure (HTTP status or EI code not 200, no venID)."""
    import aiohttp

    headers = {"Content-Type": "application/xml"}
    ven_ids: list[str | None] = [None] * len(documents)
    failures: list[str] = []
    todo = iter(range(len(documents)))

    async def client(session: aiohttp.ClientSession) -> None:
        for i in todo:
            query, create = documents[i]
            async with session.post(url + "/EiRegisterParty", data=query, headers=headers) as response:
                body = await response.read()
            if response.status != 200 or reply_code(body) != 200:
                failures.append(f"VEN {i} query: HTTP {response.status} {body[:300]!r}")
                continue
            async with session.post(url + "/EiRegisterParty", data=create, headers=headers) as response:
                body = await response.read()
            found = _VEN_ID.search(body)
            if response.status != 200 or reply_code(body) != 200 or found is None:
                failures.append(f"VEN {i} create: HTTP {response.status} {body[:300]!r}")
                continue
            ven_ids[i] = found.group(1).decode()

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        seconds = time.perf_counter() - t0
    registered = [v for v in ven_ids if v is not None]
    return {"seconds": seconds, "vens_per_s": len(documents) / seconds, "registered": len(registered),
            "distinct_ven_ids": len(set(registered)), "failures": len(failures), "failure_samples": failures[:3],
            "first_ven_id": registered[0] if registered else None}


def bench_registration(server: Server, documents: list[tuple[bytes, bytes]], clients: int) -> dict[str, Any]:
    cpu0, own0 = cpu_seconds(server.proc.pid), time.process_time()
    result = asyncio.run(register_all(server.url, documents, clients))
    result["server_cpu_s"] = cpu_seconds(server.proc.pid) - cpu0
    result["client_cpu_s"] = time.process_time() - own0
    if result["failures"] or result["distinct_ven_ids"] != len(documents):
        raise RuntimeError(f"{server.name}: {result['failures']} failed registrations, "
                           f"{result['distinct_ven_ids']} distinct venIDs for {len(documents)} VENs: "
                           f"{result['failure_samples']}")
    return result


# ---- 2. unsigned polls -------------------------------------------------------------------------------------


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/xml"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def ready_to_poll(server: Server, ven_id: str) -> bytes:
    """Poll until the VEN's poll finds nothing waiting (at most 10 polls); the ``oadrPoll`` document, after
    checking the plain reply: HTTP 200, an ``oadrResponse`` with code 200, valid against the 2.0b schema."""
    from lxml import etree

    from transactive.schemas import validate

    document = poll_document(ven_id)
    for _ in range(10):
        status, body = _post(server.url + "/OadrPoll", document)
        if status == 200 and b"oadrResponse" in body:
            break
    else:
        raise RuntimeError(f"{server.name}: the VEN's polls never came back empty: {status} {body[:400]!r}")
    if reply_code(body) != 200:
        raise RuntimeError(f"{server.name}: poll answered with an error: {body[:400]!r}")
    report = validate(etree.fromstring(body))
    if not report.valid:
        raise RuntimeError(f"{server.name}: the poll reply is not schema-valid: {report.as_dict()['errors'][:3]}")
    return document


def _lua_long_string(text: str) -> str:
    level = "=" * 4
    if f"]{level}]" in text:
        raise ValueError("the document contains the Lua long-bracket terminator")
    return f"[{level}[{text}]{level}]"


def poll_script(directory: Path, name: str, path: str, document: bytes) -> Path:
    """A wrk script that posts ``document`` and checks every reply (status 200, ``oadrResponse``, code 200);
    ``done`` prints ``CHECKED ok=N bad=N`` and the first bad reply."""
    lua = f"""
local body = {_lua_long_string(document.decode())}
local req
init = function(args)
  req = wrk.format("POST", {_lua_long_string(path)}, {{ ["Content-Type"] = "application/xml" }}, body)
end
request = function() return req end
ok = 0
bad = 0
first_bad = ""
response = function(status, headers, reply)
  if status == 200 and string.find(reply, "oadrResponse", 1, true)
     and string.find(reply, "responseCode>200<", 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(reply or "", 1, 300) end
  end
end
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local n_ok, n_bad = 0, 0
  for _, t in ipairs(threads) do
    n_ok = n_ok + t:get("ok")
    n_bad = n_bad + t:get("bad")
    if t:get("first_bad") ~= "" then io.write("FIRST_BAD " .. t:get("first_bad") .. "\\n") end
  end
  io.write(string.format("CHECKED ok=%d bad=%d\\n", n_ok, n_bad))
end
"""
    script = directory / f"poll-{name}.lua"
    script.write_text(lua)
    return script


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def run_wrk(wrk: str, server: Server, script: Path, seconds: float, clients: int) -> dict[str, Any]:
    url = server.url + "/OadrPoll"
    cmd = [wrk, "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), url]
    cpu0 = cpu_seconds(server.proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    server_cpu = cpu_seconds(server.proc.pid) - cpu0
    result: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0, "first_bad": None}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["per_s"] = float(line.split()[1])
        elif re.match(r"\d+ requests in", line):
            result["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx"] = int(line.split()[-1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = sum(int(x) for x in re.findall(r"\d+", line))
        elif line.startswith("CHECKED "):
            counts = dict(part.split("=") for part in line.split()[1:])
            result["checked_ok"], result["checked_bad"] = int(counts["ok"]), int(counts["bad"])
        elif line.startswith("FIRST_BAD "):
            result["first_bad"] = line[10:]
        elif (m := re.match(r"(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)$", line)) is not None:
            result[f"latency_ms_p{m.group(1)}"] = float(m.group(2)) * _UNITS[m.group(3)]
    if "per_s" not in result or "checked_ok" not in result:
        raise RuntimeError(f"wrk printed no rate or no check:\n{out}")
    if result["checked_bad"] or result["non_2xx"] or result["checked_ok"] == 0:
        raise RuntimeError(f"{server.name}: {result['checked_bad']} poll replies were not a 200 oadrResponse "
                           f"(non-2xx {result['non_2xx']}); first: {result['first_bad']!r}")
    result["server_cpu_us_per_reply"] = 1e6 * server_cpu / max(1, result["checked_ok"])
    return result


# ---- 3. signed polls over mutual TLS -----------------------------------------------------------------------

KEY_TYPES = ("rsa", "ecdsa")
#: the issue's goals for signed polls: at least this many times openleadr's rate, per key type
SIGNED_GOALS = {"rsa": 50.0, "ecdsa": 3.0}
#: what the issue measured for openleadr (signed polls/s), to set the goals against
ISSUE_OPENLEADR = {"rsa": 13.0, "ecdsa": 370.0}
SIGNED_VEN = "ven-1"
_DESCRIPTION = re.compile(rb"responseDescription>([^<]*)<")


def certificate_set(tmp: Path, key_type: str) -> Any:
    """A throwaway CA, the VTN's certificate (TLS server and reply signing) and ``ven-1``'s (TLS client and
    message signing), all ``key_type`` (RSA-2048 or ECDSA P-256)."""
    from transactive.protocol.certs import create_set

    return create_set(tmp / f"certs-{key_type}", vtn="vtn-1", vens=[SIGNED_VEN], key_type=key_type)  # type: ignore[arg-type]


def signed_flags(made: Any, name: str) -> list[str]:
    """Each VTN's flags for mutual TLS, signed replies, and only ``ven-1`` (by its fingerprint), whose
    messages must be signed."""
    ca, (vtn_cert, vtn_key) = made.files(made.ca)[0], made.files(made.vtn)
    flags = ["--tls-cert", str(vtn_cert), "--tls-key", str(vtn_key), "--tls-ca", str(ca),
             "--sign-cert", str(vtn_cert), "--sign-key", str(vtn_key),
             "--ven-fingerprint", f"{SIGNED_VEN}={made.vens[0].fingerprint}"]
    return [*flags, "--require-signatures"] if name == "transactive" else flags


def start_signed(name: str, tmp: Path, label: str, made: Any) -> Server:
    if name == "transactive":
        return OursServer(tmp / f"data-{label}", signed_flags(made, name))
    return OpenleadrServer(signed_flags(made, name))


def refusal_reason(status: int, body: bytes) -> str | None:
    """None for a poll answered (HTTP 200, ``oadrResponse``, code 200); otherwise why it was refused, in a few
    words (HTTP status, EI code, the start of the description: ours begins with the signature problem, e.g.
    ``replayed nonce``, ``stale timestamp``)."""
    code = reply_code(body)
    if status == 200 and code == 200 and b"oadrResponse" in body:
        return None
    found = _DESCRIPTION.search(body)
    text = (found.group(1) if found is not None else body[:120]).decode("utf-8", "replace")
    return f"HTTP {status}, code {code}: {text.split(':')[0].split('. ')[0][:80]}"


def _post_tls(url: str, body: bytes, context: Any) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/xml"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def register_signed(server: Server, made: Any) -> tuple[str, bytes]:
    """Register ``ven-1`` (signed query, then signed create, over mutual TLS), then poll (signed) until its
    polls find nothing waiting; its venID and the last poll reply (an ``oadrResponse`` with code 200)."""
    from transactive.codec import encode_xml
    from transactive.ei.oadr import OadrCreatePartyRegistration, OadrQueryRegistration
    from transactive.ei.oadr.enums import ProfileName, TransportName
    from transactive.protocol.oadr_sign import OadrSigner
    from transactive.transport.tls import client_context

    cert, key = made.files(made.vens[0])
    signer, context = OadrSigner.from_files(cert, key), client_context(made.files(made.ca)[0], cert=cert, key=key)
    query = encode_xml(OadrQueryRegistration(request_id="signed-query"))
    create = encode_xml(OadrCreatePartyRegistration(
        request_id="signed-create", profile_name=ProfileName.V2_0B, transport_name=TransportName.SIMPLE_HTTP,
        report_only=False, xml_signature=True, ven_name=SIGNED_VEN, http_pull_model=True))
    for document in (query, create):
        status, body = _post_tls(server.url + "/EiRegisterParty", signer.sign(document), context)
        if status != 200 or reply_code(body) != 200:
            raise RuntimeError(f"{server.name}: signed registration refused: HTTP {status} {body[:600]!r}")
    found = _VEN_ID.search(body)
    if found is None:
        raise RuntimeError(f"{server.name}: no venID in the registration reply: {body[:600]!r}")
    ven_id = found.group(1).decode()
    poll = poll_document(ven_id)
    for _ in range(10):
        status, body = _post_tls(server.url + "/OadrPoll", signer.sign(poll), context)
        if status == 200 and b"oadrResponse" in body:
            break
    else:
        raise RuntimeError(f"{server.name}: the VEN's signed polls never came back empty: {status} {body[:600]!r}")
    if reply_code(body) != 200:
        raise RuntimeError(f"{server.name}: a signed poll was refused: {body[:600]!r}")
    return ven_id, body


def check_replies(replies: list[bytes], made: Any) -> dict[str, int]:
    """Verify the signature of every sampled reply (``OadrVerifier``: the VTN's certificate by its fingerprint,
    chaining to the CA, fresh, each nonce once) and check each against the 2.0b schema; the counts."""
    from lxml import etree

    from transactive.protocol.oadr_sign import OadrVerifier, SignatureError
    from transactive.schemas import validate

    verifier = OadrVerifier(trusted_ca=made.files(made.ca)[0], max_age=timedelta(minutes=10))
    verified = valid = 0
    for body in replies:
        try:
            verifier.verify(body, expected_fingerprint=made.vtn.fingerprint)
            verified += 1
        except SignatureError:
            pass
        valid += validate(etree.fromstring(body)).valid
    return {"sampled": len(replies), "signature_verified": verified, "schema_valid": valid}


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What one load-generator process does: ``connections`` keep-alive mutual-TLS connections posting signed
    ``oadrPoll`` s to ``url`` for ``seconds``; ``pool`` polls signed before the timed run (0: each signed
    just before it is sent)."""

    url: str
    ca: str
    cert: str
    key: str
    ven_id: str
    connections: int
    seconds: float
    pool: int
    sample: int = 20


def _signed_worker(spec: LoadSpec, signed: Any, warmed: Any, results: Any) -> None:
    """One load-generator process (multiprocessing): sign the pool, wait for the others (``signed``), open
    and use each connection once (``warmed``: every TLS handshake is done before timing), then load."""
    try:
        result = asyncio.run(_signed_load(spec, signed, warmed))
    except BaseException as error:  # report it; the parent fails the run
        signed.abort()
        warmed.abort()
        results.put({"error": f"{type(error).__name__}: {error}"})
    else:
        results.put(result)


async def _signed_load(spec: LoadSpec, signed: Any, warmed: Any) -> dict[str, Any]:
    import aiohttp

    from transactive.protocol.oadr_sign import OadrSigner
    from transactive.transport.tls import client_context

    signer = OadrSigner.from_files(Path(spec.cert), Path(spec.key))
    document = poll_document(spec.ven_id)
    t0 = time.perf_counter()
    pool = [signer.sign(document) for _ in range(spec.pool + spec.connections if spec.pool else 0)]
    presign_s = time.perf_counter() - t0
    pool.reverse()  # pop() from the end: the oldest signatures go first
    signed_in_run = 0

    def next_poll() -> bytes:
        nonlocal signed_in_run
        if pool:
            return pool.pop()
        signed_in_run += 1
        return signer.sign(document)

    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, signed.wait, 600)
    headers = {"Content-Type": "application/xml"}
    ok, refused, latencies, samples = 0, Counter[str](), list[float](), list[bytes]()
    timed, deadline = False, 0.0

    async def post(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        body = next_poll()
        sent = time.perf_counter()
        async with session.post(spec.url, data=body, headers=headers) as response:
            reply = await response.read()
        reason = refusal_reason(response.status, reply)
        if not timed:
            if reason is not None:
                raise RuntimeError(f"a warm-up poll was refused: {reason}")
            return
        latencies.append(time.perf_counter() - sent)
        if reason is None:
            ok += 1
            if len(samples) < spec.sample:
                samples.append(reply)
        else:
            refused[reason] += 1

    async def client(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            await post(session)

    connector = aiohttp.TCPConnector(limit=spec.connections, ssl=client_context(spec.ca, cert=spec.cert, key=spec.key))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        await asyncio.gather(*(post(session) for _ in range(spec.connections)))  # one handshake each
        await loop.run_in_executor(None, warmed.wait, 600)
        timed, cpu0 = True, time.process_time()
        start = time.monotonic()
        deadline = time.perf_counter() + spec.seconds
        await asyncio.gather(*(client(session) for _ in range(spec.connections)))
        end = time.monotonic()
        cpu = time.process_time() - cpu0
    return {"ok": ok, "refused": dict(refused), "latencies": latencies, "samples": samples, "start": start,
            "end": end, "cpu_s": cpu, "presigned": spec.pool + spec.connections if spec.pool else 0,
            "presign_s": presign_s, "signed_in_run": signed_in_run}


def run_signed_load(server: Server, made: Any, ven_id: str, seconds: float, clients: int, workers: int,
                    pool_per_s: float) -> dict[str, Any]:
    """Signed polls from ``workers`` generator processes with ``clients`` connections between them for
    ``seconds``; ``pool_per_s`` > 0: each process pre-signs its share of ``pool_per_s * seconds`` polls
    (then signs more on the fly if the server outruns it, counted as ``signed_in_run``); 0: on the fly."""
    import multiprocessing

    cert, key = made.files(made.vens[0])
    shares = [clients // workers + (i < clients % workers) for i in range(workers)]
    shares = [s for s in shares if s > 0]
    pool = 0 if pool_per_s <= 0 else int(pool_per_s * seconds / len(shares)) + 1
    specs = [LoadSpec(server.url + "/OadrPoll", str(made.files(made.ca)[0]), str(cert), str(key), ven_id, share,
                      seconds, pool) for share in shares]
    context = multiprocessing.get_context("spawn")
    signed, warmed = context.Barrier(len(specs) + 1), context.Barrier(len(specs) + 1)
    queue = context.Queue()
    processes = [context.Process(target=_signed_worker, args=(spec, signed, warmed, queue), daemon=True)
                 for spec in specs]
    for process in processes:
        process.start()
    try:
        signed.wait(timeout=900)
        warmed.wait(timeout=120)
        cpu0 = cpu_seconds(server.proc.pid)
        parts = [queue.get(timeout=seconds + 180) for _ in processes]
        server_cpu = cpu_seconds(server.proc.pid) - cpu0
    except Exception:
        errors = []
        while not queue.empty():
            errors.append(queue.get_nowait().get("error"))
        raise RuntimeError(f"{server.name}: the signed-poll load failed: {errors}") from None
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failed = [part["error"] for part in parts if "error" in part]
    if failed:
        raise RuntimeError(f"{server.name}: a load generator failed: {failed}")
    ok = sum(part["ok"] for part in parts)
    refused: Counter[str] = Counter()
    for part in parts:
        refused.update(part["refused"])
    latencies = sorted(x for part in parts for x in part["latencies"])
    wall = max(part["end"] for part in parts) - min(part["start"] for part in parts)
    replies = ok + sum(refused.values())

    def percentile(q: float) -> float:
        return 1e3 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {"per_s": ok / wall, "ok": ok, "refused": dict(refused), "refused_total": sum(refused.values()),
            "wall_s": wall, "server_cpu_us_per_reply": 1e6 * server_cpu / max(1, replies),
            "generator_cpu_us_per_reply": 1e6 * sum(part["cpu_s"] for part in parts) / max(1, replies),
            "latency_ms_p50": percentile(0.50), "latency_ms_p99": percentile(0.99),
            "presigned": sum(part["presigned"] for part in parts),
            "presign_s": max(part["presign_s"] for part in parts),
            "signed_in_run": sum(part["signed_in_run"] for part in parts),
            "samples": [s for part in parts for s in part["samples"]]}


def bench_signed_polls(tmp: Path, rounds: int, seconds: float, clients: int, workers: int, pool_per_s: float,
                       key_types: tuple[str, ...] = KEY_TYPES) -> dict[str, Any]:
    """Issue 12's signed polls: for each key type and round, both VTNs afresh over mutual TLS, signing their
    replies and requiring ``ven-1``'s signature; ``ven-1`` registers (signed) on each; then signed ``oadrPoll``
    load (:func:`run_signed_load`): ours from pre-signed pools (its 5-minute window allows it), openleadr's
    signed on the fly (its replay window is 5 seconds). Rounds alternate which VTN goes first."""
    results: dict[str, Any] = {
        "load_generator": f"aiohttp over mutual TLS, {workers} processes, {clients} keep-alive connections in all, "
                          f"{seconds:g} s a run; every poll signed with its own nonce and timestamp: for "
                          f"transactive pre-signed in the generator processes before the run (pool of "
                          f"{pool_per_s:g}/s x the run, signed on the fly beyond it), for openleadr signed on "
                          f"the fly just before it is sent",
        "seconds": seconds, "clients": clients, "workers": workers, "pool_per_s": pool_per_s}
    for key_type in key_types:
        made = certificate_set(tmp, key_type)
        per_round: list[dict[str, dict[str, Any]]] = []
        checks: dict[str, Counter[str]] = {name: Counter() for name in SYSTEMS}
        openleadr_refusals: Counter[str] = Counter()
        for r in range(1, rounds + 1):
            order = SYSTEMS if r % 2 else tuple(reversed(SYSTEMS))
            measured: dict[str, dict[str, Any]] = {}
            for name in order:
                server = start_signed(name, tmp, f"{key_type}-{r}", made)
                try:
                    ven_id, first = register_signed(server, made)
                    measured[name] = run_signed_load(server, made, ven_id, seconds, clients, workers,
                                                     pool_per_s if name == "transactive" else 0)
                finally:
                    server.stop()
                checks[name].update(check_replies([first, *measured[name].pop("samples")], made))
                if isinstance(server, OpenleadrServer):
                    openleadr_refusals.update(server.refusals)
                m = measured[name]
                print(f"signed polls {key_type} round {r}/{rounds}, {name}: {m['per_s']:.0f}/s (p50 "
                      f"{m['latency_ms_p50']:.1f} ms, {m['ok']} ok, {m['refused_total']} refused "
                      f"{m['refused'] or ''}, server CPU {m['server_cpu_us_per_reply']:.0f} µs/reply, "
                      f"signed in the run {m['signed_in_run']})", flush=True)
            per_round.append(measured)
        rates = summarize(per_round, "per_s")
        ratio = rates["median"]["transactive"] / rates["median"]["openleadr"]
        refused = {name: dict(sum((Counter(m[name]["refused"]) for m in per_round), Counter[str]()))
                   for name in SYSTEMS}
        results[key_type] = {
            "per_s": rates,
            "server_cpu_us_per_reply": summarize(per_round, "server_cpu_us_per_reply"),
            "generator_cpu_us_per_reply": summarize(per_round, "generator_cpu_us_per_reply"),
            "latency_ms_p50": summarize(per_round, "latency_ms_p50")["median"],
            "latency_ms_p99": summarize(per_round, "latency_ms_p99")["median"],
            "replies_ok": {n: sum(m[n]["ok"] for m in per_round) for n in SYSTEMS},
            "refused": refused,
            "valid_refused": {n: sum(refused[n].values()) for n in SYSTEMS},
            "openleadr_replay_check_refusals": dict(openleadr_refusals),
            "presigned": {n: sum(m[n]["presigned"] for m in per_round) for n in SYSTEMS},
            "signed_in_run": {n: sum(m[n]["signed_in_run"] for m in per_round) for n in SYSTEMS},
            "reply_checks": {n: dict(c) for n, c in checks.items()},
            "ratio_of_medians": ratio,
            "paired_ratios": [m["transactive"]["per_s"] / m["openleadr"]["per_s"] for m in per_round],
            "goal": SIGNED_GOALS[key_type], "met": ratio >= SIGNED_GOALS[key_type],
            "issue_openleadr_per_s": ISSUE_OPENLEADR[key_type],
            "ratio_to_issue_figure": rates["median"]["transactive"] / ISSUE_OPENLEADR[key_type],
        }
        ours_checks = checks["transactive"]
        if ours_checks["signature_verified"] != ours_checks["sampled"] or \
                ours_checks["schema_valid"] != ours_checks["sampled"]:
            raise RuntimeError(f"transactive's signed poll replies ({key_type}): {dict(ours_checks)}")
    return results


# ---- the rounds --------------------------------------------------------------------------------------------


def summarize(per_round: list[dict[str, dict[str, Any]]], key: str) -> dict[str, Any]:
    values = {name: [r[name][key] for r in per_round] for name in SYSTEMS}
    return {"per_round": values, "median": {name: statistics.median(v) for name, v in values.items()}}


def run(rounds: int, seconds: float, vens: int, clients: int, *, only: str | None = None, workers: int = 2,
        pool_per_s: float = 2500.0) -> dict[str, Any]:
    """Every part (``only``: just ``"unsigned"``, registration and unsigned polls, or just ``"signed"``)."""
    results: dict[str, Any] = {"rounds": rounds, "clients": clients}
    if only != "signed":
        results.update(bench_unsigned(rounds, seconds, vens, clients))
    if only != "unsigned":
        with tempfile.TemporaryDirectory(prefix="oadr-bench-signed-") as tmp_name:
            results["signed_polls"] = bench_signed_polls(Path(tmp_name), rounds, seconds, clients, workers, pool_per_s)
    return results


def bench_unsigned(rounds: int, seconds: float, vens: int, clients: int) -> dict[str, Any]:
    wrk = find_wrk()
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False).stdout
    documents = registration_documents(vens)
    registration: list[dict[str, dict[str, Any]]] = []
    polls: list[dict[str, dict[str, Any]]] = []
    openleadr_version = None
    with tempfile.TemporaryDirectory(prefix="oadr-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for r in range(1, rounds + 1):
            order = SYSTEMS if r % 2 else tuple(reversed(SYSTEMS))
            servers: dict[str, Server] = {}
            try:
                for name in order:
                    servers[name] = start(name, tmp, r)
                openleadr_version = getattr(servers["openleadr"], "version", None)
                reg: dict[str, dict[str, Any]] = {}
                for name in order:
                    reg[name] = bench_registration(servers[name], documents, clients)
                    print(f"round {r}/{rounds} register {vens} VENs, {name}: {reg[name]['seconds']:.2f} s "
                          f"({reg[name]['vens_per_s']:.0f} VENs/s, server CPU {reg[name]['server_cpu_s']:.2f} s)",
                          flush=True)
                registration.append(reg)
                scripts = {name: poll_script(tmp, name, urlsplit(servers[name].url).path + "/OadrPoll",
                                             ready_to_poll(servers[name], str(reg[name]["first_ven_id"])))
                           for name in order}
                pol: dict[str, dict[str, Any]] = {}
                for name in order:
                    pol[name] = run_wrk(wrk, servers[name], scripts[name], seconds, clients)
                    print(f"round {r}/{rounds} poll, {name}: {pol[name]['per_s']:.0f}/s "
                          f"(p50 {pol[name].get('latency_ms_p50', float('nan')):.2f} ms, "
                          f"{pol[name]['checked_ok']} replies checked, server CPU "
                          f"{pol[name]['server_cpu_us_per_reply']:.0f} µs/reply)", flush=True)
                polls.append(pol)
            finally:
                for server in servers.values():
                    server.stop()
    poll_rates = summarize(polls, "per_s")
    poll_cpu = summarize(polls, "server_cpu_us_per_reply")
    reg_seconds = summarize(registration, "seconds")
    poll_ratio = poll_rates["median"]["transactive"] / poll_rates["median"]["openleadr"]
    speedup = reg_seconds["median"]["openleadr"] / reg_seconds["median"]["transactive"]
    return {
        "openleadr": openleadr_version,
        "polls": {
            "load_generator": f"{_wrk_name(wrk_version)} -t1 -c{clients}, "
                              f"{seconds:g} s a run, every reply checked",
            "seconds": seconds,
            "per_s": poll_rates,
            "server_cpu_us_per_reply": poll_cpu,
            "latency_ms_p50": summarize(polls, "latency_ms_p50")["median"],
            "latency_ms_p99": summarize(polls, "latency_ms_p99")["median"],
            "replies_checked": {n: sum(p[n]["checked_ok"] for p in polls) for n in SYSTEMS},
            "ratio_of_medians": poll_ratio,
            "paired_ratios": [p["transactive"]["per_s"] / p["openleadr"]["per_s"] for p in polls],
            "goal": GOALS["poll_ratio"], "met": poll_ratio >= GOALS["poll_ratio"],
        },
        "registration": {
            "vens": vens, "load_generator": f"aiohttp, {clients} concurrent keep-alive clients, this process",
            "seconds": reg_seconds,
            "server_cpu_s": summarize(registration, "server_cpu_s"),
            "client_cpu_s": summarize(registration, "client_cpu_s"),
            "speedup_of_medians": speedup,
            "paired_speedups": [g["openleadr"]["seconds"] / g["transactive"]["seconds"] for g in registration],
            "goal": GOALS["registration_speedup"], "met": speedup >= GOALS["registration_speedup"],
        },
    }


# ---- output ------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from machine import machine_info

    model = None
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                      if line.startswith("Model name")), None)
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    import aiohttp

    return machine_info(lscpu_model_name=model, nproc=int(nproc) if nproc.isdigit() else None,
                        aiohttp=aiohttp.__version__)


def table(results: dict[str, Any]) -> str:
    rounds = results["rounds"]
    head = " | ".join(f"round {i}" for i in range(1, rounds + 1))
    line = "|---" * (rounds + 3) + "|"
    out: list[str] = []
    if "polls" in results:
        p, g = results["polls"], results["registration"]
        out += [f"Unsigned oadrPoll round trips/s ({p['load_generator']}):", "",
                f"| VTN | {head} | median | server CPU/reply |", line]
        for name in SYSTEMS:
            values = " | ".join(f"{v:,.0f}" for v in p["per_s"]["per_round"][name])
            out.append(f"| {name} | {values} | **{p['per_s']['median'][name]:,.0f}** | "
                       f"{p['server_cpu_us_per_reply']['median'][name]:.0f} µs |")
        paired = ", ".join(f"{x:.2f}" for x in p["paired_ratios"])
        out += ["", f"Ratio of medians: **{p['ratio_of_medians']:.2f}x** (per round: {paired}); goal "
                    f"{p['goal']:g}x — {'met' if p['met'] else 'NOT met'}.", "",
                f"Registering {g['vens']:,} VENs (query + create each; {g['load_generator']}), seconds:", "",
                f"| VTN | {head} | median | server CPU |", line]
        for name in SYSTEMS:
            values = " | ".join(f"{v:.2f}" for v in g["seconds"]["per_round"][name])
            out.append(f"| {name} | {values} | **{g['seconds']['median'][name]:.2f}** | "
                       f"{g['server_cpu_s']['median'][name]:.2f} s |")
        paired = ", ".join(f"{x:.2f}" for x in g["paired_speedups"])
        out += ["", f"Speed-up of medians: **{g['speedup_of_medians']:.2f}x** (per round: {paired}); goal "
                    f"{g['goal']:g}x — {'met' if g['met'] else 'NOT met'}.", ""]
    signed = results.get("signed_polls")
    if signed is not None:
        out += [f"Signed oadrPoll round trips/s over mutual TLS ({signed['load_generator']}):", ""]
        for key_type in KEY_TYPES:
            k = signed[key_type]
            out += [f"{key_type}:", "", f"| VTN | {head} | median | server CPU/reply | p50 ms | refused |",
                    "|---" * (rounds + 5) + "|"]
            for name in SYSTEMS:
                values = " | ".join(f"{v:,.0f}" for v in k["per_s"]["per_round"][name])
                out.append(f"| {name} | {values} | **{k['per_s']['median'][name]:,.0f}** | "
                           f"{k['server_cpu_us_per_reply']['median'][name]:.0f} µs | "
                           f"{k['latency_ms_p50'][name]:.1f} | {k['valid_refused'][name]} {k['refused'][name] or ''} |")
            paired = ", ".join(f"{x:.2f}" for x in k["paired_ratios"])
            out += ["", f"Ratio of medians: **{k['ratio_of_medians']:.2f}x** (per round: {paired}); goal "
                        f"{k['goal']:g}x — {'met' if k['met'] else 'NOT met'}; against the issue's openleadr "
                        f"figure ({k['issue_openleadr_per_s']:g}/s): {k['ratio_to_issue_figure']:.1f}x. Replies "
                        f"checked: {k['reply_checks']}; signed during the run: {k['signed_in_run']}.", ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring both VTNs (default 3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of wrk load per poll run (default 10)")
    parser.add_argument("--vens", type=int, default=5000, help="VENs registered per VTN per round (default 5000)")
    parser.add_argument("--clients", type=int, default=50,
                        help="concurrent keep-alive connections, for polls and registrations (default 50)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the results as JSON to PATH")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round, 20 VENs, 4 clients, 1-s polls (checks that it works; the figures "
                             "mean nothing)")
    parser.add_argument("--only", choices=("unsigned", "signed"),
                        help="only registration and unsigned polls, or only signed polls (default: all)")
    parser.add_argument("--signed-workers", type=int, default=2, metavar="N",
                        help="load-generator processes for signed polls (default 2), sharing --clients connections")
    parser.add_argument("--signed-pool", type=float, default=2500.0, metavar="PER_S",
                        help="polls pre-signed for transactive per second of run (default 2500; beyond the pool "
                             "the generator signs on the fly, and says how many)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.vens, args.clients = 1, 1.0, 20, 4
    if args.rounds < 1 or args.vens < 1 or args.clients < 1 or args.seconds <= 0 or args.signed_workers < 1:
        parser.error("--rounds, --vens, --clients, --seconds and --signed-workers must be positive")

    results = run(args.rounds, args.seconds, args.vens, args.clients, only=args.only, workers=args.signed_workers,
                  pool_per_s=args.signed_pool)
    results = {"benchmark": "oadr_bench", "date": datetime.now(UTC).isoformat(timespec="seconds"),
               "command": " ".join([Path(sys.executable).name, *sys.argv]), "quick": args.quick,
               "machine": machine(), **results}
    print()
    print(table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
