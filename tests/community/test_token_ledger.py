"""Token movements on the embedded ledger: reconciled with the books, auditable with ``transactive ledger audit``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.community.helpers import blank_history, member
from transactive.cli import main
from transactive.ledger.embedded import EmbeddedLedger, verify_file
from transactive.ven.community import TokenEvent, TokenRules, ledger_balances, token_events, totals, write_events
from transactive.ven.community.fleet import DEV_UNANNOUNCED

DAY = datetime(2026, 3, 2, tzinfo=UTC)


async def _write(path: Path) -> list[TokenEvent]:
    h = blank_history([member("ev-a", power=7.5), member("ev-b", power=12.0)], days=2)
    h.available[1, 8, 1] = False
    h.deviation[1, 8, 1] = DEV_UNANNOUNCED
    rules = TokenRules({8: 2, 19: 1}, rate=Decimal("0.5"))
    events: list[TokenEvent] = []
    async with EmbeddedLedger(path) as ledger:
        for d in range(2):
            day_events = token_events("cm", h, d, range(24), rules, f"d{d}")
            await write_events(ledger, day_events, DAY + timedelta(days=d), timedelta(days=1))
            events += day_events
    return events


async def test_the_ledger_balances_equal_the_books(tmp_path: Path) -> None:
    events = await _write(tmp_path / "t.ledger")
    books = totals(events)
    assert books["ev-b"] < books["ev-a"]  # ev-b's penalty
    assert any(e.signed < 0 for e in events)
    assert ledger_balances(tmp_path / "t.ledger", "cm") == books
    assert ledger_balances(tmp_path / "t.ledger", "another") == {}
    assert verify_file(tmp_path / "t.ledger").valid


async def test_a_reward_and_a_penalty_audit_as_paid_transfers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) \
        -> None:
    events = await _write(tmp_path / "t.ledger")
    reward = next(e for e in events if e.member == "ev-a" and e.level == 2)
    penalty = next(e for e in events if e.kind.is_penalty)
    assert main(["ledger", "audit", str(tmp_path / "t.ledger"), reward.transaction_id]) == 0
    out = capsys.readouterr().out
    assert f"cm pays ev-a {reward.tokens} TOKEN" in out
    assert "ev-a -> cm:" in out
    assert out.rstrip().endswith("status: paid")
    assert main(["ledger", "audit", str(tmp_path / "t.ledger"), penalty.transaction_id, "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)
    assert audit["status"] == "paid"
    kinds = [e["kind"] for e in audit["entries"]]
    assert kinds == ["anchor", "delivery", "delivery", "payment_request", "payment"]
    anchor, request = audit["entries"][0]["data"], audit["entries"][3]["data"]
    assert (anchor["seller"], anchor["buyer"], anchor["currency"]) == ("cm", "ev-b", "TOKEN")
    assert anchor["document_hash"] == penalty.document_hash()
    assert Decimal(anchor["quantity_kwh"]) * Decimal(anchor["price"]) == Decimal(request["amount"]) == penalty.tokens
    assert (request["payer"], request["payee"]) == ("ev-b", "cm")
