"""Fuzzing the decoders: whatever bytes arrive, decoding returns a registered message or raises a
:class:`~transactive.errors.ProtocolError` (never KeyError, TypeError, ValueError, AttributeError,
RecursionError, OverflowError or an lxml exception).

Every example message is mutated at the byte level (flips, deletions, insertions, duplicated slices),
at the tree level (elements duplicated, removed, moved, renamed, emptied; text replaced by random
unicode or by boundary values; attributes injected) and, for JSON, at the value level (keys dropped,
added, renamed; values replaced, wrapped in arrays, unwrapped). A message that *is* accepted must
also encode again and decode to the same message.

The runs are derandomized so the suite is reproducible; set ``TRANSACTIVE_FUZZ_RANDOM=1`` (and e.g.
``TRANSACTIVE_FUZZ_SCALE=10``) to explore new inputs.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from transactive.codec import decode, decode_json, decode_xml, encode_json, encode_xml, message_types
from transactive.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from transactive.model.base import Model

from .samples import example_ids, examples

_SCALE = float(os.environ.get("TRANSACTIVE_FUZZ_SCALE", "1"))


def _fuzz(max_examples: int) -> settings:
    return settings(
        max_examples=max(1, int(max_examples * _SCALE)),
        deadline=None,
        derandomize=not os.environ.get("TRANSACTIVE_FUZZ_RANDOM"),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


#: for tests run once per example message (there are dozens of examples: the total stays large)
FUZZ_EACH = _fuzz(30)
#: for tests run once
FUZZ = _fuzz(150)
EXAMPLES = pytest.mark.parametrize("message", examples(), ids=example_ids())
XSI = "http://www.w3.org/2001/XMLSchema-instance"


# ------------------------------------------------------------------------------------- the invariant
def decodes_or_refuses(decoder, data: bytes | str) -> Model | None:  # type: ignore[no-untyped-def]
    """The fuzz invariant: a registered message, or a RemoteProtocolError with a response code.

    Anything else propagates and fails the test (hypothesis then shrinks and prints the input).
    """
    refused: ProtocolError | None = None
    try:
        message = decoder(data)
    except ProtocolError as exc:
        refused = exc
    if refused is not None:
        assert isinstance(refused, RemoteProtocolError), f"decoding raised {type(refused).__name__}: {refused}"
        assert isinstance(refused.response_code, int)
        assert 400 <= refused.response_code <= 599
        assert all(e.path.startswith("/") for e in refused.errors)
        return None
    assert type(message) in message_types()
    return message


def accepted_xml_reencodes(message: Model) -> None:
    """What we accepted from XML we can write again, and read back unchanged."""
    again = encode_xml(message)
    assert decode_xml(again) == message
    assert decode_json(encode_json(message)) == message


def accepted_json_reencodes(message: Model) -> None:
    """What we accepted from JSON we can write again as JSON; as XML, at worst a LocalProtocolError
    (JSON strings can hold characters XML cannot)."""
    assert decode_json(encode_json(message)) == message
    try:
        doc = encode_xml(message)
    except LocalProtocolError:
        return
    assert decode_xml(doc) == message


# ------------------------------------------------------------------------------------- byte mutations
#: fragments that mean something to an XML or JSON parser, or to a value parser
TOKENS = [
    b"<", b">", b"/>", b"</", b"&", b"&amp;", b"&#0;", b"&#x10FFFF;", b"&lt;", b";", b"]]>", b"<![CDATA[",
    b"<!--", b"-->", b"<?", b"?>", b'"', b"'", b"=", b":", b"xmlns", b'xmlns:ei="urn:x"', b"\x00", b"\xff",
    b"\xc3", b"\xef\xbb\xbf", b"\r\n", b" ", b"<x/>", b"<ei:eventID>e</ei:eventID>", b"{", b"}", b"[", b"]",
    b",", b"null", b"true", b"NaN", b"-Infinity", b"1e999", b"-0", b"99999999999999999999", b".", b"P",
    b"T", b"W", b"Z", b"+14:00", b"\\u0000", b"\\", b"@", b"$",
]

byte_ops = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 2**20), st.integers(1, 255)),
        st.tuples(st.just("delete"), st.integers(0, 2**20), st.integers(1, 40)),
        st.tuples(st.just("insert"), st.integers(0, 2**20), st.binary(min_size=1, max_size=12)),
        st.tuples(st.just("token"), st.integers(0, 2**20), st.sampled_from(TOKENS)),
        st.tuples(st.just("copy"), st.integers(0, 2**20), st.integers(1, 200), st.integers(0, 2**20)),
    ),
    min_size=1,
    max_size=6,
)


def mutate_bytes(data: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    buf = bytearray(data)
    for op in ops:
        if not buf:
            buf.extend(b"<")
        pos = op[1] % (len(buf) + 1)
        if op[0] == "flip" and pos < len(buf):
            buf[pos] ^= op[2]
        elif op[0] == "delete":
            del buf[pos : pos + op[2]]
        elif op[0] in ("insert", "token"):
            buf[pos:pos] = op[2]
        elif op[0] == "copy":
            chunk = bytes(buf[pos : pos + op[2]])
            at = op[3] % (len(buf) + 1)
            buf[at:at] = chunk
    return bytes(buf)


# ------------------------------------------------------------------------------------- tree mutations
_XML_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\t\n\r\x7f\x85",
                           exclude_characters="\ufffe\uffff")
#: values that sit on the edge of what the field types accept
BOUNDARY_TEXT = [
    "", " ", "\n\t ", "0", "-0", "-1", "1.5", "1e308", "1e309", "-1e-400", "NaN", "INF", "-INF", "nan", "+inf",
    "4294967295", "4294967296", "18446744073709551616", "9" * 400, "0x10", "1_000", "½", "١٢٣", "true", "false",
    "1", "TRUE", "yes", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00+14:00",
    "2024-05-01T12:00:00-23:59", "2024-02-30T12:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01", "12:00:00Z",
    "1970-01-01T00:00:00.000000001Z", "P", "PT", "P1M", "P1Y", "PT1.5S", "PT0.000001S", "-PT5M", "+P1D", "P1W2D",
    "PT15M", "P1DT", "P1.5D", "-P0D", "PT36H", "x-", "x-custom", "USD", "usd", "EUR ", "none", "far", "SIMPLE",
    "always", "2.0b", "2.0a", "<", "&", "]]>", "\U0001f600", "\u202e", "\ufeff", "a" * 1000,
]
xml_text = st.one_of(st.sampled_from(BOUNDARY_TEXT), st.text(_XML_CHARS, max_size=30))
ATTR_NAMES = [
    "foo", f"{{{XSI}}}type", f"{{{XSI}}}nil", f"{{{XSI}}}schemaLocation", "{urn:evil}x",
    "{http://www.w3.org/XML/1998/namespace}lang", "{http://docs.oasis-open.org/ns/energyinterop/201110}schemaVersion",
    "{http://www.opengis.net/gml/3.2}id", "schemaVersion", "id",
]

tree_ops = st.lists(
    st.one_of(
        st.tuples(st.just("dup"), st.integers(0, 10_000)),
        st.tuples(st.just("remove"), st.integers(0, 10_000)),
        st.tuples(st.just("clear"), st.integers(0, 10_000)),
        st.tuples(st.just("text"), st.integers(0, 10_000), xml_text),
        st.tuples(st.just("tail"), st.integers(0, 10_000), xml_text),
        st.tuples(st.just("attr"), st.integers(0, 10_000), st.sampled_from(ATTR_NAMES), xml_text),
        st.tuples(st.just("move"), st.integers(0, 10_000), st.integers(0, 10_000)),
        st.tuples(st.just("rename"), st.integers(0, 10_000), st.integers(0, 10_000)),
        st.tuples(st.just("foreign"), st.integers(0, 10_000), st.sampled_from(["urn:evil", "", XSI])),
        st.tuples(st.just("swap"), st.integers(0, 10_000)),
        st.tuples(st.just("child"), st.integers(0, 10_000), st.integers(0, 10_000)),
    ),
    min_size=1,
    max_size=5,
)

_PLAIN = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def mutate_tree(doc: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    root = etree.fromstring(doc, _PLAIN)
    for op in ops:
        elements = list(root.iter(etree.Element))
        el = elements[op[1] % len(elements)]
        parent = el.getparent()
        kind = op[0]
        if kind == "dup" and parent is not None:
            el.addnext(copy.deepcopy(el))
        elif kind == "remove" and parent is not None:
            parent.remove(el)
        elif kind == "clear":
            for child in list(el):
                el.remove(child)
        elif kind == "text":
            el.text = op[2]
        elif kind == "tail" and parent is not None:
            el.tail = op[2]
        elif kind == "attr":
            el.set(op[2], op[3])
        elif kind == "move" and parent is not None:
            target = elements[op[2] % len(elements)]
            if target is not el and el not in target.iterancestors():
                target.append(el)
        elif kind == "rename":
            el.tag = elements[op[2] % len(elements)].tag
        elif kind == "foreign":
            local = etree.QName(el).localname
            el.tag = f"{{{op[2]}}}{local}" if op[2] else local
        elif kind == "swap" and parent is not None:
            following = el.getnext()
            if following is not None:
                following.addnext(el)
        elif kind == "child":
            el.append(etree.Element(elements[op[2] % len(elements)].tag))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# ------------------------------------------------------------------------------------- JSON mutations
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.sampled_from(BOUNDARY_TEXT),
)


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3))


json_values = st.recursive(json_scalars, _json_containers, max_leaves=8)

json_ops = st.lists(
    st.one_of(
        st.tuples(st.just("drop"), st.integers(0, 10_000)),
        st.tuples(st.just("set"), st.integers(0, 10_000), json_values),
        st.tuples(st.just("add"), st.integers(0, 10_000), st.integers(0, 10_000), json_values),
        st.tuples(st.just("add-new"), st.integers(0, 10_000), st.text(max_size=12), json_values),
        st.tuples(st.just("rename"), st.integers(0, 10_000), st.integers(0, 10_000)),
        st.tuples(st.just("wrap"), st.integers(0, 10_000)),
        st.tuples(st.just("unwrap"), st.integers(0, 10_000)),
        st.tuples(st.just("repeat"), st.integers(0, 10_000)),
        st.tuples(st.just("stringify"), st.integers(0, 10_000)),
    ),
    min_size=1,
    max_size=5,
)


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in a JSON value, parents before children."""
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            _slots(value[key], out)
    elif isinstance(value, list):
        for n in range(len(value)):
            out.append((value, n))
            _slots(value[n], out)
    return out


