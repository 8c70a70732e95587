"""The token rules, each on a hand-made history: rewards in critical hours weighted by level, penalties for
deviations (heavy when unannounced), none for an announced deviation a replacement covers, the replacement
rewarded; rankings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.community.helpers import blank_history, member
from transactive.ven.community import TokenKind, TokenRules, ranking, token_events, totals
from transactive.ven.community.fleet import DEV_ANNOUNCED, DEV_UNANNOUNCED

RULES = TokenRules({8: 1, 18: 3}, rate=Decimal(2), announced_factor=Decimal(1), unannounced_factor=Decimal(3))


def test_rewards_only_in_critical_hours_weighted_by_their_level() -> None:
    h = blank_history([member("ev-a", power=10.0)])
    events = token_events("c", h, 0, range(24), RULES, "d0")
    assert {(e.kind, e.level, e.quantity_kwh, e.price) for e in events} == {
        (TokenKind.REWARD, 1, Decimal("10.000"), Decimal(2)),
        (TokenKind.REWARD, 3, Decimal("10.000"), Decimal(6)),
    }
    assert totals(events)["ev-a"] == Decimal(80)  # 10 kWh x 2 x 1 + 10 kWh x 2 x 3


def test_an_unannounced_deviation_is_penalised_heavily_an_announced_one_lightly() -> None:
    h = blank_history([member("ev-a"), member("ev-b")], days=3)
    for i, dev in ((0, DEV_UNANNOUNCED), (1, DEV_ANNOUNCED)):
        h.available[1, 18, i] = False
        h.deviation[1, 18, i] = dev
    events = {(e.member, e.kind): e for e in token_events("c", h, 1, [18], RULES, "d1")}
    heavy = events[("ev-a", TokenKind.PENALTY_UNANNOUNCED)]
    light = events[("ev-b", TokenKind.PENALTY_ANNOUNCED)]
    assert heavy.quantity_kwh == light.quantity_kwh == Decimal("10.000")  # what each had declared
    assert heavy.signed == Decimal(-180)
    assert light.signed == Decimal(-60)
    assert not any(e.kind is TokenKind.REWARD for e in events.values())


def test_an_announced_deviation_covered_by_a_replacement_costs_nothing_and_rewards_the_replacement() -> None:
    h = blank_history([member("ev-a"), member("ev-b", hours=range(0, 12))], days=1)
    h.available[0, 18, 0] = False
    h.deviation[0, 18, 0] = DEV_ANNOUNCED
    h.replaced_by[0, 18, 0] = 1
    h.covered[0, 18, 0] = True
    h.replacing[0, 18, 1] = True  # ev-b plugs in at 18:00 instead
    events = token_events("c", h, 0, [18], RULES, "d0")
    assert [(e.member, e.kind, e.tokens) for e in events] == [("ev-b", TokenKind.REPLACEMENT, Decimal(60))]
    h.covered[0, 18, 0] = False  # the replacement could not give enough: the announced penalty applies
    kinds = {(e.member, e.kind) for e in token_events("c", h, 0, [18], RULES, "d0")}
    assert kinds == {("ev-a", TokenKind.PENALTY_ANNOUNCED), ("ev-b", TokenKind.REPLACEMENT)}


def test_a_replacement_outside_the_critical_hours_is_rewarded_at_level_one() -> None:
    h = blank_history([member("ev-a"), member("ev-b")])
    h.replacing[0, 12, 1] = True
    events = token_events("c", h, 0, [12], RULES, "d0")
    assert [(e.member, e.kind, e.level, e.tokens) for e in events] == [("ev-b", TokenKind.REPLACEMENT, 1, 20)]


def test_a_fraction_of_an_hour_counts_its_fraction() -> None:
    h = blank_history([member("ev-a", power=10.0)])
    (event,) = token_events("c", h, 0, [8], RULES, "i", fraction=0.25)
    assert event.quantity_kwh == Decimal("2.500")
    assert event.tokens == Decimal(5)


def test_rankings_order_by_tokens_then_name() -> None:
    assert ranking({"b": Decimal(5), "a": Decimal(5), "c": Decimal(9), "d": Decimal(-1)}) == ["c", "a", "b", "d"]


def test_token_rules_refuse_bad_numbers() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenRules({}, rate=Decimal(0))
    with pytest.raises(ValueError, match="critical hour 24"):
        TokenRules({24: 1})


def test_every_event_has_a_distinct_transaction_id_and_a_stable_document_hash() -> None:
    h = blank_history([member("ev-a"), member("ev-b")])
    events = token_events("c", h, 0, range(24), RULES, "d0")
    assert len({e.transaction_id for e in events}) == len(events) == 4
    assert events[0].document_hash() == events[0].document_hash() != events[1].document_hash()
