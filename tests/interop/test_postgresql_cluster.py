"""The throw-away PostgreSQL cluster of the tests and demos (interop/postgresql/cluster.py): databases made
and dropped, and the demo command line (start leaves the server running and prints its URL, url finds it
again, stop stops it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from interop.postgresql.cluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[2]


def test_databases_are_made_from_a_template_and_dropped(pg_server: PostgresCluster) -> None:
    pg_server.create_database("cluster_source")
    with psycopg.connect(pg_server.url("cluster_source"), autocommit=True) as conn:
        conn.execute("CREATE TABLE marker (x int)")
    url = pg_server.create_database("cluster_copy", template="cluster_source")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM marker").fetchone() == (0,)
        settings = conn.execute("SELECT current_setting('listen_addresses'), "
                                "current_setting('unix_socket_directories'), current_setting('fsync')").fetchone()
    assert settings == ("127.0.0.1", "", "off")
    pg_server.drop_database("cluster_copy")
    pg_server.drop_database("cluster_source")
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(url)


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    # a folder the postgres user can enter when the tests run as root (pytest's own tmp folder is private)
    folder = Path(tempfile.mkdtemp(prefix="transactive-pg-demo-"))
    os.chmod(folder, 0o755)
    yield folder / "cluster"
    subprocess.run([sys.executable, "-m", "interop.postgresql.cluster", "stop", "--dir", str(folder / "cluster")],
                   cwd=ROOT, capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "interop.postgresql.cluster", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)


def test_the_demo_command_line_starts_finds_and_stops_a_server(demo_dir: Path) -> None:
    started = _cli("start", "--dir", str(demo_dir))
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    assert url.endswith("/transactive")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("transactive",)
    assert _cli("url", "--dir", str(demo_dir)).stdout.strip() == url
    assert _cli("stop", "--dir", str(demo_dir)).returncode == 0
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    stopped = _cli("url", "--dir", str(demo_dir))
    assert stopped.returncode == 1
    assert "no server runs" in stopped.stderr
