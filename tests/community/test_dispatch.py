"""Dispatch by template priority until the requested power is met, rationing T1..T4, the revenue split."""

from __future__ import annotations

from decimal import Decimal

import pytest

from transactive.ven.community import Candidate, dispatch, dispatch_order, split


def test_dispatch_meets_the_request_calling_the_first_priority_first() -> None:
    c = [Candidate("t4-heater", 4, 2.0), Candidate("t2-a", 2, 3.0), Candidate("t1-washer", 1, 2.0),
         Candidate("t3-ev", 3, 7.0)]
    given = dispatch(6.0, c)
    assert given == {"t1-washer": 2.0, "t2-a": 3.0, "t3-ev": 1.0}  # the last one gives only the rest
    assert sum(given.values()) == pytest.approx(6.0)


def test_rationing_a_surplus_serves_t1_to_t4_in_order() -> None:
    c = [Candidate(f"t{p}", p, 2.0) for p in (4, 3, 2, 1)]
    assert list(dispatch(5.0, c)) == ["t1", "t2", "t3"]  # T4 gets nothing of a 5 kW surplus
    assert dispatch(5.0, c)["t3"] == pytest.approx(1.0)
    assert dispatch(100.0, c) == {"t1": 2.0, "t2": 2.0, "t3": 2.0, "t4": 2.0}  # more than all: everyone, in full


def test_within_a_template_the_most_reliable_then_the_fullest_battery_goes_first() -> None:
    evs = [Candidate("ev-a", 3, 10.0, reliability=0.6), Candidate("ev-b", 3, 5.0, reliability=0.9),
           Candidate("ev-c", 3, 15.0, reliability=0.9)]
    assert [c.name for c in dispatch_order(evs)] == ["ev-c", "ev-b", "ev-a"]
    assert dispatch(18.0, evs) == {"ev-c": 15.0, "ev-b": 3.0}


def test_a_negative_request_is_refused_and_zero_calls_nobody() -> None:
    with pytest.raises(ValueError, match="negative"):
        dispatch(-1.0, [Candidate("a", 1, 1.0)])
    assert dispatch(0.0, [Candidate("a", 1, 1.0)]) == {}


@pytest.mark.parametrize("amount", ["10", "3.4715", "0.0001", "7.33333", "-2.5"])
def test_the_revenue_split_sums_to_the_revenue_exactly(amount: str) -> None:
    shares = split(Decimal(amount), {"a": 1.0, "b": 1.0, "c": 1.0, "idle": 0.0})
    assert sum(shares.values()) == Decimal(amount)
    assert "idle" not in shares


def test_the_revenue_split_follows_the_delivered_energy() -> None:
    shares = split(Decimal("12"), {"a": 3.0, "b": 1.0})
    assert shares == {"a": Decimal("9.0000"), "b": Decimal("3.0000")}
    assert split(Decimal("5"), {"a": 0.0}) == {}
