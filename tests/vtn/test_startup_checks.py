"""``transactive vtn serve`` checks its data directory before it serves: each damage is refused with exit code 2
and one line on standard error naming the file and the problem (no traceback), again at every start, and
``--read-only`` starts it anyway for inspection (reads answered, writes refused with 503, nothing written).
Every other refused start (bad options, a port in use, unreadable files, a parent, broker or node that does
not answer, a second VTN on the same directory) is exit 2 and one line as well.

The data directories are real: a VTN process traded one interval in them and was stopped (SIGTERM) or
killed (SIGKILL, its WAL left behind); each test damages a copy of one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.ledger.embedded_helpers import sql
from tests.services.test_storage_faults import damage_table_page
from tests.vtn.conftest import ROOT, VtnProcess, start_vtn
from tests.vtn.test_storage_serve import health, post
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import EiCreatedPartyRegistration, EiCreatePartyRegistration
from transactive.ledger.embedded import LedgerStore
from transactive.protocol.replies import reply_response
from transactive.transport.http import HttpTransport
from transactive.ven import join_market
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

PROG = "transactive vtn serve: "
HEADER, FRAME = 32, 24 + 4096


def serve(data: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``vtn serve`` that is expected to refuse: it must end by itself."""
    return subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--port", "0", "--data-dir",
                           str(data), *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False)


def refused(data: Path, *args: str) -> str:
    """The one line a refused start prints (exit 2, no traceback)."""
    out = serve(data, *args)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(PROG)
    assert "Traceback" not in out.stderr
    assert "listening" not in out.stdout
    return lines[0][len(PROG):]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _trade(url: str) -> None:
    """Register two parties, tender, wait until the VTN's own gate closure made (and anchored) transactions."""
    async with HttpTransport(url, timeout=10) as transport:
        seller = await join_market(transport, "pv-1", DEFAULT_MARKET_CONTEXT)
        buyer = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
        _, facts = await health(url)
        interval = datetime.fromisoformat(facts["next_open_interval"]) + timedelta(seconds=facts["interval"])
        await seller.tender(interval, "sell", 2.0, "0.10")
        await buyer.tender(interval, "buy", 2.0, "0.20")
        deadline = time.monotonic() + 30
        while len(await buyer.transactions()) < 1:
            assert time.monotonic() < deadline, "no gate closed"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the anchors follow the clearing
        await seller.tender(interval + 4 * timedelta(seconds=facts["interval"]), "sell", 1.0, "0.10")


def _used_dir(base: Path, kill: bool) -> Path:
    data = base / "vtn"
    vtn = start_vtn(data, "--interval-seconds", "1")
    try:  # (in a thread of its own: the fixture may be set up from inside a test's event loop)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _trade(vtn.url)).result()
    finally:
        if kill:
            vtn.kill()
        else:
            assert vtn.terminate() == 0
    return data


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory a VTN traded in and was stopped cleanly (no WAL left)."""
    return _used_dir(tmp_path_factory.mktemp("stopped"), kill=False)


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose VTN was killed (SIGKILL) after trading: the store's WAL holds the recent writes."""
    data = _used_dir(tmp_path_factory.mktemp("killed"), kill=True)
    assert (data / "vtn.db-wal").stat().st_size > HEADER + 10 * FRAME
    return data


# ---- the damages -----------------------------------------------------------------------------------


def corrupt_store_page(d: Path) -> None:
    damage_table_page(d / "vtn.db", "tenders")


def delete_store(d: Path) -> None:
    (d / "vtn.db").unlink()


def delete_wal(d: Path) -> None:
    (d / "vtn.db-wal").unlink()


def corrupt_wal(d: Path) -> None:
    wal = d / "vtn.db-wal"
    data = bytearray(wal.read_bytes())
    data[HEADER + FRAME + 24 + 1000] ^= 0xFF  # inside the page of frame 2; many commits follow it
    wal.write_bytes(bytes(data))


