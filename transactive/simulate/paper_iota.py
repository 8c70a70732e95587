"""The IOTA double-auction experiment (seed paper 004, Mullaney et al., Section IV-B) on a week of data.

Three microgrids of five PV prosumers trade in 15-minute bidding rounds. In every round:

1. **Self-consumption first.** A prosumer uses its own PV; what it still needs it bids for (a buy limit
   order), what it has left it offers (a sell limit order). Limits are the grid prices: P_gb = 18.9 p/kWh
   to buy, P_gs = 3.2 p/kWh to sell.
2. **The microgrid's own auction.** The paper's uniform-price double auction in its experiment mode: all of
   min(demand, supply) is matched and the bids only set the price, equation (1). Bids start random (ZI-C)
   and are revised by AA over update rounds (equations (2), (3), Algorithm 1) until consensus or the round
   limit (:func:`transactive.market.strategies.batch.run_rounds_batch`, parameters in
   :class:`~transactive.market.strategies.AAParams`).
3. **The connected microgrids' auction** (scenarios other than Grid). Each microgrid's unmatched residual
   becomes one aggregate order (a buy when its demand was left over, a sell when its supply was) in an
   auction among the microgrids of the scenario, run by the same mechanism; a microgrid's price there is
   passed on to its members by a uniform price correction (every member whose energy went up gets the same
   average terms; :mod:`transactive.market.hierarchy` documents it).
4. **The main grid** takes the rest: imports at P_gb, exports at P_gs.

The scenarios (the paper's Fig. 8): ``Grid`` (every microgrid alone with the main grid), ``MG1+MG2``,
``MG1+MG3``, ``MG2+MG3`` (two connected, the third alone) and ``All``.

**Common random numbers.** A microgrid's own auction does not depend on the scenario, so for each
mechanism seed it is computed once, with its own random stream (seed, microgrid), and shared by all five
scenarios; each scenario's upper auction has its own stream (seed, scenario). Differences between scenarios
are then never noise from the internal auctions.

**Metrics** (the issue's definitions; ``docs/paper-iota.md`` shows why averaging over P2P energy only cannot
give both of the paper's numbers):

* producers' benefit = sum over every Wh a producer sells of ``(price - P_gs) / P_gs``, divided by all the Wh
  sold (to peers and to the main grid; a Wh sold to the main grid counts 0 %); consumers' benefit likewise
  with ``(P_gb - price) / P_gb`` over all Wh bought. Weighted by Wh over the agents of the microgrids the
  scenario involves (all three in Grid and All);
* ``main_grid_kwh`` = import + export over all three microgrids (one outside a pair counts with its Grid
  values); ``p2p_kwh`` = energy traded within and between microgrids over all three, each Wh once;
  ``mean_p2p_price`` the Wh-weighted mean price of that energy, in p/kWh.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from transactive.market.auction import ReservePrices
from transactive.market.hierarchy import DUST
from transactive.market.orders import FloatArray
from transactive.market.strategies.aa import AAParams
from transactive.market.strategies.batch import BatchRounds, run_rounds_batch
from transactive.simulate.week import Week

__all__ = [
    "MICROGRID_NAMES",
    "SCENARIOS",
    "METRICS",
    "Flows",
    "Reproduction",
    "ScenarioSummary",
    "Setup",
    "SENSITIVITY",
    "sensitivity",
    "simulate",
    "with_params",
]

MICROGRID_NAMES = ("MG1", "MG2", "MG3")
#: scenario name -> the microgrids (0-based) that trade with each other; Grid: none
SCENARIOS: dict[str, tuple[int, ...]] = {
    "Grid": (),
    "MG1+MG2": (0, 1),
    "MG1+MG3": (0, 2),
    "MG2+MG3": (1, 2),
    "All": (0, 1, 2),
}
#: the numbers of one table row, in the order of the contract's JSON keys
METRICS = ("producers_benefit_pct", "consumers_benefit_pct", "p2p_kwh", "main_grid_kwh", "mean_p2p_price")


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything that defines a run besides the data."""

    params: AAParams = field(default_factory=AAParams.paper)
    band: ReservePrices = field(default_factory=ReservePrices.paper)
    #: number of mechanism seeds; seed k uses the random streams (base_seed + k, level)
    seeds: int = 5
    base_seed: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Flows:
    """Energy (kWh) and money (pounds) per microgrid and round for one seed and one scenario: arrays (3, T)."""

    self_consumed: FloatArray
    bought_local: FloatArray
    sold_local: FloatArray
    paid_local: FloatArray
    received_local: FloatArray
    bought_peers: FloatArray
    sold_peers: FloatArray
    paid_peers: FloatArray
    received_peers: FloatArray
    grid_import: FloatArray
    grid_export: FloatArray
    #: each microgrid's own clearing price (NaN where nothing traded) and the upper auction's, (T,)
    price_local: FloatArray
    price_peers: FloatArray

    @property
    def bought(self) -> FloatArray:
        return self.bought_local + self.bought_peers + self.grid_import

    @property
    def sold(self) -> FloatArray:
        return self.sold_local + self.sold_peers + self.grid_export


