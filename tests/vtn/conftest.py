"""Fixtures for the VTN tests: an in-process VTN on a free loopback port (manual market clock), and helpers
to run ``transactive vtn serve`` as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from transactive.ledger import EmbeddedLedger
from transactive.services import ManualClock, MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
from transactive.services.pg_store import PgStore
from transactive.services.store import Store
from transactive.vtn import NoticeBoard, create_server, openapi_document

MARKET = "https://lme.example.com/markets/rt15"
#: the interval the in-process tests trade in (gate closes 11:55)
T = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 11, 30, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    service: VtnService
    clock: ManualClock
    config: MarketConfig
    board: NoticeBoard
    settlement: Settlement
    ledger_path: Path


@pytest.fixture
def config() -> MarketConfig:
    return MarketConfig(market_context=MARKET, market_party_id="market-lme", name="LME rt15",
                        min_quantity_kwh=Decimal("0.1"), max_quantity_kwh=Decimal("100"),
                        min_price=Decimal("0.01"), max_price=Decimal("1"))


async def start_site(app: web.Application | web.Server) -> tuple[web.BaseRunner, str]:
    runner: web.BaseRunner = (web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
                              if isinstance(app, web.Application) else web.ServerRunner(app, shutdown_timeout=0.5))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


#: the stores the VTN tests run against: SQLite in the data directory, and a PostgreSQL database of its own
#: (``vtn serve --store``); the tests of what only SQLite has (its start-up checks, its storage faults) do not
#: take these fixtures
STORES = ["sqlite", "postgresql"]


@pytest.fixture(params=STORES)
def vtn_store(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the data directory) or the URL of an empty PostgreSQL database for this test."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="module", params=STORES)
def vtn_module_store(request: pytest.FixtureRequest) -> str | None:
    """:func:`vtn_store` for a VTN that a module's tests share."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("pg_module_url"))


def store_flags(store: str | None) -> tuple[str, ...]:
    """The ``vtn serve`` / ``vtn report`` flags for ``store``."""
    return () if store is None else ("--store", store)


@pytest.fixture
async def server(tmp_path: Path, config: MarketConfig, vtn_store: str | None) -> AsyncIterator[Server]:
    clock = ManualClock(NOW)
    store: Store = SqliteStore(tmp_path / "vtn.db") if vtn_store is None else PgStore(vtn_store)
    ledger = EmbeddedLedger(tmp_path / "ledger.db", now=clock)
    settlement = Settlement(store, ledger, config=config, clock=clock)
    service = VtnService(VtnCore(config, store, clock), settlement=settlement)
    board = NoticeBoard()
    unlisten = service.listen(board.post)
    runner, url = await start_site(create_server(service, board=board, max_body=64 * 1024))
    try:
        yield Server(url, service, clock, config, board, settlement, tmp_path / "ledger.db")
    finally:
        await runner.cleanup()
        unlisten()
        await ledger.close()
        store.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# ---- the VTN as a subprocess ------------------------------------------------------------------------


@dataclass
class VtnProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    data_dir: Path | None = None
    #: the PostgreSQL database it keeps its store in (None: SQLite in its data directory)
    store: str | None = None

    def open_store(self) -> Store:
        """Its store (the caller closes it)."""
        assert self.data_dir is not None
        return SqliteStore(self.data_dir / "vtn.db") if self.store is None else PgStore(self.store, pool_max=1)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        """SIGTERM and wait: the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)


def start_vtn(data_dir: Path, *args: str, log_name: str = "vtn", store: str | None = None) -> VtnProcess:
    """``transactive vtn serve --port 0 --data-dir DATA_DIR ARGS`` (``--store STORE`` when given) until it
    prints where it listens."""
    args = (*args, *store_flags(store))
    out = data_dir.parent / f"{log_name}-{time.monotonic_ns()}.out"
    err = out.with_suffix(".err")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "transactive.cli", "vtn", "serve", "--host", "127.0.0.1", "--port", "0",
             "--data-dir", str(data_dir), *args],
            stdout=stdout, stderr=stderr, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = out.read_text()
        if "listening on " in text:
            url = text.split("listening on ", 1)[1].split()[0]
            return VtnProcess(proc, url, err, data_dir, store)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    raise AssertionError(f"the VTN did not start: {err.read_text()[-2000:]}")


@pytest.fixture
def vtn_processes() -> Iterator[list[VtnProcess]]:
    """Every subprocess a test starts is put here and killed at the end, whatever happens."""
    started: list[VtnProcess] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(10)


def checked_health(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (a ``GET /health`` answer) after checking it against the Health schema the OpenAPI document
    publishes: what the VTN reports is what it documents."""
    from jsonschema import Draft202012Validator

    schema = openapi_document()["components"]["schemas"]["Health"]
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    undocumented = set(body) - set(schema["properties"])
    assert not undocumented, f"GET /health reports fields its schema does not document: {sorted(undocumented)}"
    return body
