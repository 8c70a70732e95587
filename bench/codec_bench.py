"""Codec benchmark: messages/s for encode, decode and validate, side by side with openleadr.

    python bench/codec_bench.py [--rounds 5] [--seconds 0.4] [--no-openleadr] [--json bench/results/codec.json]

Two messages, as issue 2 defines them:
  * ``oadrDistributeEvent`` with one event of 24 one-hour intervals (dtstart, duration, uid, float payload
    per interval; a price signal; one target VEN) — openleadr builds the same event in bench/openleadr_side.py;
  * ``eiCreateTender`` (CTS rev 0.4) with a 24-interval energy stream (quantity and price per interval).

Operations: encode_xml, decode_xml (fields checked by the models), validate (parse + libxml2 XSD),
decode+validate (``decode_xml(..., schema_validate=True)``), encode_json, decode_json. Every round runs each
operation for ``--seconds`` and then openleadr's create_message / parse_message in its own virtual
environment (a subprocess timing itself), so both sides see the same machine load; the report gives the
median over rounds and the ratios of the medians. The machine is shared and noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lxml  # noqa: E402
import pydantic  # noqa: E402
from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

from transactive.codec import decode_json, decode_xml, encode_json, encode_xml, parse_xml  # noqa: E402
from transactive.ei.cts import EiCreateTender, EiTender  # noqa: E402
from transactive.ei.oadr import (  # noqa: E402
    ActivePeriod,
    Event,
    EventDescriptor,
    EventSignal,
    Interval,
    OadrDistributeEvent,
    OadrEvent,
    PayloadFloat,
    SignalPayload,
    Target,
)
from transactive.emix import energy_stream_product  # noqa: E402
from transactive.schemas import validate  # noqa: E402

START = datetime(2026, 11, 21, tzinfo=UTC)
OPENLEADR_VENV = ROOT / ".venv-openleadr"


def oadr_event_24() -> OadrDistributeEvent:
    intervals = tuple(
        Interval(
            dtstart=START + timedelta(hours=i),
            duration=timedelta(hours=1),
            uid=str(i),
            payloads=(SignalPayload(payload=PayloadFloat(value=round(0.10 + 0.01 * i, 4))),),
        )
        for i in range(24)
    )
    signal = EventSignal(
        intervals=intervals, signal_name="ELECTRICITY_PRICE", signal_type="price", signal_id="sig-price-1",
        current_value=0.10,
    )
    descriptor = EventDescriptor(
        event_id="ev-2026-11-21", modification_number=0, market_context="http://market.example/day-ahead",
        created_date_time=START - timedelta(hours=12), event_status="far", priority=1,
    )
    event = Event(
        descriptor=descriptor, active_period=ActivePeriod(dtstart=START, duration=timedelta(hours=24)),
        signals=(signal,), target=Target(ven_ids=("ven-1",)),
    )
    return OadrDistributeEvent(request_id="req-1", vtn_id="vtn-1", events=(OadrEvent(event=event),))


def cts_tender_24() -> EiCreateTender:
    product = energy_stream_product(
        side="sell", quantities_kwh=[round(0.5 + 0.1 * i, 2) for i in range(24)],
        prices=[f"0.{10 + i:02d}" for i in range(24)], currency="USD",
        market_context="https://market.example.com/day-ahead", dtstart=START, interval=timedelta(hours=1),
        uid="pv-7-2026-11-21",
    )
    return EiCreateTender(request_id="req-1", party_id="pv-roof-7", counter_party_id="market",
                          tenders=(EiTender(tender_id="t-1", item=product),))


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (at least 20 calls)."""
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(20):
            fn()
        n += 20
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0)


