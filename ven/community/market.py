"""The aggregator in the market: the community as one VEN (a :class:`Personality` the ordinary
:class:`~transactive.ven.runtime.VenRuntime` drives), and what it does after each interval.

Per market interval (simulated time: hour of day ``h`` of day ``d``):

* **offer** (:meth:`CommunityPersonality.plan`): one SELL of the expected available energy of the interval,
  ``sum_i P_i(h) x E_i(h) x interval`` (:mod:`.prediction`, from the last ``history_days`` days), at no less
  than ``price`` (default: the market's export price, ``band.grid_sell``; the runtime's strategy prices it);
* **call** (:meth:`CommunityPersonality.on_transaction`): each transaction it gets is a call for that energy;
* **dispatch** (:meth:`CommunityPersonality.metered`): the members really available now (the simulation,
  deviations included, :mod:`.fleet`) are dispatched by priority (:mod:`.dispatch`) until the called power
  is met; the meter shows what they gave, and the runtime reports it as the delivery (the VTN settles it);
* **books** (:meth:`CommunityAgent.after_interval`): the call and its revenue split by delivered kWh, the
  tokens of the interval (:mod:`.tokens`) written to the ledger (:mod:`.token_ledger`), the state saved.

The members are simulated in-process: this is an aggregator of modelled devices, not of member VENs.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

from transactive.emix import Side
from transactive.ledger.interface import Ledger
from transactive.market import ReservePrices
from transactive.ven.community.community import Community
from transactive.ven.community.config import Settings
from transactive.ven.community.dispatch import Candidate, dispatch
from transactive.ven.community.fleet import History, simulate
from transactive.ven.community.prediction import Prediction, critical_hours, criticality_levels, predict
from transactive.ven.community.token_ledger import write_events
from transactive.ven.community.tokens import TokenRules, token_events
from transactive.ven.personalities.base import Metered, Need, Personality
from transactive.ven.runtime import IntervalRecord

__all__ = ["CommunityAgent", "CommunityPersonality"]


class CommunityPersonality(Personality):
    """The community as one device (see the module docstring). ``origin`` is the simulated date of the first
    market day; the history holds ``settings.history_days`` days before it."""

    name = "community"
    summary = "an aggregator of simulated community members (spinning reserve or flexibility)"

    def __init__(self, settings: Settings, origin: date) -> None:
        super().__init__(sum(m.power_kw for m in settings.members), seed=settings.seed)
        self.settings = settings
        self.origin = origin
        self.history = self._simulate(settings.history_days + 2)
        self.called: dict[datetime, tuple[float, float]] = {}
        self.dispatched: dict[datetime, dict[str, float]] = {}

    def _simulate(self, days: int) -> History:
        return simulate(self.settings.members, days, seed=self.settings.seed, help_rate=self.settings.help_rate,
                        first_day=-self.settings.history_days)

    def slot(self, start: datetime) -> tuple[int, int]:
        """(day index in the history, hour of day) of a simulated time; the history grows as needed."""
        day = self.settings.history_days + (start.date() - self.origin).days
        if day < 0:
            raise ValueError(f"{start.isoformat()} is before the community's history")
        if day >= self.history.days:
            self.history = self._simulate(max(day + 1, 2 * self.history.days))
        return day, start.hour

    def prediction(self, day: int) -> Prediction:
        return predict(self.history, days=self.settings.history_days, upto=day)

    # -- the personality ----------------------------------------------------------------------------

    def forecast_kwh(self, start: datetime, duration: timedelta) -> float:
        return -self.called.get(start, (0.0, 0.0))[0]

    def plan(self, start: datetime, duration: timedelta, band: ReservePrices) -> list[Need]:
        day, hour = self.slot(start)
        kwh = float(self.prediction(day).expected_kw[hour]) * (duration / timedelta(hours=1))
        floor = self.settings.price if self.settings.price is not None else band.grid_sell
        return [Need(Side.SELL, kwh, floor)] if kwh > 1e-6 else []

    def on_transaction(self, start: datetime, side: Side, quantity_kwh: float, price: float) -> None:
        if side is Side.SELL:
            kwh, _ = self.called.get(start, (0.0, 0.0))
            self.called[start] = (kwh + quantity_kwh, price)

    def metered(self, start: datetime, duration: timedelta) -> Metered:
        kwh, _ = self.called.get(start, (0.0, 0.0))
        if kwh <= 0:
            return Metered()
        hours = duration / timedelta(hours=1)
        day, hour = self.slot(start)
        pred = self.prediction(day)
        candidates = [Candidate(m.name, m.priority, float(self.history.energy_kwh[day, hour, i]),
                                pred.reliability(m.name, hour))
                      for i, m in enumerate(self.history.members)
                      if self.history.available[day, hour, i] and self.history.energy_kwh[day, hour, i] > 0]
        given = {k: kw * hours for k, kw in dispatch(kwh / hours, candidates).items()}
        self.dispatched[start] = given
        return Metered(sold_kwh=sum(given.values()))


class CommunityAgent:
    """Books each interval the runtime settled (calls, revenue, tokens, state); ``record`` is the runtime's
    ``record`` callback, :meth:`drain` waits for the bookings still running."""

    def __init__(self, community: Community, personality: CommunityPersonality, ledger: Ledger,
                 sim_duration: timedelta) -> None:
        self.community = community
        self.personality = personality
        self.ledger = ledger
        self.sim_duration = sim_duration
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    def rules(self, pred: Prediction) -> TokenRules:
        s = self.personality.settings
        hours = s.critical_hours if s.critical_hours is not None else critical_hours(pred)
        levels = criticality_levels(pred.expected_kw, hours)
        return TokenRules(levels, s.token_rate, s.announced_penalty, s.unannounced_penalty)

    def record(self, rec: IntervalRecord) -> None:
        """Start booking ``rec``; a booking that failed before (the token ledger refused an entry) is raised
        here, so the run stops at the next interval rather than trading on without its books."""
        done = [t for t in self._tasks if t.done()]
        self._tasks = [t for t in self._tasks if not t.done()]
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error
        self._tasks.append(asyncio.get_running_loop().create_task(self.after_interval(rec)))

    async def drain(self) -> None:
        tasks, self._tasks = self._tasks, []
        await asyncio.gather(*tasks)

    async def after_interval(self, rec: IntervalRecord) -> None:
        async with self._lock:
            start, duration = rec.sim_start, self.sim_duration
            p = self.personality
            day, hour = p.slot(start)
            pred = p.prediction(day)
            rules = self.rules(pred)
            c = self.community
            c.available_kw_by_hour = [float(x) for x in pred.expected_kw]
            c.critical_levels = dict(rules.levels)
            called, price = p.called.pop(start, (0.0, 0.0))
            given = p.dispatched.pop(start, {})
            if rec.transactions:
                c.record_call(start, duration, called, Decimal(repr(price)), given, rec.delivered_kwh)
            events = token_events(c.name, p.history, day, [hour], rules, f"{start:%Y%m%dT%H%M}",
                                  fraction=duration / timedelta(hours=1))
            await write_events(self.ledger, events, start, duration)
            c.add_tokens(events)
            c.save()
