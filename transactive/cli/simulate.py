"""``transactive simulate``: reproduce a source paper's experiment (``paper-iota``) and build its data."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from transactive.cli._io import positive_int, usage, whole_number

__all__ = ["add_parser", "format_sensitivity", "format_table", "spread"]

_EPILOG = """\
commands:
  build-data  write the offline week of load and PV data the paper-iota reproduction runs on
  paper-iota  the IOTA double-auction paper (Mullaney et al.): 3 microgrids, 5 scenarios, AA bidding

examples:
  transactive simulate build-data --out week.csv
  transactive simulate paper-iota --data week.csv
  transactive simulate paper-iota --data week.csv --json --plots figures/

exit codes: 0 success, 1 a bad row in the data, 2 usage error or an unreadable file.
"""

_BUILD_EPILOG = """\
The week is built offline and deterministically: SimBench household load profiles (read from the installed
simbench package) and pvlib clear-sky PV scaled by a daily clearness from SimBench's PV profiles; three
microgrids of five prosumers, every one with PV, MG2 the high-consumption grid, MG3's generation shifted by
12 hours, 672 rounds of 15 minutes. Sizes are drawn from --seed. docs/paper-iota-data.md gives every choice.
Needs the 'paper' extra: pip install 'transactive[paper]'.

examples:
  transactive simulate build-data --out week.csv
  transactive simulate build-data --out other-week.csv --seed 7

exit codes: 0 success, 2 usage error (the extra missing, --out not writable).
"""

_PAPER_EPILOG = """\
DATA.csv has the columns time, then MG{m}_P{i}_load_Wh and MG{m}_P{i}_pv_Wh for m = 1..3, i = 1..5: the energy
each prosumer used and generated in the round (Wh), one row per 15-minute bidding round, MG3's shift already
applied ('transactive simulate build-data' writes one; the shipped week is
transactive/simulate/paper_iota_week.csv).

Per bidding round: self-consumption first; each prosumer with a net need bids, each with a surplus offers,
limits at the grid prices (P_gb 18.9, P_gs 3.2 p/kWh); each microgrid runs the paper's uniform double auction
(all of min(demand, supply) matched, the bids set the price by equation (1)) with AA bidding revised over
update rounds (Algorithm 1) until consensus or --update-rounds; in the scenarios with connected microgrids
their residuals clear in one more such auction; the rest goes to the main grid. Scenarios: Grid, MG1+MG2,
MG1+MG3, MG2+MG3, All. A microgrid's own auction is the same in every scenario (common random numbers).

output: a table, one row per scenario (means over --seeds, min-max in brackets), the paper's figures below
it; --json prints a list of {"scenario", "producers_benefit_pct", "consumers_benefit_pct", "p2p_kwh",
"main_grid_kwh", "mean_p2p_price"} (means over seeds; prices in p/kWh), each also with "<key>_min" and
"<key>_max" over seeds and more keys (producers_gain_gbp, consumers_saving_gbp, grid_import_kwh,
grid_export_kwh, main_grid_reduction_pct, involved, per_microgrid). --sensitivity prints instead one row
per changed parameter (docs/paper-iota.md explains each). Metrics: docs/paper-iota.md.

examples:
  transactive simulate paper-iota --data week.csv
  transactive simulate paper-iota --data week.csv --seeds 20 --json
  transactive simulate paper-iota --data week.csv --rounds 96 --plots figures/
  transactive simulate paper-iota --data week.csv --free-move keep-or-more --initial-r 0
  transactive simulate paper-iota --data week.csv --sensitivity

