"""An openleadr 0.5.36 VTN for the VEN interop tests (run inside .venv-openleadr).

    .venv-openleadr/bin/python interop/openleadr_peer/vtn_server.py WORKDIR [--port N] [--poll-seconds S]
        [--report-seconds S] [--tls-cert F --tls-key F --tls-ca F] [--ven-fingerprint NAME=FP ...]
        [--sign-cert F --sign-key F] [--verify-signatures]

Starts openleadr's ``OpenADRServer`` on 127.0.0.1 (``--port 0``: a free port) with handlers that:

* accept every VEN (``on_create_party_registration``): venID ``ven-id-<venName>``, or the venID and
  registrationID the VEN re-registers with;
* ask for every ``TELEMETRY_USAGE`` data point a VEN offers (``on_register_report``), sampled and reported
  every ``--report-seconds``, and record the values received;
* record each VEN's opt answers (the event's callback: openleadr's internal queue calls it for
  ``oadrCreatedEvent``, the role ``on_created_event`` plays with an external queue).

With ``--tls-*`` it serves HTTPS and requires client certificates; ``--ven-fingerprint`` gives the OpenADR
fingerprint each VEN name's certificate must have (openleadr's ``fingerprint_lookup``, by venID).
``--sign-cert``/``--sign-key``: openleadr signs every reply (XML signature) with that certificate.
``--verify-signatures`` (with ``--tls-*``): openleadr checks the XML signature of every message that names a
venID, and that it was made with the certificate ``--ven-fingerprint`` gives for that VEN
(``verify_message_signatures``; off by default).

It writes to WORKDIR:

* ``ready.json`` — ``{"url": ...}`` once it listens;
* ``log.jsonl`` — one JSON object per thing that happened: ``{"kind": "message", "type": ..., ...}`` for every
  message openleadr handled (its parsed payload, trimmed), ``registration``, ``opt``, ``report`` (values),
  ``event`` (added, modified, cancelled);
* ``received/NNNN-<type>.xml`` — every document the VEN sent, as received (for the schema check).

Events are driven by command files the test drops into ``WORKDIR/control/`` (each run once, in name order)::

    {"op": "add", "ven_id": ..., "event_id": ..., "signal_name": "ELECTRICITY_PRICE", "signal_type": "price",
     "values": [0.1, 0.4], "interval_seconds": 60, "start_in_seconds": 30}
    {"op": "modify", "ven_id": ..., "event_id": ..., "values": [...]}
    {"op": "cancel", "ven_id": ..., "event_id": ...}

This script is only ever run by the openleadr virtual environment's interpreter; transactive does not import it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-not-found, unused-ignore]
from openleadr import OpenADRServer, hooks, objects, utils  # type: ignore[import-not-found, unused-ignore]

MARKET = "oadr://transactive.test/interop"


class Peer:
    """The VTN, its records and its command handling."""

    def __init__(self, workdir: Path, report_seconds: float, fingerprints: dict[str, str]) -> None:
        self.workdir = workdir
        self.report_seconds = report_seconds
        self.fingerprints = fingerprints
        self.received = workdir / "received"
        self.control = workdir / "control"
        self.received.mkdir(parents=True, exist_ok=True)
        self.control.mkdir(parents=True, exist_ok=True)
        self.documents = 0
        self.done: set[str] = set()
        self.server: Any = None
        self.registrations = 0

    def log(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"kind": kind, "at": datetime.now(UTC).isoformat(), **fields}, default=str, sort_keys=True)
        with (self.workdir / "log.jsonl").open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    # -- openleadr hooks and handlers ----------------------------------------------------------------------

    async def before_parse(self, content: bytes | str) -> None:
        data = content.encode() if isinstance(content, str) else content
        self.documents += 1
        try:
            signed = etree.fromstring(data).find("{http://openadr.org/oadr-2.0b/2012/07}oadrSignedObject")
            kind = etree.QName(signed[0]).localname if signed is not None and len(signed) else "unknown"
        except etree.XMLSyntaxError:
            kind = "not-xml"
        (self.received / f"{self.documents:04d}-{kind}.xml").write_bytes(data)

    async def before_handle(self, message_type: str, payload: dict[str, Any]) -> None:
        names = ("ven_id", "ven_name", "registration_id", "request_id", "event_responses", "pending_reports",
                 "opt_type", "http_pull_model", "xml_signature")
        keep: dict[str, Any] = {k: payload.get(k) for k in names if k in payload}
        if message_type == "oadrUpdateReport":
            keep["reports"] = [{"report_request_id": r.get("report_request_id"), "report_name": r.get("report_name"),
                                "intervals": len(r.get("intervals") or [])} for r in payload.get("reports") or []]
        if message_type == "oadrRegisterReport":
            keep["reports"] = [{"report_name": r.get("report_name"),
                                "report_specifier_id": r.get("report_specifier_id"),
                                "r_ids": [d.get("r_id") for d in r.get("report_descriptions") or []]}
                               for r in payload.get("reports") or []]
        self.log("message", type=message_type, **keep)

    def on_create_party_registration(self, payload: dict[str, Any]) -> tuple[str, str]:
        self.registrations += 1
        name = payload.get("ven_name") or "unnamed"
        ven_id = payload.get("ven_id") or f"ven-id-{name}"
        registration_id = payload.get("registration_id") or f"reg-{name}-{self.registrations}"
        self.log("registration", ven_name=name, ven_id=ven_id, registration_id=registration_id,
                 fingerprint=payload.get("fingerprint"), again=bool(payload.get("registration_id")))
        return ven_id, registration_id

    def on_cancel_party_registration(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.log("cancel_registration", ven_id=payload.get("ven_id"), registration_id=payload.get("registration_id"))
        return "oadrCanceledPartyRegistration", {"registration_id": payload.get("registration_id"),
                                                  "ven_id": payload.get("ven_id")}

    def fingerprint_lookup(self, ven_id: str) -> str | None:
        return self.fingerprints.get((ven_id or "").removeprefix("ven-id-"))

    async def on_register_report(self, ven_id: str, resource_id: str, measurement: str, unit: str, scale: str,
                                 min_sampling_interval: timedelta,
                                 max_sampling_interval: timedelta) -> tuple[Any, timedelta, timedelta]:
        wanted = timedelta(seconds=self.report_seconds)
        sampling = min(max(wanted, min_sampling_interval), max_sampling_interval)
        self.log("report_registered", ven_id=ven_id, resource_id=resource_id, measurement=measurement, unit=unit,
                 sampling=sampling.total_seconds())

        def received(values: list[tuple[datetime, float]]) -> None:
            self.log("report", ven_id=ven_id, resource_id=resource_id, measurement=measurement, unit=unit,
                     values=[[when, value] for when, value in values])

        return received, sampling, sampling

    def opt_callback(self, event_id: str) -> Any:
        def callback(ven_id: str, event_id: str, opt_type: str) -> None:
            self.log("opt", ven_id=ven_id, event_id=event_id, opt_type=opt_type)
            event = self.find(ven_id, event_id)
            if event is not None:  # openleadr forgets a callback once called: keep hearing the later answers
                self.server.event_callbacks[event_id] = (event, callback)

        return callback

    # -- commands --------------------------------------------------------------------------------------

    def find(self, ven_id: str, event_id: str) -> Any:
        return utils.find_by(self.server.events.get(ven_id, []), "event_descriptor.event_id", event_id)

    def run_command(self, command: dict[str, Any]) -> None:
        op, ven_id, event_id = command["op"], command["ven_id"], command["event_id"]
        if op == "add":
            step = timedelta(seconds=float(command.get("interval_seconds", 60)))
            start = datetime.now(UTC) + timedelta(seconds=float(command.get("start_in_seconds", 30)))
            intervals = [objects.Interval(dtstart=start + i * step, duration=step, signal_payload=float(v), uid=i)
                         for i, v in enumerate(command["values"])]
            self.server.add_event(ven_id=ven_id, event_id=event_id, signal_name=command["signal_name"],
                                  signal_type=command["signal_type"], intervals=intervals, market_context=MARKET,
                                  callback=self.opt_callback(event_id),
                                  response_required=command.get("response_required", "always"))
            self.log("event", op="add", ven_id=ven_id, event_id=event_id, modification_number=0)
            return
        event = self.find(ven_id, event_id)
        if event is None:
            self.log("event", op=op, ven_id=ven_id, event_id=event_id, error="no such event")
            return
        if op == "modify":
            for interval, value in zip(event.event_signals[0].intervals, command["values"], strict=False):
                interval.signal_payload = float(value)
            number = utils.increment_event_modification_number(event)
            event.event_descriptor.modification_date_time = datetime.now(UTC)
            self.server.event_callbacks[event_id] = (event, self.opt_callback(event_id))
        elif op == "cancel":
            self.server.cancel_event(ven_id, event_id)
            number = event.event_descriptor.modification_number
        else:
            self.log("event", op=op, error="unknown command")
            return
        self.server.events_updated[ven_id] = True
        self.log("event", op=op, ven_id=ven_id, event_id=event_id, modification_number=number)

    async def watch_commands(self) -> None:
        while True:
            for path in sorted(self.control.glob("*.json")):
                if path.name in self.done:
                    continue
                self.done.add(path.name)
                try:
                    self.run_command(json.loads(path.read_text(encoding="utf-8")))
                except Exception as error:  # report every failure to the test, keep serving
                    self.log("event", op="error", file=path.name, error=f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--report-seconds", type=float, default=1.0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-ca")
    parser.add_argument("--ven-fingerprint", action="append", default=[], metavar="NAME=FP")
    parser.add_argument("--sign-cert")
    parser.add_argument("--sign-key")
    parser.add_argument("--verify-signatures", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    fingerprints = dict(item.split("=", 1) for item in args.ven_fingerprint)
    peer = Peer(args.workdir, args.report_seconds, fingerprints)
    port = args.port or _free_port()
    tls = bool(args.tls_cert)
    server = OpenADRServer(vtn_id="openleadr-vtn", http_port=port, http_host="127.0.0.1",
                           requested_poll_freq=timedelta(seconds=args.poll_seconds),
                           http_cert=args.tls_cert, http_key=args.tls_key, http_ca_file=args.tls_ca,
                           cert=args.sign_cert, key=args.sign_key,
                           fingerprint_lookup=peer.fingerprint_lookup if tls else None,
                           verify_message_signatures=args.verify_signatures, show_fingerprint=False)
    peer.server = server
    server.add_handler("on_create_party_registration", peer.on_create_party_registration)
    server.add_handler("on_cancel_party_registration", peer.on_cancel_party_registration)
    server.add_handler("on_register_report", peer.on_register_report)
    hooks.register("before_parse", peer.before_parse)
    hooks.register("before_handle", peer.before_handle)
    await server.run()
    scheme = "https" if tls else "http"
    (args.workdir / "ready.json").write_text(json.dumps({"url": f"{scheme}://127.0.0.1:{port}"}), encoding="utf-8")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(peer.watch_commands())
    await stop.wait()
    watcher.cancel()
    await server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
