"""``transactive vtn``: run the reference VTN (``vtn serve``) and report on its data directory (``vtn report``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import signal
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from transactive.cli._io import (
    OneLineParser,
    event_loop_problem,
    party_name,
    port_number,
    positive_int,
    reserve_prices,
    run_loop,
    usage,
)
from transactive.cli.oadr import add_event_parser, add_serve_flags, oadr_config
from transactive.cli.openadr3 import add_client_parser, add_deliveries_parser, openadr3_config
from transactive.cli.openadr3 import add_serve_flags as add_openadr3_flags
from transactive.market import DEFAULT_RESERVE

__all__ = ["add_parser", "run"]

_EPILOG = """\
commands:
  serve       run the VTN: the CTS services over HTTP (JSON and XML), gate closure on the market clock,
              settlement on the ledger
  event       the operator's OpenADR 2.0b events on a running VTN: create, modify, cancel, list
  client      the operator's OpenADR 3 clients (OAuth2 client credentials) on a running VTN: create, list, revoke
  deliveries  the OpenADR 3 webhook deliveries waiting or given up (dead letters) on a running VTN
  report      parties, tenders, transactions and traded kWh in a data directory; whether its ledger verifies

examples:
  transactive vtn serve --port 8080 --data-dir /var/lib/vtn
  transactive vtn serve --port 8080 --data-dir /tmp/vtn --interval-seconds 10     a 15-min market in 10-s steps
  transactive vtn serve --port 8443 --data-dir /tmp/vtn --tls-cert certs/vtn-1.crt --tls-key certs/vtn-1.key
  transactive vtn event create --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token \\
      --signal SIMPLE --start now+PT5M --intervals PT15M:1
  transactive vtn report --data-dir /tmp/vtn --json

exit codes: 0 success, 1 the ledger does not verify (report), 2 usage error, no VTN data directory, or a VTN
that refuses to start (one line on standard error says which file or option and what is wrong).
"""

_SERVE_EPILOG = """\
DIR holds vtn.db (the SQLite store: every acknowledged request is durable), ledger.db and ledger.db.key
(the embedded ledger and its writer key), clock.json (the market time line) and vtn.key (the VTN's
identity: it signs every notice; the market rules publish its public half). Restarting on the same DIR
resumes: overdue gates are closed, nothing is cleared or anchored twice. Gates close in interval
order; one that fails (store or ledger unavailable) is retried until it closes, and the log has one line
per closed gate.

Start-up checks, before anything is written: the store (PRAGMA quick_check), its WAL (damaged frames, or
missing after an unclean shutdown), a store missing from a DIR that was used before, the embedded ledger
(missing, its WAL, the signed head, no gap in the sequence, hash and signature of the last 10,000 entries;
'transactive ledger verify' walks the whole chain), and store and ledger agreeing on which transactions
are anchored. A problem stops the start with exit code 2 and one line naming the file and what is wrong;
--read-only starts it anyway for inspection: it answers reads, refuses writes with 503, closes no gate.

Storage faults while running: a write that cannot be stored (disk full, I/O error, database locked) is
answered with HTTP 503 and an EI error (code 503, the description names the store or the ledger); nothing
acknowledged is lost. GET /health answers 503 {"status": "degraded", "faults": {"store": ...}} meanwhile
and recovers by itself once writes succeed again.

Identity: a party registers by signing its eiCreatePartyRegistration (the Signature header) and its id is
bound to that key for good; later requests carry the registration's token (Authorization: Bearer).

Limits (the group below): slow or idle connections are closed, connections beyond the cap get 503, too many
registrations from one address get 429, and requests beyond the market rules (tenders per request, stream
length, horizon) get 454 naming the field.

