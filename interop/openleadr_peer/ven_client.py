"""An openleadr 0.5.36 VEN (``OpenADRClient``), run in openleadr's own virtual environment by the interop
tests and benchmarks, against a VTN under test.

    python ven_client.py --vtn URL --name NAME --log FILE [--opt optIn|optOut] [--cert F --key F --ca F]
                         [--vtn-fingerprint FP] [--seconds S]

Every event the VEN is sent, and every report value it sends, is appended to ``--log`` as one JSON line
(``{"kind": "event", "event_id", "modification_number", "status", "signal", "values"}``, ``{"kind":
"report", "value"}``, ``{"kind": "registered", "ven_id", "registration_id"}``), so the test reads what the
real openleadr client saw. The VEN answers every event with ``--opt`` and reports a TELEMETRY_USAGE power
value every 2 seconds when asked. Runs ``--seconds`` (default: until killed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from openleadr import OpenADRClient, enums, objects  # type: ignore[import-not-found, unused-ignore]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--vtn", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--opt", default="optIn")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--vtn-fingerprint")
    p.add_argument("--seconds", type=float)
    p.add_argument("--poll-seconds", type=float)
    p.add_argument("--opt-schedule", action="store_true",
                   help="after registering, send an opt-out availability schedule (oadrCreateOpt), then cancel it")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)

    def log(**item: object) -> None:
        with open(args.log, "a") as out:
            out.write(json.dumps(item, default=str) + "\n")

    client = OpenADRClient(ven_name=args.name, vtn_url=args.vtn, cert=args.cert, key=args.key, ca_file=args.ca,
                           vtn_fingerprint=args.vtn_fingerprint, allow_jitter=False,
                           disable_signature=args.cert is None)
    counter = {"n": 0}

    async def on_event(event: dict[str, Any]) -> str:
        signal = event["event_signals"][0]
        log(kind="event", event_id=event["event_descriptor"]["event_id"],
            modification_number=event["event_descriptor"]["modification_number"],
            status=event["event_descriptor"]["event_status"], signal=signal["signal_name"],
            values=[i["signal_payload"] for i in signal["intervals"]])
        return str(args.opt)

    async def on_update_event(event: dict[str, Any]) -> str:
        return await on_event(event)

    def power() -> float:
        counter["n"] += 1
        value = 1000.0 + counter["n"]
        log(kind="report", value=value)
        return value

    client.add_handler("on_event", on_event)
    client.add_handler("on_update_event", on_update_event)
    client.add_report(callback=power, resource_id="meter-1", measurement=enums.MEASUREMENTS.POWER_REAL,
                      sampling_rate=timedelta(seconds=2), unit="W")

    async def run() -> None:
        await client.run()
        if args.poll_seconds:
            client.poll_frequency = timedelta(seconds=args.poll_seconds)
        log(kind="registered", ven_id=client.ven_id, registration_id=client.registration_id)
        if args.opt_schedule:
            start = datetime.now(UTC) + timedelta(hours=1)
            availability = objects.VavailabilityComponent(dtstart=start, duration=timedelta(hours=2))
            opt_id = await client.create_opt("optOut", "mustRun", targets=[objects.Target(ven_id=client.ven_id)],
                                             vavailability=objects.Vavailability(components=[availability]))
            log(kind="opt_created", opt_id=opt_id)
            if opt_id:
                log(kind="opt_cancelled", opt_id=opt_id, ok=await client.cancel_opt(opt_id))
        if args.seconds:
            await asyncio.sleep(args.seconds)
        else:
            while True:
                await asyncio.sleep(3600)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with contextlib.suppress(KeyboardInterrupt):
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
