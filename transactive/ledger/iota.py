"""IOTA Rebased (the current IOTA mainnet, a Move-based object ledger) as a :class:`Ledger`.

Transactions are built and signed with the official Python SDK, ``iota-sdk==3.0.0b1`` (the UniFFI binding
of IOTA's Rust SDK; the ``iota`` extra), and submitted through an :class:`~transactive.ledger.iota_rpc.
IotaTransport` (JSON-RPC today, GraphQL later). ``tests/ledger/test_iota.py`` checks that the bytes and
signatures built here are identical to those of the official TypeScript SDK for the same inputs.

How entries go on chain
    Every entry (anchor, delivery, payment request, payment, dispute) is one programmable transaction whose
    Move call takes the entry as a pure ``vector<u8>`` argument: ``ANCHOR_MAGIC`` followed by the canonical
    JSON of ``{"v", "kind", "transaction_id", "data"}``. The default call target is ``0x1::hash::sha2_256``
    from the Move standard library: it exists on every IOTA network, needs no package of ours, and the
    node hashes the payload while executing. The payload stays in the signed transaction data, which the
    node serves back (``iota_getTransactionBlock`` with ``showInput``); the digest is the receipt's
    reference and the checkpoint its sequence. That call emits no event, so the audit trail is read with
    ``iotax_queryTransactionBlocks`` filtered by the sender (this ledger's address).

    Why not the IOTA Notarization package's locked notarization: its package ids are published
    (mainnet ``0x909ce9dc..84cf3``, testnet ``0x00412bd4..d25f``, inside ``@iota/notarization``'s Move
    lock data), but its Move entry functions' exact signatures (``locked_notarization::create`` with a
    state, description, metadata, ``TimeLock`` and the clock) could not be checked without a node, and a
    wrong argument list fails only on chain. ``anchor_target`` takes any ``package::module::function``
    with one ``vector<u8>`` parameter, e.g. a small module of one's own that emits an event.

Payments
    In IOTA (``currency == "IOTA"``), :meth:`IotaLedger.confirm_payment` with ``paid`` moves the coins: one
    transaction splits ``paid`` (in nanos, 10^-9 IOTA) off the gas coin, transfers it to the payee's address
    and anchors the payment entry, atomically. The payer must be this ledger's own key. Other currencies are
    recorded, not moved.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import iota_sdk

from transactive.ledger.interface import (
    Capabilities,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    UnknownTransactionError,
    payment_status,
)
from transactive.ledger.iota_rpc import IotaRpcError, IotaTransport
from transactive.ledger.records import EntryKind, LedgerEntry, PaymentStatus, Receipt, TransactionRecord

__all__ = [
    "ANCHOR_MAGIC",
    "BuiltTransaction",
    "DEFAULT_ANCHOR_TARGET",
    "GasParams",
    "IotaLedger",
    "IotaSigner",
    "MoveTarget",
    "NANOS_PER_IOTA",
    "ObjectRef",
    "build_anchor",
    "build_payment",
    "build_transfer",
    "decode_payload",
    "encode_payload",
]

NANOS_PER_IOTA = 10**9
ANCHOR_MAGIC = b"transactive/iota-anchor/1\n"
#: the protocol's limit on one pure argument
MAX_PURE_ARGUMENT = 16 * 1024


@dataclass(frozen=True, slots=True)
class MoveTarget:
    """``package::module::function`` taking one ``vector<u8>``."""

    package: str
    module: str
    function: str

    @classmethod
    def parse(cls, text: str) -> MoveTarget:
        parts = text.split("::")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"not a Move target package::module::function: {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.package}::{self.module}::{self.function}"


DEFAULT_ANCHOR_TARGET = MoveTarget("0x1", "hash", "sha2_256")


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An owned object reference (gas coin): id, version, base58 digest."""

    object_id: str
    version: int
    digest: str


@dataclass(frozen=True, slots=True)
class GasParams:
    """Who sends, with which gas coins, at which price and budget (nanos); expiration: none."""

    sender: str
    gas: Sequence[ObjectRef]
    price: int
    budget: int


@dataclass(frozen=True, slots=True)
class BuiltTransaction:
    """BCS ``TransactionData`` and its digest; ``sdk`` is the iota_sdk ``Transaction``."""

    tx_bytes: bytes
    digest: str
    sdk: Any = field(repr=False, compare=False)

    @property
    def tx_bytes_b64(self) -> str:
        return base64.b64encode(self.tx_bytes).decode("ascii")


