"""Dispatch when the community is called, rationing of a surplus, and the split of revenue.

**Dispatch** (:func:`dispatch`): the members able to act now are taken in order until the requested power is
met; each gives what it can, the last one only the rest. The order is the paper's template priority, T1 first
(its rationing order: "based on the priority of the templates (T1 to T4)"), then, within a template, the most
reliable first (the predicted probability of being available, :mod:`.prediction`: the member least likely to
be gone), then the one with most available power (for EVs: the most energy above the owner's reserve, i.e.
the highest state of charge), then the name. A spinning-reserve community has only EVs (T3), so it is
ordered by reliability and state of charge.

**Rationing** a renewable surplus between devices that can absorb it (the campus DR case) is the same walk:
the surplus goes to T1 devices first, then T2, T3, T4, each up to its power (:func:`dispatch` with the
surplus as the request).

**Revenue split** (:func:`split`): a call's revenue is divided in proportion to each member's contribution,
the kWh it delivered in the call; amounts are rounded to ``quantum`` by the largest-remainder rule and the
last sub-quantum rest goes to the largest contributor, so the shares always sum to the revenue exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

__all__ = ["Candidate", "dispatch", "dispatch_order", "split"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member able to act now: ``available_kw`` (> 0), its template ``priority`` and ``reliability``."""

    name: str
    priority: int
    available_kw: float
    reliability: float = 1.0


def dispatch_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The order members are called in (see the module docstring)."""
    return sorted(candidates, key=lambda c: (c.priority, -c.reliability, -c.available_kw, c.name))


def dispatch(request_kw: float, candidates: Iterable[Candidate]) -> dict[str, float]:
    """Member -> kW it gives, in dispatch order, until ``request_kw`` is met (or nobody is left); members
    that give nothing are not listed. The sum is ``min(request_kw, total available)``."""
    if request_kw < 0:
        raise ValueError("the requested power may not be negative")
    left = request_kw
    out: dict[str, float] = {}
    for c in dispatch_order(candidates):
        if left <= _EPS:
            break
        give = min(c.available_kw, left)
        if give > _EPS:
            out[c.name] = give
            left -= give
    return out


def split(amount: Decimal, contributions: Mapping[str, float], quantum: Decimal = Decimal("0.0001")) \
        -> dict[str, Decimal]:
    """``amount`` divided in proportion to ``contributions`` (see the module docstring); empty when nobody
    contributed."""
    weights = {k: Decimal(repr(v)) for k, v in contributions.items() if v > 0}
    total = sum(weights.values(), Decimal(0))
    if total <= 0:
        return {}
    exact = {k: amount * w / total for k, w in weights.items()}
    shares = {k: v.quantize(quantum, rounding=ROUND_FLOOR) for k, v in exact.items()}
    units = int(((amount - sum(shares.values(), Decimal(0))) / quantum).to_integral_value(rounding=ROUND_FLOOR))
    for k in sorted(exact, key=lambda k: (-(exact[k] - shares[k]), k))[:max(0, units)]:
        shares[k] += quantum
    rest = amount - sum(shares.values(), Decimal(0))
    if rest:
        largest = max(weights, key=lambda k: (weights[k], k))
        shares[largest] += rest
    return shares
