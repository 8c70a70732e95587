"""Generate a model class's JSON encoder and JSON decoder from its plan (why and how: :mod:`.gen_emit`).

The JSON form mirrors the XML form element for element (:mod:`transactive.codec.json`), so these generators
walk the same plans as :mod:`.gen_xml`; what a generated decoder calls at run time is in :mod:`.json_values`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from transactive.codec.gen_emit import (
    Emitter,
    bad_choice,
    choice_coders,
    choice_lookup,
    inlined,
    kept_or,
    only_member,
    present,
)
from transactive.codec.json_values import (
    MAX_JSON_DEPTH,
    member_error,
    not_object,
    other_key,
    path_error,
    scalar_value,
)
from transactive.codec.pins import PINS
from transactive.codec.plan import XML_BAD, Leaf, Node, Plan, plan_for
from transactive.errors import MalformedDocumentError
from transactive.model.base import Model
from transactive.model.types import MAX_DECIMAL_EXPONENT

__all__ = ["json_decoder_of", "json_encoder_of"]

JsonEncoder = Callable[[Any], dict[str, Any]]
JsonDecoder = Callable[[Any, str, int], dict[str, Any]]

_JSON_ENCODERS: dict[type[Model], JsonEncoder] = {}
_JSON_DECODERS: dict[type[Model], JsonDecoder] = {}


# ------------------------------------------------------------------------------------------- encoders
def json_encoder_of(cls: type[Model]) -> JsonEncoder:
    """``enc(obj) -> dict``: the JSON object of ``obj``'s element (its attributes, text and children, the
    CTS JSON binding's convention, see :mod:`transactive.codec.json`).

    Child models are inlined like the XML encoder does; absent values and empty repeated fields write
    nothing, and a wrapper left empty is dropped, as in the XML form.
    """
    found = _JSON_ENCODERS.get(cls)
    if found is not None:
        return found
    em = Emitter("def enc(obj):", {"_bad_choice": bad_choice, "PINS": PINS})
    lines = em.lines

    def body(model: type[Model], obj: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        plan = plan_for(model)
        lines.append(f"{indent}{d} = {{}}")
        for leaf in [*plan.attrs, *([plan.text] if plan.text is not None else [])]:
            f = em.const("F", leaf.jfmt)
            key = "$" if leaf is plan.text else "@" + leaf.qname
            lines.append(f"{indent}v = {obj}.{leaf.name}")
            lines.append(f"{indent}if v is not None:")
            lines.append(f"{indent}    {d}[{key!r}] = {f}(v)")
        children(plan.root, obj, d, indent, (*stack, model))

    def children(node: Node, obj: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        for item in node.children:
            if isinstance(item, Node):
                w = em.fresh("w")
                lines.append(f"{indent}{w} = {{}}")
                children(item, obj, w, indent, stack)
                lines.append(f"{indent}if {w}:")
                lines.append(f"{indent}    {d}[{item.qname!r}] = {w}")
            else:
                leaf_(item, obj, d, indent, stack)

    def value_of(model: type[Model], x: str, indent: str, stack: tuple[type[Model], ...]) -> str:
        """Emit the code encoding ``x`` (a ``model``); returns the variable holding the result."""
        e = em.late("E", json_encoder_of, model)
        sub = em.fresh("d")
        lines.extend(kept_or(indent, x, f"{sub} = p.json({e})"))
        if inlined(model, stack):
            body(model, x, sub, indent + "    ", stack)
        else:
            lines.append(f"{indent}    {sub} = {e}({x})")
        return sub

    def leaf_(leaf: Leaf, obj: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        v = em.fresh("v")
        lines.append(f"{indent}{v} = {obj}.{leaf.name}")
        lines.append(f"{indent}{present(leaf, v)}")
        inner = indent + "    "
        if leaf.kind == "scalar":
            f = em.const("F", leaf.jfmt)
            q = leaf.qname
            value = f"[{f}(x) for x in {v}]" if leaf.repeated else f"{f}({v})"
            lines.append(f"{inner}{d}[{q!r}] = {value}")
            return
        only = only_member(leaf)
        if only is not None:
            model, q = only
            x = em.fresh("x")
            if leaf.repeated:
                lst = em.fresh("l")
                lines.append(f"{inner}{lst} = []")
                lines.append(f"{inner}for {x} in {v}:")
                target, loop_indent = f"{lst}.append", inner + "    "
            else:
                lines.append(f"{inner}{x} = {v}")
                target, loop_indent = "", inner
            if leaf.kind == "choice":
                lines.append(f"{loop_indent}if type({x}) is not {em.class_ref(model)}:")
                lines.append(f"{loop_indent}    raise _bad_choice({x}, {leaf.name!r})")
            result = value_of(model, x, loop_indent, stack)
            lines.append(f"{loop_indent}{target}({result})" if target else f"{loop_indent}{d}[{q!r}] = {result}")
            if leaf.repeated:
                lines.append(f"{inner}{d}[{q!r}] = {lst}")
            return
        # a choice among several classes: one table lookup per value
        t = em.late("C", choice_coders, leaf, json_encoder_of)
        lines.append(f"{inner}for x in {v if leaf.repeated else '(' + v + ',)'}:")
        lines.extend(f"{inner}    {line}" for line in choice_lookup(t, leaf))
        lines.append(f"{inner}    p = PINS.get(id(x))")
        lines.append(f"{inner}    y = p.json(e[1]) if p is not None and p.obj is x else e[1](x)")
        if leaf.repeated:
            lines.append(f"{inner}    {d}.setdefault(e[0], []).append(y)")
        else:
            lines.append(f"{inner}    {d}[e[0]] = y")

    body(cls, "obj", "d", "    ", ())
    lines.append("    return d")
    enc: JsonEncoder = em.define(f"<json encoder {cls.__name__}>", "enc", _JSON_ENCODERS, cls)
    return enc


# ------------------------------------------------------------------------------------------- decoders
#: a path in generated code: the text of an f-string (``{path}/ei:eiTender[{n3 + 1}]``), built where it is used
JsonPath = str
_ROOT = "{path}"


#: for-loops a generated JSON decoder nests before it calls a child's decoder instead of inlining it
#: (CPython refuses more than 20 statically nested blocks)
_JSON_NESTING = 12


def json_decoder_of(cls: type[Model]) -> JsonDecoder:
    """``dec(body, path, depth) -> dict`` of field values ready for ``validate_python``: what the plan
    interpreter (``tests/codec/json_interpreter.py``) returns for the same arguments, or the error it raises
    (same class, message and field errors), for any JSON value (``tests/codec/test_json_decoder_generated.py``
    holds the two to each other).

    ``body`` is the element's JSON value, ``path`` its path (``/pfx:message/...``), ``depth`` its nesting
    depth. Each key of an object is dispatched with one table lookup; paths are built only for an error
    or a child decoded by a call. Child models (and the one member of a single-class choice) are inlined
    like the XML decoder does; the members of a choice among several classes are called, their key
    naming which.
    """
    found = _JSON_DECODERS.get(cls)
    if found is not None:
        return found
    limit = MAX_JSON_DEPTH
    # the emitter names the globals; locals are named by their level of nesting (and reused)
    em = Emitter("def dec(body, path, depth):", {
        "_scalar": scalar_value,
        "_bad": path_error,
        "_not_object": not_object,
        "_other": other_key,
        "_member_error": member_error,
        "_BAD": XML_BAD.search,
        "_NUM": frozenset((int, float, bool)),
        "_DEEP": f"JSON nests deeper than {limit} levels",
        "MalformedDocumentError": MalformedDocumentError,
        "ValidationError": ValidationError,
    })
    lines = em.lines

    def at(p: JsonPath, key: str) -> JsonPath:
        return p + _literal(f"/{key}")

    def expr(p: JsonPath) -> str:
        # the path argument itself, as the interpreter hands it on; any other path is formatted like it does
        return "path" if p == _ROOT else "f" + repr(p)

    def value_of(leaf: Leaf, v: str, p: JsonPath, key_expr: str) -> str:
        """An expression: ``_scalar(leaf, v, path, key)``, with its common cases (the value itself) inline."""
        slow = f"_scalar({em.const('L', leaf)}, {v}, {expr(p)}, {key_expr})"
        fast = _json_fast(leaf, v)
        return slow if fast is None else f"{v} if {fast} else {slow}"

    def body(model: type[Model], b: str, p: JsonPath, k: int, nest: int, level: int, indent: str,
             stack: tuple[type[Model], ...]) -> str:
        """Emit the decoding of ``b`` (a ``model`` at depth ``depth + k``); returns the dict's variable."""
        plan = plan_for(model)
        d = f"d{level}"
        lines.append(f"{indent}if depth > {limit - k}:")
        lines.append(f"{indent}    raise MalformedDocumentError(_DEEP)")
        lines.append(f"{indent}if not isinstance({b}, dict):")
        if plan.text is not None and not plan.attrs and not plan.root.children:
            # a simple value stands for {"$": value}
            lines.append(f"{indent}    {d} = {{{plan.text.name!r}: {value_of(plan.text, b, p, repr('$'))}}}")
            lines.append(f"{indent}else:")
            inner = indent + "    "
        else:
            lines.append(f"{indent}    raise _not_object({expr(p)}, {b})")
            inner = indent
        lines.append(f"{inner}{d} = {{}}")
        loop(plan, plan.root, b, d, p, k, nest, level + 1, inner, (*stack, model))
        return d

    def loop(plan: Plan | None, node: Node, b: str, d: str, p: JsonPath, k: int, nest: int, level: int,
             indent: str, stack: tuple[type[Model], ...]) -> None:
        """Emit the loop over the keys of ``b`` (the object of ``node``; ``plan``: of an element, not a wrapper)."""
        entries: dict[str, Leaf | Node] = {}  # each key, and what the first to claim it reads
        if plan is not None:  # an element's attributes and text before its children, as the interpreter tries them
            for leaf in plan.attrs:
                entries.setdefault("@" + leaf.qname, leaf)
            if plan.text is not None:
                entries.setdefault("$", plan.text)
        for key, item in node.by_json.items():
            if plan is None or not (key[:1] == "@" or key == "$"):
                entries.setdefault(key, item)
        kv, vv = f"k{level}", f"v{level}"
        lines.append(f"{indent}for {kv}, {vv} in {b}.items():")
        other = f"_other({kv}, {expr(p)}, {plan is not None})"
        if not entries:
            lines.append(f"{indent}    {other}")
            return
        keyed = ((key, (key, item)) for key, item in entries.items())  # a branch for each key
        for (key, item), inner in em.switch(em.fresh("T"), indent + "    ", "i", kv, keyed):
            branch(node, key, item, vv, d, p, k, nest + 1, level + 1, inner, stack)
        lines.append(f"{indent}    else:")
        lines.append(f"{indent}        {other}")

    def branch(node: Node, key: str, item: Leaf | Node, v: str, d: str, p: JsonPath, k: int, nest: int,
               level: int, indent: str, stack: tuple[type[Model], ...]) -> None:
        """Emit the reading of ``v``, the value of ``key`` in the object at ``p``."""
        kp = at(p, key)
        if isinstance(item, Node):  # a wrapper: its keys go into the same dict
            lines.append(f"{indent}if not isinstance({v}, dict):")
            lines.append(f"{indent}    raise _not_object({expr(kp)}, {v})")
            loop(None, item, v, d, kp, k + 1, nest, level, indent, stack)
            return
        target = f"{d}[{item.name!r}]"
        if item.kind in ("attr", "text"):
            lines.append(f"{indent}{target} = {value_of(item, v, p, repr(key))}")
            return
        once = f"raise _bad({expr(kp)}, 'may appear only once here (got an array)')"
        # a scalar's or a model's field is named by one key only, so (the keys of an object being distinct) it
        # cannot be set twice: the interpreter's duplicate check is kept only for a choice's field, that several name
        if item.kind == "scalar" and not item.repeated:
            fast = _json_fast(item, v)
            slow = f"{target} = _scalar({em.const('L', item)}, {v}, {expr(p)}, {key!r})"
            if fast is None:
                lines.extend([f"{indent}if isinstance({v}, list):", f"{indent}    {once}", f"{indent}{slow}"])
            else:
                lines.extend([f"{indent}if {fast}:", f"{indent}    {target} = {v}",
                              f"{indent}elif isinstance({v}, list):", f"{indent}    {once}",
                              f"{indent}else:", f"{indent}    {slow}"])
            return
        if item.repeated:
            n, x, lst = f"n{level}", f"x{level}", f"l{level}"
            lines.append(f"{indent}{lst} = []")
            lines.append(f"{indent}for {n}, {x} in enumerate({v} if isinstance({v}, list) else ({v},)):")
            if item.kind == "scalar":
                value = value_of(item, x, p, "f" + repr(_literal(f"{key}[") + f"{{{n} + 1}}]"))
            else:
                xp = at(p, f"{key}[") + f"{{{n} + 1}}]"
                value = child(item, key, x, xp, k + 1, nest + 1, level + 1, indent + "    ", stack)
            lines.append(f"{indent}    {lst}.append({value})")
            if _keys_of(node, item) > 1:  # a choice: its members' values in the order of the keys
                lines.append(f"{indent}{d}.setdefault({item.name!r}, []).extend({lst})")
            else:
                lines.append(f"{indent}{target} = {lst}")
            return
        lines.append(f"{indent}if isinstance({v}, list):")
        lines.append(f"{indent}    {once}")
        value = child(item, key, v, kp, k + 1, nest, level + 1, indent, stack)
        if _keys_of(node, item) > 1:  # a second member of the choice
            lines.append(f"{indent}if {item.name!r} in {d}:")
            lines.append(f"{indent}    raise _bad({expr(kp)}, 'may appear only once here')")
        lines.append(f"{indent}{target} = {value}")

    def child(item: Leaf, key: str, x: str, xp: JsonPath, k: int, nest: int, level: int, indent: str,
              stack: tuple[type[Model], ...]) -> str:
        """Emit the decoding of a child model (a choice's member: and its validation); returns its variable."""
        member = item.model if item.kind == "model" else item.json_choices[key]
        assert member is not None
        called = item.kind == "choice" and len(item.json_choices) > 1
        if called or not inlined(member, stack) or nest >= _JSON_NESTING:
            s = f"s{level}"
            lines.append(f"{indent}{s} = {em.late('D', json_decoder_of, member)}({x}, {expr(xp)}, depth + {k})")
        else:
            s = body(member, x, xp, k, nest, level, indent, stack)
        if item.kind == "model":
            return s
        ref, y = em.class_ref(member), f"y{level}"
        lines.append(f"{indent}try:")
        lines.append(f"{indent}    {y} = {ref}.__pydantic_validator__.validate_python({s})")
        lines.append(f"{indent}except ValidationError as exc:")
        lines.append(f"{indent}    raise _member_error({ref}, exc, {key!r}, {expr(xp)}) from None")
        return y

    d = body(cls, "body", _ROOT, 0, 0, 0, "    ", ())
    lines.append(f"    return {d}")
    dec: JsonDecoder = em.define(f"<json decoder {cls.__name__}>", "dec", _JSON_DECODERS, cls)
    return dec


