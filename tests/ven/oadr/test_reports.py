"""When a VEN samples and sends its reports (:mod:`transactive.ven.oadr.reports`), with a hand-moved clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ven.oadr.conftest import T0, assert_valid
from transactive.ei.oadr import (
    CalendarInterval,
    PayloadFloat,
    ReportRequest,
    ReportSpecifier,
    SamplingRate,
    SpecifierPayload,
)
from transactive.ven.oadr.reports import ReportBook, ReportSource, measurement_item

S = timedelta(seconds=1)


def book(min_period: int = 5, max_period: int = 60) -> ReportBook:
    b = ReportBook()
    rate = SamplingRate(min_period=min_period * S, max_period=max_period * S, on_change=False)
    b.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=measurement_item("power"),
                       sampling_rate=rate))
    return b


def request(granularity: int, back: int, interval: CalendarInterval | None = None) -> ReportRequest:
    return ReportRequest(report_request_id="rr", report_specifier=ReportSpecifier(
        report_specifier_id="spec", granularity=granularity * S, report_back_duration=back * S,
        report_interval=interval, specifier_payloads=(SpecifierPayload(r_id="p", reading_type="Direct Read"),)))


def run(b: ReportBook, until: int, value: float = 1.0) -> list[tuple[int, int]]:
    """Tick every second up to ``until``: (second, values) for each report sent."""
    sent = []
    for second in range(until + 1):
        now = T0 + second * S
        for sample in b.due_samples(now):
            b.record(sample, now, value)
        for update in b.due_updates(now, "ven-1", iter(str, None)):
            assert_valid(update)
            sent.append((second, len(update.reports[0].intervals)))
    return sent


def test_the_metadata_report_describes_every_point() -> None:
    message = book().register_report("r-1", "ven-1", T0)
    assert_valid(message)
    (report,) = message.reports
    assert (report.report_name, report.report_request_id, report.descriptions[0].r_id) == (
        "METADATA_TELEMETRY_USAGE", "0", "p")


def test_samples_every_granularity_are_sent_every_report_back_duration() -> None:
    b = book()
    b.accept([request(10, 30)], T0)
    assert run(b, 65) == [(30, 4), (60, 3)]


def test_a_zero_report_back_duration_sends_one_report_and_ends_it() -> None:
    b = book()
    b.accept([request(10, 0)], T0)
    assert run(b, 40) == [(0, 1)]
    assert b.pending() == ()


def test_a_granularity_outside_the_offered_rate_is_brought_inside_it() -> None:
    b = book(min_period=5, max_period=60)
    b.accept([request(1, 20)], T0)
    assert b.active["rr"].granularity == 5 * S
    b.accept([request(600, 20)], T0)
    assert b.active["rr"].granularity == 60 * S


def test_a_report_interval_delays_the_start_and_ends_the_report() -> None:
    b = book()
    b.accept([request(10, 10, CalendarInterval(dtstart=T0 + 20 * S, duration=30 * S))], T0)
    assert run(b, 80) == [(30, 2), (40, 1), (50, 1)]
    assert b.pending() == ()


def test_an_unknown_report_or_point_is_refused() -> None:
    b = book()
    other = request(10, 10).report_specifier.replace(report_specifier_id="other")
    accepted, refused = b.accept([ReportRequest(report_request_id="x", report_specifier=other)], T0)
    assert (accepted, refused) == ([], ["x"])


def test_a_point_that_cannot_be_read_moves_the_schedule_on() -> None:
    b = book()
    b.accept([request(10, 30)], T0)
    for sample in b.due_samples(T0):
        b.record(sample, T0, None)
    assert b.due_samples(T0 + S) == []
    assert b.active["rr"].collected == []


def test_values_are_sent_as_float_payloads_with_their_time() -> None:
    b = book()
    b.accept([request(10, 10)], T0)
    for now in (T0, T0 + 10 * S):
        for sample in b.due_samples(now):
            b.record(sample, now, 1500.5)
    (update,) = b.due_updates(T0 + 10 * S, "ven-1", iter(["u-1"]))
    intervals = update.reports[0].intervals
    assert [i.dtstart for i in intervals] == [T0, T0 + 10 * S]
    assert intervals[0].payloads[0].payload == PayloadFloat(value=1500.5)
    assert (update.request_id, update.reports[0].report_name) == ("u-1", "TELEMETRY_USAGE")


def test_a_data_point_is_offered_once_and_measurements_are_named() -> None:
    b = book()
    with pytest.raises(ValueError, match="already has"):
        b.add(ReportSource(r_id="p", report_specifier_id="spec", resource_id="meter", item=None))
    with pytest.raises(ValueError, match="unknown measurement"):
        measurement_item("flux")
