"""The foundation demo (``make demo``): a PV roof's day-ahead tender and a utility's price event, built with
the library, printed as XML and JSON, validated against the shipped schemas, decoded back — and two bad
inputs refused with the EI response code a VTN would answer with.

    python examples/foundation_demo.py [--out DIR] [--full]

It writes a plot of both messages' 24 intervals to ``DIR/foundation_demo.png`` (default ``out/``), and both
messages in both wire formats as ``DIR/tender.xml``, ``tender.json``, ``event.xml`` and ``event.json`` (the files
the examples of ``transactive --help`` validate and convert).
Later issues turn ``make demo`` into the full market; this is the message layer it stands on.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from transactive import decode_json, decode_xml, encode_json, encode_xml  # noqa: E402
from transactive.codec import parse_xml  # noqa: E402
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
from transactive.errors import ProtocolError  # noqa: E402
from transactive.schemas import SCHEMA_SETS, validate  # noqa: E402

DAY = datetime(2026, 11, 22, tzinfo=UTC)
MARKET = "https://lme.example.org/markets/day-ahead"


def pv_surplus_kwh(hour: int) -> float:
    """A clear November day on a 6 kWp roof, less the house's own use: surplus per hour in kWh."""
    sun = max(0.0, math.sin(math.pi * (hour - 7.5) / 9.0)) * 4.2 if 8 <= hour <= 16 else 0.0
    return round(max(0.0, sun - 0.35), 2)


def day_ahead_tender() -> EiCreateTender:
    quantities = [pv_surplus_kwh(h) for h in range(24)]
    # ask a little less at midday, when everyone's roof produces
    prices = [Decimal("0.14") - Decimal("0.004") * min(q, 4) for q in (round(x) for x in quantities)]
    product = energy_stream_product(
        side="sell", quantities_kwh=quantities, prices=prices, currency="EUR", market_context=MARKET,
        dtstart=DAY, interval=timedelta(hours=1), uid="pv-roof-17-2026-11-22",
    )
    return EiCreateTender(request_id="req-0001", party_id="pv-roof-17", counter_party_id="lme-market",
                          tenders=(EiTender(tender_id="tender-0001", item=product),))


def price_event() -> OadrDistributeEvent:
    tariff = [0.21 if 17 <= h < 21 else 0.09 if h < 6 else 0.14 for h in range(24)]
    intervals = tuple(
        Interval(duration=timedelta(hours=1), uid=str(h), payloads=(SignalPayload(payload=PayloadFloat(value=p)),))
        for h, p in enumerate(tariff)
    )
    event = Event(
        descriptor=EventDescriptor(event_id="tariff-2026-11-22", modification_number=0, market_context=MARKET,
                                   created_date_time=DAY - timedelta(hours=10), event_status="far", priority=1),
        active_period=ActivePeriod(dtstart=DAY, duration=timedelta(hours=24)),
        signals=(EventSignal(intervals=intervals, signal_name="ELECTRICITY_PRICE", signal_type="price",
                             signal_id="tariff", current_value=tariff[0]),),
        target=Target(ven_ids=("ven-house-17",)),
    )
    return OadrDistributeEvent(request_id="req-0002", vtn_id="utility-vtn", events=(OadrEvent(event=event),))


def show(title: str, text: str, full: bool, lines: int = 28) -> None:
    body = text.splitlines()
    print(f"--- {title} ({len(text.encode())} bytes) ---")
    print("\n".join(body if full else body[:lines]))
    if not full and len(body) > lines:
        print(f"... {len(body) - lines} more lines (--full prints everything)")
    print()


