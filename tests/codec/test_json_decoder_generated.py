"""The generated JSON decoders (``transactive.codec.gen_json.json_decoder_of``) against their reference, the plan
interpreter of ``tests/codec/json_interpreter.py``: for every example message, generated messages, and many
invalid documents derived mechanically from them, both must return equal dicts or raise the same
exception (class, text and field errors, path by path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transactive.codec import decode_json, encode_json, gen_emit, gen_json, to_json_obj
from transactive.codec.gen_json import json_decoder_of
from transactive.codec.json import MAX_JSON_DEPTH
from transactive.codec.plan import XML_BAD, Node, plan_for
from transactive.model.base import Family, Model, Xml

from . import json_interpreter
from .samples import example_ids, examples
from .test_roundtrip_all import distribute_events

Loc = tuple[Any, ...]
Outcome = tuple[Any, ...]
_GONE = object()


# ------------------------------------------------------------------------------------------ the oracle
def outcome(decode: Callable[[Any, str, int], dict[str, Any]], body: Any, path: str, depth: int) -> Outcome:
    try:
        return ("decoded", decode(body, path, depth))
    except Exception as exc:  # whatever the interpreter raises, the generated decoder must raise too
        errors = [(e.path, e.message, e.line) for e in getattr(exc, "errors", ())]
        return ("raised", type(exc), str(exc), errors)


def reference(cls: type[Model]) -> Callable[[Any, str, int], dict[str, Any]]:
    return lambda body, path, depth: json_interpreter.decode(plan_for(cls), body, path, depth)


def compare(cls: type[Model], body: Any, path: str, depth: int = 0) -> tuple[Outcome, Outcome]:
    """(generated, interpreter) outcomes of decoding ``body`` as a ``cls`` at ``path`` and ``depth``."""
    return outcome(json_decoder_of(cls), body, path, depth), outcome(reference(cls), body, path, depth)


def mismatch(cls: type[Model], body: Any, path: str, depth: int = 0) -> tuple[Outcome, Outcome] | None:
    """None when the generated decoder agrees with the interpreter, else (generated, expected)."""
    got, expected = compare(cls, body, path, depth)
    return None if got == expected else (got, expected)


def assert_agree(cls: type[Model], bodies: Iterator[Any] | list[Any], path: str, depth: int = 0) -> int:
    """Every body decodes alike both ways; returns how many raised (so a test can check it tried errors)."""
    failures = []
    raised = 0
    for body in bodies:
        got, expected = compare(cls, body, path, depth)
        if got != expected:
            failures.append((body, got, expected))
        raised += expected[0] == "raised"
    assert not failures, f"{len(failures)} disagreements, the first: body, generated, interpreter = {failures[0]}"
    return raised


# ----------------------------------------------------------------------------------- invalid variants
def locations(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    """(location, value) of the value and everything inside it (keys of objects, indexes of arrays)."""
    yield loc, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from locations(item, (*loc, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from locations(item, (*loc, n))


def edited(value: Any, loc: Loc, change: Callable[[Any], Any]) -> Any:
    """A copy of ``value`` with the value at ``loc`` replaced by ``change(old)`` (``_GONE``: removed);
    only the containers on the way are copied."""
    if not loc:
        return change(value)
    head, rest = loc[0], loc[1:]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            new = edited(item, rest, change) if key == head else item
            if new is not _GONE:
                out[key] = new
        return out
    new = edited(value[head], rest, change)
    return [*value[:head], *(() if new is _GONE else (new,)), *value[head + 1 :]]


#: values put in place of each value of a document
REPLACEMENTS: list[Any] = [
    [], 7, -1, 2.5, 10**30, True, None, {}, {"zz:unknown": "x"}, "", "not a value", "a\x01b", "tab\there",
    "\ud800", "\ufffe", "é ✓",
]
#: keys (and values) added to each object of a document, at its end and at its start
SIBLINGS: list[tuple[Any, Any]] = [
    ("zz:unknown", "x"), ("@zz:unknown", "x"), ("@xmlns:zz", "urn:zz"), ("@xmlns", "urn:zz"), ("@xsi:type", "x"),
    ("@", "x"), ("$", "text"), ("$", 1), (5, "x"),
]


@cache
def choice_keys() -> dict[str, tuple[str, ...]]:
    """Each key that names a member of a choice among several classes → the keys of the other members."""
    out: dict[str, set[str]] = {}
    seen: set[type[Model]] = set()
    todo: list[type[Model]] = [type(m) for m in examples()] + [Tree]

    def walk(node: Node) -> None:
        for child in node.children:
            if isinstance(child, Node):
                walk(child)
            elif child.kind == "model":
                assert child.model is not None
                todo.append(child.model)
            elif child.kind == "choice":
                todo.extend(child.json_choices.values())
                for key in child.json_choices:
                    out.setdefault(key, set()).update(k for k in child.json_choices if k != key)

    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            walk(plan_for(cls).root)
    return {key: tuple(sorted(others)) for key, others in out.items()}


@cache
def value_pool() -> dict[str, Any]:
    """A value seen for each key in the example documents (to add a second member of a choice)."""
    pool: dict[str, Any] = {}
    for message in examples():
        for loc, value in locations(to_json_obj(message)):
            if loc and isinstance(loc[-1], str):
                pool.setdefault(loc[-1], value)
    return pool


def variants(body: Any) -> Iterator[Any]:
    """The body, and many documents that differ from it in one place (most of them invalid)."""
    yield body
    for loc, old in list(locations(body)):
        if any(isinstance(step, int) and step > 1 for step in loc):
            continue  # the first two items of an array stand for the rest
        if loc:
            yield edited(body, loc, lambda _: _GONE)
            for new in [*REPLACEMENTS, [old, old], [old], {"$": old}, {"@zz": "x", "$": old}]:
                yield edited(body, loc, lambda _, new=new: new)
        if isinstance(old, dict):
            for key, value in SIBLINGS:
                yield edited(body, loc, lambda d, key=key, value=value: {**d, key: value})
                yield edited(body, loc, lambda d, key=key, value=value: {key: value, **d})
            for key in [k for k in old if isinstance(k, str)]:
                for other in choice_keys().get(key, ()):  # a second member of a choice (or one more of them)
                    if other not in old:
                        value = value_pool().get(other, old[key])
                        yield edited(body, loc, lambda d, other=other, value=value: {**d, other: value})
                        yield edited(body, loc, lambda d, other=other, value=value: {other: [value], **d})


def document(message: Model) -> tuple[type[Model], Any, str]:
    """(class, body, path) of a message's JSON form, as ``from_json_obj`` hands them to the decoder."""
    cls = type(message)
    assert cls.__tag__
    return cls, to_json_obj(message)[cls.__tag__], "/" + cls.__tag__


