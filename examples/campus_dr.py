"""The campus paper's demand-response case study, offline: eight classroom HVAC units (T2, 3 kW each), seven
EVs on campus chargers (T3), the IoT laboratory's T1 outlet (a scheduled appliance) and T4 outlet (a local
heater), random renewable-surplus events, 5-minute transaction units, the surplus shared by template priority
(T1 first, then T2, T3, T4), a token transaction for the energy each device took in each event, penalties for
devices missing from their declared hours, and plots.

Each surplus episode (consecutive units with a surplus) is one call on the community: in each 5-minute unit
the surplus is rationed by :func:`transactive.ven.community.dispatch` (T1 first; within a template the most
reliable device first), each device up to its power and to what it can still take that day (its *budget*:
the T1 outlet one 2-hour run of 2 kW; a classroom 3 kWh of pre-heating/cooling within its comfort band; an EV
10 kWh its owner still needs; the T4 heater a 10 kWh tank). What nobody can take goes to the traditional
reserves (batteries), as the paper says. Every change of a device's power between units is a command
(on/off or increase/decrease); the token ledger gets one paid transaction per device per episode.

    python examples/campus_dr.py --out /tmp/dr
    python examples/campus_dr.py --days 3 --events-per-day 12 --unit-minutes 15 --out /tmp/dr15

Data directory: ``OUT/community`` (``transactive community report --data-dir OUT/community``).
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
    Candidate,
    Community,
    Goal,
    TokenEvent,
    TokenKind,
    TokenRules,
    campus_members,
    dispatch,
    predict,
    simulate,
    token_events,
    write_events,
)

#: what each template can still absorb in a day (kWh): see the docstring
BUDGET_KWH = {"t1": 4.0, "t2": 3.0, "t3": 10.0, "t4": 10.0}
TOKEN_RATE = Decimal(1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exit codes: 0 success, 2 usage error (a bad flag, --out not writable)")
    p.add_argument("--days", type=int, default=5, help="days simulated (5)")
    p.add_argument("--history-days", type=int, default=28, help="days of history before them (28)")
    p.add_argument("--unit-minutes", type=int, default=5, help="transaction time unit in minutes (5)")
    p.add_argument("--events-per-day", type=float, default=8.0, help="mean surplus events per day, 08-18 (8)")
    p.add_argument("--max-surplus-kw", type=float, default=60.0, help="largest surplus of an event (60 kW)")
    p.add_argument("--flex-price", type=float, default=0.05, help="paid per kWh of surplus absorbed (0.05 EUR)")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("campus_dr_out"), help="where plots and data go")
    args = p.parse_args(argv)
    if args.days < 1 or args.history_days < 1:
        p.error("--days and --history-days must be at least 1")
    if args.unit_minutes < 1 or 60 % args.unit_minutes:
        p.error("--unit-minutes must divide an hour (1, 5, 10, 15, 30, 60)")
    if args.events_per_day < 0 or not args.max_surplus_kw > 0 or args.flex_price < 0:
        p.error("--events-per-day, --max-surplus-kw and --flex-price must be positive")
    return args


def surplus_profile(rng: np.random.Generator, units: int, unit_h: float, args: argparse.Namespace) -> np.ndarray:
    """A day's renewable surplus (kW per unit): events between 08 and 18, 15-90 minutes, random size."""
    surplus = np.zeros(units)
    per_hour = units // 24
    for _ in range(rng.poisson(args.events_per_day)):
        start = int(rng.integers(8 * per_hour, 18 * per_hour))
        length = max(1, int(rng.integers(15, 91) / 60 / unit_h))
        surplus[start:start + length] += rng.uniform(5.0, args.max_surplus_kw)
    return surplus


