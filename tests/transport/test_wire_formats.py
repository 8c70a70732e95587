"""One wire module for every transport: which media types mean XML or JSON, content negotiation, sniffing,
and encode/decode by format."""

from __future__ import annotations

import pytest

from transactive.codec.wire import (
    MEDIA_TYPES,
    WireFormat,
    decode_as,
    encode_as,
    media_type,
    negotiate,
    sniff,
    wire_of,
)
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.errors import MalformedDocumentError
from transactive.transport.base import WireFormat as TransportWireFormat

MESSAGE = EiRequestEiMarketContext(request_id="r-1", market_contexts=("urn:m",), party_id="p-1")


@pytest.mark.parametrize(("content_type", "expected"), [
    ("application/json", WireFormat.JSON),
    ("Application/JSON; charset=utf-8", WireFormat.JSON),
    ("application/vnd.example+json", WireFormat.JSON),
    ("application/xml", WireFormat.XML),
    ("text/xml", WireFormat.XML),
    ("application/soap+xml; charset=utf-8", WireFormat.XML),
    ("text/plain", None),
    ("", None),
    (None, None),
])
def test_a_content_type_names_its_format_or_none(content_type: str | None, expected: WireFormat | None) -> None:
    assert wire_of(content_type) is expected


@pytest.mark.parametrize(("accept", "default", "expected"), [
    (None, WireFormat.XML, WireFormat.XML),
    ("", WireFormat.JSON, WireFormat.JSON),
    ("*/*", WireFormat.XML, WireFormat.XML),
    ("application/*", WireFormat.JSON, WireFormat.JSON),
    ("application/json;q=0", WireFormat.XML, None),
    ("application/vnd.x+json", WireFormat.XML, WireFormat.JSON),
    ("text/*", WireFormat.JSON, WireFormat.XML),
    ("application/xml;q=0.5, application/json;q=0.9", WireFormat.XML, WireFormat.JSON),
    ("application/xml, application/json", WireFormat.JSON, WireFormat.JSON),  # a tie goes to the default
    ("text/html", WireFormat.JSON, None),
    ("application/json;q=nonsense, application/xml", WireFormat.JSON, WireFormat.XML),
])
def test_accept_picks_the_acceptable_format_with_the_highest_q(accept: str | None, default: WireFormat,
                                                               expected: WireFormat | None) -> None:
    assert negotiate(accept, default) is expected


def test_what_a_transport_sends_is_the_plain_media_type() -> None:
    assert media_type(WireFormat.JSON) == "application/json"
    assert media_type(WireFormat.XML) == "application/xml"
    assert {wire_of(t) for t in MEDIA_TYPES.values()} == set(WireFormat)
    assert TransportWireFormat is WireFormat  # the transports re-export the one enum


@pytest.mark.parametrize("wire", list(WireFormat))
def test_encode_then_decode_by_format_and_by_sniffing(wire: WireFormat) -> None:
    data = encode_as(wire, MESSAGE)
    assert sniff(data) is wire
    assert sniff(b"  \n" + data) is wire
    assert decode_as(wire, data) == MESSAGE
    assert decode_as(None, data) == MESSAGE


def test_a_document_read_as_the_other_format_is_a_protocol_error() -> None:
    with pytest.raises(MalformedDocumentError) as caught:
        decode_as(WireFormat.JSON, encode_as(WireFormat.XML, MESSAGE))
    assert caught.value.response_code == 400
