"""``transactive`` commands as processes against a real HTTP VTN on loopback, on accelerated market time."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from transactive.vtn.app import VtnApp, VtnOptions

ROOT = Path(__file__).resolve().parents[2]


async def run_against_vtn(tmp: Path, *commands: Sequence[str], common: Sequence[str] = (), ahead: int = 16,
                          timeout: float = 90) -> list[str]:
    """Start a VTN whose 15-minute interval lasts 0.5 s, run each command (``transactive`` arguments, given
    ``--vtn URL --start ISO`` and ``common``) as a process from the interval ``ahead`` intervals after the next
    open one (time for the processes to start), and return their outputs once every one has exited 0."""
    vtn = VtnApp(VtnOptions(data_dir=tmp / "vtn", port=0, interval_seconds=0.5))
    await vtn.start()
    try:
        info = await vtn.health()
        start = datetime.fromisoformat(info["next_open_interval"]) + timedelta(minutes=15) * ahead
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transactive.cli", *argv, "--vtn", vtn.url, "--start", start.isoformat(), *common,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT) for argv in commands]
        outputs = [(await asyncio.wait_for(p.communicate(), timeout))[0].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * len(procs), outputs
        return outputs
    finally:
        await vtn.stop()