exit codes: 0 success, 1 a bad row in DATA.csv (the message names the line and column), 2 usage error or an
unreadable DATA.csv.
"""

#: the paper's published figures (Section IV-B and V)
PAPER = {"grid_producers_pct": 166.41, "grid_consumers_pct": 6.3, "all_main_grid_reduction_pct": 20.6}


def _number(low: float, high: float, *, low_open: bool = False) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            side = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be in {side}{low:g}, {high:g}], not {text}")
        return value

    return parse


def _initial_r(text: str) -> float | None:
    if text == "from-bid":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'from-bid' or a number in [-1, 1], not {text!r}") from None
    if not (math.isfinite(value) and -1.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"'from-bid' or a number in [-1, 1], not {text}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="reproduce a source paper's experiment (paper-iota) and build its data",
        description="Reproductions of the source papers' experiments on offline data.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="simulate_command", metavar="COMMAND")
    b = group.add_parser(
        "build-data",
        help="write the week of load and PV data for paper-iota (SimBench + pvlib, offline)",
        description="Write the offline, deterministic week of load and PV data for 'simulate paper-iota'.",
        epilog=_BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--out", metavar="CSV", required=True, help="where to write the week")
    b.add_argument("--seed", type=whole_number(0), default=None, metavar="N",
                   help="seed of the prosumers' sizes (default: the shipped week's)")
    b.set_defaults(run=run_build)
    _add_paper(group)


def _add_paper(group: Any) -> None:
    from transactive.market.strategies.aa import AAParams, AAVariant, FreeMove, LearningRule, StopRule

    d = AAParams.paper()
    c = group.add_parser(
        "paper-iota",
        help="the IOTA double-auction paper: 3 microgrids, 5 scenarios, AA bidding, over a week",
        description="Reproduce the IOTA double-auction experiment (seed paper 004, Mullaney et al., Section IV-B): "
        "every scenario, several mechanism seeds, the paper's metrics.",
        epilog=_PAPER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--data", metavar="CSV", required=True, help="the week (see below)")
    c.add_argument("--seeds", type=positive_int, default=5, metavar="N",
                   help="mechanism seeds to average over (default 5)")
    c.add_argument("--rounds", type=positive_int, metavar="K", help="only the first K bidding rounds (default all)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.add_argument("--plots", metavar="DIR", help="write the analogues of the paper's Figs. 9 and 11-14 to DIR")
    c.add_argument("--sensitivity", action="store_true",
                   help="print the sensitivity table over the unstated parameters instead")
    c.add_argument("--seed", type=whole_number(0), default=0, metavar="BASE",
                   help="base of the mechanism seeds (default 0)")
    aa = c.add_argument_group("AA bidding (the paper states none of these; docs/paper-iota.md argues each default)")
    aa.add_argument("--step", type=_number(0.0, 1.0, low_open=True), default=d.step, metavar="S",
                    help=f"change of aggressiveness r per update round (default {d.step})")
    aa.add_argument("--update-rounds", type=positive_int, default=d.max_rounds, metavar="N",
                    help=f"most clearings per bidding round, the first included (default {d.max_rounds})")
    aa.add_argument("--initial-r", type=_initial_r, default=d.initial_r, metavar="from-bid|R",
                    help="each agent's initial aggressiveness: from its own random bid (default) or one number")
    aa.add_argument("--free-move", choices=[m.value for m in FreeMove], default=d.free_move.value,
                    help="what a free agent does (default outcome: more aggressive only if its order was not filled)")
    aa.add_argument("--free-probability", type=_number(0.0, 1.0), default=d.free_probability, metavar="P",
                    help="keep-or-more: the probability of becoming more aggressive (default 0.5)")
    aa.add_argument("--variant", choices=[v.value for v in AAVariant], default=d.variant.value,
                    help="the bid curve: as the text and Fig. 7 describe (default) or equations (2), (3) as printed")
    aa.add_argument("--rule", choices=[v.value for v in LearningRule], default=d.rule.value,
                    help="who Algorithm 1 forces to be more aggressive: the long side's uncompetitive agents, as "
                    "Section IV describes (text, default), as printed, or the printed buyer line mirrored (symmetric)")
    aa.add_argument("--stop", choices=[v.value for v in StopRule], default=d.stop.value,
                    help="stop when bids cross and the price settled (consensus, default) or the price settled")
    aa.add_argument("--tolerance", type=_number(0.0, 18.9), default=100 * d.tolerance, metavar="P",
                    help="the price has settled when it moved less than this, p/kWh (default 0.01)")
    c.set_defaults(run=run_paper)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> int:
    prog = "transactive simulate build-data"
    try:
        from transactive.simulate import build_data
    except ImportError as exc:  # pragma: no cover - the extra is part of make install
        print(f"{prog}: needs the 'paper' extra (pip install 'transactive[paper]'): {exc}", file=sys.stderr)
        return 2
    from transactive.simulate.week import write_week

    started = time.perf_counter()
    _say("building the week from SimBench profiles and pvlib clear-sky PV ...")
    try:
        week = build_data.build_week() if args.seed is None else build_data.build_week(args.seed)
    except build_data.BuildDataUnavailable as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    try:
        write_week(week, args.out)
    except OSError as exc:
        print(f"{prog}: {args.out}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 2
    for line in build_data.describe(week):
        _say(f"  {line}")
    _say(f"wrote {args.out}: {week.rounds} rounds in {time.perf_counter() - started:.1f} s")
    return 0


def _setup(args: argparse.Namespace) -> Any:
    from transactive.market.strategies.aa import AAParams
    from transactive.simulate.paper_iota import Setup

    params = AAParams.paper(
        step=args.step,
        max_rounds=args.update_rounds,
        initial_r=args.initial_r,
        free_move=args.free_move,
        free_probability=args.free_probability,
        variant=args.variant,
        rule=args.rule,
        stop=args.stop,
        tolerance=args.tolerance / 100.0,
    )
    return Setup(params=params, seeds=args.seeds, base_seed=args.seed)


def run_paper(args: argparse.Namespace) -> int:
    from transactive.simulate.paper_iota import sensitivity, simulate
    from transactive.simulate.week import WeekRowError, WeekUnreadable, read_week

    prog = "transactive simulate paper-iota"
    if args.plots:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            print(f"{prog}: --plots needs matplotlib (pip install 'transactive[paper]')", file=sys.stderr)
            return 2
    try:
        week = read_week(args.data)
    except WeekUnreadable as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except WeekRowError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    if args.rounds is not None:
        if args.rounds > week.rounds:
            print(f"{prog}: --rounds {args.rounds}: {args.data} has only {week.rounds} rounds", file=sys.stderr)
            return 2
        week = week.head(args.rounds)
    setup = _setup(args)
    started = time.perf_counter()
    if args.sensitivity:
        rows = sensitivity(week, setup, progress=None if args.json else _say)
        _emit_sensitivity(rows, args.json)
        _say(f"{len(rows)} settings x 5 scenarios x {setup.seeds} seeds x {week.rounds} rounds in "
             f"{time.perf_counter() - started:.1f} s")
        return 0
    result = simulate(week, setup)
    table = result.table()
    if args.plots:
        from transactive.simulate.plots import write_figures

        try:
            paths = write_figures(result, Path(args.plots))
        except OSError as exc:
            print(f"{prog}: {args.plots}: cannot write ({exc.strerror or exc})", file=sys.stderr)
            return 2
        for path in paths:
            _say(f"plot: {path}")
    if args.json:
        json.dump(table, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(table, week.rounds, setup.seeds, result.at_limit, result.auctions))
    _say(f"5 scenarios x {setup.seeds} seeds x {week.rounds} rounds in {time.perf_counter() - started:.2f} s")
    return 0


def spread(row: dict[str, Any], key: str, digits: int) -> str:
    """A metric's mean over seeds with its min-max range, e.g. ``131.0 (129.7-132.3)``; the mean alone if they agree."""
    lo, hi = row[f"{key}_min"], row[f"{key}_max"]
    mean = f"{row[key]:.{digits}f}"
    if round(lo, digits) == round(hi, digits):
        return mean
    return f"{mean} ({lo:.{digits}f}-{hi:.{digits}f})"


