"""Codec properties every message has: lossless, typed, byte-stable, schema-valid; exact error mapping."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from transactive.codec import decode_json, decode_xml, encode_json, encode_xml, message_types
from transactive.errors import (
    InvalidMessageError,
    LocalProtocolError,
    MalformedDocumentError,
    ProtocolError,
)
from transactive.model.base import Model
from transactive.schemas import validate

from .samples import distribute_event, example_ids, examples, replace_first

EXAMPLES = pytest.mark.parametrize("message", examples(), ids=example_ids())


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) inside a model, depth first."""
    out = [(path, value)]
    if isinstance(value, Model):
        for name in type(value).model_fields:
            out.extend(walk(getattr(value, name), f"{path}.{name}"))
    elif isinstance(value, tuple):
        for n, item in enumerate(value):
            out.extend(walk(item, f"{path}[{n}]"))
    return out


def assert_schema_valid(doc: bytes) -> None:
    report = validate(etree.fromstring(doc))
    assert report.valid, report.errors


# ----------------------------------------------------------------------------------- every example
def test_there_are_examples_of_registered_messages():
    assert examples()
    registered = set(message_types())
    for message in examples():
        assert type(message) in registered


@EXAMPLES
def test_xml_roundtrip_is_lossless(message: Model):
    assert decode_xml(encode_xml(message)) == message


@EXAMPLES
def test_json_roundtrip_is_lossless(message: Model):
    assert decode_json(encode_json(message)) == message


@EXAMPLES
def test_decoded_type_is_exactly_the_encoded_type(message: Model):
    assert type(decode_xml(encode_xml(message))) is type(message)
    assert type(decode_json(encode_json(message))) is type(message)


@EXAMPLES
def test_decoding_with_the_expected_class_gives_that_class(message: Model):
    assert type(decode_xml(encode_xml(message), type(message))) is type(message)
    assert type(decode_json(encode_json(message), type(message))) is type(message)


@EXAMPLES
def test_decoded_nested_values_are_models_and_tuples_not_dicts_or_lists(message: Model):
    for decoded in (decode_xml(encode_xml(message)), decode_json(encode_json(message))):
        for path, value in walk(decoded):
            assert not isinstance(value, (dict, list, set)), f"{path} is a {type(value).__name__}"


@EXAMPLES
def test_emitted_xml_is_schema_valid(message: Model):
    assert_schema_valid(encode_xml(message))


@EXAMPLES
def test_xml_reencoding_is_byte_stable(message: Model):
    first = encode_xml(message)
    assert encode_xml(decode_xml(first)) == first


@EXAMPLES
def test_json_reencoding_is_byte_stable(message: Model):
    first = encode_json(message)
    assert encode_json(decode_json(first)) == first


@EXAMPLES
def test_json_output_has_exactly_one_top_level_key_the_message_tag(message: Model):
    obj = json.loads(encode_json(message))
    assert isinstance(obj, dict)
    assert list(obj) == [type(message).__tag__]
    assert isinstance(obj[type(message).__tag__], dict)


@EXAMPLES
def test_xml_output_is_utf8_with_a_declaration(message: Model):
    doc = encode_xml(message)
    assert doc.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    doc.decode("utf-8")
    assert not encode_xml(message, declaration=False).startswith(b"<?xml")


@EXAMPLES
def test_xml_decodes_from_str_as_well_as_bytes(message: Model):
    assert decode_xml(encode_xml(message).decode("utf-8")) == message
    assert decode_json(encode_json(message).decode("utf-8")) == message


@EXAMPLES
def test_pretty_printed_xml_decodes_to_the_same_message(message: Model):
    # indentation adds whitespace-only text between elements; it must not change any value
    tree = etree.fromstring(encode_xml(message))
    etree.indent(tree)
    assert decode_xml(etree.tostring(tree, xml_declaration=True, encoding="UTF-8")) == message


@EXAMPLES
def test_indented_json_decodes_to_the_same_message(message: Model):
    assert decode_json(encode_json(message, pretty=True)) == message


