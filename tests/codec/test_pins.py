"""Pinned models (``transactive.codec.pin``): kept encodings are reused, and the output is byte for byte what
an unpinned equal message gives, in XML and JSON, wherever the pinned part sits."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from transactive.codec import decode_xml, encode_json, encode_xml, pin, pinned, to_json_obj, unpin
from transactive.codec import pins as pins_module
from transactive.codec.plan import Node, plan_for
from transactive.model.base import Model

from .samples import example_ids, examples


def sub_models(message: Model) -> Iterator[Model]:
    """Every model below the message's root (depth first)."""

    def leaves(node: Node) -> Iterator[object]:
        for child in node.children:
            if isinstance(child, Node):
                yield from leaves(child)
            else:
                yield child

    def walk(obj: Model) -> Iterator[Model]:
        for leaf in leaves(plan_for(type(obj)).root):
            if leaf.kind == "scalar":  # type: ignore[attr-defined]
                continue
            value = getattr(obj, leaf.name)  # type: ignore[attr-defined]
            for item in (value if leaf.repeated else (value,)) if value else ():  # type: ignore[attr-defined]
                yield item
                yield from walk(item)

    return walk(message)


@pytest.fixture(autouse=True)
def no_pins_left() -> Iterator[None]:
    before = dict(pins_module.PINS)
    yield
    pins_module.PINS.clear()
    pins_module.PINS.update(before)


@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_pinned_parts_encode_exactly_as_unpinned_ones(message: Model) -> None:
    xml, json_text, pretty = encode_xml(message), encode_json(message), encode_json(message, pretty=True)
    fresh = decode_xml(xml)  # equal, but every part a new instance
    parts = list(sub_models(fresh))
    for part in parts:
        pin(part)
    for _ in range(2):  # the first encoding keeps the text, the second reuses it
        assert encode_xml(fresh) == xml
        assert encode_json(fresh) == json_text
        assert encode_json(fresh, pretty=True) == pretty
    assert all(pinned(part) for part in parts)


def _market_reply() -> tuple[Model, Model]:
    from datetime import UTC, datetime

    from transactive.ei.cts.responses import EiResponse
    from transactive.services import MarketConfig

    config = MarketConfig(market_context="urn:test:pins")
    response = EiResponse(response_code="200", response_description="OK", ref_id="r-1",
                          created_date_time=datetime(2026, 11, 21, tzinfo=UTC))
    reply = config.reply(response)
    return reply, config.rules()


def test_a_market_config_pins_its_terms_and_rules() -> None:
    reply, rules = _market_reply()
    assert pinned(rules)
    assert pinned(reply.market_context.standard_terms)  # type: ignore[attr-defined]


def test_the_encoders_really_reuse_the_kept_text() -> None:
    reply, rules = _market_reply()
    encode_xml(reply)
    encode_json(reply)
    kept = pins_module.PINS[id(rules)]
    assert kept.xml == {"tx:marketRules": kept.xml["tx:marketRules"]}
    kept.xml["tx:marketRules"] = "<tx:marketRules>KEPT</tx:marketRules>"
    kept._json = orjson.Fragment(b'"KEPT"')
    assert b"<tx:marketRules>KEPT</tx:marketRules>" in encode_xml(reply)
    assert b'"tx:marketRules":"KEPT"' in encode_json(reply)
    unpin(rules)
    assert not pinned(rules)
    assert b"KEPT" not in encode_xml(reply)
    assert b"KEPT" not in encode_json(reply)


def test_to_json_obj_gives_new_plain_objects_every_time() -> None:
    reply, _rules = _market_reply()
    first = to_json_obj(reply)
    body = first[type(reply).__tag__]
    body["tx:marketRules"]["tx:mechanism"] = "changed by the caller"
    assert to_json_obj(reply) != first
    assert b"changed by the caller" not in encode_json(reply)


def test_equal_but_distinct_instances_are_not_pinned() -> None:
    _reply, rules = _market_reply()
    twin = rules.replace()
    assert twin == rules
    assert twin is not rules
    assert pinned(rules)
    assert not pinned(twin)


def test_only_models_can_be_pinned_and_unpinning_a_stranger_is_harmless() -> None:
    with pytest.raises(TypeError, match="only models can be pinned"):
        pin("text")  # type: ignore[arg-type]
    _reply, rules = _market_reply()
    unpin(rules.replace())
    assert pinned(rules)


def test_the_oldest_pin_is_forgotten_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    pins_module.PINS.clear()  # the fixture puts back what was there
    monkeypatch.setattr(pins_module, "MAX_PINS", 2)
    parts = [p.replace() for p in sub_models(examples()[0])][:3]
    assert len(parts) == 3
    for part in parts:
        pin(part)
    assert [pinned(p) for p in parts] == [False, True, True]