def _versus(row: dict[str, Any]) -> str:
    return "-" if row["scenario"] == "Grid" else f"{-row['main_grid_reduction_pct']:+.1f}%"


def format_table(table: list[dict[str, Any]], rounds: int, seeds: int, at_limit: int, auctions: int) -> str:
    """The human table: one row per scenario, then the paper's figures."""
    head = (f"{'scenario':<9} {'producers +%':>22} {'consumers +%':>20} {'P2P kWh':>9} {'main grid kWh':>14} "
            f"{'vs Grid':>8} {'P2P p/kWh':>20}")
    lines = [f"{rounds} bidding rounds, {seeds} mechanism seed(s); means over seeds (min-max)", head]
    for row in table:
        lines.append(
            f"{row['scenario']:<9} {spread(row, 'producers_benefit_pct', 1):>22} "
            f"{spread(row, 'consumers_benefit_pct', 1):>20} {row['p2p_kwh']:>9.1f} {row['main_grid_kwh']:>14.1f} "
            f"{_versus(row):>8} {spread(row, 'mean_p2p_price', 2):>20}"
        )
    lines.append(
        f"paper:    Grid producers +{PAPER['grid_producers_pct']}%, consumers +{PAPER['grid_consumers_pct']}%; "
        f"All trades {PAPER['all_main_grid_reduction_pct']}% less with the main grid than Grid"
    )
    share = 100.0 * at_limit / auctions if auctions else 0.0
    lines.append(f"{auctions} auctions, {share:.1f}% stopped by the update-round limit before consensus")
    return "\n".join(lines)


def _emit_sensitivity(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print(format_sensitivity(rows))


def format_sensitivity(rows: list[dict[str, Any]]) -> str:
    """The sensitivity table as Markdown (also what docs/paper-iota.md shows)."""
    lines = [
        "| parameter | value | Grid producers +% | Grid consumers +% | All producers +% | All consumers +% "
        "| All P2P p/kWh | All main grid vs Grid | at round limit |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['parameter']} | {r['value']} | {r['grid_producers_benefit_pct']:.1f} "
            f"| {r['grid_consumers_benefit_pct']:.1f} | {r['all_producers_benefit_pct']:.1f} "
            f"| {r['all_consumers_benefit_pct']:.1f} | {r['all_mean_p2p_price']:.2f} "
            f"| {-r['all_main_grid_reduction_pct']:+.1f}% | {r['at_round_limit_pct']:.1f}% |"
        )
    return "\n".join(lines)