# ------------------------------------------------------------------------- generated oadrDistributeEvent
_XML_CHARS = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    include_characters="\t\n\r\x7f\x85",
    exclude_characters="\ufffe\uffff",
)
#: text with XML-special and non-ASCII characters
xml_text = st.one_of(
    st.text(_XML_CHARS, max_size=20),
    st.sampled_from(["<", "&", "&amp;", "]]>", '"\'', "a\r\nb", " lead", "trail ", "€uro", "日本", "𝄞", "\x85"]),
)
xml_id = st.text(_XML_CHARS, min_size=1, max_size=20)
offsets = st.one_of(
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timedelta(minutes=m)),
    st.integers(-86_399, 86_399).map(lambda s: timedelta(seconds=s)),
)
aware_datetimes = st.datetimes(
    min_value=datetime(1901, 1, 1), max_value=datetime(2199, 12, 31), timezones=offsets.map(timezone)
)
whole_second_durations = st.integers(-(10**10), 10**10).map(lambda s: timedelta(seconds=s))
#: xs:float values (32-bit) as Python floats
xs_floats = st.floats(allow_nan=False, allow_infinity=False, width=32)
unsigned = st.integers(0, 2**32 - 1)


@st.composite
def distribute_events(draw: st.DrawFn) -> Model:
    from transactive.ei.oadr.base import EiResponse
    from transactive.ei.oadr.enums import EventStatus, ResponseRequired, SignalName, SignalType
    from transactive.ei.oadr.event import (
        ActivePeriod,
        Event,
        EventDescriptor,
        EventSignal,
        Interval,
        OadrDistributeEvent,
        OadrEvent,
        SignalPayload,
    )
    from transactive.ei.oadr.payloads import PayloadFloat
    from transactive.ei.oadr.target import Target

    def interval() -> Interval:
        return Interval(
            dtstart=draw(st.none() | aware_datetimes),
            duration=draw(st.none() | whole_second_durations),
            uid=draw(st.none() | xml_text),
            payloads=tuple(
                SignalPayload(payload=PayloadFloat(value=v)) for v in draw(st.lists(xs_floats, min_size=1, max_size=3))
            ),
        )

    def signal() -> EventSignal:
        return EventSignal(
            intervals=tuple(interval() for _ in range(draw(st.integers(1, 3)))),
            signal_name=draw(st.sampled_from([s.value for s in SignalName]) | xml_id.map(lambda t: "x-" + t.strip())
                             .filter(lambda t: len(t) > 2)),
            signal_type=draw(st.sampled_from(SignalType)),
            signal_id=draw(xml_id),
            current_value=draw(st.none() | xs_floats),
        )

    def event() -> OadrEvent:
        return OadrEvent(
            event=Event(
                descriptor=EventDescriptor(
                    event_id=draw(xml_id),
                    modification_number=draw(unsigned),
                    modification_date_time=draw(st.none() | aware_datetimes),
                    modification_reason=draw(st.none() | xml_text),
                    priority=draw(st.none() | unsigned),
                    market_context=draw(st.sampled_from(["http://mc.example/a", "urn:x:y", "http://é.example/ü"])),
                    created_date_time=draw(aware_datetimes),
                    event_status=draw(st.sampled_from(EventStatus)),
                    test_event=draw(st.none() | xml_text),
                    vtn_comment=draw(st.none() | xml_text),
                ),
                active_period=ActivePeriod(
                    dtstart=draw(aware_datetimes),
                    duration=draw(whole_second_durations),
                    tolerance_start_after=draw(st.none() | whole_second_durations),
                    notification=draw(st.none() | whole_second_durations),
                    ramp_up=draw(st.none() | whole_second_durations),
                    recovery=draw(st.none() | whole_second_durations),
                ),
                signals=tuple(signal() for _ in range(draw(st.integers(1, 2)))),
                target=Target(
                    ven_ids=tuple(draw(st.lists(xml_id, max_size=2))),
                    group_names=tuple(draw(st.lists(xml_text, max_size=2))),
                ),
            ),
            response_required=draw(st.sampled_from(ResponseRequired)),
        )

    return OadrDistributeEvent(
        response=draw(st.none() | st.builds(
            EiResponse, response_code=st.integers(100, 999), response_description=st.none() | xml_text,
            request_id=xml_text,
        )),
        request_id=draw(xml_text),
        vtn_id=draw(xml_id),
        events=tuple(event() for _ in range(draw(st.integers(0, 2)))),
    )


