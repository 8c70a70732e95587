"""Generate a model class's XML encoder and XML decoder from its plan (why and how: :mod:`.gen_emit`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

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
from transactive.codec.pins import PINS
from transactive.codec.plan import Leaf, Node, plan_for
from transactive.codec.xml_errors import bad_attribute, checked, duplicate, nested, unexpected, validate_member
from transactive.model.base import Model

__all__ = ["decoder_of", "encoder_of"]

Encoder = Callable[[Any, list[str], str, str], None]
Decoder = Callable[[etree._Element], dict[str, Any]]

_ENCODERS: dict[type[Model], Encoder] = {}
_DECODERS: dict[type[Model], Decoder] = {}
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


# ----------------------------------------------------------------------------------------- encoders
def encoder_of(cls: type[Model]) -> Encoder:
    """``enc(obj, out, qname, extra_attrs)`` appends the element for ``obj`` to ``out``.

    Child models are inlined into their parent's function (up to a small depth, never recursively),
    so one call writes a whole subtree.
    """
    found = _ENCODERS.get(cls)
    if found is not None:
        return found
    em = Emitter("def enc(obj, out, qname, extra):", {"_bad_choice": bad_choice, "PINS": PINS})
    lines = em.lines

    def element(model: type[Model], obj: str, qname_expr: str, extra_expr: str, indent: str,
                stack: tuple[type[Model], ...]) -> None:
        plan = plan_for(model)
        a = em.fresh("a")
        n = em.fresh("n")
        lines.append(f"{indent}{a} = {extra_expr}")
        for leaf in plan.attrs:
            f = em.const("F", leaf.fmt)
            lines.append(f"{indent}v = {obj}.{leaf.name}")
            lines.append(f"{indent}if v is not None:")
            lines.append(f"{indent}    {a} += ' {leaf.qname}=\"' + {f}(v) + '\"'")
        lines.append(f"{indent}{n} = len(out)")
        lines.append(f"{indent}out.append('')")
        if plan.text is not None:
            f = em.const("F", plan.text.fmt)
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
                    m = em.fresh("m")
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
        e = em.late("E", encoder_of, model)
        lines.extend(kept_or(indent, var, f"out.append(p.xml_text({e}, {qname!r}))"))
        if inlined(model, stack):
            element(model, var, repr(qname), "''", indent + "    ", stack)
        else:
            lines.append(f"{indent}    {e}({var}, out, {qname!r}, '')")

    def emit_leaf(leaf: Leaf, obj: str, indent: str, opens: str, closes: str,
                  stack: tuple[type[Model], ...]) -> None:
        v = em.fresh("v")
        lines.append(f"{indent}{v} = {obj}.{leaf.name}")
        lines.append(f"{indent}{present(leaf, v)}")
        inner = indent + "    "
        if leaf.kind == "scalar":
            f = em.const("F", leaf.fmt)
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
        only = only_member(leaf)
        if only is not None:
            model, qname = only
            check = ""
            if leaf.kind == "choice":
                check = f"if type(x) is not {em.class_ref(model)}: raise _bad_choice(x, {leaf.name!r})"
            if leaf.repeated:
                x = em.fresh("x")
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
            t = em.late("C", choice_coders, leaf, encoder_of)
            body = [
                *choice_lookup(t, leaf),
                *kept_or("", "x", "out.append(p.xml_text(e[1], e[0]))"),
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
    enc: Encoder = em.define(f"<encoder {cls.__name__}>", "enc", _ENCODERS, cls)
    return enc


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


# ----------------------------------------------------------------------------------------- decoders
def decoder_of(cls: type[Model]) -> Decoder:
    """``dec(element) -> dict`` of field values (raw text for scalars) ready for ``model_validate``.

    Child models are inlined (up to a small depth, never recursively), like the encoders.
    """
    found = _DECODERS.get(cls)
    if found is not None:
        return found
    em = Emitter("def dec(el):", {
        "_unexpected": unexpected,
        "_duplicate": duplicate,
        "_bad_attribute": bad_attribute,
        "_validate_member": validate_member,
        "_checked": checked,
        "_nested": nested,
        "_XSI": _XSI,
        "str": str,
    })
    lines = em.lines

    def body(model: type[Model], el: str, d: str, indent: str, stack: tuple[type[Model], ...]) -> None:
        plan = plan_for(model)
        lines.append(f"{indent}{d} = {{}}")
        if plan.attrs:
            a = em.const("A", {leaf.clark: (leaf.name, leaf.strip) for leaf in plan.attrs})
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
        table, var = em.fresh("I"), em.fresh("c")
        lines.append(f"{indent}for {var} in {parent}:")
        for item, inner in em.switch(table, indent + "    ", "k", f"{var}.tag", node.by_clark.items()):
            if isinstance(item, Node):
                chain = _single_chain(item)
                if chain is not None and chain[0].kind == "scalar" and not chain[0].repeated:
                    emit_chain(item, chain[0], var, d, inner)
                else:
                    loop(item, var, d, inner, stack)
                continue
            if item.kind == "scalar":
                lines.append(f"{inner}if len({var}):")
                lines.append(f"{inner}    raise _nested({var})")
                value = text_of(item, var)
            elif (only := only_member(item)) is not None:
                model = only[0]
                if inlined(model, stack):
                    value = em.fresh("d")
                    body(model, var, value, inner, stack)
                else:
                    value = f"{em.late('D', decoder_of, model)}({var})"
            else:
                members = em.const("T", item.choices)
                coders = em.late("DM", _member_decoders, item)
                lines.append(f"{inner}m = {members}[{var}.tag]")
                value = f"_validate_member(m, {coders}[m]({var}), {var})"
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
            nxt = em.fresh("c")
            t = em.const("T", child.clark)
            lines.append(f"{indent}{nxt} = {parent}[0] if len({parent}) == 1 else None")
            lines.append(f"{indent}if {nxt} is None or {nxt}.tag != {t}:")
            lines.append(f"{indent}    raise _unexpected({parent}[0] if len({parent}) else {parent}, {parent})")
            parent = nxt
            current = child
        value = text_of(leaf, parent)
        lines.append(f"{indent}if {leaf.name!r} in {d} or len({parent}):")
        lines.append(f"{indent}    raise _duplicate({parent}) if {leaf.name!r} in {d} else _nested({parent})")
        lines.append(f"{indent}{d}[{leaf.name!r}] = {value}")

    def text_of(leaf: Leaf, el: str) -> str:
        """An expression: the scalar's text in ``el`` (stripped, checked as its type asks)."""
        value = f"({el}.text or ''){'.strip()' if leaf.strip else ''}"
        return value if leaf.check is None else f"_checked({em.const('K', leaf.check)}, {value}, {el})"

    body(cls, "el", "d", "    ", ())
    lines.append("    return d")
    dec: Decoder = em.define(f"<decoder {cls.__name__}>", "dec", _DECODERS, cls)
    return dec


def _member_decoders(leaf: Leaf) -> dict[type[Model], Decoder]:
    """Each member class of a choice → its decoder."""
    return {member: decoder_of(member) for member in leaf.choices.values()}
