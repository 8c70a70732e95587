"""A suite of cases for one standard and one role, and the runner that plays them in order.

A case is an async function over the suite's context (whatever the role needs: a VEN client, a listening
VTN, ...) registered with :meth:`Suite.case`. It returns ``None`` or a short detail for a pass, raises
:class:`~.model.CaseFailed` for a failure and :class:`~.model.CaseSkipped` for a skip. The runner gives each
case the exchanges recorded while it ran (:class:`Recorder`) as its evidence, times it, and turns what
escapes a case into a result, so that one broken endpoint answer never stops the run:

* a transport failure or an undecodable document (:class:`~transactive.transport.base.TransportError`,
  :class:`~transactive.errors.TransactiveError`) is a ``fail`` of the case's first rule, with the error;
* :class:`~.model.EndpointUnreachable` stops the run (``--cases`` or not, nothing else can be learned);
* anything else is a defect of the kit, not of the endpoint: the case fails with ``kit error: ...`` and the
  traceback goes to the log, so that the report never blames an endpoint for a bug of ours silently.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Literal, TypeVar

from transactive.errors import TransactiveError
from transactive.interop.conformance.model import (
    Case,
    CaseFailed,
    CaseSkipped,
    EndpointUnreachable,
    Exchange,
    Options,
    Outcome,
    Report,
    Result,
    Role,
    Rule,
    Standard,
)
from transactive.transport.base import TransportError

__all__ = ["CaseFn", "Progress", "Recorder", "Suite", "matches", "run_suite"]

_log = logging.getLogger("transactive.conformance")

C = TypeVar("C")
#: a case's code: the suite's context in, a detail for a pass (or None) out
CaseFn = Callable[[C], Awaitable[str | None]]
#: told of each outcome as soon as its case ends (progress lines on the command line)
Progress = Callable[[Outcome], None]

_ID_SHAPE = "the id must look like N1_0010 (service letter, 0 push / 1 pull, '_', four digits) or CTS_T_0010"


def matches(case_id: str, pattern: str | None) -> bool:
    """Does ``case_id`` match ``--cases``? A comma-separated list of shell patterns (``N1_*,E1_0020``)."""
    if not pattern:
        return True
    return any(fnmatch.fnmatchcase(case_id, p.strip()) for p in pattern.split(",") if p.strip())


class Recorder:
    """Every exchange of a run, in order; a case's evidence is what was recorded while it ran."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def record(self, direction: Literal["sent", "received"], label: str, document: bytes,
               status: int | None = None) -> None:
        self.exchanges.append(Exchange(direction, label, document, status))

    def mark(self) -> int:
        return len(self.exchanges)

    def since(self, mark: int) -> tuple[Exchange, ...]:
        return tuple(self.exchanges[mark:])


@dataclass(frozen=True, slots=True)
class _Entry(Generic[C]):
    case: Case
    run: CaseFn[C]


class Suite(Generic[C]):
    """The cases of one standard and role, in the order they run."""

    def __init__(self, standard: Standard, role: Role, title: str) -> None:
        self.standard = standard
        self.role = role
        self.title = title
        self._entries: list[_Entry[C]] = []

    def case(self, case_id: str, title: str, *rules: Rule,
             needs: Iterable[str] = ()) -> Callable[[CaseFn[C]], CaseFn[C]]:
        """Register the decorated function as case ``case_id``."""
        if not rules:
            raise ValueError(f"case {case_id} cites no rule")
        if any(e.case.id == case_id for e in self._entries):
            raise ValueError(f"case {case_id} is registered twice")
        if not (case_id[:1].isalpha() and case_id[-4:].isdigit() and "_" in case_id):
            raise ValueError(f"case id {case_id!r}: {_ID_SHAPE}")
        case = Case(case_id, title, self.standard, self.role, tuple(rules), tuple(needs))

        def register(fn: CaseFn[C]) -> CaseFn[C]:
            self._entries.append(_Entry(case, fn))
            return fn

        return register

    @property
    def cases(self) -> list[Case]:
        return [e.case for e in self._entries]

    def selected(self, pattern: str | None) -> list[_Entry[C]]:
        return [e for e in self._entries if matches(e.case.id, pattern)]


def _missing(case: Case, options: Options) -> str | None:
    if "sign" in case.needs and not options.signs:
        return "this case checks XML signatures: give --sign-cert and --sign-key"
    if "tls" in case.needs and not options.mutual_tls:
        return "this case checks the TLS identity: give --tls-cert, --tls-key and --tls-ca"
    return None


async def run_suite(suite: Suite[C], context: C, recorder: Recorder, options: Options, *, target: str,
                    progress: Progress | None = None) -> Report:
    """Run the cases ``options.cases`` selects, in order, and report. Raises
    :class:`~.model.EndpointUnreachable` when the endpoint cannot be reached at all."""
    report = Report(target=target, role=suite.role, standard=suite.standard, started=datetime.now(UTC))
    for entry in suite.selected(options.cases):
        outcome = await _run_one(entry, context, recorder, options)
        report.outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    report.finished = datetime.now(UTC)
    return report


async def _run_one(entry: _Entry[C], context: C, recorder: Recorder, options: Options) -> Outcome:
    case = entry.case
    missing = _missing(case, options)
    if missing is not None:
        return Outcome(case, Result.SKIP, missing)
    mark = recorder.mark()
    began = time.perf_counter()
    broken: Rule | None = None
    try:
        detail = await entry.run(context)
        result, text = Result.PASS, detail or ""
    except CaseFailed as exc:
        result, text, broken = Result.FAIL, exc.detail, exc.rule
    except CaseSkipped as exc:
        result, text = Result.SKIP, str(exc)
    except EndpointUnreachable:
        raise
    except (TransportError, TransactiveError) as exc:
        result, text, broken = Result.FAIL, f"{type(exc).__name__}: {exc}", case.rules[0]
    except Exception as exc:  # a defect of the kit: reported as such, never blamed on the endpoint
        _log.exception("conformance case %s raised", case.id)
        result, text = Result.FAIL, f"kit error (a bug in the conformance kit, not a finding): {exc!r}"
    return Outcome(case, result, text, broken, recorder.since(mark), time.perf_counter() - began)
