"""Compile a model class's :class:`~transactive.model.Xml` field paths into an encode/decode plan.

A plan is built once per class (cached) and is pure data plus small closures; the XML and JSON codecs
walk it. Compiling checks the declarations (unknown prefixes, a choice that is not made of models,
a wrapper that would be split), so a bad model fails loudly at first use and in the tests.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Union

from pydantic import AwareDatetime

from transactive.model.base import Model, Xml
from transactive.model.types import check_decimal, check_decimal_text, format_datetime, format_duration

__all__ = ["Leaf", "Node", "Plan", "plan_for"]

_TEXT_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
_SPECIAL = re.compile("[&<>\"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: characters XML 1.0 cannot carry: C0 controls but tab/LF/CR, lone surrogates, U+FFFE, U+FFFF
XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_BAD = XML_BAD


def _check_chars(text: str) -> str:
    bad = _XML_BAD.search(text)
    if bad is not None:
        raise ValueError(f"character U+{ord(bad.group()):04X} cannot appear in XML")
    return text


def escape_text(text: str) -> str:
    if _SPECIAL.search(text) is None:
        return text
    return _check_chars(text).translate(_TEXT_ESCAPE)


def escape_attr(text: str) -> str:
    if _SPECIAL.search(text) is None:
        return text
    return _check_chars(text).translate(_ATTR_ESCAPE)


def _fmt_float(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") and "e" not in text else text


def _fmt_decimal(value: Decimal) -> str:
    return format(check_decimal(value), "f")


def _json_decimal(value: Decimal) -> float | str:
    as_float = float(check_decimal(value))
    return as_float if Decimal(repr(as_float)) == value else format(value, "f")


def _scalar_formatters(tp: type) -> tuple[Callable[[Any], str], Callable[[Any], Any], bool]:
    """(XML text formatter, JSON value formatter, strip whitespace on decode) for a scalar type."""
    if tp is bool:
        return (lambda v: "true" if v else "false"), bool, True
    if tp is str:
        return escape_text, _check_chars, False
    if tp is int:
        return str, int, True
    if tp is float:
        return _fmt_float, float, True
    if tp is Decimal:
        return _fmt_decimal, _json_decimal, True
    if tp is datetime or tp is AwareDatetime:
        return format_datetime, format_datetime, True
    if tp is timedelta:
        return format_duration, format_duration, True
    if tp in (date, time):
        return (lambda v: v.isoformat()), (lambda v: v.isoformat()), True
    if isinstance(tp, type) and issubclass(tp, Enum):
        return (lambda v: escape_text(str(v.value))), (lambda v: v.value), True
    raise TypeError(f"no XML form for scalar type {tp!r}")


def _attr_formatter(tp: Any, fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """Attribute values escape quotes and white space too (text escaping is not enough)."""
    if tp is str:
        return escape_attr
    if isinstance(tp, type) and issubclass(tp, Enum):
        return lambda v: escape_attr(str(v.value))
    return fmt  # numbers, dates, durations and booleans never contain markup characters


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _analyse(tp: Any) -> tuple[bool, list[Any]]:
    """(repeated, member types) of an annotation, with Optional and Annotated removed."""
    tp = _strip_annotated(tp)
    repeated = False
    if typing.get_origin(tp) in (Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(members) == 1:
            tp = _strip_annotated(members[0])
    if typing.get_origin(tp) in (tuple, list):
        args = typing.get_args(tp)
        if typing.get_origin(tp) is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"repeated fields are tuple[T, ...], not {tp!r}")
        repeated = True
        tp = _strip_annotated(args[0])
    if typing.get_origin(tp) in (Union, types.UnionType):
        members = [_strip_annotated(m) for m in typing.get_args(tp) if m is not type(None)]
    else:
        members = [tp]
    if typing.get_origin(members[0]) is typing.Literal:
        members = [type(typing.get_args(members[0])[0])]
    return repeated, members


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model)


@dataclass(slots=True)
class Leaf:
    """One field: where it is and how its values are written and read."""

    name: str
    kind: str  # "scalar" | "model" | "choice" | "attr" | "text"
    repeated: bool
    optional: bool
    clark: str = ""
    qname: str = ""
    fmt: Callable[[Any], str] = str
    jfmt: Callable[[Any], Any] = str
    strip: bool = True
    is_str: bool = False
    #: checks (and may normalise) a scalar's wire text before the model sees it; raises ValueError
    check: Callable[[str], str] | None = None
    #: the scalar's Python type (for the JSON side's checks)
    scalar: Any = None
    model: type[Model] | None = None
    #: choice: element Clark name → member class, and member class → (qname, clark)
    choices: dict[str, type[Model]] = field(default_factory=dict)
    choice_names: dict[type[Model], tuple[str, str]] = field(default_factory=dict)
    json_choices: dict[str, type[Model]] = field(default_factory=dict)
    is_node: bool = False


@dataclass(slots=True)
class Node:
    """A wrapper element that holds other fields (no value of its own)."""

    clark: str
    qname: str
    children: list[Leaf | Node] = field(default_factory=list)
    by_clark: dict[str, Leaf | Node] = field(default_factory=dict)
    by_json: dict[str, Leaf | Node] = field(default_factory=dict)
    is_node: bool = True
    repeated: bool = False
    name: str = ""


@dataclass(slots=True)
class Plan:
    cls: type[Model]
    attrs: list[Leaf]
    attr_by_clark: dict[str, Leaf]
    text: Leaf | None
    root: Node
    #: prefix → namespace of every element this class and its descendants can emit
    namespaces: dict[str, str]
    #: python field name → XML path segments (for error messages)
    paths: dict[str, tuple[str, ...]]
    #: python field name → the Leaf
    leaves: dict[str, Leaf]


_PLANS: dict[type[Model], Plan] = {}
_BUILDING: set[type[Model]] = set()


def choice_tag(cls: type[Model]) -> tuple[str, str]:
    """(prefixed name, Clark name) of a model that stands as an element of its own."""
    if not cls.__tag__:
        raise TypeError(f"{cls.__name__} is used in a choice but has no __tag__")
    return cls.__tag__, cls.__family__.clark(cls.__tag__)


def plan_for(cls: type[Model]) -> Plan:
    """The compiled plan of a model class (built on first use, then cached)."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _compile(cls)
        _PLANS[cls] = plan
    return plan


