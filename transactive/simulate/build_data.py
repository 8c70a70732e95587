"""The shipped week of the IOTA double-auction reproduction, built offline from public data (issue 16).

The paper (Mullaney et al., Section IV) uses a week of a GECAD microgrid in Porto, Portugal (its reference
[34]: five PV agents, copied into three microgrids, one with its generation shifted by 12 hours, one with a
high consumption). That data set is not reachable here, so :func:`build_week` makes an equivalent week from
public data installed with the ``paper`` extra (``pip install 'transactive[paper]'``), with no network:

* **Rounds**: 15 minutes, one week, 2016-03-14T00:00Z (a Monday) to 2016-03-20T23:45Z, 672 rounds. Porto's
  civil time is WET = UTC+0 in that week (summer time began on 27 March 2016), so local time is UTC. A March
  week: days of 11.9 to 12.2 hours, real midday PV, household demand still at its winter level.
* **Loads**: SimBench's household profiles (``LoadProfile.csv`` of the data set
  ``1-complete_data-mixed-all-0-sw`` in the installed ``simbench`` package, active power ``H0-A``, ``H0-B``,
  ``H0-C``, ``H0-G``, ``H0-L``; 15-minute values of the year 2016, each time stamp the start of its interval).
  ``H0-H`` is left out: its plateau at 80 % of its peak from 08:00 to 21:00 and its 5812 full-load hours are
  no single household's. Each profile is normalised to a year's energy of 1 (its 2016 sum), then scaled by the
  prosumer's annual consumption: ``load_Wh[t] = annual_kWh * 1000 * p[t] / sum(p)``. SimBench's clock is read
  as the household's local clock, which here is UTC. Every microgrid uses each of the five profiles once, in
  an order drawn from the seed.
* **PV**: pvlib for a site at GECAD, ISEP, Porto (41.178 N, 8.608 W, 90 m): solar position (NREL SPA), clear-sky
  irradiance by Ineichen-Perez with pvlib's monthly Linke turbidity climatology, transposed to a south-facing
  plane tilted 30 degrees by the Hay-Davies model (albedo 0.2), the direct part reduced by the physical
  (Fresnel) incidence-angle model of glass, cell temperature by Faiman's model at a constant 13 C air
  temperature and 2 m/s wind (about Porto's March mean), then PVWatts: ``pvwatts_dc`` with gamma = -0.37 %/K,
  PVWatts' default system losses (14.08 %: soiling, shading, mismatch, wiring, connections, LID, nameplate,
  availability), and the PVWatts inverter (nominal efficiency 96 %, DC/AC ratio 1.1). Power is computed at
  every minute's midpoint and averaged over the round.
* **Weather**: a daily clearness factor from SimBench's eight PV profiles (``RESProfile.csv``, ``PV1``..``PV8``,
  2016): for each profile and day, the day's energy divided by the largest daily energy of that profile in
  the 31 days centred on the day (its clear-day envelope); the factor is the mean over the eight profiles,
  at most 1. It scales the clear-sky plane-of-array irradiance of the day (all components alike) before the
  temperature and PVWatts steps. For 13-20 March 2016: 0.26, 0.48, 0.78, 0.87, 0.76, 0.35, 0.83, 0.58.
* **Sizes**: every prosumer has PV, and each microgrid mixes two kinds, as the paper's Fig. 1 does
  (prosumers and consumers): *producers* with a large roof for their load (1500-3000 kWh/a, 2.75-4.25 kWp)
  and *consumers* with a small one (5000-8000 kWh/a, 0.5-1.0 kWp; in MG2, the high-consumption grid,
  6000-9000 kWh/a). MG1 and MG3: P1-P2 producers, P3-P5 consumers; MG2: P1 a producer, P2-P5 consumers.
  The mix is what lets a microgrid trade inside itself: in the paper's Grid scenario producers gain 166 %
  per Wh sold against P_gs = 3.2 p/kWh, a Wh sold to the main grid gaining nothing, so with prices at most
  P_gb = 18.9 p/kWh at least 1.664 * 3.2 / 15.7 = 34 % of the energy sold (more at lower prices) went to
  neighbours in the same round, which a microgrid of alike prosumers, all in surplus at noon, cannot do.
  Drawn from the seed (``numpy.random.default_rng(seed)``; per microgrid in order MG1, MG2, MG3: the order of
  the five profiles, then five uniform numbers for the consumptions, then five for the PV sizes, each mapped
  onto its prosumer's range; kWh/a rounded to 1, kWp to 0.01). Over the week PV covers about half of MG1's
  and MG3's load and a quarter of MG2's; every microgrid's summed net demand exceeds its summed net surplus
  in most rounds (the paper: "for a majority of the bidding rounds, demand far exceeds supply"), while MG1
  and MG3 have net surpluses around their noon on every day (the paper's Fig. 9), least on the cloudy days.
* **MG3's shift**: MG3's generation in round t is the generation of round t - 12 h (computed from 2016-03-13
  12:00Z with that day's clearness, so nothing wraps around); it is in the data.
* Values are rounded to 0.001 Wh, the resolution of the CSV, so the built week and the written file agree.

``docs/paper-iota-data.md`` lists the same choices, the drawn sizes and the summary of the shipped week
(``paper_iota_week.csv``, built with :data:`DEFAULT_SEED`). pandas and pvlib are imported inside
:func:`build_week` only.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from transactive.simulate.week import MICROGRIDS, PROSUMERS, Week

__all__ = [
    "CLEARNESS_WINDOW_DAYS",
    "DEFAULT_SEED",
    "LOAD_PROFILES",
    "PV_PROFILES",
    "PV_SYSTEM",
    "ROUNDS",
    "COMPOSITION",
    "CONSUMER",
    "HIGH_CONSUMER",
    "PRODUCER",
    "SITE",
    "SIMBENCH_DATASET",
    "WEEK_START",
    "BuildDataUnavailable",
    "MicrogridSummary",
    "Prosumer",
    "PvSystem",
    "Site",
    "SizeRange",
    "build_week",
    "clearness",
    "describe",
    "prosumers",
    "simbench_directory",
    "week_summary",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_SEED = 16
WEEK_START = datetime(2016, 3, 14, tzinfo=UTC)
ROUND = timedelta(minutes=15)
ROUNDS = 7 * 96
SHIFT_ROUNDS = 48  # MG3: 12 hours

SIMBENCH_DATASET = "1-complete_data-mixed-all-0-sw"
LOAD_PROFILES = ("H0-A", "H0-B", "H0-C", "H0-G", "H0-L")
PV_PROFILES = tuple(f"PV{n}" for n in range(1, 9))
CLEARNESS_WINDOW_DAYS = 31


@dataclass(frozen=True)
class Site:
    name: str
    latitude: float  # degrees north
    longitude: float  # degrees east
    altitude: float  # m


@dataclass(frozen=True)
class PvSystem:
    """The PV system's parameters (per kWp; PVWatts-style)."""

    surface_tilt: float = 30.0  # degrees from horizontal
    surface_azimuth: float = 180.0  # degrees from north: south
    albedo: float = 0.2
    temp_air: float = 13.0  # C, constant
    wind_speed: float = 2.0  # m/s, constant
    gamma_pdc: float = -0.0037  # 1/K
    dc_ac_ratio: float = 1.1
    eta_inv_nom: float = 0.96