# -------------------------------------------------------------------------------------- the examples
@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_generated_decoder_agrees_with_the_interpreter(message: Model) -> None:
    cls, body, path = document(message)
    assert mismatch(cls, body, path) is None
    assert outcome(json_decoder_of(cls), body, path, 0)[0] == "decoded"


@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_generated_decoder_agrees_on_invalid_documents(message: Model) -> None:
    cls, body, path = document(message)
    assert assert_agree(cls, variants(body), path) > 20


@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_generated_decoder_agrees_at_the_depth_limit(message: Model) -> None:
    cls, body, path = document(message)
    # nesting deeper than the limit, at each level of the document in turn (the messages do not recurse)
    some = [body, *list(variants(body))[::97]]
    raised = assert_agree(cls, [body], path, MAX_JSON_DEPTH + 1)
    for depth in range(MAX_JSON_DEPTH - 12, MAX_JSON_DEPTH + 1):
        raised += assert_agree(cls, some, path, depth)
    assert raised


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(distribute_events())
def test_generated_decoder_agrees_on_generated_events(message: Model) -> None:
    cls, body, path = document(message)
    assert mismatch(cls, body, path) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_decoder_agrees_on_random_edits(data: st.DataObject) -> None:
    cls, body, path = document(data.draw(st.sampled_from(examples())))
    places = list(locations(body))
    loc, old = data.draw(st.sampled_from(places))
    keys = sorted({k for place, _ in places for k in place if isinstance(k, str)})
    value = data.draw(json_values | st.dictionaries(st.sampled_from(keys), json_values, max_size=3))
    if isinstance(old, dict) and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(keys) | st.text(max_size=6))
        changed = edited(body, loc, lambda d: {**d, key: value})
    else:
        changed = edited(body, loc, lambda _: value)
    assert mismatch(cls, changed, path, data.draw(st.sampled_from([0, 0, 0, MAX_JSON_DEPTH - 3]))) is None


