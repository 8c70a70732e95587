"""The emitter the XML and JSON code generators share (``transactive.codec.gen_emit``)."""

from __future__ import annotations

from typing import Any

import pytest

from transactive.codec import gen_emit
from transactive.codec.gen_emit import Emitter, inlined
from transactive.model.base import Model


class _A(Model):
    pass


class _B(Model):
    pass


def test_fresh_names_are_numbered_in_the_order_asked_and_constants_are_globals() -> None:
    em = Emitter("def f():", {})
    assert [em.fresh("v"), em.const("F", str), em.fresh("v")] == ["v0", "F1", "v2"]
    assert em.g == {"F1": str}


def test_define_keeps_the_source_and_binds_late_globals_after_storing_the_function() -> None:
    cache: dict[type[Model], Any] = {}
    seen: list[Any] = []

    def child_coder(cls: type[Model]) -> Any:
        seen.append(cache.get(cls))  # a child's generator finds the parent's function already there
        return lambda: 41

    em = Emitter("def f():", {})
    name = em.late("E", child_coder, _A)
    em.lines.append(f"    return {name}() + 1")
    f = em.define("<test>", "f", cache, _A)
    assert f() == 42
    assert f.__source__ == "def f():\n    return E0() + 1"
    assert cache == {_A: f}
    assert seen == [f]


def test_switch_numbers_the_distinct_cases_and_sends_keys_of_one_case_to_one_branch() -> None:
    em = Emitter("def f(key):", {})
    branches = []
    for case, indent in em.switch("T", "    ", "k", "key", [("a", "first"), ("b", "second"), ("c", "first")]):
        branches.append(case)
        em.lines.append(f"{indent}return {case!r}")
    em.lines.append("    return None")
    f = em.define("<test>", "f", {}, _A)
    assert branches == ["first", "second"]
    assert em.g["T"] == {"a": 0, "b": 1, "c": 0}
    assert [f("a"), f("b"), f("c"), f("z")] == ["first", "second", "first", None]


def test_a_child_is_inlined_unless_it_recurses_or_lies_too_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    assert inlined(_B, (_A,))
    assert not inlined(_A, (_A,))
    assert not inlined(_B, (_A,) * gen_emit.INLINE_DEPTH)
    monkeypatch.setattr(gen_emit, "INLINE_DEPTH", 0)
    assert not inlined(_B, ())