#: the site: GECAD at ISEP, Porto (the paper's data, its reference [34])
SITE = Site("GECAD, ISEP, Porto, Portugal", 41.178, -8.608, 90.0)
PV_SYSTEM = PvSystem()


@dataclass(frozen=True)
class SizeRange:
    """A kind of prosumer: the ranges its annual consumption (kWh/a) and PV size (kWp) are drawn from."""

    kind: str
    annual_kwh: tuple[float, float]
    kwp: tuple[float, float]


PRODUCER = SizeRange("producer", (1500.0, 3000.0), (2.75, 4.25))
CONSUMER = SizeRange("consumer", (5000.0, 8000.0), (0.5, 1.0))
HIGH_CONSUMER = SizeRange("consumer", (6000.0, 9000.0), (0.5, 1.0))
#: per microgrid, the kind of each of its five prosumers (MG2 is the high-consumption grid)
COMPOSITION: tuple[tuple[SizeRange, ...], ...] = (
    (PRODUCER, PRODUCER, CONSUMER, CONSUMER, CONSUMER),
    (PRODUCER, HIGH_CONSUMER, HIGH_CONSUMER, HIGH_CONSUMER, HIGH_CONSUMER),
    (PRODUCER, PRODUCER, CONSUMER, CONSUMER, CONSUMER),
)

_SLOTS_PER_DAY = 96
_DAYS_2016 = 366
_MINUTES_PER_ROUND = 15


class BuildDataUnavailable(RuntimeError):
    """The data or libraries the builder needs are not installed (the ``paper`` extra), or not as expected."""


@dataclass(frozen=True)
class Prosumer:
    """One prosumer's draws: its SimBench load profile, annual consumption and PV size."""

    microgrid: int  # 1..3
    index: int  # 1..5
    kind: str  # producer / consumer
    profile: str
    annual_kwh: float
    kwp: float


