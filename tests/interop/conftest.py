"""The interop peers that live in virtual environments of their own, built on first use by their
``make_venv.sh``: openleadr 0.5.36 (``.venv-openleadr``: it pins old signxml/xmltodict versions) and
openadr3-client 2.4.2 (``.venv-openadr3``: it needs Python 3.12). The tests that need one are skipped (with the
reason) only when it cannot be built, e.g. offline or without Python 3.12."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: the openleadr peer's scripts
PEER = ROOT / "interop" / "openleadr_peer"


def peer_python(peer: str, venv_name: str, what: str) -> Path:
    """The interpreter of the virtual environment ``venv_name`` at the repository root, built with
    ``interop/<peer>/make_venv.sh`` if needed; the test is skipped, saying why, when it cannot be built."""
    venv = ROOT / venv_name
    python = venv / "bin" / "python"
    try:
        done = subprocess.run(["bash", str(ROOT / "interop" / peer / "make_venv.sh"), str(venv)],
                              capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot build the {what} virtual environment: {exc}")
    if done.returncode != 0 or not python.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        pytest.skip(f"cannot build the {what} virtual environment: {' | '.join(tail)}")
    return python


@pytest.fixture(scope="session")
def openleadr_python() -> Path:
    """The interpreter of the openleadr virtual environment."""
    return peer_python("openleadr_peer", ".venv-openleadr", "openleadr")


@pytest.fixture(scope="session")
def openadr3_python() -> Path:
    """The interpreter of the openadr3-client virtual environment."""
    return peer_python("openadr3_peer", ".venv-openadr3", "openadr3-client")
