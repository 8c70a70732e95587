"""``wal_problem``: a WAL that SQLite would silently cut short is reported; the normal states of a WAL (after a
crash, after a reset with frames of the old generation left over, empty, absent) are not. The WALs are real:
written by SQLite in a process that is then SIGKILLed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from transactive.ledger.embedded.wal import wal_problem

HEADER, FRAME_HEADER, PAGE = 32, 24, 4096
FRAME = FRAME_HEADER + PAGE

_WRITER = """
import os, signal, sqlite3, sys
path, rows, reset = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "reset"
conn = sqlite3.connect(path, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
for i in range(rows):
    conn.execute("INSERT INTO t VALUES (?)", ("row %d " % i + "x" * 1500,))
if reset:  # everything into the database, then a few commits that overwrite the WAL from its start
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    for i in range(3):
        conn.execute("INSERT INTO t VALUES (?)", ("after reset %d" % i,))
os.kill(os.getpid(), signal.SIGKILL)
"""


def crashed_writer(path: Path, rows: int, *, reset: bool = False) -> int:
    """Commit ``rows`` rows, one per transaction, then die by SIGKILL: the WAL stays, as after a crash.
    Returns the rows SQLite reads back."""
    done = subprocess.run([sys.executable, "-c", _WRITER, str(path), str(rows), "reset" if reset else "-"],
                          capture_output=True, check=False)
    assert done.returncode == -9, done.stderr
    return count(path)


def count(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


def damage(wal: Path, offset: int) -> None:
    data = bytearray(wal.read_bytes())
    data[offset] ^= 0xFF
    wal.write_bytes(bytes(data))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "a.db"


def wal_of(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def test_an_intact_wal_after_a_crash_is_no_problem(db: Path) -> None:
    assert crashed_writer(db, 20) == 20
    assert wal_of(db).stat().st_size > HEADER + 20 * FRAME
    assert wal_problem(db) is None


def test_frames_left_over_from_before_a_wal_reset_are_normal(db: Path) -> None:
    assert crashed_writer(db, 30, reset=True) == 33
    wal = wal_of(db).read_bytes()
    assert wal[HEADER + 10 * FRAME + 8:HEADER + 10 * FRAME + 16] != wal[16:24]  # an older generation's salts
    assert wal_problem(db) is None


def test_no_wal_and_an_empty_wal_are_no_problem(db: Path) -> None:
    assert wal_problem(db) is None
    wal_of(db).write_bytes(b"")
    assert wal_problem(db) is None


def test_a_damaged_frame_before_a_committed_one_is_reported(db: Path) -> None:
    crashed_writer(db, 20)
    damage(wal_of(db), HEADER + 3 * FRAME + FRAME_HEADER + 100)  # inside the 4th frame's page
    problem = wal_problem(db)
    assert problem is not None
    assert problem.startswith(f"{wal_of(db)}: frame 4 of ")
    assert "checksum mismatch" in problem
    assert count(db) < 20  # what SQLite itself makes of it: silently fewer rows


def test_a_frame_with_altered_salts_is_reported(db: Path) -> None:
    crashed_writer(db, 20)
    damage(wal_of(db), HEADER + 5 * FRAME + 9)  # the 6th frame's salt-1
    problem = wal_problem(db)
    assert problem is not None
    assert "frame 6 of" in problem
    assert "salt mismatch" in problem


def test_a_damaged_header_is_reported(db: Path) -> None:
    crashed_writer(db, 5)
    damage(wal_of(db), 20)  # salt-2: the header checksum no longer matches, SQLite ignores every frame
    problem = wal_problem(db)
    assert problem is not None
    assert "header is damaged" in problem
    with pytest.raises(sqlite3.OperationalError, match="no such table"):  # SQLite: as if nothing was written
        count(db)


def test_a_wal_shorter_than_its_header_is_reported(db: Path) -> None:
    crashed_writer(db, 1)
    wal_of(db).write_bytes(wal_of(db).read_bytes()[:20])
    assert "shorter than a WAL header" in (wal_problem(db) or "")


def test_damage_to_the_last_transaction_is_reported_by_the_shm_index_and_not_without_it(db: Path) -> None:
    crashed_writer(db, 20)
    wal = wal_of(db)
    frames = (wal.stat().st_size - HEADER) // FRAME
    damage(wal, HEADER + (frames - 1) * FRAME + FRAME_HEADER + 10)  # the last commit frame
    problem = wal_problem(db)
    assert problem is not None
    assert f"{frames} frames were committed" in problem
    os.remove(db.with_name(db.name + "-shm"))
    assert wal_problem(db) is None  # documented: without the index, a torn last write looks the same
