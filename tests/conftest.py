"""Shared fixtures: sample messages of every family, collected from the packages' ``examples()``; a throwaway
PKI for the TLS tests."""

from __future__ import annotations

import importlib
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
