"""The suite of ``listen --role ven`` (OpenADR 2.0b, the kit plays a VTN) and how its cases are declared.

A case module declares its cases with :func:`case` (id, title, rules, what it needs, the pull or push model
it applies to); :mod:`.oadr_ven` adds them to :data:`SUITE` in the order they run. The wrapper the suite
runs skips a case that does not fit the VEN's model (a pull case for a push VEN and the other way round),
and fails a case for the findings its requests raised (:mod:`.oadr_listen_context`) even when its own
checks passed — the earliest finding first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from transactive.interop.conformance.model import CaseFailed, CaseSkipped, Rule, Standard
from transactive.interop.conformance.oadr_listen_context import ListenContext
from transactive.interop.conformance.suite import Suite

__all__ = ["SUITE", "CaseSpec", "case", "register"]

SUITE: Suite[ListenContext] = Suite(Standard.OPENADR20B, "ven",
                                    "OpenADR 2.0b VEN (the kit plays a VTN; pull and push)")

#: which transport model a case drives the VEN through
Model = Literal["pull", "push", "any"]
CaseBody = Callable[[ListenContext], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class CaseSpec:
    id: str
    title: str
    rules: tuple[Rule, ...]
    needs: tuple[str, ...]
    model: Model
    body: CaseBody


def case(case_id: str, title: str, *rules: Rule, needs: tuple[str, ...] = (),
         model: Model = "pull") -> Callable[[CaseBody], CaseSpec]:
    """Declare a case (registered by :func:`register`)."""

    def declare(body: CaseBody) -> CaseSpec:
        return CaseSpec(case_id, title, rules, needs, model, body)

    return declare


def _wrap(spec: CaseSpec) -> CaseBody:
    async def run(ctx: ListenContext) -> str | None:
        ctx.take_findings()
        if spec.model == "pull" and ctx.push:
            raise CaseSkipped("the VEN registered for push (oadrHttpPullModel false): this case drives a pull VEN")
        if spec.model == "push" and not ctx.push:
            raise CaseSkipped("the VEN registered for pull: this case pushes to a VEN's transportAddress")
        try:
            detail = await spec.body(ctx)
        except CaseFailed as failure:
            found = ctx.take_findings()
            if found:
                raise CaseFailed(found[0].rule, f"{found[0].detail}; and: {failure.detail}") from None
            raise
        finally:
            ctx.answer_the_rest()
        found = ctx.take_findings()
        if found:
            more = f" (and {len(found) - 1} more finding(s): " + "; ".join(f.detail for f in found[1:]) + ")" \
                if len(found) > 1 else ""
            raise CaseFailed(found[0].rule, found[0].detail + more)
        return detail

    return run


def register(*specs: CaseSpec) -> None:
    """Add the cases to :data:`SUITE`, in this order."""
    for spec in specs:
        SUITE.case(spec.id, spec.title, *spec.rules, needs=spec.needs)(_wrap(spec))