class IotaSigner:
    """An Ed25519 key (the IOTA default scheme) and its address."""

    def __init__(self, private_key: Any) -> None:
        self._key = private_key
        self.address: str = str(private_key.public_key().derive_address().to_hex())

    @classmethod
    def from_seed(cls, seed: bytes) -> IotaSigner:
        """From the 32-byte Ed25519 secret (seed)."""
        if len(seed) != 32:
            raise ValueError("an Ed25519 secret key is 32 bytes")
        return cls(iota_sdk.Ed25519PrivateKey(seed))

    @classmethod
    def from_bech32(cls, text: str) -> IotaSigner:
        """From an ``iotaprivkey1...`` string (what ``iota keytool export`` prints)."""
        return cls(iota_sdk.Ed25519PrivateKey.from_bech32(text))

    @classmethod
    def from_mnemonic(cls, phrase: str, path: str = "m/44'/4218'/0'/0'/0'") -> IotaSigner:
        return cls(iota_sdk.Ed25519PrivateKey.from_mnemonic_with_path(phrase, path))

    @property
    def public_key_hex(self) -> str:
        return bytes(self._key.public_key().to_bytes()).hex()

    def sign(self, tx: BuiltTransaction) -> str:
        """The serialized signature (``flag || signature || public key``, base64) over the intent digest."""
        return str(self._key.sign_transaction(tx.sdk).to_base64())


# --------------------------------------------------------------------------------------------------
# building transactions (no network: every input resolved)
# --------------------------------------------------------------------------------------------------


def _builder(params: GasParams) -> Any:
    builder = iota_sdk.TransactionBuilder(iota_sdk.Address.from_hex(params.sender))
    return builder


def _finish(builder: Any, params: GasParams) -> BuiltTransaction:
    refs = [iota_sdk.ObjectReference(object_id=iota_sdk.ObjectId.from_hex(g.object_id),
                                     version=iota_sdk.Version.from_u64(g.version),
                                     digest=iota_sdk.ObjectDigest.from_base58(g.digest)) for g in params.gas]
    builder.gas(refs)
    builder.gas_price(params.price)
    builder.gas_budget(params.budget)
    try:
        tx = builder.finish()
    except iota_sdk.SdkFfiError as exc:
        raise LedgerError(f"cannot build IOTA transaction: {exc}") from exc
    return BuiltTransaction(bytes(tx.to_bcs()), str(tx.digest().to_base58()), tx)


def _move_call(builder: Any, target: MoveTarget, payload: bytes) -> None:
    if len(payload) > MAX_PURE_ARGUMENT:
        raise LedgerError(f"entry of {len(payload)} bytes exceeds the {MAX_PURE_ARGUMENT}-byte pure argument limit")
    builder.move_call(iota_sdk.Address.from_short_hex(target.package), iota_sdk.Identifier(target.module),
                      iota_sdk.Identifier(target.function), [iota_sdk.PtbArgument.u8_vec(payload)])


def build_transfer(params: GasParams, recipient: str, amount: int) -> BuiltTransaction:
    """Split ``amount`` nanos off the gas coin and transfer it: inputs ``[recipient, amount]``, commands
    ``SplitCoins(Gas, [Input 1])``, ``TransferObjects([Result 0], Input 0)``."""
    builder = _builder(params)
    builder.send_iota(iota_sdk.Address.from_hex(recipient), iota_sdk.PtbArgument.u64(amount))
    return _finish(builder, params)


def build_anchor(params: GasParams, target: MoveTarget, payload: bytes) -> BuiltTransaction:
    """One Move call ``target(payload: vector<u8>)``."""
    builder = _builder(params)
    _move_call(builder, target, payload)
    return _finish(builder, params)


def build_payment(params: GasParams, recipient: str, amount: int, target: MoveTarget,
                  payload: bytes) -> BuiltTransaction:
    """The transfer and the anchor of its payment entry in one transaction (inputs recipient, amount, payload)."""
    builder = _builder(params)
    builder.send_iota(iota_sdk.Address.from_hex(recipient), iota_sdk.PtbArgument.u64(amount))
    _move_call(builder, target, payload)
    return _finish(builder, params)


# --------------------------------------------------------------------------------------------------
# entry payloads
# --------------------------------------------------------------------------------------------------


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_payload(kind: EntryKind, transaction_id: str, data: Mapping[str, Any]) -> tuple[bytes, str]:
    """The pure argument for an entry, and the entry hash (hex SHA-256 of the JSON after the magic)."""
    body = _canonical({"v": 1, "kind": kind.value, "transaction_id": transaction_id, "data": dict(data)})
    return ANCHOR_MAGIC + body, hashlib.sha256(body).hexdigest()


