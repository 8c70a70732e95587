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

Outside a market, an OpenADR VEN role asks it :meth:`Personality.on_event` for each interval of an event
(a price, a SIMPLE level, or on/off): it answers whether it takes part, and what it then does shows in its
:meth:`~Personality.forecast_kwh` and :meth:`~Personality.metered` for that time.

Every constructor parameter beyond ``capacity_kw`` and ``seed`` is declared in :attr:`Personality.params`
(:class:`Param`: name, default, unit, help), so ``transactive ven run`` offers it as a flag and in a
``--config`` TOML file, and ``transactive ven personalities`` lists it.

Quantities are kWh per interval, prices currency per kWh. Signs: ``Need.quantity_kwh`` is positive; the
side says the direction.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np

from transactive.emix import Side
from transactive.market import ReservePrices

__all__ = ["EventKind", "Metered", "Need", "Param", "Personality", "interval_rng"]


class EventKind(StrEnum):
    """What an OpenADR event interval asks of a device (see :meth:`Personality.on_event`)."""

    #: ``value`` is a price (currency/kWh)
    PRICE = "price"
    #: ``value`` is a SIMPLE level, 0 (normal) to 3 (shed the most)
    LEVEL = "level"
    #: ``value`` 0 asks the device off (no consumption it can avoid), 1 back to normal
    ONOFF = "onoff"


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a personality: its keyword ``name`` (``--name-with-dashes`` on the command line, the
    same name in a ``--config`` TOML file), its ``default``, ``unit`` and ``help``. The type is the default's
    (float, int, bool or str); ``choices`` restricts a string."""

    name: str
    default: float | int | bool | str
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> type:
        return type(self.default)

    def coerce(self, value: Any, label: str | None = None) -> float | int | bool | str:
        """``value`` (from TOML or a command-line string) as this parameter's type; ``ValueError`` naming the
        parameter (as ``label``, default its name: e.g. the flag, or the file and key) otherwise."""
        kind = self.kind
        label = label or self.name
        try:
            if kind is bool:
                if isinstance(value, bool):
                    return value
                if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
                    return value.lower() in ("true", "yes", "1")
                raise ValueError
            if kind is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                return int(value)
            if kind is float:
                if isinstance(value, bool):
                    raise ValueError
                out = float(value)
                if out != out or out in (float("inf"), float("-inf")):
                    raise ValueError
                return out
            text = str(value)
        except (TypeError, ValueError):
            wanted = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
            raise ValueError(f"{label}: expected {wanted}, not {value!r}") from None
        if self.choices and text not in self.choices:
            raise ValueError(f"{label}: {text!r} is not one of {', '.join(self.choices)}")
        return text

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "default": self.default, "type": self.kind.__name__,
                               "unit": self.unit, "help": self.help}
        if self.choices:
            out["choices"] = list(self.choices)
        return out


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
    #: one line: what it models (``ven personalities``)
    summary: ClassVar[str] = ""
    #: the constructor's keyword parameters beyond ``capacity_kw`` and ``seed``
    params: ClassVar[tuple[Param, ...]] = ()
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

    def on_event(self, start: datetime, end: datetime, kind: EventKind, value: float) -> bool:
        """An OpenADR event asks ``kind``/``value`` from ``start`` to ``end`` (device time): return True when
        the device takes part (and then act on it: it shows in :meth:`forecast_kwh` and :meth:`metered` for
        that time), False to opt out. Default: opt out (a device with nothing it can change)."""
        return False

    @property
    def state_of_charge(self) -> float | None:
        """The stored energy as a fraction of the capacity, for devices that store energy (else None)."""
        return None

    def state_of_charge_after(self, start: datetime) -> float | None:
        """The state of charge at the end of the interval starting at ``start`` (sim time), once it is metered:
        what a report of that interval shows, whatever is already booked for later intervals."""
        return self.state_of_charge

    def describe(self) -> str:
        return f"{self.name} {self.capacity_kw:g} kW"
