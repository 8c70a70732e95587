"""Turn pydantic validation errors into :class:`~transactive.errors.FieldError` s that name wire fields."""

from __future__ import annotations

from pydantic import ValidationError

from transactive.codec.plan import plan_for
from transactive.errors import FieldError
from transactive.model.base import Model

__all__ = ["field_errors", "wire_path"]


def wire_path(cls: type[Model], loc: tuple[int | str, ...], base: str) -> str:
    """Map a pydantic error location (python field names, list indexes) to an XML element path."""
    parts = [base.rstrip("/")] if base else []
    current: type[Model] | None = cls
    i = 0
    while i < len(loc):
        item = loc[i]
        if current is None or isinstance(item, int):
            parts.append(f"[{int(item) + 1}]" if isinstance(item, int) else str(item))
            i += 1
            continue
        plan = plan_for(current)
        leaf = plan.leaves.get(str(item))
        if leaf is None:
            parts.append(str(item))
            current = None
            i += 1
            continue
        segments = [s for s in plan.paths[str(item)] if s not in ("*", ".")]
        segment_text = "/".join(segments)
        if segment_text.startswith("@") or segment_text:
            parts.append(segment_text)
        current = leaf.model if leaf.kind == "model" else None
        if leaf.kind == "choice" and len(leaf.choice_names) == 1:
            member = next(iter(leaf.choice_names))
            parts.append(leaf.choice_names[member][0])
            current = member
        i += 1
        # a list index directly after a repeated field qualifies the last segment
        if i < len(loc) and isinstance(loc[i], int) and leaf.repeated:
            parts[-1] += f"[{int(loc[i]) + 1}]"
            i += 1
        # pydantic reports which union member failed by class name: skip it
        if i < len(loc) and leaf.kind == "choice" and isinstance(loc[i], str):
            name = str(loc[i])
            found = next((m for m in leaf.choice_names if m.__name__ == name), None)
            if found is not None:
                member = found
                parts.append(leaf.choice_names[member][0])
                current = member
                i += 1
    path = "/".join(p.strip("/") if not p.startswith("[") else p for p in parts if p)
    path = path.replace("/[", "[")
    return "/" + path.lstrip("/")


def field_errors(
    cls: type[Model], exc: ValidationError, base: str, line: int | None = None
) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        message = err["msg"]
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = "field is not allowed here"
        out.append(FieldError(wire_path(cls, tuple(err["loc"]), base), message, line))
    return out