EVM ledger (--ledger evm --evm-url URL): every transaction is signed by the VTN with the key of the account
it spends from and sent signed (eth_sendRawTransaction); the node needs no unlocked account. The keys are
in DIR/evm-keys/, one encrypted keystore file (Web3 Secret Storage v3, wallets import it) per party and
one for the market, made on first use and reused after a restart (the same party pays from the same
address; DIR/evm-keys/accounts.json lists them). Who moves which money: the market's key writes the
entries and pays the sellers; because this VTN pays on each buyer's behalf, it holds a key for every party
(buyers pay from theirs, sellers are paid into theirs), so whoever holds DIR/evm-keys/ and its password
moves the money in all those accounts -- the node's operator moves none of it. The password:
--evm-password-file FILE (its first line; keep the file outside DIR), or else one generated into
DIR/evm-keys/password (0600), and the keys are then as safe as DIR itself (a warning says so). A missing
or wrong key file stops the VTN naming the file; back DIR/evm-keys/ up. The accounts hold ether only if
someone sends them some: on a development node (anvil), --evm-dev-fund ETH tops every account the VTN uses
up to ETH ether (anvil_setBalance) -- never give it for a real chain, whose node refuses the call.

Market time: by default the wall clock. --interval-seconds S makes one market interval (--interval-minutes,
default 15) last S wall-clock seconds: market time = origin + (wall time - wall origin) x interval / S, the
origins fixed in clock.json when DIR is first used. Gates close --gate-closure-minutes (default 5) of market
time before each interval starts.

Fractal markets: with --parent URL --parent-party NAME this VTN is also party NAME of the parent VTN and
tenders its microgrid's net unmatched position there after each local gate. It runs on the parent's market
time, read from the parent's GET /health at start (waiting up to --parent-wait seconds for it to answer), so
--interval-seconds may be left out. The parent's gates must close after this VTN's: give the parent the
shorter --gate-closure-minutes. With --reserve BUY,SELL the child buys upward at most at BUY and sells at
least at SELL (without it: the ends of its price band).

Discovery (--announce): once it listens, the VTN announces its market over DNS-SD (multicast DNS) as
_transactive._tcp (URL, market context, protocols, interval, currency, signing key) and as OpenADR 3.1's
_openadr3._tcp, and withdraws both when it stops. The URL is --host (--announce-host, required with a wildcard
--host) and the bound port; a VTN on 127.0.0.1 is announced on loopback only. 'transactive discover' lists
the markets it hears (docs/discovery.md). With --workers the supervisor announces once.

