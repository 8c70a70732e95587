"""Hostile and broken input: every attack or accident ends in exactly the right ProtocolError, fast.

Nothing here asserts on time. The payloads are sized so that a parser that expanded entities, fetched
resources, recursed per element or read an oversize document would hang or run out of memory instead of
finishing; the suite finishing is the speed check.
"""

from __future__ import annotations

import json
import random
import urllib.request

import pytest
from lxml import etree

from transactive.codec import decode_json, decode_xml, encode_json, encode_xml
from transactive.codec.json import MAX_JSON_BYTES
from transactive.codec.safe import MAX_BYTES
from transactive.errors import (
    InvalidMessageError,
    MalformedDocumentError,
    ProtocolError,
    ResponseCode,
    UnknownMessageError,
)
from transactive.model.base import Model

from .samples import example_ids, examples

OADR_NS = "http://openadr.org/oadr-2.0b/2012/07"
SECRET = "TOP-SECRET-7f3a9c-do-not-leak"


def raises_exactly(cls: type[ProtocolError], code: int, call, *args) -> ProtocolError:  # type: ignore[no-untyped-def]
    """Run ``call(*args)``; it must raise exactly ``cls`` (not a subclass, not a sibling) with ``code``."""
    with pytest.raises(ProtocolError) as info:
        call(*args)
    exc = info.value
    assert type(exc) is cls, f"expected {cls.__name__}, got {type(exc).__name__}: {exc}"
    assert exc.response_code == int(code)
    return exc


def everything_said(exc: ProtocolError) -> str:
    """All text an error carries (message, str, field errors, chained exceptions)."""
    parts = [str(exc), exc.message, repr(exc.errors), repr(exc.args)]
    for chained in (exc.__cause__, exc.__context__):
        if chained is not None:
            parts.append(repr(chained))
    return "\n".join(parts)


def split_decl(doc: bytes) -> tuple[str, str]:
    text = doc.decode("utf-8")
    decl, body = text.split("?>", 1)
    return decl + "?>", body


def with_doctype(doc: bytes, doctype: str, old: str | None = None, new: str | None = None) -> bytes:
    """The document with a DOCTYPE after its XML declaration (and ``old`` text replaced by ``new``)."""
    decl, body = split_decl(doc)
    if old is not None and new is not None:
        assert old in body
        body = body.replace(old, new, 1)
    return (decl + "\n" + doctype + body).encode("utf-8")


@pytest.fixture
def secret_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


# ------------------------------------------------------------------------------------- DTD, entities
def test_fetch_recorder_records_requests(fetch_recorder):
    # the "nothing was fetched" checks below can fail: a request to the recorder is seen
    with urllib.request.urlopen(f"{fetch_recorder.url}/seen.dtd", timeout=5) as response:
        assert b"FETCHED-BY-NETWORK" in response.read()
    assert fetch_recorder.requests == ["/seen.dtd"]


def test_xxe_payload_would_leak_the_file_through_a_permissive_parser(event_xml, secret_file):
    # the "secret does not appear" checks below can fail: the same payload leaks with a naive parser
    doctype = f'<!DOCTYPE oadr:oadrPayload [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
    doc = with_doctype(event_xml, doctype, "req-1", "&xxe;")
    naive = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True)
    assert SECRET.encode() in etree.tostring(etree.fromstring(doc, naive))


def test_external_file_entity_xxe_is_refused_without_reading_the_file(event_xml, secret_file, fetch_recorder):
    doctype = f'<!DOCTYPE oadr:oadrPayload [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
    doc = with_doctype(event_xml, doctype, "req-1", "&xxe;")
    exc = raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)
    assert SECRET not in everything_said(exc)
    assert fetch_recorder.requests == []


def test_external_network_entity_is_refused_without_fetching(event_xml, fetch_recorder):
    doctype = f'<!DOCTYPE oadr:oadrPayload [<!ENTITY xxe SYSTEM "{fetch_recorder.url}/entity">]>'
    doc = with_doctype(event_xml, doctype, "req-1", "&xxe;")
    exc = raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)
    assert "FETCHED-BY-NETWORK" not in everything_said(exc)
    assert fetch_recorder.requests == []