def alter_ledger_entry(d: Path) -> None:
    sql(d / "ledger.db", "UPDATE ledger_entries SET data = replace(data, '\"2.000\"', '\"20.000\"') WHERE seq = 1")


def truncate_ledger(d: Path) -> None:
    sql(d / "ledger.db", "DELETE FROM ledger_entries WHERE seq = (SELECT max(seq) FROM ledger_entries)")


def cut_ledger_file(d: Path) -> None:
    path = d / "ledger.db"
    path.write_bytes(path.read_bytes()[:3 * 4096 + 100])


def delete_ledger(d: Path) -> None:
    (d / "ledger.db").unlink()


def replace_ledger(d: Path) -> None:
    """A new, valid, empty ledger with the same key: the store's anchors are not on it."""
    (d / "ledger.db").unlink()
    LedgerStore(d / "ledger.db").close()


def delete_ledger_key(d: Path) -> None:
    (d / "ledger.db.key").unlink()


DAMAGES: list[tuple[str, Callable[[Path], None], str]] = [
    ("stopped", corrupt_store_page, "vtn.db: damaged"),
    ("stopped", delete_store, "vtn.db: missing, but this data directory was used before"),
    ("killed", delete_wal, "vtn.db-wal: missing after an unclean shutdown"),
    ("killed", corrupt_wal, "vtn.db-wal: frame 2 of"),
    ("stopped", alter_ledger_entry, "ledger.db: does not verify at entry 1: entry 1 was altered"),
    ("stopped", truncate_ledger, "was removed from the end"),
    ("stopped", cut_ledger_file, "ledger.db: not an SQLite database (database disk image is malformed)"),
    ("stopped", delete_ledger, "ledger.db: missing, but ledger.db.key is there"),
    ("stopped", replace_ledger, "records as anchored are not on the ledger"),
    ("stopped", delete_ledger_key, "ledger.db.key: missing"),
]


def _digests(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())
            if p.name in ("vtn.db", "vtn.db-wal", "ledger.db", "ledger.db-wal", "ledger.db.key", "clock.json")}


@pytest.mark.parametrize(("template", "damage", "expected"), DAMAGES, ids=[d[1].__name__ for d in DAMAGES])
async def test_a_damaged_data_directory_is_refused_with_one_line_and_read_only_starts_it(
        template: str, damage: Callable[[Path], None], expected: str, request: pytest.FixtureRequest,
        tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    shutil.copytree(request.getfixturevalue(template), data)
    damage(data)
    before = _digests(data)

    line = refused(data, "--interval-seconds", "1")
    assert str(data) in line
    assert expected in line
    assert line.endswith("not started (--read-only starts it for inspection)")

    vtn = start_vtn(data, "--interval-seconds", "1", "--read-only")
    vtn_processes.append(vtn)
    status, body = await health(vtn.url)
    assert (status, body["status"]) == (503, "degraded")
    assert body["read_only"]
    assert expected in body["start_problems"][0]
    status, reply = await post(vtn.url, EiCreatePartyRegistration(request_id="r", registree_party_id="x"), None)
    assert status == 503  # writes refused
    assert isinstance(reply, EiCreatedPartyRegistration)
    response = reply_response(reply)
    assert response is not None
    assert response.response_code == "503"
    status, reply = await post(vtn.url, EiRequestEiMarketContext(request_id="c", market_contexts=(
        DEFAULT_MARKET_CONTEXT,)), None)
    assert status == 200  # reads answered
    assert vtn.terminate() == 0

    assert _digests(data) == before  # read-only wrote nothing
    assert expected in refused(data, "--interval-seconds", "1")  # and the problem is still found


async def test_an_intact_directory_restarts_after_sigkill_and_after_sigterm(killed: Path, stopped: Path,
                                                                           tmp_path: Path,
                                                                           vtn_processes: list[VtnProcess]) -> None:
    for template in (killed, stopped):
        data = tmp_path / template.parent.name
        shutil.copytree(template, data)
        vtn = start_vtn(data, "--interval-seconds", "1")
        vtn_processes.append(vtn)
        status, body = await health(vtn.url)
        assert (status, body["start_problems"], body["read_only"]) == (200, [], None)
        assert vtn.terminate() == 0
        assert not (data / "vtn.db-wal").exists()  # a clean stop checkpoints and removes the WAL


# ---- every other refused start ----------------------------------------------------------------------


def test_bad_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, expected in ((["--port", "abc"], "argument --port"), (["--port", "70000"], "argument --port"),
                           (["--interval-seconds", "-1"], "argument --interval-seconds"),
                           (["--mqtt", "nohost"], "argument --mqtt"), (["--bogus"], "unrecognized arguments")):
        assert expected in refused(tmp_path / "vtn", *args)


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--port", str(port),
                              "--data-dir", str(tmp_path / "vtn")], capture_output=True, text=True, cwd=ROOT,
                             timeout=60, check=False)
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert line.startswith(f"{PROG}cannot listen on 127.0.0.1:{port}")


