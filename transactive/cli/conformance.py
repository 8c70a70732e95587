"""``transactive conformance``: probe a live OpenADR 2.0b or CTS endpoint case by case and report.

``probe URL --role vtn`` plays a VEN (or a CTS party) against the VTN at URL; ``listen --role ven`` plays a
VTN and walks the VEN under test through the cases when it connects; ``cases`` lists the catalogue. The cases,
their rules and the evidence a failure carries are :mod:`transactive.interop.conformance`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from transactive.cli._io import party_name, port_number, usage
from transactive.interop.conformance import catalogue
from transactive.interop.conformance.html import render_html
from transactive.interop.conformance.model import EndpointUnreachable, Options, Outcome, Report, Result, Standard
from transactive.protocol.certs import fingerprint, same_fingerprint

__all__ = ["add_parser", "run_cases", "run_listen", "run_probe"]

_EXIT = """\
exit codes: 0 no case failed, 1 a case failed, 2 usage error or an endpoint that cannot be reached at all.
"""

_PROBE_EPILOG = """\
The probe plays a VEN (OpenADR 2.0b) or a market party (CTS) under its own name (--party, or
conformance-<random>), cancels what it creates (its opts, tenders and registration) and never sends load. Each
case ends pass, fail (the rule broken and the exchange as evidence) or skip (why). Progress goes to stderr, one
line per case; the report to stdout (text, or --json) and to --html.

examples:
  transactive conformance probe http://127.0.0.1:8080 --role vtn
  transactive conformance probe https://vtn.example.com:8443 --role vtn --tls-ca ca.crt \\
      --tls-cert ven.crt --tls-key ven.key --sign-cert ven.crt --sign-key ven.key --vtn-fingerprint 7A:..:3C
  transactive conformance probe http://127.0.0.1:8080 --role vtn --cases 'N1_*,E1_0020' --json
  transactive conformance probe http://127.0.0.1:8080 --role vtn --standard cts --html cts-report.html

""" + _EXIT

_LISTEN_EPILOG = """\
The kit listens as a VTN at http(s)://HOST:PORT (the base URL to give the VEN is printed on stderr), waits up
to --timeout seconds for each step of the VEN under test, walks it through registration, reports, events
(modified, cancelled), re-registration and finally cancels its registration. A push VEN is walked through the
push cases, a pull VEN through the pull ones. With --tls-* the kit is an HTTPS server that requires client
certificates; with --sign-* it signs its documents and requires the VEN's to be signed.

