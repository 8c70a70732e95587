"""Gluon inheritance: the interval's own value wins; the nearest gluon wins; the anchor propagates."""

from __future__ import annotations

import pytest

from tests.calendar.conftest import T0, H, M
from transactive.calendar import Gluon, Interval, Relation, SchedulingError, Sequence, resolve


def test_interval_value_wins_over_gluon_value() -> None:
    interval = Interval(duration=H, dtstart=T0, payload="own")
    gluon = Gluon(duration=2 * H, dtstart=T0 + H, payload="inherited")
    assert resolve(interval, gluon) == interval


def test_missing_values_are_inherited_from_the_gluon() -> None:
    resolved = resolve(Interval(uid="a"), Gluon(duration=H, dtstart=T0, payload=42))
    assert (resolved.duration, resolved.dtstart, resolved.payload, resolved.uid) == (H, T0, 42, "a")


def test_nearest_gluon_wins_over_its_ancestors() -> None:
    root = Gluon(duration=2 * H, payload="root")
    middle = Gluon(duration=H, parent=root)
    leaf = Gluon(parent=middle)
    resolved = resolve(Interval(uid="a"), leaf)
    assert resolved.duration == H  # middle is nearer than root
    assert resolved.payload == "root"  # only root has one


def test_values_flow_down_the_whole_chain() -> None:
    chain = Gluon(parent=Gluon(parent=Gluon(dtstart=T0)))
    assert resolve(Interval(duration=H), chain).dtstart == T0
    assert chain.effective() == Gluon(dtstart=T0)


def test_resolve_without_gluon_is_identity() -> None:
    interval = Interval(duration=H)
    assert resolve(interval, None) is interval


def test_gluon_start_anchors_the_designated_interval_and_links_place_the_rest() -> None:
    seq = Sequence.chain([Interval(uid="a"), Interval(uid="b", duration=30 * M), Interval(uid="c")])
    gluon = Gluon(dtstart=T0, duration=H)
    resolved = seq.resolved(gluon)
    assert resolved["a"].dtstart == T0
    assert resolved["b"].dtstart is None
    assert resolved["b"].duration == 30 * M  # its own value wins
    scheduled = resolved.schedule()
    assert [i.dtstart for i in scheduled.intervals] == [T0, T0 + H, T0 + 90 * M]


@pytest.mark.parametrize("relation", list(Relation))
def test_inherited_anchor_propagates_through_each_relation(relation: Relation) -> None:
    seq = Sequence.chain([Interval(uid="a"), Interval(uid="b")], relation=relation, gap=5 * M)
    scheduled = seq.resolved(Gluon(dtstart=T0, duration=H)).schedule()
    explicit = Sequence.chain(
        [Interval(uid="a", duration=H), Interval(uid="b", duration=H)], relation=relation, gap=5 * M
    ).schedule("a", T0)
    assert scheduled == explicit


def test_gluon_can_designate_another_interval() -> None:
    seq = Sequence.chain([Interval(uid="a", duration=H), Interval(uid="b", duration=H)])
    scheduled = seq.resolved(Gluon(dtstart=T0), anchor_uid="b").schedule()
    assert scheduled["a"].dtstart == T0 - H


def test_gluon_start_with_several_heads_needs_a_designated_interval() -> None:
    seq = Sequence(intervals=(Interval(uid="a", duration=H), Interval(uid="b", duration=H)))
    with pytest.raises(SchedulingError, match="heads"):
        seq.resolved(Gluon(dtstart=T0))
    assert seq.resolved(Gluon(payload=1))["b"].payload == 1


def test_gluon_value_lookup_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="no 'uid'"):
        Gluon().value("uid")
