"""The openleadr peer: its own virtual environment (``.venv-openleadr``, built by
``interop/openleadr_peer/make_venv.sh`` on first use), because openleadr 0.5.36 pins old signxml/xmltodict
versions. The tests that need it are skipped (with the reason) only when it cannot be built, e.g. offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / "interop" / "openleadr_peer"
VENV = ROOT / ".venv-openleadr"
PYTHON = VENV / "bin" / "python"


@pytest.fixture(scope="session")
def openleadr_python() -> Path:
    """The interpreter of the openleadr virtual environment, built by make_venv.sh if needed."""
    try:
        done = subprocess.run(
            ["bash", str(PEER / "make_venv.sh"), str(VENV)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot build the openleadr virtual environment: {exc}")
    if done.returncode != 0 or not PYTHON.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        pytest.skip(f"cannot build the openleadr virtual environment (offline?): {' | '.join(tail)}")
    return PYTHON
