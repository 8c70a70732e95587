"""Sequence scheduling: the four temporal relationships, gaps, anchors and the error cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.calendar.conftest import T0, H, M
from transactive.calendar import (
    CalendarError,
    ConflictError,
    CycleError,
    DanglingLinkError,
    Interval,
    Link,
    Relation,
    Sequence,
    UnscheduledError,
    slots,
)
from transactive.errors import TransactiveError


def _pair(relation: Relation, gap: timedelta) -> Sequence:
    return Sequence(
        intervals=(Interval(duration=H, uid="a"), Interval(duration=30 * M, uid="b")),
        links=(Link(predecessor_uid="a", successor_uid="b", relation=relation, gap=gap),),
    )


def test_spec_example_three_finish_to_start_intervals_from_0900() -> None:
    seq = Sequence.chain([
        Interval(duration=H, uid="1"), Interval(duration=30 * M, uid="2"), Interval(duration=2 * H, uid="3"),
    ])
    scheduled = seq.schedule("1", T0)
    assert [i.dtstart for i in scheduled.intervals] == [T0, T0 + H, T0 + 90 * M]
    assert scheduled.total_duration == 3 * H + 30 * M
    assert scheduled.is_contiguous()


# a starts 09:00 and lasts 1 h; b lasts 30 min
@pytest.mark.parametrize(
    ("relation", "b_start_without_gap"),
    [
        (Relation.FINISH_TO_START, T0 + H),  # b starts when a finishes
        (Relation.FINISH_TO_FINISH, T0 + 30 * M),  # b finishes when a finishes
        (Relation.START_TO_FINISH, T0 - 30 * M),  # b finishes when a starts
        (Relation.START_TO_START, T0),  # b starts when a starts
    ],
)
@pytest.mark.parametrize("gap", [timedelta(0), 10 * M, -5 * M])
def test_anchor_propagates_forward_through_each_relation(relation, b_start_without_gap, gap) -> None:  # type: ignore[no-untyped-def]
    scheduled = _pair(relation, gap).schedule("a", T0)
    assert scheduled["b"].dtstart == b_start_without_gap + gap


@pytest.mark.parametrize("relation", list(Relation))
@pytest.mark.parametrize("gap", [timedelta(0), 15 * M])
def test_anchor_propagates_backward_through_each_relation(relation: Relation, gap: timedelta) -> None:
    forward = _pair(relation, gap).schedule("a", T0)
    backward = _pair(relation, gap).schedule("b", forward["b"].start)
    assert backward["a"].dtstart == T0


def test_gap_opens_a_hole_so_the_sequence_is_not_contiguous() -> None:
    seq = _pair(Relation.FINISH_TO_START, 5 * M).schedule("a", T0)
    assert not seq.is_contiguous()
    assert seq.total_duration == H + 5 * M + 30 * M


def test_an_interval_with_its_own_dtstart_anchors_the_sequence() -> None:
    seq = Sequence.chain([Interval(duration=H, uid="a"), Interval(duration=H, uid="b", dtstart=T0 + 2 * H)])
    assert seq.schedule()["a"].dtstart == T0 + H


def test_scheduling_keeps_the_listed_order_and_the_payloads() -> None:
    seq = Sequence(
        intervals=(Interval(duration=H, uid="late", payload=2), Interval(duration=H, uid="early", payload=1)),
        links=(Link(predecessor_uid="early", successor_uid="late"),),
    )
    out = seq.schedule("early", T0)
    assert out.uids == ("late", "early")
    assert out["late"].payload == 2
    assert out["late"].dtstart == T0 + H


def test_diamond_with_consistent_paths_is_fine() -> None:
    seq = Sequence(
        intervals=tuple(Interval(duration=H, uid=u) for u in "abcd"),
        links=(
            Link(predecessor_uid="a", successor_uid="b"),
            Link(predecessor_uid="a", successor_uid="c"),
            Link(predecessor_uid="b", successor_uid="d"),
            Link(predecessor_uid="c", successor_uid="d"),
        ),
    )
    assert seq.schedule("a", T0)["d"].dtstart == T0 + 2 * H


def test_conflicting_paths_raise_conflict() -> None:
    seq = Sequence(
        intervals=tuple(Interval(duration=H, uid=u) for u in "abc"),
        links=(
            Link(predecessor_uid="a", successor_uid="b"),
            Link(predecessor_uid="b", successor_uid="c"),
            Link(predecessor_uid="a", successor_uid="c", relation=Relation.START_TO_START),
        ),
    )
    with pytest.raises(ConflictError, match="two different times"):
        seq.schedule("a", T0)


def test_explicit_dtstart_contradicting_the_links_raises_conflict() -> None:
    seq = Sequence.chain([Interval(duration=H, uid="a"), Interval(duration=H, uid="b", dtstart=T0)])
    with pytest.raises(ConflictError):
        seq.schedule("a", T0)


def test_cycle_is_refused() -> None:
    seq = Sequence(
        intervals=tuple(Interval(duration=H, uid=u) for u in "abc"),
        links=(
            Link(predecessor_uid="a", successor_uid="b"),
            Link(predecessor_uid="b", successor_uid="c"),
            Link(predecessor_uid="c", successor_uid="a"),
        ),
    )
    with pytest.raises(CycleError, match="cycle"):
        seq.schedule("a", T0)


def test_dangling_link_is_refused() -> None:
    seq = Sequence(intervals=(Interval(duration=H, uid="a"),), links=(Link(predecessor_uid="a", successor_uid="zz"),))
    with pytest.raises(DanglingLinkError, match="zz"):
        seq.schedule("a", T0)


def test_unknown_anchor_is_refused() -> None:
    with pytest.raises(DanglingLinkError):
        slots(T0, H, 2).schedule("nope", T0)


def test_errors_are_value_errors_and_transactive_errors() -> None:
    assert issubclass(CycleError, ValueError)
    assert issubclass(CycleError, TransactiveError)
    assert issubclass(ConflictError, CalendarError)


def test_unlinked_interval_without_start_is_unscheduled() -> None:
    seq = Sequence(intervals=(Interval(duration=H, uid="a"), Interval(duration=H, uid="b")))
    with pytest.raises(UnscheduledError, match="b"):
        seq.schedule("a", T0)


def test_missing_duration_is_unscheduled() -> None:
    seq = Sequence.chain([Interval(duration=H, uid="a"), Interval(uid="b")])
    with pytest.raises(UnscheduledError, match="duration"):
        seq.schedule("a", T0)


def test_sequence_needs_distinct_uids() -> None:
    with pytest.raises(ValueError, match="uid"):
        Sequence(intervals=(Interval(duration=H, uid="a"), Interval(duration=H, uid="a")))
    with pytest.raises(ValueError, match="uid"):
        Sequence(intervals=(Interval(duration=H),))


def test_link_to_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="itself"):
        Link(predecessor_uid="a", successor_uid="a")


def test_slots_are_n_back_to_back_intervals_from_t0() -> None:
    seq = slots(T0, 15 * M, 4)
    assert [i.dtstart for i in seq.intervals] == [T0 + 15 * M * n for n in range(4)]
    assert seq.uids == ("slot-1", "slot-2", "slot-3", "slot-4")
    assert seq.is_contiguous()
    assert seq.total_duration == H
    assert seq.schedule() == seq
    assert Sequence.slots(T0, 15 * M, 4) == seq


def test_total_duration_needs_no_dtstarts_when_linked() -> None:
    seq = Sequence.chain([Interval(duration=H, uid="a"), Interval(duration=H, uid="b")])
    assert seq.total_duration == 2 * H
    assert seq.is_contiguous()


def test_overlap_is_not_contiguous() -> None:
    seq = _pair(Relation.START_TO_START, 10 * M)
    assert not seq.is_contiguous()
    assert seq.total_duration == H


def test_reltype_names() -> None:
    assert Relation.FINISH_TO_START.reltype == "FINISHTOSTART"
    assert Relation.from_reltype("startToFinish") is Relation.START_TO_FINISH
    with pytest.raises(ValueError, match="PARENT"):
        Relation.from_reltype("PARENT")