def operations(message: Any) -> dict[str, Callable[[], Any]]:
    xml = encode_xml(message)
    js = encode_json(message)
    assert decode_xml(xml, schema_validate=True) == message
    assert decode_json(js) == message
    return {
        "encode_xml": lambda: encode_xml(message),
        "decode_xml": lambda: decode_xml(xml),
        "validate": lambda: validate(parse_xml(xml)),
        "decode+validate": lambda: decode_xml(xml, schema_validate=True),
        "encode_json": lambda: encode_json(message),
        "decode_json": lambda: decode_json(js),
    }


def ensure_openleadr() -> Path | None:
    python = OPENLEADR_VENV / "bin" / "python"
    if not python.exists():
        script = ROOT / "interop" / "openleadr_peer" / "make_venv.sh"
        print(f"creating {OPENLEADR_VENV.name} with openleadr (one time) ...", file=sys.stderr)
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
        if result.returncode != 0 or not python.exists():
            print(f"openleadr unavailable: {result.stderr.strip()[-300:]}", file=sys.stderr)
            return None
    return python


def openleadr_round(python: Path, iterations: int) -> dict[str, float]:
    out = subprocess.run([str(python), str(ROOT / "bench" / "openleadr_side.py"), str(iterations)],
                         capture_output=True, text=True, check=True)
    parsed: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def machine() -> dict[str, Any]:
    return machine_info(lxml=lxml.__version__, pydantic=pydantic.VERSION)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds to take the median over (default 5)")
    parser.add_argument("--seconds", type=float, default=0.4, help="time per operation per round (default 0.4)")
    parser.add_argument("--no-openleadr", action="store_true", help="skip the openleadr side")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "codec.json",
                        help="where to write the raw results (default bench/results/codec.json)")
    args = parser.parse_args()

    cases = {
        "oadrDistributeEvent (24 intervals)": oadr_event_24(),
        "eiCreateTender (24-interval stream)": cts_tender_24(),
    }
    ops = {name: operations(msg) for name, msg in cases.items()}
    sizes = {name: len(encode_xml(msg)) for name, msg in cases.items()}
    python = None if args.no_openleadr else ensure_openleadr()
    samples: dict[str, dict[str, list[float]]] = {name: {op: [] for op in o} for name, o in ops.items()}
    theirs: dict[str, list[float]] = {"create_per_s": [], "parse_per_s": []}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        for name, o in ops.items():
            for op, fn in o.items():
                samples[name][op].append(rate(fn, args.seconds))
        if python is not None:
            res = openleadr_round(python, 300)
            theirs["create_per_s"].append(res["create_per_s"])
            theirs["parse_per_s"].append(res["parse_per_s"])

    med = {name: {op: statistics.median(v) for op, v in o.items()} for name, o in samples.items()}
    ol = {k: statistics.median(v) for k, v in theirs.items() if v}
    print(f"\nmachine: {machine()}")
    print(f"median of {args.rounds} rounds, messages/s\n")
    for name, o in med.items():
        print(f"{name}  ({sizes[name]} bytes of XML)")
        for op, value in o.items():
            print(f"  {op:<16} {value:>10,.0f} /s   {1e6 / value:8.1f} µs")
    if ol:
        event = med["oadrDistributeEvent (24 intervals)"]
        print("\nopenleadr 0.5.36, same event, same rounds")
        print(f"  create_message   {ol['create_per_s']:>10,.0f} /s")
        print(f"  parse_message    {ol['parse_per_s']:>10,.0f} /s")
        print("\nratios (transactive / openleadr, medians)")
        print(f"  encode_xml / create_message        {event['encode_xml'] / ol['create_per_s']:6.1f}x  (goal 10x)")
        print(f"  decode+validate / parse_message    {event['decode+validate'] / ol['parse_per_s']:6.1f}x  (goal 20x)")
        print(f"  decode_xml / parse_message         {event['decode_xml'] / ol['parse_per_s']:6.1f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "rounds": args.rounds, "seconds": args.seconds,
                                     "transactive": samples, "openleadr": theirs, "sizes": sizes}, indent=2))
    print(f"\nraw results: {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
