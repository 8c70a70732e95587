"""Turn pydantic validation errors into :class:`~transactive.errors.FieldError` s that name wire fields."""

from __future__ import annotations

from typing import Any

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


def locate(cls: type[Model], element: Any, loc: tuple[int | str, ...]) -> Any:
    """The deepest element of a decoded tree that a pydantic error location reaches (for its line)."""
    current: type[Model] | None = cls
    el = element
    i = 0
    while i < len(loc) and current is not None:
        plan = plan_for(current)
        leaf = plan.leaves.get(str(loc[i]))
        if leaf is None or leaf.kind in ("attr", "text"):
            break
        i += 1
        index = 0
        if leaf.repeated and i < len(loc) and isinstance(loc[i], int):
            index = int(loc[i])
            i += 1
        segments = [s for s in plan.paths[leaf.name] if s != "*"]
        wanted = [current.__family__.clark(s) for s in segments]
        holder = el
        for clark in wanted[:-1] if leaf.kind != "choice" else wanted:
            holder = next((c for c in holder if c.tag == clark), None)
            if holder is None:
                return el
        if leaf.kind == "choice":
            matches = [c for c in holder if c.tag in leaf.choices]
        else:
            matches = [c for c in holder if c.tag == wanted[-1]]
        if index >= len(matches):
            return holder
        el = matches[index]
        if leaf.kind == "choice":
            current = leaf.choices[el.tag]
            if i < len(loc) and isinstance(loc[i], str) and loc[i] == current.__name__:
                i += 1  # pydantic names the union member it tried
        else:
            current = leaf.model
    return el


def field_errors(
    cls: type[Model], exc: ValidationError, base: str, line: int | None = None, element: Any = None
) -> list[FieldError]:
    """FieldErrors with wire paths; with the decoded ``element``, each carries the line of the element
    the error is about (else ``line``)."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        message = err["msg"]
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = "field is not allowed here"
        loc = tuple(err["loc"])
        where = line
        if element is not None:
            found = locate(cls, element, loc)
            where = found.sourceline if found is not None else line
        out.append(FieldError(wire_path(cls, loc, base), message, where))
    return out
