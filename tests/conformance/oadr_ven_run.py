"""Running ``listen --role ven`` in the test's event loop against a VEN started once the kit listens."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from transactive.interop.conformance.model import Options, Report, Result
from transactive.interop.conformance.oadr_ven import listen

ROOT = Path(__file__).resolve().parents[2]


def results(report: Report, result: Result) -> set[str]:
    return {o.case.id for o in report.outcomes if o.result is result}


def explain(report: Report) -> str:
    return "\n".join(f"{o.case.id} {o.result}: {o.detail}" for o in report.outcomes)


async def listen_with(options: Options, start: Callable[[str], object]) -> Report:
    """Run the kit on a free loopback port; ``start(url)`` starts the VEN when the kit listens."""
    return await listen("127.0.0.1", 0, options, ready=start)


def transactive_ven(url: str, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``transactive ven run --protocol openadr`` as a process (its output in ``workdir``)."""
    with open(workdir / "ven.out", "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr",
                                 "--vtn", url, "--party", "ven-1", "--personality", "load", "--state-dir",
                                 str(workdir / "state"), *extra], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> list[int | None]:
    codes = []
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        codes.append(proc.returncode)
    return codes
