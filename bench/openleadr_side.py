"""Runs INSIDE the openleadr virtual environment (.venv-openleadr): times openleadr's own
``create_message`` / ``parse_message`` on the benchmark event and prints one JSON line.

Usage: python openleadr_side.py ITERATIONS
The event is the one bench/codec_bench.py builds with transactive: one event, one price signal of
24 one-hour intervals (each with dtstart, duration, uid and a float payload), one target VEN.
"""

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from openleadr import objects
from openleadr.messaging import create_message, parse_message


def build_event():
    start = datetime(2026, 11, 21, tzinfo=UTC)
    intervals = [
        objects.Interval(dtstart=start + timedelta(hours=i), duration=timedelta(hours=1), uid=i,
                         signal_payload=round(0.10 + 0.01 * i, 4))
        for i in range(24)
    ]
    signal = objects.EventSignal(intervals=intervals, signal_name="ELECTRICITY_PRICE", signal_type="price",
                                 signal_id="sig-price-1", current_value=0.10)
    descriptor = objects.EventDescriptor(event_id="ev-2026-11-21", modification_number=0,
                                         market_context="http://market.example/day-ahead", event_status="far",
                                         created_date_time=start - timedelta(hours=12), priority=1)
    return objects.Event(event_descriptor=descriptor, event_signals=[signal], targets=[objects.Target(ven_id="ven-1")],
                         active_period=objects.ActivePeriod(dtstart=start, duration=timedelta(hours=24)))


def main() -> None:
    n = int(sys.argv[1])
    event = build_event()
    kwargs = {"request_id": "req-1", "vtn_id": "vtn-1", "events": [event]}
    msg = create_message("oadrDistributeEvent", **kwargs)
    t0 = time.perf_counter()
    for _ in range(n):
        create_message("oadrDistributeEvent", **kwargs)
    t1 = time.perf_counter()
    for _ in range(n):
        parse_message(msg)
    t2 = time.perf_counter()
    print(json.dumps({"create_per_s": n / (t1 - t0), "parse_per_s": n / (t2 - t1), "bytes": len(msg)}))


if __name__ == "__main__":
    main()