def test_external_dtd_is_refused_without_fetching(event_xml, fetch_recorder):
    doc = with_doctype(event_xml, f'<!DOCTYPE oadr:oadrPayload SYSTEM "{fetch_recorder.url}/evil.dtd">')
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)
    assert fetch_recorder.requests == []


def test_public_external_dtd_is_refused_without_fetching(event_xml, fetch_recorder):
    doctype = f'<!DOCTYPE oadr:oadrPayload PUBLIC "-//EVIL//DTD x//EN" "{fetch_recorder.url}/public.dtd">'
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, with_doctype(event_xml, doctype))
    assert fetch_recorder.requests == []


def test_parameter_entities_are_refused_without_fetching(event_xml, secret_file, fetch_recorder):
    doctype = (
        "<!DOCTYPE oadr:oadrPayload ["
        f'<!ENTITY % remote SYSTEM "{fetch_recorder.url}/param.dtd">'
        f'<!ENTITY % local SYSTEM "{secret_file.as_uri()}">'
        "%remote; %local;]>"
    )
    exc = raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, with_doctype(event_xml, doctype))
    assert SECRET not in everything_said(exc)
    assert "LEAKED-BY-NETWORK" not in everything_said(exc)
    assert fetch_recorder.requests == []


def test_internal_dtd_without_entities_is_refused(event_xml):
    doc = with_doctype(event_xml, "<!DOCTYPE oadr:oadrPayload [<!ELEMENT oadr:oadrPayload ANY>]>")
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def billion_laughs(levels: int = 12, fan_out: int = 10) -> str:
    """Entity ``lol{levels}`` expands to ``fan_out ** levels`` copies of "lol" (10**12: a terabyte)."""
    decls = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        decls.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * fan_out}">')
    return "<!DOCTYPE oadr:oadrPayload [" + "".join(decls) + "]>"


def test_billion_laughs_entity_expansion_is_refused(event_xml):
    doc = with_doctype(event_xml, billion_laughs(), "req-1", "&lol12;")
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def test_billion_laughs_in_an_attribute_is_refused(event_xml):
    doc = with_doctype(event_xml, billion_laughs(), 'ei:schemaVersion="2.0b"', 'ei:schemaVersion="&lol12;"')
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def test_quadratic_blowup_entity_is_refused(event_xml):
    # one 200 kB entity referenced 20,000 times: 4 GB once expanded, from a ~300 kB document
    doctype = '<!DOCTYPE oadr:oadrPayload [<!ENTITY big "' + "A" * 200_000 + '">]>'
    doc = with_doctype(event_xml, doctype, "req-1", "&big;" * 20_000)
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_doctype_in_a_utf16_or_utf32_document_is_refused(event_xml, secret_file, fetch_recorder, encoding):
    _, body = split_decl(event_xml)
    name = {"utf-16": "UTF-16", "utf-16-be": "UTF-16BE", "utf-32": "UTF-32"}[encoding]
    doctype = f'<!DOCTYPE oadr:oadrPayload [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
    doc = (f'<?xml version="1.0" encoding="{name}"?>' + doctype + body.replace("req-1", "&xxe;")).encode(encoding)
    try:
        raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)
    finally:
        assert fetch_recorder.requests == []


def test_utf16_document_without_doctype_decodes(event, event_xml):
    _, body = split_decl(event_xml)
    doc = ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")
    assert decode_xml(doc) == event


