"""A community's books: its members, goal, calls, revenue shares and tokens, kept in its data directory, and
the report ``transactive community report`` prints.

Data directory: ``community.json`` (this state, rewritten atomically after every change) and
``tokens.ledger`` (the embedded ledger every token movement is written to, :mod:`.token_ledger`; its key
``tokens.ledger.key`` beside it). The report (:meth:`Community.report`):

``members``               the members: name, template, priority, power_kw, declared schedule, battery
``goal_kw``               the power the community aims to make available every hour (its goal)
``available_kw_by_hour``  24 values: the expected available power per hour of the day, predicted from the
                          members' history (:mod:`.prediction`; energy deliverable within the hour, as kW)
``calls``                 how many times it was called (each transaction it got in the market)
``delivered_kw``          the mean power it delivered while called: delivered kWh / hours called (0: no call)
``revenue``               the money it received for what it delivered, in the market's currency
``tokens``                member -> its token balance (rewards minus penalties; equal to the ledger's)
``ranking``               members by tokens, most first
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from transactive.ven.community.dispatch import split
from transactive.ven.community.members import Goal, Member, member_from_dict
from transactive.ven.community.token_ledger import ledger_balances
from transactive.ven.community.tokens import TokenEvent, ranking

__all__ = ["LEDGER_FILE", "STATE_FILE", "Call", "Community", "CommunityStateError"]

STATE_FILE = "community.json"
LEDGER_FILE = "tokens.ledger"


class CommunityStateError(ValueError):
    """The data directory holds no readable community."""


@dataclass(frozen=True, slots=True)
class Call:
    """One call: the market asked ``requested_kwh`` over ``duration_h`` from ``start`` at ``price``; members
    delivered ``dispatched`` kWh (member -> kWh) and got ``shares`` of the revenue."""

    start: str
    duration_h: float
    requested_kwh: float
    price: str
    dispatched: dict[str, float]
    delivered_kwh: float
    revenue: str
    shares: dict[str, str]


@dataclass(slots=True)
class Community:
    """The state of one community (see the module docstring)."""

    name: str
    goal: Goal
    members: list[Member]
    goal_kw: float
    data_dir: Path
    currency: str = "EUR"
    available_kw_by_hour: list[float] = field(default_factory=lambda: [0.0] * 24)
    critical_levels: dict[int, int] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    tokens: dict[str, Decimal] = field(default_factory=dict)
    token_events: int = 0

    def __post_init__(self) -> None:
        for m in self.members:
            self.tokens.setdefault(m.name, Decimal(0))

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / LEDGER_FILE

    # -- changes ------------------------------------------------------------------------------------

    def record_call(self, start: datetime, duration: timedelta, requested_kwh: float, price: Decimal,
                    dispatched: Mapping[str, float], delivered_kwh: float) -> Call:
        """Book a call: the revenue is ``price`` x the delivered kWh, split by what each member delivered
        (scaled to the delivered total when the market took less than the members gave)."""
        given = sum(dispatched.values())
        scale = delivered_kwh / given if given > 0 else 0.0
        contributions = {k: v * scale for k, v in dispatched.items()}
        revenue = (price * Decimal(repr(delivered_kwh))).quantize(Decimal("0.0001"))
        call = Call(start.isoformat(), duration / timedelta(hours=1), requested_kwh, str(price),
                    {k: round(v, 6) for k, v in contributions.items()}, delivered_kwh, str(revenue),
                    {k: str(v) for k, v in split(revenue, contributions).items()})
        self.calls.append(call)
        return call

    def add_tokens(self, events: Iterable[TokenEvent]) -> None:
        for e in events:
            self.tokens[e.member] = self.tokens.get(e.member, Decimal(0)) + e.signed
            self.token_events += 1

    # -- figures ------------------------------------------------------------------------------------

    @property
    def revenue(self) -> Decimal:
        return sum((Decimal(c.revenue) for c in self.calls), Decimal(0))

    def revenue_by_member(self) -> dict[str, Decimal]:
        out = {m.name: Decimal(0) for m in self.members}
        for c in self.calls:
            for k, v in c.shares.items():
                out[k] = out.get(k, Decimal(0)) + Decimal(v)
        return out

    def report(self) -> dict[str, Any]:
        delivered = sum(c.delivered_kwh for c in self.calls)
        hours = sum(c.duration_h for c in self.calls)
        tokens = {k: float(v) for k, v in self.tokens.items()}
        return {
            "community": self.name,
            "goal": self.goal.value,
            "members": [m.as_dict() for m in self.members],
            "goal_kw": self.goal_kw,
            "available_kw_by_hour": [round(x, 3) for x in self.available_kw_by_hour],
            "calls": len(self.calls),
            "delivered_kw": round(delivered / hours, 6) if hours > 0 else 0.0,
            "delivered_kwh": round(delivered, 6),
            "requested_kwh": round(sum(c.requested_kwh for c in self.calls), 6),
            "revenue": float(self.revenue),
            "currency": self.currency,
            "revenue_by_member": {k: float(v) for k, v in self.revenue_by_member().items()},
            "tokens": tokens,
            "ranking": ranking(self.tokens),
            "token_events": self.token_events,
            "critical_hours": {str(h): lvl for h, lvl in sorted(self.critical_levels.items())},
            "ledger": str(self.ledger_path),
        }

    def ledger_agrees(self) -> bool | None:
        """Do the token ledger's payments give every member its balance in the books? (None: no ledger file
        although tokens were booked.) Raises the ledger's ``NotALedgerError`` for a file that is not one."""
        if not self.ledger_path.exists():
            return True if self.token_events == 0 else None
        balances = ledger_balances(self.ledger_path, self.name)
        return set(balances) <= set(self.tokens) and all(balances.get(k, 0) == v for k, v in self.tokens.items())

    # -- persistence --------------------------------------------------------------------------------

    @classmethod
    def fresh(cls, name: str, goal: Goal, members: list[Member], goal_kw: float, data_dir: Path,
              currency: str = "EUR") -> Community:
        """A new community in ``data_dir``, replacing the books and token ledger a previous one left there."""
        data_dir.mkdir(parents=True, exist_ok=True)
        for old in [*data_dir.glob(LEDGER_FILE + "*"), data_dir / STATE_FILE]:
            old.unlink(missing_ok=True)
        return cls(name, goal, members, goal_kw, data_dir, currency)

    @classmethod
    def resume(cls, name: str, goal: Goal, members: list[Member], goal_kw: float, data_dir: Path) -> Community:
        """The community ``name`` kept in ``data_dir`` (its books go on, with ``members``), or a new one there;
        :class:`CommunityStateError` when the directory holds another community or unreadable books."""
        if not (data_dir / STATE_FILE).exists():
            community = cls(name, goal, members, goal_kw, data_dir)
            community.save()
            return community
        community = cls.load(data_dir)
        if community.name != name or community.goal is not goal:
            raise CommunityStateError(f"{data_dir}: it holds community {community.name!r} ({community.goal.value}), "
                                      f"not {name!r} ({goal.value})")
        community.members = members
        community.goal_kw = goal_kw
        return community


    def save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        data = {"name": self.name, "goal": self.goal.value, "goal_kw": self.goal_kw, "currency": self.currency,
                "members": [m.as_dict() for m in self.members], "available_kw_by_hour": self.available_kw_by_hour,
                "critical_levels": {str(h): v for h, v in self.critical_levels.items()},
                "calls": [asdict(c) for c in self.calls], "tokens": {k: str(v) for k, v in self.tokens.items()},
                "token_events": self.token_events}
        tmp = self.data_dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.data_dir / STATE_FILE)

    @classmethod
    def load(cls, data_dir: Path) -> Community:
        """The community kept in ``data_dir``; :class:`CommunityStateError` saying why it cannot be read."""
        path = data_dir / STATE_FILE
        if not data_dir.is_dir():
            raise CommunityStateError(f"{data_dir}: no such directory")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommunityStateError(f"{data_dir}: no {STATE_FILE} (not a community data directory)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommunityStateError(f"{path}: unreadable ({error})") from None
        try:
            members = [member_from_dict({k: v for k, v in m.items() if k != "priority"}, f"members[{i}]")
                       for i, m in enumerate(data["members"])]
            return cls(name=str(data["name"]), goal=Goal(data["goal"]), members=members,
                       goal_kw=float(data["goal_kw"]), data_dir=data_dir, currency=str(data.get("currency", "EUR")),
                       available_kw_by_hour=[float(x) for x in data["available_kw_by_hour"]],
                       critical_levels={int(h): int(v) for h, v in data.get("critical_levels", {}).items()},
                       calls=[Call(**c) for c in data.get("calls", [])],
                       tokens={k: Decimal(v) for k, v in data.get("tokens", {}).items()},
                       token_events=int(data.get("token_events", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CommunityStateError(f"{path}: not a community state ({error})") from None
