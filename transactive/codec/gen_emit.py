"""What the code generators of :mod:`transactive.codec.gen_xml` and :mod:`transactive.codec.gen_json` share.

Walking a plan generically costs a dictionary lookup and a branch per field per object; generating one small
Python function per model class and wire format removes that interpretive overhead. An :class:`Emitter`
writes one such function: its lines, the globals they refer to (under fresh names), the globals bound only
once the function exists (the coders of child classes, which may refer back to it), and the compiling,
which keeps the generated source on the function (``__source__``) so it can be read when debugging.

The rest is what the generators decide alike: when a child class is inlined into its parent's function
(:func:`inlined`), how a decoder dispatches on an element's or a key's name (:meth:`Emitter.switch`), which
one class a field holds (:func:`only_member`), how an encoder finds the coder of a value's class in a choice
(:func:`choice_coders`, :func:`choice_lookup`) and reuses the kept text of a pinned instance (:func:`kept_or`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from transactive.codec.plan import Leaf
from transactive.model.base import Model

__all__ = [
    "INLINE_DEPTH",
    "Emitter",
    "bad_choice",
    "choice_coders",
    "choice_lookup",
    "inlined",
    "kept_or",
    "only_member",
    "present",
]

C = TypeVar("C")

#: how many classes deep a generated function inlines the code of its children before it calls their own
#: function (read at each generation, so a test may lower it)
INLINE_DEPTH = 4


class Emitter:
    """The source of one generated function, and the globals it runs with."""

    def __init__(self, header: str, g: dict[str, Any]) -> None:
        #: the function's source lines; generators append to it
        self.lines = [header]
        #: the function's globals
        self.g = g
        self._count = itertools.count()
        self._late: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []

    def fresh(self, prefix: str) -> str:
        """A name used once in this function (``prefix`` then a number)."""
        return f"{prefix}{next(self._count)}"

    def const(self, prefix: str, value: Any) -> str:
        """A fresh global name bound to ``value``."""
        name = self.fresh(prefix)
        self.g[name] = value
        return name

    def class_ref(self, model: type[Model]) -> str:
        """The global name under which the generated code refers to the class ``model``."""
        name = f"K_{model.__name__}_{id(model)}"
        self.g[name] = model
        return name

    def late(self, prefix: str, make: Callable[..., Any], *args: Any) -> str:
        """A fresh global name bound, once :meth:`define` has stored the function, to ``make(*args)`` (a
        child's coder, or a table of them)."""
        name = self.fresh(prefix)
        self._late.append((name, make, args))
        return name

    def switch(self, table: str, indent: str, selector: str, subject: str,
               keyed: Iterable[tuple[str, C]]) -> Iterator[tuple[C, str]]:
        """Emit a dispatch on ``subject``: one lookup in the global ``table`` (each key → the number of its
        case), then ``if``/``elif`` on that number, one branch per distinct case. Yields each case with the
        indent of its branch, for the caller to write the branch; the caller adds what follows the chain."""
        cases: list[C] = []
        numbers: dict[str, int] = {}
        for key, case in keyed:
            if case not in cases:
                cases.append(case)
            numbers[key] = cases.index(case)
        self.g[table] = numbers
        self.lines.append(f"{indent}{selector} = {table}.get({subject})")
        for n, case in enumerate(cases):
            self.lines.append(f"{indent}{'if' if n == 0 else 'elif'} {selector} == {n}:")
            yield case, indent + "    "

    def define(self, label: str, name: str, cache: dict[type[Model], Any], cls: type[Model]) -> Any:
        """Compile the lines (built from our own plans, never from outside text) and return the function
        ``name``, its source kept on it as ``__source__``, after storing it as ``cls``'s in ``cache`` and only
        then binding the late globals: a child's coder generated for them may refer back to this one."""
        source = "\n".join(self.lines)
        exec(compile(source, label, "exec"), self.g)
        fn = self.g[name]
        fn.__source__ = source
        cache[cls] = fn
        for late, make, args in self._late:
            self.g[late] = make(*args)
        self._late.clear()
        return fn


def inlined(model: type[Model], stack: tuple[type[Model], ...]) -> bool:
    """Is the code for a child ``model`` written into the function of the classes ``stack`` (outermost first)?
    Not when it recurses, nor deeper than :data:`INLINE_DEPTH`: then that function calls the child's own."""
    return model not in stack and len(stack) < INLINE_DEPTH


def only_member(leaf: Leaf) -> tuple[type[Model], str] | None:
    """The one class a model field or a choice of a single class holds, with its element name; None for a
    choice among several classes."""
    if leaf.kind == "model":
        assert leaf.model is not None
        return leaf.model, leaf.qname
    if len(leaf.choice_names) == 1:
        member, (qname, _clark) = next(iter(leaf.choice_names.items()))
        return member, qname
    return None


def choice_coders(leaf: Leaf, coder_of: Callable[[type[Model]], C]) -> dict[type[Model], tuple[str, C]]:
    """Each member class of a choice → (its element name, its coder): the table a generated encoder looks a
    value's class up in."""
    return {member: (qname, coder_of(member)) for member, (qname, _clark) in leaf.choice_names.items()}


def choice_lookup(table: str, leaf: Leaf) -> list[str]:
    """Lines (not indented) that set ``e`` to the entry of ``x``'s class in the :func:`choice_coders` table
    named ``table``, or raise :func:`bad_choice` (as ``_bad_choice``)."""
    return [f"e = {table}.get(type(x))", "if e is None:", f"    raise _bad_choice(x, {leaf.name!r})"]


def bad_choice(value: Any, field: str) -> ValueError:
    """What a generated encoder raises for a value of a class the field does not allow."""
    return ValueError(f"{type(value).__name__} is not an allowed choice for {field}")


def present(leaf: Leaf, var: str) -> str:
    """The ``if`` line under which an encoder writes the field's value ``var`` (absent: None or empty)."""
    return f"if {var}:" if leaf.repeated else f"if {var} is not None:"


def kept_or(indent: str, var: str, use_kept: str) -> list[str]:
    """Lines that run ``use_kept`` (with ``p``, the pin) when ``var`` is a pinned instance, then ``else:``:
    the caller writes the encoding itself below it."""
    return [
        f"{indent}p = PINS.get(id({var}))",
        f"{indent}if p is not None and p.obj is {var}:",
        f"{indent}    {use_kept}",
        f"{indent}else:",
    ]