GENERATED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(distribute_events())
def test_generated_distribute_event_roundtrips_in_xml(message: Model):
    doc = encode_xml(message)
    assert decode_xml(doc) == message
    assert encode_xml(decode_xml(doc)) == doc


@GENERATED
@given(distribute_events())
def test_generated_distribute_event_roundtrips_in_json(message: Model):
    doc = encode_json(message)
    assert decode_json(doc) == message
    assert encode_json(decode_json(doc)) == doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(distribute_events())
def test_generated_distribute_event_is_schema_valid(message: Model):
    assert_schema_valid(encode_xml(message))


@GENERATED
@given(aware_datetimes)
def test_datetime_with_any_utc_offset_keeps_its_instant(when: datetime):
    message = distribute_event()
    descriptor = message.events[0].event.descriptor.replace(created_date_time=when)
    event = message.events[0].event.replace(descriptor=descriptor)
    message = message.replace(events=(message.events[0].replace(event=event),))
    for decoded in (decode_xml(encode_xml(message)), decode_json(encode_json(message))):
        got = decoded.events[0].event.descriptor.created_date_time
        assert got == when
        assert got.utcoffset() == timedelta(0)  # OpenADR writes UTC


@GENERATED
@given(whole_second_durations)
def test_any_whole_second_duration_roundtrips(duration: timedelta):
    message = distribute_event()
    event = message.events[0].event
    event = event.replace(active_period=event.active_period.replace(duration=duration))
    message = message.replace(events=(message.events[0].replace(event=event),))
    assert decode_xml(encode_xml(message)) == message
    assert decode_json(encode_json(message)) == message


# ------------------------------------------------------------------------- characters XML cannot carry
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_encoding_a_character_illegal_in_xml_is_a_local_protocol_error(char: str):
    message = distribute_event().replace(request_id=f"req{char}1")
    with pytest.raises(LocalProtocolError) as info:
        encode_xml(message)
    assert type(info.value) is LocalProtocolError
    assert info.value.response_code == 454


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1f"], ids=lambda c: f"U+{ord(c):04X}")
def test_illegal_xml_character_deep_inside_is_a_local_protocol_error(char: str):
    message = distribute_event()
    descriptor = message.events[0].event.descriptor.replace(vtn_comment=f"bad{char}")
    event = message.events[0].event.replace(descriptor=descriptor)
    message = message.replace(events=(message.events[0].replace(event=event),))
    with pytest.raises(LocalProtocolError):
        encode_xml(message)


def test_encoding_a_lone_surrogate_is_a_local_protocol_error():
    with pytest.raises(LocalProtocolError):
        encode_xml(distribute_event().replace(request_id="req\ud8001"))


def test_json_encoding_a_lone_surrogate_is_a_local_protocol_error():
    with pytest.raises(LocalProtocolError):
        encode_json(distribute_event().replace(request_id="req\ud8001"))


def test_characters_legal_in_xml_but_special_roundtrip():
    text = "<&>\"' \t\r\n]]> \x7f\x85 \ud7ff \ue000 \ufffd \U0010ffff"
    message = distribute_event().replace(request_id=text)
    assert decode_xml(encode_xml(message)).request_id == text


# ---------------------------------------------------------------------------- parser error mapping
XML_SYNTAX_ERRORS = {
    "mismatched-tag": b"<a><b></a></b>",
    "unclosed": b"<a><b>",
    "undefined-prefix": b"<x:a/>",
    "duplicate-attribute": b'<a b="1" b="2"/>',
    "attribute-without-value": b"<a b/>",
    "unquoted-attribute": b"<a b=1/>",
    "lt-in-attribute": b'<a b="<"/>',
    "undefined-entity": b"<a>&nope;</a>",
    "bare-ampersand": b"<a>&</a>",
    "bad-char-reference": b"<a>&#xD800;</a>",
    "char-reference-to-nul": b"<a>&#0;</a>",
    "text-before-root": b"hello<a/>",
    "two-roots": b"<a/><b/>",
    "invalid-name": b"<1a/>",
    "premature-end": b"<a",
    "bad-declaration": b'<?xml version="9.9" encoding="UTF-8"?><a/>',
    "declaration-not-first": b' <?xml version="1.0"?><a/>',
    "unsupported-encoding": b'<?xml version="1.0" encoding="x-bogus"?><a/>',
    "invalid-utf8": b"<a>\xc3\x28</a>",
    "nul-byte": b"<a>\x00</a>",
    "control-character": b"<a>\x01</a>",
    "unterminated-comment": b"<a><!-- </a>",
    "unterminated-cdata": b"<a><![CDATA[ </a>",
    "bad-pi-target": b"<a><?xml x?></a>",
    "xmlns-redefined-xml": b'<a xmlns:xml="urn:x"/>',
    "huge-text-node": b"<a>" + b"x" * 10_000_100 + b"</a>",
}


