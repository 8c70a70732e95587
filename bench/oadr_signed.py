"""Part 3 of :mod:`oadr_bench`: signed ``oadrPoll`` s over mutual TLS (RSA-2048, ECDSA P-256), side by side with
openleadr; see ``bench/oadr_bench.py --help`` for what is measured and how."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from oadr_common import (  # noqa: E402
    _VEN_ID,
    SYSTEMS,
    OpenleadrServer,
    OursServer,
    Server,
    cpu_seconds,
    poll_document,
    reply_code,
    summarize,
)

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
