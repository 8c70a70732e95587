"""Produce one XML document per OpenADR 2.0b message type with openleadr (run inside .venv-openleadr).

    .venv-openleadr/bin/python interop/openleadr_peer/emit_messages.py OUTPUT_DIR

Writes ``OUTPUT_DIR/<messageType>[-<variant>].xml`` for every message openleadr can create, using
``openleadr.messaging.create_message`` and the ``openleadr.objects`` data classes, and prints the file names.
The values are fixed, so the documents are the same on every run. This script is only ever run by the
openleadr virtual environment's interpreter; transactive does not import it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openleadr import objects  # type: ignore[import-not-found, unused-ignore]
from openleadr.messaging import create_message  # type: ignore[import-not-found, unused-ignore]

T0 = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
CREATED = datetime(2026, 7, 13, 9, 30, tzinfo=UTC)
VEN = "ven-7f3a9c"
VTN = "vtn-acme-utility"
MARKET = "http://marketcontext.acme-utility.example/summer-peak"


def _response(request_id: str = "req-1") -> dict[str, Any]:
    return {"response_code": 200, "response_description": "OK", "request_id": request_id}


def _event(event_id: str, status: str, signals: list[Any], modification: int = 0) -> Any:
    return objects.Event(
        event_descriptor=objects.EventDescriptor(
            event_id=event_id,
            modification_number=modification,
            market_context=MARKET,
            event_status=status,
            created_date_time=CREATED,
            modification_date_time=CREATED,
            priority=1,
            test_event=False,
            vtn_comment="interop test event",
        ),
        active_period=objects.ActivePeriod(dtstart=T0, duration=timedelta(hours=2)),
        event_signals=signals,
        targets=[objects.Target(ven_id=VEN)],
        response_required="always",
    )


def _signal(name: str, kind: str, values: list[float], signal_id: str, **extra: Any) -> Any:
    intervals = [
        objects.Interval(dtstart=T0 + i * timedelta(hours=1), duration=timedelta(hours=1), signal_payload=v, uid=i)
        for i, v in enumerate(values)
    ]
    return objects.EventSignal(intervals=intervals, signal_name=name, signal_type=kind, signal_id=signal_id, **extra)


def _metadata_report() -> Any:
    rate = objects.SamplingRate(min_period=timedelta(seconds=10), max_period=timedelta(hours=1), on_change=False)
    descriptions = [
        objects.ReportDescription(
            r_id="rid-power",
            market_context=MARKET,
            reading_type="Direct Read",
            report_subject=objects.Target(resource_id="hvac-1"),
            report_data_source=objects.Target(resource_id="hvac-1"),
            report_type="usage",
            sampling_rate=rate,
            measurement=objects.Measurement(
                name="powerReal",
                description="RealPower",
                unit="W",
                scale="k",
                power_attributes=objects.PowerAttributes(hertz=60, voltage=120, ac=True),
            ),
        ),
        objects.ReportDescription(
            r_id="rid-voltage",
            market_context=MARKET,
            reading_type="Direct Read",
            report_subject=objects.Target(resource_id="hvac-1"),
            report_data_source=objects.Target(resource_id="hvac-1"),
            report_type="reading",
            sampling_rate=rate,
            measurement=objects.Measurement(name="voltage", description="Voltage", unit="V", scale="none"),
        ),
    ]
    return objects.Report(
        report_specifier_id="spec-telemetry-usage",
        report_name="METADATA_TELEMETRY_USAGE",
        report_descriptions=descriptions,
        created_date_time=CREATED,
        duration=timedelta(hours=1),
    )


def _report_request(request_id: str) -> Any:
    return objects.ReportRequest(
        report_request_id=request_id,
        report_specifier=objects.ReportSpecifier(
            report_specifier_id="spec-telemetry-usage",
            granularity=timedelta(minutes=15),
            report_back_duration=timedelta(hours=1),
            specifier_payloads=[objects.SpecifierPayload(r_id="rid-power", reading_type="Direct Read")],
        ),
    )


def messages() -> list[tuple[str, str, dict[str, Any]]]:
    """(message type, variant, payload) for every message openleadr can build."""
    usage_report = objects.Report(
        report_specifier_id="spec-telemetry-usage",
        report_name="TELEMETRY_USAGE",
        report_request_id="rr-usage-1",
        created_date_time=T0 + timedelta(hours=1),
        dtstart=T0,
        duration=timedelta(hours=1),
        intervals=[
            objects.ReportInterval(
                dtstart=T0 + i * timedelta(minutes=15),
                duration=timedelta(minutes=15),
                report_payload=objects.ReportPayload(r_id="rid-power", value=v, confidence=90, accuracy=1),
            )
            for i, v in enumerate([10.5, 8.25, 7.0, 9.75])
        ],
    )
    opt_schedule = objects.Opt(
        opt_type="optOut",
        opt_reason="x-schedule",
        opt_id="opt-1",
        created_date_time=CREATED,
        vavailability=objects.Vavailability(
            components=[objects.VavailabilityComponent(dtstart=T0, duration=timedelta(hours=6))]
        ),
        targets=[objects.Target(resource_id="pool-pump")],
        market_context=MARKET,
    )
    return [
        ("oadrQueryRegistration", "", {"request_id": "req-query-1"}),
        (
            "oadrCreatePartyRegistration",
            "",
            {
                "request_id": "req-reg-1",
                "ven_name": "Building 7 gateway",
                "profile_name": "2.0b",
                "transport_name": "simpleHttp",
                "transport_address": "https://ven.example.net/OpenADR2/Simple/2.0b",
                "report_only": False,
                "xml_signature": False,
                "http_pull_model": True,
            },
        ),
        (
            "oadrCreatedPartyRegistration",
            "",
            {
                "response": _response("req-reg-1"),
                "registration_id": "reg-42",
                "ven_id": VEN,
                "vtn_id": VTN,
                "profiles": [{"profile_name": "2.0b", "transports": [{"transport_name": "simpleHttp"}]}],
                "requested_oadr_poll_freq": timedelta(seconds=10),
            },
        ),
        (
            "oadrCancelPartyRegistration",
            "",
            {"request_id": "req-cancel-reg", "registration_id": "reg-42", "ven_id": VEN},
        ),
        (
            "oadrCanceledPartyRegistration",
            "",
            {"response": _response("req-cancel-reg"), "registration_id": "reg-42", "ven_id": VEN},
        ),
        ("oadrRequestReregistration", "", {"ven_id": VEN}),
        ("oadrRequestEvent", "", {"request_id": "req-event-1", "ven_id": VEN, "reply_limit": 5}),
        (
            "oadrDistributeEvent",
            "simple",
            {
                "response": _response("req-event-1"),
                "request_id": "dist-1",
                "vtn_id": VTN,
                "events": [_event("evt-1", "far", [_signal("simple", "level", [1, 2], "sig-0")])],
            },
        ),
        (
            "oadrDistributeEvent",
            "price",
            {
                "request_id": "dist-2",
                "vtn_id": VTN,
                "events": [
                    _event(
                        "evt-2",
                        "active",
                        [
                            _signal("ELECTRICITY_PRICE", "price", [0.42, 0.65], "sig-price", current_value=0.42),
                            _signal("LOAD_DISPATCH", "setpoint", [5.0, 4.5], "sig-dispatch"),
                        ],
                        modification=2,
                    ),
                    _event("evt-3", "cancelled", [_signal("SIMPLE", "level", [0, 0], "sig-x")]),
                ],
            },
        ),
        (
            "oadrCreatedEvent",
            "",
            {
                "response": _response("dist-1"),
                "event_responses": [
                    {
                        "response_code": 200,
                        "response_description": "OK",
                        "request_id": "dist-1",
                        "event_id": "evt-1",
                        "modification_number": 0,
                        "opt_type": "optIn",
                    }
                ],
                "ven_id": VEN,
            },
        ),
        ("oadrCreateOpt", "schedule", {"request_id": "req-opt-1", "ven_id": VEN, **_opt_dict(opt_schedule)}),
        (
            "oadrCreateOpt",
            "event",
            {
                "request_id": "req-opt-2",
                "ven_id": VEN,
                "opt_id": "opt-2",
                "opt_type": "optIn",
                "opt_reason": "participating",
                "created_date_time": CREATED,
                "event_id": "evt-1",
                "modification_number": 0,
                "targets": [objects.Target(ven_id=VEN)],
            },
        ),
        ("oadrCreatedOpt", "", {"response": _response("req-opt-1"), "opt_id": "opt-1"}),
        ("oadrCancelOpt", "", {"request_id": "req-cancel-opt", "opt_id": "opt-1", "ven_id": VEN}),
        ("oadrCanceledOpt", "", {"response": _response("req-cancel-opt"), "opt_id": "opt-1"}),
        ("oadrRegisterReport", "", {"request_id": "req-regrep", "reports": [_metadata_report()], "ven_id": VEN}),
        (
            "oadrRegisteredReport",
            "",
            {"response": _response("req-regrep"), "report_requests": [_report_request("rr-usage-1")], "ven_id": VEN},
        ),
        (
            "oadrCreateReport",
            "",
            {"request_id": "req-create-rep", "report_requests": [_report_request("rr-usage-1")], "ven_id": VEN},
        ),
        (
            "oadrCreatedReport",
            "",
            {
                "response": _response("req-create-rep"),
                "pending_reports": [{"report_request_id": "rr-usage-1"}],
                "ven_id": VEN,
            },
        ),
        ("oadrUpdateReport", "", {"request_id": "req-update", "reports": [usage_report], "ven_id": VEN}),
        ("oadrUpdatedReport", "", {"response": _response("req-update"), "ven_id": VEN}),
        (
            "oadrCancelReport",
            "",
            {
                "request_id": "req-cancel-rep",
                "report_request_id": "rr-usage-1",
                "report_to_follow": False,
                "ven_id": VEN,
            },
        ),
        (
            "oadrCanceledReport",
            "",
            {"response": _response("req-cancel-rep"), "pending_reports": [], "ven_id": VEN},
        ),
        ("oadrPoll", "", {"ven_id": VEN}),
        ("oadrResponse", "", {"response": _response("req-update"), "ven_id": VEN}),
    ]


def _opt_dict(opt: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data: dict[str, Any] = asdict(opt)
    data["targets"] = opt.targets
    return data


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for message_type, variant, payload in messages():
        xml = create_message(message_type, **payload)
        name = f"{message_type}-{variant}.xml" if variant else f"{message_type}.xml"
        (out / name).write_text(xml, encoding="utf-8")
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