# ------------------------------------------------------- models the messages lack: text, recursion
TEST = Family("test-json-decoder", {"t": "urn:test:json-decoder"}, schema="none")


class Label(Model):
    """Simple content alone: a bare JSON value stands for ``{"$": value}``."""

    __family__ = TEST
    __tag__ = "t:label"
    text: Annotated[str, Xml(".")]


class Amount(Model):
    """Simple content with attributes."""

    __family__ = TEST
    __tag__ = "t:amount"
    unit: Annotated[str | None, Xml("@unit")] = None
    scale: Annotated[int | None, Xml("@t:scale")] = None
    value: Annotated[Decimal, Xml(".")]


class Tree(Model):
    """Recursive (a child's decoder is called, not inlined) and nested as deep as a document likes."""

    __family__ = TEST
    __tag__ = "t:tree"
    id: Annotated[str | None, Xml("@id")] = None
    name: Annotated[str, Xml("t:name")]
    weight: Annotated[Decimal | None, Xml("t:weight")] = None
    prices: Annotated[tuple[Decimal, ...], Xml("t:price")] = ()
    flags: Annotated[tuple[bool, ...], Xml("t:flags/t:flag")] = ()
    sizes: Annotated[tuple[int, ...], Xml("t:size")] = ()
    parts: Annotated[tuple[Label | Amount, ...], Xml("t:parts/*")] = ()
    one: Annotated[Label | Amount | None, Xml("t:one/*")] = None
    label: Annotated[Label | None, Xml("t:label")] = None
    child: Annotated[Tree | None, Xml("t:child")] = None
    children: Annotated[tuple[Tree, ...], Xml("t:children/t:tree")] = ()


Tree.model_rebuild()
TREE: dict[str, Any] = {
    "@id": "root",
    "t:name": "top",
    "t:weight": 1.25,
    "t:price": [0.5, "1.25", 3],
    "t:flags": {"t:flag": [True, False]},
    "t:size": [1, 2],
    "t:parts": {"t:label": ["a", {"$": "b"}], "t:amount": [{"@unit": "kWh", "@t:scale": 3, "$": "1.5"}]},
    "t:one": {"t:amount": {"$": 2}},
    "t:label": "plain",
    "t:child": {"t:name": "kid", "t:child": {"t:name": "grandkid", "t:one": {"t:label": "x"}}},
    "t:children": {"t:tree": [{"t:name": "first"}, {"t:name": "second", "t:size": 5}]},
}


def test_the_test_document_is_valid() -> None:
    fields = json_decoder_of(Tree)(TREE, "/t:tree", 0)
    tree = Tree.model_validate(fields)
    assert tree.child is not None
    assert tree.child.child is not None
    assert tree.child.child.name == "grandkid"
    assert [type(p) for p in tree.parts] == [Label, Label, Amount]


def test_generated_decoder_agrees_on_text_attributes_and_recursion() -> None:
    assert mismatch(Tree, TREE, "/t:tree") is None
    assert assert_agree(Tree, variants(TREE), "/t:tree") > 100


def test_the_path_is_text_not_code() -> None:
    # the generated code writes paths as f-strings: the path it is handed is a value in them, never code
    assert assert_agree(Tree, variants(TREE), "/{path} '\"\\ %s {{n}}") > 100


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])
@pytest.mark.parametrize("key", ["t:child", "t:children"])
def test_generated_decoder_agrees_on_documents_nested_too_deep(levels: int, key: str) -> None:
    body: dict[str, Any] = {"t:name": "leaf", "t:weight": "bad weight"}
    for _ in range(levels):
        body = {"t:name": "n", key: body if key == "t:child" else {"t:tree": [{"t:name": "first"}, body]}}
    assert mismatch(Tree, body, "/t:tree") is None


