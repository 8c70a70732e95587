"""Sending EVM transactions from node-held accounts with nonces the adapter assigns itself.

The node signs (``eth_sendTransaction`` with its unlocked accounts); :class:`NonceSender` numbers each
account's transactions so a batch can go out back to back without waiting for any to be mined: one lock
per account, the next nonce cached after each success, resynchronised from
``eth_getTransactionCount(.., "pending")`` after any error. A batch goes one request after the other, in
nonce order, stopping at the first refusal (later nonces would leave a gap), or as one JSON-RPC batch
request with ``send_batches`` (only for nodes that handle batch items in order).
"""

from __future__ import annotations

import asyncio
from typing import Any

from transactive.ledger.evm_entries import hex_quantity
from transactive.ledger.interface import LedgerError
from transactive.ledger.jsonrpc import JsonRpcClient, RpcError

__all__ = ["NonceSender"]


class NonceSender:
    """Sends transactions per account with consecutive nonces (see the module docstring)."""

    def __init__(self, rpc: JsonRpcClient, *, send_batches: bool = False) -> None:
        self.rpc = rpc
        self.send_batches = send_batches
        self._nonces: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, account: str) -> asyncio.Lock:
        return self._locks.setdefault(account, asyncio.Lock())

    async def send(self, sender: str, txs: list[dict[str, str]]) -> list[str]:
        """Send ``txs`` from ``sender`` with consecutive nonces, in nonce order, without waiting for them to be
        mined; their hashes. A refusal is raised (the :class:`RpcError` of the first refused transaction,
        saying how many went out); when none went out, the nonce is resynchronised and the batch tried once
        more (someone else may have sent from the account)."""
        async with self._lock(sender):
            for attempt in (1, 2):
                nonce = self._nonces.get(sender)
                if nonce is None:
                    nonce = hex_quantity(await self.rpc.call("eth_getTransactionCount", [sender, "pending"]),
                                         "eth_getTransactionCount")
                for offset, tx in enumerate(txs):
                    tx["nonce"] = hex(nonce + offset)
                try:
                    results = await self._send_all(txs)
                except LedgerError:
                    self._nonces.pop(sender, None)
                    raise
                errors = [r for r in results if isinstance(r, RpcError)]
                if not errors:
                    self._nonces[sender] = nonce + len(txs)
                    return [str(r).lower() for r in results]
                self._nonces.pop(sender, None)
                sent = sum(1 for r in results if not isinstance(r, RpcError))
                if sent or attempt == 2:
                    if sent:
                        errors[0].args = (f"{errors[0].args[0]} ({sent} of {len(txs)} transactions were sent; "
                                          "rebuild_index() finds them once mined)",)
                    raise errors[0]
                # none went out: maybe our nonce was stale (someone else sent from the account); resync once
            raise AssertionError("unreachable")  # pragma: no cover

    async def _send_all(self, txs: list[dict[str, str]]) -> list[Any]:
        if self.send_batches:
            return await self.rpc.batch_settled([("eth_sendTransaction", [tx]) for tx in txs])
        results: list[Any] = []
        for tx in txs:  # in nonce order; stop at the first refusal (later nonces would leave a gap)
            try:
                results.append(await self.rpc.call("eth_sendTransaction", [tx]))
            except RpcError as exc:
                results.append(exc)
                break
        return results
