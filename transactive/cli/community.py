"""``transactive community``: run a community aggregator against a VTN, and report on a community."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from transactive.cli._io import party_name, usage
from transactive.cli._ven_common import grid_band, parse_time, say

__all__ = ["add_parser", "run"]

_EPILOG = """\
commands:
  run         an aggregator VEN: offers its members' aggregate every market interval, dispatches them when called
  report      what a community did: members, goal, available power per hour, calls, revenue, tokens, ranking

examples:
  transactive community run --vtn http://127.0.0.1:8080 --name campus-evs --goal spinning-reserve
  transactive community run --vtn http://127.0.0.1:8080 --name campus-dr --goal flexibility --config dr.toml
  transactive community report --data-dir ~/.local/state/transactive/community/campus-evs --json

exit codes: 0 success, 1 the VTN refused or was lost, 2 usage error (a bad flag or config, a missing data
directory, the VTN unreachable at start).
"""

_RUN_EPILOG = """\
The aggregator registers with the VTN as party NAME (its key kept in --data-dir, so a restarted aggregator is
the same party) and, every market interval, tenders one SELL: the energy its members are expected to give in
the interval (each member's predicted probability of being available at that hour of the day, from its last
history_days days, times what it gives then), at no less than the config's price (default: the market's
export price), priced by --strategy as 'ven run' prices a need. Each transaction it gets is a call: after the
interval it dispatches the members really available (template priority T1 first; among EVs the most reliable,
then the highest state of charge) until the called power is met, reports that delivery (the VTN settles it),
splits the revenue by delivered kWh, and writes the interval's tokens (rewards in critical hours, penalties for
deviations; none for an announced deviation covered by a replacement, who is rewarded) to the token ledger
(--data-dir/tokens.ledger: audit any entry with 'transactive ledger audit').

The members are SIMULATED in this process from --config (a TOML file: [community] settings and [[member]]
tables with template, power_kw, schedule, battery; see docs/community.md); without it, the paper's members:
the pilot's seven EVs (spinning-reserve) or the campus devices (flexibility). Their behaviour (plug-in times,
15 % deviations, replacements, state of charge) is synthetic; they are not separate VENs.

examples:
  transactive community run --vtn http://127.0.0.1:8080 --name campus-evs --goal spinning-reserve --intervals 96
  transactive community run --vtn http://127.0.0.1:8080 --name campus-dr --goal flexibility --config dr.toml \\
      --data-dir ./campus-dr --sim-start 2026-03-02T08:00:00Z --quiet

exit codes: 0 success (after --intervals, or stopped by Ctrl-C/SIGTERM), 1 the VTN refused a request or was lost
during the run, 2 usage error (a bad flag or --config, a --data-dir that cannot be written) or the VTN
unreachable at start.
"""

_REPORT_EPILOG = """\
Reads --data-dir (community.json and the token ledger) and prints a table, or with --json one object:
  members               the members (name, template, priority, power_kw, schedule, battery, ...)
  goal_kw               the power the community aims to make available every hour (kW)
  available_kw_by_hour  24 numbers: the expected available power per hour of the day, from the history
  calls                 how many calls (transactions) it got
  delivered_kw          mean power delivered while called (delivered kWh / hours called; 0 without calls)
  revenue               money received for the delivered energy (market currency)
  tokens                member -> token balance (rewards minus penalties)
  ranking               members by tokens, most first
and more keys (delivered_kwh, revenue_by_member, token_events, critical_hours, ledger_tokens_match, ...).
ledger_tokens_match is true when the token ledger's payments give every member the same balance.

examples:
  transactive community report --data-dir ./campus-evs
  transactive community report --data-dir ./campus-evs --json

