"""Shared fixtures: sample messages of every family, collected from the packages' ``examples()``; a throwaway
PKI for the TLS tests; a PostgreSQL server the tests start themselves, with a fresh database per test."""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from interop.postgresql.cluster import PostgresCluster
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


#: the database every test database is copied from (empty: PgStore creates its schema)
_PG_TEMPLATE = "transactive_template"
_pg_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresCluster]:
    """A PostgreSQL server of the test session on a loopback port (interop/postgresql/cluster.py; installed
    with apt-get if missing). fsync is off: the tests never survive a machine crash anyway, and commits are
    faster without it (the store's durability settings, ``synchronous_commit``, are still what it sets)."""
    with PostgresCluster(fsync=False) as cluster:
        cluster.create_database(_PG_TEMPLATE)
        yield cluster


@pytest.fixture
def pg_url(pg_server: PostgresCluster) -> Iterator[str]:
    """The URL of a new, empty database of its own for one test (a copy of an empty template: ~10 ms),
    dropped after the test."""
    import psycopg  # the optional extra "postgresql": only the tests that use PostgreSQL need it

    name = f"test_{os.getpid()}_{next(_pg_names)}"
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        # FILE_COPY (PostgreSQL 15+): copies the small template's files instead of logging every block
        strategy = " STRATEGY FILE_COPY" if admin.info.server_version >= 150000 else ""
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_PG_TEMPLATE}"{strategy}')
    yield pg_server.url(name)
    if pg_server.running():
        with psycopg.connect(pg_server.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
