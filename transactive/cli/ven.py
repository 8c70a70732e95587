"""``transactive ven``: run a reference VEN (a device personality trading on a VTN over HTTP, or taking part
in an OpenADR 2.0b VTN's events with ``--protocol openadr``, or in an OpenADR 3.1 VTN's PRICE events with
``--protocol openadr3``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from transactive.cli._io import party_name, usage
from transactive.cli._ven_common import (
    CTS_ONLY,
    fail,
    grid_band,
    health_clock,
    market_clock,
    parse_time,
    say,
    stop_on_signals,
    tls_context,
    vtn_health,
)

if TYPE_CHECKING:
    from transactive.market import ReservePrices

__all__ = ["add_parser", "run"]

_EPILOG = """\
commands:
  run         register with a VTN and trade every market interval for one device personality

examples:
  transactive ven run --vtn http://127.0.0.1:8080 --party pv-1 --personality pv --capacity-kw 5
  transactive ven run --vtn http://127.0.0.1:8080 --party home-1 --personality load --strategy zic
  transactive ven run --protocol openadr --vtn http://127.0.0.1:8080 --party bat-1 --personality battery
  transactive ven run --protocol openadr3 --vtn http://127.0.0.1:8080 --client-id ID --client-secret SECRET \\
      --personality pv

exit codes: 0 success, 1 the VTN refused or was lost during the run, 2 usage error or VTN unreachable.
"""

_RUN_EPILOG = """\
Each market interval the VEN forecasts its energy, prices it with the strategy, tenders before the gate
closes, books the transactions it is notified of, and after the interval reports its metered delivery
(which the VTN settles); one line per interval is printed. The VTN's market time and context are read from
its GET /health (an accelerated VTN, --interval-seconds, is followed). If the VTN goes away during the run
(a restart), the VEN retries with backoff and jitter and carries on its market day: tenders until their gate
closes, deliveries until they are reported.

Identity: the VEN registers with a key it keeps in --state-dir (party.key, created on the first run), so
the VTN binds the party id to that key and a restarted VEN is the same party (another key cannot take the
id). It accepts only notices signed by the VTN's key: the one pinned with --vtn-key, else the one the
market published at the first run (kept in vtn-key.txt; a VTN that later shows another key is refused
until that file is removed).

personalities:
  pv        sells its forecast surplus (clear-sky curve x weather); limit: the grid's price for exports
  load      buys its forecast need (household profile); limit: the grid's retail price
  battery   buys low and sells high within its state of charge and power; limits from its price history
strategies (bid relative to the limit):
  fixed     the middle of the price band, clipped to the limit
  zic       zero-intelligence constrained: uniform between the band's edge and the limit
  aa        adaptive aggressiveness around the last clearing price
The price band is the market's grid prices when it publishes them, else --grid-prices, else its
[min price, max price].

HTTPS: an https:// VTN's certificate is checked against --tls-ca FILE (default: the system's trusted CAs),
its dates and the host name in the URL; --tls-cert FILE --tls-key FILE present this VEN's certificate to a
VTN that requires one (vtn serve --tls-ca). A failed handshake is exit 2 with the reason.