#: numbers around the bounds within which the generated decoders take a number for a decimal without checking it
DECIMAL_EDGES: list[Any] = [
    0, 0.0, -0.0, True, False, 1e-12, -1e-12, 9.999999999999999e-13, 1e-13, 1.2345678901234567e-13, 1e-14, 1e-16,
    5e-324, 0.1 + 0.2, 123456789.12345679, 1e28, 9.999999999999999e28, -9.999999999999999e28, 1e29,
    1.0000000000000001e29, 1.2345678901234567e-14, 1.2345678901234567e-15, 1e-30, 1e-31, 1.5e-30, 1.5e-31,
    1e30, 1.2345678901234567e30, 1e31, -1e30, 1.7976931348623157e308, float("inf"), float("-inf"), float("nan"),
    10**28, 10**29 - 1, -(10**29) + 1, 10**29, -(10**29), 10**30, 10**30 - 1, 10**31 - 1, 10**31, 10**32, 10**40,
    "1.5", " 2 ", "1e5",
    "0." + "0" * 40 + "1",
]


def test_generated_decoder_agrees_on_numbers_for_decimals() -> None:
    bodies = [{"t:name": "x", "t:weight": value, "t:price": [value, value]} for value in DECIMAL_EDGES]
    bodies += [{"t:name": "x", "t:price": value} for value in DECIMAL_EDGES]
    assert assert_agree(Tree, bodies, "/t:tree") > 10


@settings(max_examples=300, deadline=None)
@given(st.floats() | st.integers() | st.decimals(allow_nan=False).map(str) | st.floats().map(repr))
def test_generated_decoder_agrees_on_any_number_for_a_decimal(value: Any) -> None:
    assert mismatch(Tree, {"t:name": "x", "t:weight": value, "t:price": value}, "/t:tree") is None


def test_generated_decoder_agrees_with_nothing_inlined(monkeypatch: pytest.MonkeyPatch) -> None:
    # every child decoded by a call: the paths and depths handed to the callee
    monkeypatch.setattr(gen_json, "_JSON_DECODERS", {})
    monkeypatch.setattr(gen_emit, "INLINE_DEPTH", 0)
    assert "depth + 1)" in json_decoder_of(Tree).__source__  # type: ignore[attr-defined]
    assert assert_agree(Tree, variants(TREE), "/t:tree") > 100
    for message in examples()[::7]:
        cls, body, path = document(message)
        assert_agree(cls, variants(body), path)


# ------------------------------------------------------------------------- the generator's own parts
def test_a_printable_string_holds_no_character_xml_cannot_carry() -> None:
    # the generated decoders take a printable string as it is, without searching it
    printable = "".join(c for c in map(chr, range(0x110000)) if c.isprintable())
    assert XML_BAD.search(printable) is None


def test_the_oracle_notices_a_wrong_path(monkeypatch: pytest.MonkeyPatch) -> None:
    cls, body, path = document(examples()[0])
    key = next(k for k, v in body.items() if isinstance(v, str) and not k.startswith("@"))  # a single scalar
    broken = {**body, key: [body[key], body[key]]}
    assert mismatch(cls, broken, path) is None
    dec = json_decoder_of(cls)
    bad = dec.__globals__["_bad"]
    monkeypatch.setitem(dec.__globals__, "_bad", lambda p, message: bad(p.replace("/", "."), message))
    assert mismatch(cls, broken, path) is not None


def test_decode_json_uses_the_generated_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    message = examples()[0]
    cls, _, path = document(message)
    generated = json_decoder_of(cls)
    assert generated.__source__.startswith("def dec(body, path, depth):")  # type: ignore[attr-defined]
    calls: list[tuple[str, int]] = []

    def spy(body: Any, path: str, depth: int) -> dict[str, Any]:
        calls.append((path, depth))
        return generated(body, path, depth)

    def interpreter(*args: Any) -> dict[str, Any]:
        raise AssertionError("the interpreter was used")

    monkeypatch.setitem(gen_json._JSON_DECODERS, cls, spy)
    monkeypatch.setattr(json_interpreter, "decode", interpreter)
    monkeypatch.setattr(json_interpreter, "decode_into", interpreter)
    assert decode_json(encode_json(message)) == message
    assert calls == [(path, 0)]
