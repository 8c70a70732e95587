"""``transactive vtn serve --store URL --workers N``: N VTN processes on one machine, sharing the listening port
(SO_REUSEPORT: the kernel spreads new connections over them) and the PostgreSQL database (:mod:`.cluster`:
one of them is the leader).

This process only supervises: it makes the data directory and the VTN's key (so that the workers do not race
to make them), reserves the port when ``--port 0`` asks for any (a bound socket that does not listen, held
until the end), then starts each worker as ``python -m transactive.cli vtn serve`` with the same flags plus
``--port P --reuse-port``: the first alone until it listens (it makes the files the data directory lacks), then
the others. A worker that dies is started again after :data:`RESTART_DELAY` seconds, unless it
was refused at start (exit code 2 within :data:`START_GRACE` seconds: a configuration problem that a restart
cannot mend), which stops them all with exit code 2. SIGTERM or SIGINT is passed on to every worker; the
supervisor exits once they have stopped (those still running after :data:`STOP_WAIT` seconds are killed).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transactive.vtn.announce import Announcer

__all__ = ["RESTART_DELAY", "START_GRACE", "STOP_WAIT", "supervise", "worker_argv"]

RESTART_DELAY = 1.0
START_GRACE = 20.0
STOP_WAIT = 15.0


def worker_argv(argv: Sequence[str], port: int) -> list[str]:
    """The flags of one worker: ``argv`` (what ``vtn serve`` was given) without ``--workers``, ``--port`` and
    the ``--announce`` flags (the supervisor announces), plus ``--port port --reuse-port``."""
    out: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in ("--workers", "--port", "--announce-name", "--announce-host"):
            skip = True
            continue
        if token.startswith(("--workers=", "--port=", "--announce-name=", "--announce-host=")) or \
                token in ("--reuse-port", "--announce"):
            continue
        out.append(token)
    return [*out, "--port", str(port), "--reuse-port"]


def _reserve(host: str, port: int) -> tuple[socket.socket, int]:
    """A socket bound to ``(host, port)`` with SO_REUSEPORT, not listening: it keeps the port for the workers
    (``port`` 0: any free one) and takes no connection itself."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock, int(sock.getsockname()[1])


def _listening(host: str, port: int, first: subprocess.Popen[bytes]) -> bool:
    """Wait until a process accepts connections on ``(host, port)``; False if ``first`` ended before (or after
    :data:`START_GRACE` seconds: then the supervisor's loop sees to it)."""
    deadline = time.monotonic() + START_GRACE
    while time.monotonic() < deadline and first.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.1)
    return first.poll() is None


def supervise(args: argparse.Namespace, prog: str) -> int:
    """Run ``args.workers`` workers until SIGTERM/SIGINT (see the module docstring); the exit code."""
    from transactive.protocol.identity import load_or_create_identity
    from transactive.services.store import url_for_messages as redacted
    from transactive.vtn.app import KEY_FILE

    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        identity = load_or_create_identity(args.data_dir / KEY_FILE)
        holder, port = _reserve(args.host, args.port)
    except (OSError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    argv = worker_argv(getattr(args, "argv", None) or sys.argv[1:], port)
    command = [sys.executable, "-m", "transactive.cli", *argv]
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers: list[tuple[subprocess.Popen[bytes], float]] = []
    announcer: Announcer | None = None
    code = 0
    try:
        # the first alone until it listens: it makes what the data directory lacks (the operator token, the
        # token key, the ledger key...), which workers starting together would race to make
        workers = [(subprocess.Popen(command), time.monotonic())]
        if _listening(args.host, port, workers[0][0]):
            workers += [(subprocess.Popen(command), time.monotonic()) for _ in range(args.workers - 1)]
        print(f"transactive VTN: {args.workers} workers on {args.host}:{port} (pids "
              f"{', '.join(str(w.pid) for w, _ in workers)}; store {redacted(args.store)})", flush=True)
        if getattr(args, "announce", False):
            announcer, problem = _announce(args, port, identity.public.keyid)
            if problem is not None:
                print(f"{prog}: --announce: {problem}", file=sys.stderr)
                stopping, code = True, 2
        while not stopping:
            time.sleep(0.2)
            for i, (worker, started) in enumerate(workers):
                status = worker.poll()
                if status is None or stopping:
                    continue
                if status == 2 and time.monotonic() - started < START_GRACE:
                    print(f"{prog}: worker {worker.pid} was refused at start (exit code 2, its message is above); "
                          "stopping", file=sys.stderr)
                    stopping, code = True, 2
                    break
                print(f"{prog}: worker {worker.pid} ended (exit status {status}); starting another", file=sys.stderr,
                      flush=True)
                time.sleep(RESTART_DELAY)
                workers[i] = (subprocess.Popen(command), time.monotonic())
    finally:
        if announcer is not None:
            announcer.close()  # (VENs stop finding the market before its workers stop)
        for worker, _ in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for worker, _ in workers:
            try:
                worker.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        holder.close()
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)
    print("transactive VTN stopped", flush=True)
    return code


def _announce(args: argparse.Namespace, port: int, vtn_key: str) -> tuple[Announcer | None, str | None]:
    """``--announce`` for all the workers (:mod:`.announce`): the announcer, or why it failed."""
    from transactive.protocol.market import MarketConfig
    from transactive.vtn.announce import AnnounceError, Announcer, from_flags
    from transactive.vtn.options import DEFAULT_MARKET_CONTEXT

    config = MarketConfig(market_context=args.market_context or DEFAULT_MARKET_CONTEXT,
                          interval=timedelta(minutes=args.interval_minutes), signing_key=vtn_key)
    announcer = Announcer()
    try:
        announcer.start(from_flags(args, "https" if args.tls_cert else "http", port, config))
    except AnnounceError as exc:
        return None, str(exc)
    return announcer, None