def decode_payload(payload: bytes) -> tuple[dict[str, Any], str] | None:
    """The entry and its hash, or None if these bytes are not one of ours."""
    if not payload.startswith(ANCHOR_MAGIC):
        return None
    body = payload[len(ANCHOR_MAGIC):]
    try:
        entry = json.loads(body)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("v") != 1:
        return None
    return entry, hashlib.sha256(body).hexdigest()


def _pure_values(response: Mapping[str, Any]) -> list[bytes]:
    """The pure inputs of a transaction response (``showInput``), as bytes."""
    tx = ((response.get("transaction") or {}).get("data") or {}).get("transaction") or {}
    out: list[bytes] = []
    for item in tx.get("inputs") or []:
        if not isinstance(item, dict) or item.get("type") != "pure":
            continue
        value = item.get("value")
        if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
            raw = bytes(value)
            # typed as vector<u8>: the vector itself; untyped: the BCS bytes, with their length prefix
            out.append(raw if item.get("valueType") == "vector<u8>" else _strip_uleb_length(raw))
        elif isinstance(value, str):
            out.append(value.encode("utf-8"))
    return out


def _strip_uleb_length(raw: bytes) -> bytes:
    """BCS ``vector<u8>`` → its bytes when ``raw`` is one (ULEB128 length matches), else ``raw``."""
    length = shift = 0
    for i, byte in enumerate(raw[:10]):
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return raw[i + 1:] if len(raw) - (i + 1) == length else raw
    return raw


def _entries_of(response: Mapping[str, Any]) -> list[tuple[dict[str, Any], str]]:
    found = []
    for value in _pure_values(response):
        decoded = decode_payload(value)
        if decoded is not None:
            found.append(decoded)
    return found


def _succeeded(response: Mapping[str, Any]) -> bool:
    status = ((response.get("effects") or {}).get("status") or {}).get("status")
    return status == "success"


def _sender(response: Mapping[str, Any]) -> str | None:
    sender = ((response.get("transaction") or {}).get("data") or {}).get("sender")
    return str(sender) if sender is not None else None


def _checkpoint(response: Mapping[str, Any]) -> int | None:
    value = response.get("checkpoint")
    return int(value) if value is not None else None


def _anchored(entries: Sequence[LedgerEntry]) -> bool:
    return any(e.kind is EntryKind.ANCHOR for e in entries)


def _timestamp(response: Mapping[str, Any]) -> datetime | None:
    value = response.get("timestampMs")
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value is not None else None


# --------------------------------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------------------------------