@dataclass(frozen=True, slots=True, eq=False)
class _Internal:
    """One seed's three internal auctions (shared by every scenario)."""

    demand: FloatArray  # (3, T) kWh bid for after self-consumption
    supply: FloatArray  # (3, T)
    matched: FloatArray  # (3, T)
    price: FloatArray  # (3, T)
    at_limit: int  # auctions stopped by the round limit
    auctions: int


@dataclass(frozen=True, slots=True, eq=False)
class ScenarioSummary:
    """One scenario over every seed: each metric as an array with one value per seed."""

    scenario: str
    #: the microgrids whose agents the benefits are averaged over
    involved: tuple[str, ...]
    values: dict[str, FloatArray]
    #: per microgrid: producers'/consumers' benefit (%), gain and saving (pounds), p2p and main-grid kWh
    per_microgrid: dict[str, dict[str, FloatArray]]

    def row(self) -> dict[str, Any]:
        """The contract's JSON object: means over seeds, with ``_min``/``_max`` for the spread, and extras."""
        out: dict[str, Any] = {"scenario": self.scenario}
        for key in METRICS:
            out[key] = _round(float(self.values[key].mean()))
        for key in METRICS:
            out[f"{key}_min"] = _round(float(self.values[key].min()))
            out[f"{key}_max"] = _round(float(self.values[key].max()))
        for key in sorted(set(self.values) - set(METRICS)):
            out[key] = _round(float(self.values[key].mean()))
        out["involved"] = list(self.involved)
        out["per_microgrid"] = {
            name: {k: _round(float(v.mean())) for k, v in metrics.items()}
            for name, metrics in self.per_microgrid.items()
        }
        return out


def _round(x: float) -> float:
    if not math.isfinite(x):  # every division above is guarded: this would be a bug, not a result
        raise ValueError(f"a metric is not finite: {x}")
    return round(x, 6)


@dataclass(frozen=True, slots=True, eq=False)
class Reproduction:
    """Every seed and scenario of one run: ``flows[seed][scenario]``, and the summaries."""

    week: Week
    setup: Setup
    flows: list[dict[str, Flows]]
    #: auctions (internal and upper) that the round limit stopped, and all auctions, over every seed
    at_limit: int
    auctions: int

    def summaries(self) -> list[ScenarioSummary]:
        return [self.summary(name) for name in SCENARIOS]

    def summary(self, scenario: str) -> ScenarioSummary:
        involved = SCENARIOS[scenario] or (0, 1, 2)
        band = self.setup.band
        per_seed: dict[str, list[float]] = {}
        per_mg: dict[str, dict[str, list[float]]] = {MICROGRID_NAMES[m]: {} for m in involved}
        for seed_flows in self.flows:
            f = seed_flows[scenario]
            values = _metrics(f, list(involved), band)
            values["main_grid_reduction_pct"] = 0.0
            if scenario != "Grid":
                base = _metrics(seed_flows["Grid"], [0, 1, 2], band)["main_grid_kwh"]
                values["main_grid_reduction_pct"] = 100.0 * (base - values["main_grid_kwh"]) / base if base else 0.0
            for k, v in values.items():
                per_seed.setdefault(k, []).append(v)
            for m in involved:
                for k, v in _metrics(f, [m], band, system=False).items():
                    per_mg[MICROGRID_NAMES[m]].setdefault(k, []).append(v)
        return ScenarioSummary(
            scenario=scenario,
            involved=tuple(MICROGRID_NAMES[m] for m in involved),
            values={k: np.asarray(v, dtype=np.float64) for k, v in per_seed.items()},
            per_microgrid={
                name: {k: np.asarray(v, dtype=np.float64) for k, v in metrics.items()}
                for name, metrics in per_mg.items()
            },
        )

    def table(self) -> list[dict[str, Any]]:
        return [s.row() for s in self.summaries()]


