"""The generated JSON encoders (``transactive.codec.gen_json.json_encoder_of``) against a reference: a plain
interpreter walking the same plan, kept here as the oracle. Every example message and generated
``oadrDistributeEvent`` s must encode to the same JSON object both ways."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from transactive.codec import encode_json, to_json_obj
from transactive.codec.gen_json import json_encoder_of
from transactive.codec.plan import Leaf, Node, Plan, plan_for
from transactive.errors import LocalProtocolError
from transactive.model.base import Model

from .samples import example_ids, examples
from .test_roundtrip_all import distribute_events


def reference(plan: Plan, obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for leaf in plan.attrs:
        value = getattr(obj, leaf.name)
        if value is not None:
            out["@" + leaf.qname] = leaf.jfmt(value)
    if plan.text is not None:
        value = getattr(obj, plan.text.name)
        if value is not None:
            out["$"] = plan.text.jfmt(value)
    _children(plan.root.children, obj, out)
    return out


def _children(children: list[Leaf | Node], obj: Any, out: dict[str, Any]) -> None:
    for item in children:
        if isinstance(item, Node):
            inner: dict[str, Any] = {}
            _children(item.children, obj, inner)
            if inner:
                out[item.qname] = inner
            continue
        value = getattr(obj, item.name)
        if value is None or (item.repeated and not value):
            continue
        if item.kind == "scalar":
            out[item.qname] = [item.jfmt(v) for v in value] if item.repeated else item.jfmt(value)
        elif item.kind == "model":
            assert item.model is not None
            sub = plan_for(item.model)
            out[item.qname] = [reference(sub, v) for v in value] if item.repeated else reference(sub, value)
        else:
            for v in value if item.repeated else (value,):
                names = item.choice_names[type(v)]
                encoded = reference(plan_for(type(v)), v)
                if item.repeated:
                    out.setdefault(names[0], []).append(encoded)
                else:
                    out[names[0]] = encoded


@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_generated_encoder_agrees_with_the_reference(message: Model) -> None:
    cls = type(message)
    assert to_json_obj(message) == {cls.__tag__: reference(plan_for(cls), message)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(distribute_events())
def test_generated_encoder_agrees_with_the_reference_on_generated_events(message: Model) -> None:
    cls = type(message)
    assert json_encoder_of(cls)(message) == reference(plan_for(cls), message)


def test_generated_source_is_kept_for_debugging() -> None:
    message = examples()[0]
    source = json_encoder_of(type(message)).__source__  # type: ignore[attr-defined]
    assert source.startswith("def enc(obj):")


def test_a_value_of_a_class_the_choice_does_not_allow_is_a_local_protocol_error() -> None:
    from transactive.ei.cts.tender import EiCreateTender

    # a choice among several classes (EiTender.item: product, option, ...); model_construct skips validation
    create = next(m for m in examples() if isinstance(m, EiCreateTender))
    tender = create.tenders[0]
    broken = tender.model_construct(**{**dict(tender), "item": "not a product"})
    message = create.model_construct(**{**dict(create), "tenders": (broken,)})
    with pytest.raises(LocalProtocolError, match="cannot encode EiCreateTender: str is not an allowed choice"):
        encode_json(message)


def test_a_value_of_the_wrong_class_in_a_repeated_single_class_choice_is_refused() -> None:
    from transactive.ei.oadr.event import Interval

    event = next(m for m in examples() if type(m).__name__ == "OadrDistributeEvent" and m.events)
    interval = event.events[0].event.signals[0].intervals[0]
    assert isinstance(interval, Interval)
    broken = interval.model_construct(**{**dict(interval), "payloads": ("not a payload",)})
    with pytest.raises(ValueError, match="str is not an allowed choice for payloads"):
        json_encoder_of(Interval)(broken)
