"""The aggregator as the runtime drives it, without a VTN: the offer, a call, the dispatch the meter shows, the
books and the tokens of the interval, and a booking the ledger refuses stopping the run."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from transactive.emix import Side
from transactive.ledger.embedded import EmbeddedLedger
from transactive.ledger.interface import LedgerError
from transactive.market import ReservePrices
from transactive.ven.community import Community, Goal, ledger_balances, settings_from_dict
from transactive.ven.community.market import CommunityAgent, CommunityPersonality
from transactive.ven.runtime import IntervalRecord

BAND = ReservePrices(grid_buy=0.30, grid_sell=0.05)
START = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def _setup(tmp_path: Path) -> tuple[CommunityPersonality, Community]:
    settings = settings_from_dict(Goal.SPINNING_RESERVE, {"community": {"price": 0.08}})
    personality = CommunityPersonality(settings, date(2026, 3, 3))
    community = Community.fresh("evs", Goal.SPINNING_RESERVE, list(settings.members), settings.goal_kw,
                                tmp_path / "evs")
    return personality, community


async def test_offer_call_dispatch_books_and_tokens(tmp_path: Path) -> None:
    p, community = _setup(tmp_path)
    (need,) = p.plan(START, QUARTER, BAND)
    day, hour = p.slot(START)
    assert (day, hour) == (28, 18)
    assert need.side is Side.SELL
    assert need.limit_price == 0.08
    assert need.quantity_kwh == pytest.approx(p.prediction(day).expected_kw[18] / 4)
    p.on_transaction(START, Side.SELL, 6.0, 0.17)
    meter = p.metered(START, QUARTER)
    assert meter.sold_kwh == pytest.approx(6.0)  # 24 kW asked for 15 minutes: met by the members there
    given = dict(p.dispatched[START])
    assert sum(given.values()) == pytest.approx(6.0)
    async with EmbeddedLedger(community.ledger_path) as ledger:
        agent = CommunityAgent(community, p, ledger, QUARTER)
        rec = IntervalRecord(party="evs", interval_start=START, sim_start=START, sold_kwh=6.0, delivered_kwh=6.0,
                             transactions=["tx-1"])
        agent.record(rec)
        await agent.drain()
    r = community.report()
    assert r["calls"] == 1
    assert r["delivered_kw"] == pytest.approx(24.0)
    assert r["revenue"] == pytest.approx(6.0 * 0.17)
    shares = {k: v for k, v in r["revenue_by_member"].items() if v}
    assert shares == pytest.approx({k: v * 0.17 for k, v in given.items()}, abs=1e-4)  # by delivered kWh
    assert r["token_events"] > 0  # 18:00 is a critical hour: the members there earn tokens
    assert ledger_balances(community.ledger_path, "evs") == {k: v for k, v in community.tokens.items() if v}
    assert community.ledger_agrees() is True


async def test_a_booking_the_ledger_refuses_stops_the_run_at_the_next_interval(tmp_path: Path) -> None:
    p, community = _setup(tmp_path)
    rec = IntervalRecord(party="evs", interval_start=START, sim_start=START)
    async with EmbeddedLedger(community.ledger_path) as ledger:
        agent = CommunityAgent(community, p, ledger, QUARTER)
        agent.record(rec)
        await agent.drain()
        agent.record(rec)  # the same interval again: its token transactions are on the ledger already
        await asyncio.sleep(0.2)
        with pytest.raises(LedgerError):
            agent.record(IntervalRecord(party="evs", interval_start=START + QUARTER, sim_start=START + QUARTER))
        await agent.drain()