OpenADR 2.0b (the group below): the same VTN serves 2.0b VENs under /OpenADR2/Simple/2.0b/ (EiRegisterParty,
EiEvent, EiReport, EiOpt, OadrPoll; pull, or push to a VEN's transport address) on the same store. Every
cleared gate becomes an ELECTRICITY_PRICE event for them. The operator creates, modifies and cancels events
with 'transactive vtn event' and the token in DIR/operator.token (0600). A VEN presenting a certificate (TLS
client or XML signature) is bound to it (463 on another); --ven-fingerprint/--allowed-vens admit only the
listed VENs; --sign-cert/--sign-key sign every reply; --require-signatures refuses unsigned messages (463),
and a signature's nonce is kept in the store, so a replay is refused even after a restart.

API: POST /cts (or /cts/{facet}) with a CTS payload (Content-Type application/json or application/xml;
Accept picks the reply's format), Authorization: Bearer <registration token>; GET /cts/notices?after=SEQ
(long poll); GET /health; GET /openapi.json (the OpenAPI 3.1 document). Prints the URL it listens on;
stops cleanly on SIGTERM or SIGINT.

TLS: --tls-cert FILE --tls-key FILE serve HTTPS (TLS 1.2 or later; the URL printed is https://) with that
certificate, which must name the host clients connect to; --tls-ca FILE also requires every client to
present a certificate signed by a CA in FILE (a client without one fails the handshake). GET /health says
"tls" and "client_certificates". An https:// --parent is checked against --parent-tls-ca FILE (default: the
system's trusted CAs); --parent-tls-cert/--parent-tls-key are this VTN's client certificate there. --mqtt-tls-ca
FILE (and --mqtt-tls-cert/--mqtt-tls-key) connect to the MQTT broker over TLS. A certificate or key that is
missing, unreadable, not PEM or not a pair stops the VTN with exit 2 and one line naming the file.
`transactive certs create` makes a throwaway set for tests and demos.

examples:
  transactive vtn serve --host 127.0.0.1 --port 8080 --data-dir /tmp/vtn
  transactive vtn serve --port 0 --data-dir /tmp/vtn --interval-seconds 5       any free port, 5-s intervals
  transactive vtn serve --port 8080 --data-dir /tmp/vtn --ledger evm --evm-url http://127.0.0.1:8545 \\
      --evm-dev-fund 100                                                        anvil, accounts given ether
  transactive vtn serve --port 8080 --data-dir /var/lib/vtn --ledger evm --evm-url URL \\
      --evm-password-file /etc/transactive/evm-password
  transactive vtn serve --port 8080 --data-dir /tmp/grid --interval-seconds 5 --gate-closure-minutes 1
  transactive vtn serve --port 8081 --data-dir /tmp/feeder --parent http://127.0.0.1:8080 --parent-party feeder-7 \\
      --reserve 0.30,0.05
  transactive vtn serve --port 8080 --data-dir /tmp/vtn --mqtt 127.0.0.1:1883
  transactive vtn serve --port 8080 --data-dir /tmp/vtn --announce --announce-name "campus VTN"
                                                                  announced over DNS-SD: 'transactive discover'
  transactive vtn serve --port 8443 --data-dir /tmp/vtn --tls-cert certs/vtn-1.crt --tls-key certs/vtn-1.key \\
      --tls-ca certs/ca.crt                                   HTTPS; clients need certificates from certs/ca.crt
  transactive vtn serve --port 8081 --data-dir /tmp/feeder --parent https://127.0.0.1:8443 --parent-party feeder-7 \\
      --parent-tls-ca certs/ca.crt --parent-tls-cert certs/feeder-7.crt --parent-tls-key certs/feeder-7.key
  transactive vtn serve --port 8080 --data-dir /tmp/vtn --mqtt 127.0.0.1:8883 --mqtt-tls-ca certs/ca.crt
  transactive vtn serve --port 8443 --data-dir /tmp/vtn --tls-cert certs/vtn-1.crt --tls-key certs/vtn-1.key \\
      --tls-ca certs/ca.crt --sign-cert certs/vtn-1.crt --sign-key certs/vtn-1.key --require-signatures \\
      --ven-fingerprint ven-1=AB:CD:EF:01:23:45:67:89:AB:CD        OpenADR 2.0b over mTLS, signed both ways

exit codes: 0 stopped by SIGTERM or SIGINT, 2 usage error, a certificate or key that cannot be used, or a VTN
that cannot start (port taken, parent unreachable, ...).
"""

_REPORT_EPILOG = """\
output: readable lines; --json prints {"parties", "tenders", "transactions", "traded_kwh", "ledger_entries",
"ledger_valid", ...}. traded_kwh is the energy parties sold through the market.

exit codes: 0 success, 1 the ledger does not verify, 2 DIR holds no VTN store.
"""

_SERVE_EXIT = """
exit codes: 0 stopped by SIGTERM or SIGINT, 2 usage error or a refused start (one line on standard error:
the file or option and what is wrong; bad options, a damaged or inconsistent DIR, a port in use, a parent
VTN, EVM node or MQTT broker that does not answer).
"""


_OneLineParser = OneLineParser  # (the name discover and older code import)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def _ether(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not an amount of ether: {text!r}") from None
    if not (value.is_finite() and value > 0 and value == (value * 10**18).to_integral_value() / 10**18):
        raise argparse.ArgumentTypeError(f"must be a positive amount of ether (at most 18 decimals), not {text!r}")
    return value


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "vtn",
        help="run the reference VTN (serve), its OpenADR 2.0b events (event) and OpenADR 3 clients (client), or report "
             "on its data directory (report)",
        description="The reference VTN: Common Transactive Services over HTTP, a market clock, settlement.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="vtn_command", metavar="COMMAND", parser_class=_OneLineParser)

    s = group.add_parser("serve", help="run the VTN", description="Run the VTN until SIGTERM or SIGINT.",
                         epilog=_SERVE_EPILOG + _SERVE_EXIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=port_number, default=8080, help="port to listen on (0: any free port; default 8080)")
    s.add_argument("--data-dir", required=True, type=Path, metavar="DIR", help="store, ledger and clock")
    s.add_argument("--store", metavar="URL",
                   help="keep the store in PostgreSQL (postgresql://USER@HOST:PORT/DB), shared with every other VTN "
                        "process given the same URL; one of them (the leader) closes the gates and writes the "
                        "ledger (default: SQLite in DIR, this process alone)")
    s.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="run N VTN processes sharing the port (SO_REUSEPORT) and the --store database; needs "
                        "--store (default 1)")
    s.add_argument("--reuse-port", action="store_true",
                   help="share the port with other processes on this machine (SO_REUSEPORT; --workers sets it)")
    s.add_argument("--interval-seconds", type=_positive, metavar="S",
                   help="wall-clock seconds one market interval lasts (default: real time)")
    s.add_argument("--ledger", choices=("embedded", "evm"), default="embedded",
                   help="where transactions are anchored (default embedded: DIR/ledger.db)")
    s.add_argument("--evm-url", metavar="URL", help="JSON-RPC URL of the EVM node (with --ledger evm)")
    s.add_argument("--evm-password-file", type=Path, metavar="FILE",
                   help="the password of the EVM keystore DIR/evm-keys/ (its first line; default: a generated "
                        "one kept in DIR/evm-keys/password)")
    s.add_argument("--evm-dev-fund", type=_ether, metavar="ETH",
                   help="development nodes only (anvil): top every EVM account the VTN uses up to ETH ether "
                        "with anvil_setBalance")
    s.add_argument("--mqtt", type=_host_port, metavar="HOST:PORT", help="also serve over the MQTT broker there")
    s.add_argument("--mqtt-user", metavar="NAME", help="the bridge's login at the broker (with --mqtt-password-file)")
    s.add_argument("--mqtt-password-file", type=Path, metavar="FILE", help="its password: the file's first line")
    s.add_argument("--mqtt-acl", action="store_true",
                   help="keep per-party broker logins and ACLs in Mosquitto's Dynamic Security plugin (the login "
                        "must be the plugin's administrator): each party logs in with its id and registration "
                        "token and reaches only its own topics")
    s.add_argument("--parent", metavar="URL", help="a parent VTN to trade with upstream (fractal markets)")
    s.add_argument("--parent-party", type=party_name, metavar="NAME", help="this VTN's party id at the parent")
    s.add_argument("--parent-wait", type=_positive, default=15.0, metavar="S",
                   help="seconds to wait for the parent to answer at start (default 15)")
    s.add_argument("--market-context", default=None, metavar="URI", help="the market context URI")
    s.add_argument("--market-party", default="market", type=party_name, metavar="NAME", help="the market's party id")
    s.add_argument("--reserve", type=reserve_prices, default=DEFAULT_RESERVE, metavar="BUY,SELL",
                   help="the main grid as reserve: it sells at BUY and buys at SELL per kWh; the market's price "
                        "band is [SELL, BUY], published to the VENs, which price inside it (default 0.30,0.05: a "
                        "typical retail tariff and export rate; 'none': no grid, band [0, 10])")
    s.add_argument("--interval-minutes", type=_positive, default=15.0, help="market interval (default 15)")
    s.add_argument("--gate-closure-minutes", type=_positive, default=5.0,
                   help="tendering closes this long before an interval starts (default 5)")
    s.add_argument("--community-dir", type=Path, action="append", default=[], metavar="DIR",
                   help="show the community aggregator whose data directory is DIR (transactive community run "
                        "--data-dir) on the dashboard: its goal, calls, tokens and ranking; repeat for several "
                        "(DIR may not exist yet: the aggregator makes it)")
    s.add_argument("--read-only", action="store_true",
                   help="start even if the start-up checks find a problem, for inspection: answer reads, refuse "
                        "writes with 503, close no gate, write nothing to DIR")
    lim = s.add_argument_group("limits", "what one client may take (see transactive.vtn.limits)")
    lim.add_argument("--idle-timeout", type=_positive, default=15.0, metavar="S",
                     help="close a connection that has not sent a complete request's headers S seconds after it "
                          "opened or after its previous reply: idle keep-alive and slow headers (default 15)")
    lim.add_argument("--body-timeout", type=_positive, default=30.0, metavar="S",
                     help="a request body must arrive within S seconds of its headers, else 408 (default 30)")
    lim.add_argument("--max-connections", type=positive_int, default=None, metavar="N",
                     help="answer further connections 503 and close them (default: the open file limit, raised "
                          "to its hard limit at start, less 64)")
    lim.add_argument("--registrations-per-minute", type=_positive, default=60.0, metavar="N",
                     help="registrations from one address per minute, bursts of 30; beyond: 429 (default 60)")
    lim.add_argument("--max-tenders", type=positive_int, default=100, metavar="N",
                     help="tenders in one eiCreateTender (market rule, published; default 100)")
    lim.add_argument("--max-stream-intervals", type=positive_int, default=672, metavar="N",
                     help="intervals in one stream tender (market rule; default 672: a week of 15 minutes)")
    lim.add_argument("--horizon-hours", type=_positive, default=168.0, metavar="H",
                     help="how far ahead an interval may be tendered for (market rule; default 168: a week)")
    tls = s.add_argument_group("TLS (see below)")
    tls.add_argument("--tls-cert", type=Path, metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    tls.add_argument("--tls-key", type=Path, metavar="FILE", help="the certificate's private key (PEM)")
    tls.add_argument("--tls-ca", type=Path, metavar="FILE",
                     help="require client certificates signed by a CA in FILE")
    tls.add_argument("--parent-tls-ca", type=Path, metavar="FILE",
                     help="trust an https:// parent by the CAs in FILE (default: the system's)")
    tls.add_argument("--parent-tls-cert", type=Path, metavar="FILE", help="this VTN's client certificate at the parent")
    tls.add_argument("--parent-tls-key", type=Path, metavar="FILE", help="its private key")
    tls.add_argument("--mqtt-tls-ca", type=Path, metavar="FILE",
                     help="connect to the MQTT broker over TLS, trusting the CAs in FILE")
    tls.add_argument("--mqtt-tls-cert", type=Path, metavar="FILE", help="a client certificate for the broker")
    tls.add_argument("--mqtt-tls-key", type=Path, metavar="FILE", help="its private key")
    add_serve_flags(s)
    add_openadr3_flags(s)
    ann = s.add_argument_group("discovery", "announce the market over DNS-SD (mDNS) while serving (docs/discovery.md)")
    ann.add_argument("--announce", action="store_true",
                     help="announce _transactive._tcp and _openadr3._tcp (URL, market context, protocols) once "
                          "listening; withdrawn on stop (needs the discovery extra)")
    ann.add_argument("--announce-name", metavar="NAME",
                     help="the DNS-SD instance name (default: 'HOST transactive VTN PORT')")
    ann.add_argument("--announce-host", metavar="HOST",
                     help="the address or name VENs reach this VTN at (default: --host; required with a wildcard "
                          "--host)")
    s.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    s.add_argument("--event-loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                   help="auto (default): uvloop when installed (extra 'server'), else asyncio's own loop")
    s.set_defaults(run=_serve)

    add_event_parser(group, _OneLineParser)
    add_client_parser(group, _OneLineParser)
    add_deliveries_parser(group, _OneLineParser)

    r = group.add_parser("report", help="what a data directory holds; whether its ledger verifies",
                         description="Report on a VTN data directory.", epilog=_REPORT_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--data-dir", required=True, type=Path, metavar="DIR")
    r.add_argument("--store", metavar="URL",
                   help="the PostgreSQL store the VTN ran with (postgresql://USER@HOST:PORT/DB); DIR still holds "
                        "the ledger")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(run=_report)


def run(args: argparse.Namespace) -> int:
    code: int = args.run(args)
    return code


def _tls_options(args: argparse.Namespace) -> dict[str, Any]:
    """``VtnOptions``' TLS fields from the flags; ``ValueError`` saying which flags do not go together."""
    from transactive.transport.tls import ClientTls, ServerTls

    options: dict[str, Any] = {}
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_ca is not None and args.tls_cert is None:
        raise ValueError("--tls-ca (client certificates) needs --tls-cert and --tls-key (HTTPS)")
    if args.tls_cert is not None:
        options["tls"] = ServerTls(args.tls_cert, args.tls_key, client_ca=args.tls_ca)
    for prefix, needs, ok in (("parent", "an https:// --parent", (args.parent or "").lower().startswith("https://")),
                              ("mqtt", "--mqtt", args.mqtt is not None)):
        ca, cert, key = (getattr(args, f"{prefix}_tls_{part}") for part in ("ca", "cert", "key"))
        if ca is None and cert is None and key is None:
            continue
        if not ok:
            raise ValueError(f"--{prefix}-tls-* need {needs}")
        if (cert is None) != (key is None):
            raise ValueError(f"--{prefix}-tls-cert and --{prefix}-tls-key go together")
        options[f"{prefix}_tls"] = ClientTls(ca, cert, key)
    return options


def _mqtt_login(args: argparse.Namespace) -> tuple[str, str] | None:
    """The bridge's broker login from the flags; ``ValueError`` naming the problem."""
    if (args.mqtt_user is None) != (args.mqtt_password_file is None):
        raise ValueError("--mqtt-user and --mqtt-password-file go together")
    if args.mqtt_acl and args.mqtt_user is None:
        raise ValueError("--mqtt-acl needs the bridge's login (--mqtt-user, --mqtt-password-file)")
    if (args.mqtt_user is not None or args.mqtt_acl) and args.mqtt is None:
        raise ValueError("--mqtt-user, --mqtt-password-file and --mqtt-acl go with --mqtt")
    if args.mqtt_user is None:
        return None
    try:
        lines = args.mqtt_password_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--mqtt-password-file {args.mqtt_password_file}: {error}") from None
    if not lines or not lines[0]:
        raise ValueError(f"--mqtt-password-file {args.mqtt_password_file}: the first line is empty")
    return args.mqtt_user, lines[0]


def _serve(args: argparse.Namespace) -> int:
    from transactive.protocol.certs import CertificateError
    from transactive.services.store import url_for_messages as redacted
    from transactive.vtn.announce import Announcer, from_flags
    from transactive.vtn.app import (
        DEFAULT_MARKET_CONTEXT,
        VtnApp,
        VtnOptions,
        VtnStartError,
        check_store,
        serve,
    )
    from transactive.vtn.limits import Limits
    from transactive.vtn.ui.communities import check_community_dirs

    prog = "transactive vtn serve"
    if args.ledger == "evm" and not args.evm_url:
        print(f"{prog}: --ledger evm needs --evm-url", file=sys.stderr)
        return 2
    if args.ledger != "evm" and (args.evm_password_file is not None or args.evm_dev_fund is not None):
        print(f"{prog}: --evm-password-file and --evm-dev-fund go with --ledger evm", file=sys.stderr)
        return 2
    if (args.parent is None) != (args.parent_party is None):
        print(f"{prog}: --parent and --parent-party go together", file=sys.stderr)
        return 2
    try:
        tls = _tls_options(args)
        mqtt_login = _mqtt_login(args)
        oadr = oadr_config(args)
        openadr3 = openadr3_config(args)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    problem = event_loop_problem(args.event_loop) or _announce_problem(args)
    if problem is not None:
        print(f"{prog}: {problem}", file=sys.stderr)
        return 2
    if args.workers > 1:
        if args.store is None:
            print(f"{prog}: --workers {args.workers} needs --store postgresql://... (SQLite has one writer "
                  "process)", file=sys.stderr)
            return 2
        from transactive.vtn.workers import supervise

        return supervise(args, prog)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = VtnOptions(
            data_dir=args.data_dir, host=args.host, port=args.port, interval_seconds=args.interval_seconds,
            ledger=args.ledger, evm_url=args.evm_url, evm_password_file=args.evm_password_file,
            evm_dev_fund=args.evm_dev_fund, mqtt=args.mqtt, mqtt_login=mqtt_login, mqtt_acl=args.mqtt_acl,
            parent=args.parent,
            parent_party=args.parent_party, market_context=args.market_context or DEFAULT_MARKET_CONTEXT,
            market_party_id=args.market_party, interval=timedelta(minutes=args.interval_minutes),
            gate_closure=timedelta(minutes=args.gate_closure_minutes), parent_wait=args.parent_wait,
            reserve=args.reserve, **tls, read_only=args.read_only,
            limits=Limits(idle_timeout=args.idle_timeout, body_timeout=args.body_timeout,
                          max_connections=args.max_connections,
                          registrations_per_minute=args.registrations_per_minute),
            max_tenders=args.max_tenders, max_stream_intervals=args.max_stream_intervals,
            horizon=timedelta(hours=args.horizon_hours), oadr=oadr, openadr3=openadr3,
            store=args.store, reuse_port=args.reuse_port, community_dirs=tuple(args.community_dir),
        )
        check_community_dirs(options.community_dirs)
        options.market_config()
        check_store(options)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2

    announcer = Announcer() if args.announce else None
    stop_serving = asyncio.Event()

    def ready(vtn: VtnApp) -> None:
        if announcer is not None:
            announcer.begin(from_flags(args, vtn.url.partition(":")[0], vtn.port or 0, vtn.config), stop_serving)
        note = ", client certificates required" if vtn.client_certificates else ""
        mode = ", READ-ONLY" if options.read_only else ""
        store = "" if options.store is None else f", store {redacted(options.store)}"
        print(f"transactive VTN listening on {vtn.url} (data dir {options.data_dir}{store}, market "
              f"{vtn.config.market_context}, ledger {options.ledger}{note}{mode})", flush=True)

    async def main() -> None:
        stop = stop_serving
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(options, stop=stop if announcer is None else announcer.halt_after(stop), ready=ready)

    try:
        run_loop(main(), args.event_loop)
    except (OSError, VtnStartError, CertificateError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    if announcer is not None and announcer.error is not None:
        print(f"{prog}: --announce: {announcer.error}", file=sys.stderr)
        return 2
    print("transactive VTN stopped", flush=True)
    return 0


def _announce_problem(args: argparse.Namespace) -> str | None:
    """Why the --announce flags do not go together (None when they do)."""
    if not args.announce:
        given = [flag for flag, value in (("--announce-name", args.announce_name),
                                          ("--announce-host", args.announce_host)) if value is not None]
        return f"{' and '.join(given)} go with --announce" if given else None
    from transactive.vtn.announce import announce_problem

    return announce_problem(args.host, args.announce_host, args.announce_name)


def _report(args: argparse.Namespace) -> int:
    from transactive.ledger.embedded import NotALedgerError
    from transactive.services.store import StoreError
    from transactive.vtn.report import format_report, vtn_report

    prog = "transactive vtn report"
    try:
        report = vtn_report(args.data_dir, store=args.store)
    except (FileNotFoundError, NotALedgerError, StoreError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report))
    else:
        sys.stdout.write(format_report(report))
    return 0 if report["ledger_valid"] else 1
