"""xCal (RFC 6321 + WS-Calendar): round trips, schema validity, conversions."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from tests.calendar.conftest import T0, H, M
from transactive.calendar import (
    Availability,
    BusyType,
    ConversionError,
    Frequency,
    Gluon,
    Interval,
    Link,
    Recurrence,
    Relation,
    Sequence,
    Weekday,
    Window,
    availability_from_xcal,
    availability_to_xcal,
    from_xcal,
    gluon_from_xcal,
    to_xcal,
)
from transactive.calendar.xcal import XcalEvent, XcalIcalendar, XcalInterval, XcalRelatedTo, XcalVcalendar
from transactive.codec import decode_json, decode_xml, encode_json, encode_xml, parse_xml
from transactive.schemas import validate

SEQ = Sequence(
    intervals=(
        Interval(duration=H, uid="a", payload="price=10"),
        Interval(duration=30 * M, uid="b"),
        Interval(duration=2 * H, uid="c"),
        Interval(duration=H, uid="d"),
    ),
    links=(
        Link(predecessor_uid="a", successor_uid="b"),
        Link(predecessor_uid="b", successor_uid="c", gap=5 * M),
        Link(predecessor_uid="c", successor_uid="d", relation=Relation.FINISH_TO_FINISH, gap=-10 * M),
    ),
)
GLUON = Gluon(dtstart=T0, uid="leaf", parent=Gluon(duration=H, payload="dflt", uid="root"))
AVAIL = Availability(
    windows=(
        Window(dtstart=T0, duration=8 * H, uid="w1", recurrence=Recurrence(
            freq=Frequency.WEEKLY, by_day=(Weekday.MO, Weekday.TH), until=T0 + timedelta(days=30),
            exdates=(T0 + timedelta(days=3),))),
        Window(dtstart=T0 + H, duration=H, recurrence=Recurrence(freq=Frequency.DAILY, interval=2, count=5)),
        Window(dtstart=T0 - timedelta(days=1), duration=15 * M),
    ),
    dtstart=T0 - timedelta(days=2),
    duration=timedelta(days=60),
    granularity=15 * M,
    comment="office hours",
    uid="av-1",
)


def _valid(doc: XcalIcalendar) -> None:
    report = validate(parse_xml(encode_xml(doc)), schema="wscalendar")
    assert report.valid, report.errors


@pytest.mark.parametrize(
    "doc",
    [
        to_xcal(SEQ),
        to_xcal(SEQ, gluon=GLUON),
        to_xcal(SEQ.schedule("a", T0)),
        availability_to_xcal(AVAIL),
        XcalIcalendar(vcalendars=(XcalVcalendar(prodid=None, version=None),)),
    ],
    ids=["sequence", "with-gluons", "scheduled", "availability", "empty"],
)
def test_xcal_round_trips_and_is_schema_valid(doc: XcalIcalendar) -> None:
    assert decode_xml(encode_xml(doc)) == doc
    assert decode_json(encode_json(doc)) == doc
    _valid(doc)


def test_sequence_survives_xcal() -> None:
    assert from_xcal(to_xcal(SEQ)) == SEQ
    scheduled = SEQ.schedule("a", T0)
    assert from_xcal(decode_xml(encode_xml(to_xcal(scheduled)))) == scheduled


def test_gluon_chain_survives_xcal() -> None:
    doc = decode_xml(encode_xml(to_xcal(SEQ, gluon=GLUON)), XcalIcalendar)
    assert gluon_from_xcal(doc) == (GLUON, "a")
    assert gluon_from_xcal(to_xcal(SEQ)) is None


def test_sequence_from_xcal_resolves_and_schedules_like_the_original() -> None:
    doc = decode_xml(encode_xml(to_xcal(SEQ, gluon=GLUON)), XcalIcalendar)
    found = gluon_from_xcal(doc)
    assert found is not None
    gluon, anchor = found
    assert from_xcal(doc).resolved(gluon, anchor).schedule() == SEQ.resolved(GLUON).schedule()


def test_links_are_related_to_on_the_predecessor_with_reltype_and_gap() -> None:
    xml = encode_xml(to_xcal(SEQ)).decode()
    assert "<xcal:reltype><xcal:text>FINISHTOSTART</xcal:text></xcal:reltype>" in xml
    assert "<xcal:gap><xcal:duration>PT5M</xcal:duration></xcal:gap>" in xml
    assert "<xcal:gap><xcal:duration>-PT10M</xcal:duration></xcal:gap>" in xml


def test_date_times_are_written_in_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    seq = Sequence(intervals=(Interval(duration=H, uid="a", dtstart=T0.astimezone(plus2)),))
    doc = to_xcal(seq)
    assert b"2026-03-02T09:00:00Z" in encode_xml(doc)
    _valid(doc)
    assert from_xcal(doc) == seq  # the same instant


def test_availability_survives_xcal() -> None:
    assert availability_from_xcal(decode_xml(encode_xml(availability_to_xcal(AVAIL)))) == (AVAIL,)


def test_busy_type_other_than_the_default_cannot_be_written_in_xcal() -> None:
    with pytest.raises(ConversionError, match="busytype"):
        availability_to_xcal(AVAIL.replace(busy_type=BusyType.BUSY))


def test_fractional_second_durations_are_refused_in_xcal() -> None:
    seq = Sequence(intervals=(Interval(duration=timedelta(seconds=1, microseconds=5), uid="a"),))
    with pytest.raises(ConversionError, match="whole seconds"):
        to_xcal(seq)


def test_non_text_payload_is_refused_in_xcal() -> None:
    with pytest.raises(ConversionError, match="payload"):
        to_xcal(Sequence(intervals=(Interval(duration=H, uid="a", payload=3),)))


def test_vevents_are_read_as_intervals() -> None:
    doc = XcalIcalendar(vcalendars=(XcalVcalendar(components=(
        XcalEvent(uid="e1", dtstart=T0, duration=H,
                  related_to=(XcalRelatedTo(reltype="startToStart", uid="e2"), XcalRelatedTo(uid="parent"))),
        XcalEvent(uid="e2", duration=H),
    )),))
    _valid(doc)
    assert from_xcal(doc).schedule()["e2"].dtstart == T0


def test_unknown_reltype_on_an_interval_is_refused() -> None:
    doc = XcalIcalendar(vcalendars=(XcalVcalendar(components=(
        XcalInterval(uid="a", duration=H, related_to=(XcalRelatedTo(reltype="X-SOMETHING", uid="b"),)),
    )),))
    with pytest.raises(ConversionError, match="X-SOMETHING"):
        from_xcal(doc)


def test_interval_without_uid_is_refused() -> None:
    doc = XcalIcalendar(vcalendars=(XcalVcalendar(components=(XcalInterval(duration=H),)),))
    with pytest.raises(ConversionError, match="uid"):
        from_xcal(doc)


def test_gluon_needs_a_designated_interval_when_the_sequence_has_several_heads() -> None:
    seq = Sequence(intervals=(Interval(duration=H, uid="a"), Interval(duration=H, uid="b")))
    with pytest.raises(ConversionError, match="heads"):
        to_xcal(seq, gluon=GLUON)
    assert gluon_from_xcal(to_xcal(seq, gluon=GLUON, anchor_uid="b")) == (GLUON, "b")


def test_unnamed_gluons_get_generated_uids() -> None:
    found = gluon_from_xcal(to_xcal(SEQ, gluon=Gluon(dtstart=T0)))
    assert found == (Gluon(dtstart=T0, uid="gluon-1"), "a")