def _dicts(value: Any) -> list[dict[str, Any]]:
    found = [value] if isinstance(value, dict) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found.extend(_dicts(child))
    return found


def mutate_json(doc: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    obj = json.loads(doc)
    keys = sorted({key for d in _dicts(obj) for key in d})
    for op in ops:
        slots = _slots(obj, [])
        if not slots:
            break
        container, key = slots[op[1] % len(slots)]
        kind = op[0]
        if kind == "drop":
            del container[key]
        elif kind == "set":
            container[key] = op[2]
        elif kind == "add":
            dicts = _dicts(obj)
            dicts[op[1] % len(dicts)][keys[op[2] % len(keys)]] = op[3]
        elif kind == "add-new":
            dicts = _dicts(obj)
            dicts[op[1] % len(dicts)][op[2]] = op[3]
        elif kind == "rename" and isinstance(container, dict):
            container[keys[op[2] % len(keys)]] = container.pop(key)
        elif kind == "wrap":
            container[key] = [container[key]]
        elif kind == "unwrap" and isinstance(container[key], list):
            container[key] = container[key][0] if container[key] else None
        elif kind == "repeat":
            container[key] = [container[key], copy.deepcopy(container[key])]
        elif kind == "stringify" and not isinstance(container[key], str):
            container[key] = json.dumps(container[key])
    return json.dumps(obj, ensure_ascii=bool(len(ops) % 2)).encode("utf-8")


# ------------------------------------------------------------------------------------------- the tests
@EXAMPLES
@FUZZ_EACH
@given(ops=byte_ops)
def test_xml_with_mutated_bytes_decodes_or_raises_protocol_error(message: Model, ops):  # type: ignore[no-untyped-def]
    decoded = decodes_or_refuses(decode_xml, mutate_bytes(encode_xml(message), ops))
    if decoded is not None:
        accepted_xml_reencodes(decoded)


@EXAMPLES
@FUZZ_EACH
@given(ops=tree_ops)
def test_xml_with_mutated_tree_decodes_or_raises_protocol_error(message: Model, ops):  # type: ignore[no-untyped-def]
    decoded = decodes_or_refuses(decode_xml, mutate_tree(encode_xml(message), ops))
    if decoded is not None:
        accepted_xml_reencodes(decoded)


@EXAMPLES
@FUZZ_EACH
@given(ops=tree_ops, more=byte_ops)
def test_xml_with_mutated_tree_as_str_decodes_or_raises_protocol_error(message: Model, ops, more):  # type: ignore[no-untyped-def]
    data = mutate_bytes(mutate_tree(encode_xml(message), ops), more).decode("utf-8", "replace")
    decoded = decodes_or_refuses(decode_xml, data)
    if decoded is not None:
        accepted_xml_reencodes(decoded)


@EXAMPLES
@FUZZ_EACH
@given(ops=byte_ops)
def test_json_with_mutated_bytes_decodes_or_raises_protocol_error(message: Model, ops):  # type: ignore[no-untyped-def]
    decoded = decodes_or_refuses(decode_json, mutate_bytes(encode_json(message), ops))
    if decoded is not None:
        accepted_json_reencodes(decoded)


@EXAMPLES
@FUZZ_EACH
@given(ops=json_ops)
def test_json_with_mutated_values_decodes_or_raises_protocol_error(message: Model, ops):  # type: ignore[no-untyped-def]
    decoded = decodes_or_refuses(decode_json, mutate_json(encode_json(message), ops))
    if decoded is not None:
        accepted_json_reencodes(decoded)


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_protocol_error(data: bytes):
    decodes_or_refuses(decode_xml, data)
    decodes_or_refuses(decode_json, data)
    decodes_or_refuses(decode, data)


@FUZZ
@given(data=json_values)
def test_arbitrary_json_values_decode_or_raise_protocol_error(data: Any):
    decodes_or_refuses(decode_json, json.dumps(data))
    for cls in message_types():
        decodes_or_refuses(decode_json, json.dumps({cls.__tag__: data}))


# ----------------------------------------------------------------------- the mutators really mutate
def test_mutators_change_their_input(event):  # type: ignore[no-untyped-def]
    xml = encode_xml(event)
    assert mutate_bytes(xml, [("token", 100, b"<")]) != xml
    assert mutate_tree(xml, [("remove", 5)]) != xml
    doc = encode_json(event)
    assert json.loads(mutate_json(doc, [("drop", 1)])) != json.loads(doc)
