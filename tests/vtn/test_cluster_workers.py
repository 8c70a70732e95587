"""``transactive vtn serve --store URL --workers N``: N processes on one port (SO_REUSEPORT), one leader, a
killed worker started again, SIGTERM stops them all; and the refusals (no --store, a bad URL, another clock,
another key) on one line with exit code 2."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.vtn.conftest import ROOT, VtnProcess, checked_health, start_vtn
from transactive.vtn.workers import worker_argv

pytestmark = pytest.mark.slow


def _serve(*args: str, out: Path) -> subprocess.Popen[bytes]:
    with open(out, "wb") as stdout:
        return subprocess.Popen([sys.executable, "-m", "transactive.cli", "vtn", "serve", *args], stdout=stdout,
                                stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_for(out: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = out.read_text()
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not printed: {out.read_text()[-3000:]}")


async def _processes_behind(url: str, tries: int = 60) -> dict[str, bool]:
    """process name -> leader, for every process that answered one of ``tries`` new connections."""
    seen: dict[str, bool] = {}
    for _ in range(tries):
        async with aiohttp.ClientSession() as http:  # a new connection each time: the kernel picks a worker
            try:
                async with http.get(url + "/health") as response:
                    body = checked_health(await response.json())
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
                continue
        seen[body["cluster"]["process"]] = body["cluster"]["leader"]
    return seen


def test_worker_flags_replace_port_and_workers() -> None:
    assert worker_argv(["vtn", "serve", "--workers", "3", "--port=0", "--data-dir", "d", "--store", "u"], 8080) == [
        "vtn", "serve", "--data-dir", "d", "--store", "u", "--port", "8080", "--reuse-port"]


async def test_two_workers_share_the_port_elect_one_leader_and_replace_a_killed_one(tmp_path: Path,
                                                                                      pg_url: str) -> None:
    out = tmp_path / "serve.out"
    proc = _serve("--data-dir", str(tmp_path / "vtn"), "--store", pg_url, "--workers", "2", "--port", "0",
                  "--interval-seconds", "5", out=out)
    try:
        text = _wait_for(out, "workers on 127.0.0.1:", proc)
        port = int(text.split("workers on 127.0.0.1:", 1)[1].split()[0])
        _wait_for(out, "listening on", proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        seen: dict[str, bool] = {}
        while time.monotonic() < deadline and (len(seen) < 2 or sum(seen.values()) != 1):
            seen = await _processes_behind(url)
        assert len(seen) == 2, seen
        assert sum(seen.values()) == 1, f"not exactly one leader: {seen}"
        # SIGKILL the leader: the other takes over and the supervisor starts a third process
        leader_pid = int(next(name for name, lead in seen.items() if lead).rsplit(":", 1)[1])
        os.kill(leader_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        after: dict[str, bool] = {}
        while time.monotonic() < deadline:
            after = await _processes_behind(url, tries=30)
            if len(after) == 2 and sum(after.values()) == 1 and f":{leader_pid}" not in "".join(after):
                break
            await asyncio.sleep(0.2)
        assert len(after) == 2, after
        assert sum(after.values()) == 1, after
        assert all(not name.endswith(f":{leader_pid}") for name in after)
        assert "starting another" in out.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0
    assert out.read_text().rstrip().endswith("transactive VTN stopped")


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "2"], "--workers 2 needs --store postgresql://"),
    (["--store", "sqlite:///x.db"], "--store sqlite:///x.db: a postgresql://USER@HOST:PORT/DB URL"),
    (["--store", "postgresql://nobody:secret@127.0.0.1:1/none"], "--store postgresql://nobody@127.0.0.1:1/none:"),
])
def test_refusals_are_one_line_with_exit_code_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir",
                             str(tmp_path / "vtn"), "--port", "0", *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1], result.stderr
    assert "secret" not in result.stderr + result.stdout  # the password is never printed
    assert "Traceback" not in result.stderr


def test_every_process_must_run_the_same_clock_and_key(tmp_path: Path, pg_url: str,
                                                       vtn_processes: list[VtnProcess]) -> None:
    vtn_processes.append(start_vtn(tmp_path / "a", "--store", pg_url, "--interval-seconds", "5"))
    clock = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir", str(tmp_path / "a"),
                            "--port", "0", "--store", pg_url, "--interval-seconds", "7"], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert clock.returncode == 2
    assert "--interval-seconds 7: the VTN on" in clock.stderr
    assert "--interval-seconds 5" in clock.stderr
    key = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir", str(tmp_path / "b"),
                          "--port", "0", "--store", pg_url, "--interval-seconds", "5"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert key.returncode == 2
    assert "vtn.key: not the key of the VTN on" in key.stderr
    assert "copy vtn.key" in key.stderr
