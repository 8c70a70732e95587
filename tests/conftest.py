"""Shared fixtures: sample messages of every family, collected from the packages' ``examples()``; a throwaway
PKI for the TLS tests."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.pki import Pki, make_pki

_EXAMPLE_MODULES = (
    "transactive.ei.oadr.examples",
    "transactive.ei.cts.examples",
    "transactive.calendar.examples",
    "transactive.services.examples",  # the extension payloads (tx:, urn:transactive:ext:2026)
)


def all_examples() -> list[Any]:
    """Every example message the message packages provide (deterministic, fully populated)."""
    out: list[Any] = []
    for name in _EXAMPLE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        out.extend(module.examples())
    return out


@pytest.fixture(scope="session")
def examples() -> list[Any]:
    return all_examples()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA with a VTN's and VENs' certificates, a second CA, and bad certificates (tests/pki.py)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every VEN the tests start without --state-dir keeps its key in a folder of the test session, never in the
    home directory of whoever runs the tests (a key left there by an earlier run would be another party)."""
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state-home"))
    yield
    if previous is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = previous