# ------------------------------------------------------------------------------------- size and depth
def test_absurdly_deep_document_is_refused():
    doc = b"<a>" * 100_000 + b"</a>" * 100_000
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def test_absurdly_deep_nesting_inside_a_known_message_is_refused(event_xml):
    deep = "<ei:x>" * 100_000 + "</ei:x>" * 100_000
    decl, body = split_decl(event_xml)
    doc = (decl + body.replace("<ei:vtnID>vtn-1</ei:vtnID>", deep, 1)).encode()
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def test_deep_but_parseable_nesting_inside_a_known_message_is_an_unexpected_element(event_xml):
    deep = "<ei:x>" * 200 + "</ei:x>" * 200
    decl, body = split_decl(event_xml)
    doc = (decl + body.replace("<ei:vtnID>vtn-1</ei:vtnID>", deep, 1)).encode()
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_xml, doc)
    assert exc.errors[0].path.endswith("/oadr:oadrDistributeEvent/ei:x")


def test_oversize_document_is_refused_as_payload_too_large(event, event_xml):
    padding = "x" * (MAX_BYTES + 1)
    doc = encode_xml(event.replace(request_id=padding))
    assert len(doc) > MAX_BYTES
    raises_exactly(MalformedDocumentError, ResponseCode.PAYLOAD_TOO_LARGE, decode_xml, doc)


