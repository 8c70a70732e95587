"""An in-memory IOTA node for unit tests: a single-writer chain that executes transfers and records inputs.

Test support, not a node: :class:`FakeIotaTransport` answers the :class:`~transactive.ledger.iota_rpc.
IotaTransport` calls in the JSON-RPC result shapes the adapter reads. ``fail_next`` makes the next call raise
the given exception; ``unreachable = True`` makes every call fail as an unreachable node does through
:class:`~transactive.ledger.iota_rpc.JsonRpcTransport` (:class:`LedgerUnavailableError`) until switched back.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from transactive.ledger.interface import LedgerUnavailableError
from transactive.ledger.iota_rpc import IOTA_COIN_TYPE, IotaRpcError

__all__ = ["FakeIotaTransport"]


@dataclass
class _Coin:
    object_id: str
    version: int
    digest: str
    owner: str
    balance: int


@dataclass
class FakeIotaTransport:
    """An in-memory stand-in for a node, answering in the JSON-RPC result shapes the adapter reads.

    It decodes submitted transactions with ``iota_sdk`` (BCS → JSON), checks that the signature is the
    sender's and that the gas objects are the sender's current coins, applies ``SplitCoins(Gas, ..)`` /
    ``TransferObjects`` transfers, charges a fixed gas fee, and puts each transaction in its own checkpoint.
    Move calls are not executed (there is no Move VM here): their pure inputs are kept, as on chain.
    """

    gas_fee: int = 1_000_000
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    coins: dict[str, _Coin] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_next: Exception | None = None
    #: the switch: while True, every call fails as an unreachable node does (LedgerUnavailableError)
    unreachable: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fund(self, owner: str, amount: int) -> str:
        """Give ``owner`` a new coin of ``amount`` nanos; its object id."""
        n = next(self._ids)
        object_id = "0x" + f"{n:064x}"
        self.coins[object_id] = _Coin(object_id, 1, _b58_digest(object_id, 1), owner, amount)
        return object_id

    def _check(self, method: str) -> None:
        self.calls.append(method)
        if self.unreachable:
            raise LedgerUnavailableError(f"{method}: cannot reach the fake IOTA node (switched off)")
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc

    async def execute(self, tx_bytes_b64: str, signatures: Sequence[str]) -> dict[str, Any]:
        self._check("iota_executeTransactionBlock")
        import iota_sdk

        try:
            tx = iota_sdk.Transaction.from_base64(tx_bytes_b64)
            data = json.loads(tx.to_json())["V1"]
            signature = iota_sdk.UserSignature.from_base64(signatures[0])
            simple = signature.as_simple()
            if not simple.is_ed25519():
                raise ValueError("only Ed25519 in the fake")
            ed_key = simple.ed25519_public_key()
            iota_sdk.Ed25519VerifyingKey(ed_key).verify_user(tx.signing_digest(), signature)
        except Exception as exc:  # the node refuses what it cannot decode or verify
            raise IotaRpcError("iota_executeTransactionBlock", -32002, f"invalid transaction: {exc}") from exc
        sender = data["sender"]
        if ed_key.derive_address().to_hex() != sender:
            raise IotaRpcError("iota_executeTransactionBlock", -32002, "signature is not the sender's")
        gas = data["gas_payment"]
        gas_coins = []
        for ref in gas["objects"]:
            coin = self.coins.get(ref["object_id"])
            if coin is None or coin.owner != sender or str(coin.version) != str(ref["version"]) \
                    or coin.digest != ref["digest"]:
                raise IotaRpcError("iota_executeTransactionBlock", -32002,
                                   f"gas object {ref['object_id']} is not a current coin of the sender")
            gas_coins.append(coin)
        ptb = data["kind"]["Programmable"]
        pure = [base64.b64decode(i["Pure"]) if "Pure" in i else None for i in ptb["inputs"]]
        available = sum(c.balance for c in gas_coins) - self.gas_fee
        results: list[int] = []
        transfers: list[tuple[str, int]] = []
        for command in ptb["commands"]:
            if "SplitCoins" in command:
                amounts = [int.from_bytes(pure[a["Input"]] or b"", "little") for a in command["SplitCoins"]["amounts"]]
                results.extend(amounts)
            elif "TransferObjects" in command:
                recipient = "0x" + (pure[command["TransferObjects"]["address"]["Input"]] or b"").hex()
                for obj in command["TransferObjects"]["objects"]:
                    index = obj["Result"] if "Result" in obj else obj["NestedResult"][1]
                    transfers.append((recipient, results[index]))
        moved = sum(amount for _, amount in transfers)
        if moved > available:
            raise IotaRpcError("iota_executeTransactionBlock", -32002, "InsufficientCoinBalance")
        digest = tx.digest().to_base58()
        checkpoint = len(self.order) + 1
        # merge the gas coins into the first, pay gas and transfers, bump its version
        first = gas_coins[0]
        first.balance = sum(c.balance for c in gas_coins) - self.gas_fee - moved
        for coin in gas_coins[1:]:
            del self.coins[coin.object_id]
        first.version = checkpoint + 1
        first.digest = _b58_digest(first.object_id, first.version)
        for recipient, amount in transfers:
            self.fund(recipient, amount)
        # as a node shows pure inputs whose Move type it does not resolve: the BCS bytes, untyped
        inputs_json = [
            {"type": "pure", "valueType": None, "value": list(p)} if p is not None else {"type": "object"}
            for p in pure
        ]
        response = {
            "digest": digest,
            "transaction": {"data": {"messageVersion": "v1", "sender": sender,
                                     "transaction": {"kind": "ProgrammableTransaction", "inputs": inputs_json,
                                                     "transactions": ptb["commands"]},
                                     "gasData": {"owner": sender, "price": gas["price"], "budget": gas["budget"],
                                                 "payment": gas["objects"]}},
                            "txSignatures": list(signatures)},
            "effects": {"messageVersion": "v1", "status": {"status": "success"}, "transactionDigest": digest,
                        "gasUsed": {"computationCost": str(self.gas_fee), "storageCost": "0",
                                    "storageRebate": "0", "nonRefundableStorageFee": "0"}},
            "events": [],
            "checkpoint": str(checkpoint),
            "timestampMs": str(self.start_ms + 1000 * checkpoint),
        }
        self.transactions[digest] = response
        self.order.append(digest)
        return _copy(response)

    async def get_transaction(self, digest: str) -> dict[str, Any]:
        self._check("iota_getTransactionBlock")
        if digest not in self.transactions:
            raise IotaRpcError("iota_getTransactionBlock", -32602,
                               f"Could not find the referenced transaction [TransactionDigest({digest})].")
        return _copy(self.transactions[digest])

    async def query_transactions(self, filter_: Mapping[str, Any], *, cursor: str | None = None,
                                 limit: int | None = None) -> dict[str, Any]:
        self._check("iotax_queryTransactionBlocks")
        sender = filter_.get("FromAddress")
        matching = [d for d in self.order if sender is None or self.transactions[d]["transaction"]["data"]["sender"]
                    == sender]
        start = matching.index(cursor) + 1 if cursor else 0
        size = limit or 50
        page = matching[start:start + size]
        has_next = start + size < len(matching)
        return {"data": [_copy(self.transactions[d]) for d in page],
                "nextCursor": page[-1] if page else cursor, "hasNextPage": has_next}

    async def query_events(self, filter_: Mapping[str, Any], *, cursor: Mapping[str, str] | None = None,
                           limit: int | None = None) -> dict[str, Any]:
        self._check("iotax_queryEvents")
        return {"data": [], "nextCursor": None, "hasNextPage": False}

    async def get_coins(self, owner: str, *, cursor: str | None = None) -> dict[str, Any]:
        self._check("iotax_getCoins")
        data = [{"coinType": IOTA_COIN_TYPE, "coinObjectId": c.object_id, "version": str(c.version),
                 "digest": c.digest, "balance": str(c.balance)}
                for c in self.coins.values() if c.owner == owner]
        return {"data": data, "nextCursor": None, "hasNextPage": False}

    async def get_balance(self, owner: str) -> dict[str, Any]:
        self._check("iotax_getBalance")
        mine = [c for c in self.coins.values() if c.owner == owner]
        return {"coinType": IOTA_COIN_TYPE, "coinObjectCount": len(mine),
                "totalBalance": str(sum(c.balance for c in mine))}

    async def reference_gas_price(self) -> int:
        self._check("iotax_getReferenceGasPrice")
        return 1000

    async def close(self) -> None:
        return None


def _copy(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy through JSON, as a client would receive it."""
    out: dict[str, Any] = json.loads(json.dumps(obj))
    return out


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58_digest(object_id: str, version: int) -> str:
    """A deterministic, well-formed object digest (base58 of 32 bytes) for the fake's coins."""
    raw = hashlib.sha256(f"{object_id}:{version}".encode()).digest()
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out
