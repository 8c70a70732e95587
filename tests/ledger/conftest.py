"""Fixtures shared by the ledger tests: real anvil nodes (one per session, stopped at the end).

anvil comes from the npm registry (interop/anvil/install.sh, run by ``make anvil``, or here when missing);
when it cannot be had, every test that needs it skips with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ledger.anvil_process import AnvilProcess, anvil_or_skip


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    with anvil_or_skip() as node:
        yield node


@pytest.fixture(scope="session")
def anvil_manual() -> Iterator[AnvilProcess]:
    """A second node that mines only on evm_mine (--no-mining)."""
    with anvil_or_skip("--no-mining") as node:
        yield node