def test_oversize_str_document_is_refused_as_payload_too_large(event):
    text = encode_xml(event.replace(request_id="é" * (MAX_BYTES // 2 + 1))).decode("utf-8")
    raises_exactly(MalformedDocumentError, ResponseCode.PAYLOAD_TOO_LARGE, decode_xml, text)


def test_oversize_document_made_of_whitespace_is_refused(event_xml):
    doc = event_xml + b" " * (MAX_BYTES + 1)
    raises_exactly(MalformedDocumentError, ResponseCode.PAYLOAD_TOO_LARGE, decode_xml, doc)


# ---------------------------------------------------------------------------------- unknown messages
def test_wrong_namespace_on_known_envelope_is_unknown_message(event_xml):
    doc = event_xml.replace(OADR_NS.encode(), b"http://openadr.org/oadr-2.0a/2012/07")
    exc = raises_exactly(UnknownMessageError, ResponseCode.NOT_RECOGNIZED, decode_xml, doc)
    assert exc.errors[0].path == "/oadr:oadrPayload"


@pytest.mark.parametrize(
    "doc",
    [
        b'<oadrDistributeEvent xmlns="urn:not-openadr"/>',
        b"<oadrDistributeEvent/>",
        b'<oadrPayload><oadrSignedObject><oadrDistributeEvent/></oadrSignedObject></oadrPayload>',
        f'<x:oadrDistributeEvent xmlns:x="{OADR_NS}/"/>'.encode(),
    ],
    ids=["other-namespace", "no-namespace", "envelope-without-namespace", "namespace-with-trailing-slash"],
)
def test_known_local_name_in_wrong_namespace_is_unknown_message(doc):
    raises_exactly(UnknownMessageError, ResponseCode.NOT_RECOGNIZED, decode_xml, doc)


@pytest.mark.parametrize(
    "doc",
    [b"<foo/>", f'<oadr:oadrNoSuchMessage xmlns:oadr="{OADR_NS}"/>'.encode(), b'<html><body/></html>'],
    ids=["foo", "unknown-oadr-name", "html"],
)
def test_unknown_root_element_is_unknown_message(doc):
    raises_exactly(UnknownMessageError, ResponseCode.NOT_RECOGNIZED, decode_xml, doc)


def test_decode_xml_with_cls_refuses_another_message(event_xml):
    from transactive.ei.oadr.event import OadrRequestEvent

    raises_exactly(UnknownMessageError, ResponseCode.NOT_RECOGNIZED, decode_xml, event_xml, OadrRequestEvent)


def test_envelope_holding_two_messages_is_invalid(event_xml):
    decl, body = split_decl(event_xml)
    start = body.index("<oadr:oadrDistributeEvent")
    end = body.index("</oadr:oadrSignedObject>")
    inner = body[start:end]
    doc = (decl + body.replace(inner, inner + inner, 1)).encode()
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_xml, doc)
    assert exc.errors[0].path == "/oadr:oadrPayload/oadr:oadrSignedObject"


# ------------------------------------------------------------------------------------------ truncated
def cut_points(length: int, seed: int) -> list[int]:
    """Every cut in the first and last 64 bytes, and 150 more spread over the rest."""
    rng = random.Random(seed)
    points = set(range(min(64, length))) | set(range(max(0, length - 64), length))
    points |= {rng.randrange(length) for _ in range(150)}
    return sorted(points)


def _well_formed(data: bytes) -> bool:
    try:
        etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError:
        return False
    return True


@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_every_truncated_xml_document_is_a_protocol_error(message: Model):
    doc = encode_xml(message)
    for cut in cut_points(len(doc), seed=len(doc)):
        prefix = doc[:cut]
        with pytest.raises(ProtocolError) as info:
            decode_xml(prefix)
        allowed: tuple[type[ProtocolError], ...] = (MalformedDocumentError,)
        if _well_formed(prefix):  # pragma: no cover - a strict prefix of our output is never well-formed
            allowed = (InvalidMessageError, UnknownMessageError)
        assert type(info.value) in allowed, (cut, prefix[-40:], info.value)


@pytest.mark.parametrize("message", examples(), ids=example_ids())
def test_every_truncated_json_document_is_malformed(message: Model):
    doc = encode_json(message)
    for cut in cut_points(len(doc), seed=len(doc)):
        with pytest.raises(MalformedDocumentError):
            decode_json(doc[:cut])


# -------------------------------------------------------------------------------- bytes and encodings
def test_non_utf8_bytes_are_malformed(event_xml):
    doc = event_xml.replace(b"req-1", b"req-\xff\xfe\xc3")
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def test_latin1_text_under_a_utf8_declaration_is_malformed(event_xml):
    doc = event_xml.replace(b"req-1", "réq-1".encode("latin-1"))
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


@pytest.mark.parametrize("claimed", [b"UTF-16", b"UTF-32", b"IBM037", b"x-no-such-encoding"])
def test_encoding_declaration_that_lies_is_malformed(event_xml, claimed):
    doc = event_xml.replace(b'encoding="UTF-8"', b'encoding="' + claimed + b'"', 1)
    assert doc != event_xml
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


@pytest.mark.parametrize("where", ["text", "attribute", "tag", "start"])
def test_nul_byte_is_malformed(event_xml, where):
    doc = {
        "text": event_xml.replace(b"req-1", b"req\x00-1"),
        "attribute": event_xml.replace(b'"2.0b"', b'"2.0b\x00"'),
        "tag": event_xml.replace(b"<ei:vtnID>", b"<ei:vtn\x00ID>"),
        "start": b"\x00" + event_xml,
    }[where]
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


def test_xml_char_reference_to_nul_is_malformed(event_xml):
    raises_exactly(MalformedDocumentError, 400, decode_xml, event_xml.replace(b"req-1", b"req&#0;-1"))


@pytest.mark.parametrize("doc", [b"", "", b" ", b"   \n\t\r\n ", "  \n ", b"\xef\xbb\xbf"],
                         ids=["empty-bytes", "empty-str", "space", "whitespace", "whitespace-str", "bom-only"])
def test_empty_or_whitespace_only_xml_is_malformed(doc):
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_xml, doc)


@pytest.mark.parametrize("declared", ["UTF-8", "UTF-16", "ISO-8859-1", "x-no-such-encoding"])
def test_str_input_with_an_encoding_declaration_decodes_as_the_text_it_is(event, event_xml, declared):
    text = event_xml.decode("utf-8").replace('encoding="UTF-8"', f'encoding="{declared}"', 1)
    assert decode_xml(text) == event


def test_str_input_with_non_ascii_text_and_a_latin1_declaration_keeps_the_text(event):
    message = event.replace(request_id="réq-€-1")
    text = encode_xml(message).decode("utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    assert decode_xml(text).request_id == "réq-€-1"


def test_garbage_after_the_root_element_is_malformed(event_xml):
    raises_exactly(MalformedDocumentError, 400, decode_xml, event_xml + b"<oadr:oadrPayload/>")


def test_processing_instruction_and_comments_are_ignored(event, event_xml):
    doc = event_xml.replace(b"<ei:vtnID>", b"<!-- c --><?pi x?><ei:vtnID>", 1)
    assert decode_xml(doc) == event


@pytest.mark.parametrize("inner", [b"re<ei:x/>q-1", b"<ei:x>req-1</ei:x>", b"req-1<oadr:oadrEvent/>"])
def test_child_element_inside_a_simple_value_is_an_invalid_message(event_xml, inner):
    doc = event_xml.replace(b"<pyld:requestID>req-1<", b"<pyld:requestID>" + inner + b"<", 1)
    assert doc != event_xml
    raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_xml, doc)


def test_cdata_text_is_accepted_as_text(event, event_xml):
    doc = event_xml.replace(b">req-1<", b"><![CDATA[req-1]]><", 1)
    assert decode_xml(doc) == event


# ----------------------------------------------------------------------------------------------- JSON
@pytest.mark.parametrize(
    "doc",
    [b"{", b'{"oadr:oadrDistributeEvent": }', b"{'single': 'quotes'}", b"nul", b'{"a": 1,}', b"\xff\xfe\xfd",
     b"", b"   ", "", b'{"a": "\\x41"}'],
    ids=["open-brace", "missing-value", "single-quotes", "bad-literal", "trailing-comma", "non-utf8",
         "empty", "whitespace", "empty-str", "bad-escape"],
)
def test_invalid_json_is_malformed(doc):
    raises_exactly(MalformedDocumentError, ResponseCode.BAD_REQUEST, decode_json, doc)


def test_deeply_nested_json_arrays_are_malformed():
    raises_exactly(MalformedDocumentError, 400, decode_json, b"[" * 100_000 + b"]" * 100_000)


def test_deeply_nested_json_objects_are_malformed():
    raises_exactly(MalformedDocumentError, 400, decode_json, b'{"a":' * 100_000 + b"1" + b"}" * 100_000)


def test_deeply_nested_json_inside_a_known_message_is_malformed():
    doc = b'{"oadr:oadrDistributeEvent": {"pyld:requestID": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    raises_exactly(MalformedDocumentError, 400, decode_json, doc)


def test_moderately_nested_json_inside_a_field_is_invalid():
    doc = b'{"oadr:oadrDistributeEvent": {"pyld:requestID": ' + b"[" * 500 + b"]" * 500 + b"}}"
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, doc)
    assert exc.errors[0].path == "/oadr:oadrDistributeEvent/pyld:requestID"


