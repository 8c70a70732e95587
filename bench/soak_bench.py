"""Soak benchmark: 10,000 simulated VENs tendering every market interval against ``transactive vtn serve``, with
one and with several worker processes: errors, latency, the VTN's memory over time and per VEN, tenders/s.

What it runs, for each worker count (``--workers N``, or each of ``--compare-workers 1,2`` in turn, in one
invocation so that their ratio comes from one run on one machine in one state):

1. ``transactive vtn serve`` in its own process, started here: a fresh ``--data-dir``, a free ``--port``,
   ``--interval-seconds S`` (default 60: the 15-minute market interval lasts a minute of wall time, so 10
   minutes are 10 market intervals, each with its gate closure), the registration rate limit lifted (every
   VEN registers from this one address), log level INFO (the gate closures' log lines are read back).
   ``--store URL`` and ``--workers N`` are passed through; ``--store postgres`` starts a throwaway
   PostgreSQL cluster (interop/postgresql/cluster.py) with a fresh database for each run.
2. **Baseline**: the VTN's resident memory, idle: the sum over the serve process and all its descendants
   (with ``--workers``: the supervisor and its workers), read from /proc: RSS, and PSS (which splits a page
   shared with other processes, the interpreter's libraries, between them: less than RSS, and it moves when
   other Python processes come and go, so RSS is the headline figure).
3. **Registration**: ``--vens`` VENs join through the API (market context, then a registration signed by
   each VEN's own Ed25519 key) with at most ``--connections`` at a time; then memory again.
   KB per VEN = (memory after - baseline) / VENs, for all the VTN's processes together.
4. **Soak**: for ``--minutes``, every VEN tenders once per market interval for the open interval (a small
   EMIX energy tender, buy or sell, seeded quantity and price), each at its own offset in the interval, over
   ``--connections`` shared keep-alive connections, every request with its VEN's own bearer token. Each
   request's latency and every error are recorded by the load generator; the VTN's memory and CPU are
   sampled every ``--sample-seconds`` (5): memory over time is summed up as first / last / max and its
   least-squares slope per minute (flat is the goal).
5. **Throughput**: a closed loop of ``--concurrency`` concurrent requests for ``--throughput-seconds``:
   tenders per second answered (EI 200). The tenders are for an interval a day ahead, so no gate clears them
   while they are counted.
6. The VTN is stopped, and its store must hold at least as many tenders as were answered (checked with
   ``transactive vtn report``; the benchmark fails otherwise).

Why these choices. The VENs tender and do nothing else: they do not long-poll their notices (10,000 idle
long polls would measure how many connections the VTN holds, not how it takes tenders; the notices are
still made and kept by the VTN at every gate, which is what its memory shows). The load generator
(bench/soak_load.py) is a process of its own, started once per phase, each run bounded in time: its CPU is
not the VTN's, and the VTN can be measured between phases with nothing in flight. It is written in Python
rather than reusing wrk (bench/vtn_bench.py) because it must register with signed requests, give every VEN
its own token and interval, read every reply's EI response code (a refusal is HTTP 200) and keep each
latency; it sends the tenders over a few lines of asyncio HTTP/1.1 rather than aiohttp's client, which
would cost several times the CPU per request on a 2-core machine that the generator shares with the VTN
(and, with ``--store``, with PostgreSQL). The CPU each process used is sampled too (VTN, generator,
database, the whole machine), so a saturated generator shows instead of passing for a slow VTN, and a busy
machine (other work on it) shows too. Soak latency is measured from the moment a tender was due (open
loop: a backlog shows as latency, it does not slow the offered load). Memory is read from /proc rather
than by the VTN about itself, so it covers every worker and everything the interpreter holds. The worker
counts of ``--compare-workers`` run one after the other, each against a fresh VTN and a fresh database.

Usage::

    python bench/soak_bench.py [--vens 10000] [--minutes 10] [--interval-seconds 60] [--throughput-seconds 60]
        [--connections 64] [--concurrency 64] [--workers N | --compare-workers 1,2] [--store URL|postgres]
        [--json FILE] [--plot FILE.png]

Progress goes to stderr, the summary table to stdout. Everything started here is stopped at exit, also on
Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

CLK_TCK = os.sysconf("SC_CLK_TCK")
GATE_LINE = re.compile(r"gate (\S+) closed: (\d+) tenders, .*?, (\d+) transactions, ([\d.]+) s")


def say(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---- /proc ------------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds used, start time in clock ticks) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[19])


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KB; (0, 0) if it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def runqueue_wait_s(pid: int) -> float:
    """Seconds the threads of a process (those alive now) have waited for a CPU while ready to run
    (/proc/PID/task/*/schedstat, second field, ns): a process starved by others on the machine shows here."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (all cores; iowait counts as idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


def cpu_between(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """The CPU of the VTN, of the database server (when sampled) and of the whole machine between two samples,
    in % of one core (200 % = both of 2 cores), and how long the VTN's threads waited for a CPU (same unit)."""
    dt = b["t"] - a["t"]
    out = {}
    for name in ("vtn", "db", "machine"):
        key = "machine_busy_s" if name == "machine" else f"{name}_cpu_s"
        if key in a and key in b:
            out[f"{name}_cpu_pct"] = round(100 * (b[key] - a[key]) / dt, 1)
    if "vtn_runqueue_wait_s" in a and "vtn_runqueue_wait_s" in b:  # ready to run, but no CPU free
        out["vtn_runqueue_wait_pct"] = round(100 * (b["vtn_runqueue_wait_s"] - a["vtn_runqueue_wait_s"]) / dt, 1)
    return out


class Sampler:
    """Samples the VTN's processes (memory, CPU), the load generator's CPU and the machine's every ``period``
    seconds in a thread; :meth:`mark` labels the samples that follow with a phase."""

    def __init__(self, vtn_pid: int, period: float, db_pid: int | None = None) -> None:
        self.vtn_pid = vtn_pid
        self.db_pid = db_pid
        self.period = period
        self.phase = "start"
        self.samples: list[dict[str, Any]] = []
        #: every process seen below the VTN: pid -> start time (a pid the system reuses has another)
        self.seen: dict[int, int] = {}
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the thread and the phases both sample
        self._cpu: dict[int, float] = {}
        self._wait: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self._thread.start()

    def mark(self, phase: str) -> None:
        self.phase = phase

    def sample(self) -> dict[str, Any]:
        """One sample now (also what the periodic thread takes)."""
        with self._lock:
            return self._sample()

    def _sample(self) -> dict[str, Any]:
        pids = descendants(self.vtn_pid)
        rss = pss = 0
        for pid in pids:
            r, p = memory_kb(pid)
            rss, pss = rss + r, pss + p
            stat = _stat(pid)
            if stat is not None:
                self._cpu[pid] = stat[1]
                self._wait[pid] = runqueue_wait_s(pid)
                self.seen[pid] = stat[2]
        cpu = sum(self._cpu.values())  # processes that ended keep what they used
        now = time.monotonic()
        busy, _total = machine_busy()
        row: dict[str, Any] = {"t": round(now - self.t0, 2), "phase": self.phase, "rss_kb": rss, "pss_kb": pss,
                               "processes": len(pids), "vtn_cpu_s": round(cpu, 2), "machine_busy_s": round(busy, 2),
                               "vtn_runqueue_wait_s": round(sum(self._wait.values()), 3)}
        if self.db_pid is not None:  # the database server's processes (its backends come and go: CPU of the live)
            db = [(memory_kb(pid), _stat(pid)) for pid in descendants(self.db_pid)]
            row["db_pss_kb"] = sum(mem[1] for mem, _s in db)
            row["db_cpu_s"] = round(sum(stat[1] for _m, stat in db if stat is not None), 2)
        last = self.samples[-1] if self.samples else None
        if last is not None and row["t"] > last["t"]:  # CPU since the previous sample, % of one core
            row.update(cpu_between(last, row))
        self.samples.append(row)
        return row

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


# ---- the VTN and the generator as processes ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _terminate(proc: subprocess.Popen[Any], grace: float = 25.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _health(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except (OSError, ValueError):
        return None


class Vtn:
    """``transactive vtn serve`` in its own process, until :meth:`stop`."""

    def __init__(self, data_dir: Path, interval_seconds: float, *, store: str | None, workers: int | None,
                 extra: list[str]) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{data_dir.name}.log"
        cmd = [sys.executable, "-m", "transactive.cli", "vtn", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--data-dir", str(data_dir), "--interval-seconds", f"{interval_seconds:g}",
               "--log-level", "INFO", "--registrations-per-minute", "100000000", *extra]
        if store is not None:
            cmd += ["--store", store]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        self.command = cmd
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1",
                                              "PYTHONPATH": os.pathsep.join(filter(None, [
                                                  str(ROOT), os.environ.get("PYTHONPATH")]))})
        #: the processes seen below the serve process (pid -> start time), stopped with it
        self.pids: dict[int, int] = {}
        self.stopped = False
        # ready when every worker answers: /health names the process that answered (its "cluster" field), and
        # each new connection may go to another worker (SO_REUSEPORT)
        answered: set[str] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            health = _health(self.url)
            if health is not None and health.get("status") == "ok":
                self.health = health
                answered.add(str((health.get("cluster") or {}).get("process", "")))
                if len(answered) >= (workers or 1):
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05 if health is not None else 0.2)
        self.stop()
        raise RuntimeError(f"the VTN did not start: {self.log.read_text()[-3000:]}")

    def gates(self) -> list[dict[str, Any]]:
        """The gate closures the VTN logged: interval, tenders, transactions, seconds."""
        out = []
        for match in GATE_LINE.finditer(self.log.read_text(errors="replace")):
            out.append({"interval": match[1], "tenders": int(match[2]), "transactions": int(match[3]),
                        "seconds": float(match[4])})
        return out

    def stop(self) -> None:
        """SIGTERM the serve process (it stops its workers), then SIGKILL any process seen below it that is still
        there (the same process: same pid and start time). Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        _terminate(self.proc)
        for pid, started in self.pids.items():
            stat = _stat(pid)
            if pid != self.proc.pid and stat is not None and stat[2] == started:
                say(f"process {pid} outlived the VTN: killed")
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def run_generator(phase: str, url: str, tokens: Path, out: Path, args: list[str], bound: float,
                  sampler: Sampler) -> dict[str, Any]:
    """bench/soak_load.py ``phase`` in its own process, killed if it outlives ``bound`` seconds."""
    cmd = [sys.executable, str(HERE / "soak_load.py"), phase, "--url", url, "--tokens", str(tokens),
           "--out", str(out), *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")]))})
    sampler.mark(phase)
    first = sampler.sample()
    try:
        code = proc.wait(bound)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the load generator's {phase} outlived its bound of {bound:.0f} s") from None
    finally:
        _terminate(proc, 5)
        last = sampler.sample()
        sampler.mark(f"after {phase}")
    if code != 0:
        raise RuntimeError(f"the load generator's {phase} failed (exit {code})")
    result: dict[str, Any] = json.loads(out.read_text())
    # CPU over the whole phase, % of one core: the generator's own count (getrusage) over the same wall time
    cpu = {**cpu_between(first, last),
           "generator_cpu_pct": round(100 * result["generator_cpu_s"] / (last["t"] - first["t"]), 1)}
    # what else ran on the machine meanwhile (this harness is a small part of it): a noisy machine shows here
    cpu["others_cpu_pct"] = round(cpu["machine_cpu_pct"] - cpu["vtn_cpu_pct"] - cpu["generator_cpu_pct"]
                                  - cpu.get("db_cpu_pct", 0.0), 1)
    result["cpu_pct"] = cpu
    return result


# ---- one run ------------------------------------------------------------------------------------------------


@dataclass
class Settings:
    vens: int
    minutes: float
    interval_seconds: float
    throughput_seconds: float
    connections: int
    concurrency: int
    sample_seconds: float
    settle_seconds: float
    seed: int
    store: str | None
    extra: list[str] = field(default_factory=list)


def _settle(sampler: Sampler, seconds: float, n: int = 3) -> dict[str, Any]:
    """Memory after a quiet moment of ``seconds``: the median of ``n`` samples over another ``seconds``."""
    time.sleep(seconds)
    rows = []
    for _ in range(n):
        rows.append(sampler.sample())
        time.sleep(seconds / n)
    rows.sort(key=lambda r: r["rss_kb"])
    return rows[len(rows) // 2]


def _slope_per_minute(rows: list[dict[str, Any]], key: str) -> float | None:
    """Least-squares slope of ``key`` (KB) over time, in KB per minute."""
    import numpy as np

    if len(rows) < 3:
        return None
    t = np.asarray([r["t"] for r in rows]) / 60.0
    y = np.asarray([r[key] for r in rows], dtype=float)
    return float(np.polyfit(t, y, 1)[0])


def _stored_tenders(vtn: Vtn, store: str | None) -> int | None:
    """How many tenders the stopped VTN's store holds (``transactive vtn report``), None if it cannot say."""
    cmd = [sys.executable, "-m", "transactive.cli", "vtn", "report", "--json", "--data-dir", str(vtn.data_dir)]
    cmd += ["--store", store] if store is not None else []
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    try:
        return int(json.loads(done.stdout)["tenders"])
    except (ValueError, KeyError, TypeError):
        say(f"vtn report could not count the tenders: {done.stderr.strip()[-300:]}")
        return None


def one_run(settings: Settings, workers: int | None, tmp: Path, store: str | None, prefix: str,
            stack: contextlib.ExitStack, db_pid: int | None = None) -> dict[str, Any]:
    label = f"workers={workers or 1}"
    data = tmp / f"data-{prefix}"
    say(f"{label}: starting the VTN (store {'SQLite in ' + str(data) if store is None else _safe(store)})")
    vtn = Vtn(data, settings.interval_seconds, store=store, workers=workers, extra=settings.extra)
    stack.callback(vtn.stop)
    sampler = Sampler(vtn.proc.pid, settings.sample_seconds, db_pid)
    stack.callback(sampler.stop)
    out: dict[str, Any] = {"workers": workers or 1, "vtn_command": _safe_command(vtn.command), "vens": settings.vens}
    try:
        baseline = _settle(sampler, settings.settle_seconds)
        vtn.pids.update(sampler.seen)
        out["baseline"] = baseline
        say(f"{label}: baseline RSS {baseline['rss_kb'] / 1024:.1f} MB over {baseline['processes']} process(es)")
        tokens = tmp / f"tokens-{prefix}.json"
        common = ["--seed", str(settings.seed), "--timeout", "30"]
        reg_bound = max(120.0, settings.vens / 20)
        out["register"] = run_generator("register", vtn.url, tokens, tmp / f"register-{prefix}.json",
                                        ["--vens", str(settings.vens), "--prefix", prefix,
                                         "--connections", str(settings.connections), "--deadline",
                                         f"{reg_bound:g}", *common], reg_bound + 60, sampler)
        registered = out["register"]["registered"]
        after = _settle(sampler, settings.settle_seconds)
        vtn.pids.update(sampler.seen)
        out["after_register"] = after
        out["kb_per_ven_rss"] = (after["rss_kb"] - baseline["rss_kb"]) / max(1, registered)
        out["kb_per_ven_pss"] = (after["pss_kb"] - baseline["pss_kb"]) / max(1, registered)
        say(f"{label}: {registered} VENs registered in {out['register']['wall_s']:.1f} s; RSS "
            f"{after['rss_kb'] / 1024:.1f} MB: {out['kb_per_ven_rss']:.2f} KB per VEN")
        seconds = settings.minutes * 60
        sampler.sample()
        first = len(sampler.samples)
        out["soak"] = run_generator("soak", vtn.url, tokens, tmp / f"soak-{prefix}.json",
                                    ["--seconds", f"{seconds:g}", "--connections", str(settings.connections),
                                     *common], seconds + 120, sampler)
        rows = [r for r in sampler.samples[first:] if r["phase"] == "soak"] or sampler.samples[first - 1:]
        out["soak_memory"] = {
            "rss_kb_first": rows[0]["rss_kb"], "rss_kb_last": rows[-1]["rss_kb"],
            "rss_kb_max": max(r["rss_kb"] for r in rows), "pss_kb_last": rows[-1]["pss_kb"],
            "rss_kb_per_minute": _slope_per_minute(rows, "rss_kb"),
            "pss_kb_per_minute": _slope_per_minute(rows, "pss_kb"),
            "samples": len(rows)}
        end = _settle(sampler, settings.settle_seconds, 1)
        out["after_soak"] = end
        out["kb_per_ven_after_soak_rss"] = (end["rss_kb"] - baseline["rss_kb"]) / max(1, registered)
        s = out["soak"]
        say(f"{label}: soak: {s['answered']} tenders answered, {s['errors']} errors, p50 "
            f"{_ms(s['latency_ms']['p50'])}, p99 {_ms(s['latency_ms']['p99'])}; RSS "
            f"{out['soak_memory']['rss_kb_first'] / 1024:.1f} -> {out['soak_memory']['rss_kb_last'] / 1024:.1f} MB")
        first = len(sampler.samples)
        out["throughput"] = run_generator("throughput", vtn.url, tokens, tmp / f"throughput-{prefix}.json",
                                          ["--seconds", f"{settings.throughput_seconds:g}", "--concurrency",
                                           str(settings.concurrency), *common],
                                          settings.throughput_seconds + 120, sampler)
        t = out["throughput"]
        say(f"{label}: throughput {t['tenders_per_s']:.0f} tenders/s ({t['errors']} errors; CPU % of a core: VTN "
            f"{t['cpu_pct']['vtn_cpu_pct']}, generator {t['cpu_pct']['generator_cpu_pct']}, machine "
            f"{t['cpu_pct']['machine_cpu_pct']})")
        out["after_throughput"] = sampler.sample()
    finally:
        vtn.pids.update(sampler.seen)
        sampler.stop()
        out["rss_series"] = sampler.samples
        vtn.stop()
        out["gates"] = vtn.gates()
    answered = out["soak"]["answered"] + out["throughput"]["answered"]
    stored = _stored_tenders(vtn, store)
    out["tenders_answered"], out["tenders_stored"] = answered, stored
    if stored is not None and stored < answered:
        raise RuntimeError(f"{answered} tenders were answered but the store holds {stored}")
    out["errors"] = out["register"]["errors"] + out["soak"]["errors"] + out["throughput"]["errors"]
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _safe(url: str) -> str:
    """A store URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _safe_command(cmd: list[str]) -> list[str]:
    return [_safe(c) if "://" in c else c for c in cmd]


# ---- PostgreSQL when asked -------------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_databases(wanted: str | None) -> Iterator[Any]:
    """(``store(run)`` -> the store URL of a run, the database server's pid to sample or None): None (SQLite), the
    URL given, or (``--store postgres``) a fresh database in a throwaway cluster started here."""
    if wanted is None or wanted != "postgres":
        yield (lambda prefix: wanted), None
        return
    try:
        from interop.postgresql.cluster import PostgresCluster
    except ImportError as error:
        raise SystemExit(f"soak_bench: --store postgres needs interop/postgresql/cluster.py ({error})") from None
    cluster = PostgresCluster().start()
    try:
        def store(prefix: str) -> str:
            name = f"soak_{prefix}".replace("-", "_")
            cluster.create_database(name)
            url: str = cluster.url(name)
            return url
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield store, postmaster
    finally:
        cluster.stop()


# ---- report ---------------------------------------------------------------------------------------------------


def table(runs: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, ...]] = [("", *(f"workers={r['workers']}" for r in runs))]

    def add(name: str, fmt: Any) -> None:
        cells = []
        for r in runs:
            try:
                cells.append(fmt(r))
            except (KeyError, TypeError):
                cells.append("-")
        rows.append((name, *cells))

    add("VENs registered", lambda r: f"{r['register']['registered']} in {r['register']['wall_s']:.0f} s "
                                     f"({r['register']['per_s']:.0f}/s)")
    add("errors (all phases)", lambda r: str(r["errors"]))
    add("VTN processes", lambda r: str(r["baseline"]["processes"]))
    add("RSS idle", lambda r: f"{r['baseline']['rss_kb'] / 1024:.1f} MB")
    add("RSS after registration", lambda r: f"{r['after_register']['rss_kb'] / 1024:.1f} MB")
    add("KB per VEN (RSS / PSS)", lambda r: f"{r['kb_per_ven_rss']:.2f} / {r['kb_per_ven_pss']:.2f}")
    add("soak tenders answered", lambda r: f"{r['soak']['answered']} of {r['soak']['sent']}")
    add("soak errors", lambda r: str(r["soak"]["errors"]))
    add("soak latency p50 / p99", lambda r: f"{_ms(r['soak']['latency_ms']['p50'])} / "
                                           f"{_ms(r['soak']['latency_ms']['p99'])}")
    add("soak latency max", lambda r: _ms(r["soak"]["latency_ms"]["max"]))
    add("RSS soak first / last / max", lambda r: "{:.1f} / {:.1f} / {:.1f} MB".format(
        *(r["soak_memory"][k] / 1024 for k in ("rss_kb_first", "rss_kb_last", "rss_kb_max"))))
    add("RSS slope", lambda r: f"{r['soak_memory']['rss_kb_per_minute']:+.0f} KB/min")
    add("KB per VEN after soak", lambda r: f"{r['kb_per_ven_after_soak_rss']:.2f}")
    add("CPU % soak VTN / gen / all", lambda r: "{vtn_cpu_pct} / {generator_cpu_pct} / {machine_cpu_pct}".format(
        **r["soak"]["cpu_pct"]))
    add("CPU % soak: others", lambda r: str(r["soak"]["cpu_pct"]["others_cpu_pct"]))
    add("gates closed (longest)", lambda r: f"{len(r['gates'])} "
                                            f"({max((g['seconds'] for g in r['gates']), default=0):.2f} s)")
    add("throughput tenders/s", lambda r: f"{r['throughput']['tenders_per_s']:.0f}")
    add("throughput errors", lambda r: str(r["throughput"]["errors"]))
    add("throughput p50 / p99", lambda r: f"{_ms(r['throughput']['latency_ms']['p50'])} / "
                                         f"{_ms(r['throughput']['latency_ms']['p99'])}")
    # % of a core / (tenders/s) * 10 = CPU milliseconds per tender
    add("VTN CPU ms per tender, tp", lambda r: "{:.2f}".format(
        r["throughput"]["cpu_pct"]["vtn_cpu_pct"] * 10 / r["throughput"]["tenders_per_s"]))
    add("CPU % tp VTN / gen / all", lambda r: "{vtn_cpu_pct} / {generator_cpu_pct} / {machine_cpu_pct}".format(
        **r["throughput"]["cpu_pct"]))
    if any("db_cpu_pct" in r["throughput"].get("cpu_pct", {}) for r in runs):
        add("CPU % tp database", lambda r: str(r["throughput"]["cpu_pct"]["db_cpu_pct"]))
    add("CPU % tp: others", lambda r: str(r["throughput"]["cpu_pct"]["others_cpu_pct"]))
    add("VTN waiting for a CPU, tp", lambda r: f"{r['throughput']['cpu_pct']['vtn_runqueue_wait_pct']} %")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, lat) = plt.subplots(2, 1, figsize=(10, 8))
    for r in runs:
        series = r["rss_series"]
        line, = mem.plot([s["t"] / 60 for s in series], [s["rss_kb"] / 1024 for s in series],
                         label=f"workers={r['workers']}")
        phase = None
        for s in series:  # a dotted line where each phase starts
            if s["phase"] != phase and s["phase"] in ("register", "soak", "throughput"):
                mem.axvline(s["t"] / 60, color=line.get_color(), linestyle=":", linewidth=0.8)
                mem.annotate(s["phase"], (s["t"] / 60, 0.02), xycoords=("data", "axes fraction"), fontsize=7,
                             rotation=90, color=line.get_color())
            phase = s["phase"]
        minutes = r["soak"]["per_minute"]
        for key, style in (("p50", "-"), ("p99", "--")):
            lat.plot([m["minute"] for m in minutes], [m[key] for m in minutes], style,
                     label=f"workers={r['workers']} {key}")
    mem.set(xlabel="minutes since the VTN started", ylabel="VTN RSS (MB, all processes)",
            title="VTN memory (baseline, registration, soak, throughput)")
    lat.set(xlabel="soak minute", ylabel="tender latency (ms)", title="soak latency per minute", yscale="log")
    mem.legend()
    lat.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- main ------------------------------------------------------------------------------------------------------


def _sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vens", type=int, default=10_000, help="simulated VENs (default 10000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the soak lasts (default 10)")
    parser.add_argument("--interval-seconds", type=float, default=60.0,
                        help="wall seconds a market interval lasts (vtn serve --interval-seconds; default 60)")
    parser.add_argument("--throughput-seconds", type=float, default=60.0, help="closed-loop phase (default 60)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections the VENs share")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent requests, throughput phase")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="memory/CPU sampling period")
    parser.add_argument("--workers", type=int, default=None, help="vtn serve --workers N (default: not passed)")
    parser.add_argument("--compare-workers", default=None, metavar="N,M",
                        help="one run per worker count, in turn, and the ratio of their tenders/s")
    parser.add_argument("--store", default=None, metavar="URL|postgres",
                        help="vtn serve --store URL; 'postgres': a throwaway cluster, a fresh database per run")
    parser.add_argument("--settle-seconds", type=float, default=3.0,
                        help="quiet time before memory is read between phases (default 3)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--vtn-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for vtn serve (repeatable)")
    parser.add_argument("--work-dir", type=Path, metavar="DIR",
                        help="keep the data directories, VTN logs and generator results here (default: a temporary "
                             "directory, removed)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure (and the series) here")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="plot memory over time and latency")
    args = parser.parse_args(argv)
    if args.compare_workers and args.workers is not None:
        parser.error("--workers and --compare-workers do not go together")
    counts: list[int | None] = ([int(x) for x in args.compare_workers.split(",")] if args.compare_workers
                                else [args.workers])
    if args.store is None and any((n or 1) > 1 for n in counts):
        parser.error("more than one worker needs --store (URL or 'postgres'): SQLite has one writer process")
    settings = Settings(vens=args.vens, minutes=args.minutes, interval_seconds=args.interval_seconds,
                        throughput_seconds=args.throughput_seconds, connections=args.connections,
                        concurrency=args.concurrency, sample_seconds=args.sample_seconds,
                        settle_seconds=args.settle_seconds, seed=args.seed,
                        store=args.store, extra=list(args.vtn_arg))
    signal.signal(signal.SIGTERM, _sigterm)
    from machine import machine_info

    runs: list[dict[str, Any]] = []
    started = time.time()
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(str(args.work_dir)) if args.work_dir is not None
          else tempfile.TemporaryDirectory(prefix="soak-bench-")) as tmp_name, contextlib.ExitStack() as stack:
        store_of, db_pid = stack.enter_context(postgres_databases(args.store))
        for k, workers in enumerate(counts):
            prefix = f"soak{k + 1}"
            # a URL given by hand is one database for every run: new party ids, so the runs do not collide
            runs.append(one_run(settings, workers, Path(tmp_name), store_of(prefix), prefix, stack, db_pid))
    results: dict[str, Any] = {
        "benchmark": "soak", "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "settings": {**settings.__dict__, "store": None if args.store is None else _safe(args.store),
                     "workers": [r["workers"] for r in runs]},
        "runs": runs, "machine": machine_info()}
    print(table(runs))
    if len(runs) >= 2:
        base = runs[0]["throughput"]["tenders_per_s"]
        results["throughput_ratio"] = {f"{r['workers']}/{runs[0]['workers']}": r["throughput"]["tenders_per_s"] / base
                                       for r in runs[1:]}
        for name, ratio in results["throughput_ratio"].items():
            print(f"tenders/s ratio workers {name}: {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        say(f"wrote {args.json}")
    if args.plot:
        plot(runs, args.plot)
        say(f"wrote {args.plot}")
    errors = sum(r["errors"] for r in runs)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