OpenADR 2.0b (--protocol openadr): the VEN registers with an OpenADR 2.0b VTN (simple HTTP, pull), offers a
TELEMETRY_USAGE report (its power in W, from the personality's model) and sends it as the VTN asks, requests
its events and polls every --poll-seconds (default: the frequency the VTN requests), answering each new or
modified event (oadrCreatedEvent, when the VTN wants an answer): a battery follows ELECTRICITY_PRICE (charges
in the cheap third of the event's prices, discharges in the dear third) and SIMPLE/LOAD_DISPATCH within its
power; a load sheds on SIMPLE levels and on LOAD_DISPATCH within half its demand; PV opts in to price events
and out of dispatch it cannot follow. Cancelled and completed events are dropped. One line per event and
registration is printed (--record PATH: one JSON line per event answer, dropped event and power reading).
The venID and registrationID are kept in --state-dir (openadr.json), so a restarted VEN re-registers as
itself. An unreachable VTN is retried with backoff, one line per attempt, until stopped. --vtn-fingerprint FP
is the OpenADR fingerprint (transactive certs create prints it) the https:// VTN's certificate must have.
--sign-cert FILE --sign-key FILE sign every message (XML signature); they need transactive's OpenADR signing
module (transactive.protocol.oadr_sign). --strategy, --intervals, --start, --sim-start, --grid-prices,
--wire, --market and --vtn-key are for --protocol cts only.

OpenADR 3.1 (--protocol openadr3): --vtn is the VTN's URL (its API is then under /openadr3/3.1.0) or the full
base URL of an OpenADR 3 API (any URL with a path). The VEN gets a token with --client-id and --client-secret
(OAuth 2 client credentials; --client-secret @FILE reads it from FILE; the operator makes them with
transactive vtn client create --role ven), finds or creates its ven (venName: --party, else the client id)
and a resource (VENNAME-PERSONALITY), and every --poll-seconds (default 10) reads the active events of the
programs it sees. Each PRICE interval is decided once before it ends: PV produces, or curtails below the
export price (--grid-prices BUY,SELL: SELL; else 0); a load consumes, or sheds half its demand when the price
is dear (above BUY; else in the dearest third of the prices seen); a battery charges at or below its buy limit
and discharges at or above its sell limit (limits from its price history). When an interval has passed, the
VEN reports its metered usage (payload USAGE, units KWH, + import / - export) in one report per event,
created and then updated. One line per decision and report (--record PATH: one JSON line each). It stops on
Ctrl-C/SIGTERM or after --duration S seconds; an unreachable VTN during the run is retried.
--state-dir and the cts and openadr flags above do not apply.

examples:
  transactive ven run --vtn http://127.0.0.1:8080 --party pv-1 --personality pv --capacity-kw 5
  transactive ven run --vtn http://127.0.0.1:8080 --party bat-1 --personality battery --strategy aa \\
      --intervals 96 --record bat-1.jsonl
  transactive ven run --vtn https://127.0.0.1:8443 --party pv-1 --personality pv --tls-ca certs/ca.crt \\
      --tls-cert certs/pv-1.crt --tls-key certs/pv-1.key
  transactive ven run --protocol openadr --vtn http://127.0.0.1:8080 --party bat-1 --personality battery
  transactive ven run --protocol openadr --vtn https://127.0.0.1:8443 --party home-1 --personality load \\
      --tls-ca certs/ca.crt --tls-cert certs/home-1.crt --tls-key certs/home-1.key \\
      --vtn-fingerprint 3B:9A:...:C4 --poll-seconds 5
  transactive ven run --protocol openadr3 --vtn https://127.0.0.1:8443 --client-id 6f1c... \\
      --client-secret @ven-1.secret --party ven-1 --personality battery --tls-ca certs/ca.crt --poll-seconds 5

exit codes: 0 success (after --intervals, or stopped by Ctrl-C/SIGTERM), 1 the VTN refused a request or was
lost (OpenADR: refused or cancelled the registration, or its signatures do not verify),
2 usage error (a TLS file missing or unusable, too; a failed TLS handshake, OpenADR: also a VTN certificate
that does not have --vtn-fingerprint), or the VTN unreachable at start
(CTS and OpenADR 3.1; an OpenADR 2.0b VEN keeps retrying). OpenADR 3.1: credentials the VTN refuses are
exit 2 too.
"""


def add_parser(sub: Any) -> None:
    from transactive.cli._personality import add_personalities_parser, add_personality_flags
    from transactive.ven.personalities import personality_names
    from transactive.ven.pricing import STRATEGIES

    p = sub.add_parser("ven", help="run a reference VEN (device personality) against a VTN",
                       description="The reference VEN.", epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="ven_command", metavar="COMMAND")
    r = group.add_parser("run", help="trade every market interval for one device personality",
                         description="Register with the VTN at URL and trade every market interval as PARTY.",
                         epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--vtn", default=None, metavar="URL",
                   help="the VTN's base URL, e.g. http://127.0.0.1:8080 (required unless --discover)")
    r.add_argument("--discover", action="store_true",
                   help="find the VTN over DNS-SD (a 'vtn serve --announce' on this network; --market picks one "
                        "of several by instance name or market context) instead of --vtn")
    r.add_argument("--discover-timeout", type=float, default=3.0, metavar="S",
                   help="how long --discover listens (3 s)")
    r.add_argument("--discover-interface", action="append", default=None, metavar="ADDR",
                   help="listen for --discover on the interface with this address only (repeatable; default: all)")
    r.add_argument("--party", default=None, type=party_name, metavar="NAME",
                   help="this VEN's party id (required but with --protocol openadr3: its venName, default the "
                        "client id)")
    r.add_argument("--personality", default=None, choices=personality_names(), metavar="NAME",
                   help="the device it models: " + ", ".join(personality_names())
                   + " (required unless --config names it; see 'transactive ven personalities')")
    r.add_argument("--capacity-kw", type=float, default=None, metavar="X",
                   help="the device's power: PV or load peak, battery, heater or charger power (kW; default per "
                        "personality)")
    r.add_argument("--strategy", choices=sorted(STRATEGIES), default="fixed", help="bidding strategy (fixed)")
    r.add_argument("--seed", type=int, default=0, help="seed of the forecasts, meter noise and ZI-C bids (0)")
    r.add_argument("--intervals", type=int, default=None, metavar="N", help="stop after N intervals (run forever)")
    r.add_argument("--start", default=None, metavar="ISO",
                   help="the first market interval to trade (default: the next one open)")
    r.add_argument("--sim-start", default=None, metavar="ISO",
                   help="the personality's time of the first interval (default: market time)")
    r.add_argument("--grid-prices", default=None, metavar="BUY,SELL",
                   help="the grid's retail and export prices, when the market does not publish them")
    r.add_argument("--wire", choices=("json", "xml"), default="json", help="wire format (json)")
    r.add_argument("--market", default=None, metavar="URI",
                   help="the market context (default: the VTN's); with --discover, which market to join")
    r.add_argument("--record", default=None, metavar="PATH", help="append one JSON line per interval to PATH")
    r.add_argument("--state-dir", default=None, metavar="DIR",
                   help="where the VEN keeps its key and the VTN's (default: $XDG_STATE_HOME or ~/.local/state, "
                        "then transactive/ven/PARTY): a restarted VEN is the same party")
    r.add_argument("--vtn-key", default=None, metavar="KEY",
                   help="the VTN's notice-signing key (ed25519:...), pinned; default: the one the market publishes "
                        "at the first run, kept in the state directory and required from then on")
    r.add_argument("--quiet", action="store_true", help="no line per interval")
    r.add_argument("--tls-ca", type=Path, metavar="FILE", help="trust an https:// VTN by the CAs in FILE")
    r.add_argument("--tls-cert", type=Path, metavar="FILE", help="this VEN's client certificate (PEM)")
    r.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key (PEM)")
    r.add_argument("--protocol", choices=("cts", "openadr", "openadr3"), default="cts",
                   help="cts: trade on a transactive VTN (default); openadr: an OpenADR 2.0b VEN; openadr3: an "
                        "OpenADR 3.1 VEN")
    r.add_argument("--poll-seconds", type=float, default=None, metavar="S",
                   help="openadr: poll every S seconds (default: as the VTN requests); openadr3: read events every "
                        "S seconds (10)")
    r.add_argument("--vtn-fingerprint", default=None, metavar="FP",
                   help="openadr: the OpenADR fingerprint the VTN's TLS certificate (and signatures) must have")
    r.add_argument("--sign-cert", type=Path, default=None, metavar="FILE",
                   help="openadr: sign every message with this certificate (needs transactive.protocol.oadr_sign)")
    r.add_argument("--sign-key", type=Path, default=None, metavar="FILE", help="openadr: the signing key (PEM)")
    r.add_argument("--client-id", default=None, metavar="ID", help="openadr3: this VEN's OAuth 2 client id")
    r.add_argument("--client-secret", default=None, metavar="SECRET",
                   help="openadr3: its client secret, or @FILE to read it from FILE")
    r.add_argument("--duration", type=float, default=None, metavar="S", help="openadr3: stop after S seconds")
    add_personality_flags(r)
    r.set_defaults(run=run)
    add_personalities_parser(group)


def run(args: argparse.Namespace) -> int:
    from transactive.cli._personality import personality_from_args

    try:
        device = personality_from_args(args)
    except ValueError as error:
        return fail(str(error), 2)
    if (code := _find_vtn(args)) is not None:
        return code
    if args.protocol == "openadr3":
        from transactive.cli._ven_openadr3 import run_openadr3

        return run_openadr3(args, device)
    for flag in _OPENADR3_ONLY:
        if getattr(args, flag) is not None:
            return fail(f"--{flag.replace('_', '-')} is for --protocol openadr3", 2)
    if args.party is None:
        return fail("--party NAME is required (but with --protocol openadr3)", 2)
    if args.protocol == "openadr":
        return _run_openadr(args, device)
    for flag in ("poll_seconds", "vtn_fingerprint", "sign_cert", "sign_key"):
        if getattr(args, flag) is not None:
            return fail(f"--{flag.replace('_', '-')} is for --protocol openadr", 2)
    try:
        start, sim_start = parse_time(args.start, "--start"), parse_time(args.sim_start, "--sim-start")
        grid = grid_band(args.grid_prices)
        if args.intervals is not None and args.intervals < 1:
            raise ValueError("--intervals must be at least 1")
        tls = tls_context(args)
    except ValueError as error:  # CertificateError too: it names the file
        return fail(str(error), 2)
    try:
        return asyncio.run(_main(args, device, start, sim_start, grid, tls))
    except KeyboardInterrupt:  # pragma: no cover (the signal handler normally stops first)
        return 0


def _find_vtn(args: argparse.Namespace) -> int | None:
    """``--vtn URL`` or ``--discover``: sets ``args.vtn`` (and, discovered, ``args.market``); an exit code when
    neither can give one VTN (2: usage, 1: discovery found none or several)."""
    if not args.discover:
        if args.discover_interface:
            return fail("--discover-interface is for --discover", 2)
        return None if args.vtn else fail("--vtn URL is required (or --discover to find the VTN)", 2)
    if args.vtn:
        return fail("--vtn and --discover: give one", 2)
    if not args.discover_timeout > 0:
        return fail("--discover-timeout must be positive", 2)
    from transactive.protocol.discovery import DiscoveryError, discover_vtn

    try:
        market = discover_vtn(args.discover_timeout, args.market, interfaces=args.discover_interface)
    except DiscoveryError as error:
        return fail(f"--discover: {error}", 1)
    args.vtn = market.openadr3_url or market.url if args.protocol == "openadr3" else market.url
    # --market chose the market; the CTS VEN trades in its context, the OpenADR VENs have none to give
    args.market = market.market_context if args.protocol == "cts" else None
    if not args.quiet:
        print(f"discovered {market.name!r}: {args.vtn} ({market.market_context or 'no market context'})", flush=True)
    return None


async def _main(args: argparse.Namespace, personality: Any, start: datetime | None, sim_start: datetime | None,
                grid: ReservePrices | None, tls: ssl.SSLContext | None = None) -> int:
    from transactive.errors import ProtocolError
    from transactive.protocol import ForgedNoticeError
    from transactive.protocol.errors import RequestRefusedError
    from transactive.transport.base import ConnectionFailedError, TransportError
    from transactive.transport.http import HttpTransport
    from transactive.ven.client import VenClient
    from transactive.ven.pricing import create_pricing
    from transactive.ven.runtime import TimeMap, VenRuntime
    from transactive.ven.state import VTN_KEY_FILE, VenState, default_state_dir

    try:
        state = VenState.open(Path(args.state_dir) if args.state_dir else default_state_dir(args.party))
    except (OSError, ValueError) as error:
        return fail(f"--state-dir: {error}", 2)
    try:
        health = await vtn_health(args.vtn, tls)
    except ConnectionError as error:
        return fail(f"cannot reach the VTN at {args.vtn} ({error})", 2)
    clock, speed = health_clock(health)
    market = args.market or (health or {}).get("market")
    stop = stop_on_signals()

    out: TextIO | None = open(args.record, "a", encoding="utf-8") if args.record else None  # noqa: SIM115
    transport = HttpTransport(args.vtn, wire=args.wire, tls=tls)

    def record(rec: Any) -> None:
        if out is not None:
            out.write(json.dumps(rec.as_dict()) + "\n")
            out.flush()

    pinned = args.vtn_key or state.vtn_key
    try:
        client = VenClient(transport, args.party, identity=state.identity, vtn_key=pinned)
    except ProtocolError as error:
        return fail(f"--vtn-key {args.vtn_key!r}: {error.message}", 2)
    runtime = VenRuntime(client, personality, create_pricing(args.strategy, seed=args.seed),
                         clock, market_context=market, log=None if args.quiet else say, record=record,
                         speed=speed)
    try:
        try:
            config = await runtime.start()
        except ConnectionFailedError as error:
            return fail(f"cannot reach the VTN at {args.vtn} ({error})", 2)
        except ForgedNoticeError:
            return fail(f"the VTN at {args.vtn} now signs its notices with another key than the one "
                         f"{'pinned with --vtn-key' if args.vtn_key else f'kept in {state.directory / VTN_KEY_FILE}'}"
                         "; if the VTN's key really changed, remove that file (or give the new --vtn-key)", 1)
        if pinned is None and config.signing_key is not None:
            state.remember_vtn_key(config.signing_key)
        if grid is not None and config.reserve is None:
            runtime.band = grid
        first = start or runtime.config.next_open_interval(clock())
        if sim_start is not None:
            runtime.time_map = TimeMap(first, config.interval, sim_start, config.interval)
        if not args.quiet:
            say(f"{args.party}: {personality.describe()}, strategy {args.strategy}, market {config.market_context}"
                f" ({config.interval} intervals, gate {config.gate_closure} before), first {first.isoformat()}")
        await runtime.run(intervals=args.intervals, first=first if start or sim_start else None, stop=stop)
    except RequestRefusedError as error:
        return fail(f"the VTN refused: {error} (code {error.response_code})", 1)
    except TransportError as error:
        return fail(f"lost the VTN at {args.vtn} ({error})", 1)
    finally:
        await runtime.close()
        await transport.close()
        if out is not None:
            out.close()
    return 0


# ---- --protocol openadr --------------------------------------------------------------------------------

#: the module that signs and verifies OpenADR 2.0b documents (XML signatures)
_SIGNING_MODULE = "transactive.protocol.oadr_sign"


def _openadr_signing(args: argparse.Namespace) -> tuple[Any, Any]:
    """The signer and verifier --sign-cert/--sign-key ask for ((None, None) without them); ValueError naming the
    flag when they cannot be used."""
    import importlib
    import importlib.util

    if args.sign_cert is None and args.sign_key is None:
        return None, None
    if args.sign_cert is None or args.sign_key is None:
        raise ValueError("--sign-cert and --sign-key go together")
    if importlib.util.find_spec(_SIGNING_MODULE) is None:
        raise ValueError(f"--sign-cert: XML signing needs {_SIGNING_MODULE}, which this installation does not have")
    module = importlib.import_module(_SIGNING_MODULE)
    try:
        cert, key = args.sign_cert.read_bytes(), args.sign_key.read_bytes()
        signer = module.OadrSigner(cert, key)
        verifier = module.OadrVerifier() if args.vtn_fingerprint else None
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"--sign-cert {args.sign_cert}: {error}") from None
    return signer, verifier


def _openadr_logging(quiet: bool) -> None:
    """Progress lines (INFO) on stdout unless --quiet; warnings and errors on stderr."""
    import logging

    log = logging.getLogger("transactive.ven.oadr")
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
    errors = logging.StreamHandler(sys.stderr)
    errors.setLevel(logging.WARNING)
    errors.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(errors)
    if not quiet:
        progress = logging.StreamHandler(sys.stdout)
        progress.setLevel(logging.INFO)
        progress.addFilter(lambda record: record.levelno < logging.WARNING)
        progress.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(progress)


def _run_openadr(args: argparse.Namespace, device: Any) -> int:
    """``ven run --protocol openadr``: check the flags (exit 2, naming the flag), then run the VEN."""
    from transactive.ven.oadr.state import OadrRegistrationState
    from transactive.ven.state import default_state_dir

    for flag, default in CTS_ONLY.items():
        if getattr(args, flag) != default:
            return fail(f"--{flag.replace('_', '-')} is for --protocol cts", 2)
    try:
        if args.poll_seconds is not None and not args.poll_seconds > 0:
            raise ValueError("--poll-seconds must be positive")
        if not args.vtn.lower().startswith(("http://", "https://")):
            raise ValueError(f"--vtn: expected an http:// or https:// URL, not {args.vtn!r}")
        if args.vtn_fingerprint is not None and not args.vtn.lower().startswith("https://") \
                and args.sign_cert is None:
            raise ValueError("--vtn-fingerprint is checked on an https:// VTN's certificate (or with --sign-cert)")
        tls = tls_context(args)
        signer, verifier = _openadr_signing(args)
    except ValueError as error:  # CertificateError too: it names the file
        return fail(str(error), 2)
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir(args.party)
    try:
        OadrRegistrationState.load(state_dir, args.vtn, args.party)
    except ValueError as error:
        return fail(f"--state-dir: {error}", 2)
    _openadr_logging(args.quiet)
    try:
        return asyncio.run(_openadr_main(args, device, state_dir, tls, signer, verifier))
    except KeyboardInterrupt:  # pragma: no cover (the signal handler normally stops first)
        return 0


async def _openadr_main(args: argparse.Namespace, personality: Any, state_dir: Path, tls: ssl.SSLContext | None,
                        signer: Any, verifier: Any) -> int:
    from transactive.errors import ProtocolError
    from transactive.protocol.errors import ForgedNoticeError, RequestRefusedError
    from transactive.transport.base import ConnectionFailedError, TransportError
    from transactive.ven.oadr.behaviour import TELEMETRY_SAMPLING, OadrBehaviour
    from transactive.ven.oadr.client import OadrVenClient
    from transactive.ven.oadr.events import ReceivedEvent

    out: TextIO | None = open(args.record, "a", encoding="utf-8") if args.record else None  # noqa: SIM115

    clock = await market_clock(args.vtn, tls)

    def record(kind: str, **fields: Any) -> None:
        if out is not None:
            out.write(json.dumps({"kind": kind, "at": datetime.now(UTC).isoformat(),
                                  "market_time": clock().isoformat(), **fields}) + "\n")
            out.flush()

    behaviour = OadrBehaviour(personality, clock=clock)
    try:
        client = OadrVenClient(args.vtn, args.party, ssl=tls, signer=signer, verifier=verifier,
                               vtn_fingerprint=args.vtn_fingerprint, poll_seconds=args.poll_seconds,
                               state_dir=state_dir)
    except ValueError as error:
        return fail(str(error), 2)

    def decide(event: ReceivedEvent) -> Any:
        opt = behaviour.decide(event)
        record("event", event_id=event.event_id, modification_number=event.modification_number,
               status=event.status.value, opt=opt.value, update=event.is_update,
               signals=[s.signal_name for s in event.signals])
        return opt

    def ended(event: ReceivedEvent) -> None:
        behaviour.ended(event)
        record("dropped", event_id=event.event_id, modification_number=event.modification_number,
               status=event.status.value)

    def power() -> float:
        value = behaviour.power_w()
        record("power", power_w=value)
        return value

    client.on_event(decide)
    client.on_event_end(ended)
    client.add_report(power, f"{args.party}-{personality.name}", "power", sampling_rate=TELEMETRY_SAMPLING)

    stop = stop_on_signals()
    if not args.quiet:
        say(f"{args.party}: {personality.describe()}, OpenADR 2.0b VEN of {args.vtn}")
    try:
        await client.run(stop)
        if not stop.is_set():
            return fail(f"the VTN at {args.vtn} cancelled this VEN's registration", 1)
    except ConnectionFailedError as error:  # only a failed TLS handshake ends the run: the rest is retried
        return fail(f"cannot reach the VTN at {args.vtn} ({error})", 2)
    except ForgedNoticeError as error:
        return fail(f"the VTN at {args.vtn} is not the one expected: {error.message}", 1)
    except RequestRefusedError as error:
        return fail(f"the VTN refused: {error.message} (code {error.response_code})", 1)
    except (TransportError, ProtocolError) as error:
        return fail(f"lost the VTN at {args.vtn} ({error})", 1)
    finally:
        await client.close()
        if out is not None:
            out.close()
    return 0


# ---- --protocol openadr3 (transactive.cli._ven_openadr3) ----------------------------------------------

#: the flags only an OpenADR 3.1 VEN reads
_OPENADR3_ONLY = ("client_id", "client_secret", "duration")