def _literal(text: str) -> str:
    """``text`` as the literal part of an f-string."""
    return text.replace("{", "{{").replace("}", "}}")


def _json_fast(leaf: Leaf, v: str) -> str | None:
    """A condition on ``v`` under which ``_scalar`` returns ``v`` itself (None: it may not).

    A string is returned as is when XML can carry all of it: a printable string can (controls, surrogates and
    the noncharacters U+FFFE/U+FFFF are not printable), any other is searched. A number for a decimal is
    returned once ``check_decimal`` accepts it: a float of at most 17 significant digits whose magnitude is
    inside ``1e{18 - MAX}`` .. ``1e{MAX - 1}`` (or zero), or an integer of fewer than ``MAX`` digits, always is.
    """
    if leaf.scalar is Decimal:
        low, high = 10.0 ** (18 - MAX_DECIMAL_EXPONENT), 10 ** (MAX_DECIMAL_EXPONENT - 1)
        return (f"({v}.__class__ is float and ({low!r} <= abs({v}) < {float(high)!r} or {v} == 0.0)"
                f" or {v}.__class__ is int and -{high} < {v} < {high} or {v}.__class__ is bool)")
    if leaf.check is not None:
        return None
    text = f"{v}.__class__ is str and ({v}.isprintable() or _BAD({v}) is None)"
    return f"({text})" if leaf.is_str else f"({text} or {v}.__class__ in _NUM)"


def _keys_of(node: Node, item: Leaf) -> int:
    """How many keys of ``node`` name ``item`` (the members of a choice, one each)."""
    return sum(1 for other in node.by_json.values() if other is item)