def prosumers(seed: int = DEFAULT_SEED) -> list[Prosumer]:
    """The 15 prosumers' draws for ``seed`` (MG1 P1..P5, MG2 P1..P5, MG3 P1..P5); no data files needed."""
    rng = np.random.default_rng(seed)
    out: list[Prosumer] = []
    for m, kinds in enumerate(COMPOSITION):
        order = rng.permutation(len(LOAD_PROFILES))
        u_kwh = rng.uniform(0.0, 1.0, PROSUMERS)
        u_kwp = rng.uniform(0.0, 1.0, PROSUMERS)
        for i, size in enumerate(kinds):
            (kwh_low, kwh_high), (kwp_low, kwp_high) = size.annual_kwh, size.kwp
            kwh = round(kwh_low + (kwh_high - kwh_low) * float(u_kwh[i]))
            kwp = round(kwp_low + (kwp_high - kwp_low) * float(u_kwp[i]), 2)
            out.append(Prosumer(m + 1, i + 1, size.kind, LOAD_PROFILES[int(order[i])], float(kwh), kwp))
    return out


def simbench_directory() -> Path:
    """The installed SimBench data set's directory, found without importing simbench (it pulls pandapower)."""
    spec = importlib.util.find_spec("simbench")
    if spec is None or not spec.submodule_search_locations:
        raise BuildDataUnavailable("simbench is not installed; pip install 'transactive[paper]'")
    for location in spec.submodule_search_locations:
        directory = Path(location) / "networks" / SIMBENCH_DATASET
        if (directory / "LoadProfile.csv").is_file() and (directory / "RESProfile.csv").is_file():
            return directory
    raise BuildDataUnavailable(f"simbench is installed but has no networks/{SIMBENCH_DATASET}/ profiles")


# ------------------------------------------------------------------------------------------- SimBench


