"""Signing EVM transactions here and sending them, with nonces and fees the adapter sets itself.

Every transaction is signed with the key of the account it spends from (:class:`~.evm_keys.EvmKey`) and sent
with ``eth_sendRawTransaction``: the node needs no unlocked account, and ``eth_sendTransaction`` is never
called. What a signature covers, the adapter fills in:

* the chain id, read once from the node (``eth_chainId``; EIP-155 replay protection);
* the fees (:class:`FeeOracle`): EIP-1559 (type 2) when the latest block has a ``baseFeePerGas`` --
  ``maxPriorityFeePerGas`` from ``eth_maxPriorityFeePerGas``, ``maxFeePerGas`` = 2 x base fee + that tip,
  which stays valid through six full blocks of base-fee rises -- else legacy with ``eth_gasPrice``. A quote
  is reused for ``fee_ttl`` seconds and renewed after any refusal;
* the nonce (:class:`NonceSender`): each account's transactions are numbered so a batch can go out back to
  back without waiting for any to be mined: one lock per account, the next nonce cached after each success,
  resynchronised from ``eth_getTransactionCount(.., "pending")`` after any error. A batch goes one request
  after the other, in nonce order, stopping at the first refusal (later nonces would leave a gap), or as one
  JSON-RPC batch request with ``send_batches`` (only for nodes that handle batch items in order).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transactive.ledger.evm_entries import hex_quantity
from transactive.ledger.evm_keys import EvmKey
from transactive.ledger.interface import LedgerError
from transactive.ledger.jsonrpc import JsonRpcClient, RpcError

__all__ = ["FeeOracle", "Fees", "NonceSender", "Unsigned"]


@dataclass(frozen=True, slots=True)
class Unsigned:
    """What a transaction carries before the sender numbers, prices and signs it."""

    to: str  # 0x-hex address, lower-case
    value_wei: int
    data: bytes
    gas: int


@dataclass(frozen=True, slots=True)
class Fees:
    """The fee fields of a transaction: EIP-1559 (``max_fee`` and ``priority_fee``) or legacy (``gas_price``)."""

    gas_price: int | None = None
    max_fee: int | None = None
    priority_fee: int | None = None

    @property
    def eip1559(self) -> bool:
        return self.max_fee is not None

    def fields(self) -> dict[str, int]:
        """The fee fields as eth-account names them (and the type, for EIP-1559)."""
        if self.max_fee is not None and self.priority_fee is not None:
            return {"type": 2, "maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.priority_fee}
        assert self.gas_price is not None
        return {"gasPrice": self.gas_price}


class FeeOracle:
    """The chain id and the current fees, read from the node (see the module docstring)."""

    def __init__(self, rpc: JsonRpcClient, *, ttl: float = 5.0) -> None:
        self.rpc = rpc
        self.ttl = ttl
        self._chain_id: int | None = None
        self._fees: Fees | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = hex_quantity(await self.rpc.call("eth_chainId"), "eth_chainId")
        return self._chain_id

    def forget(self) -> None:
        """Read the fees again before the next transaction (after a refusal)."""
        self._fees = None

    async def fees(self) -> Fees:
        async with self._lock:
            if self._fees is None or time.monotonic() - self._read_at > self.ttl:
                self._fees = await self._read()
                self._read_at = time.monotonic()
            return self._fees

    async def _read(self) -> Fees:
        block, tip = await self.rpc.batch_settled([("eth_getBlockByNumber", ["latest", False]),
                                                   ("eth_maxPriorityFeePerGas", [])])
        if isinstance(block, RpcError):
            raise block
        if not isinstance(block, dict):
            raise LedgerError("eth_getBlockByNumber: no latest block")
        base = block.get("baseFeePerGas")
        if base is None:  # before London: legacy transactions
            return Fees(gas_price=hex_quantity(await self.rpc.call("eth_gasPrice"), "eth_gasPrice"))
        base_fee = hex_quantity(base, "baseFeePerGas")
        if isinstance(tip, RpcError):  # a node without eth_maxPriorityFeePerGas: what eth_gasPrice adds
            price = hex_quantity(await self.rpc.call("eth_gasPrice"), "eth_gasPrice")
            priority = max(price - base_fee, 0)
        else:
            priority = hex_quantity(tip, "eth_maxPriorityFeePerGas")
        return Fees(max_fee=2 * base_fee + priority, priority_fee=priority)


class NonceSender:
    """Signs and sends transactions per account with consecutive nonces (see the module docstring)."""

    def __init__(self, rpc: JsonRpcClient, *, send_batches: bool = False, fee_ttl: float = 5.0) -> None:
        self.rpc = rpc
        self.send_batches = send_batches
        self.oracle = FeeOracle(rpc, ttl=fee_ttl)
        self._nonces: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, account: str) -> asyncio.Lock:
        return self._locks.setdefault(account, asyncio.Lock())

    async def send(self, key: EvmKey, txs: Sequence[Unsigned]) -> list[str]:
        """Sign ``txs`` with ``key`` with consecutive nonces and send them in nonce order, without waiting
        for them to be mined; their hashes. A refusal is raised (the :class:`RpcError` of the first refused
        transaction, saying how many went out); when none went out, nonce and fees are read again and the
        batch signed and tried once more (someone else may have sent from the account, or fees rose)."""
        sender = key.address
        async with self._lock(sender):
            for attempt in (1, 2):
                nonce = self._nonces.get(sender)
                chain_id, fees = await self.oracle.chain_id(), await self.oracle.fees()
                if nonce is None:
                    nonce = hex_quantity(await self.rpc.call("eth_getTransactionCount", [sender, "pending"]),
                                         "eth_getTransactionCount")
                signed = [key.sign(_fields(tx, nonce + offset, chain_id, fees)) for offset, tx in enumerate(txs)]
                try:
                    results = await self._send_all([s.raw for s in signed])
                except LedgerError:
                    self._nonces.pop(sender, None)
                    raise
                errors = [r for r in results if isinstance(r, RpcError)]
                if not errors:
                    self._nonces[sender] = nonce + len(txs)
                    hashes = [str(r).lower() for r in results]
                    for mine, theirs in zip(signed, hashes, strict=True):
                        if mine.tx_hash != theirs:
                            raise LedgerError(f"eth_sendRawTransaction: the node answered hash {theirs} for the "
                                              f"transaction signed here as {mine.tx_hash}")
                    return hashes
                self._nonces.pop(sender, None)
                self.oracle.forget()
                sent = sum(1 for r in results if not isinstance(r, RpcError))
                if sent or attempt == 2:
                    if sent:
                        errors[0].args = (f"{errors[0].args[0]} ({sent} of {len(txs)} transactions were sent; "
                                          "rebuild_index() finds them once mined)",)
                    raise errors[0]
                # none went out: maybe our nonce was stale (someone else sent from the account) or the fees
                # rose past the quote; read both again and retry once
            raise AssertionError("unreachable")  # pragma: no cover

    async def _send_all(self, raws: list[str]) -> list[Any]:
        if self.send_batches:
            return await self.rpc.batch_settled([("eth_sendRawTransaction", [raw]) for raw in raws])
        results: list[Any] = []
        for raw in raws:  # in nonce order; stop at the first refusal (later nonces would leave a gap)
            try:
                results.append(await self.rpc.call("eth_sendRawTransaction", [raw]))
            except RpcError as exc:
                results.append(exc)
                break
        return results


def _fields(tx: Unsigned, nonce: int, chain_id: int, fees: Fees) -> Mapping[str, Any]:
    return {"to": bytes.fromhex(tx.to.removeprefix("0x")), "value": tx.value_wei, "data": tx.data, "gas": tx.gas,
            "nonce": nonce, "chainId": chain_id, **fees.fields()}