def episodes(surplus: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) unit ranges with a surplus."""
    out, start = [], None
    for u, s in enumerate([*surplus, 0.0]):
        if s > 0 and start is None:
            start = u
        elif s <= 0 and start is not None:
            out.append((start, u))
            start = None
    return out


async def run_campus(args: argparse.Namespace) -> tuple[Community, np.ndarray, np.ndarray, int]:
    members = campus_members()
    h0, unit_h = args.history_days, args.unit_minutes / 60
    units = int(24 / unit_h)
    history = simulate(members, h0 + args.days, seed=args.seed)
    data_dir = args.out / "community"
    community = Community.fresh("campus-dr", Goal.FLEXIBILITY, members, sum(m.power_kw for m in members) / 2,
                                data_dir)
    rng = np.random.default_rng(args.seed)
    origin = datetime(2026, 3, 2, tzinfo=UTC)
    first_surplus = np.zeros(units)
    first_taken = np.zeros((units, 4))  # kW per template, first day
    commands = 0
    ledger = EmbeddedLedger(community.ledger_path)
    try:
        for d in range(h0, h0 + args.days):
            day = origin + timedelta(days=d - h0)
            pred = predict(history, days=h0, upto=d)
            surplus = surplus_profile(rng, units, unit_h, args)
            budget = {m.name: BUDGET_KWH[m.template] for m in members}
            last = dict.fromkeys(budget, 0.0)
            for first, end in episodes(surplus):
                taken: dict[str, float] = {}
                for u in range(first, end):
                    h = int(u * unit_h)
                    candidates = [Candidate(m.name, m.priority, min(m.power_kw, budget[m.name] / unit_h),
                                            pred.reliability(m.name, h)) for i, m in enumerate(members)
                                  if history.available[d, h, i] and budget[m.name] > 1e-9]
                    given = dispatch(float(surplus[u]), candidates)
                    for m in members:
                        kw = given.get(m.name, 0.0)
                        commands += abs(kw - last[m.name]) > 1e-9
                        last[m.name] = kw
                        budget[m.name] -= kw * unit_h
                        if kw:
                            taken[m.name] = taken.get(m.name, 0.0) + kw * unit_h
                        if d == h0:
                            first_taken[u, m.priority - 1] += kw
                    if d == h0:
                        first_surplus[u] = surplus[u]
                start = day + timedelta(hours=first * unit_h)
                duration = timedelta(hours=(end - first) * unit_h)
                community.record_call(start, duration, float(surplus[first:end].sum() * unit_h),
                                      Decimal(str(args.flex_price)), taken, sum(taken.values()))
                hours = tuple(sorted({int(u * unit_h) for u in range(first, end)}))
                events = [TokenEvent(community.name, k, TokenKind.REWARD, f"{start:%Y%m%dT%H%M}", 1, hours,
                                     Decimal(repr(v)).quantize(Decimal("0.001")), TOKEN_RATE)
                          for k, v in sorted(taken.items()) if v >= 0.0005]
                await write_events(ledger, events, start, duration)
                community.add_tokens(events)
            # the day's deviations: penalties (none when announced and covered), replacements rewarded
            penalties = token_events(community.name, history, d, range(24), TokenRules({}, TOKEN_RATE),
                                     f"{day:%Y%m%d}")
            await write_events(ledger, penalties, day, timedelta(days=1))
            community.add_tokens(penalties)
            for m in members:  # a device still on at the end of the day is switched off
                commands += last[m.name] > 0
        community.available_kw_by_hour = [float(x) for x in predict(history, days=h0).expected_kw]
    finally:
        await ledger.close()
    community.save()
    return community, first_surplus, first_taken, commands


def plot(out: Path, surplus: np.ndarray, taken: np.ndarray, community: Community, unit_h: float) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "(matplotlib not installed: no plots; pip install matplotlib)"
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5))
    t = np.arange(len(surplus)) * unit_h
    a.stackplot(t, taken.T, labels=["T1 outlet", "T2 classrooms", "T3 EVs", "T4 heater"], step="post", alpha=0.8)
    a.step(t, surplus, "k-", where="post", lw=1, label="renewable surplus")
    a.set(xlim=(6, 20), xlabel="hour of the first day", ylabel="kW",
          title=f"Surplus shared by template priority ({round(unit_h * 60)}-minute units)")
    a.legend(loc="upper left", fontsize=8)
    ranked = sorted(community.tokens, key=lambda k: -community.tokens[k])
    b.bar(ranked, [float(community.tokens[k]) for k in ranked], color="tab:green")
    b.set(title="Tokens (ranking)", ylabel="tokens")
    b.tick_params(axis="x", rotation=90)
    fig.tight_layout()
    path = out / "campus_dr.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot: {path}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"campus_dr: --out {args.out}: {error}", file=sys.stderr)
        return 2
    community, surplus, taken, commands = asyncio.run(run_campus(args))
    r = community.report()
    unit_h = args.unit_minutes / 60
    by_template = taken.sum(axis=0) * unit_h
    print(f"campus: {len(community.members)} devices (8 x T2 classroom 3 kW, 7 x T3 EV, T1 and T4 outlets), "
          f"{args.days} days, {args.unit_minutes}-minute units")
    print(f"first day: surplus {surplus.sum() * unit_h:.1f} kWh, taken T1 {by_template[0]:.1f}, T2 "
          f"{by_template[1]:.1f}, T3 {by_template[2]:.1f}, T4 {by_template[3]:.1f} kWh, to reserves "
          f"{surplus.sum() * unit_h - by_template.sum():.1f} kWh")
    print(f"surplus episodes (calls) {r['calls']}: requested {r['requested_kwh']:.1f} kWh, absorbed "
          f"{r['delivered_kwh']:.1f} kWh, paid {r['revenue']:.2f} EUR; {commands} on/off/up/down commands")
    print(f"tokens ({r['token_events']} ledger transactions; ledger agrees: {community.ledger_agrees()}), "
          "top five:")
    for k, name in enumerate(r["ranking"][:5], 1):
        print(f"  {k}. {name:<10} {r['tokens'][name]:9.3f}")
    print(plot(args.out, surplus, taken, community, unit_h))
    print(f"data: transactive community report --data-dir {community.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