def _compile(cls: type[Model]) -> Plan:
    family = cls.__family__
    root = Node(clark="", qname="")
    attrs: list[Leaf] = []
    text: Leaf | None = None
    namespaces: dict[str, str] = {}
    paths: dict[str, tuple[str, ...]] = {}
    leaves: dict[str, Leaf] = {}
    nested: list[type[Model]] = []

    def note_ns(qname: str) -> None:
        if ":" in qname:
            prefix = qname.split(":", 1)[0]
            namespaces[prefix] = family.prefixes[prefix]

    for name, info in cls.model_fields.items():
        xml = next((m for m in info.metadata if isinstance(m, Xml)), None)
        if xml is None:
            raise TypeError(f"{cls.__name__}.{name} has no Xml(...) path")
        repeated, members = _analyse(info.annotation)
        optional = not info.is_required()
        path = xml.path
        segments = tuple(path.split("/"))
        paths[name] = segments
        if path.startswith("@"):
            qname = path[1:]
            fmt, jfmt, strip = _scalar_formatters(members[0])
            leaf = Leaf(name, "attr", False, optional, clark=family.clark(qname), qname=qname,
                        fmt=_attr_formatter(members[0], fmt), jfmt=jfmt, strip=strip, is_str=members[0] is str)
            if ":" in qname:
                note_ns(qname)
            attrs.append(leaf)
            leaves[name] = leaf
            continue
        if path == ".":
            fmt, jfmt, strip = _scalar_formatters(members[0])
            text = Leaf(name, "text", False, optional, fmt=fmt, jfmt=jfmt, strip=strip, is_str=members[0] is str)
            leaves[name] = text
            continue
        # walk/create wrapper nodes for all but the last segment
        node = root
        for seg in segments[:-1]:
            if seg == "*":
                raise TypeError(f"{cls.__name__}.{name}: '*' may only end a path")
            clark = family.clark(seg)
            existing = node.by_clark.get(clark)
            if existing is None:
                existing = Node(clark=clark, qname=seg)
                node.children.append(existing)
                node.by_clark[clark] = existing
                node.by_json[seg] = existing
                note_ns(seg)
            elif not isinstance(existing, Node):
                raise TypeError(f"{cls.__name__}.{name}: {seg} is both a field and a wrapper")
            node = existing
        last = segments[-1]
        if last == "*":
            if not all(_is_model(m) for m in members):
                raise TypeError(f"{cls.__name__}.{name}: a choice ('*') must hold models")
            leaf = Leaf(name, "choice", repeated, optional)
            for member in _choice_members(members):
                qname, clark = choice_tag(member)
                if clark in leaf.choices:
                    raise TypeError(f"{cls.__name__}.{name}: two choices named {qname}")
                leaf.choices[clark] = member
                leaf.json_choices[qname] = member
                leaf.choice_names[member] = (qname, clark)
                nested.append(member)
                node.by_clark[clark] = leaf
                node.by_json[qname] = leaf
            node.children.append(leaf)
        else:
            clark = family.clark(last)
            note_ns(last)
            if clark in node.by_clark:
                raise TypeError(f"{cls.__name__}.{name}: element {last} is declared twice")
            if _is_model(members[0]):
                if len(members) != 1:
                    raise TypeError(f"{cls.__name__}.{name}: a union of models needs a '*' path")
                leaf = Leaf(name, "model", repeated, optional, clark=clark, qname=last, model=members[0])
                nested.append(members[0])
            else:
                fmt, jfmt, strip = _scalar_formatters(members[0])
                leaf = Leaf(name, "scalar", repeated, optional, clark=clark, qname=last,
                            fmt=fmt, jfmt=jfmt, strip=strip, is_str=members[0] is str,
                            check=check_decimal_text if members[0] is Decimal else None, scalar=members[0])
            node.children.append(leaf)
            node.by_clark[clark] = leaf
            node.by_json[last] = leaf
        leaves[name] = leaf

    plan = Plan(cls, attrs, {a.clark: a for a in attrs}, text, root, namespaces, paths, leaves)
    if cls.__tag__:
        qn = cls.__tag__
        if ":" in qn:
            namespaces[qn.split(":", 1)[0]] = family.prefixes[qn.split(":", 1)[0]]
    for qn in cls.__envelope__:
        if ":" in qn:
            namespaces[qn.split(":", 1)[0]] = family.prefixes[qn.split(":", 1)[0]]
    # gather namespaces of nested classes (guarding recursion)
    _PLANS[cls] = plan
    _BUILDING.add(cls)
    try:
        for sub in nested:
            if sub in _BUILDING:
                continue
            sub_plan = plan_for(sub)
            for prefix, uri in sub_plan.namespaces.items():
                if namespaces.setdefault(prefix, uri) != uri:
                    raise TypeError(
                        f"{cls.__name__}: prefix {prefix!r} means {namespaces[prefix]} here "
                        f"but {uri} in {sub.__name__}"
                    )
    finally:
        _BUILDING.discard(cls)
    return plan


def _choice_members(members: list[Any]) -> list[type[Model]]:
    """The concrete classes of a choice: the union's members, or a base class's tagged subclasses."""
    out: list[type[Model]] = []
    for member in members:
        if member.__tag__:
            out.append(member)
        else:
            for sub in _all_subclasses(member):
                if sub.__tag__ and sub not in out:
                    out.append(sub)
    if not out:
        raise TypeError(f"choice of {members!r} has no member with a __tag__")
    return out


def _all_subclasses(cls: type[Model]) -> list[type[Model]]:
    seen: list[type[Model]] = []
    stack = list(cls.__subclasses__())
    while stack:
        sub = stack.pop(0)
        if sub not in seen:
            seen.append(sub)
            stack.extend(sub.__subclasses__())
    return seen