class IotaLedger(Ledger):
    """Settlement on IOTA Rebased through an :class:`IotaTransport`, signing with one Ed25519 key.

    ``addresses`` maps party ids (seller, buyer, payer, payee) to IOTA addresses; payments need the payee's.
    Only entries sent by this ledger's own address (plus ``trusted_senders``) count in the audit trail.
    """

    backend = "iota-rebased"

    def __init__(self, transport: IotaTransport, signer: IotaSigner, *,
                 addresses: Mapping[str, str] | None = None,
                 anchor_target: MoveTarget | str = DEFAULT_ANCHOR_TARGET,
                 gas_budget: int = 10_000_000, currency: str = "IOTA",
                 trusted_senders: Sequence[str] = (),
                 checkpoint_wait_s: float = 10.0, poll_interval_s: float = 0.25) -> None:
        self.transport = transport
        self.signer = signer
        self.addresses = dict(addresses or {})
        self.anchor_target = MoveTarget.parse(anchor_target) if isinstance(anchor_target, str) else anchor_target
        self.gas_budget = gas_budget
        self.currency = currency
        self.senders = [signer.address, *trusted_senders]
        self.checkpoint_wait_s = checkpoint_wait_s
        self.poll_interval_s = poll_interval_s
        self._lock = asyncio.Lock()  # one transaction at a time: each one changes the gas coin's version
        self._anchoring: set[str] = set()  # transaction ids whose anchor is being written

    # -- capabilities -------------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(
            backend=self.backend,
            native_payments=True,
            finality="deterministic: final once the effects are certified (no forks), then in a checkpoint",
            expected_latency_s=1.0,
            measured_throughput=None,
            multi_writer=True,
            notes=("entries are pure vector<u8> arguments of a Move call (default 0x1::hash::sha2_256), read back "
                   "from the transaction input; payments move IOTA coins (nanos) from this ledger's key only; "
                   "the audit trail scans the sender's transactions (iotax_queryTransactionBlocks); not measured "
                   "against a live node here"),
        )

    # -- writing ------------------------------------------------------------------------------------

    async def _gas(self, needed: int) -> GasParams:
        """The sender's coins, largest first, until they cover ``needed`` nanos (transfer + budget)."""
        coins: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.transport.get_coins(self.signer.address, cursor=cursor)
            coins.extend(page.get("data") or [])
            if not page.get("hasNextPage"):
                break
            cursor = page.get("nextCursor")
        coins.sort(key=lambda c: int(c["balance"]), reverse=True)
        chosen: list[ObjectRef] = []
        total = 0
        for coin in coins[:255]:  # the protocol's max gas payment objects (256) minus room
            chosen.append(ObjectRef(str(coin["coinObjectId"]), int(coin["version"]), str(coin["digest"])))
            total += int(coin["balance"])
            if total >= needed:
                break
        if total < needed:
            raise LedgerError(f"{self.signer.address} holds {total} nanos; {needed} needed (gas budget included)")
        price = await self.transport.reference_gas_price()
        return GasParams(self.signer.address, chosen, price, self.gas_budget)

    async def _submit(self, build: Any, needed: int) -> dict[str, Any]:
        async with self._lock:
            params = await self._gas(needed + self.gas_budget)
            tx: BuiltTransaction = build(params)
            signature = self.signer.sign(tx)
            response = await self.transport.execute(tx.tx_bytes_b64, [signature])
        if not _succeeded(response):
            status = (response.get("effects") or {}).get("status")
            raise LedgerError(f"IOTA transaction {response.get('digest')} failed: {status}")
        deadline = asyncio.get_running_loop().time() + self.checkpoint_wait_s
        while _checkpoint(response) is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(self.poll_interval_s)
            try:
                response = await self.transport.get_transaction(str(response["digest"]))
            except IotaRpcError:
                continue  # not yet indexed by this node
        return response

    async def _write(self, kind: EntryKind, transaction_id: str, data: Mapping[str, Any], *,
                     transfer: tuple[str, int] | None = None) -> Receipt:
        payload, entry_hash = encode_payload(kind, transaction_id, data)
        if transfer is None:
            response = await self._submit(lambda p: build_anchor(p, self.anchor_target, payload), 0)
        else:
            recipient, amount = transfer
            response = await self._submit(
                lambda p: build_payment(p, recipient, amount, self.anchor_target, payload), amount)
        return Receipt(backend=self.backend, reference=str(response["digest"]), sequence=_checkpoint(response),
                       entry_hash=entry_hash, timestamp=_timestamp(response),
                       extra={"sender": self.signer.address, "target": str(self.anchor_target), "kind": kind.value})

    async def anchor(self, record: TransactionRecord) -> Receipt:
        """Anchor the record, unless this transaction id is already anchored (then :class:`LedgerError`)."""
        txid = record.transaction_id
        if txid in self._anchoring or _anchored(await self._entries(txid)):
            raise LedgerError(f"transaction {txid!r} is already anchored")
        self._anchoring.add(txid)
        try:
            return await self._write(EntryKind.ANCHOR, txid, record.as_dict())
        finally:
            self._anchoring.discard(txid)

    async def _require_anchor(self, transaction_id: str) -> list[LedgerEntry]:
        return await self.audit_trail(transaction_id)

    async def record_delivery(self, transaction_id: str, party: str, quantity_kwh: Decimal,
                              measured_at: datetime) -> Receipt:
        await self._require_anchor(transaction_id)
        return await self._write(EntryKind.DELIVERY, transaction_id, {
            "party": party, "quantity_kwh": str(quantity_kwh), "measured_at": measured_at.isoformat()})

    async def request_payment(self, transaction_id: str, *, amount: Decimal, currency: str,
                              payer: str, payee: str, deadline: datetime) -> Receipt:
        await self._require_anchor(transaction_id)
        if amount <= 0:
            raise LedgerError("a payment request needs a positive amount")
        return await self._write(EntryKind.PAYMENT_REQUEST, transaction_id, {
            "amount": str(amount), "currency": currency, "payer": payer, "payee": payee,
            "deadline": deadline.isoformat()})

    def _nanos(self, amount: Decimal) -> int:
        nanos = amount * NANOS_PER_IOTA
        if nanos != nanos.to_integral_value() or nanos <= 0:
            raise LedgerError(f"{amount} {self.currency} is not a positive whole number of nanos")
        return int(nanos)

    async def confirm_payment(self, transaction_id: str, *, now: datetime,
                              paid: Decimal | None = None, reference: str | None = None) -> PaymentStatus:
        trail = await self._require_anchor(transaction_id)
        requests = [e for e in trail if e.kind is EntryKind.PAYMENT_REQUEST]
        if not requests:
            raise LedgerError(f"no payment request for {transaction_id}")
        request = requests[-1].data
        total = sum((Decimal(e.data["paid"]) for e in trail if e.kind is EntryKind.PAYMENT), Decimal(0))
        if paid is not None:
            data: dict[str, Any] = {"paid": str(paid), "currency": request["currency"], "reference": reference}
            transfer = None
            if request["currency"] == self.currency:
                payer, payee = self.addresses.get(request["payer"]), self.addresses.get(request["payee"])
                if payer != self.signer.address:
                    raise LedgerError(f"payer {request['payer']!r} is not this ledger's key ({self.signer.address})")
                if payee is None:
                    raise LedgerError(f"no IOTA address for payee {request['payee']!r}")
                transfer = (payee, self._nanos(paid))
                data.update(native=True, payee_address=payee, nanos=transfer[1])
            await self._write(EntryKind.PAYMENT, transaction_id, data, transfer=transfer)
            total += paid
        return payment_status(due=Decimal(request["amount"]), paid=total,
                              deadline=datetime.fromisoformat(request["deadline"]), now=now)

    async def open_dispute(self, transaction_id: str, *, reason: str, opened_by: str,
                           details: dict[str, Any] | None = None) -> Receipt:
        await self._require_anchor(transaction_id)
        return await self._write(EntryKind.DISPUTE, transaction_id,
                                 {"reason": reason, "opened_by": opened_by, "details": details or {}})

    # -- reading ------------------------------------------------------------------------------------

    async def audit_trail(self, transaction_id: str) -> list[LedgerEntry]:
        """The entries about the transaction sent by this ledger's trusted senders, in checkpoint order;
        :class:`UnknownTransactionError` when none of them is its anchor."""
        entries = await self._entries(transaction_id)
        if not _anchored(entries):
            raise UnknownTransactionError(f"transaction {transaction_id!r} is not anchored")
        return entries

    async def _entries(self, transaction_id: str) -> list[LedgerEntry]:
        """Every entry about the transaction from the trusted senders (scans their transactions)."""
        entries: list[LedgerEntry] = []
        for sender in self.senders:
            cursor: str | None = None
            while True:
                page = await self.transport.query_transactions({"FromAddress": sender}, cursor=cursor)
                for response in page.get("data") or []:
                    if not _succeeded(response):
                        continue
                    for entry, entry_hash in _entries_of(response):
                        if entry.get("transaction_id") != transaction_id:
                            continue
                        try:
                            kind = EntryKind(str(entry.get("kind")))
                        except ValueError:
                            continue
                        entries.append(LedgerEntry(kind=kind, transaction_id=transaction_id,
                                                   data=dict(entry.get("data") or {}),
                                                   sequence=_checkpoint(response),
                                                   reference=str(response.get("digest")),
                                                   timestamp=_timestamp(response), entry_hash=entry_hash))
                if not page.get("hasNextPage"):
                    break
                cursor = page.get("nextCursor")
        entries.sort(key=lambda e: (e.sequence if e.sequence is not None else 1 << 62))
        return entries

    async def verify(self, record: TransactionRecord, receipt: Receipt) -> bool:
        try:
            response = await self.transport.get_transaction(receipt.reference)
        except IotaRpcError:
            return False  # the node does not know this digest
        except LedgerUnavailableError:
            raise
        if not _succeeded(response) or _sender(response) not in self.senders:
            return False
        if receipt.sequence is not None and _checkpoint(response) != receipt.sequence:
            return False
        _payload, expected_hash = encode_payload(EntryKind.ANCHOR, record.transaction_id, record.as_dict())
        return any(entry_hash == receipt.entry_hash == expected_hash for _entry, entry_hash in _entries_of(response))

    async def balance(self, address: str | None = None) -> int:
        """Total IOTA (nanos) at ``address`` (default: this ledger's)."""
        result = await self.transport.get_balance(address or self.signer.address)
        return int(result["totalBalance"])

    async def close(self) -> None:
        await self.transport.close()
