"""Property tests (hypothesis) for durations, sequences, inheritance, recurrence and the wire forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transactive.calendar import (
    Frequency,
    Gluon,
    Interval,
    Link,
    Recurrence,
    Relation,
    Sequence,
    Weekday,
    from_xcal,
    resolve,
    to_xcal,
)
from transactive.codec import decode_json, decode_xml, encode_json, encode_xml, parse_xml
from transactive.model import format_duration, parse_duration
from transactive.schemas import validate

BASE = datetime(2026, 1, 1, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
whole_second_durations = st.integers(min_value=0, max_value=3 * 86_400).map(lambda s: timedelta(seconds=s))
gaps = st.timedeltas(min_value=timedelta(hours=-2), max_value=timedelta(hours=2))
payloads = st.none() | st.integers() | st.text(max_size=5)
#: text XML can carry (no control characters, surrogates or the non-characters U+FFFE/U+FFFF)
xml_text = st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"), max_size=8)


@given(st.timedeltas())
def test_duration_format_parse_round_trip_for_any_timedelta(value: timedelta) -> None:
    # every timedelta is whole microseconds; the range covers negative and positive values
    text = format_duration(value)
    assert parse_duration(text) == value


@given(st.lists(durations, min_size=1, max_size=12), instants)
def test_finish_to_start_sequences_are_contiguous_and_last_the_sum(ds: list[timedelta], t0: datetime) -> None:
    seq = Sequence.chain([Interval(duration=d, uid=f"i{n}") for n, d in enumerate(ds)])
    scheduled = seq.schedule("i0", t0)
    assert scheduled.is_contiguous()
    assert scheduled.total_duration == sum(ds, timedelta(0))
    assert seq.total_duration == sum(ds, timedelta(0))
    assert scheduled.intervals[-1].end == t0 + sum(ds, timedelta(0))


@st.composite
def linked_sequences(draw: st.DrawFn) -> Sequence:
    """A random tree of intervals (every interval after the first links to an earlier one)."""
    n = draw(st.integers(min_value=1, max_value=10))
    intervals = [Interval(duration=draw(durations), uid=f"u{k}") for k in range(n)]
    links = []
    for k in range(1, n):
        other = draw(st.integers(min_value=0, max_value=k - 1))
        pred, succ = (f"u{other}", f"u{k}") if draw(st.booleans()) else (f"u{k}", f"u{other}")
        links.append(Link(predecessor_uid=pred, successor_uid=succ,
                          relation=draw(st.sampled_from(list(Relation))), gap=draw(gaps)))
    return Sequence(intervals=tuple(intervals), links=tuple(links))


@given(linked_sequences(), st.randoms(use_true_random=False), instants, st.data())
def test_scheduling_is_invariant_to_listing_order(seq: Sequence, rnd, t0: datetime, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    anchor = data.draw(st.sampled_from(seq.uids))
    intervals, links = list(seq.intervals), list(seq.links)
    rnd.shuffle(intervals)
    rnd.shuffle(links)
    shuffled = Sequence(intervals=tuple(intervals), links=tuple(links))
    first = {i.uid: i.dtstart for i in seq.schedule(anchor, t0).intervals}
    second = {i.uid: i.dtstart for i in shuffled.schedule(anchor, t0).intervals}
    assert first == second
    assert first[anchor] == t0


@given(linked_sequences(), instants, st.data())
def test_any_interval_can_anchor_the_same_schedule(seq: Sequence, t0: datetime, data: st.DataObject) -> None:
    scheduled = seq.schedule(seq.uids[0], t0)
    other = data.draw(st.sampled_from(seq.uids))
    assert seq.schedule(other, scheduled[other].start) == scheduled


optional_instants = st.none() | instants
optional_durations = st.none() | durations


@st.composite
def gluon_chains(draw: st.DrawFn) -> Gluon:
    gluon = None
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        gluon = Gluon(dtstart=draw(optional_instants), duration=draw(optional_durations),
                      payload=draw(payloads), parent=gluon)
    assert gluon is not None
    return gluon


@given(optional_durations, optional_instants, payloads, gluon_chains())
def test_resolved_intervals_never_lose_an_explicit_value(d, start, payload, gluon: Gluon) -> None:  # type: ignore[no-untyped-def]
    interval = Interval(duration=d, dtstart=start, payload=payload, uid="x")
    resolved = resolve(interval, gluon)
    for name in ("duration", "dtstart", "payload"):
        own = getattr(interval, name)
        if own is not None:
            assert getattr(resolved, name) == own
        else:
            assert getattr(resolved, name) == gluon.value(name)  # the nearest gluon that has one
    assert resolved.uid == "x"


@given(gluon_chains())
def test_nearest_gluon_value_is_the_first_one_up_the_chain(gluon: Gluon) -> None:
    for name in ("dtstart", "duration", "payload"):
        expected = next((getattr(g, name) for g in gluon.lineage() if getattr(g, name) is not None), None)
        assert resolve(Interval(uid="x"), gluon).model_dump()[name] == expected


@st.composite
def xcal_sequences(draw: st.DrawFn) -> Sequence:
    n = draw(st.integers(min_value=1, max_value=6))
    intervals = tuple(
        Interval(duration=draw(whole_second_durations), uid=f"u{k}", payload=draw(st.none() | xml_text),
                 dtstart=draw(st.none() | instants))
        for k in range(n)
    )
    links = tuple(
        Link(predecessor_uid=f"u{k - 1}", successor_uid=f"u{k}", relation=draw(st.sampled_from(list(Relation))),
             gap=draw(gaps))
        for k in range(1, n)
    )
    return Sequence(intervals=intervals, links=links)


@settings(max_examples=50)
@given(xcal_sequences())
def test_xcal_conversion_round_trips(seq: Sequence) -> None:
    doc = to_xcal(seq)
    assert decode_xml(encode_xml(doc)) == doc
    assert decode_json(encode_json(doc)) == doc
    assert from_xcal(doc) == seq
    report = validate(parse_xml(encode_xml(doc)), schema="wscalendar")
    assert report.valid, report.errors


# ------------------------------------------------------------------ recurrence against python-dateutil
rrule_mod = pytest.importorskip("dateutil.rrule")


@settings(max_examples=200)
@given(
    st.sampled_from(list(Frequency)),
    st.integers(min_value=1, max_value=4),
    st.lists(st.sampled_from(list(Weekday)), unique=True, max_size=4),
    st.integers(min_value=1, max_value=30),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_recurrence_agrees_with_dateutil(freq, interval, days, count, start) -> None:  # type: ignore[no-untyped-def]
    if freq not in (Frequency.DAILY, Frequency.WEEKLY):
        days = []
    start = start.replace(microsecond=0, tzinfo=UTC)
    if freq is Frequency.WEEKLY and days:
        # RFC 5545 leaves a DTSTART that does not match BYDAY undefined; keep to matching ones
        days = sorted({*days, Weekday(list(Weekday)[start.weekday()])}, key=lambda d: d.number)
    ours = list(Recurrence(freq=freq, interval=interval, by_day=tuple(days), count=count).occurrences(start))
    by_name = {"MO": rrule_mod.MO, "TU": rrule_mod.TU, "WE": rrule_mod.WE, "TH": rrule_mod.TH,
               "FR": rrule_mod.FR, "SA": rrule_mod.SA, "SU": rrule_mod.SU}
    theirs = list(rrule_mod.rrule(
        getattr(rrule_mod, freq.value), dtstart=start, interval=interval, count=count,
        byweekday=[by_name[d.value] for d in days] or None, wkst=rrule_mod.MO,
    ))
    assert ours == theirs
