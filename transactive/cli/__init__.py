"""The ``transactive`` command line. Each subcommand lives in its own module with ``add_parser``/``run``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from transactive import __version__
from transactive.cli import (
    certs,
    community,
    conformance,
    convert,
    discover,
    ledger,
    market,
    simulate,
    validate,
    ven,
    vtn,
)
from transactive.cli._io import OneLineParser

__all__ = ["build_parser", "command_parser", "main"]

_EPILOG = """\
examples:
  transactive validate out/event.xml out/tender.json
                                                    check documents against the OASIS/OpenADR schemas
                                                    (make demo-messages writes these sample messages)
  transactive validate --json out/*.xml             the same, as a JSON report
  transactive convert out/tender.xml --to json      the same message in the other wire format
  transactive market clear orders.csv --json        clear a periodic double auction from a CSV of orders
  transactive ledger verify settlement.ledger       check every hash and signature of a settlement ledger
  transactive vtn serve --port 8080 --data-dir DIR  run the VTN (CTS over HTTP, market clock, settlement)
  transactive ven run --vtn http://127.0.0.1:8080 --party pv-1 --personality pv --capacity-kw 5
                                                    run a VEN: a PV system trading on that VTN
  transactive discover --json                       the markets announced over DNS-SD (vtn serve --announce)
  transactive ven personalities                     the device personalities (EV, thermostat, ...) and their flags
  transactive community report --data-dir DIR --json
                                                    what a community of devices did: calls, revenue, tokens, ranking
  transactive certs create certs --vtn vtn-1 --ven pv-1
                                                    a throwaway CA and certificates for HTTPS/MQTT over TLS
  transactive conformance probe http://127.0.0.1:8080 --role vtn --html report.html
                                                    test a live VTN against OpenADR 2.0b, case by case
  transactive simulate paper-iota --data transactive/simulate/paper_iota_week.csv
                                                    reproduce the IOTA double-auction paper, every scenario

exit codes: 0 success, 1 invalid input, 2 usage error or unreadable file, 130 interrupted (Ctrl-C).
Run 'transactive COMMAND --help' for the options of one command.
"""

_COMMANDS = (validate, convert, market, ledger, vtn, ven, community, discover, certs, conformance, simulate)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="transactive",
        description="A standards-first transactive-energy protocol stack: WS-Calendar, EMIX, "
        "Energy Interoperation / Common Transactive Services and OpenADR 2.0b.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"transactive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        module.add_parser(sub)
    return parser


def command_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``argv`` names: ``["ledger", "bench", "--entries", "5"]`` gives
    ``transactive ledger bench``'s."""
    for token in argv:
        choices = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if not isinstance(choices, dict) or token not in choices:
            break
        parser = choices[token]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``transactive`` script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # (what ``vtn serve --workers`` gives each worker)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:  # Ctrl-C: one line naming the command, the shell's code for SIGINT
        print(f"{command_parser(parser, args.argv).prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