@pytest.mark.parametrize("doc", XML_SYNTAX_ERRORS.values(), ids=XML_SYNTAX_ERRORS.keys())
def test_every_lxml_syntax_error_is_mapped_to_malformed_document(doc: bytes):
    # the input really is one lxml refuses...
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(doc, etree.XMLParser(resolve_entities=False, no_network=True))
    # ...and decode_xml says so with our error, not lxml's
    with pytest.raises(ProtocolError) as info:
        decode_xml(doc)
    assert type(info.value) is MalformedDocumentError
    assert info.value.__cause__ is None


#: a str input has no bytes and no encoding: its XML declaration is dropped, so these are bytes-only errors
_BYTES_ONLY = {"bad-declaration", "declaration-not-first", "unsupported-encoding", "invalid-utf8"}
STR_SYNTAX_ERRORS = {k: v.decode("utf-8") for k, v in XML_SYNTAX_ERRORS.items() if k not in _BYTES_ONLY}


@pytest.mark.parametrize("doc", STR_SYNTAX_ERRORS.values(), ids=STR_SYNTAX_ERRORS.keys())
def test_every_lxml_syntax_error_in_str_input_is_mapped_to_malformed_document(doc: str):
    with pytest.raises(ProtocolError) as info:
        decode_xml(doc)
    assert type(info.value) is MalformedDocumentError


JSON_ERRORS = {
    "json-decode-error": (b'{"a": }', json.JSONDecodeError),
    "unicode-decode-error": (b'{"a": "\xff"}', UnicodeDecodeError),
    "recursion-error": (b"[" * 100_000 + b"]" * 100_000, RecursionError),
    "bad-utf16": (b"\xff\xfe{", UnicodeDecodeError),
}


@pytest.mark.parametrize(("doc", "raw_error"), JSON_ERRORS.values(), ids=JSON_ERRORS.keys())
def test_every_json_parser_error_is_mapped_to_malformed_document(doc: bytes, raw_error: type[Exception]):
    with pytest.raises(raw_error):
        json.loads(doc)
    with pytest.raises(ProtocolError) as info:
        decode_json(doc)
    assert type(info.value) is MalformedDocumentError


# ------------------------------------------------------------------------------ error paths name fields
MESSAGE = "/oadr:oadrPayload/oadr:oadrSignedObject/oadr:oadrDistributeEvent"
DESCRIPTOR = MESSAGE + "/oadr:oadrEvent[1]/ei:eiEvent/ei:eventDescriptor"
ACTIVE = MESSAGE + "/oadr:oadrEvent[1]/ei:eiEvent/ei:eiActivePeriod/xcal:properties"


