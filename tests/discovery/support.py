"""What the multicast tests share: network namespaces (Linux, root: as in CI) and running the command line in
them. A namespace starts with nothing but a loopback that is down: what a test needs (loopback up, a veth link
between two namespaces) it sets up with :func:`ip`, and :func:`namespaces` removes them all afterwards. Without
root or iproute2's ``ip``, or where the kernel refuses, the test is skipped saying which."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["CLI", "ROOT", "ip", "namespaces", "run", "wait_for"]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "transactive.cli"]


def wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> str:
    """The content of ``path`` once it holds ``text`` (AssertionError if ``proc`` ends or time runs out first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path.name}: {path.read_text()[-2000:]}")


def run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``ARGS`` run to the end after ``prefix`` (a namespace's, or none), in the repository."""
    return subprocess.run([*prefix, *args], capture_output=True, text=True, cwd=ROOT, timeout=30, check=False)


def _ip_command() -> str:
    found = shutil.which("ip")
    if found is None:
        pytest.skip("no 'ip' command (iproute2) to create network namespaces with")
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root (CAP_SYS_ADMIN)")
    return found


def ip(*args: str) -> None:
    """``ip ARGS``; the test is skipped, naming the command and the kernel's answer, if it fails."""
    done = subprocess.run([_ip_command(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"'ip {' '.join(args)}' failed here: {done.stderr.strip()}")


@contextmanager
def namespaces(*roles: str) -> Iterator[dict[str, tuple[str, list[str]]]]:
    """One new namespace per role: role -> (its name, the command prefix that runs a program in it)."""
    command = _ip_command()
    made: dict[str, tuple[str, list[str]]] = {}
    try:
        for role in roles:
            name = f"transactive-{role}-{os.getpid()}"
            ip("netns", "add", name)
            made[role] = (name, [command, "netns", "exec", name])
            ip("-n", name, "link", "set", "lo", "up")
        yield made
    finally:
        for name, _prefix in made.values():
            subprocess.run([command, "netns", "del", name], capture_output=True, check=False)