def _read_profiles(path: Path, columns: tuple[str, ...]) -> FloatArray:
    """The 2016 columns of a SimBench profile file, shape (len(columns), 366 * 96), checked against its clock."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=";", usecols=["time", *columns], dtype={c: "float64" for c in columns})
    except (OSError, ValueError) as exc:
        raise BuildDataUnavailable(f"{path}: cannot read the columns {', '.join(columns)}: {exc}") from None
    times = frame["time"]
    expected_rows = _DAYS_2016 * _SLOTS_PER_DAY
    if len(frame) != expected_rows or times.iloc[0] != "01.01.2016 00:00" or times.iloc[-1] != "31.12.2016 23:45":
        raise BuildDataUnavailable(f"{path}: not the 15-minute profiles of 2016 this builder expects")
    values = np.asarray(frame[list(columns)].to_numpy(dtype=np.float64).T, dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise BuildDataUnavailable(f"{path}: profile values that are negative or not numbers")
    return values


def _day_of_year(moment: datetime) -> int:
    return (moment.date() - datetime(moment.year, 1, 1).date()).days


def clearness(pv_profiles: FloatArray, window_days: int = CLEARNESS_WINDOW_DAYS) -> FloatArray:
    """Daily clearness from PV profiles of shape (n, days * 96): per profile, each day's energy over the largest
    daily energy within ``window_days`` centred on it (cut at the ends of the year), averaged over the profiles,
    in [0, 1]."""
    daily = pv_profiles.reshape(pv_profiles.shape[0], -1, _SLOTS_PER_DAY).sum(axis=2)
    days = daily.shape[1]
    half = window_days // 2
    envelope = np.empty_like(daily)
    for d in range(days):
        envelope[:, d] = daily[:, max(0, d - half) : d + half + 1].max(axis=1)
    ratio = np.divide(daily, envelope, out=np.zeros_like(daily), where=envelope > 0)
    return np.asarray(np.clip(ratio.mean(axis=0), 0.0, 1.0), dtype=np.float64)


# ------------------------------------------------------------------------------------------- pvlib


def _pv_per_kwp(start: datetime, rounds: int, daily_clearness: FloatArray) -> FloatArray:
    """AC energy (Wh) per round of 1 kWp at the site, from ``start`` for ``rounds`` rounds."""
    import pandas as pd
    import pvlib

    s, site_ = PV_SYSTEM, SITE
    minutes = pd.date_range(
        pd.Timestamp(start) + pd.Timedelta(seconds=30), periods=rounds * _MINUTES_PER_ROUND, freq="1min"
    )
    site = pvlib.location.Location(site_.latitude, site_.longitude, tz="UTC", altitude=site_.altitude)
    sun = site.get_solarposition(minutes)
    sky = site.get_clearsky(minutes, model="ineichen", solar_position=sun)
    poa = pvlib.irradiance.get_total_irradiance(
        s.surface_tilt,
        s.surface_azimuth,
        sun["apparent_zenith"],
        sun["azimuth"],
        sky["dni"],
        sky["ghi"],
        sky["dhi"],
        dni_extra=pvlib.irradiance.get_extra_radiation(minutes),
        albedo=s.albedo,
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(s.surface_tilt, s.surface_azimuth, sun["apparent_zenith"], sun["azimuth"])
    direct = _array(poa["poa_direct"]) * _array(pvlib.iam.physical(aoi))
    clear = np.nan_to_num(direct + _array(poa["poa_diffuse"]))
    day = np.asarray(minutes.dayofyear, dtype=np.int64) - 1
    irradiance = np.maximum(clear, 0.0) * daily_clearness[day]
    cell = _array(pvlib.temperature.faiman(irradiance, s.temp_air, s.wind_speed))
    pdc0 = 1000.0
    dc = _array(pvlib.pvsystem.pvwatts_dc(irradiance, cell, pdc0, s.gamma_pdc))
    dc = dc * (1.0 - float(pvlib.pvsystem.pvwatts_losses()) / 100.0)
    ac = _array(pvlib.inverter.pvwatts(dc, pdc0 / s.dc_ac_ratio, s.eta_inv_nom))
    ac = np.maximum(np.nan_to_num(ac), 0.0)
    return np.asarray(ac.reshape(rounds, _MINUTES_PER_ROUND).mean(axis=1) * (_MINUTES_PER_ROUND / 60.0))


def _array(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


# ------------------------------------------------------------------------------------------- the week


def build_week(seed: int = DEFAULT_SEED) -> Week:
    """The week for ``seed`` (module docstring); BuildDataUnavailable without the ``paper`` extra."""
    try:
        import pandas  # noqa: F401
        import pvlib  # noqa: F401
    except ImportError as exc:
        raise BuildDataUnavailable(f"{exc.name} is not installed; pip install 'transactive[paper]'") from None
    directory = simbench_directory()
    loads = _read_profiles(directory / "LoadProfile.csv", tuple(f"{p}_pload" for p in LOAD_PROFILES))
    shapes = loads / loads.sum(axis=1, keepdims=True)
    first = _day_of_year(WEEK_START) * _SLOTS_PER_DAY
    week_shapes = dict(zip(LOAD_PROFILES, shapes[:, first : first + ROUNDS], strict=True))

    daily_clearness = clearness(_read_profiles(directory / "RESProfile.csv", PV_PROFILES))
    unit = _pv_per_kwp(WEEK_START - SHIFT_ROUNDS * ROUND, ROUNDS + SHIFT_ROUNDS, daily_clearness)
    unshifted, shifted = unit[SHIFT_ROUNDS:], unit[:ROUNDS]

    load = np.empty((MICROGRIDS, PROSUMERS, ROUNDS))
    pv = np.empty((MICROGRIDS, PROSUMERS, ROUNDS))
    for p in prosumers(seed):
        m, i = p.microgrid - 1, p.index - 1
        load[m, i] = week_shapes[p.profile] * p.annual_kwh * 1000.0
        pv[m, i] = (shifted if p.microgrid == 3 else unshifted) * p.kwp
    times = tuple((WEEK_START + t * ROUND).isoformat() for t in range(ROUNDS))
    return Week(times, np.round(load, 3) + 0.0, np.round(pv, 3) + 0.0)


# ------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class MicrogridSummary:
    name: str
    load_kwh: float
    pv_kwh: float
    demand_rounds: float  # share of rounds where the summed net demand exceeds the summed net surplus


def week_summary(week: Week) -> list[MicrogridSummary]:
    """Per microgrid (and ``all`` of them): load and PV energy, and the share of demand-dominated rounds."""
    net = week.load - week.pv
    demand = np.maximum(net, 0.0).sum(axis=1)  # (m, t)
    surplus = np.maximum(-net, 0.0).sum(axis=1)
    out = [
        MicrogridSummary(
            f"MG{m + 1}",
            float(week.load[m].sum()) / 1000.0,
            float(week.pv[m].sum()) / 1000.0,
            float((demand[m] > surplus[m]).mean()),
        )
        for m in range(MICROGRIDS)
    ]
    out.append(
        MicrogridSummary(
            "all",
            float(week.load.sum()) / 1000.0,
            float(week.pv.sum()) / 1000.0,
            float((demand.sum(axis=0) > surplus.sum(axis=0)).mean()),
        )
    )
    return out


def describe(week: Week) -> list[str]:
    """Human-readable summary lines of ``week`` (what ``transactive simulate build-data`` prints)."""
    lines = [f"{week.rounds} rounds from {week.times[0]} to {week.times[-1]}"]
    for s in week_summary(week):
        lines.append(
            f"{s.name}: load {s.load_kwh:.1f} kWh, PV {s.pv_kwh:.1f} kWh, "
            f"net demand above net surplus in {100 * s.demand_rounds:.1f}% of rounds"
        )
    return lines
