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
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from oadr_common import (  # noqa: E402
    _VEN_ID,
    GOALS,
    SYSTEMS,
    Server,
    _wrk_name,
    cpu_seconds,
    poll_document,
    registration_documents,
    reply_code,
    start,
    summarize,
)
from oadr_signed import KEY_TYPES, bench_signed_polls  # noqa: E402
from vtn_bench import find_wrk, parse_wrk  # noqa: E402  (bench/ is on the path only from here)

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




def run_wrk(wrk: str, server: Server, script: Path, seconds: float, clients: int) -> dict[str, Any]:
    url = server.url + "/OadrPoll"
    cmd = [wrk, "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), url]
    cpu0 = cpu_seconds(server.proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    server_cpu = cpu_seconds(server.proc.pid) - cpu0
    result = parse_wrk(out)
    result["first_bad"] = None
    for line in result.pop("lines"):  # what the Lua hook printed
        if line.startswith("CHECKED "):
            counts = dict(part.split("=") for part in line.split()[1:])
            result["checked_ok"], result["checked_bad"] = int(counts["ok"]), int(counts["bad"])
        elif line.startswith("FIRST_BAD "):
            result["first_bad"] = line[10:]
    if "per_s" not in result or "checked_ok" not in result:
        raise RuntimeError(f"wrk printed no rate or no check:\n{out}")
    if result["checked_bad"] or result["non_2xx"] or result["checked_ok"] == 0:
        raise RuntimeError(f"{server.name}: {result['checked_bad']} poll replies were not a 200 oadrResponse "
                           f"(non-2xx {result['non_2xx']}); first: {result['first_bad']!r}")
    result["server_cpu_us_per_reply"] = 1e6 * server_cpu / max(1, result["checked_ok"])
    return result


# ---- the rounds --------------------------------------------------------------------------------------------


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