def test_huge_json_is_refused_as_payload_too_large(event):
    doc = encode_json(event.replace(request_id="x" * (MAX_JSON_BYTES + 1)))
    raises_exactly(MalformedDocumentError, ResponseCode.PAYLOAD_TOO_LARGE, decode_json, doc)


def body_of(event_json: bytes) -> dict:  # type: ignore[type-arg]
    return json.loads(event_json)["oadr:oadrDistributeEvent"]


def as_doc(body: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps({"oadr:oadrDistributeEvent": body}).encode()


ROOT = "/oadr:oadrDistributeEvent"


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("pyld:requestID", {"nested": "object"}, ROOT + "/pyld:requestID"),
        ("ei:vtnID", ["a", "b"], ROOT + "/ei:vtnID"),
        ("ei:eiResponse", "200", ROOT + "/ei:eiResponse"),
        ("ei:eiResponse", 200, ROOT + "/ei:eiResponse"),
        ("oadr:oadrEvent", "not-an-event", ROOT + "/oadr:oadrEvent[1]"),
        ("oadr:oadrEvent", [1, 2], ROOT + "/oadr:oadrEvent[1]"),
        ("pyld:requestID", True, ROOT + "/pyld:requestID"),
    ],
)
def test_json_field_of_the_wrong_type_is_invalid(event_json, key, value, path):
    body = body_of(event_json)
    body[key] = value
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, as_doc(body))
    assert exc.errors[0].path == path


