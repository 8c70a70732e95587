"""Tokens: rewards for availability in critical hours, penalties for deviations, rankings.

The campus paper's rules, as numbers (:class:`TokenRules`):

==========================================  ====================================================================
what happened (one member, one hour)         tokens
==========================================  ====================================================================
available in a critical hour of level L      + ``rate`` x L per kWh it could give (the reward)
available as someone's replacement           + ``rate`` x L per kWh it could give, in every hour it covers
                                             (L = 1 outside the critical hours); kind ``replacement``
declared available, missed, announced in     none (the replacement covers it, the community goal is unchanged)
advance, and the replacement covers it
declared available, missed, announced,       - ``announced_factor`` x ``rate`` x L per kWh it had declared
not covered (no replacement, or too little)
declared available, missed, not announced    - ``unannounced_factor`` x ``rate`` x L per kWh it had declared
                                             (the paper: "heavily penalises")
==========================================  ====================================================================

(L = the hour's criticality level, 1 outside the critical hours; kWh for an hour-long call, times the
fraction of the hour a period covers.) The hours of one period are grouped per member, kind and level into
one :class:`TokenEvent`, so its price (tokens per kWh) is exact and ``tokens = quantity_kwh x price``.
Rankings order members by tokens, most first (ties by name).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from transactive.ven.community.fleet import DEV_ANNOUNCED, DEV_UNANNOUNCED, History

__all__ = ["TokenEvent", "TokenKind", "TokenRules", "committed_kwh", "ranking", "token_events", "totals"]

_KWH = Decimal("0.001")


class TokenKind(StrEnum):
    REWARD = "reward"
    REPLACEMENT = "replacement"
    PENALTY_ANNOUNCED = "penalty-announced"
    PENALTY_UNANNOUNCED = "penalty-unannounced"

    @property
    def is_penalty(self) -> bool:
        return self in (TokenKind.PENALTY_ANNOUNCED, TokenKind.PENALTY_UNANNOUNCED)


@dataclass(frozen=True, slots=True)
class TokenRules:
    """The token rates (see the module docstring) and the critical hours with their levels."""

    levels: Mapping[int, int]
    rate: Decimal = Decimal(1)
    announced_factor: Decimal = Decimal(1)
    unannounced_factor: Decimal = Decimal(3)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.announced_factor < 0 or self.unannounced_factor < 0:
            raise ValueError("token rates must be positive (penalty factors not negative)")
        for h, level in self.levels.items():
            if not 0 <= h < 24 or level < 1:
                raise ValueError(f"critical hour {h}: hours are 0-23, levels at least 1")

    def level(self, hour: int) -> int:
        return self.levels.get(hour, 1)

    def price(self, kind: TokenKind, level: int) -> Decimal:
        """Tokens per kWh for ``kind`` at criticality ``level``."""
        factor = {TokenKind.PENALTY_ANNOUNCED: self.announced_factor,
                  TokenKind.PENALTY_UNANNOUNCED: self.unannounced_factor}.get(kind, Decimal(1))
        return self.rate * factor * level


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """One token movement: ``member`` gains (reward, replacement) or loses (penalty) ``tokens`` for
    ``quantity_kwh`` in ``period`` (a day or an interval) at criticality ``level``."""

    community: str
    member: str
    kind: TokenKind
    period: str
    level: int
    hours: tuple[int, ...]
    quantity_kwh: Decimal
    price: Decimal

    @property
    def tokens(self) -> Decimal:
        return self.quantity_kwh * self.price

    @property
    def signed(self) -> Decimal:
        """The change of the member's balance."""
        return -self.tokens if self.kind.is_penalty else self.tokens

    @property
    def transaction_id(self) -> str:
        return f"tok-{self.community}-{self.period}-{self.member}-{self.kind.value}-L{self.level}"

    def as_dict(self) -> dict[str, Any]:
        return {"community": self.community, "member": self.member, "kind": self.kind.value, "period": self.period,
                "level": self.level, "hours": list(self.hours), "quantity_kwh": str(self.quantity_kwh),
                "price": str(self.price), "tokens": str(self.tokens)}

    def document_hash(self) -> str:
        """SHA-256 of the event's canonical JSON (sorted keys, no spaces): what the ledger anchors."""
        text = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def committed_kwh(history: History, day: int, hour: int, i: int) -> float:
    """What member ``i`` declared it would give at ``hour``: its usual energy then (its mean over the days
    it was there, else its declared power)."""
    m = history.members[i]
    seen = history.available[:, hour, i] & ~history.replacing[:, hour, i]
    if seen.any():
        return float(history.energy_kwh[:, hour, i][seen].mean())
    return m.power_kw if not m.is_ev else max(0.0, min(m.power_kw, m.battery_kwh - m.reserve_kwh))


def token_events(community: str, history: History, day: int, hours: Iterable[int], rules: TokenRules,
                 period: str, *, fraction: float = 1.0) -> list[TokenEvent]:
    """The token events of ``day`` over ``hours`` (each counted for ``fraction`` of an hour), one per member,
    kind and level."""
    groups: dict[tuple[int, TokenKind, int], tuple[float, list[int]]] = {}

    def add(i: int, kind: TokenKind, level: int, kwh: float, hour: int) -> None:
        q, hs = groups.get((i, kind, level), (0.0, []))
        groups[(i, kind, level)] = (q + kwh * fraction, [*hs, hour])

    for h in hours:
        for i in range(len(history.members)):
            level = rules.level(h)
            if history.replacing[day, h, i]:
                add(i, TokenKind.REPLACEMENT, level, float(history.energy_kwh[day, h, i]), h)
            elif history.available[day, h, i] and h in rules.levels:
                add(i, TokenKind.REWARD, level, float(history.energy_kwh[day, h, i]), h)
            dev = int(history.deviation[day, h, i])
            if dev == DEV_UNANNOUNCED or (dev == DEV_ANNOUNCED and not history.covered[day, h, i]):
                kind = TokenKind.PENALTY_UNANNOUNCED if dev == DEV_UNANNOUNCED else TokenKind.PENALTY_ANNOUNCED
                add(i, kind, level, committed_kwh(history, day, h, i), h)
    events = []
    for (i, kind, level), (kwh, hs) in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].value, kv[0][2])):
        quantity = Decimal(repr(kwh)).quantize(_KWH)
        if quantity > 0:
            events.append(TokenEvent(community, history.members[i].name, kind, period, level, tuple(hs), quantity,
                                     rules.price(kind, level)))
    return events


def totals(events: Iterable[TokenEvent], members: Iterable[str] = ()) -> dict[str, Decimal]:
    """Each member's token balance (every member of ``members`` listed, even at zero)."""
    out = {m: Decimal(0) for m in members}
    for e in events:
        out[e.member] = out.get(e.member, Decimal(0)) + e.signed
    return out


def ranking(tokens: Mapping[str, Decimal | float]) -> list[str]:
    """Members by tokens, most first (ties by name)."""
    return sorted(tokens, key=lambda m: (-Decimal(str(tokens[m])), m))
