"""transactive: a standards-first transactive-energy protocol stack.

WS-Calendar (when), EMIX (what, where, at what price) and Energy Interoperation / Common Transactive
Services (register, market context, quote, tender, transaction, delivery, position; and the OpenADR 2.0b
profile: event, opt, report, poll), with XML and JSON codecs and validation against the OASIS/OpenADR
schemas.
"""

from transactive.codec import decode, decode_json, decode_xml, encode_json, encode_xml
from transactive.errors import ResponseCode, TransactiveError

__version__ = "0.1.0"

__all__ = [
    "ResponseCode",
    "TransactiveError",
    "__version__",
    "decode",
    "decode_json",
    "decode_xml",
    "encode_json",
    "encode_xml",
]
