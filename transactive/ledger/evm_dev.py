"""Funding accounts on an EVM **development** node (anvil, Hardhat): ether from nowhere, for tests and demos.

New accounts hold no ether, and on a real chain their owners fund them. A development node can set any
account's balance (``anvil_setBalance``; Hardhat names it ``hardhat_setBalance``), which is what
:class:`DevFunding` does -- only where it is constructed: nothing in the adapter calls it, and the VTN only
with ``vtn serve --evm-dev-fund ETH``. A real node refuses the call (method not found), which is raised.

:class:`DevFundedKeys` wraps the keys of the parties (:class:`~.evm_keys.PartyKeys`) so each account handed
out is topped up once per process.
"""

from __future__ import annotations

from decimal import Decimal

from transactive.ledger.evm_entries import hex_quantity, parse_address
from transactive.ledger.evm_keys import EvmKey, PartyKeys
from transactive.ledger.interface import LedgerError
from transactive.ledger.jsonrpc import JsonRpcClient, RpcError

__all__ = ["WEI_PER_ETHER", "DevFundedKeys", "DevFunding"]

WEI_PER_ETHER = 10**18


class DevFunding:
    """Tops accounts up to ``ether`` on a development node (``anvil_setBalance``, or ``method``)."""

    def __init__(self, rpc: JsonRpcClient, ether: Decimal | int, *, method: str = "anvil_setBalance") -> None:
        wei = Decimal(ether) * WEI_PER_ETHER
        if not wei.is_finite() or wei <= 0 or wei != wei.to_integral_value():
            raise LedgerError(f"not an amount of ether to fund with: {ether!r}")
        self.rpc = rpc
        self.wei = int(wei)
        self.method = method

    async def top_up(self, address: str) -> bool:
        """Set the account's balance to the target when it holds less; whether it was topped up."""
        account = parse_address(address, "account to fund")
        balance = hex_quantity(await self.rpc.call("eth_getBalance", [account, "latest"]), "eth_getBalance")
        if balance >= self.wei:
            return False
        try:
            await self.rpc.call(self.method, [account, hex(self.wei)])
        except RpcError as exc:
            raise LedgerError(f"cannot fund {account}: {exc} (development-node funding needs anvil or a node "
                              f"with {self.method})") from exc
        return True


class DevFundedKeys:
    """:class:`~.evm_keys.PartyKeys` whose accounts :class:`DevFunding` tops up, once each per process."""

    def __init__(self, keys: PartyKeys, funding: DevFunding) -> None:
        self.inner = keys
        self.funding = funding
        self._funded: set[str] = set()

    async def key(self, party: str) -> EvmKey:
        key = await self.inner.key(party)
        if key.address not in self._funded:
            await self.funding.top_up(key.address)
            self._funded.add(key.address)
        return key
