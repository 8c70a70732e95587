"""Communities of the campus paper: an aggregator that groups small devices behind one goal (spinning-reserve
capacity from EVs, or demand-response flexibility from T1-T4 devices), predicts each member's availability,
offers the aggregate to the market, dispatches members by priority when called, splits the revenue, and
keeps tokens (rewards, penalties, rankings) on a ledger. See docs/community.md.

Modules: :mod:`.members` (who), :mod:`.fleet` (what they really do: schedules, deviations, replacements,
energy), :mod:`.prediction` (availability from history, critical hours), :mod:`.dispatch` (dispatch,
rationing, revenue split), :mod:`.tokens` and :mod:`.token_ledger` (tokens and their ledger entries),
:mod:`.community` (the books and the report), :mod:`.config` (the TOML settings), :mod:`.market` (the
aggregator as a VEN in the market).
"""

from __future__ import annotations

from transactive.ven.community.community import Call, Community, CommunityStateError
from transactive.ven.community.config import PAPER_CRITICAL_HOURS, Settings, load_settings, settings_from_dict
from transactive.ven.community.dispatch import Candidate, dispatch, dispatch_order, split
from transactive.ven.community.fleet import History, campus_members, pilot_fleet, simulate
from transactive.ven.community.members import Goal, Member, parse_hours
from transactive.ven.community.prediction import Prediction, critical_hours, criticality_levels, predict
from transactive.ven.community.token_ledger import CURRENCY, ledger_balances, write_events
from transactive.ven.community.tokens import TokenEvent, TokenKind, TokenRules, ranking, token_events, totals

__all__ = [
    "CURRENCY",
    "PAPER_CRITICAL_HOURS",
    "Call",
    "Candidate",
    "Community",
    "CommunityStateError",
    "Goal",
    "History",
    "Member",
    "Prediction",
    "Settings",
    "TokenEvent",
    "TokenKind",
    "TokenRules",
    "campus_members",
    "critical_hours",
    "criticality_levels",
    "dispatch",
    "dispatch_order",
    "ledger_balances",
    "load_settings",
    "parse_hours",
    "pilot_fleet",
    "predict",
    "ranking",
    "settings_from_dict",
    "simulate",
    "split",
    "token_events",
    "totals",
    "write_events",
]
