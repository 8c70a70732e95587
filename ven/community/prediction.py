"""Each member's availability predicted from its own history, and the community's critical hours.

**Per member, per hour of the day** (the paper's Naive-Bayes reading of the app's data: how likely is the EV
plugged in at 08:00 given what it did on past days): over the last ``days`` days of history,

    P(available at hour h) = (days available at h + 1) / (days + 2)

(the frequency with Laplace smoothing, so a short history is never certain: with no history it is 1/2), and
the expected energy when available is the mean of the energy it could give at h on the days it was there
(no such day: the declared power). The community's *expected available power* at h is the sum over members
of P x energy (energy for an hour-long call, counted as kW as the paper does).

**Critical hours** are the hours of least expected available power. The paper names them from its data
(08-10 and 18-21, after the commutes); :func:`critical_hours` finds them in a history, and
:func:`criticality_levels` grades the hours the community rewards: level 3 where the expected power is below
60 % of the day's mean, 2 below 85 %, else 1 (the weight of a token reward, :mod:`.tokens`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from transactive.ven.community.fleet import History

__all__ = ["Prediction", "critical_hours", "criticality_levels", "predict"]


@dataclass(frozen=True, slots=True)
class Prediction:
    """``probability[h, i]``: P(member i available at hour h); ``energy_kwh[h, i]``: its mean energy then."""

    names: tuple[str, ...]
    probability: np.ndarray
    energy_kwh: np.ndarray
    days: int

    @property
    def expected_kw(self) -> np.ndarray:
        """The community's expected available power per hour of the day (24 values)."""
        result: np.ndarray = (self.probability * self.energy_kwh).sum(axis=1)
        return result

    def reliability(self, name: str, hour: int) -> float:
        return float(self.probability[hour, self.names.index(name)])

    def expected(self, name: str, hour: int) -> float:
        i = self.names.index(name)
        return float(self.probability[hour, i] * self.energy_kwh[hour, i])


def predict(history: History, *, days: int = 28, upto: int | None = None) -> Prediction:
    """The prediction from the ``days`` days of ``history`` before day ``upto`` (default: its end)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    end = history.days if upto is None else max(0, min(upto, history.days))
    window = history.window(max(0, end - days), end)
    seen = window.days
    counts = window.available.sum(axis=0).astype(float)
    probability = (counts + 1.0) / (seen + 2.0)
    totals = np.where(window.available, window.energy_kwh, 0.0).sum(axis=0)
    declared = np.array([m.power_kw if not m.is_ev else max(0.0, min(m.power_kw, m.battery_kwh - m.reserve_kwh))
                         for m in history.members])
    energy = np.where(counts > 0, totals / np.maximum(counts, 1.0), declared[None, :])
    return Prediction(tuple(m.name for m in history.members), probability, energy, seen)


def critical_hours(prediction: Prediction, count: int = 5) -> list[int]:
    """The ``count`` hours of the day with the least expected available power, in hour order."""
    expected = prediction.expected_kw
    return sorted(int(h) for h in np.argsort(expected, kind="stable")[:count])


def criticality_levels(expected_kw: np.ndarray, hours: Iterable[int]) -> dict[int, int]:
    """The criticality level (1-3) of each of ``hours`` from the expected available power per hour."""
    mean = float(np.mean(expected_kw)) if len(expected_kw) else 0.0
    levels: dict[int, int] = {}
    for h in hours:
        ratio = float(expected_kw[h]) / mean if mean > 0 else 0.0
        levels[int(h)] = 3 if ratio < 0.6 else 2 if ratio < 0.85 else 1
    return levels