def _first_error(doc: str) -> InvalidMessageError:
    with pytest.raises(InvalidMessageError) as info:
        decode_xml(doc.encode("utf-8"))
    assert info.value.response_code == 454
    assert info.value.errors
    return info.value


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("<ei:vtnID>vtn-1</ei:vtnID>", "", MESSAGE + "/ei:vtnID"),
        ("<ei:vtnID>vtn-1</ei:vtnID>", "<ei:vtnID>vtn-1</ei:vtnID><ei:surprise/>", MESSAGE + "/ei:surprise"),
        ("<ei:vtnID>vtn-1</ei:vtnID>", "<ei:vtnID>vtn-1</ei:vtnID><ei:vtnID>vtn-2</ei:vtnID>",
         MESSAGE + "/ei:vtnID[2]"),
        ("<ei:eventStatus>far</ei:eventStatus>", "<ei:eventStatus>distant</ei:eventStatus>",
         DESCRIPTOR + "/ei:eventStatus"),
        ("<xcal:duration>PT1H</xcal:duration>", "<xcal:duration>P1M</xcal:duration>",
         ACTIVE + "/xcal:duration/xcal:duration"),
        ("<ei:createdDateTime>2024-04-30T12:00:00Z</ei:createdDateTime>",
         "<ei:createdDateTime>2024-04-30T12:00:00</ei:createdDateTime>", DESCRIPTOR + "/ei:createdDateTime"),
        ("<xcal:date-time>2024-05-01T12:00:00Z</xcal:date-time>",
         "<xcal:date-time>2024-05-01T12:00:00</xcal:date-time>", ACTIVE + "/xcal:dtstart/xcal:date-time"),
        ("<ei:modificationNumber>3</ei:modificationNumber>", "<ei:modificationNumber>-1</ei:modificationNumber>",
         DESCRIPTOR + "/ei:modificationNumber"),
    ],
    ids=["missing-required", "unexpected-element", "element-twice", "invalid-enum", "duration-in-months",
         "naive-datetime", "naive-dtstart", "negative-unsigned"],
)
def test_error_path_names_the_offending_element(event_xml: bytes, old: str, new: str, path: str):
    text = event_xml.decode("utf-8")
    assert old in text
    exc = _first_error(text.replace(old, new, 1))
    assert exc.errors[0].path == path
    assert exc.field == path


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b.pop("ei:vtnID"), "/oadr:oadrDistributeEvent/ei:vtnID"),
        (lambda b: b.update({"ei:surprise": 1}), "/oadr:oadrDistributeEvent/ei:surprise"),
        (lambda b: b["oadr:oadrEvent"][0]["ei:eiEvent"]["ei:eventDescriptor"].update({"ei:eventStatus": "distant"}),
         "/oadr:oadrDistributeEvent/oadr:oadrEvent[1]/ei:eiEvent/ei:eventDescriptor/ei:eventStatus"),
        (lambda b: b["oadr:oadrEvent"][0]["ei:eiEvent"]["ei:eiActivePeriod"]["xcal:properties"]["xcal:duration"]
         .update({"xcal:duration": "P1M"}),
         "/oadr:oadrDistributeEvent/oadr:oadrEvent[1]/ei:eiEvent/ei:eiActivePeriod/xcal:properties/xcal:duration"
         "/xcal:duration"),
        (lambda b: b["oadr:oadrEvent"][0]["ei:eiEvent"]["ei:eventDescriptor"]
         .update({"ei:createdDateTime": "2024-04-30T12:00:00"}),
         "/oadr:oadrDistributeEvent/oadr:oadrEvent[1]/ei:eiEvent/ei:eventDescriptor/ei:createdDateTime"),
    ],
    ids=["missing-required", "unexpected-key", "invalid-enum", "duration-in-months", "naive-datetime"],
)
def test_json_error_path_names_the_offending_field(event_json: bytes, mutate, path: str):  # type: ignore[no-untyped-def]
    obj = json.loads(event_json)
    mutate(obj["oadr:oadrDistributeEvent"])
    with pytest.raises(InvalidMessageError) as info:
        decode_json(json.dumps(obj))
    assert info.value.errors[0].path == path


def _indented(event: Model) -> tuple[str, list[str]]:
    tree = etree.fromstring(encode_xml(event))
    etree.indent(tree)
    text = etree.tostring(tree, encoding="unicode")
    return text, text.splitlines()


def test_error_line_of_an_unexpected_element_is_its_line(event):
    text, lines = _indented(event)
    vtn_line = next(n for n, line in enumerate(lines, start=1) if "<ei:vtnID>" in line)
    exc = _first_error(text.replace("<ei:vtnID>", "<ei:surprise/><ei:vtnID>", 1))
    assert exc.errors[0].line == vtn_line


def test_error_line_of_an_invalid_value_is_the_line_of_the_offending_element(event):
    text, lines = _indented(event)
    status_line = next(n for n, line in enumerate(lines, start=1) if "<ei:eventStatus>" in line)
    exc = _first_error(text.replace(">far<", ">distant<"))
    assert exc.errors[0].line == status_line


