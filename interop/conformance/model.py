"""What a conformance run is made of: cases, their results with the evidence, and the report.

A :class:`Case` is data (a stable id in the OpenADR Alliance's style, a title, the rules it checks); the code
that runs it lives in a :class:`~transactive.interop.conformance.suite.Suite`. A case ends in one of three
:class:`Result` s: ``pass``; ``fail`` — it raised :class:`CaseFailed` naming the rule that was broken, and the
exchanges recorded while it ran are the evidence; ``skip`` — it raised :class:`CaseSkipped` saying why (a
feature the endpoint says it does not offer, a role the flags do not allow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "MAX_EVIDENCE_BYTES",
    "Case",
    "CaseFailed",
    "CaseSkipped",
    "EndpointUnreachable",
    "Exchange",
    "Options",
    "Outcome",
    "Report",
    "Result",
    "Role",
    "Rule",
    "Standard",
]

#: a document kept as evidence is cut at this size (the report says it was cut)
MAX_EVIDENCE_BYTES = 64 * 1024

#: the role of the endpoint under test
Role = Literal["vtn", "ven"]


class Standard(StrEnum):
    OPENADR20B = "openadr20b"
    CTS = "cts"


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Rule:
    """One requirement a case checks: where it is written (``source``, ``ref``) and what it says, in our words."""

    source: str
    ref: str
    text: str

    def cite(self) -> str:
        return f"{self.source} {self.ref}: {self.text}"


@dataclass(frozen=True, slots=True)
class Case:
    """One case of the catalogue. ``needs`` lists what the run must have for the case to apply
    (``"sign"``: signing flags, ``"tls"``: TLS flags); without it the case is skipped, saying so."""

    id: str
    title: str
    standard: Standard
    role: Role
    rules: tuple[Rule, ...]
    needs: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "standard": str(self.standard), "role": self.role,
                "rules": [r.cite() for r in self.rules], "needs": list(self.needs)}


@dataclass(frozen=True, slots=True)
class Exchange:
    """One document that crossed the wire: ``sent`` by the kit or ``received`` from the endpoint, what it was
    (``label``: the service or URL) and the HTTP status when there was one."""

    direction: Literal["sent", "received"]
    label: str
    document: bytes
    status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        cut = len(self.document) > MAX_EVIDENCE_BYTES
        text = self.document[:MAX_EVIDENCE_BYTES].decode("utf-8", errors="replace")
        return {"direction": self.direction, "label": self.label, "status": self.status,
                "document": text + ("\n[... cut]" if cut else "")}


class CaseFailed(Exception):
    """Raised by a case: the endpoint broke ``rule``; ``detail`` says how (what was expected, what came)."""

    def __init__(self, rule: Rule, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


class CaseSkipped(Exception):
    """Raised by a case that does not apply to this endpoint or this run; the message says why."""


class EndpointUnreachable(Exception):
    """The endpoint cannot be reached at all (nothing answers, TLS cannot be set up): the run stops, exit 2."""


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    result: Result
    detail: str
    broken: Rule | None = None
    evidence: tuple[Exchange, ...] = ()
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.case.id, "title": self.case.title, "rules": [r.cite() for r in self.case.rules],
                "result": str(self.result), "detail": self.detail,
                "rule_broken": self.broken.cite() if self.broken else None,
                "seconds": round(self.seconds, 3), "evidence": [e.as_dict() for e in self.evidence]}


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line gives a run (the security flags, the kit's party name, the case pattern)."""

    party: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    sign_cert: Path | None = None
    sign_key: Path | None = None
    vtn_fingerprint: str | None = None
    cases: str | None = None
    timeout: float = 30.0
    #: how long a probe watches the endpoint over several polls (event distributions, ...), seconds
    observe_seconds: float = 5.0

    @property
    def signs(self) -> bool:
        return self.sign_cert is not None and self.sign_key is not None

    @property
    def mutual_tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


@dataclass(slots=True)
class Report:
    """A run: the endpoint, what it was tested as, and every case's outcome in the order they ran."""

    target: str
    role: Role
    standard: Standard
    started: datetime
    finished: datetime | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: Result) -> int:
        return sum(1 for o in self.outcomes if o.result is result)

    @property
    def passed(self) -> int:
        return self.count(Result.PASS)

    @property
    def failed(self) -> int:
        return self.count(Result.FAIL)

    @property
    def skipped(self) -> int:
        return self.count(Result.SKIP)

    @property
    def exit_code(self) -> int:
        """0 when no case failed, 1 when any did (2 — unreachable, usage — is decided before a report exists)."""
        return 1 if self.failed else 0

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "role": self.role, "standard": str(self.standard),
                "cases": [o.as_dict() for o in self.outcomes],
                "passed": self.passed, "failed": self.failed, "skipped": self.skipped,
                "started": self.started.isoformat(), "finished": self.finished.isoformat() if self.finished else None}
