"""Wire formats: XML (schema-valid) and JSON (the CTS binding), one model in, the same model out.

>>> from transactive.codec import encode_xml, decode_xml
>>> decode_xml(encode_xml(message)) == message   # doctest: +SKIP
True
"""

from transactive.codec.json import decode_json, encode_json, from_json_obj, to_json_obj
from transactive.codec.pins import pin, pinned, unpin
from transactive.codec.registry import message, message_types
from transactive.codec.safe import parse_xml
from transactive.codec.wire import WireFormat, decode_as
from transactive.codec.xml import decode_element, decode_xml, encode_xml
from transactive.model import Model

__all__ = [
    "WireFormat",
    "decode",
    "decode_element",
    "decode_json",
    "decode_xml",
    "encode_json",
    "encode_xml",
    "from_json_obj",
    "message",
    "message_types",
    "parse_xml",
    "pin",
    "pinned",
    "to_json_obj",
    "unpin",
]


def decode(data: bytes | str) -> Model:
    """Decode XML or JSON, telling them apart by the first non-blank character (see
    :func:`transactive.codec.wire.sniff`)."""
    return decode_as(None, data)