def check(message: object, full: bool) -> bool:
    xml = encode_xml(message)  # type: ignore[arg-type]
    js = encode_json(message, pretty=True)  # type: ignore[arg-type]
    name = type(message).__tag__  # type: ignore[attr-defined]
    show(f"{name} as XML", etree.tostring(etree.fromstring(xml), pretty_print=True).decode(), full)
    show(f"{name} as JSON", js.decode(), full, lines=20)
    report = validate(parse_xml(xml))
    same = decode_xml(xml) == message and decode_json(js) == message
    title = SCHEMA_SETS[report.schema].title if report.schema else "no schema"
    print(f"{name}: {'VALID' if report.valid else 'INVALID'} against {title}; "
          f"decode(encode(m)) == m in XML and JSON: {same}")
    for err in report.errors:
        print(f"  line {err.line}: {err.path}: {err.message}")
    print()
    return report.valid and same


def refusals() -> None:
    print("--- bad input is refused with an EI response code ---")
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<oadrPayload xmlns="http://openadr.org/oadr-2.0b/2012/07">&x;</oadrPayload>')
    cases = {
        "an XXE attack": xxe,
        "a tender without its counterparty": encode_xml(day_ahead_tender()).replace(
            b"<ei:counterPartyID>lme-market</ei:counterPartyID>", b""),
        "a truncated event": encode_xml(price_event())[:700],
    }
    for what, data in cases.items():
        try:
            decode_xml(data)
            print(f"{what}: accepted (unexpected)")
        except ProtocolError as exc:
            where = f" at {exc.errors[0].path}" if exc.errors else ""
            print(f"{what}: {type(exc).__name__} [{exc.response_code}] {exc.message}{where}")
    print()


def plot(tender: EiCreateTender, event: OadrDistributeEvent, out: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return None
    product = tender.tenders[0].item
    hours = list(range(24))
    qty = [iv.payload.quantity for iv in product.intervals]  # type: ignore[union-attr]
    ask = [float(iv.payload.price.value) for iv in product.intervals]  # type: ignore[union-attr]
    tariff = [iv.payloads[0].payload.value for iv in event.events[0].event.signals[0].intervals]  # type: ignore[union-attr]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar(hours, qty, color="#f2b134", label="PV surplus offered (kWh, eiCreateTender)")
    ax.set_xlabel("hour of 2026-11-22 (UTC)")
    ax.set_ylabel("energy (kWh)")
    ax2 = ax.twinx()
    ax2.step(hours, tariff, where="mid", color="#2a6f97", label="utility price (EUR/kWh, oadrDistributeEvent)")
    ax2.plot(hours, ask, "o", color="#c1121f", markersize=4, label="PV ask price (EUR/kWh)")
    ax2.set_ylabel("price (EUR/kWh)")
    ax2.set_ylim(0, max(tariff) * 1.25)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="upper left", fontsize=8)
    ax.set_title("The demo's two messages, interval by interval")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "foundation_demo.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="where to write the plot (default out/)")
    parser.add_argument("--full", action="store_true", help="print whole documents, not their first lines")
    args = parser.parse_args()
    tender, event = day_ahead_tender(), price_event()
    ok = check(tender, args.full) & check(event, args.full)
    refusals()
    path = plot(tender, event, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, message in (("tender", tender), ("event", event)):
        (args.out / f"{name}.xml").write_bytes(encode_xml(message))  # type: ignore[arg-type]
        (args.out / f"{name}.json").write_bytes(encode_json(message, pretty=True))  # type: ignore[arg-type]
    product = tender.tenders[0].item
    offered = sum(iv.payload.quantity for iv in product.intervals)  # type: ignore[union-attr]
    print("summary")
    print(f"  tender: {len(product.intervals)} hourly intervals, {offered:.2f} kWh offered")  # type: ignore[arg-type]
    print(f"  event:  {len(event.events[0].event.signals[0].intervals)} hourly price intervals")
    print(f"  both valid and round-tripping: {ok}")
    if path is not None:
        print(f"  plot: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    where = args.out.relative_to(ROOT) if args.out.resolve().is_relative_to(ROOT) else args.out
    print(f"  messages: {where}/tender.xml, tender.json, event.xml, event.json "
          f"(try: transactive validate {where}/event.xml {where}/tender.json)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
