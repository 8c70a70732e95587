"""The campus paper's EV spinning-reserve pilot, offline: seven V2G Nissan Leaf (five 24 kWh, two 30 kWh),
three months of synthetic plug-in behaviour with deviations on 15 % of the days, tokens for availability in
the critical hours (08-10 and 18-21), penalties, replacements, rankings, a few spinning-reserve calls, and
every token movement on an embedded ledger.

It prints the available power per hour of the day (the paper counts battery energy above the owners' reserve
as kW for an hour-long call: "5 x 24 + 2 x 30 = 180 kW") with its minimum against the paper's floor of 35 kW
(and, if some hour falls below, which members were missing then and why), the calls, the tokens and the
ranking, and writes plots and the community's data directory (``OUT/community``: read it with
``transactive community report --data-dir OUT/community``; audit a token entry with
``transactive ledger audit OUT/community/tokens.ledger TXID``).

    python examples/ev_spinning_reserve.py --out /tmp/sr
    python examples/ev_spinning_reserve.py --days 14 --v2g-kw 10 --out /tmp/sr-10kw

The owners' routines, deviations and energy model are ours (ven/community/fleet.py); docs/community.md
states every assumption.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from transactive.ledger.embedded import EmbeddedLedger
from transactive.ven.community import (
    PAPER_CRITICAL_HOURS,
    Candidate,
    Community,
    Goal,
    History,
    TokenRules,
    criticality_levels,
    dispatch,
    pilot_fleet,
    predict,
    simulate,
    token_events,
    write_events,
)
from transactive.ven.community.fleet import DEV_ANNOUNCED

FLOOR_KW = 35.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exit codes: 0 success, 2 usage error (a bad flag, --out not writable)")
    p.add_argument("--days", type=int, default=90, help="days simulated after the history (90: three months)")
    p.add_argument("--history-days", type=int, default=28, help="days of history before them, for the prediction")
    p.add_argument("--deviation-rate", type=float, default=0.15, help="chance a member deviates on a day (0.15)")
    p.add_argument("--announce-rate", type=float, default=0.5, help="chance a deviation is announced (0.5)")
    p.add_argument("--v2g-kw", type=float, default=None,
                   help="cap each EV's power at its V2G converter (default: the paper's unlimited outlets)")
    p.add_argument("--calls", type=int, default=12, help="spinning-reserve calls over the period (12)")
    p.add_argument("--call-kw", type=float, default=FLOOR_KW, help="power each call asks for, one hour (35)")
    p.add_argument("--price", type=float, default=0.10, help="the pre-defined price per kWh delivered (0.10 EUR)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("ev_spinning_reserve_out"), help="where plots and data go")
    args = p.parse_args(argv)
    for flag in ("days", "history_days"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1")
    for flag in ("deviation_rate", "announce_rate"):
        if not 0 <= getattr(args, flag) <= 1:
            p.error(f"--{flag.replace('_', '-')} must be within 0-1")
    if args.calls < 0 or not args.call_kw > 0 or args.price < 0 or (args.v2g_kw is not None and not args.v2g_kw > 0):
        p.error("--calls, --call-kw, --price and --v2g-kw must be positive")
    return args


async def simulate_pilot(args: argparse.Namespace) -> tuple[Community, np.ndarray, list[str]]:
    members = pilot_fleet(deviation_rate=args.deviation_rate, announce_rate=args.announce_rate, v2g_kw=args.v2g_kw)
    h0 = args.history_days
    history = simulate(members, h0 + args.days, seed=args.seed)
    data_dir = args.out / "community"
    community = Community.fresh("pilot-evs", Goal.SPINNING_RESERVE, members, FLOOR_KW, data_dir)
    origin = datetime(2026, 3, 2, tzinfo=UTC)
    rng = np.random.default_rng(args.seed)
    call_slots = {(int(d), int(h)) for d, h in zip(rng.integers(h0, h0 + args.days, args.calls),
                                                    rng.integers(0, 24, args.calls), strict=True)}
    power = (history.energy_kwh * history.available).sum(axis=2)[h0:]  # [day, hour] kW available
    reasons: list[str] = []
    ledger = EmbeddedLedger(community.ledger_path)
    try:
        for d in range(h0, h0 + args.days):
            day = origin + timedelta(days=d - h0)
            pred = predict(history, days=h0, upto=d)
            rules = TokenRules(criticality_levels(pred.expected_kw, PAPER_CRITICAL_HOURS))
            events = token_events(community.name, history, d, range(24), rules, f"{day:%Y%m%d}")
            await write_events(ledger, events, day, timedelta(days=1))
            community.add_tokens(events)
            community.critical_levels = dict(rules.levels)
            for h in range(24):
                if power[d - h0, h] < FLOOR_KW:
                    reasons.append(f"{day:%Y-%m-%d} {h:02d}:00 {power[d - h0, h]:.1f} kW: " + why(history, d, h))
                if (d, h) in call_slots:
                    candidates = [Candidate(m.name, m.priority, float(history.energy_kwh[d, h, i]),
                                            pred.reliability(m.name, h)) for i, m in enumerate(members)
                                  if history.available[d, h, i] and history.energy_kwh[d, h, i] > 0]
                    given = dispatch(args.call_kw, candidates)
                    community.record_call(day + timedelta(hours=h), timedelta(hours=1), args.call_kw,
                                          Decimal(str(args.price)), given, sum(given.values()))
        community.available_kw_by_hour = [float(x) for x in predict(history, days=h0).expected_kw]
    finally:
        await ledger.close()
    community.save()
    return community, power, reasons


def why(history: History, d: int, h: int) -> str:
    """Which members were missing at (day, hour), and whether they had announced it / were replaced."""
    parts = []
    for i, m in enumerate(history.members):
        if history.deviation[d, h, i]:
            how = "announced" if history.deviation[d, h, i] == DEV_ANNOUNCED else "unannounced"
            rep = history.replaced_by[d, h, i]
            parts.append(f"{m.name} away ({how}" + (f", replaced by {history.members[rep].name})" if rep >= 0
                                                    else ", no replacement)"))
    return "; ".join(parts) or "members on their routine, batteries low after the commute"


def plot(out: Path, power: np.ndarray, community: Community) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "(matplotlib not installed: no plots; pip install matplotlib)"
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5))
    hours = np.arange(24)
    for h in PAPER_CRITICAL_HOURS:
        a.axvspan(h - 0.5, h + 0.5, color="orange", alpha=0.15)
    a.plot(hours, power.mean(axis=0), "o-", label="mean")
    a.plot(hours, np.percentile(power, 5, axis=0), "s--", label="5th percentile")
    a.plot(hours, power.min(axis=0), "v:", label="minimum")
    a.axhline(FLOOR_KW, color="red", lw=1, label=f"paper's floor {FLOOR_KW:g} kW")
    a.set(xlabel="hour of day (critical hours shaded)", ylabel="available kW (energy above reserve, 1 h)",
          title=f"Community available power, {power.shape[0]} days", xticks=range(0, 24, 2))
    a.legend()
    ranked = sorted(community.tokens, key=lambda k: -community.tokens[k])
    b.bar(ranked, [float(community.tokens[k]) for k in ranked], color="tab:green")
    b.set(title="Tokens (ranking)", ylabel="tokens")
    fig.tight_layout()
    path = out / "ev_spinning_reserve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot: {path}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"ev_spinning_reserve: --out {args.out}: {error}", file=sys.stderr)
        return 2
    community, power, reasons = asyncio.run(simulate_pilot(args))
    members = community.members
    print(f"pilot: {len(members)} EVs, batteries " + " + ".join(f"{m.battery_kwh:g}" for m in members)
          + f" = {sum(m.battery_kwh for m in members):g} kWh (the paper's '180 kW'); {args.days} days")
    print("available kW by hour of day (mean / min), energy above the owners' reserve deliverable in one hour"
          + (f", capped at {args.v2g_kw:g} kW per EV" if args.v2g_kw else ""))
    for h in range(24):
        mark = " critical" if h in PAPER_CRITICAL_HOURS else ""
        print(f"  {h:02d}:00  {power[:, h].mean():6.1f} / {power[:, h].min():6.1f}{mark}")
    low = float(power.min())
    if reasons:
        print(f"minimum {low:.1f} kW: below the paper's {FLOOR_KW:g} kW in {len(reasons)} of {power.size} hours:")
        for line in reasons[:10]:
            print(f"  {line}")
    else:
        print(f"minimum {low:.1f} kW: never below the paper's {FLOOR_KW:g} kW")
    r = community.report()
    print(f"calls {r['calls']}: delivered {r['delivered_kwh']:.1f} kWh, revenue {r['revenue']:.2f} EUR, split "
          + ", ".join(f"{k} {v:.2f}" for k, v in r["revenue_by_member"].items() if v))
    print(f"tokens ({r['token_events']} ledger transactions; ledger agrees: {community.ledger_agrees()}):")
    for k, name in enumerate(r["ranking"], 1):
        print(f"  {k}. {name:<6} {r['tokens'][name]:10.3f}")
    print(plot(args.out, power, community))
    print(f"data: transactive community report --data-dir {community.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
