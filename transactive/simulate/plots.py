"""The analogues of the IOTA paper's figures (Figs. 9 and 11-14) for a reproduction run, with matplotlib.

Each figure is one PNG; bars are means over the mechanism seeds with the min-max spread as error bars.
matplotlib is imported here only (the ``paper`` extra installs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from transactive.simulate.paper_iota import MICROGRID_NAMES, Reproduction, ScenarioSummary

__all__ = ["FIGURES", "write_figures"]

#: file name -> what it shows (the paper's figure it stands for)
FIGURES = {
    "fig09_net_production.png": "net production of each microgrid over the first 24 hours (Fig. 9)",
    "fig11_producers_benefit.png": "producers' benefit per Wh sold, per scenario and microgrid (Fig. 11)",
    "fig12_consumers_benefit.png": "consumers' benefit per Wh bought, per scenario and microgrid (Fig. 12)",
    "fig13_total_benefit.png": "total benefit to the agents involved, producers and consumers (Fig. 13)",
    "fig14_main_grid.png": "energy traded with the main grid per scenario (Fig. 14)",
    "prices_all.png": "clearing prices over the week in scenario All, first seed (no figure in the paper)",
}
COLOURS = {"MG1": "tab:blue", "MG2": "tab:red", "MG3": "tab:green", "overall": "0.3"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _err(values: np.ndarray) -> list[list[float]]:
    mean = float(values.mean())
    return [[mean - float(values.min())], [float(values.max()) - mean]]


def _benefit(ax: Any, summaries: list[ScenarioSummary], key: str, title: str) -> None:
    width = 0.2
    for i, s in enumerate(summaries):
        names = [*s.involved, "overall"]
        for j, name in enumerate(names):
            values = s.values[key] if name == "overall" else s.per_microgrid[name][key]
            x = i + (j - (len(names) - 1) / 2) * width
            ax.bar(x, float(values.mean()), width, color=COLOURS[name], yerr=_err(values), capsize=2,
                   label=name if i == len(summaries) - 1 else None)
    ax.set_xticks(range(len(summaries)), [s.scenario for s in summaries])
    ax.set_ylabel("benefit over wholesale (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def write_figures(result: Reproduction, out: Path) -> list[Path]:
    """Write every figure of :data:`FIGURES` to ``out`` (created); returns the paths written."""
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    summaries = result.summaries()
    week = result.week
    paths = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    # Fig. 9: net production (PV - load) per microgrid, kW, first 24 hours
    day = min(96, week.rounds)
    hours = np.arange(day) / 4.0
    fig, ax = plt.subplots(figsize=(8, 4))
    net_kw = (week.pv - week.load).sum(axis=1)[:, :day] * 4.0 / 1000.0
    for m, name in enumerate(MICROGRID_NAMES):
        ax.plot(hours, net_kw[m], color=COLOURS[name], label=name)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel(f"hours from {week.times[0]}")
    ax.set_ylabel("net production, kW (PV - load)")
    ax.set_title("Net production and consumption of the microgrids, first 24 h")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, "fig09_net_production.png")

    for key, name, title in (
        ("producers_benefit_pct", "fig11_producers_benefit.png", "Producers: average benefit per Wh sold"),
        ("consumers_benefit_pct", "fig12_consumers_benefit.png", "Consumers: average benefit per Wh bought"),
    ):
        fig, ax = plt.subplots(figsize=(9, 4.5))
        _benefit(ax, summaries, key, title)
        save(fig, name)

    # Fig. 13: total benefit (pounds) to the agents involved
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(summaries))
    gain = np.array([s.values["producers_gain_gbp"].mean() for s in summaries])
    saving = np.array([s.values["consumers_saving_gbp"].mean() for s in summaries])
    total = [s.values["producers_gain_gbp"] + s.values["consumers_saving_gbp"] for s in summaries]
    ax.bar(x, gain, color="tab:orange", label="producers (over P_gs)")
    ax.bar(x, saving, bottom=gain, color="tab:purple", label="consumers (under P_gb)",
           yerr=np.array([_err(t) for t in total]).reshape(len(summaries), 2).T, capsize=3)
    ax.set_xticks(x, [s.scenario for s in summaries])
    ax.set_ylabel("total benefit over wholesale (GBP per week)")
    ax.set_title("Total benefit to the agents involved in each scenario")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save(fig, "fig13_total_benefit.png")

    # Fig. 14: energy with the main grid (all three microgrids; one outside a pair at its Grid values)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    imports = np.array([s.values["grid_import_kwh"].mean() for s in summaries])
    exports = np.array([s.values["grid_export_kwh"].mean() for s in summaries])
    ax.bar(x, imports, color="0.45", label="import")
    ax.bar(x, exports, bottom=imports, color="0.75", label="export")
    for i, s in enumerate(summaries):
        red = float(s.values["main_grid_reduction_pct"].mean())
        label = f"{imports[i] + exports[i]:.0f} kWh" + ("" if s.scenario == "Grid" else f"\n{-red:+.1f}%")
        ax.text(i, imports[i] + exports[i], label, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [s.scenario for s in summaries])
    ax.set_ylabel("energy traded with the main grid (kWh per week)")
    ax.set_title("Energy traded with the main grid")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_ylim(0, float((imports + exports).max()) * 1.18)
    save(fig, "fig14_main_grid.png")

    # prices over the week, scenario All, first seed
    flows = result.flows[0]["All"]
    fig, ax = plt.subplots(figsize=(11, 4))
    t = np.arange(week.rounds) / 4.0
    for m, name in enumerate(MICROGRID_NAMES):
        ax.plot(t, 100 * flows.price_local[m], ".", ms=2, color=COLOURS[name], label=f"{name} own auction")
    ax.plot(t, 100 * flows.price_peers, "k.", ms=3, label="between microgrids")
    band = result.setup.band
    ax.axhline(100 * band.grid_buy, color="r", ls="--", lw=0.8, label="P_gb")
    ax.axhline(100 * band.grid_sell, color="g", ls="--", lw=0.8, label="P_gs")
    ax.set_xlabel("hours")
    ax.set_ylabel("clearing price (p/kWh)")
    ax.set_title("Clearing prices, scenario All, first mechanism seed")
    ax.legend(fontsize=7, ncol=3, loc="lower right")
    save(fig, "prices_all.png")
    return paths