def test_json_number_field_given_text_is_invalid(event_json):
    body = body_of(event_json)
    body["oadr:oadrEvent"][0]["ei:eiEvent"]["ei:eventDescriptor"]["ei:modificationNumber"] = "three"
    exc = raises_exactly(InvalidMessageError, 454, decode_json, as_doc(body))
    assert exc.errors[0].path.endswith("/ei:eventDescriptor/ei:modificationNumber")


@pytest.mark.parametrize("key", ["pyld:requestID", "ei:vtnID", "ei:eiResponse", "@ei:schemaVersion", "oadr:oadrEvent"])
def test_json_null_value_is_invalid(event_json, key):
    body = body_of(event_json)
    body[key] = None
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, as_doc(body))
    assert exc.errors[0].path.startswith(f"{ROOT}/{key}")


def test_json_null_message_body_is_invalid():
    exc = raises_exactly(InvalidMessageError, 454, decode_json, b'{"oadr:oadrDistributeEvent": null}')
    assert exc.errors[0].path == ROOT


@pytest.mark.parametrize("key", ["ei:unknown", "vtnID", "oadr:vtnID", "@foo", "$", "pyld:eiRequestEvent"])
def test_json_unknown_key_is_invalid(event_json, key):
    body = body_of(event_json)
    body[key] = "x"
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, as_doc(body))
    assert exc.errors[0].path == f"{ROOT}/{key}"


def test_json_unknown_key_deep_inside_is_invalid(event_json):
    body = body_of(event_json)
    body["oadr:oadrEvent"][0]["ei:eiEvent"]["ei:eventDescriptor"]["ei:bogus"] = 1
    exc = raises_exactly(InvalidMessageError, 454, decode_json, as_doc(body))
    assert exc.errors[0].path == f"{ROOT}/oadr:oadrEvent[1]/ei:eiEvent/ei:eventDescriptor/ei:bogus"


@pytest.mark.parametrize("key", ["pyld:requestID", "ei:vtnID", "ei:eiResponse"])
def test_json_array_where_one_element_is_expected_is_invalid(event_json, key):
    body = body_of(event_json)
    body[key] = [body[key], body[key]]
    exc = raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, as_doc(body))
    assert exc.errors[0].path == f"{ROOT}/{key}"


def test_json_single_object_where_an_array_is_expected_is_accepted(event, event_json):
    # the XMLSpy convention writes a repeated element that occurs once as an array, but a lone object
    # is unambiguous: it is read as a one-element array
    body = body_of(event_json)
    body["oadr:oadrEvent"] = body["oadr:oadrEvent"][0]
    assert decode_json(as_doc(body)) == event


@pytest.mark.parametrize(
    "doc",
    [b"[]", b'"oadr:oadrDistributeEvent"', b"42", b"null", b"{}", b'{"a": {}, "b": {}}',
     b'{"oadr:oadrNoSuchMessage": {}}', b'{"oadrDistributeEvent": {}}'],
    ids=["array", "string", "number", "null", "empty-object", "two-keys", "unknown-key", "unprefixed-key"],
)
def test_json_document_that_is_not_a_known_message_is_unknown(doc):
    raises_exactly(UnknownMessageError, ResponseCode.NOT_RECOGNIZED, decode_json, doc)


def test_json_nan_and_infinity_literals_are_invalid(event_json):
    doc = event_json.replace(b'"ei:value":1.5', b'"ei:value":NaN')
    doc = doc.replace(b'"ei:value":-0.25', b'"ei:value":-Infinity')
    assert doc.count(b"NaN") == 1
    raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, doc)


def test_json_number_too_large_for_a_float_is_invalid(event_json):
    doc = event_json.replace(b'"ei:value":1.5', b'"ei:value":1' + b"0" * 400)
    raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, doc)


def test_json_lone_surrogate_in_a_string_is_invalid(event_json):
    doc = event_json.replace(b'"req-1"', b'"req-\\ud800"')
    raises_exactly(InvalidMessageError, ResponseCode.INVALID_DATA, decode_json, doc)