examples:
  transactive conformance listen --role ven --host 127.0.0.1 --port 8081 --timeout 20
      (then start the VEN under test with http://127.0.0.1:8081 as its VTN URL)
  transactive conformance listen --role ven --host 0.0.0.0 --port 8443 --tls-cert vtn.crt --tls-key vtn.key \\
      --tls-ca ca.crt --sign-cert vtn.crt --sign-key vtn.key --html ven-report.html

""" + _EXIT

_CASES_EPILOG = """\
examples:
  transactive conformance cases                          every case, suite by suite
  transactive conformance cases --standard cts --json    the CTS cases as JSON

exit codes: 0 listed, 2 usage error.
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("conformance", help="probe a live OpenADR 2.0b or CTS endpoint and report case by case",
                       description="The conformance kit: test a live VTN or VEN against OpenADR 2.0b or CTS.",
                       epilog="Run 'transactive conformance COMMAND --help' for the options of one command.\n\n"
                       + _EXIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=lambda args: usage(p))
    commands = p.add_subparsers(dest="conformance_command", metavar="COMMAND")

    probe = commands.add_parser("probe", help="play a VEN or market party against the VTN at URL",
                                description="Probe the VTN at URL as a VEN (OpenADR 2.0b) or a market party (CTS).",
                                epilog=_PROBE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    probe.add_argument("url", metavar="URL", help="the VTN's base URL (http:// or https://)")
    probe.add_argument("--role", required=True, choices=["vtn"], help="the role of the endpoint under test")
    probe.add_argument("--standard", default="openadr20b", choices=[s.value for s in Standard],
                       help="the standard to test against (default openadr20b)")
    probe.add_argument("--party", type=party_name, metavar="NAME",
                       help="the kit's own party / VEN name (default conformance-<random>)")
    probe.add_argument("--observe", type=_seconds, default=5.0, metavar="S",
                       help="OpenADR: how long to watch the VTN's event distributions, at its poll frequency, for "
                       "the modificationNumber and lifecycle cases (default 5; at least two rounds)")
    cts = probe.add_argument_group("CTS only")
    cts.add_argument("--wire", choices=["xml", "json"], help="the CTS wire format to probe in (default xml)")
    cts.add_argument("--market-context", metavar="URI",
                     help="the market context to probe (default: the one a transactive VTN names when asked about "
                     "another; any other VTN needs it)")
    _security(probe)
    _output(probe)
    probe.add_argument("--timeout", type=_seconds, default=30.0, metavar="S",
                       help="seconds to wait for each answer (default 30)")
    probe.set_defaults(run=run_probe)

    listen = commands.add_parser("listen", help="play a VTN and walk the connecting VEN through the cases",
                                 description="Listen as a VTN for the VEN under test and walk it through the cases.",
                                 epilog=_LISTEN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    listen.add_argument("--role", required=True, choices=["ven"], help="the role of the endpoint under test")
    listen.add_argument("--host", required=True, help="the address to listen on")
    listen.add_argument("--port", required=True, type=port_number,
                        help="the port to listen on (0: any free port; the URL to give the VEN is printed)")
    listen.add_argument("--standard", default="openadr20b", choices=["openadr20b"],
                        help="the standard to test against (default openadr20b)")
    listen.add_argument("--party", type=party_name, metavar="NAME",
                        help="the kit's vtnID as the VEN will see it (default TRANSACTIVE-CONFORMANCE-VTN)")
    _security(listen)
    listen.add_argument("--timeout", type=_seconds, default=60.0, metavar="S",
                        help="seconds to wait for each step of the VEN (default 60)")
    _output(listen)
    listen.set_defaults(run=run_listen)

    cases = commands.add_parser("cases", help="list the catalogue of cases", epilog=_CASES_EPILOG,
                                description="List the conformance cases: id, title, the rules each checks.",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cases.add_argument("--standard", choices=[s.value for s in Standard], help="only this standard's cases")
    cases.add_argument("--json", action="store_true", help="print a JSON array instead of text")
    cases.set_defaults(run=run_cases)


def _security(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("security (TLS and OpenADR XML signatures)")
    g.add_argument("--tls-cert", type=Path, metavar="FILE", help="the kit's certificate (PEM)")
    g.add_argument("--tls-key", type=Path, metavar="FILE", help="the key of --tls-cert (PEM)")
    g.add_argument("--tls-ca", type=Path, metavar="FILE", help="the CA the peer's certificate must chain to (PEM)")
    g.add_argument("--sign-cert", type=Path, metavar="FILE", help="sign the kit's documents with this certificate")
    g.add_argument("--sign-key", type=Path, metavar="FILE", help="the key of --sign-cert (PEM)")
    g.add_argument("--vtn-fingerprint", metavar="FP",
                   help="probe: the OpenADR fingerprint the VTN's certificate must have (TLS and signatures); "
                   "listen: the fingerprint the VEN was given for the kit, checked against --tls-cert")


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cases", metavar="PATTERN",
                   help="run only these cases: comma-separated shell patterns, e.g. 'N1_*,E1_0020'")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--html", type=Path, metavar="REPORT.html", help="also write a self-contained HTML report")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 86400], not {text!r}")
    return value


class _Usage(Exception):
    pass


def _options(args: argparse.Namespace) -> Options:
    pairs = (("--tls-cert", "--tls-key"), ("--sign-cert", "--sign-key"))
    for a, b in pairs:
        has_a = getattr(args, a[2:].replace("-", "_")) is not None
        has_b = getattr(args, b[2:].replace("-", "_")) is not None
        if has_a != has_b:
            raise _Usage(f"{a} and {b} go together")
    for flag in ("tls_cert", "tls_key", "tls_ca", "sign_cert", "sign_key"):
        path: Path | None = getattr(args, flag)
        if path is not None and not path.is_file():
            raise _Usage(f"--{flag.replace('_', '-')} {path}: no such file")
    if args.html is not None and not args.html.parent.is_dir():
        raise _Usage(f"--html {args.html}: the folder {args.html.parent} does not exist")
    party = getattr(args, "party", None)
    if party is not None and not party.strip():
        raise _Usage("--party: the name is empty")
    if args.cases is not None and not catalogue_matches(args):
        raise _Usage(f"--cases {args.cases!r} selects no case of this suite (see 'transactive conformance cases')")
    return Options(party=party, tls_cert=args.tls_cert, tls_key=args.tls_key, tls_ca=args.tls_ca,
                   sign_cert=args.sign_cert, sign_key=args.sign_key,
                   vtn_fingerprint=getattr(args, "vtn_fingerprint", None), cases=args.cases, timeout=args.timeout,
                   observe_seconds=getattr(args, "observe", 5.0))


def catalogue_matches(args: argparse.Namespace) -> bool:
    suite = catalogue.suite_for(Standard(args.standard), args.role)
    return bool(suite.selected(args.cases))


def _progress(outcome: Outcome) -> None:
    line = f"{outcome.case.id:<11} {outcome.result.value:<4}  {outcome.case.title}"
    if outcome.result is not Result.PASS and outcome.detail:
        line += f"\n{'':<17}{outcome.detail}"
    print(line, file=sys.stderr, flush=True)


def _finish(args: argparse.Namespace, report: Report, command: str) -> int:
    if args.html is not None:
        try:
            args.html.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            print(f"transactive conformance {command}: --html {args.html}: cannot write ({exc.strerror or exc})",
                  file=sys.stderr)
            return 2
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_text(report))
    return report.exit_code


def _text(report: Report) -> str:
    lines = [f"{report.standard} {report.role.upper()} at {report.target}: {report.passed} passed, "
             f"{report.failed} failed, {report.skipped} skipped"]
    for outcome in sorted(report.outcomes, key=lambda o: (o.result is not Result.FAIL, o.result is Result.PASS)):
        if outcome.result is Result.PASS:
            continue
        lines.append(f"  {outcome.case.id} {outcome.result.value}: {outcome.case.title}")
        if outcome.broken is not None:
            lines.append(f"      rule: {outcome.broken.cite()}")
        if outcome.detail:
            lines.append(f"      {outcome.detail}")
    return "\n".join(lines)


def run_probe(args: argparse.Namespace) -> int:
    try:
        options = _options(args)
    except _Usage as exc:
        print(f"transactive conformance probe: {exc}", file=sys.stderr)
        return 2
    if not args.url.startswith(("http://", "https://")):
        print(f"transactive conformance probe: URL {args.url!r}: expected http:// or https://", file=sys.stderr)
        return 2
    standard = Standard(args.standard)
    extra: dict[str, Any] = {}
    if standard is Standard.CTS:
        extra = {"wire": args.wire or "xml", "market_context": args.market_context}
    elif args.wire or args.market_context:
        print("transactive conformance probe: --wire and --market-context go with --standard cts", file=sys.stderr)
        return 2
    module = catalogue.module_for(standard, args.role)
    try:
        report: Report = asyncio.run(module.probe(args.url, options, progress=_progress, **extra))
    except EndpointUnreachable as exc:
        print(f"transactive conformance probe: {args.url}: cannot be reached: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"transactive conformance probe: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("transactive conformance probe: interrupted", file=sys.stderr)
        return 2
    return _finish(args, report, "probe")


def run_listen(args: argparse.Namespace) -> int:
    try:
        options = _options(args)
    except _Usage as exc:
        print(f"transactive conformance listen: {exc}", file=sys.stderr)
        return 2
    if options.vtn_fingerprint is not None:
        problem = _own_fingerprint_problem(options)
        if problem:
            print(f"transactive conformance listen: {problem}", file=sys.stderr)
            return 2
    module = catalogue.module_for(Standard(args.standard), args.role)

    def ready(url: str) -> None:
        print(f"transactive conformance listen: waiting for the VEN under test; its VTN URL is {url}",
              file=sys.stderr, flush=True)

    try:
        report: Report = asyncio.run(module.listen(args.host, args.port, options, progress=_progress, ready=ready))
    except (EndpointUnreachable, ValueError) as exc:
        print(f"transactive conformance listen: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"transactive conformance listen: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("transactive conformance listen: interrupted", file=sys.stderr)
        return 2
    return _finish(args, report, "listen")


def _own_fingerprint_problem(options: Options) -> str | None:
    cert = options.tls_cert or options.sign_cert
    if cert is None:
        return "--vtn-fingerprint: the kit has no certificate to check it against (give --tls-cert or --sign-cert)"
    try:
        own = fingerprint(cert.read_bytes())
    except (OSError, ValueError) as exc:
        return f"--tls-cert {cert}: not a PEM certificate ({exc})"
    if not same_fingerprint(options.vtn_fingerprint or "", own):
        return f"--vtn-fingerprint {options.vtn_fingerprint}: the kit's certificate has fingerprint {own}"
    return None


def run_cases(args: argparse.Namespace) -> int:
    found = catalogue.cases(Standard(args.standard) if args.standard else None)
    if args.json:
        json.dump([c.as_dict() for c in found], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    current = None
    for case in found:
        suite = (case.standard, case.role)
        if suite != current:
            current = suite
            title = catalogue.suite_for(case.standard, case.role).title
            print(f"\n{title} ({case.standard}, the {case.role.upper()} under test)")
        needs = f"  [needs {', '.join(case.needs)}]" if case.needs else ""
        print(f"  {case.id:<11} {case.title}{needs}")
        for rule in case.rules:
            print(f"  {'':<11}   {rule.source} {rule.ref}")
    return 0
