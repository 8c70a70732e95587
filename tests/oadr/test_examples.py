"""Every example message round-trips through XML and JSON, validates against the OpenADR 2.0b schema, and
decodes into model types only."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from lxml import etree

from transactive.codec import decode_json, decode_xml, encode_json, encode_xml, message_types
from transactive.ei.oadr import OadrMessage
from transactive.ei.oadr.examples import examples
from transactive.model import Model
from transactive.schemas import validate

EXAMPLES = examples()
IDS = [f"{i:02d}-{type(m).__name__}" for i, m in enumerate(EXAMPLES)]
OADR_MESSAGES = {cls for cls in message_types() if issubclass(cls, OadrMessage)}
ALL_23 = {
    "oadrQueryRegistration", "oadrCreatePartyRegistration", "oadrCreatedPartyRegistration",
    "oadrCancelPartyRegistration", "oadrCanceledPartyRegistration", "oadrRequestReregistration",
    "oadrRequestEvent", "oadrDistributeEvent", "oadrCreatedEvent", "oadrCreateOpt", "oadrCreatedOpt",
    "oadrCancelOpt", "oadrCanceledOpt", "oadrRegisterReport", "oadrRegisteredReport", "oadrCreateReport",
    "oadrCreatedReport", "oadrUpdateReport", "oadrUpdatedReport", "oadrCancelReport", "oadrCanceledReport",
    "oadrPoll", "oadrResponse",
}  # fmt: skip


def _walk_types(value: Any, path: str = "") -> list[str]:
    """Paths of any value in a decoded model that is not a model, a tuple of them, or a plain scalar."""
    bad: list[str] = []
    if isinstance(value, Model):
        for name in type(value).model_fields:
            bad += _walk_types(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            bad += _walk_types(item, f"{path}[{i}]")
    elif not isinstance(value, (str, int, float, bool, Decimal, datetime, timedelta, Enum, type(None))):
        bad.append(f"{path}: {type(value).__name__}")
    return bad


def test_every_oadr_20b_message_is_registered() -> None:
    assert {cls.__tag__.split(":")[1] for cls in OADR_MESSAGES if cls.__tag__} == ALL_23


def test_examples_cover_every_message_type() -> None:
    assert {type(m) for m in EXAMPLES} == OADR_MESSAGES


def test_examples_are_deterministic() -> None:
    assert examples() == EXAMPLES
    assert [encode_xml(m) for m in examples()] == [encode_xml(m) for m in EXAMPLES]


@pytest.mark.parametrize("msg", EXAMPLES, ids=IDS)
def test_xml_round_trip_is_lossless(msg: OadrMessage) -> None:
    decoded: OadrMessage = decode_xml(encode_xml(msg))
    assert type(decoded) is type(msg)
    assert decoded == msg


@pytest.mark.parametrize("msg", EXAMPLES, ids=IDS)
def test_json_round_trip_is_lossless(msg: OadrMessage) -> None:
    decoded: OadrMessage = decode_json(encode_json(msg))
    assert type(decoded) is type(msg)
    assert decoded == msg


@pytest.mark.parametrize("msg", EXAMPLES, ids=IDS)
def test_encoded_xml_is_schema_valid(msg: OadrMessage) -> None:
    report = validate(etree.fromstring(encode_xml(msg)))
    assert report.schema == "oadr20b"
    assert report.valid, report.errors


@pytest.mark.parametrize("msg", EXAMPLES, ids=IDS)
def test_decoded_values_are_model_types_never_dicts(msg: OadrMessage) -> None:
    assert _walk_types(decode_xml(encode_xml(msg))) == []
    assert _walk_types(decode_json(encode_json(msg))) == []


@pytest.mark.parametrize("msg", EXAMPLES, ids=IDS)
def test_reencoding_a_decoded_message_gives_the_same_bytes(msg: OadrMessage) -> None:
    xml = encode_xml(msg)
    assert encode_xml(decode_xml(xml)) == xml
    text = encode_json(msg)
    assert encode_json(decode_json(text)) == text


@pytest.mark.parametrize("msg", EXAMPLES, ids=IDS)
def test_messages_are_immutable(msg: OadrMessage) -> None:
    with pytest.raises(AttributeError, match="frozen"):
        msg.schema_version = "2.0a"  # type: ignore[misc]


def test_schema_version_defaults_to_2_0b_on_every_message() -> None:
    for msg in EXAMPLES:
        assert msg.schema_version == "2.0b"
        assert message_element_attr(encode_xml(msg)) == "2.0b"


def message_element_attr(document: bytes) -> str | None:
    root = etree.fromstring(document)
    return root[0][0].get("{http://docs.oasis-open.org/ns/energyinterop/201110}schemaVersion")