# ------------------------------------------------------------------------- ranges in our own types
@pytest.mark.parametrize("text", ["P999999999999D", "PT99999999999999999999H", "P9999999999W",
                                  "PT" + "9" * 30 + "S"])
def test_duration_too_long_for_python_is_an_invalid_message(event_xml: bytes, text: str):
    doc = event_xml.replace(b"<xcal:duration>PT1H</xcal:duration>", f"<xcal:duration>{text}</xcal:duration>".encode())
    with pytest.raises(InvalidMessageError):
        decode_xml(doc)


def test_json_duration_too_long_for_python_is_an_invalid_message(event_json: bytes):
    doc = event_json.replace(b'"PT1H"', b'"P999999999999D"')
    with pytest.raises(InvalidMessageError):
        decode_json(doc)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_datetime_whose_utc_instant_is_out_of_range_is_an_invalid_message(event_xml: bytes, text: str):
    doc = event_xml.replace(b"2024-04-30T12:00:00Z", text.encode())
    with pytest.raises(InvalidMessageError):
        decode_xml(doc)


def test_extreme_but_representable_datetimes_roundtrip(event):
    for when in (datetime(1, 1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 22, tzinfo=UTC)):
        descriptor = event.events[0].event.descriptor.replace(created_date_time=when)
        ev = event.events[0].event.replace(descriptor=descriptor)
        message = event.replace(events=(event.events[0].replace(event=ev),))
        assert decode_xml(encode_xml(message)) == message
        assert decode_json(encode_json(message)) == message


def _is_datetime(value: Any) -> bool:
    return isinstance(value, datetime)


@EXAMPLES
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(when=aware_datetimes.filter(lambda d: d.utcoffset() is not None and d.utcoffset().seconds % 60 == 0))
def test_any_aware_datetime_in_any_example_roundtrips(message: Model, when: datetime):
    changed, found = replace_first(message, _is_datetime, when)
    if not found:
        return
    assert decode_xml(encode_xml(changed)) == changed
    assert decode_json(encode_json(changed)) == changed


def test_datetime_with_an_offset_xml_cannot_write_is_refused_when_encoding():
    odd = datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=37)))
    problems = []
    for message in examples():
        try:
            changed, found = replace_first(message, _is_datetime, odd)
        except ValueError:  # the model refuses such offsets: fine
            continue
        if not found:
            continue
        try:
            doc = encode_xml(changed)
        except LocalProtocolError:
            continue
        try:
            assert decode_xml(doc) == changed
        except (ProtocolError, AssertionError) as exc:
            problems.append(f"{type(message).__name__}: {exc}")
    assert problems == []


def _first_decimal(message: Model) -> Decimal | None:
    return next((v for _, v in walk(message) if isinstance(v, Decimal)), None)


DECIMAL_EXAMPLES = [m for m in examples() if _first_decimal(m) is not None]


@pytest.mark.skipif(not DECIMAL_EXAMPLES, reason="no example message carries an xs:decimal yet")
@pytest.mark.parametrize("text", ["1E+999999999999999999", "1E+99999999", "1e3"])
def test_decimal_in_exponent_notation_is_an_invalid_message(text: str):
    message = DECIMAL_EXAMPLES[0]
    value = _first_decimal(message)
    doc = encode_xml(message)
    written = f">{format(value, 'f')}<".encode()
    assert written in doc
    with pytest.raises(InvalidMessageError):
        decode_xml(doc.replace(written, f">{text}<".encode(), 1))


@pytest.mark.skipif(not DECIMAL_EXAMPLES, reason="no example message carries an xs:decimal yet")
def test_json_decimal_with_a_huge_exponent_is_an_invalid_message():
    message = DECIMAL_EXAMPLES[0]
    value = _first_decimal(message)
    doc = encode_json(message).decode()
    pattern = re.compile(r'(?<=:)"?' + re.escape(str(json.loads(json.dumps(float(value))))) + r'"?(?=[,}\]])')
    assert pattern.search(doc), doc
    with pytest.raises(InvalidMessageError):
        decode_json(pattern.sub('"1E+999999999999999999"', doc, count=1))
