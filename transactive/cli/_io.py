"""Small helpers the subcommands share: reading inputs and telling XML from JSON."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "OneLineParser",
    "UnreadableFile",
    "event_loop_problem",
    "event_start",
    "looks_like_json",
    "party_name",
    "port_number",
    "positive_int",
    "read_input",
    "run_loop",
    "usage",
    "whole_number",
]


class UnreadableFile(Exception):
    """A path that cannot be read (missing, a directory, no permission): exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line on standard error (exit 2): the command, what is wrong, and where its help is.

    Every parser of the command line is one (subparsers inherit the class), so an argument a subcommand does not
    know is that subcommand's error, named after it, rather than the top-level parser's."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        parsed, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


def read_input(path: str) -> bytes:
    """The bytes of a file, or of standard input for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    try:
        return p.read_bytes()
    except IsADirectoryError:
        raise UnreadableFile(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such file") from None
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read ({exc.strerror or exc})") from None


def looks_like_json(data: bytes) -> bool:
    head = data.lstrip()[:1]
    return head in (b"{", b"[")


def usage(parser: argparse.ArgumentParser) -> int:
    """A command group called without its subcommand: print its help to stderr, exit code 2."""
    parser.print_help(sys.stderr)
    return 2


def event_loop_problem(choice: str) -> str | None:
    """Why the ``--event-loop`` choice cannot run here (None when it can)."""
    if choice == "uvloop" and importlib.util.find_spec("uvloop") is None:
        return "--event-loop uvloop: uvloop is not installed (pip install 'transactive[server]')"
    return None


def run_loop(main: Coroutine[Any, Any, None], choice: str = "auto") -> None:
    """Run ``main`` on uvloop (``choice`` "uvloop", or "auto" when it is installed) or asyncio's own loop."""
    if choice != "asyncio" and importlib.util.find_spec("uvloop") is not None:
        import uvloop

        uvloop.run(main)
        return
    asyncio.run(main)


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {text!r}")
        return value

    return parse


#: ``--intervals``, ``--seeds`` and the like: a whole number of at least 1
positive_int = whole_number(1)


def port_number(text: str) -> int:
    """``--port``: a TCP port, 0 (any free port) to 65535 (an argparse type)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {text!r}")
    return int(text)




def reserve_prices(text: str) -> tuple[float, float] | None:
    """``--reserve BUY,SELL``: the main grid's selling and buying prices, or ``none`` (no grid) (an argparse
    type)."""
    if text.strip().lower() == "none":
        return None
    parts = text.split(",")
    try:
        buy, sell = (float(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected BUY,SELL (two numbers), not {text!r}") from None
    if not (math.isfinite(buy) and math.isfinite(sell)):
        raise argparse.ArgumentTypeError(f"reserve prices must be finite, not {text!r}")
    if not sell < buy:
        raise argparse.ArgumentTypeError(f"the grid's selling price BUY must be above its buying price SELL: {text!r}")
    return buy, sell


def party_name(text: str) -> str:
    """``--party``, ``--name`` and the like: a party or client name, not empty (an argparse type)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a name cannot be empty")
    if text != text.strip() or any(not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(f"a name has no surrounding spaces or control characters: {text!r}")
    return text


def event_start(text: str) -> str:
    """An event's ``--start``: ISO 8601 with a time zone, or ``now`` / ``now+DURATION`` (an argparse type; the
    text is passed on as given, the VTN reads it on its own clock)."""
    from datetime import datetime

    from transactive.model.types import parse_duration

    if text == "now":
        return text
    if text.startswith("now+"):
        try:
            parse_duration(text[4:])
        except ValueError:
            raise argparse.ArgumentTypeError(f"now+DURATION takes an ISO 8601 duration (now+PT5M), not {text!r}") \
                from None
        return text
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time with a zone (2026-12-04T18:00:00Z), now or now+PT5M, not {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (e.g. 2026-12-04T18:00:00Z), not {text!r}")
    return text