def _metrics(f: Flows, involved: list[int], band: ReservePrices, *, system: bool = True) -> dict[str, float]:
    """The benefits over the agents of ``involved``.

    With ``system``, ``p2p_kwh``, ``mean_p2p_price`` and the grid energy are over all three microgrids (each P2P Wh
    once); without, over what the agents of ``involved`` bought and sold (the per-microgrid breakdown).
    """
    i = involved
    sold_p2p = f.sold_local[i].sum() + f.sold_peers[i].sum()
    received = f.received_local[i].sum() + f.received_peers[i].sum()
    bought_p2p = f.bought_local[i].sum() + f.bought_peers[i].sum()
    paid = f.paid_local[i].sum() + f.paid_peers[i].sum()
    sold_all = f.sold[i].sum()
    bought_all = f.bought[i].sum()
    gain = received - band.grid_sell * sold_p2p  # sum of (price - P_gs) over the Wh sold to peers
    saving = band.grid_buy * bought_p2p - paid  # sum of (P_gb - price) over the Wh bought from peers
    scope = [0, 1, 2] if system else i
    if system:  # each Wh once: the buyers' side of every P2P trade
        p2p = float(f.bought_local[scope].sum() + f.bought_peers[scope].sum())
        p2p_money = float(f.paid_local[scope].sum() + f.paid_peers[scope].sum())
    else:  # what these microgrids' agents traded with peers, bought or sold
        p2p = float(bought_p2p + sold_p2p)
        p2p_money = float(paid + received)
    return {
        "producers_benefit_pct": 100.0 * float(gain / band.grid_sell / sold_all) if sold_all > 0 else 0.0,
        "consumers_benefit_pct": 100.0 * float(saving / band.grid_buy / bought_all) if bought_all > 0 else 0.0,
        "p2p_kwh": p2p,
        "main_grid_kwh": float(f.grid_import[scope].sum() + f.grid_export[scope].sum()),
        "mean_p2p_price": 100.0 * p2p_money / p2p if p2p > 0 else 0.0,
        "producers_gain_gbp": float(gain),
        "consumers_saving_gbp": float(saving),
        "grid_import_kwh": float(f.grid_import[scope].sum()),
        "grid_export_kwh": float(f.grid_export[scope].sum()),
    }


