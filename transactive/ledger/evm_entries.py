"""How a ledger entry travels in an EVM transaction, and the small parsers of what a node answers.

An entry is one transaction whose ``data`` is :data:`MAGIC` (``b"TXE\\x01"``) followed by the entry as
canonical compact JSON ``{"d": data, "k": kind, "t": transaction_id}`` (sorted keys, no spaces, UTF-8):
:func:`encode_entry` writes that JSON, :func:`decode_entry` reads it back from a transaction's data and
returns ``None`` for anything that is not an entry. A receipt's ``entry_hash`` is :func:`sha256_hex` of the
JSON. Gas is the intrinsic cost of a plain transfer with data (:func:`intrinsic_gas`: 21000 + 40 per
non-zero and 10 per zero data byte, the EIP-7623 floor, which covers EIP-2028).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from transactive.ledger.interface import LedgerError
from transactive.ledger.records import EntryKind

__all__ = [
    "MAGIC",
    "decode_entry",
    "encode_entry",
    "hex_quantity",
    "intrinsic_gas",
    "lower_hex",
    "parse_address",
    "sha256_hex",
]

#: the first bytes of every entry's transaction data ("TXE", format version 1)
MAGIC = b"TXE\x01"

_TX_GAS = 21_000


def encode_entry(kind: EntryKind, transaction_id: str, data: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an entry (what ``entry_hash`` hashes); the transaction data is MAGIC + this."""
    try:
        return json.dumps({"d": data, "k": kind.value, "t": transaction_id}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"entry data is not JSON: {exc}") from exc


def decode_entry(data_hex: str | None) -> tuple[EntryKind, str, dict[str, Any], bytes] | None:
    """(kind, transaction id, data, canonical JSON) of a transaction's data, or ``None`` if it is no entry."""
    if not data_hex:
        return None
    try:
        raw = bytes.fromhex(data_hex.removeprefix("0x"))
    except ValueError:
        return None
    if not raw.startswith(MAGIC):
        return None
    body = raw[len(MAGIC):]
    try:
        obj = json.loads(body)
        kind = EntryKind(obj["k"])
        transaction_id = obj["t"]
        data = obj["d"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        return None
    if not isinstance(transaction_id, str) or not isinstance(data, dict):
        return None
    return kind, transaction_id, data, body


def hex_quantity(value: Any, what: str) -> int:
    """An EVM hex quantity ("0x1a") as int."""
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise LedgerError(f"{what}: not a hex quantity: {value!r}")


def parse_address(value: str, what: str) -> str:
    """A 20-byte hex address, lower-cased; :class:`LedgerError` naming ``what`` otherwise."""
    text = value.lower()
    if len(text) != 42 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
        raise LedgerError(f"{what}: not an address: {value!r}")
    return text


def lower_hex(value: Any) -> str | None:
    """An address or hash from a node's answer, lower-cased (``None`` when it is not a string)."""
    return value.lower() if isinstance(value, str) else None


def intrinsic_gas(data: bytes) -> int:
    """The gas of a plain transfer carrying ``data`` (see the module docstring)."""
    zeros = data.count(0)
    return _TX_GAS + 40 * (len(data) - zeros) + 10 * zeros


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256: an entry's ``entry_hash`` from its canonical JSON."""
    return hashlib.sha256(data).hexdigest()