exit codes: 0 success, 1 the token ledger disagrees with the books, 2 usage error or --data-dir missing or not
a community.
"""


def add_parser(sub: Any) -> None:
    from transactive.ven.community.members import Goal
    from transactive.ven.pricing import STRATEGIES

    p = sub.add_parser("community", help="communities of devices: an aggregator with goals, tokens and rankings",
                       description="Communities of the campus paper: aggregate members, offer, dispatch, tokens.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="community_command", metavar="COMMAND")
    r = group.add_parser("run", help="run a community aggregator against a VTN",
                         description="Register as NAME and trade the community's aggregate every market interval.",
                         epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--vtn", required=True, metavar="URL", help="the VTN's base URL, e.g. http://127.0.0.1:8080")
    r.add_argument("--name", required=True, type=party_name, metavar="NAME", help="the community's party id")
    r.add_argument("--goal", required=True, choices=[g.value for g in Goal], help="what the community sells")
    r.add_argument("--config", type=Path, default=None, metavar="FILE", help="settings and members (TOML)")
    r.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="state, key and token ledger (default: $XDG_STATE_HOME or ~/.local/state, then "
                        "transactive/community/NAME)")
    r.add_argument("--intervals", type=int, default=None, metavar="N", help="stop after N intervals (run forever)")
    r.add_argument("--start", default=None, metavar="ISO", help="the first market interval (default: the next open)")
    r.add_argument("--sim-start", default=None, metavar="ISO",
                   help="the members' time of the first interval (default: market time)")
    r.add_argument("--grid-prices", default=None, metavar="BUY,SELL",
                   help="the grid's retail and export prices, when the market does not publish them")
    r.add_argument("--strategy", choices=sorted(STRATEGIES), default="fixed", help="bidding strategy (fixed)")
    r.add_argument("--quiet", action="store_true", help="no line per interval")
    r.set_defaults(run=_run)
    rep = group.add_parser("report", help="what a community did (members, calls, revenue, tokens, ranking)",
                           description="Report on the community kept in --data-dir.", epilog=_REPORT_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("--data-dir", type=Path, required=True, metavar="DIR", help="the community's data directory")
    rep.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rep.set_defaults(run=_report)


def run(args: argparse.Namespace) -> int:
    runner: Any = args.run
    code: int = runner(args)
    return code


def _fail(command: str, message: str, code: int) -> int:
    print(f"transactive community {command}: {message}", file=sys.stderr)
    return code


# ---- report ------------------------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from transactive.ledger.interface import LedgerError
    from transactive.ven.community.community import Community, CommunityStateError

    try:
        community = Community.load(args.data_dir)
    except CommunityStateError as error:
        return _fail("report", f"--data-dir {error}", 2)
    report = community.report()
    try:
        match = community.ledger_agrees()
    except LedgerError as error:  # NotALedgerError too
        return _fail("report", f"{community.ledger_path}: {error}", 2)
    report["ledger_tokens_match"] = match
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report)
    if match is False:
        return _fail("report", f"the token ledger {community.ledger_path} disagrees with {args.data_dir}", 1)
    return 0


def _print_table(r: dict[str, Any]) -> None:
    print(f"community {r['community']}: goal {r['goal']} {r['goal_kw']:g} kW, {len(r['members'])} members")
    print(f"calls {r['calls']}, delivered {r['delivered_kwh']:.3f} kWh (mean {r['delivered_kw']:.3f} kW while "
          f"called), revenue {r['revenue']:.4f} {r['currency']}")
    hours = r["available_kw_by_hour"]
    print("expected available kW by hour: " + " ".join(f"{h:02d}:{v:.0f}" for h, v in enumerate(hours)))
    crit = ", ".join(f"{h}:00 (level {lvl})" for h, lvl in r["critical_hours"].items()) or "none"
    print(f"critical hours: {crit}")
    print(f"{'rank':>4}  {'member':<12} {'template':<8} {'power kW':>8} {'tokens':>12} {'revenue':>10}")
    members = {m["name"]: m for m in r["members"]}
    for k, name in enumerate(r["ranking"], 1):
        m = members.get(name, {})
        print(f"{k:>4}  {name:<12} {m.get('template', '?'):<8} {m.get('power_kw', 0):>8.1f} "
              f"{r['tokens'][name]:>12.3f} {r['revenue_by_member'].get(name, 0):>10.4f}")
    print(f"token ledger: {r['ledger']} ({r['token_events']} token transactions; "
          f"ledger agrees: {r['ledger_tokens_match']})")


# ---- run ---------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from transactive.ven.community.config import load_settings
    from transactive.ven.community.members import Goal

    try:
        if args.intervals is not None and args.intervals < 1:
            raise ValueError("--intervals must be at least 1")
        if not args.name or any(c.isspace() for c in args.name):
            raise ValueError(f"--name: give a party id without spaces, not {args.name!r}")
        if not args.vtn.lower().startswith(("http://", "https://")):
            raise ValueError(f"--vtn: expected an http:// or https:// URL, not {args.vtn!r}")
        start, sim_start = parse_time(args.start, "--start"), parse_time(args.sim_start, "--sim-start")
        band = grid_band(args.grid_prices)
        settings = load_settings(Goal(args.goal), args.config)
    except ValueError as error:
        return _fail("run", str(error), 2)
    try:
        return asyncio.run(_main(args, settings, start, sim_start, band))
    except KeyboardInterrupt:  # pragma: no cover (the signal handler normally stops first)
        return 0


def _data_dir(args: argparse.Namespace) -> Path:
    import os

    if args.data_dir is not None:
        return Path(args.data_dir)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "transactive" / "community" / str(args.name)


async def _main(args: argparse.Namespace, settings: Any, start: datetime | None, sim_start: datetime | None,
                band: Any) -> int:
    from transactive.cli._ven_common import health_clock, stop_on_signals, vtn_health
    from transactive.ledger.embedded import EmbeddedLedger
    from transactive.ledger.interface import LedgerError
    from transactive.protocol.errors import RequestRefusedError
    from transactive.transport.base import TransportError
    from transactive.transport.http import HttpTransport
    from transactive.ven.client import VenClient
    from transactive.ven.community.community import Community, CommunityStateError
    from transactive.ven.community.market import CommunityAgent, CommunityPersonality
    from transactive.ven.pricing import create_pricing
    from transactive.ven.runtime import TimeMap, VenRuntime
    from transactive.ven.state import VenState

    data_dir = _data_dir(args)
    try:
        state = VenState.open(data_dir)
        community = Community.resume(args.name, settings.goal, list(settings.members), settings.goal_kw, data_dir)
        ledger = EmbeddedLedger(community.ledger_path)
    except (OSError, ValueError, LedgerError) as error:  # CommunityStateError is a ValueError
        return _fail("run", f"--data-dir {error}" if isinstance(error, CommunityStateError)
                     else f"--data-dir {data_dir}: {error}", 2)
    try:
        health = await vtn_health(args.vtn, None)
    except ConnectionError as error:
        await ledger.close()
        return _fail("run", f"cannot reach the VTN at {args.vtn} ({error})", 2)
    clock, speed = health_clock(health)
    market = (health or {}).get("market")
    transport = HttpTransport(args.vtn)
    client = VenClient(transport, args.name, identity=state.identity, vtn_key=state.vtn_key)
    stop = stop_on_signals()
    runtime: VenRuntime | None = None
    agent: CommunityAgent | None = None
    try:
        config = await client.market_context(market) if market else None
        if config is None:
            from transactive.ven.client import discover_market_context

            config = await client.market_context(await discover_market_context(client))
        first = start or config.next_open_interval(clock())
        origin = (sim_start or first).date()
        personality = CommunityPersonality(settings, origin)
        runtime = VenRuntime(client, personality, create_pricing(args.strategy, seed=settings.seed), clock,
                             market_context=config.market_context, log=None if args.quiet else say,
                             speed=speed, band=band)
        sim_interval = config.interval
        if sim_start is not None:
            runtime.time_map = TimeMap(first, config.interval, sim_start, config.interval)
        agent = CommunityAgent(community, personality, ledger, sim_interval)
        runtime.record = agent.record
        await runtime.start()
        if state.vtn_key is None and config.signing_key is not None:
            state.remember_vtn_key(config.signing_key)
        community.currency = config.currency
        if not args.quiet:
            say(f"{args.name}: community of {len(settings.members)} members, goal {settings.goal.value} "
                   f"{settings.goal_kw:g} kW, market {config.market_context}, first {first.isoformat()}; "
                   f"data {data_dir}")
        await runtime.run(intervals=args.intervals, first=first if start or sim_start else None, stop=stop)
        await agent.drain()
    except RequestRefusedError as error:
        return _fail("run", f"the VTN refused: {error} (code {error.response_code})", 1)
    except TransportError as error:
        return _fail("run", f"lost the VTN at {args.vtn} ({error})", 1)
    except LedgerError as error:
        return _fail("run", f"token ledger {community.ledger_path}: {error}", 1)
    finally:
        if agent is not None:
            with contextlib.suppress(Exception):
                await agent.drain()
        if runtime is not None:
            await runtime.close()
        await transport.close()
        await ledger.close()
    if not args.quiet:
        r = community.report()
        say(f"{args.name}: {r['calls']} calls, delivered {r['delivered_kwh']:.3f} kWh, revenue "
               f"{r['revenue']:.4f} {r['currency']}; ranking {', '.join(r['ranking'])}")
    return 0
