"""What every VEN personality is: a pure, clock-free model of one device behind a meter.

A personality never reads a clock and keeps no hidden randomness: every method takes the (simulated)
interval it is asked about, and noise is drawn from a generator seeded by ``(seed, interval start)``, so
the same personality with the same seed answers the same way whatever order it is asked in. The runtime
(:mod:`transactive.ven.runtime`) asks it, per market interval:

1. :meth:`Personality.plan` — the tenders it wants for the interval: :class:`Need` s (side, kWh, limit
   price), given the market's price band (the main grid's prices, or the market's reserve band);
2. :meth:`Personality.on_transaction` — after gate closure, each transaction it got (the battery books its
   state of charge here; the others need nothing);
3. :meth:`Personality.metered` — after the interval, what its meter measured: the energy it really
   produced (``sold``) and consumed (``bought``) in the interval: the forecast plus noise;
4. :meth:`Personality.on_price` — each clearing price it sees (price history, for the battery's limits).

Quantities are kWh per interval, prices currency per kWh. Signs: ``Need.quantity_kwh`` is positive; the
side says the direction.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices

__all__ = ["Metered", "Need", "Personality", "interval_rng"]


@dataclass(frozen=True, slots=True)
class Need:
    """One tender a personality wants: ``quantity_kwh`` on ``side`` at no worse than ``limit_price``."""

    side: Side
    quantity_kwh: float
    limit_price: float

    def __post_init__(self) -> None:
        if not self.quantity_kwh > 0:
            raise ValueError("a need's quantity must be positive")


@dataclass(frozen=True, slots=True)
class Metered:
    """What the meter measured over one interval: energy exported (``sold_kwh``) and imported (``bought_kwh``)."""

    sold_kwh: float = 0.0
    bought_kwh: float = 0.0


def interval_rng(seed: int, start: datetime, salt: str = "") -> np.random.Generator:
    """A generator determined by ``seed``, the interval's start and ``salt`` (order-independent noise)."""
    digest = hashlib.sha256(f"{seed}|{start.isoformat()}|{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


class Personality(ABC):
    """A device agent. Subclasses set :attr:`name` and :attr:`default_capacity_kw` and implement
    :meth:`forecast_kwh` (signed: positive imports, negative exports) and :meth:`plan`."""

    #: the name the registry and ``--personality`` use
    name: ClassVar[str]
    #: the capacity (kW) used when none is given
    default_capacity_kw: ClassVar[float] = 5.0
    #: relative standard deviation of the meter around the forecast
    meter_noise: ClassVar[float] = 0.03

    def __init__(self, capacity_kw: float | None = None, *, seed: int = 0) -> None:
        capacity = self.default_capacity_kw if capacity_kw is None else float(capacity_kw)
        if not capacity > 0:
            raise ValueError("the capacity must be a positive number of kW")
        self.capacity_kw = capacity
        self.seed = int(seed)

    # -- what subclasses provide -----------------------------------------------------------------

    @abstractmethod
    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        """The expected net energy over the interval: positive = import (consumption), negative = export."""

    @abstractmethod
    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        """The tenders for the interval (none, one, or — the battery — one per side)."""

    # -- shared behaviour --------------------------------------------------------------------------

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        """The meter: the forecast times ``1 + e``, ``e ~ N(0, meter_noise)`` clipped to +-3 sigma."""
        net = self.forecast_kwh(start, duration)
        noise = float(np.clip(interval_rng(self.seed, start, "meter").normal(0.0, self.meter_noise),
                              -3 * self.meter_noise, 3 * self.meter_noise))
        actual = net * (1.0 + noise)
        return Metered(sold_kwh=-actual if actual < 0 else 0.0, bought_kwh=actual if actual > 0 else 0.0)

    def on_transaction(self, start: datetime, side: Side, quantity_kwh: float, price: float) -> None:  # noqa: B027
        """A transaction for the interval starting ``start`` was agreed (default: nothing to book)."""

    def on_price(self, start: datetime, price: float) -> None:  # noqa: B027
        """The market cleared the interval starting ``start`` at ``price`` (default: ignored)."""

    @property
    def state_of_charge(self) -> float | None:
        """The stored energy as a fraction of the capacity, for devices that store energy (else None)."""
        return None

    def describe(self) -> str:
        return f"{self.name} {self.capacity_kw:g} kW"
