"""``transactive ledger bench|verify|audit``: the contract (exit codes, JSON keys) others rely on."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.ledger.embedded_helpers import T0, Clock, fill, record, sql
from transactive.cli import main
from transactive.ledger.embedded import EmbeddedLedger
from transactive.ledger.settlement import Payment, Reading, SettlementMachine, settle

ROOT = Path(__file__).resolve().parent.parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli.ledger"
    fill(path, 12)
    return path


@pytest.fixture
def not_ledgers(tmp_path: Path) -> list[Path]:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 300)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    return [tmp_path / "missing.ledger", text, other]


@pytest.mark.parametrize("argv", [["ledger", "--help"], ["ledger", "bench", "--help"],
                                  ["ledger", "verify", "--help"], ["ledger", "audit", "--help"]])
def test_help_shows_an_example_and_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out
    assert "exit codes" in out
    assert "transactive ledger" in out


def test_ledger_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "ledger")[0] == 2


# ---- bench -----------------------------------------------------------------------------------------


def test_bench_json_has_entries_seconds_and_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bench.ledger"
    code, out, _ = run(capsys, "ledger", "bench", "--entries", "300", "--path", str(path), "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"entries", "seconds", "entries_per_s"}
    assert result["entries"] == 300
    assert result["seconds"] > 0
    assert result["entries_per_s"] == pytest.approx(300 / result["seconds"])
    assert run(capsys, "ledger", "verify", str(path), "--json")[1].startswith('{"valid": true, "entries": 300,')


def test_bench_appends_to_an_existing_ledger(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ledger", "bench", "--entries", "50", "--path", str(ledger_file))
    assert code == 0
    assert "entries/s" in out
    assert json.loads(run(capsys, "ledger", "verify", str(ledger_file), "--json")[1])["entries"] == 62


def test_bench_refuses_a_file_that_is_not_a_ledger(not_ledgers: list[Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for path in not_ledgers[1:]:
        code, _, err = run(capsys, "ledger", "bench", "--entries", "5", "--path", str(path))
        assert code == 2, path
        assert "not" in err


def test_bench_refuses_zero_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ledger", "bench", "--entries", "0", "--path", str(tmp_path / "x.ledger")])
    assert info.value.code == 2


# ---- verify ----------------------------------------------------------------------------------------


def test_verify_exit_0_and_json_for_an_intact_chain(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ledger", "verify", str(ledger_file), "--json")
    assert code == 0
    assert json.loads(out) == {"valid": True, "entries": 12, "first_bad": None, "reason": None}
    code, out, _ = run(capsys, "ledger", "verify", str(ledger_file))
    assert code == 0
    assert "valid: 12 entries" in out


@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        (["UPDATE ledger_entries SET ts='2030-01-01T00:00:00.000000+00:00' WHERE seq=6"], 6),  # altered
        (["DELETE FROM ledger_entries WHERE seq=4"], 4),  # removed
        (["UPDATE ledger_entries SET seq=-2 WHERE seq=2", "UPDATE ledger_entries SET seq=2 WHERE seq=9",
          "UPDATE ledger_entries SET seq=9 WHERE seq=-2"], 2),  # reordered
        (["INSERT INTO ledger_entries SELECT 13, entry_hash, kind, transaction_id, data, ts, entry_hash, "
          "signature FROM ledger_entries WHERE seq=12"], 13),  # inserted (a copied row)
    ],
)
def test_verify_exit_1_names_the_first_bad_entry(ledger_file: Path, capsys: pytest.CaptureFixture[str],
                                                 statements: list[str], first_bad: int) -> None:
    sql(ledger_file, *statements)
    code, out, _ = run(capsys, "ledger", "verify", str(ledger_file), "--json")
    assert code == 1
    report = json.loads(out)
    assert set(report) == {"valid", "entries", "first_bad", "reason"}
    assert report["valid"] is False
    assert report["first_bad"] == first_bad
    assert str(first_bad) in report["reason"]
    code, out, _ = run(capsys, "ledger", "verify", str(ledger_file))
    assert code == 1
    assert f"INVALID at entry {first_bad}" in out


def test_verify_exit_2_when_the_file_is_not_a_ledger(not_ledgers: list[Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for path in not_ledgers:
        code, out, err = run(capsys, "ledger", "verify", str(path), "--json")
        assert code == 2, path
        report = json.loads(out)
        assert report == {"valid": False, "entries": 0, "first_bad": None, "reason": report["reason"]}
        assert report["reason"].startswith("not a ledger: ")
        assert str(path) in err


def test_verify_with_a_pinned_key(ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = ledger_file.with_name(ledger_file.name + ".key")
    assert run(capsys, "ledger", "verify", str(ledger_file), "--public-key", str(key_file))[0] == 0
    code, out, _ = run(capsys, "ledger", "verify", str(ledger_file), "--public-key", "ab" * 32, "--json")
    assert code == 1
    assert json.loads(out)["first_bad"] == 1
    assert run(capsys, "ledger", "verify", str(ledger_file), "--public-key", str(tmp_path / "none.pem"))[0] == 2


def test_verify_as_a_separate_process(ledger_file: Path) -> None:
    sql(ledger_file, "DELETE FROM ledger_entries WHERE seq=8")
    result = subprocess.run(
        [sys.executable, "-m", "transactive.cli", "ledger", "verify", str(ledger_file), "--json"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"valid": False, "entries": 11, "first_bad": 8,
                                         "reason": "entry 8 is missing (the chain continues at 9)"}


#: rows that cannot be entries: text that is not UTF-8 (CAST of raw bytes AS TEXT), a hash that is no bytes
UNDECODABLE = [
    ("UPDATE ledger_entries SET data = CAST(X'7B22A9FF227D' AS TEXT) WHERE seq=5", "data is not UTF-8 text"),
    ("UPDATE ledger_entries SET kind = CAST(X'616E63C3' AS TEXT) WHERE seq=5", "kind is not UTF-8 text"),
    ("UPDATE ledger_entries SET ts = CAST(X'FE' AS TEXT) WHERE seq=5", "ts is not UTF-8 text"),
    ("UPDATE ledger_entries SET signature = 42 WHERE seq=5", "signature is not a byte string"),
]


@pytest.mark.parametrize(("statement", "reason"), UNDECODABLE)
def test_verify_reports_a_row_that_is_not_utf8_as_a_bad_entry(ledger_file: Path, statement: str, reason: str) -> None:
    sql(ledger_file, statement)
    result = subprocess.run(  # a separate process: what used to crash with a traceback
        [sys.executable, "-m", "transactive.cli", "ledger", "verify", str(ledger_file), "--json"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert set(report) == {"valid", "entries", "first_bad", "reason"}
    assert (report["valid"], report["entries"], report["first_bad"]) == (False, 12, 5)
    assert report["reason"].startswith(f"entry 5: {reason}")


@pytest.mark.parametrize(("statement", "reason"), UNDECODABLE)
def test_audit_reports_a_row_that_is_not_utf8_with_its_sequence(ledger_file: Path, statement: str, reason: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    sql(ledger_file, statement)
    code, out, err = run(capsys, "ledger", "audit", str(ledger_file), "tx-5")
    assert (code, out) == (1, "")
    assert f"entry 5: {reason}" in err
    assert run(capsys, "ledger", "audit", str(ledger_file), "tx-6")[0] == 0  # the other entries still read


# ---- audit -----------------------------------------------------------------------------------------


@pytest.fixture
def settled(tmp_path: Path) -> Path:
    path = tmp_path / "settled.ledger"

    async def go() -> None:
        async with EmbeddedLedger(path, now=Clock()) as ledger:
            await settle(ledger, SettlementMachine(record("tx-7", quantity="10", price="0.20")), [
                Reading("producer", Decimal("10"), T0 + timedelta(hours=1)),
                Reading("consumer", Decimal("9.8"), T0 + timedelta(hours=1)),
                Payment(Decimal("1.96"), T0 + timedelta(hours=2), "sepa-42"),
            ])
            await ledger.anchor(record("tx-8"))

    asyncio.run(go())
    return path


def test_audit_prints_the_history_and_the_derived_status(settled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ledger", "audit", str(settled), "tx-7")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "transaction tx-7"
    assert lines[1].split() == ["seq", "time", "kind", "data"]
    assert [line.split()[2] for line in lines[2:7]] == ["anchor", "delivery", "delivery", "payment_request",
                                                         "payment"]
    assert "producer -> consumer: 10 kWh at 0.20 EUR/kWh" in lines[2]
    assert "consumer pays producer 1.96 EUR by" in lines[5]
    assert "reference sepa-42" in lines[6]
    assert lines[-1] == "status: paid"


def test_audit_json(settled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ledger", "audit", str(settled), "tx-8", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "anchored"
    assert [e["kind"] for e in result["entries"]] == ["anchor"]
    assert result["entries"][0]["sequence"] == 6
    assert result["entries"][0]["data"]["transaction_id"] == "tx-8"


def test_audit_exit_1_for_an_unknown_transaction(settled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ledger", "audit", str(settled), "tx-unknown")
    assert code == 1
    assert out == ""
    assert "tx-unknown" in err


def test_audit_exit_2_when_the_file_is_not_a_ledger(not_ledgers: list[Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for path in not_ledgers:
        assert run(capsys, "ledger", "audit", str(path), "tx-1")[0] == 2, path