def _rng(setup: Setup, seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([setup.base_seed + seed, stream])


def _internal(load: FloatArray, pv: FloatArray, setup: Setup, seed: int) -> tuple[_Internal, FloatArray]:
    """The three microgrids' own auctions for one seed; also returns the self-consumption (3, T)."""
    own = np.minimum(load, pv)
    need = load - own  # (3, 5, T)
    spare = pv - own
    demand = need.sum(axis=1)
    supply = spare.sum(axis=1)
    matched = np.zeros_like(demand)
    price = np.full(demand.shape, np.nan)
    at_limit = auctions = 0
    for m in range(load.shape[0]):
        is_buy = (need[m] > 0).T  # (T, 5)
        q = np.where(is_buy, need[m].T, spare[m].T)
        out = run_rounds_batch(is_buy, q, band=setup.band, rng=_rng(setup, seed, m), params=setup.params)
        matched[m] = out.final.matched
        price[m] = out.price
        stopped, held = _count(out, q)
        at_limit, auctions = at_limit + stopped, auctions + held
    return _Internal(demand, supply, matched, price, at_limit, auctions), own.sum(axis=1)


def _count(out: BatchRounds, q: FloatArray) -> tuple[int, int]:
    held = q.sum(axis=1) > 0
    return int((held & ~out.settled).sum()), int(held.sum())


def _flows(inner: _Internal, own: FloatArray, group: tuple[int, ...], setup: Setup, seed: int,
           stream: int) -> tuple[Flows, int, int]:
    # full overlap: what is left is max(demand - supply, 0) on one side only; dust (floating-point remainders of
    # the two ways of summing) goes straight to the main grid, as in transactive.market.hierarchy
    net = inner.demand - inner.supply
    residual_buy = np.where(net > DUST, net, 0.0)
    residual_sell = np.where(-net > DUST, -net, 0.0)
    dust_buy = np.where((net > 0) & (net <= DUST), net, 0.0)
    dust_sell = np.where((net < 0) & (-net <= DUST), -net, 0.0)
    price = np.nan_to_num(inner.price)
    local_money = inner.matched * price
    bought_peers = np.zeros_like(residual_buy)
    sold_peers = np.zeros_like(residual_buy)
    price_peers = np.full(residual_buy.shape[1], np.nan)
    at_limit = auctions = 0
    if group:
        g = list(group)
        is_buy = (residual_buy[g] > 0).T  # (T, k)
        q = np.where(is_buy, residual_buy[g].T, residual_sell[g].T)
        out = run_rounds_batch(is_buy, q, band=setup.band, rng=_rng(setup, seed, stream), params=setup.params)
        fills = out.fills.T  # (k, T)
        bought_peers[g] = np.where(is_buy.T, fills, 0.0)
        sold_peers[g] = np.where(is_buy.T, 0.0, fills)
        price_peers = out.price
        at_limit, auctions = _count(out, q)
    up = np.nan_to_num(price_peers)[None, :]
    flows = Flows(
        self_consumed=own,
        bought_local=inner.matched.copy(),
        sold_local=inner.matched.copy(),
        paid_local=local_money,
        received_local=local_money.copy(),
        bought_peers=bought_peers,
        sold_peers=sold_peers,
        paid_peers=bought_peers * up,
        received_peers=sold_peers * up,
        grid_import=np.maximum(residual_buy - bought_peers, 0.0) + dust_buy,
        grid_export=np.maximum(residual_sell - sold_peers, 0.0) + dust_sell,
        price_local=inner.price,
        price_peers=price_peers,
    )
    return flows, at_limit, auctions


def simulate(
    week: Week,
    setup: Setup = Setup(),
    *,
    progress: Callable[[str], None] | None = None,
) -> Reproduction:
    """Run every scenario for every seed over the week's rounds (Wh in the data, kWh and pounds inside)."""
    load = week.load / 1000.0
    pv = week.pv / 1000.0
    flows: list[dict[str, Flows]] = []
    at_limit = auctions = 0
    for seed in range(setup.seeds):
        inner, own = _internal(load, pv, setup, seed)
        at_limit, auctions = at_limit + inner.at_limit, auctions + inner.auctions
        per: dict[str, Flows] = {}
        for stream, name in enumerate(SCENARIOS, start=10):
            per[name], a, n = _flows(inner, own, SCENARIOS[name], setup, seed, stream)
            at_limit, auctions = at_limit + a, auctions + n
        flows.append(per)
        if progress is not None:
            progress(f"seed {seed + 1}/{setup.seeds} done")
    return Reproduction(week, setup, flows, at_limit, auctions)


def with_params(setup: Setup, **changes: Any) -> Setup:
    """``setup`` with some AA parameters changed (the sensitivity table's rows)."""
    return replace(setup, params=replace(setup.params, **changes))


#: the sensitivity table's rows: (command-line flag, AAParams field, value as the flag takes it), one at a time
SENSITIVITY: tuple[tuple[str, str, Any], ...] = (
    ("--step", "step", 0.05),
    ("--step", "step", 0.2),
    ("--update-rounds", "max_rounds", 10),
    ("--update-rounds", "max_rounds", 60),
    ("--initial-r", "initial_r", 0.0),
    ("--initial-r", "initial_r", -0.5),
    ("--free-move", "free_move", "keep-or-more"),
    ("--free-move", "free_move", "keep"),
    ("--free-move", "free_move", "random-walk"),
    ("--free-move", "free_move", "less-aggressive"),
    ("--stop", "stop", "settled"),
    ("--tolerance", "tolerance", 0.1),
    ("--variant", "variant", "printed"),
    ("--rule", "rule", "printed"),
    ("--rule", "rule", "symmetric"),
)
#: flag values in other units than the AAParams field: --tolerance is in p/kWh, the field in pounds per kWh
_FIELD_SCALE = {"tolerance": 0.01}


def sensitivity(week: Week, setup: Setup = Setup(), *, progress: Callable[[str], None] | None = None,
                rows: tuple[tuple[str, str, Any], ...] = SENSITIVITY) -> list[dict[str, Any]]:
    """The table over the unstated parameters: the defaults of ``setup``, then each row of ``rows`` alone.

    Each row's ``parameter`` is the command-line flag and ``value`` what the flag was given.
    """
    out = []
    for flag, name, value in (("defaults", "", "-"), *rows):
        field_value = value * _FIELD_SCALE[name] if name in _FIELD_SCALE else value
        run = setup if not name else with_params(setup, **{name: field_value})
        result = simulate(week, run)
        by_name = {s.scenario: s for s in result.summaries()}
        grid, every = by_name["Grid"].values, by_name["All"].values
        out.append({
            "parameter": flag,
            "value": value,
            "grid_producers_benefit_pct": _round(float(grid["producers_benefit_pct"].mean())),
            "grid_consumers_benefit_pct": _round(float(grid["consumers_benefit_pct"].mean())),
            "all_producers_benefit_pct": _round(float(every["producers_benefit_pct"].mean())),
            "all_consumers_benefit_pct": _round(float(every["consumers_benefit_pct"].mean())),
            "all_mean_p2p_price": _round(float(every["mean_p2p_price"].mean())),
            "all_main_grid_reduction_pct": _round(float(every["main_grid_reduction_pct"].mean())),
            "at_round_limit_pct": _round(100.0 * result.at_limit / result.auctions if result.auctions else 0.0),
        })
        if progress is not None:
            progress(f"{flag} {value}: done")
    return out
