"""Generate straight-line encoder and decoder functions from a class's plan.

Walking the plan generically costs a dictionary lookup and a branch per field per object; generating
one small Python function per model class removes that interpretive overhead. The generated source is
kept on the function (``__source__``) so it can be read when debugging.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from lxml import etree
from pydantic import ValidationError

from transactive.codec.json_values import MAX_JSON_DEPTH, member_error, not_object, path_error, scalar_value
from transactive.codec.pins import PINS
from transactive.codec.plan import XML_BAD, Leaf, Node, Plan, plan_for
from transactive.codec.xml_errors import bad_attribute, checked, duplicate, nested, unexpected, validate_member
from transactive.errors import MalformedDocumentError
from transactive.model.base import Model
from transactive.model.types import MAX_DECIMAL_EXPONENT

__all__ = ["decoder_of", "encoder_of", "json_decoder_of", "json_encoder_of"]

Encoder = Callable[[Any, list[str], str, str], None]
JsonEncoder = Callable[[Any], dict[str, Any]]
Decoder = Callable[[etree._Element], dict[str, Any]]
JsonDecoder = Callable[[Any, str, int], dict[str, Any]]

_ENCODERS: dict[type[Model], Encoder] = {}
_JSON_ENCODERS: dict[type[Model], JsonEncoder] = {}
_DECODERS: dict[type[Model], Decoder] = {}
_JSON_DECODERS: dict[type[Model], JsonDecoder] = {}
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def _define(lines: list[str], label: str, g: dict[str, Any], name: str) -> Any:
    """Compile generated ``lines`` (built from our own plans, never from outside text) into ``g`` and return
    the function ``name``, its source kept on it as ``__source__``."""
    source = "\n".join(lines)
    exec(compile(source, label, "exec"), g)
    fn = g[name]
    fn.__source__ = source
    return fn


# ------------------------------------------------------------------------------------------- errors
def _bad_choice(value: Any, field: str) -> ValueError:
    return ValueError(f"{type(value).__name__} is not an allowed choice for {field}")


# ----------------------------------------------------------------------------------------- encoders
_INLINE_DEPTH = 4


def encoder_of(cls: type[Model]) -> Encoder:
    """``enc(obj, out, qname, extra_attrs)`` appends the element for ``obj`` to ``out``.

    Child models are inlined into their parent's function (up to a small depth, never recursively),
    so one call writes a whole subtree.
    """
    found = _ENCODERS.get(cls)
    if found is not None:
        return found
    g: dict[str, Any] = {"_bad_choice": _bad_choice, "PINS": PINS}
    counter = itertools.count()
    lines = ["def enc(obj, out, qname, extra):"]
    later: list[tuple[str, type[Model]]] = []
    choice_tables: list[tuple[str, Leaf]] = []

    def element(model: type[Model], obj: str, qname_expr: str, extra_expr: str, indent: str,
                stack: tuple[type[Model], ...]) -> None:
        plan = plan_for(model)
        a = f"a{next(counter)}"
        n = f"n{next(counter)}"
        lines.append(f"{indent}{a} = {extra_expr}")
        for leaf in plan.attrs:
            f = f"F{next(counter)}"
            g[f] = leaf.fmt
            lines.append(f"{indent}v = {obj}.{leaf.name}")
            lines.append(f"{indent}if v is not None:")
            lines.append(f"{indent}    {a} += ' {leaf.qname}=\"' + {f}(v) + '\"'")
        lines.append(f"{indent}{n} = len(out)")
        lines.append(f"{indent}out.append('')")
        if plan.text is not None:
            f = f"F{next(counter)}"
            g[f] = plan.text.fmt
            lines.append(f"{indent}v = {obj}.{plan.text.name}")
            lines.append(f"{indent}if v is not None:")
            lines.append(f"{indent}    out.append({f}(v))")
        children(plan.root, obj, indent, (*stack, model))
        lines.append(f"{indent}if len(out) == {n} + 1:")
        lines.append(f"{indent}    out[{n}] = '<' + {qname_expr} + {a} + '/>'")
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    out[{n}] = '<' + {qname_expr} + {a} + '>'")
        lines.append(f"{indent}    out.append('</' + {qname_expr} + '>')")

    def children(node: Node, obj: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        for item in node.children:
            if isinstance(item, Node):
                chain = _single_chain(item)
                if chain is not None:
                    leaf, opens, closes = chain
                    emit_leaf(leaf, obj, indent, opens, closes, stack)
                else:
                    m = f"m{next(counter)}"
                    lines.append(f"{indent}{m} = len(out)")
                    lines.append(f"{indent}out.append({'<' + item.qname + '>'!r})")
                    children(item, obj, indent, stack)
                    lines.append(f"{indent}if len(out) == {m} + 1:")
                    lines.append(f"{indent}    out.pop()")
                    lines.append(f"{indent}else:")
                    lines.append(f"{indent}    out.append({'</' + item.qname + '>'!r})")
            else:
                emit_leaf(item, obj, indent, "", "", stack)

    def sub_element(model: type[Model], var: str, qname: str, indent: str,
                    stack: tuple[type[Model], ...]) -> None:
        e = f"E{next(counter)}"
        later.append((e, model))
        lines.append(f"{indent}p = PINS.get(id({var}))")
        lines.append(f"{indent}if p is not None and p.obj is {var}:")
        lines.append(f"{indent}    out.append(p.xml_text({e}, {qname!r}))")
        lines.append(f"{indent}else:")
        if model in stack or len(stack) >= _INLINE_DEPTH:
            lines.append(f"{indent}    {e}({var}, out, {qname!r}, '')")
        else:
            element(model, var, repr(qname), "''", indent + "    ", stack)

    def emit_leaf(leaf: Leaf, obj: str, indent: str, opens: str, closes: str,
                  stack: tuple[type[Model], ...]) -> None:
        v = f"v{next(counter)}"
        lines.append(f"{indent}{v} = {obj}.{leaf.name}")
        lines.append(f"{indent}{'if ' + v + ':' if leaf.repeated else 'if ' + v + ' is not None:'}")
        inner = indent + "    "
        if leaf.kind == "scalar":
            f = f"F{next(counter)}"
            g[f] = leaf.fmt
            o, c = f"{opens}<{leaf.qname}>", f"</{leaf.qname}>{closes}"
            if leaf.repeated:
                if opens:
                    lines.append(f"{inner}out.append({opens!r})")
                lines.append(f"{inner}for x in {v}:")
                o1, c1 = f"<{leaf.qname}>", f"</{leaf.qname}>"
                lines.append(f"{inner}    out.append({o1!r} + {f}(x) + {c1!r})")
                if closes:
                    lines.append(f"{inner}out.append({closes!r})")
            else:
                lines.append(f"{inner}out.append({o!r} + {f}({v}) + {c!r})")
            return
        if opens:
            lines.append(f"{inner}out.append({opens!r})")
        if leaf.kind == "model" or (leaf.kind == "choice" and len(leaf.choice_names) == 1):
            model = leaf.model if leaf.kind == "model" else next(iter(leaf.choice_names))
            assert model is not None
            qname = leaf.qname if leaf.kind == "model" else leaf.choice_names[model][0]
            if leaf.kind == "choice":
                check = f"if type(x) is not {_class_ref(g, model)}: raise _bad_choice(x, {leaf.name!r})"
            else:
                check = ""
            if leaf.repeated:
                x = f"x{next(counter)}"
                lines.append(f"{inner}for {x} in {v}:")
                if check:
                    lines.append(f"{inner}    x = {x}")
                    lines.append(f"{inner}    {check}")
                sub_element(model, x, qname, inner + "    ", stack)
            else:
                if check:
                    lines.append(f"{inner}x = {v}")
                    lines.append(f"{inner}{check}")
                sub_element(model, v, qname, inner, stack)
        else:  # choice among several classes
            t = f"C{next(counter)}"
            choice_tables.append((t, leaf))
            body = [
                f"e = {t}.get(type(x))",
                "if e is None:",
                f"    raise _bad_choice(x, {leaf.name!r})",
                "p = PINS.get(id(x))",
                "if p is not None and p.obj is x:",
                "    out.append(p.xml_text(e[1], e[0]))",
                "else:",
                "    e[1](x, out, e[0], '')",
            ]
            if leaf.repeated:
                lines.append(f"{inner}for x in {v}:")
                lines.extend(f"{inner}    {b}" for b in body)
            else:
                lines.append(f"{inner}x = {v}")
                lines.extend(f"{inner}{b}" for b in body)
        if closes:
            lines.append(f"{inner}out.append({closes!r})")

    element(cls, "obj", "qname", "extra", "    ", ())
    enc: Encoder = _define(lines, f"<encoder {cls.__name__}>", g, "enc")
    _ENCODERS[cls] = enc
    for name, sub in later:
        g[name] = encoder_of(sub)
    for name, leaf in choice_tables:
        g[name] = {member: (q, encoder_of(member)) for member, (q, _clark) in leaf.choice_names.items()}
    return enc


def _class_ref(g: dict[str, Any], model: type[Model]) -> str:
    name = f"K_{model.__name__}_{id(model)}"
    g[name] = model
    return name


def _single_chain(node: Node) -> tuple[Leaf, str, str] | None:
    """A wrapper chain that ends in exactly one non-choice leaf: emit it as one prefix and suffix."""
    opens, closes = f"<{node.qname}>", f"</{node.qname}>"
    current = node
    while True:
        if len(current.children) != 1:
            return None
        child = current.children[0]
        if isinstance(child, Node):
            opens += f"<{child.qname}>"
            closes = f"</{child.qname}>" + closes
            current = child
            continue
        return child, opens, closes


# ------------------------------------------------------------------------------------ JSON encoders
def json_encoder_of(cls: type[Model]) -> JsonEncoder:
    """``enc(obj) -> dict``: the JSON object of ``obj``'s element (its attributes, text and children, the
    CTS JSON binding's convention, see :mod:`transactive.codec.json`).

    Child models are inlined like :func:`encoder_of` does; absent values and empty repeated fields write
    nothing, and a wrapper left empty is dropped, as in the XML form.
    """
    found = _JSON_ENCODERS.get(cls)
    if found is not None:
        return found
    g: dict[str, Any] = {"_bad_choice": _bad_choice, "PINS": PINS}
    counter = itertools.count()
    lines = ["def enc(obj):"]
    later: list[tuple[str, type[Model]]] = []
    choice_tables: list[tuple[str, Leaf]] = []

    def body(model: type[Model], obj: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        plan = plan_for(model)
        lines.append(f"{indent}{d} = {{}}")
        for leaf in [*plan.attrs, *([plan.text] if plan.text is not None else [])]:
            f = f"F{next(counter)}"
            g[f] = leaf.jfmt
            key = "$" if leaf is plan.text else "@" + leaf.qname
            lines.append(f"{indent}v = {obj}.{leaf.name}")
            lines.append(f"{indent}if v is not None:")
            lines.append(f"{indent}    {d}[{key!r}] = {f}(v)")
        children(plan.root, obj, d, indent, (*stack, model))

    def children(node: Node, obj: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        for item in node.children:
            if isinstance(item, Node):
                w = f"w{next(counter)}"
                lines.append(f"{indent}{w} = {{}}")
                children(item, obj, w, indent, stack)
                lines.append(f"{indent}if {w}:")
                lines.append(f"{indent}    {d}[{item.qname!r}] = {w}")
            else:
                leaf_(item, obj, d, indent, stack)

    def value_of(model: type[Model], x: str, indent: str, stack: tuple[type[Model], ...]) -> str:
        """Emit the code encoding ``x`` (a ``model``); returns the variable holding the result."""
        e = f"E{next(counter)}"
        later.append((e, model))
        sub = f"d{next(counter)}"
        lines.append(f"{indent}p = PINS.get(id({x}))")
        lines.append(f"{indent}if p is not None and p.obj is {x}:")
        lines.append(f"{indent}    {sub} = p.json({e})")
        lines.append(f"{indent}else:")
        if model in stack or len(stack) >= _INLINE_DEPTH:
            lines.append(f"{indent}    {sub} = {e}({x})")
        else:
            body(model, x, sub, indent + "    ", stack)
        return sub

    def leaf_(leaf: Leaf, obj: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        v = f"v{next(counter)}"
        q = leaf.qname
        lines.append(f"{indent}{v} = {obj}.{leaf.name}")
        lines.append(f"{indent}{'if ' + v + ':' if leaf.repeated else 'if ' + v + ' is not None:'}")
        inner = indent + "    "
        if leaf.kind == "scalar":
            f = f"F{next(counter)}"
            g[f] = leaf.jfmt
            value = f"[{f}(x) for x in {v}]" if leaf.repeated else f"{f}({v})"
            lines.append(f"{inner}{d}[{q!r}] = {value}")
            return
        if leaf.kind == "model" or len(leaf.choice_names) == 1:
            model = leaf.model if leaf.kind == "model" else next(iter(leaf.choice_names))
            assert model is not None
            if leaf.kind == "choice":
                q = leaf.choice_names[model][0]
            x = f"x{next(counter)}"
            if leaf.repeated:
                lst = f"l{next(counter)}"
                lines.append(f"{inner}{lst} = []")
                lines.append(f"{inner}for {x} in {v}:")
                target, loop_indent = f"{lst}.append", inner + "    "
            else:
                lines.append(f"{inner}{x} = {v}")
                target, loop_indent = "", inner
            if leaf.kind == "choice":
                lines.append(f"{loop_indent}if type({x}) is not {_class_ref(g, model)}:")
                lines.append(f"{loop_indent}    raise _bad_choice({x}, {leaf.name!r})")
            result = value_of(model, x, loop_indent, stack)
            lines.append(f"{loop_indent}{target}({result})" if target else f"{loop_indent}{d}[{q!r}] = {result}")
            if leaf.repeated:
                lines.append(f"{inner}{d}[{q!r}] = {lst}")
            return
        t = f"C{next(counter)}"  # a choice among several classes: one table lookup per value
        choice_tables.append((t, leaf))
        lines.append(f"{inner}for x in {v if leaf.repeated else '(' + v + ',)'}:")
        lines.append(f"{inner}    e = {t}.get(type(x))")
        lines.append(f"{inner}    if e is None:")
        lines.append(f"{inner}        raise _bad_choice(x, {leaf.name!r})")
        lines.append(f"{inner}    p = PINS.get(id(x))")
        lines.append(f"{inner}    y = p.json(e[1]) if p is not None and p.obj is x else e[1](x)")
        if leaf.repeated:
            lines.append(f"{inner}    {d}.setdefault(e[0], []).append(y)")
        else:
            lines.append(f"{inner}    {d}[e[0]] = y")

    body(cls, "obj", "d", "    ", ())
    lines.append("    return d")
    enc: JsonEncoder = _define(lines, f"<json encoder {cls.__name__}>", g, "enc")
    _JSON_ENCODERS[cls] = enc
    for name, sub in later:
        g[name] = json_encoder_of(sub)
    for name, leaf in choice_tables:
        g[name] = {member: (q, json_encoder_of(member)) for member, (q, _clark) in leaf.choice_names.items()}
    return enc


# ----------------------------------------------------------------------------------------- decoders
def decoder_of(cls: type[Model]) -> Decoder:
    """``dec(element) -> dict`` of field values (raw text for scalars) ready for ``model_validate``.

    Child models are inlined (up to a small depth, never recursively), like the encoders.
    """
    found = _DECODERS.get(cls)
    if found is not None:
        return found
    g: dict[str, Any] = {
        "_unexpected": unexpected,
        "_duplicate": duplicate,
        "_bad_attribute": bad_attribute,
        "_validate_member": validate_member,
        "_checked": checked,
        "_nested": nested,
        "_XSI": _XSI,
        "str": str,
    }
    counter = itertools.count()
    later: list[tuple[str, type[Model]]] = []
    lines = ["def dec(el):"]

    def body(model: type[Model], el: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        plan = plan_for(model)
        lines.append(f"{indent}{d} = {{}}")
        if plan.attrs:
            a = f"A{next(counter)}"
            g[a] = {leaf.clark: (leaf.name, leaf.strip) for leaf in plan.attrs}
            lines.extend([
                f"{indent}if {el}.attrib:",
                f"{indent}    for k, v in {el}.attrib.items():",
                f"{indent}        hit = {a}.get(k)",
                f"{indent}        if hit is not None:",
                f"{indent}            {d}[hit[0]] = v.strip() if hit[1] else v",
                f"{indent}        elif not k.startswith(_XSI):",
                f"{indent}            raise _bad_attribute({el}, k)",
            ])
        else:
            lines.extend([
                f"{indent}if {el}.attrib:",
                f"{indent}    for k in {el}.attrib:",
                f"{indent}        if not k.startswith(_XSI):",
                f"{indent}            raise _bad_attribute({el}, k)",
            ])
        if plan.text is not None:
            strip = ".strip()" if plan.text.strip else ""
            lines.append(f"{indent}{d}[{plan.text.name!r}] = ({el}.text or ''){strip}")
        loop(plan.root, el, d, indent, (*stack, model))

    def loop(node: Node, parent: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        if not node.by_clark:
            lines.append(f"{indent}for c in {parent}:")
            lines.append(f"{indent}    if c.tag.__class__ is str:")
            lines.append(f"{indent}        raise _unexpected(c, {parent})")
            return
        idx = f"I{next(counter)}"
        var = f"c{next(counter)}"
        items: list[Leaf | Node] = []
        table: dict[str, int] = {}
        for clark, item in node.by_clark.items():
            if item not in items:
                items.append(item)
            table[clark] = items.index(item)
        g[idx] = table
        lines.append(f"{indent}for {var} in {parent}:")
        lines.append(f"{indent}    k = {idx}.get({var}.tag)")
        for n, item in enumerate(items):
            lines.append(f"{indent}    {'if' if n == 0 else 'elif'} k == {n}:")
            inner = indent + "        "
            if isinstance(item, Node):
                chain = _single_chain(item)
                if chain is not None and chain[0].kind == "scalar" and not chain[0].repeated:
                    emit_chain(item, chain[0], var, d, inner)
                else:
                    loop(item, var, d, inner, stack)
                continue
            if item.kind == "scalar":
                strip = ".strip()" if item.strip else ""
                lines.append(f"{inner}if len({var}):")
                lines.append(f"{inner}    raise _nested({var})")
                value = f"({var}.text or ''){strip}"
                if item.check is not None:
                    chk = f"K{next(counter)}"
                    g[chk] = item.check
                    value = f"_checked({chk}, {value}, {var})"
            elif item.kind == "model" or len(item.choices) == 1:
                model = item.model if item.kind == "model" else next(iter(item.choices.values()))
                assert model is not None
                if model in stack or len(stack) >= _INLINE_DEPTH:
                    dname = f"D{next(counter)}"
                    later.append((dname, model))
                    value = f"{dname}({var})"
                else:
                    sub = f"d{next(counter)}"
                    body(model, var, sub, inner, stack)
                    value = sub
            else:
                tname = f"T{next(counter)}"
                g[tname] = item.choices
                dname = f"DM{next(counter)}"
                g[dname] = {}
                for member in item.choices.values():
                    later.append((f"{dname}:{member.__qualname__}", member))
                lines.append(f"{inner}m = {tname}[{var}.tag]")
                value = f"_validate_member(m, {dname}[m]({var}), {var})"
            if item.repeated:
                lines.append(f"{inner}{d}.setdefault({item.name!r}, []).append({value})")
            else:
                lines.append(f"{inner}if {item.name!r} in {d}:")
                lines.append(f"{inner}    raise _duplicate({var})")
                lines.append(f"{inner}{d}[{item.name!r}] = {value}")
        lines.append(f"{indent}    elif {var}.tag.__class__ is str:")
        lines.append(f"{indent}        raise _unexpected({var}, {parent})")

    def emit_chain(node: Node, leaf: Leaf, var: str, d: str, indent: str) -> None:
        # wrapper(s) around exactly one scalar: index the single child instead of looping
        current: Node | Leaf = node
        parent = var
        while isinstance(current, Node):
            child = current.children[0]
            nxt = f"c{next(counter)}"
            t = f"T{next(counter)}"
            g[t] = child.clark
            lines.append(f"{indent}{nxt} = {parent}[0] if len({parent}) == 1 else None")
            lines.append(f"{indent}if {nxt} is None or {nxt}.tag != {t}:")
            lines.append(f"{indent}    raise _unexpected({parent}[0] if len({parent}) else {parent}, {parent})")
            parent = nxt
            current = child
        strip = ".strip()" if leaf.strip else ""
        value = f"({parent}.text or ''){strip}"
        if leaf.check is not None:
            chk = f"K{next(counter)}"
            g[chk] = leaf.check
            value = f"_checked({chk}, {value}, {parent})"
        lines.append(f"{indent}if {leaf.name!r} in {d} or len({parent}):")
        lines.append(f"{indent}    raise _duplicate({parent}) if {leaf.name!r} in {d} else _nested({parent})")
        lines.append(f"{indent}{d}[{leaf.name!r}] = {value}")

    body(cls, "el", "d", "    ", ())
    lines.append("    return d")
    dec: Decoder = _define(lines, f"<decoder {cls.__name__}>", g, "dec")
    _DECODERS[cls] = dec
    for name, sub in later:
        if ":" in name:
            table_name = name.split(":", 1)[0]
            g[table_name][sub] = decoder_of(sub)
        else:
            g[name] = decoder_of(sub)
    return dec


# ------------------------------------------------------------------------------------ JSON decoders
#: a path in generated code: the text of an f-string (``{path}/ei:eiTender[{n3 + 1}]``), built where it is used
JsonPath = str
_ROOT = "{path}"


def _json_other(key: Any, parent: str, element: bool) -> None:
    """A key no field of the object at ``parent`` is read from (``element``: the object is an element's own,
    not a wrapper's). An ``xmlns``/``xsi:`` attribute is ignored; anything else is an error."""
    if element:
        if key[:1] == "@":
            attr = key[1:]
            if attr.startswith("xmlns") or attr.startswith("xsi:"):
                return
            raise path_error(f"{parent}/{key}", "attribute is not allowed here")
        if key == "$":
            raise path_error(f"{parent}/{key}", "this element has no text content")
    raise path_error(f"{parent}/{key}", "field is not allowed here")


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
    like :func:`decoder_of` does; the members of a choice among several classes are called, their key
    naming which.
    """
    found = _JSON_DECODERS.get(cls)
    if found is not None:
        return found
    limit = MAX_JSON_DEPTH
    g: dict[str, Any] = {
        "_scalar": scalar_value,
        "_bad": path_error,
        "_not_object": not_object,
        "_other": _json_other,
        "_member_error": member_error,
        "_BAD": XML_BAD.search,
        "_NUM": frozenset((int, float, bool)),
        "_DEEP": f"JSON nests deeper than {limit} levels",
        "MalformedDocumentError": MalformedDocumentError,
        "ValidationError": ValidationError,
    }
    counter = itertools.count()  # names of globals; locals are named by their level of nesting (reused)
    later: list[tuple[str, type[Model]]] = []
    lines = ["def dec(body, path, depth):"]

    def at(p: JsonPath, key: str) -> JsonPath:
        return p + _literal(f"/{key}")

    def expr(p: JsonPath) -> str:
        # the path argument itself, as the interpreter hands it on; any other path is formatted like it does
        return "path" if p == _ROOT else "f" + repr(p)

    def value_of(leaf: Leaf, v: str, p: JsonPath, key_expr: str) -> str:
        """An expression: ``_scalar(leaf, v, path, key)``, with its common cases (the value itself) inline."""
        lf = f"L{next(counter)}"
        g[lf] = leaf
        slow = f"_scalar({lf}, {v}, {expr(p)}, {key_expr})"
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
        entries: list[tuple[str, Leaf | Node]] = []
        table: dict[str, int] = {}

        def add(key: str, item: Leaf | Node) -> None:
            if key not in table:
                table[key] = len(entries)
                entries.append((key, item))

        if plan is not None:  # an element's attributes and text before its children, as the interpreter tries them
            for leaf in plan.attrs:
                add("@" + leaf.qname, leaf)
            if plan.text is not None:
                add("$", plan.text)
        for key, item in node.by_json.items():
            if plan is None or not (key[:1] == "@" or key == "$"):
                add(key, item)
        kv, vv = f"k{level}", f"v{level}"
        lines.append(f"{indent}for {kv}, {vv} in {b}.items():")
        other = f"_other({kv}, {expr(p)}, {plan is not None})"
        if not entries:
            lines.append(f"{indent}    {other}")
            return
        t = f"T{next(counter)}"
        g[t] = table
        lines.append(f"{indent}    i = {t}.get({kv})")
        for n, (key, item) in enumerate(entries):
            lines.append(f"{indent}    {'if' if n == 0 else 'elif'} i == {n}:")
            branch(node, key, item, vv, d, p, k, nest + 1, level + 1, indent + "        ", stack)
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
            lf = f"L{next(counter)}"
            g[lf] = item
            slow = f"{target} = _scalar({lf}, {v}, {expr(p)}, {key!r})"
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
        if called or member in stack or len(stack) >= _INLINE_DEPTH or nest >= _JSON_NESTING:
            e, s = f"D{next(counter)}", f"s{level}"
            later.append((e, member))
            lines.append(f"{indent}{s} = {e}({x}, {expr(xp)}, depth + {k})")
        else:
            s = body(member, x, xp, k, nest, level, indent, stack)
        if item.kind == "model":
            return s
        ref, y = _class_ref(g, member), f"y{level}"
        lines.append(f"{indent}try:")
        lines.append(f"{indent}    {y} = {ref}.__pydantic_validator__.validate_python({s})")
        lines.append(f"{indent}except ValidationError as exc:")
        lines.append(f"{indent}    raise _member_error({ref}, exc, {key!r}, {expr(xp)}) from None")
        return y

    d = body(cls, "body", _ROOT, 0, 0, 0, "    ", ())
    lines.append(f"    return {d}")
    dec: JsonDecoder = _define(lines, f"<json decoder {cls.__name__}>", g, "dec")
    _JSON_DECODERS[cls] = dec
    for name, sub in later:
        g[name] = json_decoder_of(sub)
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