def test_a_second_vtn_on_the_same_data_directory_is_refused(tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    vtn_processes.append(start_vtn(data, "--interval-seconds", "1"))
    assert "is another VTN running on" in refused(data, "--interval-seconds", "1")


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("clock.json", b"{not json", "clock.json: not a readable market clock"),
    ("clock.json", b'{"speed": 1}', "clock.json: not a readable market clock"),
    ("ledger.db.key", b"not a key", "ledger.db.key: not a PEM private key"),
])
def test_an_unreadable_file_is_one_line_naming_it(stopped: Path, tmp_path: Path, name: str, content: bytes,
                                                  expected: str) -> None:
    data = tmp_path / "vtn"
    shutil.copytree(stopped, data)
    (data / name).write_bytes(content)
    assert expected in refused(data, "--interval-seconds", "1")


def test_a_data_directory_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "cannot use this data directory" in refused(tmp_path / "file")


@pytest.mark.parametrize(("args", "expected"), [
    (["--parent", "http://127.0.0.1:{port}", "--parent-party", "feeder", "--parent-wait", "0.3"],
     "the parent VTN did not answer"),
    (["--mqtt", "127.0.0.1:{port}"], "--mqtt 127.0.0.1:{port}: cannot connect to the broker"),
    (["--ledger", "evm", "--evm-url", "http://127.0.0.1:{port}"], "--evm-url http://127.0.0.1:{port}: "),
])
def test_a_peer_that_does_not_answer_is_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    port = _free_port()
    line = refused(tmp_path / "vtn", *(a.format(port=port) for a in args))
    assert expected.format(port=port) in line


async def test_with_a_broker_that_answers_the_vtn_serves_over_mqtt_too(tmp_path: Path,
                                                                      vtn_processes: list[VtnProcess]) -> None:
    from interop.mosquitto.broker import BrokerError, MosquittoBroker, install

    try:
        binary = install()
    except BrokerError as error:
        pytest.skip(str(error))
    with MosquittoBroker(binary=binary) as broker:
        vtn = start_vtn(tmp_path / "vtn", "--mqtt", f"{broker.host}:{broker.port}")
        vtn_processes.append(vtn)
        async with aiohttp.ClientSession() as http, http.get(vtn.url + "/health") as response:
            assert response.status == 200
        assert vtn.terminate() == 0
    assert "MQTT bridge for" in vtn.log.read_text()
    assert os.path.exists(tmp_path / "vtn" / "vtn.db")


def test_a_start_refused_after_the_store_was_opened_leaves_it_marked_clean(tmp_path: Path) -> None:
    refused(tmp_path / "vtn", "--parent", f"http://127.0.0.1:{_free_port()}", "--parent-party", "f",
            "--parent-wait", "0.2")
    conn = sqlite3.connect(f"file:{tmp_path / 'vtn' / 'vtn.db'}?mode=ro", uri=True)
    try:  # the store was opened (before the clock) and marked clean again when the start was refused
        assert conn.execute("SELECT value FROM meta WHERE key = 'shutdown'").fetchone() == ("clean",)
    finally:
        conn.close()
